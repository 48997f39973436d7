/**
 * Where a rebuild's RTO went: DTR's own steps on the critical path (the restore, then each join: DTR joins one replica
 * at a time), the other command steps (checks, pulls, storage, health) while no DTR step ran, and what is left — the
 * tool and the engine (stack set-up, planning, waiting between steps). Pure: tested directly, printed by the drill's
 * timeline and by `npm run bench:rto`.
 */
import type { EngineEvent } from "@pulumi/pulumi/automation";

/** One command step of the rebuild's `up`, as the engine's events timed it (ms since the epoch). */
export interface TimedStep {
    step: string;
    startedAt: number;
    finishedAt: number;
}

export interface RtoBreakdown {
    rtoSeconds: number;
    /** The restore and the joins: what DTR itself takes. */
    dtrSeconds: number;
    /** Other command steps, counted only where no DTR step ran and only once where they overlapped each other. */
    otherStepsSeconds: number;
    /** RTO minus both: the tool and the engine. */
    overheadSeconds: number;
    /** Of the overhead: the tool's own work before the engine's `up` began (reading, verifying, stack set-up). */
    toolSeconds: number | null;
    /** Of the overhead: the engine (planning, starting each step, waiting between steps). */
    engineSeconds: number | null;
    /** RTO / DTR's own steps (issue target: at most 1.10). */
    ratio: number | null;
    /** The other steps by their own time, longest first (they may overlap). */
    others: { step: string; seconds: number }[];
}

/** DTR's own work: the first replica's restore (or install), every join, and a removal or emergency repair run by recover. */
export function isDtrStep(step: string): boolean {
    return /-(restore|install|emergency-repair|join-[^/]+|remove-[^/]+)$/.test(step);
}

type Interval = [number, number];

function clip(i: Interval, from: number, to: number): Interval | null {
    const a = Math.max(i[0], from);
    const b = Math.min(i[1], to);
    return b > a ? [a, b] : null;
}

/** Sorted, non-overlapping union of intervals. */
function union(xs: Interval[]): Interval[] {
    const s = [...xs].sort((a, b) => a[0] - b[0]);
    const out: Interval[] = [];
    for (const i of s) {
        const last = out[out.length - 1];
        if (last && i[0] <= last[1]) last[1] = Math.max(last[1], i[1]);
        else out.push([i[0], i[1]]);
    }
    return out;
}

const total = (xs: Interval[]) => xs.reduce((s, [a, b]) => s + (b - a), 0);

/** `xs` minus `cut` (both unions). */
function subtract(xs: Interval[], cut: Interval[]): Interval[] {
    const out: Interval[] = [];
    for (const [a0, b] of xs) {
        let a = a0;
        for (const [c, d] of cut) {
            if (d <= a || c >= b) continue;
            if (c > a) out.push([a, c]);
            a = Math.max(a, d);
            if (a >= b) break;
        }
        if (a < b) out.push([a, b]);
    }
    return out;
}

/**
 * Breaks the time from `declaredAt` to `healthyAt` (ms) down. Steps outside that window count only for their part
 * inside it (the new backup after the gate is outside the RTO). With `engineStartedAt` (when the `up` was called), the
 * overhead splits into the tool's part before it and the engine's after it.
 */
export function rtoBreakdown(declaredAt: number, healthyAt: number, steps: TimedStep[], engineStartedAt?: number): RtoBreakdown {
    if (!(healthyAt >= declaredAt)) throw new Error(`healthyAt (${healthyAt}) is before declaredAt (${declaredAt})`);
    if (engineStartedAt !== undefined && !(engineStartedAt >= declaredAt && engineStartedAt <= healthyAt))
        throw new Error(`engineStartedAt (${engineStartedAt}) is outside ${declaredAt}..${healthyAt}`);
    const within = (s: TimedStep) => clip([s.startedAt, s.finishedAt], declaredAt, healthyAt);
    const windows = (dtrSteps: boolean) =>
        steps
            .filter((s) => isDtrStep(s.step) === dtrSteps)
            .map(within)
            .filter((i): i is Interval => i !== null);
    const dtr = union(windows(true));
    const other = union(windows(false));
    const rto = (healthyAt - declaredAt) / 1000;
    const dtrSeconds = total(dtr) / 1000;
    const otherStepsSeconds = total(subtract(other, dtr)) / 1000;
    const round = (x: number) => Number(x.toFixed(1));
    const overhead = Math.max(0, rto - dtrSeconds - otherStepsSeconds);
    // The tool's time: before the engine started, where no step ran (recover runs DTR's remove itself, before the up).
    const tool =
        engineStartedAt === undefined
            ? null
            : Math.min(overhead, total(subtract([[declaredAt, engineStartedAt]], union([...dtr, ...other]))) / 1000);
    return {
        rtoSeconds: round(rto),
        dtrSeconds: round(dtrSeconds),
        otherStepsSeconds: round(otherStepsSeconds),
        overheadSeconds: round(overhead),
        toolSeconds: tool === null ? null : round(tool),
        engineSeconds: tool === null ? null : round(overhead - tool),
        ratio: dtrSeconds > 0 ? Number((rto / dtrSeconds).toFixed(2)) : null,
        others: steps
            .filter((s) => !isDtrStep(s.step) && within(s))
            .map((s) => {
                const w = within(s)!;
                return { step: s.step, seconds: round((w[1] - w[0]) / 1000) };
            })
            .sort((a, b) => b.seconds - a.seconds),
    };
}

/** The breakdown as lines for a person. */
export function rtoBreakdownLines(b: RtoBreakdown, indent = "  "): string[] {
    return [
        `${indent}RTO ${b.rtoSeconds} s = DTR's own steps ${b.dtrSeconds} s (restore, joins) + other steps while DTR was idle ` +
            `${b.otherStepsSeconds} s + ${
                b.toolSeconds === null ? `tool and engine ${b.overheadSeconds} s` : `tool ${b.toolSeconds} s + engine ${b.engineSeconds} s`
            }; RTO/DTR ${b.ratio ?? "n/a"} (target <= 1.10)`,
        ...(b.others.length ? [`${indent}other steps: ${b.others.map((o) => `${o.step} ${o.seconds} s`).join(", ")}`] : []),
    ];
}

/** Per-resource durations from engine events (first pre-event to outputs event). */
export class StepClock {
    private readonly started = new Map<string, number>();
    readonly finished: { step: string; seconds: number; startedAt: number; at: number }[] = [];
    onEvent = (e: EngineEvent) => {
        // Host-bound steps (remote) and the ones run from this machine over SSH (local: owner check, leave, gate).
        const isStep = (t: string) => t === "command:remote:Command" || t === "command:local:Command";
        const pre = e.resourcePreEvent?.metadata;
        if (pre && isStep(pre.type)) this.started.set(pre.urn, Date.now());
        const out = e.resOutputsEvent?.metadata;
        if (out && isStep(out.type)) {
            const now = Date.now();
            const t0 = this.started.get(out.urn) ?? now;
            this.finished.push({ step: out.urn.split("::").pop()!, seconds: (now - t0) / 1000, startedAt: t0, at: now });
        }
    };
}

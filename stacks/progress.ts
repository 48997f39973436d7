import type { EngineEvent, OpType } from "@pulumi/pulumi/automation";

/** Named steps with elapsed time, printed as they go and summed up at the end (and as JSON for machines). */
export interface StepRecord {
    step: string;
    seconds: number;
    ok: boolean;
    detail?: string;
}

export class Steps {
    readonly records: StepRecord[] = [];
    private readonly started = Date.now();

    constructor(private readonly out: (line: string) => void = (l) => process.stderr.write(`${l}\n`)) {}

    elapsed(): number {
        return (Date.now() - this.started) / 1000;
    }

    async run<T>(step: string, f: () => Promise<T>, detail?: (t: T) => string): Promise<T> {
        const t0 = Date.now();
        this.out(`[${this.elapsed().toFixed(1).padStart(6)}s] ▶ ${step}`);
        try {
            const value = await f();
            const seconds = (Date.now() - t0) / 1000;
            const d = detail?.(value);
            this.records.push({ step, seconds, ok: true, detail: d });
            this.out(`[${this.elapsed().toFixed(1).padStart(6)}s] ✔ ${step} (${seconds.toFixed(1)}s)${d ? `: ${d}` : ""}`);
            return value;
        } catch (e) {
            const seconds = (Date.now() - t0) / 1000;
            this.records.push({ step, seconds, ok: false, detail: (e as Error).message.split("\n")[0] });
            this.out(`[${this.elapsed().toFixed(1).padStart(6)}s] ✘ ${step} (${seconds.toFixed(1)}s): ${(e as Error).message}`);
            throw e;
        }
    }

    /**
     * A hook for the Automation API's `up`/`destroy` (`onEvent`): one line per resource as it starts and as it finishes
     * (or fails), and the engine's warnings and errors, on this object's output with its elapsed time.
     */
    engineEvents(): (e: EngineEvent) => void {
        const state = progressState(this.started);
        return (e) => {
            const line = engineEventLine(e, state, Date.now());
            if (line !== undefined) this.out(line);
        };
    }

    /** A table a person can read. */
    summary(title: string): string {
        const width = Math.max(...this.records.map((r) => r.step.length), 10);
        const lines = this.records.map(
            (r) => `  ${r.ok ? "✔" : "✘"} ${r.step.padEnd(width)}  ${r.seconds.toFixed(1).padStart(7)}s${r.detail ? `  ${r.detail}` : ""}`,
        );
        return [`${title} (${this.elapsed().toFixed(1)}s in all)`, ...lines].join("\n");
    }
}

/** What the formatter remembers between events: when the run started and when each resource's step started. */
export interface ProgressState {
    t0: number;
    started: Map<string, number>;
}

export function progressState(t0: number): ProgressState {
    return { t0, started: new Map() };
}

const DONE: Partial<Record<OpType, string>> = {
    create: "created",
    update: "updated",
    delete: "deleted",
    replace: "replaced",
    "create-replacement": "created (replacement)",
    "delete-replaced": "deleted (replaced)",
    import: "imported",
    "import-replacement": "imported (replacement)",
    discard: "discarded",
    "discard-replaced": "discarded (replaced)",
    "remove-pending-replace": "removed (pending replace)",
};

/** `urn:pulumi:lab::dtr-ha::dtr-ha:index:DtrCluster$command:remote:Command::lab-install` -> `lab-install`. */
const nameOf = (urn: string) => urn.split("::").pop() ?? urn;

/**
 * One line for a person, or undefined for an event not worth one. Resources whose step does nothing (`same`, `read`,
 * `refresh`), the stack itself, providers and components (they start and finish at once; their children carry the
 * work) are left out. `now` is the caller's clock in ms (the events' own timestamps are whole seconds).
 */
export function engineEventLine(e: EngineEvent, state: ProgressState, now: number): string | undefined {
    const at = `[${((now - state.t0) / 1000).toFixed(1).padStart(6)}s]`;
    const step = e.resourcePreEvent ?? e.resOutputsEvent ?? e.resOpFailedEvent;
    if (step) {
        const m = step.metadata;
        if (["same", "read", "refresh"].includes(m.op) || ("planning" in step && step.planning)) return undefined;
        if (m.type === "pulumi:pulumi:Stack" || m.type.startsWith("pulumi:providers:")) return undefined;
        if ((m.new ?? m.old)?.custom !== true) return undefined;
        const what = `${nameOf(m.urn)} (${m.type.split(":").slice(1).join(":")})`;
        if (e.resourcePreEvent) {
            state.started.set(`${m.op} ${m.urn}`, now);
            return `${at}   ▶ ${m.op.padEnd(7)} ${what}`;
        }
        const t = state.started.get(`${m.op} ${m.urn}`);
        state.started.delete(`${m.op} ${m.urn}`);
        const took = t === undefined ? "" : ` in ${((now - t) / 1000).toFixed(1)}s`;
        return e.resOpFailedEvent ? `${at}   ✘ ${m.op} FAILED ${what}${took}` : `${at}   ✔ ${DONE[m.op] ?? m.op} ${what}${took}`;
    }
    const d = e.diagnosticEvent;
    if (d && (d.severity === "warning" || d.severity === "error") && !d.ephemeral) {
        // The engine's note that a plugin came from $PATH (the toolchain's, in the lab) is not the user's concern.
        if (!d.urn && /^using pulumi-\S+ from \$PATH/.test(d.message)) return undefined;
        const lines = d.message.split("\n").filter((l) => l.trim() !== "");
        // A failed command's error repeats its whole script on the first line: keep its start and the output's end.
        const first = lines[0]?.length > 160 ? `${lines[0].slice(0, 157)}...` : (lines[0] ?? "");
        const shown = [first, ...lines.slice(1).slice(-3)].map((l, i) => (i === 0 ? l : `${" ".repeat(at.length + 5)}${l.slice(0, 200)}`));
        return `${at}   ! ${d.severity}${d.urn ? ` ${nameOf(d.urn)}` : ""}: ${shown.join("\n")}`;
    }
    return undefined;
}

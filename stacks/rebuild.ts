/**
 * `npm run rebuild -- --from <manifest key | latest> --stack <new stack> [--source-stack <stack>]`: rebuilds a lost
 * cluster from a backup into a fresh stack through the Automation API, verifies it, and reports the measured RTO
 * (disaster declared -> cluster healthy) and RPO (disaster time - backup time).
 */
import { Command } from "commander";
import { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import { parseHealthLine } from "../components/cluster/health-gate";
import { openStack } from "./workspace";
import { Steps } from "./progress";
import { backupAccess, resolveManifest, verifyBackup } from "./catalog";

export interface RebuildOptions {
    from: string;
    stack: string;
    sourceStack: string;
    stateDir: string;
    /** When the disaster happened (for the RPO); default: when the rebuild was declared. */
    disasterTime?: Date;
    /** When the disaster was declared (RTO starts here); default: now. */
    declaredAt?: Date;
    destroyExisting: boolean;
    log?: (line: string) => void;
    /** Aborts the `up` (for drills that interrupt a restore). */
    signal?: AbortSignal;
    /** Sees every engine event of the `up`. */
    onEvent?: (e: EngineEvent) => void;
}

export interface RebuildReport {
    ok: boolean;
    stack: string;
    manifestKey: string;
    backupCreatedAt: string;
    declaredAt: string;
    healthyAt: string | null;
    /** Seconds from declaration to the health gate passing. */
    rtoSeconds: number | null;
    /** Seconds of changes lost: disaster time minus backup time. */
    rpoSeconds: number;
    /** Each restore step's duration in seconds, in the order they finished. */
    steps: { step: string; seconds: number }[];
    health: string | null;
    replicaIds: string[];
}

/** Per-resource durations from engine events (first pre-event to outputs event). */
class StepClock {
    private readonly started = new Map<string, number>();
    readonly finished: { step: string; seconds: number; at: number }[] = [];
    onEvent = (e: EngineEvent) => {
        const pre = e.resourcePreEvent?.metadata;
        if (pre && pre.type === "command:remote:Command") this.started.set(pre.urn, Date.now());
        const out = e.resOutputsEvent?.metadata;
        if (out && out.type === "command:remote:Command") {
            const t0 = this.started.get(out.urn) ?? Date.now();
            this.finished.push({ step: out.urn.split("::").pop()!, seconds: (Date.now() - t0) / 1000, at: Date.now() });
        }
    };
}

export async function rebuild(o: RebuildOptions, steps = new Steps()): Promise<RebuildReport> {
    const declaredAt = o.declaredAt ?? new Date();
    const disasterTime = o.disasterTime ?? declaredAt;
    const place = { dir: o.stateDir };
    const source: Stack = await steps.run(`open the source stack ${o.sourceStack}`, () => openStack(o.sourceStack, place));
    const access = await backupAccess(source);
    const entry = await steps.run(
        `find backup ${o.from}`,
        () => resolveManifest(access, o.from),
        (e) => `${e.manifestKey} (${e.manifest.createdAt})`,
    );
    const verdict = await steps.run("verify it (size and SHA-256 at its pinned version)", () => verifyBackup(access, entry.manifestKey));
    if (!verdict.ok)
        throw new Error(`backup ${entry.manifestKey} failed verification; nothing was rebuilt: ${JSON.stringify(verdict.verdict)}`);

    const target = await steps.run(`create stack ${o.stack} with ${o.sourceStack}'s configuration`, async () => {
        const s = await openStack(o.stack, place);
        const config = await source.getAllConfig();
        delete config["dtr-ha:restore"];
        await s.setAllConfig(config);
        await s.setConfig("dtr-ha:restore", {
            value: JSON.stringify({ manifestKey: entry.manifestKey, destroyExisting: o.destroyExisting }),
        });
        const backup = JSON.parse(config["dtr-ha:backup"].value);
        await s.setConfig("dtr-ha:backup", { value: JSON.stringify({ ...backup, trigger: `rebuilt-${declaredAt.toISOString()}` }) });
        return s;
    });
    // A rebuild run again after an interruption: operations left pending by the killed run are dropped first.
    await steps.run("clear operations an interrupted run left pending", () =>
        target.refresh({ color: "never", clearPendingCreates: true }),
    );
    const clock = new StepClock();
    const up = await steps.run("pulumi up in restore mode: verify, clear, restore, join, join, health gate, new backup", () =>
        target.up({
            color: "never",
            signal: o.signal,
            onEvent: (e) => {
                clock.onEvent(e);
                o.onEvent?.(e);
            },
            onOutput: (l) => o.log?.(l.trimEnd()),
        }),
    );
    const outputs = Object.fromEntries(Object.entries(up.outputs).map(([k, v]) => [k, v.value]));
    const healthStep = clock.finished.find((f) => f.step.endsWith("-health"));
    const gate = parseHealthLine(String(outputs.health ?? ""));
    const report: RebuildReport = {
        ok: gate.healthy && gate.replicas === outputs.replicaCount,
        stack: o.stack,
        manifestKey: entry.manifestKey,
        backupCreatedAt: entry.manifest.createdAt,
        declaredAt: declaredAt.toISOString(),
        healthyAt: healthStep ? new Date(healthStep.at).toISOString() : null,
        rtoSeconds: healthStep ? Number(((healthStep.at - declaredAt.getTime()) / 1000).toFixed(1)) : null,
        rpoSeconds: Number(((disasterTime.getTime() - Date.parse(entry.manifest.createdAt)) / 1000).toFixed(1)),
        steps: clock.finished.map((f) => ({ step: f.step, seconds: Number(f.seconds.toFixed(1)) })),
        health: outputs.health ?? null,
        replicaIds: outputs.replicaIds ?? [],
    };
    return report;
}

export function timeline(r: RebuildReport): string {
    return [
        `rebuild of ${r.stack} from ${r.manifestKey}: ${r.ok ? "HEALTHY" : "NOT HEALTHY"}`,
        `  backup taken      ${r.backupCreatedAt}`,
        `  disaster declared ${r.declaredAt}`,
        `  cluster healthy   ${r.healthyAt ?? "never"}`,
        `  RTO ${r.rtoSeconds ?? "n/a"} s (declared -> healthy), RPO ${r.rpoSeconds} s (disaster - backup)`,
        "  restore steps:",
        ...r.steps.map((s) => `    ${s.step.padEnd(36)} ${s.seconds.toFixed(1).padStart(7)} s`),
    ].join("\n");
}

if (require.main === module) {
    const program = new Command()
        .name("npm run rebuild --")
        .description("Rebuild a lost DTR cluster from a backup into a fresh stack, verify it, and report RTO and RPO.")
        .requiredOption("--from <manifest>", 'a backup manifest key, or "latest"')
        .requiredOption("--stack <name>", "the new stack to create")
        .option("--source-stack <name>", "the stack whose configuration and backups to use", "lab")
        .option(
            "--state-dir <dir>",
            "where the stacks' state lives (file backend)",
            process.env.DTR_HA_STATE_DIR ?? "/var/tmp/dtr-ha-lab/pulumi",
        )
        .option("--disaster-time <iso>", "when the cluster was lost (RPO); default: now")
        .option("--destroy-existing", "destroy replicas still found on the hosts instead of refusing", false)
        .option("--json", "end with one JSON line", false)
        .option("--verbose", "show the engine's output", false)
        .action(async (opts) => {
            const steps = new Steps();
            if (opts.disasterTime !== undefined && Number.isNaN(Date.parse(opts.disasterTime))) {
                throw new Error(
                    `--disaster-time=${JSON.stringify(opts.disasterTime)} is not a date; use ISO 8601, e.g. 2026-11-25T13:00:00Z`,
                );
            }
            try {
                const report = await rebuild(
                    {
                        from: opts.from,
                        stack: opts.stack,
                        sourceStack: opts.sourceStack,
                        stateDir: opts.stateDir,
                        disasterTime: opts.disasterTime ? new Date(opts.disasterTime) : undefined,
                        destroyExisting: opts.destroyExisting,
                        log: opts.verbose ? (l) => process.stderr.write(`    ${l}\n`) : undefined,
                    },
                    steps,
                );
                process.stderr.write(`\n${timeline(report)}\n\n${steps.summary("rebuild")}\n`);
                if (opts.json) process.stdout.write(`${JSON.stringify(report)}\n`);
                process.exitCode = report.ok ? 0 : 1;
            } catch (e) {
                process.stderr.write(`\n${steps.summary(`rebuild FAILED: ${(e as Error).message}`)}\n`);
                process.exitCode = 1;
            }
        });
    program.parseAsync().catch((e) => {
        process.stderr.write(`${(e as Error).message}\n`);
        process.exitCode = 2;
    });
}

/**
 * `npm run retire -- --stack <old> [--yes]`: drops an old stack's state without running any delete. After a rebuild the
 * cluster belongs to the new stack (components/hosts/sh/ownership.sh); the old stack's state still lists commands for the
 * same replica ids on the same hosts. `pulumi destroy` of it is safe too (each delete finds the new owner and skips),
 * but it opens SSH to every host and needs them reachable; retiring needs nothing but the backend.
 * Without `--yes` it only prints what it would drop.
 */
import * as fs from "fs";
import * as path from "path";
import { Command } from "commander";
import { Steps } from "./progress";
import { placeName, placeOf, selectStack, stackExists, stackNameProblem } from "./workspace";

interface Options {
    stack: string;
    /** The lab's state dir (its file backend and passphrase); undefined: the backend and secrets pulumi uses. */
    stateDir?: string;
    yes: boolean;
    json: boolean;
}

export interface RetireReport {
    stack: string;
    resources: number;
    /** Resource type -> count. */
    byType: Record<string, number>;
    /** Cloud resources (not commands) the stack managed: left as they are, managed by no stack afterwards. */
    leftBehind: string[];
    /** The ownership lines of the stack's last `up` (which stack held each replica then). */
    owners: string[];
    savedState?: string;
    retired: boolean;
}

/** What retiring `stack` would drop; with `yes`, saves its state beside the backend and removes the stack. */
export async function retire(o: Options, steps = new Steps()): Promise<RetireReport> {
    const problem = stackNameProblem("--stack", o.stack);
    if (problem) throw new UsageError(problem);
    const place = placeOf(o.stateDir);
    if (!stackExists(o.stack, place)) throw new UsageError(`--stack ${o.stack}: no such stack in ${placeName(place)}; nothing was changed`);
    const stack = await steps.run(`open stack ${o.stack} (select only)`, () => selectStack(o.stack, place));
    const state = await steps.run("read its state", () => stack.exportStack());
    const resources = (state.deployment.resources ?? []) as { type: string; urn: string }[];
    const byType: Record<string, number> = {};
    for (const r of resources) byType[r.type] = (byType[r.type] ?? 0) + 1;
    const leftBehind = resources
        .filter((r) => !r.type.startsWith("command:") && !r.type.startsWith("pulumi:") && !r.type.startsWith("dtr-ha:"))
        .map((r) => r.urn.split("::").slice(-2).join(" "));
    const outputs = await stack.outputs().catch(() => ({}) as Record<string, { value: unknown }>);
    const owners = ((outputs as Record<string, { value: unknown }>).owners?.value ?? []) as string[];
    const report: RetireReport = { stack: o.stack, resources: resources.length, byType, leftBehind, owners, retired: false };
    if (!o.yes) return report;
    // The saved state goes beside the lab's backend, or into ./retired of the folder the tool runs in.
    const dir = path.join(o.stateDir ?? process.cwd(), "retired");
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = path.join(dir, `${o.stack}-${new Date().toISOString().replace(/[:.]/g, "")}.json`);
    // The state as it was, for the record (secrets in it stay encrypted with the stack's secrets provider).
    fs.writeFileSync(file, JSON.stringify(state, null, 2), { mode: 0o600, flag: "wx" });
    report.savedState = file;
    await steps.run(`remove stack ${o.stack} from the backend without running any delete`, () =>
        stack.workspace.removeStack(o.stack, { force: true }),
    );
    report.retired = true;
    return report;
}

export class UsageError extends Error {}

function describe(r: RetireReport): string {
    const lines = [
        `stack ${r.stack}: ${r.resources} resources in its state (${Object.entries(r.byType)
            .map(([t, n]) => `${n} ${t}`)
            .join(", ")})`,
    ];
    if (r.owners.length) lines.push("ownership at its last up:", ...r.owners.map((l) => `  ${l}`));
    if (r.leftBehind.length)
        lines.push("cloud resources that stay as they are, managed by no stack afterwards:", ...r.leftBehind.map((l) => `  ${l}`));
    lines.push(
        r.retired
            ? `retired: the stack is gone from the backend; no delete ran, no host was contacted. Its last state: ${r.savedState}`
            : "nothing was changed. Run again with --yes to drop this state without running any delete.",
    );
    return lines.join("\n");
}

if (require.main === module) {
    const program = new Command()
        .name("npm run retire --")
        .description("Drop an old stack's state without running any delete (after a rebuild moved its cluster to a new stack).")
        .requiredOption("--stack <name>", "the old stack to retire (no default: name it)")
        .option(
            "--state-dir <dir>",
            "the lab's settings: its file backend and passphrase in <dir> (default: $DTR_HA_STATE_DIR; without either, the backend and secrets pulumi uses)",
            process.env.DTR_HA_STATE_DIR || undefined,
        )
        .option("--yes", "really drop it (without: only show what would be dropped)", false)
        .option("--json", "end with one JSON line", false)
        .showHelpAfterError()
        .action(async (o: Options) => {
            const steps = new Steps();
            const report = await retire(o, steps);
            process.stderr.write(`${describe(report)}\n${steps.summary(report.retired ? "retired" : "dry run")}\n`);
            if (o.json) process.stdout.write(`${JSON.stringify(report)}\n`);
        });
    program.parseAsync().catch((e) => {
        process.stderr.write(`retire: ${(e as Error).message}\n`);
        process.exitCode = e instanceof UsageError ? 2 : 1;
    });
}

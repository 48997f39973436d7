/**
 * `npm run bench`'s last word: every performance target of the project in one table, from the figures the run itself
 * printed (the backup agent's bench, the unit suite timed here, the RTO bench) and the last whole `npm test` on this
 * machine (too long to run three times here; its date and commit are shown). A target not met names the measured limit
 * that stops it. Pure: `benchTargets` is tested directly; the CLI only reads files.
 */
import { readFileSync } from "fs";

export interface Target {
    area: string;
    name: string;
    value: number | null;
    target: string;
    met: boolean;
    /** For a target not met: the measured limit that stops it, with its figures. */
    limit?: string;
}

/** The agent bench's final JSON line (backup-agent/bench/backup-pipeline.ts). */
export interface AgentBench {
    targets: Record<string, { value: number; target: string; met: boolean; limit?: string }>;
}

/** One scenario of the RTO bench's final JSON line (stacks/bench-rto.ts `summarize`). */
export interface RtoScenario {
    rounds: number;
    rtoMedianSeconds: number;
    dtrSeconds: number;
    otherStepsSeconds: number;
    toolSeconds: number;
    engineSeconds: number;
    rtoToDtrRatio: number;
    engineFloorRatio: number | null;
    /** Median seconds of each other step inside the RTO, and of each of the tool's own steps. */
    steps?: { step: string; medianSeconds: number }[];
    toolSteps?: { step: string; medianSeconds: number }[];
    /** Rounds that did not finish, each with its reason (the figures are of the others). */
    failedRounds?: string[];
}

/** The longest few, for a person: "restore-verify 1.5 s, owners 0.7 s". */
function longest(xs: { step: string; medianSeconds: number }[] | undefined, n: number): string {
    return [...(xs ?? [])]
        .sort((a, b) => b.medianSeconds - a.medianSeconds)
        .slice(0, n)
        .map((x) => `${x.step} ${x.medianSeconds} s`)
        .join(", ");
}

/** One timed run of the unit suite: wall, user and system seconds (children included). */
export interface UnitRun {
    wall: number;
    user: number;
    sys: number;
}

/** scripts/test.sh's record of its last whole run. */
export interface TestRecord {
    finishedAt: string;
    commit: string;
    seconds: number;
    passed: number;
    failed: number;
    suites: { suite: string; seconds: number }[];
}

export const UNIT_TARGET_SECONDS = 15;
export const TEST_TARGET_SECONDS = 25 * 60;
export const RTO_TARGET = 1.1;

/** The middle value (the mean of the two middle ones for an even count). */
export function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const r1 = (x: number) => Number(x.toFixed(1));

export function benchTargets(
    agent: AgentBench | undefined,
    rto: Record<string, RtoScenario> | undefined,
    unit: UnitRun[],
    cores: number,
    test: TestRecord | undefined,
): Target[] {
    const out: Target[] = [];
    for (const [name, t] of Object.entries(agent?.targets ?? {}))
        out.push({
            area: "backup agent",
            name,
            value: t.value,
            target: t.target,
            met: t.met,
            ...(t.met ? {} : { limit: t.limit ?? "no limit measured" }),
        });
    for (const [scenario, x] of Object.entries(rto ?? {})) {
        const met = x.rtoToDtrRatio <= RTO_TARGET;
        out.push({
            area: "RTO",
            name: `${scenario}: RTO / DTR's own steps${x.failedRounds?.length ? ` (${x.failedRounds.length} round(s) failed)` : ""}`,
            value: x.rtoToDtrRatio,
            target: `<= ${RTO_TARGET}`,
            met,
            ...(met
                ? {}
                : {
                      limit:
                          `beside DTR's ${x.dtrSeconds} s: other steps ${x.otherStepsSeconds} s (the checks before and after DTR's steps), ` +
                          `tool ${x.toolSeconds} s, engine ${x.engineSeconds} s; the engine alone floors RTO/DTR at ${x.engineFloorRatio}` +
                          (x.steps?.length ? `; longest other steps: ${longest(x.steps, 3)}` : "") +
                          (x.toolSteps?.length
                              ? `; the tool's steps inside the RTO and out: ${longest(
                                    // DTR's own steps the tool runs (remove, emergency-repair) are counted as DTR's, and the up as steps.
                                    x.toolSteps.filter((t) => !/^(pulumi up|remove |emergency-repair )/.test(t.step)),
                                    3,
                                )}`
                              : ""),
                  }),
        });
    }
    if (unit.length) {
        const wall = median(unit.map((u) => u.wall));
        const cpu = median(unit.map((u) => u.user + u.sys));
        const met = wall < UNIT_TARGET_SECONDS;
        out.push({
            area: "tests",
            name: `unit suite wall time (median of ${unit.length}), s`,
            value: r1(wall),
            target: `< ${UNIT_TARGET_SECONDS}`,
            met,
            ...(met
                ? {}
                : {
                      limit: `the suite spends ${r1(cpu)} CPU-s (user+sys, its processes included) on ${cores} cores: at least ${r1(cpu / cores)} s even fully parallel`,
                  }),
        });
    }
    if (!test)
        out.push({
            area: "tests",
            name: "npm test, s",
            value: null,
            target: `<= ${TEST_TARGET_SECONDS}`,
            met: false,
            limit: "no whole npm test run recorded on this machine yet (scripts/test.sh writes it under ~/.cache/dtr-ha)",
        });
    else {
        const met = test.failed === 0 && test.seconds <= TEST_TARGET_SECONDS;
        const by = new Map<string, number>();
        for (const s of test.suites) by.set(s.suite, (by.get(s.suite) ?? 0) + s.seconds);
        const top = [...by.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3);
        out.push({
            area: "tests",
            name: `npm test, s (last whole run ${test.finishedAt}, ${test.commit}, ${test.passed} passed, ${test.failed} failed)`,
            value: test.seconds,
            target: `<= ${TEST_TARGET_SECONDS}`,
            met,
            ...(met ? {} : { limit: `by suite: ${top.map(([n, s]) => `${n} ${s} s`).join(", ")}` }),
        });
    }
    return out;
}

export function targetLines(targets: Target[]): string[] {
    const lines = ["", "dtr-ha performance targets (this run; npm test from its last whole run):"];
    for (const t of targets) {
        lines.push(
            `  ${t.met ? "met    " : "NOT MET"}  ${t.area.padEnd(12)} ${t.name.padEnd(48)} ${String(t.value ?? "n/a").padStart(8)}  (target ${t.target})`,
        );
        if (t.limit) lines.push(`           limit: ${t.limit}`);
    }
    const missed = targets.filter((t) => !t.met).length;
    lines.push(`  ${targets.length - missed} of ${targets.length} met`);
    return lines;
}

/** The last line of a file that parses as a JSON object. */
export function lastJson<T>(text: string): T | undefined {
    for (const line of text.trim().split("\n").reverse()) {
        if (!line.startsWith("{")) continue;
        try {
            return JSON.parse(line) as T;
        } catch {
            continue;
        }
    }
    return undefined;
}

/** Lines `wall user sys` (bash's `time` with TIMEFORMAT='%R %U %S'). */
export function parseUnitRuns(text: string): UnitRun[] {
    return text
        .trim()
        .split("\n")
        .filter((l) => l.trim())
        .map((l) => {
            const [wall, user, sys] = l.trim().split(/\s+/).map(Number);
            if (![wall, user, sys].every(Number.isFinite)) throw new Error(`unit timing line ${JSON.stringify(l)}: want "wall user sys"`);
            return { wall, user, sys };
        });
}

if (require.main === module) {
    const [agentFile, unitFile, rtoFile, testFile, cores] = process.argv.slice(2);
    const read = (f: string | undefined) => {
        try {
            return f ? readFileSync(f, "utf8") : undefined;
        } catch {
            return undefined;
        }
    };
    const agent = lastJson<AgentBench>(read(agentFile) ?? "");
    const rto = lastJson<{ scenarios: Record<string, RtoScenario> }>(read(rtoFile) ?? "")?.scenarios;
    const test = lastJson<TestRecord>(read(testFile) ?? "");
    const targets = benchTargets(agent, rto, parseUnitRuns(read(unitFile) ?? ""), Number(cores) || 1, test);
    process.stdout.write(`${targetLines(targets).join("\n")}\n${JSON.stringify({ bench: "dtr-ha", targets })}\n`);
    if (!agent || !rto) {
        process.stderr.write(`bench: ${!agent ? "the agent bench" : "the RTO bench"} printed no summary; see its output above\n`);
        process.exitCode = 1;
    }
}

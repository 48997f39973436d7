/**
 * RTO benchmark on the lab, through the real engine: N rounds of each recovery the tool runs, each on a cluster of its
 * own, printing medians of the RTO and of where it went (DTR's own steps, other steps, the tool, the engine):
 *   rebuild  build -> fill -> back up -> lose the cluster -> rebuild from the backup into a fresh stack (the drill)
 *   class 1  build -> fill -> lose host2 -> recover: remove its replica, the spare host4 joins
 *   class 2  build -> fill -> lose host2 and host3 -> recover: emergency-repair on host1, host4 and host3 (reinstalled) join
 * Figures, not assertions: absolute times drift on these machines, so compare medians and ratios from one run. The last
 * line is the summary as JSON (read by `npm run bench`'s report).
 */
import { Command } from "commander";
import { LabStatus, joinSpare, labDown, labStatus, labUp, leaveSpare, loseHost, reviveHost } from "../lab/lab";
import { grantTeam, labPulumiDir, labStack, loseCluster, pushImage, takeBackup, wipeDtr } from "./lab-cluster";
import { labHostSpec } from "./lab-config";
import { rebuild } from "./rebuild";
import { recover } from "./recover";
import { openStack } from "./workspace";
import { Steps } from "./progress";
import { RtoBreakdown } from "./rto-breakdown";
import { median } from "./bench-report";
import { deriveReplicaId } from "../components/cluster/topology";

export const SCENARIOS = ["rebuild", "class1", "class2"] as const;
type Scenario = (typeof SCENARIOS)[number];

interface Round {
    install: number;
    rto: number;
    rpo: number;
    breakdown: RtoBreakdown;
    steps: { step: string; seconds: number }[];
    /** The tool's own steps (reading, verifying, state and config changes, the up as one step). */
    toolSteps: { step: string; seconds: number }[];
}

const quiet = () => new Steps(() => undefined);

/** The tool's steps by a name that is the same in every round (host names kept, the round's stack and keys left out). */
const toolSteps = (s: Steps, name: string) =>
    s.records.map((r) => ({
        step: r.step
            .split(name)
            .join("<stack>")
            .replace(/\S+\.json/g, "<key>")
            .slice(0, 60),
        seconds: r.seconds,
    }));

/** A cluster of its own, filled with two repositories, each granted to a team. */
async function filledCluster(status: LabStatus, name: string) {
    const c = await labStack(status, name);
    const t0 = Date.now();
    await c.stack.up({ color: "never" });
    const install = (Date.now() - t0) / 1000;
    for (const repo of ["a", "b"]) {
        await pushImage(c, status.hosts[0], status.hosts[0], repo, "1");
        await grantTeam(c, status.hosts[0], `admin/${repo}`, "devs", "read-only");
    }
    return { c, install };
}

async function rebuildRound(status: LabStatus, name: string): Promise<Round> {
    const { c, install } = await filledCluster(status, name);
    try {
        const key = await takeBackup(c, `bench-${Date.now()}`);
        const disaster = new Date();
        await loseCluster(status);
        const tool = quiet();
        const report = await rebuild(
            {
                from: key,
                stack: `${name}-rebuilt`,
                sourceStack: name,
                stateDir: labPulumiDir(status),
                disasterTime: disaster,
                destroyExisting: false,
            },
            tool,
        );
        if (!report.ok || report.rtoSeconds === null || !report.breakdown)
            throw new Error(`${name}: rebuild not healthy: ${JSON.stringify(report)}`);
        const rebuilt = await openStack(`${name}-rebuilt`, { dir: labPulumiDir(status) });
        await rebuilt.destroy({ color: "never" });
        await rebuilt.workspace.removeStack(`${name}-rebuilt`);
        return {
            install,
            rto: report.rtoSeconds,
            rpo: report.rpoSeconds,
            breakdown: report.breakdown,
            steps: report.breakdown.others.map((o) => ({ step: o.step.replace(`${name}-`, ""), seconds: o.seconds })),
            toolSteps: toolSteps(tool, name),
        };
    } finally {
        // The old stack's replicas were wiped with the cluster: forget its state without running deletes.
        await loseCluster(status);
        await c.stack.workspace.removeStack(name, { force: true }).catch(() => undefined);
    }
}

/** Class 1 (host2 lost, quorum kept) or class 2 (host2 and host3 lost, quorum lost): `npm run recover -- --yes`. */
async function recoverRound(status: LabStatus, name: string, klass: 1 | 2): Promise<Round> {
    const ids = ["host1", "host2", "host3", "host4"].map((h) => deriveReplicaId(name, h));
    const { c, install } = await filledCluster(status, name);
    await joinSpare("host4");
    const lost = klass === 1 ? ["host2"] : ["host2", "host3"];
    try {
        for (const h of lost) await loseHost(h);
        const spares = [labHostSpec(status.spares![0])];
        if (klass === 2) {
            // host3 comes back as a reinstalled machine: its engine up again, nothing of DTR left on it.
            await reviveHost("host3");
            await wipeDtr(status.hosts[2], ids);
            spares.push(labHostSpec(status.hosts[2]));
        }
        const tool = quiet();
        const r = await recover({ stack: name, stateDir: labPulumiDir(status), spares, yes: true }, tool);
        if (!r.ok || r.class !== klass || r.rtoSeconds === null || !r.breakdown)
            throw new Error(`${name}: recover (class ${klass}) not healthy: ${JSON.stringify({ ...r, plan: r.plan?.summary })}`);
        return {
            install,
            rto: r.rtoSeconds,
            rpo: r.rpoSeconds ?? 0,
            breakdown: r.breakdown,
            steps: r.breakdown.others.map((o) => ({ step: o.step.replace(`${name}-`, ""), seconds: o.seconds })),
            toolSteps: toolSteps(tool, name),
        };
    } finally {
        for (const h of lost) await reviveHost(h).catch(() => undefined);
        await c.stack.destroy({ color: "never" }).catch((e) => process.stderr.write(`destroy ${name}: ${(e as Error).message}\n`));
        for (const h of [...status.hosts, ...(status.spares ?? [])]) await wipeDtr(h, ids).catch(() => undefined);
        await leaveSpare("host4").catch(() => undefined);
        await c.stack.workspace.removeStack(name, { force: true }).catch(() => undefined);
    }
}

/** The medians of one scenario's rounds, and the floor the engine alone sets on RTO/DTR. */
export function summarize(rounds: Round[]) {
    const med = (f: (r: Round) => number, digits = 1) => Number(median(rounds.map(f)).toFixed(digits));
    const dtr = med((r) => r.breakdown.dtrSeconds);
    const engine = med((r) => r.breakdown.engineSeconds ?? NaN);
    const medians = (pick: (r: Round) => { step: string; seconds: number }[]) => {
        const by = new Map<string, number[]>();
        for (const r of rounds) for (const s of pick(r)) by.set(s.step, [...(by.get(s.step) ?? []), s.seconds]);
        return [...by.entries()].map(([step, xs]) => ({ step, medianSeconds: Number(median(xs).toFixed(2)) }));
    };
    return {
        rounds: rounds.length,
        installMedianSeconds: med((r) => r.install),
        rtoMedianSeconds: med((r) => r.rto),
        rtoSeconds: rounds.map((r) => r.rto),
        rpoMedianSeconds: med((r) => r.rpo),
        dtrSeconds: dtr,
        otherStepsSeconds: med((r) => r.breakdown.otherStepsSeconds),
        toolSeconds: med((r) => r.breakdown.toolSeconds ?? NaN),
        engineSeconds: engine,
        rtoToDtrRatio: med((r) => r.breakdown.ratio ?? NaN, 2),
        // Even with no check and no tool at all, the engine's own time stays: the lowest RTO/DTR this path can reach.
        engineFloorRatio: dtr > 0 ? Number(((dtr + engine) / dtr).toFixed(2)) : null,
        steps: medians((r) => r.steps),
        toolSteps: medians((r) => r.toolSteps),
    };
}

async function main(rounds: number, scenarios: Scenario[], keep: boolean): Promise<void> {
    if ((await labStatus().catch(() => undefined))?.state !== "down") await labDown(false);
    const status = await labUp(false);
    const results: Partial<Record<Scenario, Round[]>> = {};
    const failed: Partial<Record<Scenario, string[]>> = {};
    try {
        // Interleaved, round after round, so drift on this shared machine hits every scenario alike.
        for (let r = 1; r <= rounds; r++) {
            for (const s of scenarios) {
                const t0 = Date.now();
                const name = `bench${s.replace("class", "c")}x${r}`;
                // A failed round is printed and counted, and the bench goes on: its figures come from the rounds that
                // finished, and the summary says how many did not (a scenario none of whose rounds finished fails it).
                let round: Round;
                try {
                    round = s === "rebuild" ? await rebuildRound(status, name) : await recoverRound(status, name, s === "class1" ? 1 : 2);
                } catch (e) {
                    const why =
                        (e as Error).message.split("\n").find((l) => /FATA|error|failed|refus/i.test(l)) ??
                        (e as Error).message.slice(0, 300);
                    (failed[s] ??= []).push(`round ${r}: ${why.trim().slice(0, 400)}`);
                    process.stderr.write(`round ${r}/${rounds} ${s}: FAILED: ${why.trim().slice(0, 400)}\n`);
                    continue;
                }
                (results[s] ??= []).push(round);
                process.stderr.write(
                    `round ${r}/${rounds} ${s}: RTO ${round.rto} s (DTR ${round.breakdown.dtrSeconds} s, RTO/DTR ${round.breakdown.ratio}), ` +
                        `RPO ${round.rpo} s; round took ${((Date.now() - t0) / 1000).toFixed(0)} s\n`,
                );
            }
        }
    } finally {
        if (!keep) await labDown(false);
    }
    const done = scenarios.filter((s) => results[s]?.length);
    const summary = Object.fromEntries(done.map((s) => [s, { ...summarize(results[s]!), failedRounds: failed[s] ?? [] }]));
    const title: Record<Scenario, string> = {
        rebuild: "rebuild from a backup (the drill: restore, join, join)",
        class1: "recover class 1: one host lost (remove, join the spare)",
        class2: "recover class 2: quorum lost (emergency-repair, join, join)",
    };
    const lines = [`RTO benchmark (${rounds} rounds of each on the lab; DTR = dtr-sim; medians)`];
    for (const s of scenarios) {
        const x = summary[s];
        if (!x) {
            lines.push(`  ${title[s]}: no round finished`, ...(failed[s] ?? []).map((f) => `    ${f}`));
            continue;
        }
        lines.push(
            `  ${title[s]}${x.failedRounds.length ? ` (${x.rounds} of ${x.rounds + x.failedRounds.length} rounds finished)` : ""}`,
            ...x.failedRounds.map((f) => `    FAILED ${f}`),
            `    RTO ${x.rtoMedianSeconds} s (${x.rtoSeconds.join(", ")}), RPO ${x.rpoMedianSeconds} s; a fresh install ${x.installMedianSeconds} s`,
            `    DTR's own steps ${x.dtrSeconds} s + other steps ${x.otherStepsSeconds} s + tool ${x.toolSeconds} s + engine ${x.engineSeconds} s; ` +
                `RTO/DTR ${x.rtoToDtrRatio} (target <= 1.10; the engine alone sets a floor of ${x.engineFloorRatio})`,
            `    other steps (median s): ${x.steps
                .filter((st) => st.medianSeconds >= 0.1)
                .sort((a, b) => b.medianSeconds - a.medianSeconds)
                .map((st) => `${st.step} ${st.medianSeconds}`)
                .join(", ")}`,
            `    the tool's steps (median s): ${x.toolSteps
                .filter((st) => st.medianSeconds >= 0.1)
                .map((st) => `${st.step} ${st.medianSeconds}`)
                .join("; ")}`,
        );
    }
    process.stdout.write([...lines, JSON.stringify({ bench: "rto", rounds, scenarios: summary }), ""].join("\n"));
    if (done.length < scenarios.length) throw new Error(`no round of ${scenarios.filter((s) => !done.includes(s)).join(", ")} finished`);
}

if (require.main === module) {
    new Command()
        .name("bench-rto")
        .option("--rounds <n>", "rounds of each scenario", "3")
        .option("--scenarios <list>", `comma-separated, of ${SCENARIOS.join(", ")}`, SCENARIOS.join(","))
        .option("--keep", "leave the lab up", false)
        .action(async (o) => {
            const n = Number(o.rounds);
            if (!Number.isInteger(n) || n < 1 || n > 20) throw new Error(`--rounds=${o.rounds}: give a whole number from 1 to 20`);
            const list = String(o.scenarios).split(",");
            const bad = list.filter((s) => !(SCENARIOS as readonly string[]).includes(s));
            if (bad.length || !list.length)
                throw new Error(`--scenarios=${o.scenarios}: ${bad.join(", ")} unknown; give some of ${SCENARIOS.join(", ")}`);
            await main(n, list as Scenario[], o.keep);
        })
        .parseAsync()
        .catch((e) => {
            process.stderr.write(`${(e as Error).message}\n`);
            process.exitCode = 1;
        });
}

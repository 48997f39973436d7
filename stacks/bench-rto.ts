/**
 * RTO benchmark on the lab: N rounds of build -> fill -> back up -> lose the cluster -> rebuild, each through the real
 * engine, printing the median RTO, RPO and the median of every restore step. Figures, not assertions: absolute times
 * drift on these machines, so compare medians and ratios from one run.
 */
import { Command } from "commander";
import { labDown, labStatus, labUp } from "../lab/lab";
import { grantTeam, labPulumiDir, labStack, loseCluster, pushImage, takeBackup } from "./lab-cluster";
import { rebuild } from "./rebuild";
import { openStack } from "./workspace";
import { Steps } from "./progress";
import { RtoBreakdown } from "./rto-breakdown";

function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function main(rounds: number, keep: boolean): Promise<void> {
    const quiet = new Steps(() => undefined);
    if ((await labStatus().catch(() => undefined))?.state !== "down") await labDown(false);
    const status = await labUp(false);
    const rto: number[] = [];
    const rpo: number[] = [];
    const install: number[] = [];
    const perStep = new Map<string, number[]>();
    const breakdowns: RtoBreakdown[] = [];
    try {
        for (let r = 1; r <= rounds; r++) {
            const name = `bench${r}`;
            const c = await labStack(status, name);
            const t0 = Date.now();
            await c.stack.up({ color: "never" });
            install.push((Date.now() - t0) / 1000);
            for (const repo of ["a", "b"]) {
                await pushImage(c, status.hosts[0], status.hosts[0], repo, "1");
                await grantTeam(c, status.hosts[0], `admin/${repo}`, "devs", "read-only");
            }
            const key = await takeBackup(c, `bench-${Date.now()}`);
            const disaster = new Date();
            await loseCluster(status);
            const report = await rebuild(
                {
                    from: key,
                    stack: `${name}-rebuilt`,
                    sourceStack: name,
                    stateDir: labPulumiDir(status),
                    disasterTime: disaster,
                    destroyExisting: false,
                },
                quiet,
            );
            if (!report.ok || report.rtoSeconds === null) throw new Error(`round ${r}: rebuild not healthy: ${JSON.stringify(report)}`);
            rto.push(report.rtoSeconds);
            if (report.breakdown) breakdowns.push(report.breakdown);
            rpo.push(report.rpoSeconds);
            for (const s of report.steps) {
                const step = s.step.replace(`${name}-`, "");
                perStep.set(step, [...(perStep.get(step) ?? []), s.seconds]);
            }
            process.stderr.write(
                `round ${r}/${rounds}: install ${install[r - 1].toFixed(1)} s, RTO ${report.rtoSeconds} s, RPO ${report.rpoSeconds} s\n`,
            );
            const rebuilt = await openStack(`${name}-rebuilt`, { dir: labPulumiDir(status) });
            await rebuilt.destroy({ color: "never" });
            await rebuilt.workspace.removeStack(`${name}-rebuilt`);
            await loseCluster(status);
        }
    } finally {
        if (!keep) await labDown(false);
    }
    const med = (f: (b: RtoBreakdown) => number) => Number(median(breakdowns.map(f)).toFixed(1));
    const split = {
        dtrSeconds: med((b) => b.dtrSeconds),
        otherStepsSeconds: med((b) => b.otherStepsSeconds),
        overheadSeconds: med((b) => b.overheadSeconds),
        rtoToDtrRatio: Number(median(breakdowns.map((b) => b.ratio ?? NaN)).toFixed(2)),
    };
    const steps = [...perStep.entries()].map(([step, xs]) => ({ step, medianSeconds: Number(median(xs).toFixed(2)) }));
    const summary = {
        rounds,
        installMedianSeconds: Number(median(install).toFixed(1)),
        rtoMedianSeconds: Number(median(rto).toFixed(1)),
        rtoSeconds: rto,
        rpoMedianSeconds: Number(median(rpo).toFixed(1)),
        rtoToInstallRatio: Number((median(rto) / median(install)).toFixed(2)),
        ...split,
        restoreSteps: steps,
    };
    process.stdout.write(
        [
            `RTO benchmark (${rounds} rounds on the lab; DTR = dtr-sim)`,
            `  fresh install (pulumi up)     median ${summary.installMedianSeconds} s`,
            `  RTO (declared -> healthy)     median ${summary.rtoMedianSeconds} s  (${rto.join(", ")}); RTO/install ${summary.rtoToInstallRatio}`,
            `  RPO (disaster - backup)       median ${summary.rpoMedianSeconds} s`,
            `  of the RTO (medians): DTR's own steps ${split.dtrSeconds} s (restore, joins), other steps while DTR was idle ` +
                `${split.otherStepsSeconds} s, tool and engine ${split.overheadSeconds} s; RTO/DTR ${split.rtoToDtrRatio} (target <= 1.10)`,
            "  restore steps (median s):",
            ...steps.map((s) => `    ${s.step.padEnd(28)} ${s.medianSeconds.toFixed(2).padStart(7)}`),
            JSON.stringify(summary),
            "",
        ].join("\n"),
    );
}

new Command()
    .name("bench-rto")
    .option("--rounds <n>", "rounds", "3")
    .option("--keep", "leave the lab up", false)
    .action(async (o) => {
        const n = Number(o.rounds);
        if (!Number.isInteger(n) || n < 1 || n > 20) throw new Error(`--rounds=${o.rounds}: give a whole number from 1 to 20`);
        await main(n, o.keep);
    })
    .parseAsync()
    .catch((e) => {
        process.stderr.write(`${(e as Error).message}\n`);
        process.exitCode = 1;
    });

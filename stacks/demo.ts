/**
 * `npm run demo`: the main job on the local lab, the whole disaster-recovery drill. Lab up, `pulumi up` of the project's
 * stack (three replicas over real SSH, Swarm and S3; DTR played by dtr-sim), push an image through one replica and
 * pull it through another; fill the registry (repositories, tags, team access), back up, lose the whole cluster,
 * rebuild it from the backup into a fresh stack, verify that every repository, tag and grant came back, and report
 * the measured RTO and RPO. Then lab down. `--keep` leaves the lab up; `--json` ends with one JSON line.
 */
import { Command, Option } from "commander";
import { joinSpare, labDown, labStatus, labUp, loseHost, reviveHost } from "../lab/lab";
import { Steps } from "./progress";
import {
    blobsInBucket,
    clusterHealth,
    grantTeam,
    describeInventory,
    LabInventory,
    labInventory,
    labPulumiDir,
    labStack,
    loseCluster,
    pullImage,
    pushImage,
    seedMetadata,
    takeBackup,
    up,
    waitHealthy,
    wipeDtr,
} from "./lab-cluster";
import { rebuild, timeline } from "./rebuild";
import { describePlan, recover } from "./recover";
import { labHostSpec } from "./lab-config";
import { openStack } from "./workspace";

/** Per category, for --json. */
const counts = (i: LabInventory) => ({
    repositories: i.repositories.length,
    tags: i.tags.length,
    teamAccess: i.teamAccess.length,
    settings: i.settings.length,
    signed: i.signed.length,
    scans: i.scans.length,
    tlsCertificate: i.tls.served,
});

interface Options {
    /** replica: one host lost (class 1); quorum: two of three lost (class 2); total: every replica lost, rebuilt (class 3). */
    scenario: "replica" | "quorum" | "total";
    keep: boolean;
    json: boolean;
    verbose: boolean;
}

async function main(opts: Options): Promise<number> {
    const steps = new Steps();
    const result: Record<string, unknown> = { ok: false };
    try {
        // A fresh lab every time: a cluster left by an earlier run (or by hand) would make the drill prove nothing.
        if ((await labStatus().catch(() => undefined))?.state !== "down")
            await steps.run("lab down (start from a fresh lab)", () => labDown(opts.verbose));
        const status = await steps.run(
            "lab up (3 swarm managers, 3 worker hosts for DTR, a spare, registry, S3, ucp-sim, dtr-sim and agent images)",
            () => labUp(opts.verbose),
        );
        const cluster = await steps.run("open the lab stack (Automation API, local backend)", () => labStack(status));
        const upResult = await steps.run(
            "pulumi up: install, storage, join, join, overlay checks, health gate",
            () => up(cluster, opts.verbose ? (l) => process.stderr.write(`    ${l}\n`) : undefined, steps.engineEvents()),
            (r) =>
                `${Object.entries(r.summary.resourceChanges ?? {})
                    .map(([k, v]) => `${k} ${v}`)
                    .join(", ")}`,
        );
        const outputs = Object.fromEntries(Object.entries(upResult.outputs).map(([k, v]) => [k, v.value]));
        const [h1, h2, h3] = status.hosts;
        const tag = `v${Date.now()}`;
        const pushed = await steps.run(`push admin/demo:${tag} from ${h1.name} through replica on ${h1.name}`, () =>
            pushImage(cluster, h1, h1, "demo", tag),
        );
        const imageId = await steps.run(`pull it on ${h3.name} through the replica on ${h2.name}`, () =>
            pullImage(cluster, h3, h2, pushed.repository, pushed.tag),
        );
        const blobs = await steps.run(
            `find the image's blobs in the S3 bucket ${status.s3.buckets.layers}`,
            () => blobsInBucket(status, pushed.blobs),
            (b) => `${b.found.length} of ${pushed.blobs.length} blobs in S3`,
        );
        if (blobs.missing.length) throw new Error(`blobs missing from S3: ${blobs.missing.join(", ")}`);
        const health = await steps.run(
            "cluster health",
            () => clusterHealth(cluster),
            (h) => `${h.healthy} of ${status.hosts.length} replicas OK`,
        );
        if (health.healthy !== status.hosts.length) throw new Error(`only ${health.healthy} replicas are OK: ${JSON.stringify(health)}`);

        // The drill: fill, back up, lose everything, rebuild, verify.
        await steps.run("fill: 3 repositories, 2 tags each, team access, settings (scanning on), every tag scanned, 2 signed", async () => {
            for (const [i, repo] of ["web", "api", "batch"].entries()) {
                const via = status.hosts[i % 3];
                await pushImage(cluster, via, via, repo, "1.0");
                await pushImage(cluster, via, via, repo, "1.1");
                await grantTeam(cluster, via, `admin/${repo}`, i === 0 ? "developers" : "ops", i === 0 ? "read-write" : "read-only");
            }
            const tags = ["web", "api", "batch"].flatMap((r) => [`admin/${r}:1.0`, `admin/${r}:1.1`]);
            await seedMetadata(cluster, h1, tags, ["admin/web:1.0", "admin/api:1.1"]);
        });
        const before = await steps.run(
            "inventory before",
            () => labInventory(cluster, h1),
            (i) => describeInventory(i),
        );
        const manifestKey = await steps.run(
            "back up (dtr backup | agent: zstd, SHA-256, S3 with Object Lock; manifest)",
            () => takeBackup(cluster, `drill-${Date.now()}`),
            (k) => k,
        );
        const disasterAt = new Date();
        result.scenario = opts.scenario;
        if (opts.scenario === "replica" || opts.scenario === "quorum") {
            // Class 1: one replica host lost for good, quorum kept. recover removes its replica through a healthy one
            // and the spare host4 takes its place; nothing is restored from the backup (RPO 0).
            const spare = status.spares?.[0];
            if (!spare) throw new Error("the lab has no spare host (status.spares): lab/lab.sh starts host4");
            await steps.run(`spare ${spare.name} joins the swarm as a worker (a DTR host is a UCP worker)`, () => joinSpare(spare.name));
            const spares = [labHostSpec(spare)];
            if (opts.scenario === "replica") {
                await steps.run(`disaster: ${h2.name} lost (its sshd, dockerd and every container stopped)`, () => loseHost(h2.name));
            } else {
                // Class 2: two of three lost at once, quorum gone; host1's replica is the only survivor.
                await steps.run(`disaster: ${h2.name} and ${h3.name} lost at once (quorum gone)`, async () => {
                    await loseHost(h2.name);
                    await loseHost(h3.name);
                });
                await steps.run(
                    "recover without --yes: the plan (class 2, emergency-repair on the survivor), nothing changed",
                    () => recover({ stack: "lab", stateDir: labPulumiDir(status), spares: [], yes: false }, new Steps(() => undefined)),
                    (r) => r.plan.summary,
                );
                await steps.run(`${h3.name} comes back as a reinstalled machine (engine up, nothing of DTR on it)`, async () => {
                    await reviveHost(h3.name);
                    await wipeDtr(h3);
                });
                spares.push(labHostSpec(h3));
            }
            const rec = await steps.run(
                opts.scenario === "replica"
                    ? `recover: diagnose, plan, remove ${h2.name}'s replica through a healthy one, ${spare.name} joins in its place`
                    : `recover: diagnose, plan, emergency-repair on ${h1.name}, ${spare.name} and ${h3.name} join`,
                () =>
                    recover(
                        { stack: "lab", stateDir: labPulumiDir(status), spares, yes: true },
                        new Steps((l) => process.stderr.write(`    ${l}\n`)),
                    ),
                (r) => `class ${r.class}, RTO ${r.rtoSeconds} s, RPO ${r.rpoSeconds} s, healthy ${r.healthyBefore} -> ${r.healthyAfter}`,
            );
            const after = await steps.run(
                `inventory after, through the new replica on ${spare.name}`,
                () => labInventory(cluster, spare),
                (i) => describeInventory(i),
            );
            const same = JSON.stringify(before) === JSON.stringify(after);
            await steps.run(`pull admin/web:1.0 on ${h3.name} through ${spare.name}`, () =>
                pullImage(cluster, h3, spare, "admin/web", "1.0"),
            );
            Object.assign(result, {
                ok: rec.ok && same,
                class: rec.class,
                plan: rec.plan.steps,
                rtoSeconds: rec.rtoSeconds,
                rpoSeconds: rec.rpoSeconds,
                healthyBefore: rec.healthyBefore,
                healthyAfter: rec.healthyAfter,
                inventoryBefore: rec.inventoryBefore,
                inventoryAfter: rec.inventoryAfter,
                before: counts(before),
                after: counts(after),
                inventoryEqual: same,
                backup: manifestKey,
            });
            if (!rec.ok) result.error = `recover did not end healthy: ${rec.error ?? JSON.stringify(rec.steps)}`;
            else if (!same)
                result.error = `inventory differs after the recovery: before ${JSON.stringify(before)}, after ${JSON.stringify(after)}`;
            process.stderr.write(`\n${describePlan(rec)}\n\n`);
        } else {
            await steps.run("disaster: every DTR container, volume and dtr-ol gone from all hosts", () => loseCluster(status));
            const report = await steps.run(
                "rebuild from the backup into stack lab-rebuilt (Automation API)",
                () =>
                    rebuild({
                        from: manifestKey,
                        stack: "lab-rebuilt",
                        sourceStack: "lab",
                        stateDir: labPulumiDir(status),
                        disasterTime: disasterAt,
                        destroyExisting: false,
                    }),
                (r) => `RTO ${r.rtoSeconds} s, RPO ${r.rpoSeconds} s`,
            );
            // The stack's own restore check, category by category (components/backup/sh/restore-check.sh).
            const restoreCheck = String(
                (await (await openStack("lab-rebuilt", { dir: labPulumiDir(status) })).outputs()).restored?.value ?? "",
            )
                .split("\n")
                .filter((l) => l.includes("restore check"));
            const after = await steps.run(
                "inventory after",
                () => labInventory(cluster, h2),
                (i) => describeInventory(i),
            );
            const same = JSON.stringify(before) === JSON.stringify(after);
            await steps.run(`pull admin/web:1.0 on ${h3.name} from the rebuilt cluster`, () =>
                pullImage(cluster, h3, h1, "admin/web", "1.0"),
            );
            // The routine cleanup an operator does next: destroy the old stack. Its deletes find lab-rebuilt as the owner of
            // every replica and destroy nothing (components/hosts/sh/ownership.sh).
            await steps.run(
                "pulumi destroy of the old stack lab (each delete finds lab-rebuilt as the owner)",
                () => cluster.stack.destroy({ color: "never", onEvent: steps.engineEvents() }),
                (r) => `${r.summary.resourceChanges?.delete ?? 0} deletes, no replica touched`,
            );
            const afterRetire = await steps.run(
                "health of the rebuilt cluster after the old stack's destroy",
                async () => {
                    await waitHealthy(cluster, status.hosts.length, 60);
                    return clusterHealth(cluster);
                },
                (h) => `${h.healthy} of ${status.hosts.length} replicas OK`,
            );
            const stillSame = JSON.stringify(await labInventory(cluster, h3)) === JSON.stringify(before);
            Object.assign(result, {
                ok: report.ok && same && stillSame && afterRetire.healthy === status.hosts.length,
                healthyAfterOldStackDestroyed: afterRetire.healthy,
                replicas: outputs.replicaCount,
                replicaIds: outputs.replicaIds,
                healthy: health.healthy,
                gate: outputs.health,
                image: `${pushed.repository}:${pushed.tag}`,
                imageId,
                blobsInS3: blobs.found.length,
                backup: manifestKey,
                rtoSeconds: report.rtoSeconds,
                rpoSeconds: report.rpoSeconds,
                restoreSteps: report.steps,
                before: counts(before),
                after: counts(after),
                inventoryEqual: same,
            });
            if (!same)
                result.error = `inventory differs after the rebuild: before ${JSON.stringify(before)}, after ${JSON.stringify(after)}`;
            else if (!stillSame || afterRetire.healthy !== status.hosts.length)
                result.error = `the old stack's destroy changed the rebuilt cluster: ${afterRetire.healthy} replicas OK, inventory ${stillSame ? "same" : "DIFFERENT"}`;
            process.stderr.write(
                [
                    "",
                    `DTR (dtr-sim stand-in) on ${status.hosts.map((h) => `https://${h.address}`).join(", ")}`,
                    `  replicas: ${(outputs.replicaIds as string[]).join(", ")}; health gate: ${outputs.health}`,
                    `  dtr-ol: ${(outputs.overlayFacts as string[])[0]}`,
                    `  pushed ${pushed.repository}:${pushed.tag} via ${h1.address}, pulled on ${h3.name} via ${h2.address}; ${blobs.found.length} blobs in s3://${status.s3.buckets.layers}`,
                    `  old stack lab destroyed afterwards: the rebuilt cluster stayed ${afterRetire.healthy}/${status.hosts.length} OK with the same inventory (ownership: lab-rebuilt)`,
                    `  before: ${describeInventory(before)}`,
                    `  after:  ${describeInventory(after)} (${same ? "identical" : "DIFFERENT"})`,
                    ...restoreCheck.map((l) => `  ${l}`),
                    "",
                    timeline(report),
                    "",
                ].join("\n"),
            );
        }
    } catch (e) {
        result.error = (e as Error).message;
    } finally {
        if (!opts.keep) {
            await steps.run("lab down", () => labDown(opts.verbose)).catch(() => undefined);
        } else {
            process.stderr.write("--keep: the lab stays up. `bash lab/lab.sh status` shows it; `npm run lab -- down` removes it.\n");
        }
    }
    result.timings = Object.fromEntries(steps.records.map((r) => [r.step, Number(r.seconds.toFixed(1))]));
    result.totalSeconds = Number(steps.elapsed().toFixed(1));
    process.stderr.write(`\n${steps.summary(result.ok ? "demo passed" : `demo FAILED: ${result.error}`)}\n`);
    if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    return result.ok ? 0 : 1;
}

const program = new Command()
    .name("npm run demo --")
    .description(
        "The disaster-recovery drill on the local lab: build a three-replica HA DTR with the real Pulumi engine, push and pull, fill, back up, lose the cluster, rebuild, verify, report RTO and RPO.",
    )
    .option("--keep", "leave the lab (and the cluster) up afterwards", false)
    .option("--json", "end with one JSON line: replicas, healthy, RTO, RPO, counts before and after, timings per step", false)
    .option("--verbose", "show the lab's and the engine's own output", false)
    .addOption(
        new Option(
            "--scenario <name>",
            "replica: one host lost, quorum kept (class 1); quorum: two of three lost (class 2, emergency-repair); total: every replica lost, rebuilt from the backup (class 3)",
        )
            .choices(["replica", "quorum", "total"])
            .default("total"),
    )
    .action(async (opts: Options) => {
        process.exitCode = await main(opts);
    });

program.parseAsync().catch((e) => {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exitCode = 2;
});

/**
 * `npm run demo`: the main job on the local lab. Lab up, `pulumi up` of the project's stack (three replicas over real
 * SSH, Swarm and S3; DTR played by dtr-sim), push an image through one replica and pull it through another, show the
 * cluster's health and where the layers are, then lab down. `--keep` leaves the lab up; `--json` ends with one JSON
 * line for machines.
 */
import * as fs from "fs";
import { Command } from "commander";
import { labDown, labStatus, labUp } from "../lab/lab";
import { Steps } from "./progress";
import { blobsInBucket, clusterHealth, labPulumiDir, labStack, pullImage, pushImage, up } from "./lab-cluster";

interface Options {
    keep: boolean;
    json: boolean;
    verbose: boolean;
}

async function main(opts: Options): Promise<number> {
    const steps = new Steps();
    const result: Record<string, unknown> = { ok: false };
    try {
        const before = await labStatus().catch(() => undefined);
        const status = await steps.run("lab up (3 namespace hosts, swarm, registry, S3, dtr-sim images)", () => labUp(opts.verbose));
        if (before?.state !== "up") {
            // A fresh lab has no cluster: state left by an earlier lab would describe resources that are gone.
            fs.rmSync(`${labPulumiDir(status)}/backend`, { recursive: true, force: true });
        }
        const cluster = await steps.run("open the lab stack (Automation API, local backend)", () => labStack(status));
        const upResult = await steps.run(
            "pulumi up: install, storage, join, join, overlay checks, health gate",
            () => up(cluster, opts.verbose ? (l) => process.stderr.write(`    ${l}\n`) : undefined),
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
        Object.assign(result, {
            ok: health.healthy === status.hosts.length,
            replicas: outputs.replicaCount,
            replicaIds: outputs.replicaIds,
            healthy: health.healthy,
            pings: health.pings,
            gate: outputs.health,
            image: `${pushed.repository}:${pushed.tag}`,
            imageId,
            blobsInS3: blobs.found.length,
        });
        process.stderr.write(
            [
                "",
                `DTR (dtr-sim stand-in) is up on ${status.hosts.map((h) => `https://${h.address}`).join(", ")}`,
                `  replicas: ${(outputs.replicaIds as string[]).join(", ")} (${health.healthy} OK)`,
                `  health gate: ${outputs.health}`,
                `  dtr-ol: ${(outputs.overlayFacts as string[])[0]}`,
                `  pushed ${pushed.repository}:${pushed.tag} via ${h1.address}, pulled on ${h3.name} via ${h2.address}; ${blobs.found.length} blobs in s3://${status.s3.buckets.layers}`,
                "",
            ].join("\n"),
        );
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
    .description("Build a three-replica HA DTR on the local lab with the real Pulumi engine, push and pull through it, and tear it down.")
    .option("--keep", "leave the lab (and the cluster) up afterwards", false)
    .option("--json", "end with one JSON line: replicas, healthy, timings per step", false)
    .option("--verbose", "show the lab's and the engine's own output", false)
    .action(async (opts: Options) => {
        process.exitCode = await main(opts);
    });

program.parseAsync().catch((e) => {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exitCode = 2;
});

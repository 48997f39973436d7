/**
 * The project's own stack program through the real Pulumi engine (Automation API, local file backend) against the lab:
 * three network-namespace replica hosts with their own sshd and dockerd, swarm workers of a real Swarm whose three
 * managers are apart (as in production), MinIO for S3, the command provider over real SSH. DTR itself is dtr-sim and
 * UCP's API ucp-sim, the stand-ins (dtr-sim/README.md, lab/README.md). Nothing else is mocked here.
 */
import * as assert from "assert";
import * as fs from "fs";
import { EngineEvent } from "@pulumi/pulumi/automation";
import { LabStatus, killDocker, labDown, labStatus, labUp, startDocker } from "../../lab/lab";
import { docker } from "../../lab/docker";
import {
    LabCluster,
    blobsInBucket,
    clusterHealth,
    dtrLeftovers,
    labPulumiDir,
    labStack,
    pullImage,
    pushImage,
} from "../../stacks/lab-cluster";
import { parseHealthLine } from "../../components/cluster/health-gate";
import { parseOverlayFacts, overlayProblems } from "../../components/network/overlay-check";
import { deriveReplicaId } from "../../components/cluster/topology";

const STACK = "itest";

async function waitFor<T>(what: string, f: () => Promise<T>, ok: (t: T) => boolean, seconds: number): Promise<T> {
    const deadline = Date.now() + seconds * 1000;
    let last: T | undefined;
    let lastError: unknown;
    while (Date.now() < deadline) {
        try {
            last = await f();
            if (ok(last)) return last;
        } catch (e) {
            lastError = e;
        }
        await new Promise((r) => setTimeout(r, 2000));
    }
    throw new Error(`${what} not reached in ${seconds}s; last: ${JSON.stringify(last)} ${lastError ?? ""}`);
}

describe("HA DTR in the lab (real engine, SSH, Swarm, S3; DTR = dtr-sim)", function () {
    this.timeout(30 * 60 * 1000);
    let status: LabStatus;
    let cluster: LabCluster;
    let outputs: Record<string, any>;
    const finished: string[] = [];

    before(async () => {
        const before = await labStatus().catch(() => undefined);
        status = await labUp(false);
        if (before?.state !== "up") fs.rmSync(`${labPulumiDir(status)}/backend`, { recursive: true, force: true });
        cluster = await labStack(status, STACK);
        // A stack left by an interrupted run would make `up` a no-op over a cluster that no longer exists.
        await cluster.stack.refresh({ color: "never" }).catch(() => undefined);
        const res = await cluster.stack.up({
            color: "never",
            onEvent: (e: EngineEvent) => {
                const urn = e.resOutputsEvent?.metadata.urn;
                // Host-bound steps (remote) and the ones run from this machine over SSH (local: owner check, leave, gate).
                if (urn && /command:(remote|local):Command/.test(urn)) finished.push(urn.split("::").pop()!);
            },
        });
        outputs = Object.fromEntries(Object.entries(res.outputs).map(([k, v]) => [k, v.value]));
    });

    after(async () => {
        if (!process.env.DTR_HA_KEEP_LAB) await labDown(false);
    });

    it("installs on host1, sets S3 storage, then joins host2 and host3 one after another, and passes the health gate", () => {
        const order = ["-install", "-storage", "-join-host2", "-join-host3", "-version", "-health"].map((s) =>
            finished.findIndex((n) => n === `${STACK}${s}`),
        );
        assert.ok(
            order.every((i) => i >= 0),
            `missing steps in ${finished.join(", ")}`,
        );
        assert.deepStrictEqual(
            [...order].sort((a, b) => a - b),
            order,
            `steps finished out of order: ${finished.join(", ")}`,
        );
        assert.strictEqual(outputs.replicaCount, 3);
        assert.deepStrictEqual(
            outputs.replicaIds,
            ["host1", "host2", "host3"].map((h) => deriveReplicaId(STACK, h)),
        );
        const gate = parseHealthLine(outputs.health);
        assert.ok(gate.healthy && gate.replicas === 3, outputs.health);
    });

    it("every replica is on dtr-ol, an attachable overlay with the configured subnet", async () => {
        assert.strictEqual(outputs.overlayFacts.length, 3);
        for (const line of outputs.overlayFacts as string[]) {
            assert.deepStrictEqual(overlayProblems(parseOverlayFacts(line), status.swarm.reservedForDtrOl), [], line);
        }
        for (const h of status.hosts) {
            const inspect = JSON.parse(await docker(h, ["network", "inspect", "dtr-ol"]))[0];
            assert.strictEqual(inspect.Driver, "overlay");
            assert.strictEqual(inspect.Attachable, true);
            assert.strictEqual(inspect.IPAM.Config[0].Subnet, status.swarm.reservedForDtrOl);
            const names = Object.values(inspect.Containers ?? {}).map((c: any) => c.Name as string);
            assert.ok(
                names.some((n) => n.startsWith("dtr-api-")),
                `${h.name}: no replica container on dtr-ol (${names})`,
            );
        }
    });

    it("the replicas run on swarm workers (as on UCP workers), and dtr-ol was created through UCP (ucp-sim on a manager)", async () => {
        for (const h of status.hosts) {
            assert.strictEqual(
                await docker(h, ["info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}"]),
                "active false",
                h.name,
            );
        }
        const mgr = status.managers![0];
        const onManager = JSON.parse(await docker(mgr, ["network", "inspect", "dtr-ol"]))[0];
        assert.strictEqual(onManager.Scope, "swarm");
        assert.strictEqual(onManager.IPAM.Config[0].Subnet, status.swarm.reservedForDtrOl);
        const ucpLog = fs.readFileSync(`${status.stateDir}/ucp/ucp-sim.log`, "utf8");
        assert.match(ucpLog, /POST \/auth\/login 200/);
        assert.match(ucpLog, /POST (\/v1\.\d+)?\/networks\/create 201/, "dtr-ol was created through ucp-sim");
    });

    it("an image pushed through one replica is pulled on another host through another, its blobs in S3", async () => {
        const [h1, h2, h3] = status.hosts;
        const pushed = await pushImage(cluster, h1, h1, "itest", "one");
        const id = await pullImage(cluster, h3, h2, pushed.repository, pushed.tag);
        assert.match(id, /^sha256:[0-9a-f]{64}$/);
        const blobs = await blobsInBucket(status, pushed.blobs);
        assert.ok(pushed.blobs.length >= 2, "config and at least one layer");
        assert.deepStrictEqual(blobs.missing, [], "every blob is in the S3 bucket");
    });

    it("losing one host's engine leaves 2 of 3 replicas healthy and pulls still work", async () => {
        const [h1, h2, h3] = status.hosts;
        const pushed = await pushImage(cluster, h1, h1, "itest", "two");
        await killDocker(h3.name);
        try {
            const health = await waitFor(
                "2 of 3 replicas OK",
                () => clusterHealth(cluster),
                (h) => h.healthy === 2 && h.replicaHealth[deriveReplicaId(STACK, "host3")] !== "OK",
                120,
            );
            assert.strictEqual(health.pings.host1, 200);
            assert.strictEqual(health.pings.host2, 200);
            assert.notStrictEqual(health.pings.host3, 200);
            const id = await pullImage(cluster, h2, h1, pushed.repository, pushed.tag);
            assert.match(id, /^sha256:/);
            // Metadata writes still have a majority: a new repository can be created.
            const again = await pushImage(cluster, h2, h2, "itest-degraded", "one");
            assert.strictEqual(again.repository, "admin/itest-degraded");
        } finally {
            await startDocker(h3.name);
        }
        await waitFor(
            "3 of 3 replicas OK again",
            () => clusterHealth(cluster),
            (h) => h.healthy === 3,
            180,
        );
    });

    it("pulumi destroy removes every replica and leaves the hosts clean", async () => {
        await cluster.stack.destroy({ color: "never" });
        for (const h of status.hosts) assert.deepStrictEqual(await dtrLeftovers(h), [], `${h.name} is not clean`);
        // dtr-ol is gone from the swarm too (removed on a manager: cluster.swarmManagers).
        assert.deepStrictEqual(await dtrLeftovers(status.managers![0]), [], "dtr-ol is still on the swarm");
    });
});

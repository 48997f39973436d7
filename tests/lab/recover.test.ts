/**
 * `npm run recover` in the lab (real engine, SSH, dockerd, Swarm, MinIO; DTR = dtr-sim): one replica host lost for good
 * (sshd and dockerd stopped), quorum kept (class 1). Without --yes nothing changes; with --yes the lost replica is
 * removed through a healthy one, the spare host4 takes host2's place, and the cluster is 3/3 again with every
 * repository, tag and grant, and an image pushed before the loss pulls through the new replica (RPO 0).
 */
import * as assert from "assert";
import { LabStatus, joinSpare, labUp, leaveSpare, loseHost, reviveHost } from "../../lab/lab";
import { dtrApi } from "../../lab/docker";
import {
    LabCluster,
    grantTeam,
    labInventory,
    labPulumiDir,
    labStack,
    loseCluster,
    pullImage,
    pushImage,
    takeBackup,
    wipeDtr,
} from "../../stacks/lab-cluster";
import { openStack } from "../../stacks/workspace";
import { labHostSpec } from "../../stacks/lab-config";
import { recover } from "../../stacks/recover";
import { Steps } from "../../stacks/progress";
import { deriveReplicaId } from "../../components/cluster/topology";

const STACK = "rctest";

describe("npm run recover in the lab: a lost host, quorum kept (class 1)", function () {
    this.timeout(20 * 60 * 1000);
    let status: LabStatus;
    let cluster: LabCluster;
    const ids = ["host1", "host2", "host3"].map((h) => deriveReplicaId(STACK, h));
    const spareId = deriveReplicaId(STACK, "host4");
    const quiet = () => new Steps(() => undefined);

    before(async () => {
        status = await labUp(false);
        cluster = await labStack(status, STACK);
        await cluster.stack.up({ color: "never" });
        await pushImage(cluster, status.hosts[0], status.hosts[0], "keep", "1");
        await grantTeam(cluster, status.hosts[0], "admin/keep", "team-keep", "read-write");
        await joinSpare("host4");
    });

    after(async () => {
        await reviveHost("host2").catch(() => undefined);
        const rebuilt = await openStack(`${STACK}-rebuilt`, { dir: labPulumiDir(status) }).catch(() => undefined);
        await rebuilt?.destroy({ color: "never" }).catch((e) => console.error("destroy rebuilt:", (e as Error).message));
        await rebuilt?.workspace.removeStack(`${STACK}-rebuilt`, { force: true }).catch(() => undefined);
        await cluster?.stack.destroy({ color: "never" }).catch((e) => console.error("destroy:", (e as Error).message));
        // What host2 still held of its removed replica (its disk survived the "loss"), and anything else of ours.
        for (const h of [...status.hosts, ...(status.spares ?? [])]) await wipeDtr(h, [...ids, spareId]).catch(() => undefined);
        await leaveSpare("host4").catch(() => undefined);
        await cluster?.stack.workspace.removeStack(STACK, { force: true }).catch(() => undefined);
    });

    it("plans class 1 without --yes and changes nothing; with --yes replaces host2 by host4: 3/3, same inventory, RPO 0", async () => {
        const before = await labInventory(cluster, status.hosts[0]);
        await loseHost("host2");
        const members = async () =>
            Object.keys(
                (await dtrApi(status.hosts[0].address, "GET", "/api/v0/meta/cluster_status", cluster.admin)).body.replica_health,
            ).sort();
        const membersBefore = await members();
        assert.deepStrictEqual(membersBefore, [...ids].sort());

        const plan = await recover({ stack: STACK, stateDir: labPulumiDir(status), spares: [], yes: true }, quiet());
        assert.strictEqual(plan.class, 1, JSON.stringify(plan.plan));
        assert.match(
            plan.plan.summary,
            /class 1: quorum kept \(2 of 3 replicas left, 2 needed\); lost: host2 \(replica \w+: host unreachable \(SSH\)\)/,
        );
        assert.strictEqual(plan.ran, false, "no spare: blocked, nothing ran");
        assert.match(plan.plan.blockers.join(" "), /no spare host for host2/);
        const spare = labHostSpec(status.spares![0]);
        const dry = await recover({ stack: STACK, stateDir: labPulumiDir(status), spares: [spare], yes: false }, quiet());
        assert.strictEqual(dry.ran, false);
        assert.deepStrictEqual(dry.plan.blockers, []);
        assert.deepStrictEqual(await members(), membersBefore, "without --yes the cluster is as it was");
        assert.strictEqual(JSON.parse((await cluster.stack.getConfig("dtr-ha:hosts")).value).existing[1].name, "host2");

        const printed: string[] = [];
        const r = await recover(
            { stack: STACK, stateDir: labPulumiDir(status), spares: [spare], yes: true },
            new Steps((l) => (printed.push(l), process.stderr.write(`${l}\n`))),
        );
        assert.ok(r.ok, JSON.stringify({ ...r, plan: r.plan.summary }));
        // The up streams each resource as it starts and finishes (engine events), not only with --verbose.
        const start = printed.findIndex((l) => /^\[\s*\d+\.\ds\]\s+▶ create\s+\S+-join-host4 \(remote:Command\)$/.test(l));
        const done = printed.findIndex((l) => /^\[\s*\d+\.\ds\]\s+✔ created \S+-join-host4 \(remote:Command\) in \d+\.\ds$/.test(l));
        assert.ok(start >= 0 && done > start, printed.join("\n"));
        assert.strictEqual(r.healthyBefore, 2);
        assert.strictEqual(r.healthyAfter, 3);
        assert.strictEqual(r.rpoSeconds, 0);
        assert.ok(r.rtoSeconds !== null && r.rtoSeconds > 0);
        assert.deepStrictEqual(r.inventoryAfter, r.inventoryBefore);
        assert.deepStrictEqual(await members(), [ids[0], ids[2], spareId].sort(), "host2's replica removed, host4's joined");
        const hosts = JSON.parse((await cluster.stack.getConfig("dtr-ha:hosts")).value).existing.map((h: { name: string }) => h.name);
        assert.deepStrictEqual(hosts, ["host1", "host4", "host3"]);
        assert.deepStrictEqual(await labInventory(cluster, status.spares![0]), before);
        assert.match(await pullImage(cluster, status.hosts[2], status.spares![0], "admin/keep", "1"), /^sha256:/);
        // The stack sees the cluster it has now: another up changes nothing it should not, and the gate is healthy.
        const again = await cluster.stack.up({ color: "never" });
        assert.match(again.outputs.health.value, /healthy: 3 replicas OK/);
    });

    it("every replica lost (class 3): recover rebuilds from the newest intact backup into a fresh stack, RPO its age", async () => {
        await reviveHost("host2");
        await takeBackup(cluster, `before-total-${Date.now()}`);
        const before = await labInventory(cluster, status.hosts[0]);
        // The disaster: every DTR container and volume gone from every host of the cluster (host1, host4, host3 now).
        await loseCluster(status);
        await wipeDtr(status.spares![0]);
        const place = { stack: STACK, stateDir: labPulumiDir(status) };
        const plan = await recover({ ...place, spares: [], yes: true }, quiet());
        assert.strictEqual(plan.class, 3, plan.plan.summary);
        assert.strictEqual(plan.ran, false, "no target stack: nothing ran");
        assert.match(plan.plan.blockers.join(" "), /give --to-stack/);
        assert.ok(plan.rpoSeconds !== null && plan.rpoSeconds >= 0 && plan.rpoSeconds < 600, `RPO ${plan.rpoSeconds}`);
        const r = await recover({ ...place, spares: [], yes: true, toStack: `${STACK}-rebuilt` }, new Steps());
        assert.ok(r.ok, JSON.stringify({ ...r, plan: r.plan.summary }));
        assert.strictEqual(r.healthyAfter, 3);
        assert.ok(r.rtoSeconds !== null && r.rtoSeconds > 0);
        assert.deepStrictEqual(await labInventory(cluster, status.spares![0]), before);
    });
});

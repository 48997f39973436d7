/**
 * `npm run recover` in the lab when quorum is lost (class 2): host2 and host3 lost at once, host1's replica the only
 * survivor. The plan names emergency-repair on host1 with RPO 0; with --yes and two replacement hosts (the spare host4,
 * and host3 back as a reinstalled machine: its engine up again, nothing of DTR left on it), the cluster is 3/3 on
 * host1/host4/host3 with everything it held, including a tag pushed after the last backup (so nothing came from a backup).
 */
import * as assert from "assert";
import { LabStatus, joinSpare, labUp, leaveSpare, loseHost, reviveHost } from "../../lab/lab";
import { dtrApi } from "../../lab/docker";
import { LabCluster, grantTeam, labInventory, labStack, labPulumiDir, pushImage, wipeDtr } from "../../stacks/lab-cluster";
import { labHostSpec } from "../../stacks/lab-config";
import { recover } from "../../stacks/recover";
import { Steps } from "../../stacks/progress";
import { deriveReplicaId } from "../../components/cluster/topology";

const STACK = "rqtest";

describe("npm run recover in the lab: quorum lost (class 2)", function () {
    this.timeout(20 * 60 * 1000);
    let status: LabStatus;
    let cluster: LabCluster;
    const ids = ["host1", "host2", "host3", "host4"].map((h) => deriveReplicaId(STACK, h));

    before(async () => {
        status = await labUp(false);
        cluster = await labStack(status, STACK);
        await cluster.stack.up({ color: "never" });
        await pushImage(cluster, status.hosts[0], status.hosts[0], "quorum", "1");
        await grantTeam(cluster, status.hosts[0], "admin/quorum", "team-q", "read-only");
        await joinSpare("host4");
    });

    after(async () => {
        for (const h of ["host2", "host3"]) await reviveHost(h).catch(() => undefined);
        await cluster?.stack.destroy({ color: "never" }).catch((e) => console.error("destroy:", (e as Error).message));
        for (const h of [...status.hosts, ...(status.spares ?? [])]) await wipeDtr(h, ids).catch(() => undefined);
        await leaveSpare("host4").catch(() => undefined);
        await cluster?.stack.workspace.removeStack(STACK, { force: true }).catch(() => undefined);
    });

    it("plans emergency-repair on the survivor, then recovers 3/3 with every tag, one pushed after the last backup included", async () => {
        // Written after the stack's backup: only the surviving replica's own data can bring it back.
        await pushImage(cluster, status.hosts[0], status.hosts[0], "quorum", "after-backup");
        const before = await labInventory(cluster, status.hosts[0]);
        assert.ok(before.tags.includes("admin/quorum:after-backup"));
        await loseHost("host2");
        await loseHost("host3");
        const place = { stack: STACK, stateDir: labPulumiDir(status) };
        const plan = await recover({ ...place, spares: [], yes: false }, new Steps(() => undefined));
        assert.strictEqual(plan.class, 2, plan.plan.summary);
        assert.strictEqual(plan.plan.survivor, "host1");
        assert.strictEqual(plan.rpoSeconds, 0);
        assert.match(plan.plan.steps[0].step, new RegExp(`emergency-repair --existing-replica-id ${ids[0]} --yes on host1`));
        assert.strictEqual(plan.plan.blockers.length, 2, "a replacement for each lost host is needed");

        // host3 comes back as a reinstalled machine (engine up, nothing of DTR left); host4 is the spare.
        await reviveHost("host3");
        await wipeDtr(status.hosts[2], ids);
        const spares = [labHostSpec(status.spares![0]), labHostSpec(status.hosts[2])];
        const r = await recover({ ...place, spares, yes: true }, new Steps());
        assert.ok(r.ok, JSON.stringify({ ...r, plan: r.plan.summary }));
        assert.strictEqual(r.class, 2);
        assert.strictEqual(r.healthyAfter, 3);
        assert.deepStrictEqual(r.inventoryAfter, r.inventoryBefore);
        const status2 = await dtrApi(status.hosts[0].address, "GET", "/api/v0/meta/cluster_status", cluster.admin);
        assert.deepStrictEqual(Object.keys(status2.body.replica_health).sort(), [ids[0], ids[2], ids[3]].sort());
        assert.deepStrictEqual(await labInventory(cluster, status.spares![0]), before, "everything, the late tag included (RPO 0)");
    });
});

/**
 * `npm run recover` when the lost host is the install host (hosts.existing[0]): no replica is special. host1 lost for
 * good; the plan removes its replica through host2, host2 takes the first place (its replica keeps the stack's install
 * resource, which never runs again), and the spare host4 joins in host1's stead: 3/3 with the same inventory.
 */
import * as assert from "assert";
import { LabStatus, joinSpare, labUp, leaveSpare, loseHost, reviveHost } from "../../lab/lab";
import { dtrApi } from "../../lab/docker";
import { LabCluster, grantTeam, labInventory, labPulumiDir, labStack, pullImage, pushImage, wipeDtr } from "../../stacks/lab-cluster";
import { labHostSpec } from "../../stacks/lab-config";
import { recover } from "../../stacks/recover";
import { Steps } from "../../stacks/progress";
import { deriveReplicaId } from "../../components/cluster/topology";

const STACK = "rftest";

describe("npm run recover in the lab: the install host lost (class 1, no special replica)", function () {
    this.timeout(20 * 60 * 1000);
    let status: LabStatus;
    let cluster: LabCluster;
    const ids = ["host1", "host2", "host3", "host4"].map((h) => deriveReplicaId(STACK, h));

    before(async () => {
        status = await labUp(false);
        cluster = await labStack(status, STACK);
        await cluster.stack.up({ color: "never" });
        await pushImage(cluster, status.hosts[1], status.hosts[1], "first", "1");
        await grantTeam(cluster, status.hosts[1], "admin/first", "team-f", "read-write");
        await joinSpare("host4");
    });

    after(async () => {
        await reviveHost("host1").catch(() => undefined);
        await cluster?.stack.destroy({ color: "never" }).catch((e) => console.error("destroy:", (e as Error).message));
        for (const h of [...status.hosts, ...(status.spares ?? [])]) await wipeDtr(h, ids).catch(() => undefined);
        await leaveSpare("host4").catch(() => undefined);
        await cluster?.stack.workspace.removeStack(STACK, { force: true }).catch(() => undefined);
    });

    it("removes host1's replica through host2, moves host2 to the front, and host4 joins: 3/3, same inventory", async () => {
        const before = await labInventory(cluster, status.hosts[1]);
        await loseHost("host1");
        const r = await recover(
            { stack: STACK, stateDir: labPulumiDir(status), spares: [labHostSpec(status.spares![0])], yes: true },
            new Steps(),
        );
        assert.ok(r.ok, JSON.stringify({ ...r, plan: r.plan.summary }));
        assert.strictEqual(r.class, 1);
        assert.match(r.plan.steps[0].step, new RegExp(`remove --existing-replica-id ${ids[1]} --replica-ids ${ids[0]} on host2`));
        const hosts = JSON.parse((await cluster.stack.getConfig("dtr-ha:hosts")).value).existing.map((h: { name: string }) => h.name);
        assert.deepStrictEqual(hosts, ["host2", "host4", "host3"]);
        const s = await dtrApi(status.hosts[1].address, "GET", "/api/v0/meta/cluster_status", cluster.admin);
        assert.deepStrictEqual(Object.keys(s.body.replica_health).sort(), [ids[1], ids[2], ids[3]].sort());
        assert.deepStrictEqual(await labInventory(cluster, status.spares![0]), before);
        assert.match(await pullImage(cluster, status.hosts[2], status.spares![0], "admin/first", "1"), /^sha256:/);
        // The stack keeps working on its new first host: another up passes the gate.
        const again = await cluster.stack.up({ color: "never" });
        assert.match(again.outputs.health.value, /healthy: 3 replicas OK/);
    });
});

/**
 * The operator's own path in the lab (real engine, SSH, dockerd, Swarm, MinIO; DTR = dtr-sim): host2 lost for good (sshd
 * and dockerd stopped). `preview` names the replica that is down; `up` reports the cluster DEGRADED by replica and class
 * instead of "unchanged"; then host2 replaced by the spare host4 in the config and one `up` removes host2's replica
 * through a healthy one (never over SSH to host2) and joins host4's: 3/3, same inventory, an image pushed before the
 * loss pulls through host4 (RPO 0).
 */
import * as assert from "assert";
import { LabStatus, joinSpare, labUp, leaveSpare, loseHost, reviveHost } from "../../lab/lab";
import { dtrApi } from "../../lab/docker";
import { LabCluster, grantTeam, labInventory, labStack, pullImage, pushImage, wipeDtr } from "../../stacks/lab-cluster";
import { labHostSpec } from "../../stacks/lab-config";
import { deriveReplicaId } from "../../components/cluster/topology";

const STACK = "cfgtest";

describe("pulumi up with a lost host: reported, then replaced by a config edit (class 1)", function () {
    this.timeout(20 * 60 * 1000);
    let status: LabStatus;
    let cluster: LabCluster;
    const ids = ["host1", "host2", "host3"].map((h) => deriveReplicaId(STACK, h));
    const spareId = deriveReplicaId(STACK, "host4");

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
        await cluster?.stack.destroy({ color: "never" }).catch((e) => console.error("destroy:", (e as Error).message));
        for (const h of [...status.hosts, ...(status.spares ?? [])]) await wipeDtr(h, [...ids, spareId]).catch(() => undefined);
        await leaveSpare("host4").catch(() => undefined);
        await cluster?.stack.workspace.removeStack(STACK, { force: true }).catch(() => undefined);
    });

    it("preview names the lost replica, up reports DEGRADED, and up after the config edit replaces it: 3/3, same inventory", async () => {
        const before = await labInventory(cluster, status.hosts[0]);
        const members = async () =>
            Object.keys(
                (await dtrApi(status.hosts[0].address, "GET", "/api/v0/meta/cluster_status", cluster.admin)).body.replica_health,
            ).sort();
        await loseHost("host2");

        const preview = await cluster.stack.preview({ color: "never" });
        assert.match(preview.stdout, new RegExp(`replica ${ids[1]} on host2 \\(\\S+\\) does not answer /_ping from here`));

        let t0 = Date.now();
        const degraded = await cluster.stack.up({ color: "never" });
        const reportSeconds = (Date.now() - t0) / 1000;
        assert.match(
            degraded.outputs.health.value,
            new RegExp(`DEGRADED: 2 of 3 replicas OK; down: ${ids[1]}@\\S+\\(/_ping:unreachable\\); class 1`),
        );
        assert.ok((degraded.summary.resourceChanges?.update ?? 0) >= 2, "the owner check and the gate ran: nothing claims 'unchanged'");
        assert.match(degraded.stdout, /host host2: unreachable, not checked/);
        assert.deepStrictEqual(await members(), [...ids].sort(), "reporting changes nothing");

        const hosts = JSON.parse((await cluster.stack.getConfig("dtr-ha:hosts")).value);
        assert.strictEqual(hosts.existing[1].name, "host2");
        hosts.existing[1] = labHostSpec(status.spares![0]);
        await cluster.stack.setConfig("dtr-ha:hosts", { value: JSON.stringify(hosts) });
        t0 = Date.now();
        const replaced = await cluster.stack.up({ color: "never" });
        const replaceSeconds = (Date.now() - t0) / 1000;
        console.log(`      report up ${reportSeconds.toFixed(1)} s, replace up ${replaceSeconds.toFixed(1)} s`);
        assert.match(replaced.outputs.health.value, /healthy: 3 replicas OK/);
        assert.match(replaced.stdout, new RegExp(`removing replica\\(s\\) ${ids[1]} \\(unhealthy, no longer declared\\)`));
        assert.match(replaced.stdout, /host2 is unreachable: its ownership record stays there/);
        assert.ok(replaceSeconds < 600, "no dial retries against the lost host");
        assert.deepStrictEqual(await members(), [ids[0], ids[2], spareId].sort());
        assert.deepStrictEqual(await labInventory(cluster, status.spares![0]), before);
        assert.match(await pullImage(cluster, status.hosts[2], status.spares![0], "admin/keep", "1"), /^sha256:/);
    });
});

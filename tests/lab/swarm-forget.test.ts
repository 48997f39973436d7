/**
 * recover's Swarm step in the lab (real dockerd Swarm, SSH with pinned keys): a lost host's node leaves the swarm through
 * a healthy manager, found by its exact hostname; a node that is still Ready is refused, never removed; a host that is
 * no manager (a replica host: a worker) is passed over for the next. The spare host4 plays the lost node (a worker, as
 * DTR hosts are); the managers are mgr1..3.
 */
import * as assert from "assert";
import { LabStatus, joinSpare, labUp, leaveSpare, loseHost, reviveHost, sshPrivateKey } from "../../lab/lab";
import { labHostSpec } from "../../stacks/lab-config";
import { HostShell } from "../../stacks/host-ssh";
import { forgetSwarmNode } from "../../stacks/recover";

describe("recover's swarm step: a lost node leaves the swarm through a healthy manager", function () {
    this.timeout(10 * 60 * 1000);
    let status: LabStatus;
    let sh: HostShell;

    before(async () => {
        status = await labUp(false);
        sh = new HostShell(sshPrivateKey(status));
        await joinSpare("host4");
    });

    after(async () => {
        await reviveHost("host4").catch(() => undefined);
        await leaveSpare("host4").catch(() => undefined);
        sh?.close();
    });

    it("refuses a Ready node, passes over a non-manager, and removes the Down node of the lost host by its exact name", async () => {
        const hosts = [...status.managers!, ...status.hosts, ...status.spares!].map(labHostSpec);
        const host4 = hosts.find((h) => h.name === "host4")!;
        const nodes = async () => (await sh.run(hosts[0], "docker node ls --format '{{.Hostname}} {{.Status}}'")).stdout;
        assert.match(await nodes(), /^host4 Ready$/m);
        await assert.rejects(forgetSwarmNode(sh, hosts, host4, ["mgr1"]), /node \w+ is Ready: it is not lost; not removing it/);
        assert.match(await nodes(), /^host4 Ready$/m, "a Ready node stays");

        await loseHost("host4");
        // The managers mark it Down once its heartbeats stop (seconds); recover reaches this step after DTR's own.
        for (let i = 0; i < 60 && !/^host4 Down$/m.test(await nodes()); i++) await new Promise((r) => setTimeout(r, 1000));
        assert.match(await nodes(), /^host4 Down$/m);
        const t0 = Date.now();
        // host4 itself answers nothing; host1 answers but is a worker (a DTR host), so no manager; mgr2 is a healthy manager.
        const line = await forgetSwarmNode(sh, hosts, host4, ["host4", "host1", "mgr2"]);
        console.log(`      swarm forget of host4 through mgr2: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        assert.match(line, /node \w+ of the lost swarm removed/);
        assert.doesNotMatch(await nodes(), /^host4 /m);
        assert.match(await forgetSwarmNode(sh, hosts, host4, ["mgr1"]), /host4 is not in the swarm: nothing to remove/);
        // Only workers: no manager to go through, nothing changed.
        await assert.rejects(forgetSwarmNode(sh, hosts, host4, ["host1", "host2"]), /no healthy host answered as a swarm manager/);
    });
});

import * as assert from "assert";
import { swarmVia } from "../../stacks/recover";
import type { ExistingHostSpec } from "../../components/hosts/existing-hosts";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK";
const host = (name: string, address: string) => ({ name, address, port: 22, user: "root", hostKey: KEY }) as ExistingHostSpec;

describe("recover's swarm step: through which hosts a lost node leaves the swarm", () => {
    it("goes through cluster.swarmManagers first (DTR hosts are UCP workers and cannot remove a node), then the healthy replica hosts", () => {
        const managers = [{ address: "10.200.0.21", port: 22, user: "root", hostKey: KEY }];
        const v = swarmVia(managers, [host("host1", "10.200.0.11"), host("host2", "10.200.0.12")], ["host2"]);
        assert.deepStrictEqual(v.order, ["cluster.swarmManagers[0] 10.200.0.21", "host2"]);
        const first = v.hosts.find((h) => h.name === v.order[0])!;
        assert.deepStrictEqual([first.address, first.port, first.user, first.hostKey], ["10.200.0.21", 22, "root", KEY]);
    });
    it("without swarmManagers keeps the healthy replica hosts (DTR hosts that are managers)", () => {
        const v = swarmVia([], [host("host1", "10.200.0.11")], ["host1"]);
        assert.deepStrictEqual(v.order, ["host1"]);
    });
});

import * as assert from "node:assert/strict";
import { TYPES, UNKNOWN, checkAgentImage, registryHost } from "../rules";
import { cluster, res } from "./fixtures";

const PINNED = `registry.example.com/dtr-ha-backup@sha256:${"0f".repeat(32)}`;
const backup = (agentImage: unknown, stack = "prod") => res(TYPES.dtrBackup, "prod-backup", { agentImage }, {}, stack);

describe("dtr-backup-agent-pinned", () => {
    it("passes a digest-pinned agent from another registry on a production stack", () => {
        assert.deepEqual(checkAgentImage([cluster({ production: true }), backup(PINNED)], {}), []);
        assert.deepEqual(checkAgentImage([backup(PINNED)], { production: true }), []);
    });
    it("fails a tag when the cluster is production, naming the resource, the image and the fix", () => {
        const b = backup("registry.example.com/dtr-ha-backup:0.1.0");
        const v = checkAgentImage([cluster({ production: true }), b], {});
        assert.equal(v.length, 1);
        assert.equal(v[0].urn, b.urn);
        assert.match(
            v[0].message,
            /DtrBackup "prod-backup" .* runs the backup agent registry\.example\.com\/dtr-ha-backup:0\.1\.0, not pinned by digest, on production stack "prod"/,
        );
        assert.match(v[0].message, /set dtr-ha:backup\.agentImage to repository@sha256:<64 hex>/);
    });
    it("production is the cluster's flag or the policy config's production, not the stack's name (a lab's agent has no fixed digest)", () => {
        const tagged = backup("registry.example.com/dtr-ha-backup:0.1.0", "lab");
        assert.deepEqual(checkAgentImage([tagged], {}), []);
        assert.deepEqual(checkAgentImage([cluster({ production: false }), backup("r.example.com/a:1", "prod")], {}), []);
        assert.equal(checkAgentImage([cluster({ production: true }), tagged], {}).length, 1);
        assert.equal(checkAgentImage([tagged], { production: true }).length, 1);
        assert.equal(checkAgentImage([cluster({ production: true }), backup("r.example.com/a:1")], { production: false }).length, 0);
    });
    it("fails an agent served by the DTR it backs up, in any stack, even pinned", () => {
        const own = `dtr.example.com:443/admin/dtr-ha-backup@sha256:${"0f".repeat(32)}`;
        const v = checkAgentImage([cluster({}), backup(own, "lab")], {});
        assert.equal(v.length, 1);
        assert.match(v[0].message, /from dtr\.example\.com, the DTR it backs up: a restore runs the agent when that DTR is gone/);
    });
    it("skips an image still unknown in a preview (the stack builds it)", () => {
        assert.deepEqual(checkAgentImage([cluster({ production: true }), backup(UNKNOWN)], {}), []);
    });
    it("reads registry hosts as Docker does", () => {
        assert.equal(registryHost("busybox:1"), "docker.io");
        assert.equal(registryHost("library/busybox"), "docker.io");
        assert.equal(registryHost("Reg.Example.com:5000/a"), "reg.example.com");
        assert.equal(registryHost("localhost:5000/a"), "localhost");
    });
});

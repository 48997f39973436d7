import * as assert from "assert";
import { labStackConfig } from "../../stacks/lab-config";
import { SecretKey, parseStackConfig } from "../../components/config/stack-config";
import { FAKE_UCP_CA, fakeLabStatus } from "../fake-lab-status";

const status = fakeLabStatus((i) => `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${i}`);

describe("the lab stack configuration (from lab.sh status)", () => {
    it("is a valid stack configuration: three pinned hosts, MinIO storage and backups, dtr-sim, not production", () => {
        const { config, secrets } = labStackConfig(status, {
            adminPassword: "pw",
            sshPrivateKey: "key",
            s3: { accessKey: "a", secretKey: "s" },
            agentVersion: "0.1.0",
        });
        const parsed = parseStackConfig(JSON.parse(JSON.stringify(config)), new Set(Object.keys(secrets) as SecretKey[]));
        assert.strictEqual(parsed.cluster.production, false);
        assert.strictEqual(parsed.cluster.overlaySubnet, "10.200.64.0/24");
        assert.strictEqual(parsed.hosts.mode === "existing" && parsed.hosts.existing[2].hostKey, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI3");
        assert.strictEqual(parsed.image.repository, "10.200.0.1:5000/dtr-sim");
        assert.strictEqual(parsed.backup?.agentImage, "10.200.0.1:5000/dtr-ha-backup:0.1.0");
        assert.strictEqual(parsed.backup?.bucket, "dtr-backups");
        assert.strictEqual(parsed.storage.mode === "s3" && parsed.storage.s3.secure, false);
        // The production trust path: UCP's CA pinned, never --ucp-insecure-tls.
        assert.strictEqual(parsed.ucp.ca, FAKE_UCP_CA);
        assert.strictEqual(parsed.ucp.insecureTls, false);
        assert.deepStrictEqual(Object.keys(secrets).sort(), [
            "backupAccessKey",
            "backupSecretKey",
            "sshPrivateKey",
            "storageAccessKey",
            "storageSecretKey",
            "ucpPassword",
        ]);
    });
    it("refuses a lab status without UCP's CA rather than falling back to --ucp-insecure-tls", () => {
        assert.throws(
            () =>
                labStackConfig(
                    { ...status, ucp: { ca: null } },
                    { adminPassword: "pw", sshPrivateKey: "k", s3: { accessKey: "a", secretKey: "s" }, agentVersion: "0.1.0" },
                ),
            /the lab status has no UCP CA \(ucp\.ca\); bring the lab up again/,
        );
    });
    it("refuses a lab of another size", () => {
        assert.throws(
            () =>
                labStackConfig(
                    { ...status, hosts: status.hosts.slice(0, 2) },
                    { adminPassword: "pw", sshPrivateKey: "k", s3: { accessKey: "a", secretKey: "s" }, agentVersion: "0.1.0" },
                ),
            /the lab has 2 hosts; the lab stack needs 3/,
        );
    });
});

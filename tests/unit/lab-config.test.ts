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
        // UCP is ucp-sim on a manager; the swarm's managers are apart from the replica hosts (workers), as in production.
        assert.strictEqual(parsed.ucp.url, "https://10.200.0.21");
        assert.deepStrictEqual(
            parsed.cluster.swarmManagers?.map((m) => m.address),
            ["10.200.0.21", "10.200.0.22", "10.200.0.23"],
        );
        assert.deepStrictEqual(parsed.hosts.mode === "existing" && parsed.hosts.existing.map((h) => h.address), [
            "10.200.0.11",
            "10.200.0.12",
            "10.200.0.13",
        ]);
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
    const opts = { adminPassword: "pw", sshPrivateKey: "k", s3: { accessKey: "a", secretKey: "s" }, agentVersion: "0.1.0" };
    it("refuses a lab status without ucp-sim's URL (no made-up UCP address)", () => {
        assert.throws(
            () => labStackConfig({ ...status, ucp: { ...status.ucp!, url: null } }, opts),
            /the lab status has no UCP URL \(ucp\.url: ucp-sim on a manager\); bring the lab up again/,
        );
    });
    it("refuses a lab without three managers apart from the replica hosts (the old layout: replicas on managers)", () => {
        assert.throws(
            () => labStackConfig({ ...status, managers: undefined }, opts),
            /the lab status lists 0 swarm managers \(managers\[\]\); the lab stack needs 3 managers apart from the replica hosts/,
        );
        assert.throws(
            () => labStackConfig({ ...status, managers: [status.managers![0], status.managers![1], status.hosts[2]] }, opts),
            /managers\[\] and hosts\[\] share host3 \(10\.200\.0\.13\): DTR replicas run on UCP workers, never on a manager/,
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

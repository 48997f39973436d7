import * as assert from "assert";
import { labStackConfig } from "../../stacks/lab-config";
import { SecretKey, parseStackConfig } from "../../components/config/stack-config";
import type { LabStatus } from "../../lab/lab";

const status: LabStatus = {
    state: "up",
    stateDir: "/var/tmp/dtr-ha-lab",
    hosts: [1, 2, 3].map((i) => ({
        name: `host${i}`,
        address: `10.200.0.1${i}`,
        sshPort: 22,
        user: "root",
        privateKeyPath: "/x/id",
        hostPublicKey: `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${i}`,
        ucpNode: `host${i}`,
        dockerSocket: `/x/host${i}.sock`,
        dockerdPid: 1,
        healthy: true,
    })),
    swarm: { defaultAddrPool: "10.200.128.0/17", reservedForDtrOl: "10.200.64.0/24", managers: 3, ready: 3 },
    registry: "10.200.0.1:5000",
    s3: {
        endpoint: "http://10.200.0.1:9000",
        region: "us-east-1",
        accessKeyPath: "/a",
        secretKeyPath: "/s",
        buckets: { layers: "dtr-layers", backups: "dtr-backups" },
    },
};

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
        assert.deepStrictEqual(Object.keys(secrets).sort(), [
            "backupAccessKey",
            "backupSecretKey",
            "sshPrivateKey",
            "storageAccessKey",
            "storageSecretKey",
            "ucpPassword",
        ]);
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

/**
 * The restored replica's id: DTR restores with "the id of the replica you backed up" (docker/docs
 * ee/admin/restore/restore-dtr.md). Pure functions: the ids a restored cluster gives its hosts (program and operator
 * tools alike), and what rebuild takes from the manifest.
 */
import * as assert from "assert";
import { deriveReplicaId, replicaIds, restoredReplicaIds } from "../../components/cluster/topology";
import { configReplicaIds, parseStackConfig } from "../../components/config/stack-config";
import { UsageError, backedUpReplicaId, restoreConfig } from "../../stacks/rebuild";

const NAMES = ["host1", "host2", "host3"];
const derived = replicaIds("lab", NAMES);

describe("restored replica ids", () => {
    it("the restore host (default the first) gets the backed-up id; the others keep theirs", () => {
        assert.deepStrictEqual(restoredReplicaIds("lab", NAMES, derived, { replicaId: "0123456789ab" }), [
            "0123456789ab",
            derived[1],
            derived[2],
        ]);
        assert.deepStrictEqual(
            restoredReplicaIds("lab", NAMES, derived, { replicaId: derived[0] }),
            derived,
            "backed up from host1: unchanged",
        );
    });

    it("a host whose id is the backed-up one takes the restore host's id, so ids stay unique", () => {
        assert.deepStrictEqual(restoredReplicaIds("lab", NAMES, derived, { replicaId: derived[2] }), [derived[2], derived[1], derived[0]]);
    });

    it("binds the id to the restore host's name, wherever it stands, and after it left the config", () => {
        const moved = ["host2", "host1", "host3"];
        assert.deepStrictEqual(restoredReplicaIds("lab", moved, replicaIds("lab", moved), { replicaId: "0123456789ab", host: "host1" }), [
            derived[1],
            "0123456789ab",
            derived[2],
        ]);
        // host1 lost and replaced by host4; host2 (first now) carried the backed-up id and keeps host1's derived one.
        const after = ["host2", "host4", "host3"];
        assert.deepStrictEqual(restoredReplicaIds("lab", after, replicaIds("lab", after), { replicaId: derived[1], host: "host1" }), [
            deriveReplicaId("lab", "host1"),
            deriveReplicaId("lab", "host4"),
            derived[2],
        ]);
    });

    it("refuses an id that is not 12 lower-case hex", () => {
        for (const bad of ["", "0123456789AB", "0123456789a", "0123456789abc"])
            assert.throws(() => restoredReplicaIds("lab", NAMES, derived, { replicaId: bad }), /12 lower-case hex/);
    });
});

describe("the operator tools address the same replicas as the program", () => {
    const raw = (restore?: Record<string, unknown>) => ({
        cluster: {
            name: "lab",
            replicas: 3,
            production: false,
            externalUrl: "https://10.200.0.11",
            overlaySubnet: "10.200.64.0/24",
            dockerAddressPools: ["10.200.128.0/17"],
        },
        image: { repository: "reg/dtr", version: "2.9.16" },
        ucp: { url: "https://10.200.0.11", username: "admin", insecureTls: true },
        hosts: {
            mode: "existing",
            networks: ["10.200.0.0/24"],
            existing: NAMES.map((n, i) => ({ name: n, address: `10.200.0.1${i + 1}`, zone: `z${i}`, hostKey: "ssh-ed25519 AAAAC3Nza x" })),
        },
        storage: { mode: "s3", s3: { region: "us-east-1", bucket: "dtr-layers" } },
        backup: { mode: "s3", bucket: "dtr-backups", agentImage: "reg/agent:1", s3: { region: "us-east-1" } },
        ...(restore ? { restore } : {}),
    });
    const secrets = new Set([
        "ucpPassword",
        "sshPrivateKey",
        "storageAccessKey",
        "storageSecretKey",
        "backupAccessKey",
        "backupSecretKey",
    ] as const);

    it("derived ids without restore; the backed-up id on the restore host with it", () => {
        assert.deepStrictEqual(configReplicaIds(parseStackConfig(raw(), secrets)), derived);
        const key = "dtr/manifests/lab/20261125T120000Z-dtr.manifest.json";
        const c = parseStackConfig(raw({ manifestKey: key, replicaId: derived[1], host: "host1" }), secrets);
        assert.deepStrictEqual(configReplicaIds(c), [derived[1], derived[0], derived[2]]);
    });
});

describe("rebuild takes the backed-up replica's id from the manifest", () => {
    const KEY = "dtr/manifests/lab/20261125T120000Z-dtr.manifest.json";
    it("returns a valid id and refuses a missing or malformed one, naming the manifest and the value", () => {
        assert.strictEqual(backedUpReplicaId(KEY, { replicaId: "0123456789ab" }), "0123456789ab");
        for (const meta of [undefined, {}, { replicaId: "0123456789AB" }, { replicaId: "$(id)" }]) {
            assert.throws(
                () => backedUpReplicaId(KEY, meta as Record<string, string> | undefined),
                (e: Error) =>
                    e instanceof UsageError &&
                    e.message.includes(`backup ${KEY}: its manifest's replicaId=`) &&
                    e.message.includes("not a DTR replica id (12 lower-case hex)") &&
                    e.message.includes("nothing was written"),
            );
        }
    });

    it("writes the id and the source's first host into the new stack's restore section", () => {
        const hosts = JSON.stringify({ mode: "existing", existing: [{ name: "host2" }, { name: "host1" }] });
        assert.deepStrictEqual(restoreConfig(KEY, "0123456789ab", false, hosts), {
            manifestKey: KEY,
            destroyExisting: false,
            replicaId: "0123456789ab",
            host: "host2",
        });
        assert.deepStrictEqual(restoreConfig(KEY, "0123456789ab", true, JSON.stringify({ mode: "aws" })), {
            manifestKey: KEY,
            destroyExisting: true,
            replicaId: "0123456789ab",
        });
    });
});

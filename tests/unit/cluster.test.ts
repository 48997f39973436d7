import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { Declared, captureDeclarations, settle, valueOf } from "./mocks";
import { DtrCluster, DtrClusterArgs } from "../../components/cluster/dtr-cluster";
import { existingHosts } from "../../components/hosts/existing-hosts";
import { deriveReplicaId } from "../../components/cluster/topology";
import { fakeHost } from "./fake-host";
import { applyStorageSettingsScript } from "../../components/storage/settings";

const PASSWORD = "s3cr3t-ucp-Pa55";
const S3_SECRET = "minio-secret-KEY-123";
const SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA-ssh-private\n-----END OPENSSH PRIVATE KEY-----";
const HOSTKEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHrvC8N7j";

function hosts(n: number, zones?: string[]) {
    return existingHosts(
        Array.from({ length: n }, (_, i) => ({
            name: `host${i + 1}`,
            address: `10.200.0.1${i + 1}`,
            zone: zones ? zones[i] : `zone-${i + 1}`,
            hostKey: HOSTKEY,
        })),
        pulumi.secret(SSH_KEY),
    );
}

function args(n: number, extra: Partial<DtrClusterArgs> = {}): DtrClusterArgs {
    return {
        clusterName: "lab",
        hosts: hosts(n),
        image: { repository: "10.200.0.1:5000/dtr-sim", version: "2.9.16" },
        ucp: { url: "https://ucp.lab", username: "admin", insecureTls: true },
        ucpPassword: pulumi.secret(PASSWORD),
        externalUrl: "https://10.200.0.11",
        overlaySubnet: "172.16.240.0/24",
        storage: {
            s3: {
                region: "us-east-1",
                bucket: "dtr-layers",
                regionEndpoint: "http://10.200.0.1:9000",
                accessKey: "lab",
                secretKey: S3_SECRET,
                secure: false,
            },
        },
        run: { mountEngineSocket: true },
        ...extra,
    };
}

function build(n: number, extra: Partial<DtrClusterArgs> = {}): { cluster: DtrCluster; declared: Declared[] } {
    const declared: Declared[] = [];
    const cluster = new DtrCluster(`c${Math.random().toString(36).slice(2, 8)}`, args(n, extra), {
        transformations: [captureDeclarations(declared)],
    });
    return { cluster, declared };
}

describe("DtrCluster", () => {
    it("refuses 2 and 4 replicas with a clear error", () => {
        assert.throws(() => build(2), /hosts \(replica count\)=2 is not allowed: an even count .*Use 3, 5 or 7 replicas/);
        assert.throws(() => build(4), /hosts \(replica count\)=4 is not allowed/);
    });

    it("refuses local filesystem storage for several replicas and unsafe TLS in production", () => {
        assert.throws(() => build(3, { storage: undefined }), /storage is not set: .*local filesystem/);
        assert.throws(() => build(3, { production: true }), /ucp.insecureTls is true in a production cluster/);
        assert.throws(() => build(3, { hosts: hosts(3, ["a", "a", "b"]) }), /share some \(a: host1, host2\)/);
    });

    it("with 3 replicas declares install, storage, then joins strictly one after another, then the gate", async () => {
        const { cluster, declared } = build(3);
        await settle();
        const cmds = declared.filter((d) => d.type === "command:remote:Command");
        const name = (suffix: string) => cmds.find((c) => c.name.endsWith(suffix));
        const install = name("-install")!;
        const storage = name("-storage")!;
        const join2 = name("-join-host2")!;
        const join3 = name("-join-host3")!;
        const gate = declared.find((c) => c.name.endsWith("-health"))!;
        const version = name("-version")!;
        assert.ok(install && storage && join2 && join3 && gate && version, cmds.map((c) => c.name).join(","));
        assert.strictEqual(cmds.filter((c) => /-(install|join-host\d)$/.test(c.name)).length, 3);
        assert.ok(storage.dependsOn.includes(install.name), "storage after install");
        // An install sends the settings and reads them back (a restore only compares them: restore-cluster.test.ts).
        const sent = await valueOf<string>(storage.props.create);
        assert.strictEqual(sent, applyStorageSettingsScript({ externalUrl: "https://10.200.0.11", httpsPort: undefined }));
        assert.ok(join2.dependsOn.includes(storage.name), "first join after storage");
        assert.ok(join3.dependsOn.includes(join2.name), "second join waits for the first");
        assert.ok(!join3.dependsOn.includes(storage.name) && !join2.dependsOn.includes(join3.name), "no parallel joins");
        assert.ok(version.dependsOn.includes(join3.name), "version step after the last join");
        assert.ok(gate.dependsOn.includes(version.name), "gate after everything");
        // Each joined replica's leave step: after its join, and chained so a destroy removes one replica at a time,
        // the last joined first (DTR removes a replica only while every other one is healthy).
        const leave = (h: string) => declared.find((c) => c.name.endsWith(`-leave-${h}`))!;
        assert.ok(leave("host2").dependsOn.includes(join2.name) && leave("host3").dependsOn.includes(join3.name));
        assert.ok(leave("host3").dependsOn.includes(leave("host2").name), "host3 leaves before host2 on destroy");
        assert.ok(!declared.some((c) => c.name.endsWith("-leave-host1")), "the first replica's delete is its destroy");
        // Overlay checks, one per replica, each after that replica exists.
        for (const [i, r] of [install, join2, join3].entries()) {
            const check = name(`-overlay-host${i + 1}`)!;
            assert.ok(check.dependsOn.includes(r.name), `${check.name} after ${r.name}`);
            // They run beside the version step, but the cluster is not called healthy before each one passed.
            assert.ok(gate.dependsOn.includes(check.name), `the gate waits for ${check.name}`);
        }
        assert.deepStrictEqual(await valueOf(cluster.replicaCount), 3);
        assert.deepStrictEqual(
            await valueOf(cluster.replicaIds),
            ["host1", "host2", "host3"].map((h) => deriveReplicaId("lab", h)),
        );
        assert.deepStrictEqual(await valueOf(cluster.zones), ["zone-1", "zone-2", "zone-3"]);
        assert.strictEqual(await valueOf(cluster.storageKind), "s3");
    });

    it("runs each command on its own host, with the replica ids wired between them", async () => {
        const { declared } = build(3);
        await settle();
        const ids = ["host1", "host2", "host3"].map((h) => deriveReplicaId("lab", h));
        const get = (s: string) => declared.find((d) => d.name.endsWith(s))!;
        const install = await valueOf<string>(get("-install").props.create);
        assert.match(install, new RegExp(` install .*--ucp-node host1 --replica-id ${ids[0]} `, "s"));
        // The join and its remove go through whichever other declared replica is healthy when they run: with host1's
        // replica down, host3's join goes through host2's, and so does its remove.
        const join3 = get("-join-host3").props;
        const env3 = await valueOf<Record<string, string>>(join3.environment);
        assert.strictEqual(env3.DTR_HA_CANDIDATES, `${ids[0]} 10.200.0.11 ${ids[1]} 10.200.0.12`);
        const h = fakeHost();
        h.setPing({ "10.200.0.11": "unreachable" });
        const joined = h.run(await valueOf<string>(join3.create), env3);
        assert.strictEqual(joined.code, 0, joined.stderr);
        const dockerCalls = (r: { calls: string[] }) => r.calls.filter((c) => !c.startsWith("curl ") && !c.startsWith("volume "));
        assert.strictEqual(dockerCalls(joined).length, 1, joined.calls.join(" | "));
        assert.match(dockerCalls(joined)[0], new RegExp(` join .*--ucp-node host3 --existing-replica-id ${ids[1]} --replica-id ${ids[2]}`));
        assert.match(joined.stderr, new RegExp(`replica ${ids[0]} at 10.200.0.11 is not healthy \\(/_ping: unreachable\\)`));
        // The remove (the leave step's script, as a host runs it): through host2's replica, as DTR's status lists host3's.
        const leave3 = await valueOf<Record<string, string>>(get("-leave-host3").props.environment);
        const removeScript = leave3.DTR_HA_REMOVE_SCRIPT;
        const onHost = { ...leave3, DTR_HA_REPLICA_ID: ids[1] };
        h.setStatus({ [ids[0]]: "unreachable", [ids[1]]: "OK", [ids[2]]: "OK" });
        const removed = h.run(removeScript, onHost);
        assert.strictEqual(removed.code, 0, removed.stderr);
        assert.match(dockerCalls(removed)[0], new RegExp(` remove .*--existing-replica-id ${ids[1]} --replica-ids ${ids[2]}$`));
        h.setPing({ "10.200.0.11": "unreachable", "10.200.0.12": "503" });
        const none = h.run(await valueOf<string>(join3.create), env3);
        assert.strictEqual(none.code, 1, "no healthy replica: nothing to join");
        assert.strictEqual(dockerCalls(none).length, 0);
        assert.match(none.stderr, /no declared replica answers \/_ping/);
        // Every other replica gone (a destroyed cluster): no replica set to remove it from, nothing done, not a failure.
        h.setPing({ "10.200.0.11": "unreachable", "10.200.0.12": "unreachable" });
        const gone = h.run(removeScript, onHost);
        assert.strictEqual(gone.code, 0, gone.stderr);
        assert.strictEqual(dockerCalls(gone).length, 0);
        assert.match(gone.stdout, /no other declared replica answers at all: no replica set is left/);
        // One that answers unhealthy (quorum lost) still holds data: refused.
        h.setPing({ "10.200.0.11": "unreachable", "10.200.0.12": "503" });
        const noRemove = h.run(removeScript, onHost);
        assert.strictEqual(noRemove.code, 1, "no healthy replica to remove through: refused, never forced");
        assert.strictEqual(dockerCalls(noRemove).length, 0);
        const pwned = `${h.dir}/pwned`;
        const hostile = h.run(await valueOf<string>(join3.create), { ...env3, DTR_HA_CANDIDATES: `${ids[0]} $(touch ${pwned})` });
        assert.strictEqual(hostile.code, 1);
        assert.match(hostile.stderr, /DTR_HA_CANDIDATES holds characters no replica id or address has/);
        assert.ok(!require("fs").existsSync(pwned) && dockerCalls(hostile).length === 0, "data, never code");
        assert.match(
            await valueOf<string>(get("-install").props.delete),
            new RegExp(` destroy .*--replica-id ${ids[0]} && owner_release$`, "s"),
        );
        assert.strictEqual((await valueOf<any>(get("-join-host3").props.connection)).host, "10.200.0.13");
        assert.strictEqual((await valueOf<any>(get("-install").props.connection)).hostKey, HOSTKEY);
        const gate = (await valueOf<Record<string, string>>(get("-health").props.environment)).DTR_HA_GATE_WAIT;
        for (const [i, id] of ids.entries()) assert.ok(gate.includes(`'${id} 10.200.0.1${i + 1}'`), `gate checks ${id}`);
    });

    it("re-running install or join is impossible: their update is a no-op note, upgrade is separate", async () => {
        const { declared } = build(3);
        await settle();
        const get = (s: string) => declared.find((d) => d.name.endsWith(s))!;
        assert.match(await valueOf<string>(get("-install").props.update), /^echo "dtr-ha: install is not re-run/);
        assert.match(await valueOf<string>(get("-join-host2").props.update), /^echo "dtr-ha: join is not re-run/);
        const version = get("-version").props;
        assert.match(await valueOf<string>(version.update), / upgrade .*--existing-replica-id/s);
        assert.deepStrictEqual(await valueOf(version.triggers), ["10.200.0.1:5000/dtr-sim", "2.9.16"]);
    });

    it("keeps every secret out of command text and passes them as secret environment", async () => {
        const { declared } = build(3);
        await settle();
        const cmds = declared.filter((d) => d.type === "command:remote:Command" || d.type === "command:local:Command");
        assert.ok(cmds.filter((c) => c.type === "command:local:Command").length >= 4, "leave steps, owner check and gate");
        for (const c of cmds) {
            for (const field of ["create", "update", "delete"]) {
                const text = String((await valueOf<string | undefined>(c.props[field])) ?? "");
                for (const secret of [PASSWORD, S3_SECRET, SSH_KEY]) {
                    assert.ok(!text.includes(secret), `${c.name}.${field} contains a secret`);
                }
            }
            if (c.props.environment) {
                // A plain map of inputs, or one Output (steps that merge their values in): then the whole map is secret.
                const raw = c.props.environment;
                const whole = pulumi.Output.isInstance(raw);
                const env = await valueOf<Record<string, string>>(raw);
                const secret = async (k: string) => (whole ? await (raw as any).isSecret : await pulumi.isSecret(raw[k]));
                if (env.UCP_PASSWORD !== undefined) assert.ok(await secret("UCP_PASSWORD"), `${c.name} UCP_PASSWORD not secret`);
                if (env.DTR_STORAGE_SETTINGS !== undefined) {
                    assert.ok(await secret("DTR_STORAGE_SETTINGS"), `${c.name} storage settings not secret`);
                    const settings = JSON.parse(env.DTR_STORAGE_SETTINGS);
                    assert.strictEqual(settings.storage.s3.secretkey, S3_SECRET);
                    assert.strictEqual(settings.storage.s3.regionendpoint, "http://10.200.0.1:9000");
                }
            }
            if (c.type === "command:remote:Command") {
                assert.ok(await pulumi.isSecret((c.props.connection as any).privateKey), `${c.name} SSH key not secret`);
            } else {
                // A local step carries the SSH key in its environment: the whole map is secret then.
                const env = await valueOf<Record<string, string>>(c.props.environment);
                assert.strictEqual(env.DTRHA_SSH_PRIVATE_KEY, SSH_KEY, c.name);
                assert.ok(await (c.props.environment as any).isSecret, `${c.name}: environment with the SSH key not secret`);
            }
        }
    });
});

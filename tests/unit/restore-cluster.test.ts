/**
 * DtrCluster in restore mode under the Pulumi mocks: the declared graph (verify → clear → restore → joins → health →
 * restore-check) and, for the steps that decide, their declared `create` run in dash with their declared `environment`
 * against a scripted docker, so the tests hold whichever way the component wires values (inline or as environment).
 */
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { Declared, captureDeclarations, settle, valueOf } from "./mocks";
import { DtrCluster, DtrClusterArgs, RestoreBootstrap } from "../../components/cluster/dtr-cluster";
import { existingHosts } from "../../components/hosts/existing-hosts";
import { deriveReplicaId } from "../../components/cluster/topology";
import { FakeHost, catalogEntry, verdict } from "./restore-fakes";
import { applyStorageSettingsScript, restoredStorageSettingsScript } from "../../components/storage/settings";

const PASSWORD = "s3cr3t-ucp-Pa55";
const IDENTITY = "AGE-SECRET-KEY-1IDENTITYZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ";
const S3_SECRET = "backup-secret-KEY-9";
const HOSTKEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHrvC8N7j";
const KEY = "dtr/manifests/lab/20261125T120000Z-dtr.manifest.json";
const CMD = "command:remote:Command";
/** The replica the backup was taken from (catalogEntry's default manifest records it). */
const BACKED_UP = "aaaaaaaaaaa1";

function args(restore: Partial<RestoreBootstrap>): DtrClusterArgs {
    return {
        clusterName: "lab",
        hosts: existingHosts(
            [1, 2, 3].map((i) => ({ name: `host${i}`, address: `10.200.0.1${i}`, zone: `zone-${i}`, hostKey: HOSTKEY })),
            pulumi.secret("ssh-private"),
        ),
        image: { repository: "10.200.0.1:5000/dtr-sim", version: "2.9.16" },
        ucp: { url: "https://ucp.lab", username: "admin", insecureTls: true },
        ucpPassword: pulumi.secret(PASSWORD),
        externalUrl: "https://10.200.0.11",
        overlaySubnet: "172.16.240.0/24",
        storage: {
            s3: { region: "us-east-1", bucket: "dtr-layers", regionEndpoint: "http://10.200.0.1:9000", accessKey: "lab", secretKey: "x" },
        },
        run: { mountEngineSocket: true },
        bootstrap: {
            mode: "restore",
            agentImage: "10.200.0.1:5000/dtr-ha-backup:0.1.0",
            bucket: pulumi.output("dtr-backups"),
            manifestKey: KEY,
            replicaId: BACKED_UP,
            s3: {
                region: "us-east-1",
                endpoint: "http://10.200.0.1:9000",
                accessKey: pulumi.secret("AK"),
                secretKey: pulumi.secret(S3_SECRET),
            },
            ...restore,
        },
    };
}

async function build(restore: Partial<RestoreBootstrap> = {}, over: Partial<DtrClusterArgs> = {}) {
    const declared: Declared[] = [];
    const name = `r${Math.random().toString(36).slice(2, 8)}`;
    const cluster = new DtrCluster(name, { ...args(restore), ...over }, { transformations: [captureDeclarations(declared)] });
    await settle();
    // Steps on one host (remote) and the ones run from this machine over SSH (local: owner check, leave steps, gate).
    const cmds = declared.filter((d) => d.type === CMD || d.type === "command:local:Command");
    const get = (suffix: string) => {
        const found = cmds.filter((c) => c.name === `${name}${suffix}`);
        assert.strictEqual(found.length, 1, `${name}${suffix} in ${cmds.map((c) => c.name).join(",")}`);
        return found[0];
    };
    /** `from` waits for `to`, directly or through other resources. */
    const reaches = (from: Declared, to: Declared): boolean => {
        const seen = new Set<string>();
        const walk = (n: string): boolean => {
            if (n === to.name) return true;
            if (seen.has(n)) return false;
            seen.add(n);
            return (declared.find((d) => d.name === n)?.dependsOn ?? []).some(walk);
        };
        return from.dependsOn.some(walk);
    };
    return { name, cmds, get, reaches, cluster };
}

/** The declared create and environment, resolved, run in dash on a scripted host. */
async function runDeclared(h: FakeHost, d: Declared, extraEnv: Record<string, string> = {}) {
    const script = await valueOf<string>(d.props.create);
    const env =
        (await valueOf<Record<string, string>>(pulumi.output(d.props.environment ?? {}) as pulumi.Output<Record<string, string>>)) ?? {};
    return h.run(script, { ...env, ...extraEnv });
}

describe("DtrCluster in restore mode (mocked)", function () {
    this.timeout(30_000);
    const hosts: FakeHost[] = [];
    afterEach(() => hosts.splice(0).forEach((h) => h.cleanup()));
    const fake = (answers: ConstructorParameters<typeof FakeHost>[0] = {}) => {
        const h = new FakeHost(answers);
        hosts.push(h);
        return h;
    };

    it("declares verify, then every clear, then the restore, the joins, the gate and the restore check, in that order", async () => {
        const { name, cmds, get, reaches } = await build();
        const verify = get("-restore-verify");
        const clears = ["host1", "host2", "host3"].map((h) => get(`-restore-clear-${h}`));
        const restore = get("-restore");
        const [join2, join3] = [get("-join-host2"), get("-join-host3")];
        const [version, health, check] = [get("-version"), get("-health"), get("-restore-check")];
        assert.ok(!cmds.some((c) => c.name === `${name}-install`), "restore mode declares no install");
        for (const c of clears) {
            assert.ok(c.dependsOn.includes(verify.name), `${c.name} must depend on ${verify.name}: ${c.dependsOn.join(",")}`);
            assert.ok(reaches(restore, c), `the restore waits for ${c.name}`);
        }
        assert.ok(!reaches(verify, restore) && !clears.some((c) => reaches(verify, c)), "verify comes first");
        assert.ok(reaches(join2, restore) && reaches(join3, join2), "joins after the restore, one at a time");
        assert.ok(reaches(version, join3) && reaches(health, version) && reaches(check, health), "gate and check last");
        // The verify runs while DTR's image is pulled; every destructive step still waits for both.
        const pulls = ["host1", "host2", "host3"].map((h) => get(`-pull-${h}`));
        assert.ok(!reaches(verify, pulls[0]), "the verify does not wait for the pull");
        for (const [i, c] of clears.entries())
            assert.ok(reaches(c, pulls[i]) && reaches(c, verify), `${c.name} after its pull and the verify`);
        assert.ok(reaches(restore, pulls[0]), "the restore after host1's pull");
        for (let i = 1; i <= 3; i++) assert.ok(reaches(health, get(`-overlay-host${i}`)), `the gate after overlay-host${i}`);
    });

    it("keeps the age identity in the secret environment of verify and restore only, never in command text", async () => {
        const { cmds, get } = await build({ ageIdentity: pulumi.secret(IDENTITY) });
        for (const c of cmds) {
            for (const field of ["create", "update", "delete"]) {
                const text = String((await valueOf<string | undefined>(c.props[field])) ?? "");
                for (const secret of [IDENTITY, PASSWORD, S3_SECRET])
                    assert.ok(!text.includes(secret), `${c.name}.${field} holds a secret`);
            }
        }
        for (const n of ["-restore-verify", "-restore"]) {
            const env = get(n).props.environment;
            assert.ok(env.DTR_HA_AGE_IDENTITY !== undefined, `${n} gets DTR_HA_AGE_IDENTITY`);
            assert.ok(await pulumi.isSecret(env.DTR_HA_AGE_IDENTITY), `${n}: the identity is a secret`);
            assert.strictEqual(await valueOf(env.DTR_HA_AGE_IDENTITY), IDENTITY);
        }
        for (const c of cmds.filter((c) => !/-restore(-verify)?$/.test(c.name))) {
            const env = (await valueOf<Record<string, string>>(pulumi.output(c.props.environment ?? {}) as any)) ?? {};
            assert.ok(!Object.values(env).includes(IDENTITY), `${c.name} does not need the identity`);
        }
    });

    it("its verify step decrypts an encrypted backup with the identity, and refuses it without, naming dtr-ha:ageIdentity", async () => {
        const answers = { list: { out: `${catalogEntry({ manifestKey: KEY, encrypted: true })}\n` }, verify: { out: verdict(true, true) } };
        const withId = await build({ ageIdentity: pulumi.secret(IDENTITY) });
        const h1 = fake(answers);
        const r1 = await runDeclared(h1, withId.get("-restore-verify"));
        assert.strictEqual(r1.code, 0, r1.stderr);
        const v = h1.calls().find((c) => c.sub === "verify")!;
        assert.ok(v.identity && v.argv.includes("--identity-env"), "verify decrypts");
        const without = await build();
        const h2 = fake({ ...answers, verify: { out: verdict(true, false) } });
        const r2 = await runDeclared(h2, without.get("-restore-verify"));
        assert.strictEqual(r2.code, 1);
        assert.match(r2.stderr, /dtr-ha:ageIdentity/);
        assert.deepStrictEqual(h2.subs(), ["list"]);
    });

    it("its verify step refuses a backup of another DTR version", async () => {
        const { get } = await build();
        const h = fake({
            list: { out: `${catalogEntry({ manifestKey: KEY, dtrVersion: "2.9.15" })}\n` },
            verify: { out: verdict(true, true) },
        });
        const r = await runDeclared(h, get("-restore-verify"));
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /the backup is of DTR 2\.9\.15, the configured image is 2\.9\.16/);
    });

    it("its verify and restore steps refuse a backup taken with another storage, before any clear or restore", async () => {
        const { get } = await build();
        const other = {
            storageDriver: "s3",
            storageBucket: "old-layers",
            storageRegion: "us-east-1",
            storageRootDirectory: "",
            storageRegionEndpoint: "http://10.200.0.1:9000",
        };
        for (const step of ["-restore-verify", "-restore"]) {
            const h = fake({ list: { out: `${catalogEntry({ manifestKey: KEY, meta: other })}\n` }, verify: { out: verdict(true, true) } });
            const r = await runDeclared(h, get(step));
            assert.strictEqual(r.code, 1, `${step}: ${r.stderr}`);
            assert.ok(r.stderr.includes('Set storage.s3.bucket: "dtr-layers" -> "old-layers" in dtr-ha:storage'), r.stderr);
            assert.match(r.stderr, /storage-backend-migration\.md/);
            assert.deepStrictEqual(h.subs(), ["list"], `${step}: nothing verified, destroyed or restored`);
        }
        const same = fake({
            list: { out: `${catalogEntry({ manifestKey: KEY, meta: { ...other, storageBucket: "dtr-layers" } })}\n` },
            verify: { out: verdict(true, true) },
        });
        const ok = await runDeclared(same, get("-restore-verify"));
        assert.strictEqual(ok.code, 0, ok.stderr);
        assert.match(ok.stderr, /the backup's storage matches the configuration/);
    });

    it("takes the configured storage out of the secret settings: the verify step's script stays plain, no S3 key in its environment", async () => {
        // As the stack program gives it: the settings (with the S3 keys) as one secret.
        const s3 = {
            region: "us-east-1",
            bucket: "dtr-layers",
            regionEndpoint: "http://10.200.0.1:9000",
            accessKey: "AK-9",
            secretKey: "SK-9",
        };
        const { get } = await build({}, { storage: { s3: pulumi.secret(s3) } });
        const verify = get("-restore-verify");
        const env = (await valueOf<Record<string, string>>(
            pulumi.output(verify.props.environment) as pulumi.Output<Record<string, string>>,
        ))!;
        assert.strictEqual(env.DTR_HA_STORAGE_BUCKET, "dtr-layers");
        assert.strictEqual(env.DTR_HA_STORAGE_REGIONENDPOINT, "http://10.200.0.1:9000");
        assert.ok(!JSON.stringify(env).includes("AK-9") && !JSON.stringify(env).includes("SK-9"), "no S3 key of the layer storage");
        assert.strictEqual(await pulumi.isSecret(pulumi.output(verify.props.create)), false);
    });

    it("passes destroyExisting through to the clear steps (default: refuse)", async () => {
        const replicas = ["dtr-rethinkdb-0123456789ab", "dtr-api-0123456789ab"];
        for (const [destroyExisting, expectCode] of [
            [undefined, 1],
            [false, 1],
            [true, 0],
        ] as const) {
            const { get } = await build(destroyExisting === undefined ? {} : { destroyExisting });
            for (const host of ["host1", "host3"]) {
                const h = fake().containers(replicas);
                const r = await runDeclared(h, get(`-restore-clear-${host}`), { UCP_PASSWORD: "x" });
                assert.strictEqual(r.code, expectCode, `destroyExisting=${destroyExisting} on ${host}: ${r.stderr}`);
                const destroyed = h.subs().filter((s) => s === "destroy").length;
                assert.strictEqual(destroyed, destroyExisting ? 1 : 0, `destroyExisting=${destroyExisting}: ${h.subs().join(",")}`);
            }
        }
    });

    it("its restore step restores with the backed-up replica's id, and verifies by itself first", async () => {
        const { get } = await build();
        const id = BACKED_UP;
        const ok = fake({
            list: { out: `${catalogEntry({ manifestKey: KEY })}\n` },
            verify: { out: verdict(true, true) },
            download: { out: "TAR" },
        });
        const r = await runDeclared(ok, get("-restore"));
        assert.strictEqual(r.code, 0, r.stderr);
        assert.deepStrictEqual(ok.subs(), ["list", "verify", "ps", "download", "restore"]);
        const restore = ok.calls().find((c) => c.sub === "restore")!;
        assert.strictEqual(restore.argv[restore.argv.indexOf("--replica-id") + 1], id);
        const bad = fake({ list: { out: `${catalogEntry({ manifestKey: KEY })}\n` }, verify: { out: verdict(false, true), rc: 1 } });
        const r2 = await runDeclared(bad, get("-restore"));
        assert.strictEqual(r2.code, 1);
        assert.deepStrictEqual(bad.subs(), ["list", "verify"]);
    });
    it("gives the restore host the backed-up replica's id everywhere: outputs, ownership records, joins, gate", async () => {
        const { get, cluster } = await build();
        const ids = [BACKED_UP, deriveReplicaId("lab", "host2"), deriveReplicaId("lab", "host3")];
        assert.deepStrictEqual(await valueOf(cluster.replicaIds), ids);
        assert.deepStrictEqual(cluster.ids, ids);
        const envOf = async (n: string) =>
            (await valueOf<Record<string, string>>(
                pulumi.output(get(n).props.environment ?? {}) as pulumi.Output<Record<string, string>>,
            )) ?? {};
        assert.strictEqual((await envOf("-restore-verify")).DTR_HA_REPLICA_ID, BACKED_UP);
        assert.strictEqual((await envOf("-restore")).DTR_HA_REPLICA_ID, BACKED_UP);
        for (const [i, h] of ["host1", "host2", "host3"].entries()) {
            assert.strictEqual((await envOf(`-restore-owner-${h}`)).DTR_HA_REPLICA_ID, ids[i], `take-over record on ${h}`);
            assert.strictEqual((await envOf(`-owner-${h}`)).DTR_HA_REPLICA_ID, ids[i], `ownership record on ${h}`);
        }
        // Joins go through the declared replicas, the restored one among them, by its backed-up id.
        const join = await envOf("-join-host2");
        assert.strictEqual(join.DTR_HA_MEMBER_ID, ids[1]);
        assert.ok(join.DTR_HA_CANDIDATES.split(" ").includes(BACKED_UP), join.DTR_HA_CANDIDATES);
        assert.ok(!join.DTR_HA_CANDIDATES.includes(deriveReplicaId("lab", "host1")), "no derived id for the restore host");
        const gate = await envOf("-health");
        assert.ok(gate.DTR_HA_GATE_WAIT.includes(BACKED_UP), "the gate waits for the restored replica by its id");
    });

    it("a host whose own id is the backed-up one takes the restore host's id; the restore host can be named", async () => {
        const host2 = deriveReplicaId("lab", "host2");
        const { cluster } = await build({ replicaId: host2 });
        assert.deepStrictEqual(cluster.ids, [host2, deriveReplicaId("lab", "host1"), deriveReplicaId("lab", "host3")]);
        // After recover moved host2 to the front, the restored id stays with the host the restore ran on.
        const moved = await build({ replicaId: BACKED_UP, restoredOn: "host3" });
        assert.deepStrictEqual(moved.cluster.ids, [deriveReplicaId("lab", "host1"), deriveReplicaId("lab", "host2"), BACKED_UP]);
    });

    it("refuses a backed-up replica id that is not 12 hex before declaring anything, naming the value and the fix", async () => {
        for (const bad of ["", "AAAAAAAAAAA1", "aaaaaaaaaaa", "aaaaaaaaaaa1 x"]) {
            assert.throws(
                () => new DtrCluster(`bad${Math.random().toString(36).slice(2, 6)}`, args({ replicaId: bad })),
                (e: Error) =>
                    e.message.includes(`bootstrap.replicaId=${JSON.stringify(bad)}`) &&
                    /12 lower-case hex/.test(e.message) &&
                    /npm run rebuild sets it/.test(e.message),
            );
        }
    });
    it("after the restore, the storage step (before the joins) only compares the restored settings, never sends them", async () => {
        const { get, reaches } = await build();
        const storage = get("-storage");
        const target = { externalUrl: "https://10.200.0.11", httpsPort: undefined };
        assert.strictEqual(await valueOf<string>(storage.props.create), restoredStorageSettingsScript(target));
        assert.notStrictEqual(restoredStorageSettingsScript(target), applyStorageSettingsScript(target));
        assert.ok(reaches(storage, get("-restore")) && reaches(get("-join-host2"), storage), "after the restore, before the joins");
    });
});

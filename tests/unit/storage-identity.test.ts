/**
 * The backup's storage against the configured one, checked before anything changes (issue #10): the pure comparison,
 * rebuild's plan (before any stack exists), the restore steps run in dash against a scripted docker (before the
 * clear/destroy step and the restore), and the backup script that records DTR's own storage settings in the manifest.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";
import { ConfigMap } from "@pulumi/pulumi/automation";
import * as backup from "../../components/backup/scripts";
import {
    MIGRATION_DOC,
    StorageIdentity,
    backupStorageIdentity,
    configuredStorageIdentity,
    storageDifferences,
    storageMismatchMessage,
    storagePreflight,
} from "../../components/storage/identity";
import { S3Settings, dtrStorageSettings } from "../../components/storage/settings";
import { UsageError, configuredStorageOf, rebuildPlan } from "../../stacks/rebuild";
import { FakeHost, catalogEntry, verdict } from "./restore-fakes";

const KEY = "dtr/manifests/lab/20261125T120000Z-dtr.manifest.json";
const ID = "aaaaaaaaaaa1";
const AGENT = "reg/dtr-ha-backup:0.1.0";
const BUCKET = "dtr-backups";
const image = { repository: "reg/dtr", version: "2.9.16" };
const ucp = { url: "https://ucp.example.com", username: "admin", insecureTls: true };
const LAYERS: S3Settings = {
    region: "us-east-1",
    bucket: "dtr-layers",
    regionEndpoint: "http://10.200.0.1:9000",
    accessKey: "AK",
    secretKey: "SK",
};
const CONFIGURED = configuredStorageIdentity(LAYERS);
/** The manifest's meta for a backup whose registry used `i`. */
const metaOf = (i: StorageIdentity): Record<string, string> => ({
    storageDriver: i.driver,
    storageBucket: i.bucket,
    storageRegion: i.region,
    storageRootDirectory: i.rootdirectory,
    storageRegionEndpoint: i.regionendpoint,
});
const OTHER = { ...CONFIGURED, bucket: "old-layers" };

describe("the backup's storage identity: the pure comparison", () => {
    it("the configured identity is exactly what the post-restore read-back takes from the settings sent (storage_fields)", () => {
        const lib = fs.readFileSync(path.join(__dirname, "../../../components/storage/sh/storage-settings.sh"), "utf8");
        for (const s of [LAYERS, { region: "eu-west-1", bucket: "b-1" }, { ...LAYERS, rootDirectory: "/dtr/prod" }] as S3Settings[]) {
            const r = spawnSync("dash", ["-c", `${lib}\nstorage_fields storage ''`], { input: JSON.stringify(dtrStorageSettings(s)) });
            const read = Object.fromEntries(
                r.stdout
                    .toString()
                    .trim()
                    .split("\n")
                    .map((l) => [l.split("\t")[0], l.split("\t")[1] ?? ""]),
            );
            assert.deepStrictEqual(read, configuredStorageIdentity(s), JSON.stringify(s));
        }
    });

    it("reads a manifest's record: none (an older backup) is null, all five an identity, a part of them an error", () => {
        assert.strictEqual(backupStorageIdentity(KEY, { dtrVersion: "2.9.16", replicaId: ID }), null);
        assert.strictEqual(backupStorageIdentity(KEY, undefined), null);
        assert.deepStrictEqual(backupStorageIdentity(KEY, { replicaId: ID, ...metaOf(OTHER) }), OTHER);
        const partial = metaOf(OTHER);
        delete partial.storageBucket;
        assert.throws(() => backupStorageIdentity(KEY, partial), /storage record is not usable \(.*storageBucket missing/);
    });

    it("names every field that differs, and nothing when they are the same", () => {
        assert.deepStrictEqual(storageDifferences(CONFIGURED, CONFIGURED), []);
        assert.deepStrictEqual(storageDifferences({ ...CONFIGURED, region: "x", rootdirectory: "/p" }, CONFIGURED), [
            "region",
            "rootdirectory",
        ]);
        assert.deepStrictEqual(storageDifferences({ ...CONFIGURED, driver: "filesystem" }, CONFIGURED), ["driver"]);
    });

    it("refuses another backend, naming both values, the key to change and the migration guide", () => {
        const r = storagePreflight(KEY, metaOf(OTHER), CONFIGURED);
        assert.ok(r.refused, "refused");
        assert.strictEqual(r.refused, storageMismatchMessage(KEY, OTHER, CONFIGURED));
        assert.ok(r.refused!.includes('was taken with storage s3 bucket="old-layers"'), r.refused);
        assert.ok(r.refused!.includes('the configuration says s3 bucket="dtr-layers"'), r.refused);
        assert.ok(r.refused!.includes('storage.s3.bucket: "dtr-layers" -> "old-layers"'), r.refused);
        assert.ok(r.refused!.includes(MIGRATION_DOC) && MIGRATION_DOC.startsWith("storage-backend-migration.md"), r.refused);
    });

    it("passes the same backend, says when an older backup skips the early check, and checks nothing without storage", () => {
        assert.deepStrictEqual(storagePreflight(KEY, metaOf(CONFIGURED), CONFIGURED).refused, undefined);
        const old = storagePreflight(KEY, { replicaId: ID }, CONFIGURED);
        assert.strictEqual(old.refused, undefined);
        assert.match(
            old.note,
            /does not record the backup's storage .*the early storage check was skipped; the storage step compares .* after replica 1 is restored/,
        );
        assert.match(storagePreflight(KEY, metaOf(OTHER), undefined).note, /no storage configured/);
    });
});

describe("rebuild: the backup's storage is checked against the configuration before any stack is created", () => {
    const config = (storage: unknown): ConfigMap => ({
        "dtr-ha:storage": { value: JSON.stringify(storage) },
        "dtr-ha:backup": { value: "{}" },
    });
    const s3 = { mode: "s3", s3: { region: "us-east-1", bucket: "dtr-layers", regionEndpoint: "http://10.200.0.1:9000" } };

    it("reads the configured storage from dtr-ha:storage as the new stack will send it", () => {
        assert.deepStrictEqual(configuredStorageOf(config(s3)), CONFIGURED);
        assert.strictEqual(configuredStorageOf(config({ mode: "aws", aws: {} })), "aws");
        assert.strictEqual(configuredStorageOf({}), undefined);
    });

    it("refuses a backup taken with another bucket, as a usage error naming both values, the key and the guide", () => {
        assert.throws(
            () => rebuildPlan(KEY, { replicaId: ID, ...metaOf(OTHER) }, config(s3)),
            (e: Error) =>
                e instanceof UsageError &&
                e.message.includes('storage.s3.bucket: "dtr-layers" -> "old-layers"') &&
                e.message.includes('bucket="old-layers"') &&
                e.message.includes("storage-backend-migration.md") &&
                e.message.endsWith("nothing was written"),
        );
    });

    it("refuses storage.mode aws when the backup records its bucket: the new stack's layer bucket would be new and empty", () => {
        assert.throws(
            () => rebuildPlan(KEY, { replicaId: ID, ...metaOf(CONFIGURED) }, config({ mode: "aws", aws: {} })),
            (e: Error) =>
                e instanceof UsageError &&
                /storage\.mode is aws: the new stack would create a new, empty layer bucket/.test(e.message) &&
                e.message.includes('storage.s3.bucket "dtr-layers"') &&
                e.message.includes("storage-backend-migration.md"),
        );
    });

    it("passes the same storage, and an older backup with a note; the backed-up replica's id comes with it", () => {
        assert.deepStrictEqual(rebuildPlan(KEY, { replicaId: ID, ...metaOf(CONFIGURED) }, config(s3)), {
            replicaId: ID,
            storageNote: `the backup's storage matches the configuration (s3 bucket="dtr-layers" region="us-east-1" rootdirectory="" regionendpoint="http://10.200.0.1:9000")`,
        });
        assert.match(rebuildPlan(KEY, { replicaId: ID }, config(s3)).storageNote, /early storage check was skipped/);
        assert.match(rebuildPlan(KEY, { replicaId: ID }, config({ mode: "aws", aws: {} })).storageNote, /early storage check was skipped/);
        assert.throws(() => rebuildPlan(KEY, { ...metaOf(CONFIGURED) }, config(s3)), /replicaId=null is not a DTR replica id/);
    });
});

describe("the restore steps refuse another storage before the clear and the restore, run in dash", function () {
    this.timeout(20_000);
    const hosts: FakeHost[] = [];
    afterEach(() => hosts.splice(0).forEach((h) => h.cleanup()));
    /** A bucket whose one backup records `meta` (as the agent's list prints it, with the fields that follow the manifest). */
    const host = (meta: Record<string, string>) => {
        const entry = JSON.parse(catalogEntry({ manifestKey: KEY, meta }));
        const line = JSON.stringify({
            ...entry,
            storedAt: "2026-11-25T12:00:01.000Z",
            objectStoredAt: "2026-11-25T12:00:00.500Z",
            objectLock: { mode: "GOVERNANCE", retainUntil: "2026-12-25T12:00:00.000Z" },
        });
        const h = new FakeHost({ list: { out: `${line}\n` }, verify: { out: `${verdict(true, true)}\n` }, download: { out: "TAR" } });
        hosts.push(h);
        return h;
    };
    const verifyStep = (storage?: StorageIdentity) =>
        backup.restoreVerifyStep({
            agentImage: AGENT,
            bucket: BUCKET,
            manifestKey: KEY,
            expectedDtrVersion: "2.9.16",
            replicaId: ID,
            storage,
        });
    const restoreStep = (storage?: StorageIdentity) =>
        backup.dtrRestoreStep({
            restore: { image, ucp, replicaId: ID, ucpNode: "n1", externalUrl: "https://dtr.example.com" },
            agentImage: AGENT,
            bucket: BUCKET,
            manifestKey: KEY,
            storage,
        });

    it("verify refuses a backup taken with another storage before reading it, naming both values, the key and the guide", async () => {
        const h = host(metaOf({ ...OTHER, rootdirectory: "/prod" }));
        const s = verifyStep(CONFIGURED);
        const r = await h.run(s.script, s.env);
        assert.strictEqual(r.code, 1, r.stderr);
        assert.ok(r.stderr.includes(`dtr-ha restore REFUSED: the backup ${KEY} was taken with storage s3 bucket="old-layers"`), r.stderr);
        assert.ok(r.stderr.includes('the configuration says s3 bucket="dtr-layers"'), r.stderr);
        assert.ok(r.stderr.includes("(they differ in bucket rootdirectory)"), r.stderr);
        assert.ok(
            r.stderr.includes(
                'Set storage.s3.bucket: "dtr-layers" -> "old-layers", storage.s3.rootDirectory: "" -> "/prod" in dtr-ha:storage',
            ),
            r.stderr,
        );
        assert.ok(r.stderr.includes("storage-backend-migration.md") && r.stderr.includes("nothing was changed"), r.stderr);
        assert.deepStrictEqual(h.subs(), ["list"], "refused before the agent's verify");
    });

    it("the restore step refuses it too: nothing destroyed, downloaded or restored", async () => {
        const h = host(metaOf(OTHER));
        h.containers([`dtr-rethinkdb-${ID}`]);
        const s = restoreStep(CONFIGURED);
        const r = await h.run(s.script, s.env);
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /REFUSED: the backup .* was taken with storage s3 bucket="old-layers"/);
        assert.deepStrictEqual(h.subs(), ["list"]);
    });

    it("the same storage passes to the agent's verify and the restore", async () => {
        const h = host(metaOf(CONFIGURED));
        const v = verifyStep(CONFIGURED);
        const ok = await h.run(v.script, v.env);
        assert.strictEqual(ok.code, 0, ok.stderr);
        assert.match(
            ok.stderr,
            /the backup's storage matches the configuration \(s3 bucket="dtr-layers" .*regionendpoint="http:\/\/10\.200\.0\.1:9000"\)/,
        );
        assert.deepStrictEqual(h.subs(), ["list", "verify"]);
        const s = restoreStep(CONFIGURED);
        const r = await h.run(s.script, s.env);
        assert.strictEqual(r.code, 0, r.stderr);
        assert.ok(h.subs().includes("restore"));
    });

    it("an older backup (no storage recorded) passes, saying the early check was skipped; without storage nothing is compared", async () => {
        const h = host({});
        const s = verifyStep(CONFIGURED);
        const r = await h.run(s.script, s.env);
        assert.strictEqual(r.code, 0, r.stderr);
        assert.match(
            r.stderr,
            /does not record the backup's storage .*the early storage check was skipped; the storage step compares DTR's restored settings .* before anything is sent/,
        );
        const none = verifyStep(undefined);
        assert.deepStrictEqual(
            Object.keys(none.env).filter((k) => k.startsWith("DTR_HA_STORAGE")),
            [],
        );
        const r2 = await host(metaOf(OTHER)).run(none.script, none.env);
        assert.strictEqual(r2.code, 0, r2.stderr);
        assert.doesNotMatch(r2.stderr, /storage/);
    });

    it("the configured values travel as data, whatever their characters: the script text never depends on them", async () => {
        assert.deepStrictEqual(backup.storageEnv(CONFIGURED), {
            DTR_HA_STORAGE_DRIVER: "s3",
            DTR_HA_STORAGE_BUCKET: "dtr-layers",
            DTR_HA_STORAGE_REGION: "us-east-1",
            DTR_HA_STORAGE_ROOTDIRECTORY: "",
            DTR_HA_STORAGE_REGIONENDPOINT: "http://10.200.0.1:9000",
        });
        const odd = { ...CONFIGURED, rootdirectory: '/a b"$(touch pwned)' };
        assert.strictEqual(verifyStep(CONFIGURED).script, verifyStep(odd).script);
        const h = host(metaOf(CONFIGURED));
        const s = verifyStep(odd);
        const r = await h.run(s.script, s.env);
        assert.strictEqual(r.code, 1);
        assert.ok(r.stderr.includes(`storage.s3.rootDirectory: "/a b"$(touch pwned)" -> ""`), r.stderr);
        assert.ok(!fs.existsSync(path.join(h.dir, "pwned")), "no value ran as code");
    });
});

describe("the backup records DTR's own storage settings in the manifest, run in dash", function () {
    this.timeout(20_000);
    const hosts: FakeHost[] = [];
    afterEach(() => hosts.splice(0).forEach((h) => h.cleanup()));
    const target = { agentImage: AGENT, bucket: BUCKET, prefix: "dtr", recipients: [] };
    const script = backup.dtrBackupScript({
        image,
        ucp,
        candidates: [{ id: ID, address: "10.0.0.1" }],
        cluster: "lab",
        target,
        httpsPort: 8443,
    });
    const manifestOut = JSON.parse(catalogEntry({ manifestKey: KEY })).manifest;
    const backupHost = (settings?: unknown) => {
        const h = new FakeHost({
            keys: { out: `{"objectKey":"dtr/objects/lab/x.tar.gz","manifestKey":"${KEY}"}\n` },
            backup: { out: "TAR-BYTES" },
            upload: { out: `${JSON.stringify(manifestOut)}\n` },
            "put-manifest": { out: `${KEY}\n` },
        });
        if (settings !== undefined)
            fs.writeFileSync(path.join(h.dir, "curl.body"), typeof settings === "string" ? settings : JSON.stringify(settings));
        hosts.push(h);
        return h;
    };
    const metaArgs = (h: FakeHost) => {
        const a = h.calls().find((c) => c.sub === "upload")!.argv;
        return a.flatMap((x, i) => (x === "--meta" ? [a[i + 1]] : []));
    };
    const env = { UCP_PASSWORD: "pw", UCP_USERNAME: "admin" };
    // What DTR answers (stored keys masked), in the shape the storage step writes.
    const dtrSays = {
        storage: {
            delete: { enabled: true },
            s3: {
                bucket: "dtr-layers",
                region: "us-east-1",
                regionendpoint: "http://10.200.0.1:9000",
                rootdirectory: "",
                secretkey: "********",
            },
        },
    };

    it("reads DTR's settings on this host's replica and passes driver, bucket, region, root and endpoint as meta", async () => {
        const h = backupHost(dtrSays);
        const r = await h.run(script, env);
        assert.strictEqual(r.code, 0, r.stderr);
        const meta = metaArgs(h);
        for (const m of [
            "storageDriver=s3",
            "storageBucket=dtr-layers",
            "storageRegion=us-east-1",
            "storageRootDirectory=",
            "storageRegionEndpoint=http://10.200.0.1:9000",
        ])
            assert.ok(meta.includes(m), `${m} in ${meta.join(" ")}`);
        const urls = fs.readFileSync(path.join(h.dir, "curl.urls"), "utf8");
        assert.ok(urls.includes("https://127.0.0.1:8443/api/v0/admin/settings/registry/simple"), urls);
        assert.ok(!(r.stdout + r.stderr).includes("********") && !(r.stdout + r.stderr).includes("pw"), "no secret shown");
        // What the agent then writes passes its own validation, and the restore side reads it back as the configured one.
        const recorded = Object.fromEntries(meta.map((m) => [m.slice(0, m.indexOf("=")), m.slice(m.indexOf("=") + 1)]));
        assert.deepStrictEqual(backupStorageIdentity(KEY, recorded), CONFIGURED);
    });

    it("takes the backup without a storage record when DTR's settings cannot be read, or hold what the manifest does not keep", async () => {
        const cases: [unknown, RegExp][] = [
            ["not json", /DTR's storage settings were not read \(DTR's answer is not JSON\)/],
            [
                { storage: { s3: { ...dtrSays.storage.s3, rootdirectory: 'a"b' } } },
                /not read \(a value with characters the manifest does not keep\)/,
            ],
            [{}, /not read \(no storage driver in the answer\)/],
        ];
        for (const [body, why] of cases) {
            const h = backupHost(body);
            const r = await h.run(script, env);
            assert.strictEqual(r.code, 0, r.stderr);
            assert.match(r.stderr, why);
            assert.match(r.stderr, /the manifest will not record the backup's storage/);
            assert.deepStrictEqual(
                metaArgs(h).filter((m) => m.startsWith("storage")),
                [],
                String(body),
            );
            assert.ok(h.subs().includes("put-manifest"), "the backup itself is taken");
        }
        const down = backupHost(dtrSays);
        fs.writeFileSync(path.join(down.dir, "curl.code"), "200");
        const r = await down.run(script, { UCP_USERNAME: "admin" });
        assert.match(r.stderr, /not read \(no UCP credentials in the environment\)/);
    });
});

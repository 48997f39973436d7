// Against a real MinIO (object lock + versioning): the CLI round trip, encryption, refusals, corruption,
// retention, put-manifest checks, the catalog order, and peak memory of a 200 MiB upload.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import {
    DeleteObjectCommand,
    GetObjectCommand,
    GetObjectRetentionCommand,
    ListMultipartUploadsCommand,
    ListObjectVersionsCommand,
    PutObjectCommand,
    S3Client,
} from "@aws-sdk/client-s3";
import { generateX25519Identity, identityToRecipient } from "age-encryption";
import { listManifests, putManifest, readCatalog } from "../src/catalog";
import { backupKeys, KeyInput } from "../src/keys";
import { Manifest } from "../src/manifest";
import { readBackup, verifyBackup } from "../src/read";
import { uploadBackup, UploadOptions } from "../src/upload";
import { agent, MAIN, runNode } from "./cli";
import { Minio } from "./minio";
import { synthTar, tarOf } from "./synth-tar";

const BUCKET = "dtr-backups";
const tar = tarOf([
    { name: "dtr-backup/manifest.json", data: JSON.stringify({ dtrVersion: "2.7.8", replicaId: "0123456789ab" }) },
    { name: "dtr-backup/metadata/repositories.json", data: JSON.stringify([{ ns: "team", name: "app" }]) },
    { name: "dtr-backup/metadata/certs.json", data: "x".repeat(5000) },
]);

/** Keys as `keys` names them (a fixed time when a nonce is given, so two calls agree). */
function keysFor(prefix: string, nonce?: string, extra: Partial<KeyInput> = {}): { objectKey: string; manifestKey: string } {
    const createdAt = nonce ? new Date("2026-02-01T00:00:00.000Z") : new Date();
    return backupKeys({ prefix, cluster: "c1", kind: "dtr", createdAt, encrypted: false, nonce, ...extra });
}
const RT = keysFor("rt");
const ENC = keysFor("enc", undefined, { encrypted: true });

function opts(key: string, extra: Partial<UploadOptions> = {}): UploadOptions {
    return {
        bucket: BUCKET,
        key,
        kind: "dtr",
        cluster: "c1",
        sourceStack: "prod",
        meta: { dtrVersion: "2.7.8" },
        recipients: [],
        lock: null,
        ...extra,
    };
}

async function versionsOf(s3: S3Client, key: string): Promise<number> {
    const r = await s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: key }));
    return (r.Versions ?? []).filter((v) => v.Key === key).length;
}

async function pendingUploads(s3: S3Client): Promise<number> {
    return ((await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }))).Uploads ?? []).length;
}

describe("backup agent against MinIO", function () {
    this.timeout(300_000);
    let minio: Minio;
    let s3: S3Client;
    let env: Record<string, string>;

    before(async () => {
        minio = await Minio.start();
        s3 = minio.client();
        env = minio.env;
        await minio.lockedBucket(BUCKET);
    });
    after(async () => {
        s3?.destroy();
        await minio?.stop();
    });

    it("round trip through the CLI: tar in -> manifest -> put-manifest -> verify -> download gives the same tar bytes", async () => {
        const up = await agent(
            ["upload", "--bucket", BUCKET, "--key", RT.objectKey, "--kind", "dtr", "--cluster", "c1", "--meta", "replicaId=0123456789ab"],
            {
                env,
                input: tar,
            },
        );
        assert.equal(up.code, 0, up.stderr);
        const m = JSON.parse(up.stdout.toString()) as Manifest;
        assert.equal(m.content.tarBytes, tar.length);
        assert.equal(m.content.entries, 3);
        assert.deepEqual(m.content.files, [
            "dtr-backup/manifest.json",
            "dtr-backup/metadata/repositories.json",
            "dtr-backup/metadata/certs.json",
        ]);
        assert.ok(m.object.versionId, "a versioned bucket pins the version");
        assert.equal(m.meta.replicaId, "0123456789ab");
        // upload does not write the manifest: only put-manifest does.
        assert.equal((await listManifests(s3, BUCKET, { prefix: "rt", cluster: null })).length, 0);
        const put = await agent(["put-manifest", "--bucket", BUCKET, "--key", RT.manifestKey], { env, input: up.stdout });
        assert.equal(put.code, 0, put.stderr);
        assert.equal(put.stdout.toString().trim(), RT.manifestKey);
        const ver = await agent(["verify", "--bucket", BUCKET, "--manifest-key", RT.manifestKey], { env });
        assert.equal(ver.code, 0, ver.stderr);
        const verdict = JSON.parse(ver.stdout.toString());
        assert.equal(verdict.ok, true);
        assert.equal(verdict.contentChecked, true);
        assert.equal(verdict.actual.stored.sha256, m.object.sha256);
        const down = await agent(["download", "--bucket", BUCKET, "--manifest-key", RT.manifestKey], { env });
        assert.equal(down.code, 0, down.stderr);
        assert.ok(down.stdout.equals(tar), "download must give back the exact tar bytes");
    });

    it("with age encryption: the right identity restores the tar, a wrong or missing one fails", async () => {
        const id = await generateX25519Identity();
        const other = await generateX25519Identity();
        const recipient = await identityToRecipient(id);
        const up = await agent(
            ["upload", "--bucket", BUCKET, "--key", ENC.objectKey, "--kind", "dtr", "--cluster", "c1", "--recipient", recipient],
            {
                env,
                input: tar,
            },
        );
        assert.equal(up.code, 0, up.stderr);
        const m = JSON.parse(up.stdout.toString()) as Manifest;
        assert.deepEqual(m.content.encryption, { scheme: "age", recipients: [recipient] });
        const put = await agent(["put-manifest", "--bucket", BUCKET, "--key", ENC.manifestKey], { env, input: up.stdout });
        assert.equal(put.code, 0, put.stderr);
        // The stored bytes are not gzip (so not readable without the key): age's header comes first.
        const raw = await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: m.object.key }))).Body!.transformToByteArray();
        assert.ok(Buffer.from(raw).subarray(0, 21).toString().startsWith("age-encryption.org/v1"));
        const key = ["--bucket", BUCKET, "--manifest-key", ENC.manifestKey];
        const idEnv = { ...env, AGE_ID: id, WRONG_ID: other };

        // Without the identity an encrypted backup is not called whole: only --stored-only checks the bytes alone.
        const noIdentity = await agent(["verify", ...key], { env });
        assert.equal(noIdentity.code, 1);
        assert.match(noIdentity.stderr, /the backup is encrypted: pass --identity-env NAME .*dtr-ha:ageIdentity/);
        assert.equal(JSON.parse(noIdentity.stdout.toString()).ok, false);
        const storedOnly = await agent(["verify", ...key, "--stored-only"], { env });
        assert.equal(storedOnly.code, 0, storedOnly.stderr);
        assert.equal(JSON.parse(storedOnly.stdout.toString()).contentChecked, false);
        const full = await agent(["verify", ...key, "--identity-env", "AGE_ID"], { env: idEnv });
        assert.equal(full.code, 0, full.stderr);
        assert.equal(JSON.parse(full.stdout.toString()).actual.content.tarSha256, m.content.tarSha256);

        const good = await agent(["download", ...key, "--identity-env", "AGE_ID"], { env: idEnv });
        assert.equal(good.code, 0, good.stderr);
        assert.ok(good.stdout.equals(tar));
        const wrong = await agent(["download", ...key, "--identity-env", "WRONG_ID"], { env: idEnv });
        assert.notEqual(wrong.code, 0);
        assert.match(wrong.stderr, /cannot decrypt/);
        assert.equal(wrong.stdout.length, 0);
        const wrongVerify = await agent(["verify", ...key, "--identity-env", "WRONG_ID"], { env: idEnv });
        assert.equal(wrongVerify.code, 1);
        const missing = await agent(["download", ...key], { env });
        assert.notEqual(missing.code, 0);
        assert.match(missing.stderr, /encrypted to age1.*--identity-env/);
        const unset = await agent(["download", ...key, "--identity-env", "NOT_SET"], { env });
        assert.equal(unset.code, 2);
        assert.match(unset.stderr, /env NOT_SET is empty or not set/);
    });

    it("old gzip backups still restore: the manifest's compression picks the decompressor, with and without age", async () => {
        const id = await generateX25519Identity();
        const recipient = await identityToRecipient(id);
        const big = await new Promise<Buffer>((ok, fail) => {
            const parts: Buffer[] = [];
            synthTar({ totalBytes: 3 * 1024 * 1024, seed: "gz" })
                .on("data", (c: Buffer) => parts.push(c))
                .on("end", () => ok(Buffer.concat(parts)))
                .on("error", fail);
        });
        for (const compression of ["gzip", "zstd"] as const) {
            for (const recipients of [[], [recipient]]) {
                const key = `objects/c1/dtr/compat-${compression}-${recipients.length}`;
                const m = await uploadBackup(Readable.from([big]), s3, opts(key, { compression, recipients }));
                assert.equal(m.content.compression, compression);
                const head = (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, Range: "bytes=0-3" }))).Body!;
                const magic = Buffer.from(await head.transformToByteArray());
                if (recipients.length === 0)
                    assert.deepEqual([...magic.subarray(0, 2)], compression === "gzip" ? [0x1f, 0x8b] : [0x28, 0xb5], "stored format");
                const out: Buffer[] = [];
                const sink = new Writable({ write: (c: Buffer, _e, cb) => (out.push(c), cb()) });
                const r = await readBackup(s3, m, { decode: true, identity: recipients.length ? id : null, identityWhere: "test", sink });
                assert.equal(r.content!.tarSha256, m.content.tarSha256);
                assert.ok(Buffer.concat(out).equals(big), `${compression}, ${recipients.length ? "age" : "plain"}: the same tar bytes`);
                // A manifest that names the other compression cannot restore it.
                const wrong = { ...m, content: { ...m.content, compression: compression === "gzip" ? "zstd" : "gzip" } } as Manifest;
                await assert.rejects(
                    readBackup(s3, wrong, { decode: true, identity: recipients.length ? id : null, identityWhere: "test", sink: null }),
                );
            }
        }
    });

    it("a manifest whose entry count differs fails the restore before the consumer sees the end", async () => {
        const key = "objects/c1/dtr/entries";
        const m = await uploadBackup(Readable.from([tar]), s3, opts(key));
        const extra = { ...m, content: { ...m.content, entries: m.content.entries + 1 } } as Manifest;
        let finished = false;
        const sink = new Writable({ write: (_c, _e, cb) => cb() });
        sink.on("finish", () => (finished = true));
        sink.on("error", () => undefined);
        await assert.rejects(
            readBackup(s3, extra, { decode: true, identity: null, identityWhere: "test", sink }),
            /entries, the manifest says/,
        );
        assert.equal(finished, false, "the consumer must not see a clean end");
    });

    it("refuses a truncated tar and leaves no object and no multipart upload behind", async () => {
        // 40 MiB of mostly incompressible data: several 8 MiB parts are uploaded before the cut is seen.
        const chunks: Buffer[] = [];
        for await (const c of synthTar({ totalBytes: 40 * 1024 * 1024, entryBytes: 4 * 1024 * 1024, seed: "trunc" }))
            chunks.push(c as Buffer);
        const whole = Buffer.concat(chunks);
        for (const [name, cut] of [
            ["mid-entry", whole.subarray(0, 30 * 1024 * 1024 + 777)],
            ["between entries", whole.subarray(0, whole.length - 1024)],
        ] as const) {
            const key = `objects/c1/dtr/truncated-${name.replace(" ", "-")}.tar.gz`;
            const r = await agent(["upload", "--bucket", BUCKET, "--key", key, "--kind", "dtr", "--cluster", "c1"], { env, input: cut });
            assert.equal(r.code, 1, `${name}: ${r.stderr}`);
            assert.match(r.stderr, /nothing was kept: not a complete tar archive/);
            assert.equal(r.stdout.length, 0, "no manifest on stdout");
            assert.equal(await versionsOf(s3, key), 0, `${name}: no object version may exist`);
            assert.equal(await pendingUploads(s3), 0, `${name}: the multipart upload must be aborted`);
        }
        // An empty stream (the producer failed before writing anything) is refused too.
        const empty = await agent(
            ["upload", "--bucket", BUCKET, "--key", "objects/c1/dtr/empty.tar.gz", "--kind", "dtr", "--cluster", "c1"],
            { env, input: Buffer.alloc(0) },
        );
        assert.equal(empty.code, 1);
        assert.match(empty.stderr, /input was empty/);
        assert.equal(await versionsOf(s3, "objects/c1/dtr/empty.tar.gz"), 0);
    });

    it("SIGTERM during an upload (docker stop) aborts the multipart upload and keeps nothing", async () => {
        const key = "objects/c1/dtr/interrupted.tar.gz";
        const p = spawn(process.execPath, [MAIN, "upload", "--bucket", BUCKET, "--key", key, "--kind", "dtr", "--cluster", "c1"], {
            env: { PATH: process.env.PATH ?? "", ...env },
            stdio: ["pipe", "pipe", "pipe"],
        });
        let stderr = "";
        p.stderr.on("data", (d) => (stderr += d));
        p.stdin.on("error", () => undefined);
        // An endless producer: the agent is stopped while parts are being uploaded.
        synthTar({ totalBytes: 1024 * 1024 * 1024, seed: "sig" }).pipe(p.stdin);
        const exited = new Promise<number>((ok) => p.on("close", (code) => ok(code ?? -1)));
        for (let i = 0; i < 100 && (await pendingUploads(s3)) === 0; i++) await new Promise((r) => setTimeout(r, 100));
        assert.equal(await pendingUploads(s3), 1, "a multipart upload should be in progress");
        p.kill("SIGTERM");
        assert.equal(await exited, 1, stderr);
        assert.match(stderr, /interrupted by SIGTERM/);
        assert.equal(await pendingUploads(s3), 0, "the multipart upload must be aborted");
        assert.equal(await versionsOf(s3, key), 0);
    });

    it("a pinned version survives an overwrite; a manifest pointing at other bytes fails verify and download", async () => {
        const k = keysFor("pin");
        const m = await uploadBackup(Readable.from([tar]), s3, opts(k.objectKey));
        await putManifest(s3, BUCKET, k.manifestKey, m);
        // Someone writes other bytes at the same key: a new version; the manifest still names the old one.
        await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: m.object.key, Body: "evil", ChecksumAlgorithm: "CRC32" }));
        const pinned = await verifyBackup(s3, BUCKET, k.manifestKey, null, "");
        assert.equal(pinned.ok, true, pinned.error ?? "");

        // Corruption: a manifest that names a different object (here: the same key's newer version, and an
        // unversioned pointer to the latest) must fail both verify and download.
        const other = await uploadBackup(
            Readable.from([tarOf([{ name: "other", data: "other backup" }])]),
            s3,
            opts("objects/c1/dtr/other.tar.gz"),
        );
        for (const [name, object] of [
            ["different object", { ...m.object, key: other.object.key, versionId: other.object.versionId }],
            ["latest instead of pinned", { ...m.object, versionId: null }],
        ] as const) {
            const bad = { ...m, object: { ...object, bytes: name === "different object" ? other.object.bytes : m.object.bytes } };
            const k = `manifests/corrupt/${name.replace(/ /g, "-")}.manifest.json`;
            await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: k, Body: JSON.stringify(bad), ChecksumAlgorithm: "CRC32" }));
            const v = await agent(["verify", "--bucket", BUCKET, "--manifest-key", k], { env });
            assert.equal(v.code, 1, `${name}: verify must fail`);
            const verdict = JSON.parse(v.stdout.toString());
            assert.equal(verdict.ok, false);
            assert.match(verdict.error, /SHA-256|bytes|longer/);
            const d = await agent(["download", "--bucket", BUCKET, "--manifest-key", k], { env });
            assert.notEqual(d.code, 0, `${name}: download must fail`);
            assert.match(d.stderr, /SHA-256|bytes|longer/);
        }
        // put-manifest would have refused those manifests in the first place.
        await assert.rejects(
            putManifest(s3, BUCKET, k.manifestKey, { ...m, object: { ...m.object, versionId: null } }),
            /differs: .*its version is/,
        );
    });

    it("sets Object Lock retention when asked, and the locked version cannot be deleted", async () => {
        const before = Date.now();
        const up = await agent(
            [
                "upload",
                "--bucket",
                BUCKET,
                "--key",
                "objects/c1/dtr/locked.tar.gz",
                "--kind",
                "dtr",
                "--cluster",
                "c1",
                "--lock-mode",
                "GOVERNANCE",
                "--retain-days",
                "2",
            ],
            { env, input: tar },
        );
        assert.equal(up.code, 0, up.stderr);
        const m = JSON.parse(up.stdout.toString()) as Manifest;
        const r = await s3.send(new GetObjectRetentionCommand({ Bucket: BUCKET, Key: m.object.key, VersionId: m.object.versionId! }));
        assert.equal(r.Retention?.Mode, "GOVERNANCE");
        const until = r.Retention!.RetainUntilDate!.getTime();
        assert.ok(Math.abs(until - (before + 2 * 86_400_000)) < 120_000, `retain-until ${r.Retention!.RetainUntilDate!.toISOString()}`);
        await assert.rejects(
            s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: m.object.key, VersionId: m.object.versionId! })),
            /AccessDenied|locked|WORM/i,
        );
        // A multipart-sized upload gets the same retention (it goes through CreateMultipartUpload).
        const big = await uploadBackup(
            synthTar({ totalBytes: 24 * 1024 * 1024, entryBytes: 4 * 1024 * 1024, seed: "lock" }),
            s3,
            opts("objects/c1/dtr/locked-big.tar.gz", { lock: { mode: "COMPLIANCE", retainDays: 1 } }),
        );
        assert.ok(big.object.bytes > 8 * 1024 * 1024, "must have been a multipart upload");
        const rb = await s3.send(new GetObjectRetentionCommand({ Bucket: BUCKET, Key: big.object.key, VersionId: big.object.versionId! }));
        assert.equal(rb.Retention?.Mode, "COMPLIANCE");
    });

    it("put-manifest refuses a manifest whose object is missing or differs", async () => {
        const k = keysFor("pm");
        const m = await uploadBackup(Readable.from([tar]), s3, opts(k.objectKey));
        const run = (value: unknown, key = k.manifestKey): Promise<ReturnType<typeof agent> extends Promise<infer R> ? R : never> =>
            agent(["put-manifest", "--bucket", BUCKET, "--key", key], {
                env,
                input: Buffer.from(JSON.stringify(value)),
            });
        const nope = keysFor("pm", "00000000");
        const missing = await run({ ...m, object: { ...m.object, key: nope.objectKey, versionId: null } }, nope.manifestKey);
        assert.equal(missing.code, 1);
        assert.match(missing.stderr, /does not exist/);
        const size = await run({ ...m, object: { ...m.object, bytes: m.object.bytes + 1 } });
        assert.equal(size.code, 1);
        assert.match(size.stderr, /differs: it has \d+ bytes, the manifest says/);
        const version = await run({ ...m, object: { ...m.object, versionId: "00000000-0000-0000-0000-000000000000" } });
        assert.equal(version.code, 1);
        assert.match(version.stderr, /does not exist|differs/);
        const kind = await run({ ...m, kind: "ucp" });
        assert.equal(kind.code, 1);
        assert.match(kind.stderr, /says kind ucp but its key names kind dtr/);
        // Keys that agree with the manifest but an object uploaded as another kind: the object's metadata says so.
        const asUcp = keysFor("pm", "0000abcd", { kind: "ucp" });
        const dtrBytes = await uploadBackup(Readable.from([tar]), s3, opts(asUcp.objectKey));
        const meta = await run({ ...dtrBytes, kind: "ucp" }, asUcp.manifestKey);
        assert.equal(meta.code, 1);
        assert.match(meta.stderr, /uploaded as kind dtr, the manifest says ucp/);
        const invalid = await run({ ...m, format: "v0" });
        assert.equal(invalid.code, 1);
        assert.match(invalid.stderr, /format must be "dtr-ha-backup\/1"/);
        // Keys of another shape, or that do not match the object's, are refused before anything is read.
        const shape = await run(m, "pm/manifests/c1/x.manifest.json");
        assert.equal(shape.code, 1);
        assert.match(shape.stderr, /not of the shape the agent writes/);
        const mismatch = await run(m, keysFor("pm", "0000ffff").manifestKey);
        assert.equal(mismatch.code, 1);
        assert.match(mismatch.stderr, /does not match the manifest key/);
        assert.equal((await listManifests(s3, BUCKET, { prefix: "pm", cluster: null })).length, 0, "nothing was written");
        const ok = await run(m);
        assert.equal(ok.code, 0, ok.stderr);
    });

    it("stack config beside the manifest: put, pinned by the manifest's SHA-256 and version, read back; a planted one is refused", async () => {
        const k = keysFor("sc");
        const doc = {
            format: "dtr-ha-stack-config/1",
            project: "dtr-ha",
            sourceStack: "prod",
            config: { "dtr-ha:cluster": '{"name":"c1"}', "aws:region": "eu-west-1" },
            secrets: ["dtr-ha:ucpPassword", "dtr-ha:backupSecretKey"],
        };
        const put = await agent(["put-stack-config", "--bucket", BUCKET, "--manifest-key", k.manifestKey], {
            env,
            input: Buffer.from(JSON.stringify(doc)),
        });
        assert.equal(put.code, 0, put.stderr);
        const pinned = JSON.parse(put.stdout.toString()) as { key: string; sha256: string; versionId: string };
        assert.equal(pinned.key, k.manifestKey.replace(/\.manifest\.json$/, ".stack-config.json"));
        assert.match(pinned.sha256, /^[0-9a-f]{64}$/);
        assert.ok(pinned.versionId, "a versioned bucket pins the version");
        // The host script passes these to upload as --meta, then writes the manifest.
        const withMeta = (meta: Record<string, string>) =>
            uploadBackup(Readable.from([tar]), s3, opts(k.objectKey, { meta: { dtrVersion: "2.7.8", ...meta } }));
        await putManifest(
            s3,
            BUCKET,
            k.manifestKey,
            await withMeta({ stackConfigSha256: pinned.sha256, stackConfigVersionId: pinned.versionId }),
        );
        const get = () => agent(["get-stack-config", "--bucket", BUCKET, "--manifest-key", k.manifestKey], { env });
        const got = await get();
        assert.equal(got.code, 0, got.stderr);
        assert.deepEqual(JSON.parse(got.stdout.toString()), { ...doc, secrets: [...doc.secrets].sort() });
        // A document written later at the same key: the pinned version is still what is read.
        const planted = { ...doc, config: { ...doc.config, "dtr-ha:cluster": '{"name":"evil"}' } };
        await put_(pinned.key, JSON.stringify(planted));
        assert.deepEqual(JSON.parse((await get()).stdout.toString()).config, doc.config);
        // A manifest that pins only the SHA-256 reads the newest version: the planted one, refused.
        await putManifest(s3, BUCKET, k.manifestKey, await withMeta({ stackConfigSha256: pinned.sha256 }));
        const refused = await get();
        assert.equal(refused.code, 1);
        assert.match(refused.stderr, /has SHA-256 [0-9a-f]{64}, its manifest says [0-9a-f]{64}: refusing it/);
        // A backup taken without one says so and what to do instead.
        await putManifest(s3, BUCKET, k.manifestKey, await withMeta({}));
        const none = await get();
        assert.equal(none.code, 1);
        assert.match(none.stderr, /carries no stack configuration .*--source-stack/);
        // A document that puts a secret's value in the plain config (a name in both lists) is refused before writing.
        const bad = await agent(["put-stack-config", "--bucket", BUCKET, "--manifest-key", keysFor("sc", "0000aaaa").manifestKey], {
            env,
            input: Buffer.from(JSON.stringify({ ...doc, config: { ...doc.config, "dtr-ha:ucpPassword": "hunter2" } })),
        });
        assert.equal(bad.code, 1);
        assert.match(bad.stderr, /dtr-ha:ucpPassword is both a plain value and a secret/);
        assert.doesNotMatch(bad.stderr, /hunter2/);
    });
    const put_ = (key: string, body: string) =>
        s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, ChecksumAlgorithm: "CRC32" }));

    /** A real backup through the library, its manifest written at the keys `keys` names. */
    async function backup(
        prefix: string,
        cluster: string,
        createdAt: Date,
        nonce?: string,
    ): Promise<{ manifestKey: string; manifest: Manifest }> {
        const k = backupKeys({ prefix, cluster, kind: "dtr", createdAt, encrypted: false, nonce });
        const m = await uploadBackup(Readable.from([tar]), s3, opts(k.objectKey, { cluster, now: () => createdAt }));
        await putManifest(s3, BUCKET, k.manifestKey, m);
        return { manifestKey: k.manifestKey, manifest: m };
    }
    const put = (key: string, body: string) =>
        s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, ChecksumAlgorithm: "CRC32" }));
    const storeTick = () => new Promise((r) => setTimeout(r, 1100)); // LastModified has one-second resolution on some stores
    const listLines = async (args: string[]) => {
        const r = await agent(["list", "--bucket", BUCKET, ...args], { env });
        assert.equal(r.code, 0, r.stderr);
        const lines = r.stdout.toString().trim().split("\n").filter(Boolean);
        return { r, lines, json: lines.map((l) => JSON.parse(l)) };
    };

    it("list orders by the store's time, not the createdAt a host wrote, and filters by cluster", async () => {
        // Host clocks that disagree: the first backup written claims the latest time, the last one the earliest.
        const claimed = ["2026-03-03T10:00:00.000Z", "2026-03-01T10:00:00.000Z", "2026-03-02T10:00:00.000Z"];
        const written: string[] = [];
        for (const t of claimed) {
            for (const cluster of ["east", "west"]) {
                const b = await backup("cat", cluster, new Date(t));
                if (cluster === "east") written.push(b.manifestKey);
            }
            await storeTick();
        }
        const { r, json } = await listLines(["--prefix", "cat", "--cluster", "east"]);
        assert.equal(r.stderr, "");
        assert.deepEqual(
            json.map((l) => l.manifestKey),
            [...written].reverse(),
            "newest written first, whatever createdAt says (createdAt order would be 0, 2, 1)",
        );
        // The line format the host scripts read: starts with "manifestKey", then "manifest", then the store's facts.
        assert.match(r.stdout.toString().split("\n")[0], /^\{"manifestKey":"cat\/manifests\/east\/[^"]+","manifest":\{"format":/);
        assert.deepEqual(Object.keys(json[0]), ["manifestKey", "manifest", "storedAt", "objectStoredAt", "objectLock"]);
        assert.ok(Date.parse(json[0].storedAt) > Date.parse(json[2].storedAt));
        assert.equal((await listManifests(s3, BUCKET, { prefix: "cat", cluster: null })).length, 6);
    });

    it("two backups started in the same millisecond get distinct object and manifest keys, and both are listed", async () => {
        const at = new Date("2026-04-01T12:00:00.000Z");
        const keysA = await agent(["keys", "--prefix", "same", "--cluster", "c1", "--kind", "dtr"], { env });
        const keysB = await agent(["keys", "--prefix", "same", "--cluster", "c1", "--kind", "dtr"], { env });
        assert.notEqual(keysA.stdout.toString(), keysB.stdout.toString(), "the CLI's keys differ even within one second");
        const a = await backup("same", "c1", at);
        const b = await backup("same", "c1", at);
        assert.notEqual(a.manifestKey, b.manifestKey);
        assert.notEqual(a.manifest.object.key, b.manifest.object.key);
        assert.equal(a.manifest.createdAt, b.manifest.createdAt);
        const listed = await listManifests(s3, BUCKET, { prefix: "same", cluster: "c1" });
        assert.deepEqual(listed.map((e) => e.manifestKey).sort(), [a.manifestKey, b.manifestKey].sort());
        // Each manifest still pins its own object: one did not replace the other.
        for (const e of listed) assert.equal((await verifyBackup(s3, BUCKET, e.manifestKey, null, "")).ok, true);
    });

    it("a manifest whose object version is gone is listed as broken and is never the latest", async () => {
        const older = await backup("gone", "c1", new Date());
        await storeTick();
        const newer = await backup("gone", "c1", new Date());
        assert.equal((await listManifests(s3, BUCKET, { prefix: "gone", cluster: "c1" }))[0].manifestKey, newer.manifestKey);
        // No retention was set on these versions, so the version can be deleted (as an admin or a lifecycle rule would).
        await s3.send(
            new DeleteObjectCommand({ Bucket: BUCKET, Key: newer.manifest.object.key, VersionId: newer.manifest.object.versionId! }),
        );
        const { r, json } = await listLines(["--prefix", "gone", "--cluster", "c1"]);
        assert.deepEqual(
            json.map((l) => l.manifestKey),
            [older.manifestKey],
            "latest is now the newest intact backup",
        );
        assert.match(r.stderr, new RegExp(`skipping ${newer.manifestKey}: its object .* does not exist`));
        const all = await listLines(["--prefix", "gone", "--cluster", "c1", "--include-broken"]);
        assert.equal(all.json.length, 2);
        assert.equal(all.json[1].brokenManifestKey, newer.manifestKey);
        assert.match(all.json[1].reason, /does not exist/);
        assert.ok(!all.lines[1].includes(`"manifestKey":"${newer.manifestKey}"`), "a broken line never matches the scripts' grep");
    });

    it("a planted manifest with a future createdAt is not the latest: a backup the store wrote later is", async () => {
        // A real object, and a manifest for it that claims to be from 2099, written first.
        const planted = await backup("plant", "c1", new Date("2099-01-01T00:00:00.000Z"));
        await storeTick();
        const real = await backup("plant", "c1", new Date());
        const entries = await listManifests(s3, BUCKET, { prefix: "plant", cluster: "c1" });
        assert.deepEqual(
            entries.map((e) => e.manifestKey),
            [real.manifestKey, planted.manifestKey],
            "ordering by createdAt would put the 2099 manifest first",
        );
    });

    it("list refuses manifests that do not parse, fail the strict checks, or are not where their key says", async () => {
        const good = await backup("strict", "east", new Date());
        const m = good.manifest;
        const k = (nonce: string, extra: Partial<KeyInput> = {}) =>
            backupKeys({ prefix: "strict", cluster: "east", kind: "dtr", createdAt: new Date(), encrypted: false, nonce, ...extra });
        const planted: Record<string, [string, string, RegExp]> = {
            "not JSON": [k("00000001").manifestKey, "{", /not JSON/],
            "empty object": [k("00000002").manifestKey, "{}", /invalid manifest/],
            "sha256 not hex": [
                k("00000003").manifestKey,
                JSON.stringify({ ...m, object: { ...m.object, sha256: "Z".repeat(64) } }),
                /object\.sha256/,
            ],
            "bytes not an integer": [
                k("00000004").manifestKey,
                JSON.stringify({ ...m, object: { ...m.object, bytes: 1.5 } }),
                /object\.bytes/,
            ],
            "another format version": [k("00000005").manifestKey, JSON.stringify({ ...m, format: "dtr-ha-backup/2" }), /format must be/],
            "bad cluster charset": [k("00000006").manifestKey, JSON.stringify({ ...m, cluster: "east;id" }), /cluster must match/],
            "key of another shape": ["strict/manifests/east/planted.manifest.json", JSON.stringify(m), /not of the shape the agent writes/],
            "shell in the key": ["strict/manifests/east/x$(id).manifest.json", JSON.stringify(m), /not of the shape/],
            "another cluster's manifest under east": [
                k("00000007").manifestKey,
                JSON.stringify({ ...m, cluster: "west" }),
                /says cluster 'west' but its key is under cluster 'east'/,
            ],
            "object of another backup": [k("00000008").manifestKey, JSON.stringify(m), /does not match the manifest key/],
            "object in another bucket": [
                k("00000009").manifestKey,
                JSON.stringify({ ...m, object: { ...m.object, bucket: "other-bucket" } }),
                /not in 'dtr-backups'/,
            ],
        };
        for (const [key, body] of Object.values(planted)) await put(key, body);
        // A real backup whose manifest was rewritten to claim another size: its object no longer matches.
        const resized = await backup("strict", "east", new Date());
        const rm = resized.manifest;
        planted["object of another size"] = [
            resized.manifestKey,
            JSON.stringify({ ...rm, object: { ...rm.object, bytes: rm.object.bytes + 1 } }),
            /its object .* differs: it has \d+ bytes, the manifest says \d+/,
        ];
        await put(resized.manifestKey, planted["object of another size"][1]);
        const c = await readCatalog(s3, BUCKET, { prefix: "strict", cluster: "east" });
        assert.deepEqual(
            c.entries.map((e) => e.manifestKey),
            [good.manifestKey],
        );
        for (const [name, [key, , reason]] of Object.entries(planted)) {
            const b = c.broken.find((x) => x.brokenManifestKey === key);
            assert.ok(b, `${name}: listed as broken`);
            assert.match(b.reason, reason, name);
        }
        // Under the prefix but not under manifests/<cluster>/: not part of this cluster's catalog at all.
        await put("strict/manifests/west/" + good.manifestKey.split("/").pop(), JSON.stringify(m));
        const east = await readCatalog(s3, BUCKET, { prefix: "strict", cluster: "east" });
        assert.equal(east.broken.length, Object.keys(planted).length);
        const everything = await readCatalog(s3, BUCKET, { prefix: "strict", cluster: null });
        assert.match(
            everything.broken.find((b) => b.brokenManifestKey.startsWith("strict/manifests/west/"))!.reason,
            /says cluster 'east' but its key is under cluster 'west'/,
        );
        // A prefix that merely starts the same ("strict" vs "strictly") is another catalog.
        await put(k("0000000a", { prefix: "strictly" }).manifestKey, JSON.stringify(m));
        assert.equal((await readCatalog(s3, BUCKET, { prefix: "strict", cluster: null })).broken.length, everything.broken.length);
    });

    it("streams 256 MiB through upload with the same peak RSS as 64 MiB (bounded by the parts in flight, not the input)", async () => {
        const child = join(__dirname, "rss-child.js");
        const rss = async (
            key: string,
            input: Readable,
            recipient: string | null,
        ): Promise<{ mib: number; tarBytes: number; seconds: number }> => {
            const r = await runNode(child, [BUCKET, key], { env: { ...env, ...(recipient ? { RSS_RECIPIENT: recipient } : {}) }, input });
            assert.equal(r.code, 0, r.stderr);
            const out = JSON.parse(r.stdout.toString());
            return { mib: out.maxRssBytes / 1048576, tarBytes: out.manifest.content.tarBytes, seconds: out.seconds };
        };
        // The same process with a 3 KiB tar: node, the SDK and age loaded, nothing streamed.
        const baseline = await rss("objects/c1/dtr/rss-baseline.tar.zst", Readable.from([tar]), null);
        for (const recipient of [null, await identityToRecipient(await generateX25519Identity())]) {
            const label = recipient ? "age" : "plain";
            const peaks: number[] = [];
            for (const mib of [64, 256]) {
                const total = mib * 1024 * 1024;
                const r = await rss(`objects/c1/dtr/rss-${label}-${mib}.tar.zst`, synthTar({ totalBytes: total, seed: "rss" }), recipient);
                assert.ok(r.tarBytes > total, "the whole stream went through");
                console.log(
                    `      ${label}: peak RSS ${r.mib.toFixed(0)} MiB (baseline ${baseline.mib.toFixed(0)} MiB) for ${(r.tarBytes / 1048576).toFixed(0)} MiB of tar in ${r.seconds.toFixed(1)} s`,
                );
                peaks.push(r.mib);
            }
            // Live data (2 parts of 8 MiB in flight, one being filled, lib-storage's copy of it, 3 compressed blocks)
            // plus the garbage V8 lets pile up before it collects (external-memory soft limit 64 MiB) is the same for
            // any input size; buffering the input would add the 192 MiB more that the second run streams.
            assert.ok(
                peaks[1] - peaks[0] < 40,
                `256 MiB peaked ${(peaks[1] - peaks[0]).toFixed(0)} MiB above 64 MiB: memory must not grow with the input`,
            );
            assert.ok(peaks[1] - baseline.mib < 150, `streaming added ${(peaks[1] - baseline.mib).toFixed(0)} MiB over the baseline`);
        }
    });
});

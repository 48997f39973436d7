// Against a real MinIO (object lock + versioning): the CLI round trip, encryption, refusals, corruption,
// retention, put-manifest checks, the catalog order, and peak memory of a 200 MiB upload.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { Readable } from "node:stream";
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
import { listManifests, putManifest } from "../src/catalog";
import { Manifest } from "../src/manifest";
import { verifyBackup } from "../src/read";
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
            [
                "upload",
                "--bucket",
                BUCKET,
                "--key",
                "objects/c1/dtr/rt.tar.gz",
                "--kind",
                "dtr",
                "--cluster",
                "c1",
                "--meta",
                "replicaId=0123456789ab",
            ],
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
        assert.equal((await listManifests(s3, BUCKET, { prefix: "manifests/rt", cluster: null })).length, 0);
        const put = await agent(["put-manifest", "--bucket", BUCKET, "--key", "manifests/rt/1.manifest.json"], { env, input: up.stdout });
        assert.equal(put.code, 0, put.stderr);
        assert.equal(put.stdout.toString().trim(), "manifests/rt/1.manifest.json");
        const ver = await agent(["verify", "--bucket", BUCKET, "--manifest-key", "manifests/rt/1.manifest.json"], { env });
        assert.equal(ver.code, 0, ver.stderr);
        const verdict = JSON.parse(ver.stdout.toString());
        assert.equal(verdict.ok, true);
        assert.equal(verdict.contentChecked, true);
        assert.equal(verdict.actual.stored.sha256, m.object.sha256);
        const down = await agent(["download", "--bucket", BUCKET, "--manifest-key", "manifests/rt/1.manifest.json"], { env });
        assert.equal(down.code, 0, down.stderr);
        assert.ok(down.stdout.equals(tar), "download must give back the exact tar bytes");
    });

    it("with age encryption: the right identity restores the tar, a wrong or missing one fails", async () => {
        const id = await generateX25519Identity();
        const other = await generateX25519Identity();
        const recipient = await identityToRecipient(id);
        const up = await agent(
            [
                "upload",
                "--bucket",
                BUCKET,
                "--key",
                "objects/c1/dtr/enc.tar.gz.age",
                "--kind",
                "dtr",
                "--cluster",
                "c1",
                "--recipient",
                recipient,
            ],
            {
                env,
                input: tar,
            },
        );
        assert.equal(up.code, 0, up.stderr);
        const m = JSON.parse(up.stdout.toString()) as Manifest;
        assert.deepEqual(m.content.encryption, { scheme: "age", recipients: [recipient] });
        const put = await agent(["put-manifest", "--bucket", BUCKET, "--key", "manifests/enc/1.manifest.json"], { env, input: up.stdout });
        assert.equal(put.code, 0, put.stderr);
        // The stored bytes are not gzip (so not readable without the key): age's header comes first.
        const raw = await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: m.object.key }))).Body!.transformToByteArray();
        assert.ok(Buffer.from(raw).subarray(0, 21).toString().startsWith("age-encryption.org/v1"));
        const key = ["--bucket", BUCKET, "--manifest-key", "manifests/enc/1.manifest.json"];
        const idEnv = { ...env, AGE_ID: id, WRONG_ID: other };

        const storedOnly = await agent(["verify", ...key], { env });
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
        const m = await uploadBackup(Readable.from([tar]), s3, opts("objects/c1/dtr/pinned.tar.gz"));
        await putManifest(s3, BUCKET, "manifests/pin/1.manifest.json", m);
        // Someone writes other bytes at the same key: a new version; the manifest still names the old one.
        await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: m.object.key, Body: "evil", ChecksumAlgorithm: "CRC32" }));
        const pinned = await verifyBackup(s3, BUCKET, "manifests/pin/1.manifest.json", null, "");
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
            putManifest(s3, BUCKET, "manifests/corrupt/x.manifest.json", { ...m, object: { ...m.object, versionId: null } }),
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
        const m = await uploadBackup(Readable.from([tar]), s3, opts("objects/c1/dtr/pm.tar.gz"));
        const run = (value: unknown): Promise<ReturnType<typeof agent> extends Promise<infer R> ? R : never> =>
            agent(["put-manifest", "--bucket", BUCKET, "--key", "manifests/pm/x.manifest.json"], {
                env,
                input: Buffer.from(JSON.stringify(value)),
            });
        const missing = await run({ ...m, object: { ...m.object, key: "objects/c1/dtr/nope.tar.gz", versionId: null } });
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
        assert.match(kind.stderr, /uploaded as kind dtr, the manifest says ucp/);
        const invalid = await run({ ...m, format: "v0" });
        assert.equal(invalid.code, 1);
        assert.match(invalid.stderr, /format must be "dtr-ha-backup\/1"/);
        assert.equal((await listManifests(s3, BUCKET, { prefix: "manifests/pm", cluster: null })).length, 0, "nothing was written");
        const ok = await run(m);
        assert.equal(ok.code, 0, ok.stderr);
    });

    it("list returns the catalog newest first, filtered by cluster", async () => {
        const times = ["2026-03-01T10:00:00.000Z", "2026-03-03T10:00:00.000Z", "2026-03-02T10:00:00.000Z"];
        for (const [i, t] of times.entries()) {
            for (const cluster of ["east", "west"]) {
                const m = await uploadBackup(
                    Readable.from([tar]),
                    s3,
                    opts(`cat/objects/${cluster}/${i}.tar.gz`, { cluster, now: () => new Date(t) }),
                );
                await putManifest(s3, BUCKET, `cat/manifests/${cluster}/${i}.manifest.json`, m);
            }
        }
        // A hand-written broken manifest is skipped with a warning, not fatal for the catalog.
        await s3.send(
            new PutObjectCommand({
                Bucket: BUCKET,
                Key: "cat/manifests/east/broken.manifest.json",
                Body: "{}",
                ChecksumAlgorithm: "CRC32",
            }),
        );
        const r = await agent(["list", "--bucket", BUCKET, "--prefix", "cat", "--cluster", "east"], { env });
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /skipping cat\/manifests\/east\/broken.manifest.json: invalid manifest/);
        const lines = r.stdout
            .toString()
            .trim()
            .split("\n")
            .map((l) => JSON.parse(l));
        assert.deepEqual(
            lines.map((l) => [l.manifestKey, l.manifest.createdAt]),
            [
                ["cat/manifests/east/1.manifest.json", times[1]],
                ["cat/manifests/east/2.manifest.json", times[2]],
                ["cat/manifests/east/0.manifest.json", times[0]],
            ],
        );
        const all = await listManifests(s3, BUCKET, { prefix: "cat", cluster: null });
        assert.equal(all.length, 6);
    });

    it("streams 200 MiB through upload with a peak RSS well under 200 MiB (bounded by the parts in flight)", async () => {
        const total = 200 * 1024 * 1024;
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
        const baseline = await rss("objects/c1/dtr/rss-baseline.tar.gz", Readable.from([tar]), null);
        for (const recipient of [null, await identityToRecipient(await generateX25519Identity())]) {
            const label = recipient ? "age" : "plain";
            const r = await rss(`objects/c1/dtr/rss-${label}.tar.gz`, synthTar({ totalBytes: total, seed: "rss" }), recipient);
            assert.ok(r.tarBytes > total, "the whole stream went through");
            console.log(
                `      ${label}: peak RSS ${r.mib.toFixed(0)} MiB (baseline ${baseline.mib.toFixed(0)} MiB) for ${(r.tarBytes / 1048576).toFixed(0)} MiB of tar in ${r.seconds.toFixed(1)} s`,
            );
            // Growth = live data (2 parts of 8 MiB in flight, one being filled, lib-storage's copy of it, 3 gzip
            // blocks) + garbage V8 lets pile up before it collects (its external-memory soft limit is 64 MiB).
            // Buffering the input would add the whole 200 MiB.
            assert.ok(
                r.mib - baseline.mib < 100,
                `streaming added ${(r.mib - baseline.mib).toFixed(0)} MiB over the baseline: memory must not grow with the input`,
            );
            assert.ok(r.mib < 175, `peak RSS ${r.mib.toFixed(0)} MiB should stay well under the 200 MiB streamed`);
        }
    });
});

// Pure parts: flags, manifest, keys, S3 env, and the tar check on in-memory streams.
import assert from "node:assert/strict";
import { Readable, Transform, Writable } from "node:stream";
import { gunzipSync, gzipSync, zstdDecompressSync } from "node:zlib";
import { randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { pipeline } from "node:stream/promises";
import { parseDownload, parseList, parsePutManifest, parseUpload, UsageError } from "../src/flags";
import { backupKeys, manifestKeyProblem, parseManifestKey, parseObjectKey, stamp } from "../src/keys";
import { CatalogEntry, newestFirst, placementProblems } from "../src/catalog";
import { buildManifest, manifestProblems, ManifestError, parseManifest, validateManifest } from "../src/manifest";
import { s3SettingsFromEnv } from "../src/s3";
import { TarCheck } from "../src/tar-check";
import { Compression, createDecompress, ParallelCompress } from "../src/compress";
import { uploadBackup } from "../src/upload";
import { S3Client } from "@aws-sdk/client-s3";
import { Decrypter, Encrypter, generateHybridIdentity, generateX25519Identity, identityToRecipient } from "age-encryption";
import { makeDecrypter } from "../src/age";
import { AgeDecrypt, AgeEncrypt, CHUNK, newAgeFile } from "../src/age-stream";
import { END_OF_ARCHIVE, tarHeader, tarOf } from "./synth-tar";

const base = ["--bucket", "dtr-backups", "--key", "objects/c1/dtr/x.tar.gz", "--kind", "dtr", "--cluster", "c1"];
const RECIPIENT = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";

function usage(fn: () => unknown, ...parts: string[]): void {
    assert.throws(fn, (e: Error) => {
        assert.ok(e instanceof UsageError, `expected UsageError, got ${e.name}: ${e.message}`);
        for (const p of parts) assert.ok(e.message.includes(p), `'${e.message}' should mention '${p}'`);
        return true;
    });
}

describe("flags", () => {
    it("parses a full upload command line", () => {
        const f = parseUpload([
            ...base,
            "--source-stack",
            "prod",
            "--meta",
            "dtrVersion=2.7.8",
            "--meta=replicaId=0123456789ab",
            "--recipient",
            RECIPIENT,
            "--lock-mode",
            "COMPLIANCE",
            "--retain-days",
            "30",
        ]);
        assert.deepEqual(f.meta, { dtrVersion: "2.7.8", replicaId: "0123456789ab" });
        assert.deepEqual(f.lock, { mode: "COMPLIANCE", retainDays: 30 });
        assert.deepEqual(f.recipients, [RECIPIENT]);
        assert.equal(f.sourceStack, "prod");
        assert.equal(f.partSizeMiB, 8);
        assert.equal(f.queueSize, 2);
        assert.equal(f.compression, "zstd");
        assert.equal(f.level, 1);
        const g = parseUpload([...base, "--compression", "gzip", "--gzip-level", "9", "--gzip-parallel", "2"]);
        assert.deepEqual([g.compression, g.level, g.parallel], ["gzip", 9, 2]);
    });
    it("refuses a compression the key or the other flags contradict", () => {
        usage(() => parseUpload([...base, "--compression", "xz"]), "--compression 'xz'", "gzip|zstd");
        usage(() => parseUpload([...base, "--gzip-level", "6"]), "--gzip-level does not apply to --compression zstd");
        usage(() => parseUpload([...base, "--compression", "gzip", "--zstd-level", "3"]), "--zstd-level does not apply");
        usage(() => parseUpload([...base, "--gzip-parallel", "2", "--compress-parallel", "2"]), "old name");
        const named = (suffix: string): string[] => [
            "--bucket",
            "b1b",
            "--key",
            `objects/c1/dtr/20260131T123456Z${suffix}`,
            "--kind",
            "dtr",
            "--cluster",
            "c1",
        ];
        usage(() => parseUpload(named(".tar.gz")), "names gzip", "--compression gzip");
        assert.equal(parseUpload(named(".tar.gz").concat("--compression", "gzip")).compression, "gzip");
        assert.equal(parseUpload(named(".tar.zst")).compression, "zstd");
    });
    it("names the flag, the value and the fix", () => {
        usage(() => parseUpload(base.filter((_, i) => i < 6)), "--cluster is required");
        usage(() => parseUpload([...base, "--kind", "dtr"]), "--kind given twice");
        usage(() => parseUpload([...base.slice(0, 4), "--kind", "registry", "--cluster", "c1"]), "--kind 'registry'", "dtr|ucp|swarm");
        usage(() => parseUpload([...base, "--lock-mode", "governance", "--retain-days", "3"]), "--lock-mode 'governance'", "GOVERNANCE");
        usage(() => parseUpload([...base, "--lock-mode", "GOVERNANCE"]), "--retain-days");
        usage(() => parseUpload([...base, "--retain-days", "0", "--lock-mode", "GOVERNANCE"]), "--retain-days '0'");
        usage(() => parseUpload([...base, "--recipient", "AGE-SECRET-KEY-1QQQ"]), "SECRET key", "public key");
        usage(() => parseUpload([...base, "--recipient", "ssh-ed25519 AAAA"]), "--recipient 'ssh-ed25519 AAAA'");
        usage(() => parseUpload([...base, "--meta", "novalue"]), "--meta 'novalue'", "key=value");
        usage(() => parseUpload([...base, "--password", "x"]), "unknown flag --password");
        usage(() => parseUpload([...base, "--part-size-mib", "4"]), "--part-size-mib '4'", "5 to 64");
        usage(() => parseUpload(["--bucket", "Bad_Bucket", ...base.slice(2)]), "--bucket 'Bad_Bucket'");
        usage(() => parseUpload(["--bucket", "dtr-backups", "--key", "/abs", ...base.slice(4)]), "--key '/abs'", "leading slash");
        usage(() => parsePutManifest(["--bucket", "dtr-backups", "--key", "m/x.json"]), "--key 'm/x.json'", ".manifest.json");
        usage(
            () => parseDownload(["--bucket", "dtr-backups", "--manifest-key", "m/x.manifest.json", "--identity-env", "AGE-SECRET-KEY-1X"]),
            "--identity-env",
            "NAME",
        );
        usage(() => parseList(["--bucket", "dtr-backups", "--prefix", "a/"]), "--prefix 'a/'");
        usage(() => parseUpload([...base, "stray"]), "unexpected argument 'stray'");
    });
});

describe("S3 settings from env", () => {
    it("uses a local endpoint with path style and a default region", () => {
        const s = s3SettingsFromEnv({
            S3_ENDPOINT: "http://10.200.0.1:9000",
            S3_FORCE_PATH_STYLE: "true",
            AWS_ACCESS_KEY_ID: "a",
            AWS_SECRET_ACCESS_KEY: "b",
        });
        assert.deepEqual(s, {
            region: "us-east-1",
            endpoint: "http://10.200.0.1:9000",
            forcePathStyle: true,
            credentials: { accessKeyId: "a", secretAccessKey: "b" },
        });
    });
    it("falls back to the default credential chain when no keys are set", () => {
        assert.equal(s3SettingsFromEnv({ AWS_REGION: "eu-west-1" }).credentials, null);
    });
    it("refuses half a key pair, a bad endpoint, a bad path-style value, no region on AWS", () => {
        assert.throws(() => s3SettingsFromEnv({ AWS_REGION: "eu-west-1", AWS_ACCESS_KEY_ID: "a" }), /AWS_SECRET_ACCESS_KEY is not set/);
        assert.throws(() => s3SettingsFromEnv({ S3_ENDPOINT: "10.200.0.1:9000x" }), /S3_ENDPOINT '10.200.0.1:9000x'/);
        assert.throws(
            () => s3SettingsFromEnv({ S3_ENDPOINT: "http://10.200.0.1:9000", S3_FORCE_PATH_STYLE: "yes" }),
            /S3_FORCE_PATH_STYLE 'yes' must be true or false/,
        );
        assert.throws(() => s3SettingsFromEnv({}), /AWS_REGION is not set/);
    });
});

function sampleManifest(): ReturnType<typeof buildManifest> {
    return buildManifest({
        kind: "dtr",
        cluster: "c1",
        sourceStack: null,
        createdAt: new Date("2026-01-31T12:00:00.000Z"),
        object: { bucket: "b", key: "k", versionId: null, bytes: 10, sha256: "a".repeat(64) },
        compression: "zstd",
        recipients: [],
        tarBytes: 2048,
        tarSha256: "b".repeat(64),
        entries: 1,
        files: ["x"],
        meta: { dtrVersion: "2.7.8" },
    });
}

describe("manifest", () => {
    it("builds a manifest that validates and round-trips through JSON", () => {
        const m = sampleManifest();
        assert.equal(m.format, "dtr-ha-backup/1");
        assert.equal(m.content.encryption, null);
        assert.deepEqual(parseManifest(JSON.stringify(m)), m);
    });
    it("lists every problem of a bad manifest", () => {
        const m = JSON.parse(JSON.stringify(sampleManifest()));
        m.kind = "dtrx";
        m.object.sha256 = "XYZ";
        m.content.entries = 0;
        m.extra = 1;
        const p = manifestProblems(m);
        assert.ok(
            p.some((x) => x.includes("kind must be one of")),
            p.join("\n"),
        );
        assert.ok(p.some((x) => x.includes("object.sha256")));
        assert.ok(p.some((x) => x.includes("content.entries")));
        assert.ok(p.some((x) => x.includes('unknown key "extra"')));
        assert.throws(() => validateManifest(m), ManifestError);
        assert.throws(() => parseManifest("{"), /not JSON/);
    });
});

describe("keys", () => {
    it("names objects and manifests by cluster, kind, time to the millisecond and a random nonce", () => {
        const k = backupKeys({
            prefix: "dtr-ha",
            cluster: "c1",
            kind: "ucp",
            createdAt: new Date("2026-01-31T12:34:56.789Z"),
            encrypted: true,
            nonce: "0a1b2c3d",
        });
        assert.deepEqual(k, {
            objectKey: "dtr-ha/objects/c1/ucp/20260131T123456789Z-0a1b2c3d.tar.zst.age",
            manifestKey: "dtr-ha/manifests/c1/20260131T123456789Z-0a1b2c3d-ucp.manifest.json",
        });
        assert.equal(stamp(new Date("2026-12-01T00:00:00Z")), "20261201T000000Z");
    });
    it("two backups in the same millisecond never share a key", () => {
        const at = new Date("2026-01-31T12:34:56.789Z");
        const keys = new Set<string>();
        for (let i = 0; i < 200; i++) {
            const k = backupKeys({ cluster: "c1", kind: "dtr", createdAt: at, encrypted: false });
            keys.add(k.objectKey).add(k.manifestKey);
        }
        assert.equal(keys.size, 400);
    });
    it("accepts exactly the manifest keys the agent writes, old (second) stamps included", () => {
        const now = backupKeys({ prefix: "a/b", cluster: "c-1.x_y", kind: "swarm", createdAt: new Date(), encrypted: false });
        for (const good of [
            now.manifestKey,
            "manifests/c1/20260131T123456Z-dtr.manifest.json",
            "dtr-ha/manifests/c1/20260131T123456789Z-0a1b2c3d-dtr.manifest.json",
        ])
            assert.equal(manifestKeyProblem(good), null, good);
        assert.deepEqual(parseManifestKey(now.manifestKey)?.prefix, "a/b");
        for (const bad of [
            "",
            "manifests/c1/x.manifest.json",
            "manifests/c1/20260131T123456Z-dtr.manifest.json.bak",
            "manifests/c1/20260131T123456Z-registry.manifest.json",
            "manifests/c1/20260131T123456Z-dtr.manifest.json\n",
            "/manifests/c1/20260131T123456Z-dtr.manifest.json",
            "../manifests/c1/20260131T123456Z-dtr.manifest.json",
            "a/../manifests/c1/20260131T123456Z-dtr.manifest.json",
            "manifests/c1/20260131T123456Z-dtr.manifest.json; rm -rf /",
            "manifests/c1/$(id)20260131T123456Z-dtr.manifest.json",
            "x$(id)/manifests/c1/20260131T123456Z-dtr.manifest.json",
            "a b/manifests/c1/20260131T123456Z-dtr.manifest.json",
            "manifests/-c1/20260131T123456Z-dtr.manifest.json",
            "manifests/c1/sub/20260131T123456Z-dtr.manifest.json",
            "manifests/c1/20260131T123456789Z-0A1B2C3D-dtr.manifest.json",
            "manifests/c1/20260131T123456789Z-dtr.manifest.json",
            "objects/c1/dtr/20260131T123456Z.tar.gz",
        ])
            assert.notEqual(manifestKeyProblem(bad), null, JSON.stringify(bad));
        assert.deepEqual(parseObjectKey("p/objects/c1/dtr/20260131T123456789Z-0a1b2c3d.tar.gz.age"), {
            prefix: "p",
            cluster: "c1",
            kind: "dtr",
            stamp: "20260131T123456789Z-0a1b2c3d",
            compression: "gzip",
            encrypted: true,
        });
        assert.equal(parseObjectKey("p/objects/c1/dtr/20260131T123456789Z-0a1b2c3d.tar.zst")?.compression, "zstd");
        assert.equal(parseObjectKey("p/objects/c1/dtr/20260131T123456789Z-0a1b2c3d.tar.xz"), null);
        assert.equal(parseObjectKey("p/objects/c1/dtr/x.tar.gz"), null);
    });
    it("the catalog ties a manifest to its key: cluster, kind, bucket, object key and encryption must agree", () => {
        const k = backupKeys({ prefix: "p", cluster: "c1", kind: "dtr", createdAt: new Date(), encrypted: false, nonce: "00000001" });
        const m = { ...sampleManifest(), object: { ...sampleManifest().object, bucket: "b", key: k.objectKey } };
        const expect = { prefix: "p", cluster: "c1" };
        assert.deepEqual(placementProblems("b", k.manifestKey, m, expect), []);
        const one = (key: string, mm: typeof m, e: { prefix: string | null; cluster: string | null } = expect) =>
            placementProblems("b", key, mm, e).join("; ");
        assert.match(one(k.manifestKey, m, { prefix: "q", cluster: null }), /under prefix 'p', the catalog is under 'q'/);
        assert.match(one(k.manifestKey, m, { prefix: "p", cluster: "c2" }), /under cluster 'c1', not 'c2'/);
        assert.match(one(k.manifestKey, { ...m, cluster: "c2" }), /says cluster 'c2'/);
        assert.match(one(k.manifestKey, { ...m, kind: "ucp" }), /says kind ucp/);
        assert.match(one(k.manifestKey, { ...m, object: { ...m.object, bucket: "other" } }), /bucket 'other', not in 'b'/);
        assert.match(one(k.manifestKey, { ...m, object: { ...m.object, key: "p/objects/c1/dtr/x.tar.gz" } }), /not of the shape/);
        const other = backupKeys({ prefix: "p", cluster: "c1", kind: "dtr", createdAt: new Date(), encrypted: false, nonce: "00000002" });
        assert.match(one(k.manifestKey, { ...m, object: { ...m.object, key: other.objectKey } }), /does not match the manifest key/);
        assert.match(
            one(k.manifestKey, { ...m, object: { ...m.object, key: `${k.objectKey}.age` } }),
            /ends in .age but the manifest says not/,
        );
        assert.match(k.objectKey, /\.tar\.zst$/, "keys name zstd objects by default");
        assert.match(one(k.manifestKey, { ...m, content: { ...m.content, compression: "gzip" } }), /names zstd but the manifest says gzip/);
        const gz = backupKeys({
            prefix: "p",
            cluster: "c1",
            kind: "dtr",
            createdAt: new Date(),
            encrypted: false,
            nonce: "00000001",
            compression: "gzip",
        });
        assert.match(gz.objectKey, /\.tar\.gz$/);
        assert.deepEqual(
            placementProblems(
                "b",
                gz.manifestKey,
                { ...m, object: { ...m.object, key: gz.objectKey }, content: { ...m.content, compression: "gzip" } },
                expect,
            ),
            [],
        );
        assert.match(one("p/manifests/c1/x.manifest.json", m), /not of the shape/);
    });
    it("newest first by the store's time; equal store times by the object's time, then the key", () => {
        const e = (manifestKey: string, storedAt: string, objectStoredAt: string | null, createdAt: string) =>
            ({ manifestKey, storedAt, objectStoredAt, manifest: { createdAt } }) as unknown as CatalogEntry;
        const list = [
            e("k1", "2026-01-01T00:00:01.000Z", null, "2099-01-01T00:00:00.000Z"),
            e("k2", "2026-01-01T00:00:03.000Z", "2026-01-01T00:00:00.000Z", "2000-01-01T00:00:00.000Z"),
            e("k3", "2026-01-01T00:00:03.000Z", "2026-01-01T00:00:02.000Z", "2000-01-01T00:00:00.000Z"),
            e("k4", "2026-01-01T00:00:03.000Z", "2026-01-01T00:00:02.000Z", "2000-01-01T00:00:00.000Z"),
        ];
        assert.deepEqual(
            [...list].sort(newestFirst).map((x) => x.manifestKey),
            ["k4", "k3", "k2", "k1"],
        );
    });
});

async function check(bytes: Buffer, chunk = 700): Promise<TarCheck> {
    const t = new TarCheck();
    const parts: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += chunk) parts.push(bytes.subarray(i, i + chunk));
    const out: Buffer[] = [];
    await pipeline(Readable.from(parts), t, new Writable({ write: (c, _e, cb) => (out.push(c), cb()) }));
    assert.ok(Buffer.concat(out).equals(bytes), "the tar check must pass bytes through unchanged");
    return t;
}

describe("tar check", () => {
    const tar = tarOf([
        { name: "dtr-backup/manifest.json", data: '{"a":1}' },
        { name: "dtr-backup/zeros.bin", data: Buffer.alloc(3000) },
    ]);
    it("accepts a complete tar, counts entries and lists names", async () => {
        const t = await check(tar);
        assert.equal(t.entries, 2);
        assert.deepEqual(t.files, ["dtr-backup/manifest.json", "dtr-backup/zeros.bin"]);
        // GNU tar pads to 10 KiB records with zeros: still fine.
        assert.equal((await check(Buffer.concat([tar, Buffer.alloc(8192)]))).entries, 2);
    });
    it("refuses a stream cut inside an entry's data", async () => {
        await assert.rejects(check(tar.subarray(0, 2000)), /not a complete tar archive/);
    });
    it("refuses a stream cut exactly between entries (no end-of-archive marker), even when the last data is zeros", async () => {
        const withoutEnd = tar.subarray(0, tar.length - 1024);
        await assert.rejects(check(withoutEnd), /without the end-of-archive marker/);
        await assert.rejects(check(tar.subarray(0, tar.length - 512)), /without the end-of-archive marker/);
    });
    it("refuses empty input, zero entries, a corrupt header and data after the end", async () => {
        await assert.rejects(check(Buffer.alloc(0)), /input was empty/);
        await assert.rejects(check(END_OF_ARCHIVE), /no entries/);
        const bad = Buffer.from(tar);
        bad[10] ^= 0xff; // breaks the first header's checksum
        await assert.rejects(check(bad), /not a complete tar archive/);
        await assert.rejects(check(Buffer.concat([tar, Buffer.from("garbage")])), /not a complete tar archive/);
        await assert.rejects(check(Buffer.from("hello, not a tar".repeat(100))), /not a complete tar archive/);
    });
    it("checks gzip input as not-a-tar (the producer must send the raw tar)", async () => {
        await assert.rejects(check(gzipSync(tar)), /not a complete tar archive/);
    });
    it("header helper makes headers tar-stream accepts with sizes", async () => {
        const t = await check(Buffer.concat([tarHeader("big", 1024), Buffer.alloc(1024, 1), END_OF_ARCHIVE]));
        assert.equal(t.entries, 1);
    });
});

describe("age recipients", () => {
    it("refuses a recipient with a bad checksum before reading a byte of the backup", async () => {
        let read = false;
        const input = new Readable({
            read() {
                read = true;
                this.push(null);
            },
        });
        const typo = RECIPIENT.slice(0, -1) + "q"; // one character off: the bech32 checksum fails
        const s3 = new S3Client({
            region: "us-east-1",
            endpoint: "http://127.0.0.1:9",
            credentials: { accessKeyId: "x", secretAccessKey: "y" },
        });
        await assert.rejects(
            uploadBackup(input, s3, {
                bucket: "b",
                key: "k",
                kind: "dtr",
                cluster: "c",
                sourceStack: null,
                meta: {},
                recipients: [typo],
                lock: null,
            }),
            /--recipient 'age1.*' is not a valid age public key \(Invalid checksum/,
        );
        assert.equal(read, false);
        s3.destroy();
    });
});

describe("parallel compression", () => {
    async function roundTrip(codec: Compression, data: Buffer, chunk: number, parallel: number): Promise<Buffer> {
        const parts: Buffer[] = [];
        for (let i = 0; i < data.length; i += chunk) parts.push(data.subarray(i, i + chunk));
        const out: Buffer[] = [];
        await pipeline(
            Readable.from(parts),
            new ParallelCompress(codec, codec === "gzip" ? 6 : 1, 256 * 1024, parallel),
            new Writable({ write: (c, _e, cb) => (out.push(c), cb()) }),
        );
        return Buffer.concat(out);
    }
    async function streamed(codec: Compression, packed: Buffer): Promise<Buffer> {
        const out: Buffer[] = [];
        // Cut at odd places, so frames and members straddle chunks.
        const parts: Buffer[] = [];
        for (let i = 0; i < packed.length; i += 7_777) parts.push(packed.subarray(i, i + 7_777));
        await pipeline(Readable.from(parts), createDecompress(codec), new Writable({ write: (c, _e, cb) => (out.push(c), cb()) }));
        return Buffer.concat(out);
    }
    const data = Buffer.concat([randomBytes(700_000), Buffer.from("compressible ".repeat(90_000)), randomBytes(123_457)]);
    const shapes = [
        [65_536, 3],
        [1_000_003, 2],
        [4_096, 1],
    ];
    it("writes gzip members in order that gunzip (node and gzip(1)) read back as the same bytes", async () => {
        for (const [chunk, parallel] of shapes) {
            const gz = await roundTrip("gzip", data, chunk, parallel);
            assert.ok(gunzipSync(gz).equals(data), `node gunzip, chunk ${chunk}, parallel ${parallel}`);
            assert.ok((await streamed("gzip", gz)).equals(data), "the restore's gunzip stream");
            assert.ok(
                execFileSync("gzip", ["-dc"], { input: gz, maxBuffer: 64 << 20 }).equals(data),
                "gzip -dc reads the concatenated members",
            );
        }
        assert.ok(gunzipSync(await roundTrip("gzip", Buffer.from("x"), 1, 3)).equals(Buffer.from("x")));
    });
    it("writes zstd frames in order that zstd (node and zstd(1)) read back as the same bytes", async () => {
        for (const [chunk, parallel] of shapes) {
            const zst = await roundTrip("zstd", data, chunk, parallel);
            assert.ok(zst.length < data.length * 0.6, `compresses the text (${zst.length} of ${data.length})`);
            assert.ok(zstdDecompressSync(zst).equals(data), `node zstd, chunk ${chunk}, parallel ${parallel}`);
            assert.ok((await streamed("zstd", zst)).equals(data), "the restore's zstd stream reads every frame");
            assert.ok(
                execFileSync("zstd", ["-dc"], { input: zst, maxBuffer: 64 << 20 }).equals(data),
                "zstd -dc reads the concatenated frames",
            );
        }
        assert.ok(zstdDecompressSync(await roundTrip("zstd", Buffer.from("x"), 1, 3)).equals(Buffer.from("x")));
    });
    it("a damaged zstd frame fails the restore's stream (frames carry a checksum)", async () => {
        const zst = await roundTrip("zstd", data, 65_536, 3);
        const bad = Buffer.from(zst);
        bad[Math.floor(bad.length / 2)] ^= 0x40;
        await assert.rejects(streamed("zstd", bad));
    });
});

describe("age payload with Node's crypto", () => {
    async function through(t: Transform, input: Buffer, cut: number): Promise<Buffer> {
        const parts: Buffer[] = [];
        for (let i = 0; i < input.length; i += cut) parts.push(input.subarray(i, i + cut));
        const out: Buffer[] = [];
        await pipeline(Readable.from(parts), t, new Writable({ write: (c, _e, cb) => (out.push(c), cb()) }));
        return Buffer.concat(out);
    }
    async function seal(recipient: string, plain: Buffer, cut = 10_007): Promise<Buffer> {
        const f = await newAgeFile([recipient]);
        return through(new AgeEncrypt(f.prefix, f.key), plain, cut);
    }
    const sizes = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 200_001];

    it("writes age files the age-encryption library decrypts, for X25519 and hybrid post-quantum recipients", async () => {
        for (const gen of [generateX25519Identity, generateHybridIdentity]) {
            const id = await gen();
            const d = new Decrypter();
            d.addIdentity(id);
            for (const n of sizes) {
                const plain = randomBytes(n);
                const sealed = await seal(await identityToRecipient(id), plain);
                assert.ok(Buffer.from(await d.decrypt(new Uint8Array(sealed))).equals(plain), `${gen.name} ${n} bytes`);
            }
        }
    });
    it("reads age files the library wrote, and its own, cut anywhere", async () => {
        const id = await generateX25519Identity();
        const e = new Encrypter();
        e.addRecipient(await identityToRecipient(id));
        for (const n of sizes) {
            const plain = randomBytes(n);
            const sealed = Buffer.from(await e.encrypt(new Uint8Array(plain)));
            for (const cut of [1_000, 65_552, 1 << 20])
                assert.ok((await through(new AgeDecrypt(makeDecrypter(id, "test")), sealed, cut)).equals(plain), `${n} bytes cut ${cut}`);
        }
    });
    it("refuses a wrong identity, a flipped bit, a truncated or extended payload", async () => {
        const id = await generateX25519Identity();
        const plain = randomBytes(3 * CHUNK + 5);
        const sealed = await seal(await identityToRecipient(id), plain);
        const open = (b: Buffer, who = id): Promise<Buffer> => through(new AgeDecrypt(makeDecrypter(who, "test")), b, 30_000);
        assert.ok((await open(sealed)).equals(plain));
        await assert.rejects(open(sealed, await generateX25519Identity()), /cannot decrypt: no identity matched/);
        const flipped = Buffer.from(sealed);
        flipped[sealed.length - 100] ^= 1;
        await assert.rejects(open(flipped), /fails authentication/);
        const headerLen = sealed.indexOf("\n--- ");
        // Cut after the 2nd full chunk: a file that ends on a chunk boundary must end with a "last" chunk.
        const end = sealed.length - (5 + 16);
        await assert.rejects(open(sealed.subarray(0, end)), /fails authentication.*truncated/);
        await assert.rejects(open(sealed.subarray(0, end - 10)), /fails authentication/);
        await assert.rejects(open(sealed.subarray(0, headerLen + 3)), /ends inside its header/);
        await assert.rejects(open(Buffer.concat([sealed, Buffer.alloc(17)])), /fails authentication/);
        // The same file sealed by the library's pure-JS STREAM has the same length: the layout is age's.
        const e = new Encrypter();
        e.addRecipient(await identityToRecipient(id));
        assert.equal((await e.encrypt(new Uint8Array(plain))).length, sealed.length);
    });
});

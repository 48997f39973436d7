// Pure parts: flags, manifest, keys, S3 env, and the tar check on in-memory streams.
import assert from "node:assert/strict";
import { Readable, Writable } from "node:stream";
import { gunzipSync, gzipSync } from "node:zlib";
import { randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { pipeline } from "node:stream/promises";
import { parseDownload, parseList, parsePutManifest, parseUpload, UsageError } from "../src/flags";
import { backupKeys, stamp } from "../src/keys";
import { buildManifest, manifestProblems, ManifestError, parseManifest, validateManifest } from "../src/manifest";
import { s3SettingsFromEnv } from "../src/s3";
import { TarCheck } from "../src/tar-check";
import { ParallelGzip } from "../src/pgzip";
import { uploadBackup } from "../src/upload";
import { S3Client } from "@aws-sdk/client-s3";
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
    it("names objects and manifests by cluster, kind and time", () => {
        const k = backupKeys({
            prefix: "dtr-ha",
            cluster: "c1",
            kind: "ucp",
            createdAt: new Date("2026-01-31T12:34:56.789Z"),
            encrypted: true,
        });
        assert.deepEqual(k, {
            objectKey: "dtr-ha/objects/c1/ucp/20260131T123456Z.tar.gz.age",
            manifestKey: "dtr-ha/manifests/c1/20260131T123456Z-ucp.manifest.json",
        });
        assert.equal(stamp(new Date("2026-12-01T00:00:00Z")), "20261201T000000Z");
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

describe("parallel gzip", () => {
    async function roundTrip(data: Buffer, chunk: number, parallel: number): Promise<Buffer> {
        const parts: Buffer[] = [];
        for (let i = 0; i < data.length; i += chunk) parts.push(data.subarray(i, i + chunk));
        const out: Buffer[] = [];
        await pipeline(
            Readable.from(parts),
            new ParallelGzip(6, 256 * 1024, parallel),
            new Writable({ write: (c, _e, cb) => (out.push(c), cb()) }),
        );
        return Buffer.concat(out);
    }
    it("writes members in order that gunzip (node and gzip(1)) read back as the same bytes", async () => {
        const data = Buffer.concat([randomBytes(700_000), Buffer.from("compressible ".repeat(90_000)), randomBytes(123_457)]);
        for (const [chunk, parallel] of [
            [65_536, 3],
            [1_000_003, 2],
            [4_096, 1],
        ]) {
            const gz = await roundTrip(data, chunk, parallel);
            assert.ok(gunzipSync(gz).equals(data), `node gunzip, chunk ${chunk}, parallel ${parallel}`);
            assert.ok(
                execFileSync("gzip", ["-dc"], { input: gz, maxBuffer: 64 << 20 }).equals(data),
                "gzip -dc reads the concatenated members",
            );
        }
        assert.ok(gunzipSync(await roundTrip(Buffer.from("x"), 1, 3)).equals(Buffer.from("x")));
    });
});

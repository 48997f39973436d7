/**
 * The shape of the object keys the backup agent writes (backup-agent/src/keys.ts, `backupKeys`), mirrored here so a key
 * that reaches a host script or the agent can be checked first. A manifest key is exactly
 *
 *     [<prefix>/]manifests/<cluster>/<stamp>-<kind>.manifest.json
 *
 * with <prefix> segments of A-Z a-z 0-9 . _ - (not starting with . or -, so no `.`/`..` segment and nothing that reads
 * as a flag), <cluster> a cluster name as `cluster.name` allows it (a-z 0-9 -), <stamp> the agent's UTC stamp
 * YYYYMMDDTHHMMSSZ and <kind> one of dtr, ucp, swarm. Nothing else (no space, quote, `$`, backslash, control
 * character or leading `/`) can be part of such a key, so a key that passes is safe as a shell word and an S3 key.
 */

/** One prefix segment: what `backup.prefix` allows between slashes. */
export const PREFIX_SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;
/** A backup prefix: segments joined by `/`, no leading or trailing slash, at most 512 characters (empty: none). */
export const BACKUP_PREFIX = /^(?=.{1,512}$)[A-Za-z0-9_][A-Za-z0-9._-]*(\/[A-Za-z0-9_][A-Za-z0-9._-]*)*$/;
/** The cluster names `cluster.name` allows (and so the only ones this project writes into keys). */
export const KEY_CLUSTER = /^[a-z0-9][a-z0-9-]{0,40}$/;
export const BACKUP_KINDS = ["dtr", "ucp", "swarm"] as const;
export type BackupKind = (typeof BACKUP_KINDS)[number];

const SHAPE = "[<prefix>/]manifests/<cluster>/<YYYYMMDDTHHMMSSmmmZ-nonce>-<dtr|ucp|swarm>.manifest.json";
const EXAMPLE = "dtr/manifests/prod-dtr/20261125T023000123Z-1a2b3c4d-dtr.manifest.json";
const MANIFEST = /^(?:(.+)\/)?manifests\/([^/]+)\/([^/]+)-([^/-]+)\.manifest\.json$/;
/** The agent's stamp: to the millisecond with a nonce, or (older agents) to the second. */
const STAMP = /^\d{8}T\d{6}(?:\d{3}Z-[0-9a-f]{8}|Z)$/;

export interface ManifestKeyParts {
    prefix: string;
    cluster: string;
    stamp: string;
    kind: BackupKind;
}

/**
 * Why `key` is not a manifest key of the agent's shape (and, when given, of this cluster and kind), or undefined when
 * it is one. The text says what is wrong and what a good key looks like; the caller names the setting it came from.
 */
export function manifestKeyProblem(key: unknown, expect: { cluster?: string; kind?: BackupKind } = {}): string | undefined {
    const fix = `give a manifest key exactly as \`npm run backups -- list\` prints it: ${SHAPE}, e.g. ${EXAMPLE}`;
    if (typeof key !== "string" || key === "") return `is empty or not a string: ${fix}`;
    if (Buffer.byteLength(key) > 1024) return `is ${Buffer.byteLength(key)} bytes long (S3 keys are at most 1024): ${fix}`;
    if (key.startsWith("/")) return `starts with '/' (S3 keys have no leading slash): ${fix}`;
    if (key.split("/").some((s) => s === "." || s === "..")) return `has a '.' or '..' segment: ${fix}`;
    const bad = key.match(/[^A-Za-z0-9._/-]/);
    if (bad) return `holds ${JSON.stringify(bad[0])}, which no backup key has (only A-Z a-z 0-9 . _ - /): ${fix}`;
    const m = MANIFEST.exec(key);
    if (!m) return `is not of the shape ${SHAPE}: ${fix}`;
    const [, prefix = "", cluster, stamp, kind] = m;
    if (prefix && !prefix.split("/").every((s) => PREFIX_SEGMENT.test(s)))
        return `has the prefix ${JSON.stringify(prefix)}, whose segments must start with a letter, digit or _: ${fix}`;
    if (!KEY_CLUSTER.test(cluster)) return `names the cluster ${JSON.stringify(cluster)}, which is not a cluster name (a-z 0-9 -): ${fix}`;
    if (!STAMP.test(stamp)) return `has the stamp ${JSON.stringify(stamp)}, not the agent's YYYYMMDDTHHMMSSmmmZ-nonce: ${fix}`;
    if (!(BACKUP_KINDS as readonly string[]).includes(kind)) return `is of kind ${JSON.stringify(kind)}, not dtr, ucp or swarm: ${fix}`;
    if (expect.kind !== undefined && kind !== expect.kind)
        return `is a ${kind} backup; a ${expect.kind} backup is needed here: pick a key ending in -${expect.kind}.manifest.json`;
    if (expect.cluster !== undefined && cluster !== expect.cluster)
        return (
            `is a backup of cluster ${JSON.stringify(cluster)}, not of this stack's cluster.name ${JSON.stringify(expect.cluster)}: ` +
            `pick one of ${expect.cluster}'s backups, or to restore ${cluster}'s backup set cluster.name to ${JSON.stringify(cluster)}`
        );
    return undefined;
}

/** The parts of a key `manifestKeyProblem` accepts; throws with the problem otherwise. */
export function parseManifestKey(key: string): ManifestKeyParts {
    const problem = manifestKeyProblem(key);
    if (problem) throw new Error(`manifest key ${JSON.stringify(key)} ${problem}`);
    const m = MANIFEST.exec(key)!;
    return { prefix: m[1] ?? "", cluster: m[2], stamp: m[3], kind: m[4] as BackupKind };
}

// Backup archive: metadata only (image layers stay in the storage backend, as in DTR).
//   dtr-backup/manifest.json           format, DTR version, replica id, creation time, revision
//   dtr-backup/metadata/cluster.json   cluster id, URLs, replica set at backup time, storage settings
//   dtr-backup/metadata/repositories.json, teamAccess.json
//   dtr-backup/metadata/auth.json      admin scrypt hash
//   dtr-backup/metadata/certs.json     TLS cert, key, CA (the archive holds private keys: encrypt it at rest)
//   dtr-backup/metadata/settings.json, scans.json, notary.json: settings, scan results, Notary trust data
//   (ee/admin/backup/back-up-dtr.md: configurations, scan results and Notary data are in DTR's backup)
import { pack, unpack } from "./tar";
import { ClusterDoc, Stored } from "./state";
import { UserError } from "./log";

export const BACKUP_FORMAT = "dtr-sim-backup/1";

export interface BackupManifest {
    format: string;
    dtrVersion: string;
    replicaId: string;
    clusterId: string;
    created: string;
    rev: number;
    files: Record<string, { bytes: number }>;
}

export function makeBackup(stored: Stored, replicaId: string, now = new Date()): Buffer {
    const d = stored.doc;
    const { repositories, teamAccess, admin, tls, settings, scans, trust, ...cluster } = d;
    const files: Record<string, Buffer> = {
        "dtr-backup/metadata/cluster.json": json(cluster),
        "dtr-backup/metadata/repositories.json": json(repositories),
        "dtr-backup/metadata/teamAccess.json": json(teamAccess),
        "dtr-backup/metadata/auth.json": json(admin),
        "dtr-backup/metadata/certs.json": json(tls),
        ...(settings ? { "dtr-backup/metadata/settings.json": json(settings) } : {}),
        ...(scans ? { "dtr-backup/metadata/scans.json": json(scans) } : {}),
        ...(trust ? { "dtr-backup/metadata/notary.json": json(trust) } : {}),
    };
    const manifest: BackupManifest = {
        format: BACKUP_FORMAT,
        dtrVersion: d.dtrVersion,
        replicaId,
        clusterId: d.clusterId,
        created: now.toISOString(),
        rev: stored.rev,
        files: Object.fromEntries(Object.entries(files).map(([k, v]) => [k, { bytes: v.length }])),
    };
    return pack(
        [
            { name: "dtr-backup", data: Buffer.alloc(0), type: "dir" },
            { name: "dtr-backup/manifest.json", data: json(manifest) },
            { name: "dtr-backup/metadata", data: Buffer.alloc(0), type: "dir" },
            ...Object.entries(files).map(([name, data]) => ({ name, data })),
        ],
        Math.floor(now.getTime() / 1000),
    );
}

function json(v: unknown): Buffer {
    return Buffer.from(JSON.stringify(v, null, 2) + "\n");
}

export function readBackup(buf: Buffer): { manifest: BackupManifest; stored: Stored } {
    if (buf.length === 0) throw new UserError(`the backup on stdin is empty: pipe it in with 'docker run -i ... restore ... < backup.tar'`);
    let entries;
    try {
        entries = unpack(buf);
    } catch (e) {
        throw new UserError(`stdin is not a dtr-sim backup archive: ${(e as Error).message}`);
    }
    const files = new Map(entries.filter((e) => e.type !== "dir").map((e) => [e.name.replace(/^\.\//, ""), e.data]));
    const get = (name: string): unknown => {
        const f = files.get(name);
        if (!f) throw new UserError(`backup archive lacks ${name}: not a dtr-sim backup, or truncated`);
        try {
            return JSON.parse(f.toString("utf8"));
        } catch {
            throw new UserError(`backup file ${name} is not valid JSON`);
        }
    };
    const manifest = get("dtr-backup/manifest.json") as BackupManifest;
    if (manifest.format !== BACKUP_FORMAT) throw new UserError(`backup format '${manifest.format}' is not ${BACKUP_FORMAT}`);
    for (const [name, meta] of Object.entries(manifest.files)) {
        const f = files.get(name);
        if (!f || f.length !== meta.bytes)
            throw new UserError(`backup file ${name} is missing or has the wrong size: the archive is damaged`);
    }
    const cluster = get("dtr-backup/metadata/cluster.json") as Omit<
        ClusterDoc,
        "repositories" | "teamAccess" | "admin" | "tls" | "settings" | "scans" | "trust"
    >;
    const doc: ClusterDoc = {
        ...cluster,
        repositories: get("dtr-backup/metadata/repositories.json") as ClusterDoc["repositories"],
        teamAccess: get("dtr-backup/metadata/teamAccess.json") as ClusterDoc["teamAccess"],
        admin: get("dtr-backup/metadata/auth.json") as ClusterDoc["admin"],
        tls: get("dtr-backup/metadata/certs.json") as ClusterDoc["tls"],
    };
    // Listed in the archive's manifest means required (a missing one is damage, checked above); a backup of an earlier
    // dtr-sim has none of these files and restores with the defaults.
    const listed = (name: string) => name in manifest.files;
    if (listed("dtr-backup/metadata/settings.json")) doc.settings = get("dtr-backup/metadata/settings.json") as ClusterDoc["settings"];
    if (listed("dtr-backup/metadata/scans.json")) doc.scans = get("dtr-backup/metadata/scans.json") as ClusterDoc["scans"];
    if (listed("dtr-backup/metadata/notary.json")) doc.trust = get("dtr-backup/metadata/notary.json") as ClusterDoc["trust"];
    return { manifest, stored: { rev: manifest.rev, writer: manifest.replicaId, doc } };
}

/**
 * DTR's restore takes `--replica-id <replica-id>`, "the id of the replica you backed up" (docker/docs
 * ee/admin/restore/restore-dtr.md); the backup records which replica that was. Whether DTR refuses another id is not
 * documented: dtr-sim refuses it, before anything changes, so a caller that restores under a new id fails in the lab
 * rather than only on DTR.
 */
export function checkRestoreReplicaId(given: string, manifest: BackupManifest): void {
    if (given !== manifest.replicaId)
        throw new UserError(
            `--replica-id ${given} is not the replica this backup was taken from (${manifest.replicaId}): restore with --replica-id ${manifest.replicaId}, the id of the replica you backed up`,
        );
}

// The replicated metadata document and the pure operations on it.
import { randomBytes } from "node:crypto";
import { AdminCredential } from "./auth";
import { StorageSettings, backendIdentity } from "./settings";
import { UserError } from "./log";
import { DtrSettings, ScanRecord, TrustRecord } from "./metadata";

export interface Replica {
    id: string;
    node: string;
    httpPort: number;
    httpsPort: number;
    joinedAt: string;
}

export interface Repository {
    id: string;
    namespace: string;
    name: string;
    visibility: "public" | "private";
    shortDescription: string;
    longDescription: string;
    createdAt: string;
}

export type AccessLevel = "read-only" | "read-write" | "admin";
export interface TeamAccess {
    namespace: string;
    repository: string;
    team: string;
    accessLevel: AccessLevel;
}

export interface ClusterDoc {
    format: 1;
    clusterId: string;
    dtrVersion: string;
    createdAt: string;
    ucpUrl: string;
    externalUrl: string;
    admin: AdminCredential;
    secret: string; // internal peer auth and the registry's http.secret
    tls: { cert: string; key: string; ca: string };
    replicas: Replica[];
    joinLock?: { replicaId: string; node: string; since: string };
    storage: StorageSettings;
    storageVolume?: string; // --dtr-storage-volume: a volume name or an absolute host path
    nfsUrl?: string;
    // Absent in state files and backups of earlier dtr-sim versions (then: defaults, none, none).
    settings?: DtrSettings;
    scans?: ScanRecord[];
    trust?: TrustRecord[];
    repositories: Repository[];
    teamAccess: TeamAccess[];
    /**
     * Tag metadata since the last switch of storage backends: "starting in DTR 2.6, switching storage backends
     * initializes a new metadata store and erases your existing tags" (docker/docs ee/dtr/admin/configure/
     * external-storage/storage-backend-migration.md). Absent until a switch: every tag the registry holds is listed.
     * Present: only tags pushed since (`ns/name:tag`), although the blobs and manifests stay in the storage.
     */
    tagStore?: { since: string; tags: string[] };
}

/** A document with its revision: the store keeps the highest (rev, writer) it has seen. */
export interface Stored {
    rev: number;
    writer: string;
    /** When this revision was written (ISO time): cluster_status's replica_timestamp. Absent in older state files. */
    at?: string;
    doc: ClusterDoc;
}

export function newer(a: { rev: number; writer: string }, b: { rev: number; writer: string }): boolean {
    return a.rev > b.rev || (a.rev === b.rev && a.writer > b.writer);
}

export function randomReplicaId(): string {
    return randomBytes(6).toString("hex");
}

export const JOIN_LOCK_MS = 10 * 60 * 1000;

const nameRe = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
function checkName(kind: string, v: unknown): string {
    if (typeof v !== "string" || !nameRe.test(v) || v.length > 255) {
        throw new UserError(`${kind} ${JSON.stringify(v)} is invalid: use lowercase letters, digits and single . _ - between them`);
    }
    return v;
}

export function findRepo(doc: ClusterDoc, namespace: string, name: string): Repository | undefined {
    return doc.repositories.find((r) => r.namespace === namespace && r.name === name);
}

export type Op =
    | { op: "createRepo"; namespace: string; body: Record<string, unknown> }
    | { op: "deleteRepo"; namespace: string; name: string }
    | { op: "setTeamAccess"; namespace: string; name: string; team: string; accessLevel: unknown }
    | { op: "deleteTeamAccess"; namespace: string; name: string; team: string }
    | {
          op: "setStorage";
          storage: StorageSettings;
          storageVolume?: string | null;
          nfsUrl?: string | null;
          /** reconfigure --storage-migrated (DTR 2.6.4+): the data was copied, the tags stay. */
          migrated?: boolean;
          now?: string;
      }
    | { op: "recordTag"; repository: string; tag: string }
    | { op: "setExternalUrl"; url: string }
    | { op: "beginJoin"; replicaId: string; node: string; now: string }
    | { op: "finishJoin"; replica: Replica }
    | { op: "abortJoin"; replicaId: string }
    | { op: "removeReplicas"; ids: string[] }
    | { op: "setVersion"; version: string }
    | { op: "setSettings"; settings: DtrSettings }
    | { op: "recordScan"; scan: ScanRecord }
    | { op: "signTag"; trust: TrustRecord };

/** Applies one operation to a copy of the document; throws UserError (HTTP 4xx) when it does not apply. */
export function apply(docIn: ClusterDoc, op: Op): ClusterDoc {
    const doc = JSON.parse(JSON.stringify(docIn)) as ClusterDoc;
    switch (op.op) {
        case "createRepo": {
            const name = checkName("repository name", op.body.name);
            checkName("namespace", op.namespace);
            if (findRepo(doc, op.namespace, name)) throw new ConflictError(`repository ${op.namespace}/${name} already exists`);
            const vis = op.body.visibility ?? "private";
            if (vis !== "public" && vis !== "private")
                throw new UserError(`visibility ${JSON.stringify(vis)} must be "public" or "private"`);
            doc.repositories.push({
                id: randomBytes(16).toString("hex"),
                namespace: op.namespace,
                name,
                visibility: vis,
                shortDescription: String(op.body.shortDescription ?? ""),
                longDescription: String(op.body.longDescription ?? ""),
                createdAt: new Date().toISOString(),
            });
            return doc;
        }
        case "deleteRepo": {
            if (!findRepo(doc, op.namespace, op.name)) throw new NotFoundError(`repository ${op.namespace}/${op.name} does not exist`);
            // swagger DeleteRepository: 405 REPOSITORY_CONTAINS_TAGS_IN_NOTARY "can't be deleted until all tags in notary are removed".
            if ((doc.trust ?? []).some((t) => t.gun.endsWith(`/${op.namespace}/${op.name}`)))
                throw new NotAllowedError(
                    `REPOSITORY_CONTAINS_TAGS_IN_NOTARY: repository ${op.namespace}/${op.name} contains tags in notary and can't be deleted until all tags in notary are removed`,
                );
            doc.scans = (doc.scans ?? []).filter((x) => !(x.namespace === op.namespace && x.repository === op.name));
            doc.repositories = doc.repositories.filter((r) => !(r.namespace === op.namespace && r.name === op.name));
            doc.teamAccess = doc.teamAccess.filter((t) => !(t.namespace === op.namespace && t.repository === op.name));
            return doc;
        }
        case "setTeamAccess": {
            if (!findRepo(doc, op.namespace, op.name)) throw new NotFoundError(`repository ${op.namespace}/${op.name} does not exist`);
            checkName("team name", op.team);
            const lvl = op.accessLevel;
            if (lvl !== "read-only" && lvl !== "read-write" && lvl !== "admin") {
                throw new UserError(`accessLevel ${JSON.stringify(lvl)} must be "read-only", "read-write" or "admin"`);
            }
            doc.teamAccess = doc.teamAccess.filter(
                (t) => !(t.namespace === op.namespace && t.repository === op.name && t.team === op.team),
            );
            doc.teamAccess.push({ namespace: op.namespace, repository: op.name, team: op.team, accessLevel: lvl });
            return doc;
        }
        case "deleteTeamAccess": {
            const before = doc.teamAccess.length;
            doc.teamAccess = doc.teamAccess.filter(
                (t) => !(t.namespace === op.namespace && t.repository === op.name && t.team === op.team),
            );
            if (doc.teamAccess.length === before) throw new NotFoundError(`team ${op.team} has no access to ${op.namespace}/${op.name}`);
            return doc;
        }
        case "setStorage": {
            const before = backendIdentity(doc.storage, doc.storageVolume, doc.nfsUrl);
            doc.storage = op.storage;
            if (op.storageVolume !== undefined) doc.storageVolume = op.storageVolume ?? undefined;
            if (op.nfsUrl !== undefined) doc.nfsUrl = op.nfsUrl ?? undefined;
            // A switch of backends erases the tags (storage-backend-migration.md), unless reconfigure was told the data
            // was migrated (--storage-migrated, reference/dtr/2.7/cli/reconfigure.md). The same backend again is no switch.
            if (backendIdentity(doc.storage, doc.storageVolume, doc.nfsUrl) !== before && !op.migrated)
                doc.tagStore = { since: op.now ?? new Date().toISOString(), tags: [] };
            return doc;
        }
        case "recordTag":
            if (doc.tagStore && !doc.tagStore.tags.includes(`${op.repository}:${op.tag}`))
                doc.tagStore.tags.push(`${op.repository}:${op.tag}`);
            return doc;
        case "setExternalUrl":
            doc.externalUrl = op.url;
            return doc;
        case "beginJoin": {
            if (doc.replicas.some((r) => r.id === op.replicaId))
                throw new ConflictError(`replica ${op.replicaId} is already a member of this cluster`);
            const lock = doc.joinLock;
            if (lock && Date.parse(op.now) - Date.parse(lock.since) < JOIN_LOCK_MS) {
                throw new ConflictError(
                    `another join is in progress (replica ${lock.replicaId} on ${lock.node}, since ${lock.since}): DTR joins one replica at a time. ` +
                        `Wait for it to finish; a stale lock expires ${JOIN_LOCK_MS / 60000} min after it was taken.`,
                );
            }
            doc.joinLock = { replicaId: op.replicaId, node: op.node, since: op.now };
            return doc;
        }
        case "finishJoin":
            if (doc.joinLock?.replicaId !== op.replica.id) throw new ConflictError(`replica ${op.replica.id} holds no join lock`);
            doc.replicas.push(op.replica);
            delete doc.joinLock;
            return doc;
        case "abortJoin":
            if (doc.joinLock?.replicaId === op.replicaId) delete doc.joinLock;
            return doc;
        case "removeReplicas": {
            for (const id of op.ids) {
                if (!doc.replicas.some((r) => r.id === id))
                    throw new NotFoundError(
                        `replica ${id} is not a member of this cluster (members: ${doc.replicas.map((r) => r.id).join(", ")})`,
                    );
            }
            doc.replicas = doc.replicas.filter((r) => !op.ids.includes(r.id));
            if (doc.replicas.length === 0) throw new UserError(`cannot remove every replica: use destroy on each instead`);
            return doc;
        }
        case "setVersion":
            doc.dtrVersion = op.version;
            return doc;
        case "setSettings":
            doc.settings = op.settings;
            return doc;
        case "recordScan": {
            const s = op.scan;
            if (!findRepo(doc, s.namespace, s.repository))
                throw new NotFoundError(`repository ${s.namespace}/${s.repository} does not exist`);
            // One result per tag, os and arch: a new scan replaces the older one.
            doc.scans = (doc.scans ?? []).filter(
                (x) =>
                    !(
                        x.namespace === s.namespace &&
                        x.repository === s.repository &&
                        x.tag === s.tag &&
                        x.os === s.os &&
                        x.arch === s.arch
                    ),
            );
            doc.scans.push(s);
            return doc;
        }
        case "signTag": {
            const t = op.trust;
            doc.trust = (doc.trust ?? []).filter((x) => !(x.gun === t.gun && x.tag === t.tag));
            doc.trust.push(t);
            return doc;
        }
    }
}

export class ConflictError extends UserError {
    status = 409;
}
export class NotAllowedError extends UserError {
    status = 405;
}
export class NotFoundError extends UserError {
    status = 404;
}

/** Whether DTR's metadata still knows `repository:tag` (every tag, until a backend switch erased them). */
export function tagKnown(doc: ClusterDoc, repository: string, tag: string): boolean {
    return !doc.tagStore || doc.tagStore.tags.includes(`${repository}:${tag}`);
}

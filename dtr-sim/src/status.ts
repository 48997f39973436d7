// GET /api/v0/meta/cluster_status, computed from what one replica knows. Pure, so unit tests reach it.
import { ClusterDoc } from "./state";
import { PeerView } from "./store";

export const PEER_FRESH_MS = 8000;

export interface SelfView {
    id: string;
    version: string;
    health: { Healthy: boolean; Error?: string };
    /** Revision and write time of this replica's copy. */
    stored: { rev: number; at?: string };
    /** Whether writes can commit through this replica now (member with quorum). */
    canWrite: boolean;
}

function storageReadonly(doc: ClusterDoc): boolean {
    const m = doc.storage.maintenance as { readonly?: { enabled?: boolean } } | undefined;
    return m?.readonly?.enabled === true;
}

/**
 * Fields of DTR 2.7's `responses.ClusterStatus` (docker/docs reference/dtr/2.7/api/main.js) that dtr-sim models:
 * - `replica_health`: replica id → "OK" or an error text (ee/dtr/admin/monitor-and-troubleshoot shows
 *   `{"f2277ad178f7": "OK", ...}`); "OK" only when that replica itself reports healthy, so a replica without quorum
 *   shows its rethinkdb error, an unreachable one "unreachable: …";
 * - `replica_timestamp`: replica id → time (RFC 3339) of the last metadata write that replica applied, as last
 *   seen; the newest one is the survivor to give emergency-repair (it keeps only that replica's data);
 *   absent for a replica never heard from;
 * - `replica_readonly`: replica id → true when writes cannot go through that replica now (no quorum, unreachable, or
 *   the storage's maintenance read-only mode). The swagger gives no definition: dtr-sim's reading.
 * `current_issues` (strings), `replicas`, `quorum`, `replica_version`, ... are kept as before (dtr-sim extras).
 */
export function clusterStatus(doc: ClusterDoc, self: SelfView, peers: Map<string, PeerView>, now = Date.now()) {
    const health: Record<string, string> = {};
    const timestamps: Record<string, string> = {};
    const readonly: Record<string, boolean> = {};
    const versions: Record<string, string> = {};
    const issues: string[] = [];
    const ro = storageReadonly(doc);
    for (const r of doc.replicas) {
        if (r.id === self.id) {
            health[r.id] = self.health.Healthy ? "OK" : (self.health.Error ?? "unhealthy");
            if (self.stored.at) timestamps[r.id] = self.stored.at;
            readonly[r.id] = ro || !self.canWrite;
            versions[r.id] = self.version;
            if (!self.health.Healthy) issues.push(`replica ${r.id}: ${self.health.Error}`);
            continue;
        }
        const v = peers.get(r.id);
        const up = !!v?.ok && now - v.at < PEER_FRESH_MS;
        if (!up) health[r.id] = `unreachable: ${v?.error ?? "not contacted yet"}`;
        else if (v?.health?.Healthy === false) health[r.id] = v.health.Error ?? "unhealthy";
        else health[r.id] = "OK";
        if (v?.stored?.at) timestamps[r.id] = v.stored.at;
        readonly[r.id] = ro || !up || (v?.health?.Healthy === false && String(v.health.Error).startsWith("rethinkdb"));
        if (v?.health?.version) versions[r.id] = v.health.version;
        if (!up) issues.push(`replica ${r.id} on ${r.node} is unreachable: ${v?.error ?? "not contacted yet"}`);
        else if (health[r.id] !== "OK") issues.push(`replica ${r.id}: ${health[r.id]}`);
    }
    return { replica_health: health, replica_timestamp: timestamps, replica_readonly: readonly, replica_version: versions, issues };
}

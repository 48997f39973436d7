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

/** An entry of `current_issues` as DTR returns it (ee/dtr/admin/monitor-and-troubleshoot/index.md). */
export interface Issue {
    critical: boolean;
    description: string;
}

/** A row of RethinkDB's `rethinkdb.current_issues` system table (RethinkDB docs, "System current issues table"). */
export interface RethinkIssue extends Issue {
    id: string;
    type: string;
    info: Record<string, unknown>;
}

/** RethinkDB's server name of a DTR replica (troubleshoot-dtr.md: `"name": "dtr_rethinkdb_5eb9459a7832"`). */
export const rethinkServer = (id: string) => `dtr_rethinkdb_${id}`;

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
 * - `rethink_system_tables`: RethinkDB's system tables as the replica sees them. Its shape is what
 *   ee/dtr/admin/monitor-and-troubleshoot/troubleshoot-dtr.md shows ("Example API Response": `cluster_config`,
 *   `current_issues`, `db_config`, `server_status` with `name: dtr_rethinkdb_<id>` and `network.connected_to`); its
 *   `current_issues` rows are RethinkDB's `{id, type, critical, info, description}`.
 * - `issues` → the response's top-level `current_issues`, `{critical, description}` objects as
 *   ee/dtr/admin/monitor-and-troubleshoot/index.md shows. Evidence conflicts on where DTR puts them: that page shows
 *   them at the top level; troubleshoot-dtr.md's example and the ClusterStatus Go struct of DTR's own source show
 *   them only inside `rethink_system_tables`. dtr-sim returns both; a client should need neither (read
 *   `replica_health`).
 * `replicas`, `quorum`, `replica_version`, ... are dtr-sim extras.
 */
export function clusterStatus(doc: ClusterDoc, self: SelfView, peers: Map<string, PeerView>, now = Date.now()) {
    const health: Record<string, string> = {};
    const timestamps: Record<string, string> = {};
    const readonly: Record<string, boolean> = {};
    const versions: Record<string, string> = {};
    const issues: Issue[] = [];
    const rethinkIssues: RethinkIssue[] = [];
    const up = new Set<string>();
    const ro = storageReadonly(doc);
    const quorumLost = !self.canWrite;
    for (const r of doc.replicas) {
        if (r.id === self.id) {
            up.add(r.id);
            health[r.id] = self.health.Healthy ? "OK" : (self.health.Error ?? "unhealthy");
            if (self.stored.at) timestamps[r.id] = self.stored.at;
            readonly[r.id] = ro || !self.canWrite;
            versions[r.id] = self.version;
            if (!self.health.Healthy) issues.push({ critical: quorumLost, description: `replica ${r.id}: ${self.health.Error}` });
            continue;
        }
        const v = peers.get(r.id);
        const reachable = !!v?.ok && now - v.at < PEER_FRESH_MS;
        if (reachable) up.add(r.id);
        if (!reachable) health[r.id] = `unreachable: ${v?.error ?? "not contacted yet"}`;
        else if (v?.health?.Healthy === false) health[r.id] = v.health.Error ?? "unhealthy";
        else health[r.id] = "OK";
        if (v?.stored?.at) timestamps[r.id] = v.stored.at;
        readonly[r.id] = ro || !reachable || (v?.health?.Healthy === false && String(v.health.Error).startsWith("rethinkdb"));
        if (v?.health?.version) versions[r.id] = v.health.version;
        if (!reachable) {
            const description = `Server ${rethinkServer(r.id)} (replica ${r.id} on ${r.node}) is disconnected from the cluster: ${v?.error ?? "not contacted yet"}`;
            issues.push({ critical: true, description });
            rethinkIssues.push({
                id: `server_disconnected-${r.id}`,
                type: "server_disconnected",
                critical: true,
                info: { disconnected_server: rethinkServer(r.id), reporting_servers: [rethinkServer(self.id)] },
                description,
            });
        } else if (health[r.id] !== "OK") issues.push({ critical: false, description: `replica ${r.id}: ${health[r.id]}` });
    }
    const rethink_system_tables = {
        cluster_config: [{ heartbeat_timeout_secs: 10, id: "heartbeat" }],
        current_issues: rethinkIssues,
        db_config: [{ id: "dtr2", name: "dtr2" }],
        // RethinkDB's server_status lists the servers this one is connected to (and itself).
        server_status: doc.replicas
            .filter((r) => up.has(r.id))
            .map((r) => ({
                id: r.id,
                name: rethinkServer(r.id),
                network: {
                    canonical_addresses: [{ host: `dtr-rethinkdb-${r.id}.dtr-ol`, port: 29015 }],
                    cluster_port: 29015,
                    reql_port: 28015,
                    connected_to: Object.fromEntries(
                        doc.replicas.filter((o) => o.id !== r.id).map((o) => [rethinkServer(o.id), up.has(o.id)]),
                    ),
                },
            })),
    };
    return {
        replica_health: health,
        replica_timestamp: timestamps,
        replica_readonly: readonly,
        replica_version: versions,
        rethink_system_tables,
        issues,
    };
}

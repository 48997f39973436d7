import assert from "node:assert/strict";
import { clusterStatus, SelfView } from "../../src/status";
import { PeerView } from "../../src/store";
import { doc } from "./fixtures";

const A = "aaaaaaaaaaaa",
    B = "bbbbbbbbbbbb",
    C = "cccccccccccc";
const now = Date.parse("2026-06-01T12:00:00.000Z");
const self: SelfView = {
    id: A,
    version: "2.9.16",
    health: { Healthy: true },
    stored: { rev: 7, at: "2026-06-01T11:59:00.000Z" },
    canWrite: true,
};

describe("cluster_status (reference/dtr/2.7/api responses.ClusterStatus)", () => {
    it("healthy cluster: replica_health OK, replica_timestamp per replica, replica_readonly false", () => {
        const peers = new Map<string, PeerView>([
            [
                B,
                {
                    ok: true,
                    at: now - 1000,
                    health: { Healthy: true, version: "2.9.16" },
                    stored: { rev: 7, at: "2026-06-01T11:59:00.000Z" },
                },
            ],
            [C, { ok: true, at: now - 1000, health: { Healthy: true }, stored: { rev: 6, at: "2026-06-01T11:58:00.000Z" } }],
        ]);
        const s = clusterStatus(doc([A, B, C]), self, peers, now);
        assert.deepEqual(s.replica_health, { [A]: "OK", [B]: "OK", [C]: "OK" });
        assert.deepEqual(s.replica_timestamp, {
            [A]: "2026-06-01T11:59:00.000Z",
            [B]: "2026-06-01T11:59:00.000Z",
            [C]: "2026-06-01T11:58:00.000Z",
        });
        assert.deepEqual(s.replica_readonly, { [A]: false, [B]: false, [C]: false });
        assert.deepEqual(s.issues, []);
        // troubleshoot-dtr.md "Example API Response": rethink_system_tables, no issues on a healthy cluster.
        assert.deepEqual(s.rethink_system_tables.current_issues, []);
        assert.deepEqual(
            s.rethink_system_tables.server_status.map((x) => [x.name, x.network.connected_to]),
            [
                ["dtr_rethinkdb_" + A, { ["dtr_rethinkdb_" + B]: true, ["dtr_rethinkdb_" + C]: true }],
                ["dtr_rethinkdb_" + B, { ["dtr_rethinkdb_" + A]: true, ["dtr_rethinkdb_" + C]: true }],
                ["dtr_rethinkdb_" + C, { ["dtr_rethinkdb_" + A]: true, ["dtr_rethinkdb_" + B]: true }],
            ],
        );
    });

    it("lost quorum: an error text instead of OK, readonly true, and the last known timestamps to pick a survivor", () => {
        const lost: SelfView = {
            ...self,
            health: { Healthy: false, Error: "rethinkdb: no quorum: 1 of 3 replicas reachable, need 2" },
            canWrite: false,
        };
        const peers = new Map<string, PeerView>([
            [B, { ok: false, at: now - 60000, error: "connect ECONNREFUSED", stored: { rev: 9, at: "2026-06-01T11:59:30.000Z" } }],
        ]);
        const s = clusterStatus(doc([A, B, C]), lost, peers, now);
        assert.deepEqual(s.replica_health, {
            [A]: "rethinkdb: no quorum: 1 of 3 replicas reachable, need 2",
            [B]: "unreachable: connect ECONNREFUSED",
            [C]: "unreachable: not contacted yet",
        });
        assert.deepEqual(s.replica_readonly, { [A]: true, [B]: true, [C]: true });
        assert.deepEqual(s.replica_timestamp, { [A]: "2026-06-01T11:59:00.000Z", [B]: "2026-06-01T11:59:30.000Z" });
        for (const v of Object.values(s.replica_health)) assert.notEqual(v, "OK");
        // current_issues: {critical, description} (monitor-and-troubleshoot/index.md); RethinkDB rows inside
        // rethink_system_tables (troubleshoot-dtr.md; RethinkDB's current_issues table: id, type, critical, info, description).
        for (const i of s.issues) assert.deepEqual(Object.keys(i).sort(), ["critical", "description"]);
        assert.ok(s.issues.every((i) => i.critical));
        assert.deepEqual(
            s.rethink_system_tables.current_issues.map((i) => [i.type, i.critical, i.info.disconnected_server]),
            [
                ["server_disconnected", true, "dtr_rethinkdb_" + B],
                ["server_disconnected", true, "dtr_rethinkdb_" + C],
            ],
        );
        assert.deepEqual(
            s.rethink_system_tables.server_status.map((x) => x.name),
            ["dtr_rethinkdb_" + A],
        );
    });

    it("a reachable peer that reports itself unhealthy shows its own error; storage maintenance read-only makes all readonly", () => {
        const d = doc([A, B]);
        d.storage = { ...d.storage, maintenance: { readonly: { enabled: true } } };
        const peers = new Map<string, PeerView>([
            [B, { ok: true, at: now, health: { Healthy: false, Error: "registry: health check failed" } }],
        ]);
        const s = clusterStatus(d, self, peers, now);
        assert.equal(s.replica_health[B], "registry: health check failed");
        assert.deepEqual(s.replica_readonly, { [A]: true, [B]: true });
        // Quorum kept: the unhealthy peer is an issue, not a critical one.
        assert.deepEqual(s.issues, [{ critical: false, description: `replica ${B}: registry: health check failed` }]);
    });
});

import assert from "node:assert/strict";
import { apply, JOIN_LOCK_MS, newer } from "../../src/state";
import { doc } from "./fixtures";

describe("metadata operations", () => {
    it("creates, lists and deletes repositories with their team access", () => {
        let d = apply(doc(), { op: "createRepo", namespace: "team", body: { name: "app" } });
        assert.equal(d.repositories[0].visibility, "private");
        assert.throws(() => apply(d, { op: "createRepo", namespace: "team", body: { name: "app" } }), /already exists/);
        assert.throws(() => apply(d, { op: "createRepo", namespace: "team", body: { name: "App" } }), /repository name "App" is invalid/);
        d = apply(d, { op: "setTeamAccess", namespace: "team", name: "app", team: "devs", accessLevel: "admin" });
        assert.throws(
            () => apply(d, { op: "setTeamAccess", namespace: "team", name: "app", team: "devs", accessLevel: "write" }),
            /accessLevel "write"/,
        );
        d = apply(d, { op: "deleteRepo", namespace: "team", name: "app" });
        assert.deepEqual([d.repositories, d.teamAccess], [[], []]);
    });

    it("allows one join at a time; a stale lock expires", () => {
        const t0 = "2026-01-01T00:00:00.000Z";
        let d = apply(doc(), { op: "beginJoin", replicaId: "bbbbbbbbbbbb", node: "host2", now: t0 });
        assert.throws(
            () => apply(d, { op: "beginJoin", replicaId: "cccccccccccc", node: "host3", now: t0 }),
            /another join is in progress \(replica bbbbbbbbbbbb on host2/,
        );
        const later = new Date(Date.parse(t0) + JOIN_LOCK_MS + 1).toISOString();
        assert.equal(
            apply(d, { op: "beginJoin", replicaId: "cccccccccccc", node: "host3", now: later }).joinLock?.replicaId,
            "cccccccccccc",
        );
        d = apply(d, { op: "finishJoin", replica: { id: "bbbbbbbbbbbb", node: "host2", httpPort: 80, httpsPort: 443, joinedAt: t0 } });
        assert.deepEqual(
            d.replicas.map((r) => r.id),
            ["aaaaaaaaaaaa", "bbbbbbbbbbbb"],
        );
        assert.equal(d.joinLock, undefined);
    });

    it("removes members but never the last one", () => {
        const d = doc(["aaaaaaaaaaaa", "bbbbbbbbbbbb"]);
        assert.deepEqual(
            apply(d, { op: "removeReplicas", ids: ["bbbbbbbbbbbb"] }).replicas.map((r) => r.id),
            ["aaaaaaaaaaaa"],
        );
        assert.throws(() => apply(d, { op: "removeReplicas", ids: ["cccccccccccc"] }), /not a member/);
        assert.throws(() => apply(d, { op: "removeReplicas", ids: ["aaaaaaaaaaaa", "bbbbbbbbbbbb"] }), /cannot remove every replica/);
    });

    it("orders revisions by (rev, writer)", () => {
        assert.equal(newer({ rev: 2, writer: "a" }, { rev: 1, writer: "z" }), true);
        assert.equal(newer({ rev: 2, writer: "b" }, { rev: 2, writer: "a" }), true);
        assert.equal(newer({ rev: 2, writer: "a" }, { rev: 2, writer: "a" }), false);
    });
});

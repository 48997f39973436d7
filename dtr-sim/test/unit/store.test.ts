// Three stores talking real HTTP on 127.0.0.1: majority writes, lost quorum, catch-up, emergency repair.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { NoQuorumError } from "../../src/store";
import { Stored } from "../../src/state";
import { cluster, ids, Node } from "./fixtures";

describe("replicated metadata store (real HTTP between three replicas)", function () {
    this.timeout(20000);
    let nodes: Map<string, Node>;
    beforeEach(async () => (nodes = await cluster()));
    afterEach(() => nodes.forEach((n) => n.server.close()));
    const n = (i: number) => nodes.get(ids[i])!;

    it("a write at one replica reaches all three and is persisted", async () => {
        const s = await n(0).store.write({ op: "createRepo", namespace: "team", body: { name: "app" } });
        assert.equal(s.rev, 2);
        for (const id of ids) {
            assert.equal(nodes.get(id)!.store.doc.repositories[0].name, "app");
            assert.equal(nodes.get(id)!.store.stored.rev, 2);
        }
        const onDisk = JSON.parse(readFileSync((n(2).store as unknown as { file: string }).file, "utf8")) as Stored;
        assert.equal(onDisk.doc.repositories[0].name, "app");
    });

    it("with one of three down, writes still commit; the returning replica catches up by sync", async () => {
        n(2).up = false;
        await n(1).store.write({ op: "createRepo", namespace: "team", body: { name: "app" } });
        assert.equal(n(2).store.doc.repositories.length, 0);
        await n(0).store.sync();
        assert.equal(n(0).store.quorum().ok, true);
        n(2).up = true;
        await n(2).store.sync();
        assert.equal(n(2).store.doc.repositories[0].name, "app");
    });

    it("with two of three down, writes fail with a rethinkdb no-quorum error and quorum() says so", async () => {
        n(1).up = false;
        n(2).up = false;
        await assert.rejects(
            n(0).store.write({ op: "createRepo", namespace: "team", body: { name: "app" } }),
            (e: Error) => e instanceof NoQuorumError && /1 of 3 replicas reachable, need 2/.test(e.message),
        );
        assert.equal(n(0).store.doc.repositories.length, 0);
        await n(0).store.sync();
        assert.deepEqual(n(0).store.quorum(), { members: 3, reachable: 1, majority: 2, ok: false });
    });

    it("a write at a stale replica starts from the newest committed revision (quorum read)", async () => {
        n(2).up = false;
        await n(0).store.write({ op: "createRepo", namespace: "team", body: { name: "one" } });
        n(2).up = true;
        n(0).up = false;
        await n(2).store.write({ op: "createRepo", namespace: "team", body: { name: "two" } });
        assert.deepEqual(
            n(2).store.doc.repositories.map((r) => r.name),
            ["one", "two"],
        );
    });

    it("emergency repair (reference/dtr/2.7/cli/emergency-repair.md): the chosen replica becomes the only member, keeps its data and takes writes", async () => {
        await n(0).store.write({ op: "createRepo", namespace: "team", body: { name: "before" } });
        n(1).up = false;
        n(2).up = false;
        await assert.rejects(n(0).store.write({ op: "createRepo", namespace: "team", body: { name: "lost" } }), NoQuorumError);
        const r = await n(0).store.forceMembership();
        assert.deepEqual([r.kept, r.dropped], [[ids[0]], [ids[1], ids[2]]]);
        assert.deepEqual(n(0).store.members(), [ids[0]]);
        assert.deepEqual(
            n(0).store.doc.repositories.map((x) => x.name),
            ["before"],
        );
        await n(0).store.write({ op: "createRepo", namespace: "team", body: { name: "after" } });
        assert.equal(n(0).store.quorum().ok, true);
    });

    it("emergency repair drops every other replica, even one that still answers, and that one learns it is out", async () => {
        n(2).up = false;
        const r = await n(0).store.forceMembership();
        assert.deepEqual([r.kept, r.dropped], [[ids[0]], [ids[1], ids[2]]]);
        assert.equal(n(1).store.isMember(), false);
        assert.deepEqual(n(1).store.members(), [ids[0]]);
    });

    it("emergency repair keeps the survivor's own copy, even when a dropped replica holds a newer one", async () => {
        n(0).up = false;
        await n(1).store.write({ op: "createRepo", namespace: "team", body: { name: "newer-on-b" } });
        n(0).up = true;
        n(2).up = false;
        const bRev = n(1).store.stored.rev;
        assert.ok(n(0).store.stored.rev < bRev);
        const r = await n(0).store.forceMembership();
        assert.ok(r.stored.rev > bRev, "the repaired revision is above what b held, so b takes it");
        assert.deepEqual(n(0).store.doc.repositories, []);
        assert.deepEqual(n(1).store.doc.repositories, [], "b now holds the survivor's data");
        assert.deepEqual(n(1).store.members(), [ids[0]]);
    });

    it("emergency repair refuses a replica that is not a member", async () => {
        await n(0).store.write({ op: "removeReplicas", ids: [ids[2]] });
        await assert.rejects(n(2).store.forceMembership(), /replica cccccccccccc is not a member of this cluster/);
    });

    it("remove of a replica whose host is gone commits through the existing replica (majority of old and new set)", async () => {
        n(2).up = false;
        const s = await n(0).store.write({ op: "removeReplicas", ids: [ids[2]] });
        assert.deepEqual(
            s.doc.replicas.map((r) => r.id),
            [ids[0], ids[1]],
        );
        assert.deepEqual(n(1).store.members(), [ids[0], ids[1]]);
        assert.deepEqual(n(2).store.members(), ids, "the lost replica never heard of it");
    });

    it("writes record when they were made (cluster_status's replica_timestamp)", async () => {
        const t0 = Date.now();
        await n(0).store.write({ op: "createRepo", namespace: "team", body: { name: "app" } });
        for (const i of [0, 1, 2]) assert.ok(Date.parse(n(i).store.stored.at!) >= t0 - 1000);
        await n(0).store.sync();
        assert.equal(n(0).store.peers.get(ids[1])?.stored?.at, n(1).store.stored.at);
    });
});

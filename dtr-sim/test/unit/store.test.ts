// Three stores talking real HTTP on 127.0.0.1: majority writes, lost quorum, catch-up, emergency repair.
import assert from "node:assert/strict";
import http from "node:http";
import { AddressInfo } from "node:net";
import { mkdtempSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Store, SECRET_HEADER, NoQuorumError } from "../../src/store";
import { Stored } from "../../src/state";
import { doc, stored } from "./fixtures";

const ids = ["aaaaaaaaaaaa", "bbbbbbbbbbbb", "cccccccccccc"];

interface Node {
    store: Store;
    server: http.Server;
    port: number;
    up: boolean;
}

async function cluster(): Promise<Map<string, Node>> {
    const dir = mkdtempSync(join(tmpdir(), "dtr-sim-store-"));
    const s0 = stored(doc(ids));
    const nodes = new Map<string, Node>();
    const addr = (id: string) => ({ host: "127.0.0.1", port: nodes.get(id)!.port });
    for (const id of ids) {
        writeFileSync(join(dir, `${id}.json`), JSON.stringify(s0));
        const store = new Store(id, join(dir, `${id}.json`), addr);
        const node: Node = { store, server: undefined as unknown as http.Server, port: 0, up: true };
        node.server = http.createServer((req, res): void => {
            if (!node.up) {
                req.socket.destroy(); // a dead replica: connection dropped
                return;
            }
            assert.equal(req.headers[SECRET_HEADER], store.doc.secret);
            if (req.method === "GET") {
                res.writeHead(200, { "Content-Type": "application/json" });
                res.end(JSON.stringify({ stored: store.stored, health: { Healthy: true } }));
                return;
            }
            const chunks: Buffer[] = [];
            req.on("data", (c: Buffer) => chunks.push(c));
            req.on("end", () => {
                const ok = store.accept(JSON.parse(Buffer.concat(chunks).toString()) as Stored);
                res.writeHead(ok ? 200 : 409);
                res.end();
            });
        });
        await new Promise<void>((r) => node.server.listen(0, "127.0.0.1", r));
        node.port = (node.server.address() as AddressInfo).port;
        nodes.set(id, node);
    }
    return nodes;
}

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

    it("emergency repair keeps the reachable replicas and restores writes", async () => {
        n(1).up = false;
        n(2).up = false;
        const r = await n(0).store.forceMembership();
        assert.deepEqual([r.kept, r.dropped], [[ids[0]], [ids[1], ids[2]]]);
        await n(0).store.write({ op: "createRepo", namespace: "team", body: { name: "app" } });
        assert.equal(n(0).store.quorum().ok, true);
    });
});

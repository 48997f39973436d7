// The API container's handler over real HTTP, on three stores of which two are down: writes answer 503.
import assert from "node:assert/strict";
import http from "node:http";
import { AddressInfo } from "node:net";
import { ApiServer } from "../../src/api";
import { Engine } from "../../src/engine";
import { basicHeader } from "../../src/auth";
import { cluster, ids, Node } from "./fixtures";

function request(port: number, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
    return new Promise((resolve, reject) => {
        const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
        const req = http.request(
            {
                host: "127.0.0.1",
                port,
                method,
                path,
                headers: { authorization: basicHeader("admin", "pw-for-tests"), ...(data ? { "content-type": "application/json" } : {}) },
            },
            (res) => {
                const chunks: Buffer[] = [];
                res.on("data", (c: Buffer) => chunks.push(c));
                res.on("end", () => {
                    const text = Buffer.concat(chunks).toString();
                    resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : undefined });
                });
            },
        );
        req.on("error", reject);
        req.end(data);
    });
}

describe("API on a replica that lost quorum (ee/dtr/admin/disaster-recovery/repair-a-cluster.md)", function () {
    this.timeout(20000);
    let nodes: Map<string, Node>;
    let server: http.Server;
    let port: number;
    beforeEach(async () => {
        nodes = await cluster();
        const store = nodes.get(ids[0])!.store;
        // The engine is never called here: no write commits, so the registry is never reconciled.
        const api = new ApiServer(
            new Engine("/nonexistent.sock"),
            { replicaId: ids[0], node: "host1", httpPort: 80, httpsPort: 443 },
            store,
            {
                image: "dtr-sim:test",
                version: "2.9.16",
                registryImage: "dtr-sim-registry:test",
            },
        );
        api.registry = { ok: true };
        server = http.createServer(api.handler(false));
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        port = (server.address() as AddressInfo).port;
    });
    afterEach(() => {
        server.close();
        nodes.forEach((n) => n.server.close());
    });

    it("refuses writes with 503 NO_QUORUM and changes nothing; cluster_status says why per replica", async () => {
        nodes.get(ids[1])!.up = false;
        nodes.get(ids[2])!.up = false;
        const w = await request(port, "POST", "/api/v0/repositories/team", { name: "app" });
        assert.equal(w.status, 503);
        assert.equal(w.json.errors[0].code, "NO_QUORUM");
        assert.match(w.json.errors[0].message, /rethinkdb: no quorum: 1 of 3 replicas reachable, need 2/);
        assert.deepEqual(nodes.get(ids[0])!.store.doc.repositories, []);
        await nodes.get(ids[0])!.store.sync();
        const st = await request(port, "GET", "/api/v0/meta/cluster_status");
        assert.equal(st.status, 200);
        assert.match(st.json.replica_health[ids[0]], /^rethinkdb: no quorum/);
        assert.match(st.json.replica_health[ids[1]], /^unreachable: /);
        assert.deepEqual(st.json.replica_readonly, { [ids[0]]: true, [ids[1]]: true, [ids[2]]: true });
        // ee/dtr/admin/monitor-and-troubleshoot/index.md: current_issues are {critical, description} objects.
        assert.ok(
            st.json.current_issues.some((i: { critical: boolean; description: string }) => i.critical && /no quorum/.test(i.description)),
        );
        for (const i of st.json.current_issues) assert.deepEqual(Object.keys(i).sort(), ["critical", "description"]);
        // troubleshoot-dtr.md: rethink_system_tables with RethinkDB's current_issues rows and server_status.
        assert.ok(Array.isArray(st.json.rethink_system_tables.current_issues));
        assert.deepEqual(
            st.json.rethink_system_tables.server_status.map((x: { name: string }) => x.name),
            [`dtr_rethinkdb_${ids[0]}`],
        );
    });
});

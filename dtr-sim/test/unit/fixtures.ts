import assert from "node:assert/strict";
import http from "node:http";
import { AddressInfo } from "node:net";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hashAdmin } from "../../src/auth";
import { Store, SECRET_HEADER } from "../../src/store";
import { ClusterDoc, Stored } from "../../src/state";
import { defaultStorage } from "../../src/settings";

export function doc(replicas: string[] = ["aaaaaaaaaaaa"]): ClusterDoc {
    return {
        format: 1,
        clusterId: "c0ffee0000000001",
        dtrVersion: "2.9.16",
        createdAt: "2026-01-01T00:00:00.000Z",
        ucpUrl: "https://ucp.example",
        externalUrl: "https://dtr.example",
        admin: hashAdmin("admin", "pw-for-tests"),
        secret: "s".repeat(48),
        tls: { cert: "CERT", key: "KEY", ca: "CERT" },
        replicas: replicas.map((id, i) => ({
            id,
            node: `host${i + 1}`,
            httpPort: 80,
            httpsPort: 443,
            joinedAt: "2026-01-01T00:00:00.000Z",
        })),
        storage: defaultStorage(),
        repositories: [],
        teamAccess: [],
    };
}

export function stored(d = doc(), rev = 1): Stored {
    return { rev, writer: d.replicas[0].id, doc: d };
}

export const ids = ["aaaaaaaaaaaa", "bbbbbbbbbbbb", "cccccccccccc"];

export interface Node {
    store: Store;
    server: http.Server;
    port: number;
    up: boolean;
}

/** Three stores talking real HTTP on 127.0.0.1; `up = false` drops a replica's connections. */
export async function cluster(): Promise<Map<string, Node>> {
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

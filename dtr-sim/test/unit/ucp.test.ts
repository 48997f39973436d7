// DTR on a UCP worker node creates dtr-ol through UCP (docker/docs ee/dtr/admin/install/system-requirements.md: DTR
// runs on UCP worker nodes; only a manager can create a swarm network), logged in with UCP's documented
// POST /auth/login -> auth_token (docker/docs ee/ucp/user-access/cli.md) and UCP's certificate verified with --ucp-ca
// (reference/dtr/2.7/cli/install.md). The stand-in ucp-sim serves only that; both sides run here for real (TLS,
// unix sockets), with fake engines.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Engine } from "../../src/engine";
import { ensureNetwork, NETWORK } from "../../src/replica";
import { Ucp } from "../../src/ucp";
import { allowed, listenAddress, readPasswordFile, ucpSimServer } from "../../src/ucp-sim";

const PASSWORD = "ucp-admin-pw-1";

interface FakeEngine {
    server: http.Server;
    sock: string;
    calls: string[];
    networks: Map<string, any>;
}

/** A Docker engine on a unix socket: a worker or a manager of an active swarm, with networks in memory. */
function fakeEngine(dir: string, name: string, manager: boolean): Promise<FakeEngine> {
    const calls: string[] = [];
    const networks = new Map<string, any>();
    const sock = join(dir, `${name}.sock`);
    const server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
            const raw = (req.url ?? "").split("?")[0];
            calls.push(`${req.method} ${raw}`);
            const p = raw.replace(/^\/v1\.\d+(?=\/)/, "");
            const json = (status: number, body: unknown) => {
                res.writeHead(status, { "content-type": "application/json" });
                res.end(JSON.stringify(body));
            };
            if (req.method === "GET" && p === "/info")
                return json(200, { Name: name, Swarm: { LocalNodeState: "active", ControlAvailable: manager, NodeID: name } });
            const m = /^\/networks\/([^/]+)$/.exec(p);
            if (req.method === "GET" && m) {
                const n = networks.get(decodeURIComponent(m[1]));
                return n ? json(200, n) : json(404, { message: `network ${m[1]} not found` });
            }
            if (req.method === "POST" && p === "/networks/create") {
                if (!manager) return json(403, { message: "This node is not a swarm manager." });
                const spec = JSON.parse(Buffer.concat(chunks).toString());
                networks.set(spec.Name, { Name: spec.Name, Driver: spec.Driver, Attachable: spec.Attachable, IPAM: spec.IPAM });
                return json(201, { Id: "n1" });
            }
            json(404, { message: "not in this fake" });
        });
    });
    return new Promise((resolve) => server.listen(sock, () => resolve({ server, sock, calls, networks })));
}

function openssl(args: string[]): void {
    execFileSync("openssl", args, { stdio: "ignore" });
}

describe("DTR on a worker node: dtr-ol through UCP (ucp-sim), UCP's CA pinned", function () {
    this.timeout(20000);
    let dir: string;
    let ca: string;
    let otherCa: string;
    let manager: FakeEngine;
    let worker: FakeEngine;
    let ucp: https.Server;
    let rogue: https.Server;
    let url: string;
    let rogueUrl: string;

    before(async () => {
        dir = mkdtempSync(join(tmpdir(), "ucp-test-"));
        const f = (n: string) => join(dir, n);
        for (const c of ["ca", "other"]) {
            openssl([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-days",
                "2",
                "-subj",
                `/CN=${c}`,
                "-keyout",
                f(`${c}-key.pem`),
                "-out",
                f(`${c}.pem`),
            ]);
            openssl([
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-subj",
                "/CN=ucp",
                "-keyout",
                f(`${c}-srv-key.pem`),
                "-out",
                f(`${c}-srv.csr`),
            ]);
            writeFileSync(f("ext"), "subjectAltName=IP:127.0.0.1\n");
            openssl([
                "x509",
                "-req",
                "-in",
                f(`${c}-srv.csr`),
                "-CA",
                f(`${c}.pem`),
                "-CAkey",
                f(`${c}-key.pem`),
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                f("ext"),
                "-out",
                f(`${c}-srv.pem`),
            ]);
        }
        ca = readFileSync(f("ca.pem"), "utf8");
        otherCa = readFileSync(f("other.pem"), "utf8");
        manager = await fakeEngine(dir, "mgr1", true);
        worker = await fakeEngine(dir, "host1", false);
        const serve = (c: string) =>
            new Promise<https.Server>((resolve) => {
                const s = ucpSimServer({
                    cert: readFileSync(f(`${c}-srv.pem`)),
                    key: readFileSync(f(`${c}-srv-key.pem`)),
                    username: "admin",
                    password: PASSWORD,
                    dockerSocket: manager.sock,
                });
                s.listen(0, "127.0.0.1", () => resolve(s));
            });
        ucp = await serve("ca");
        // Same API, a certificate from another CA: what an impostor on UCP's address would present.
        rogue = await serve("other");
        url = `https://127.0.0.1:${(ucp.address() as AddressInfo).port}`;
        rogueUrl = `https://127.0.0.1:${(rogue.address() as AddressInfo).port}`;
    });
    after(() => {
        for (const s of [ucp, rogue, manager?.server, worker?.server]) s?.close();
        rmSync(dir, { recursive: true, force: true });
    });
    beforeEach(() => {
        manager.calls.length = 0;
        manager.networks.clear();
    });

    const conn = (o: Partial<{ url: string; password: string; ca: string; insecure: boolean }> = {}) =>
        new Ucp({ url: o.url ?? url, username: "admin", password: o.password ?? PASSWORD, ca: o.ca ?? ca, insecure: o.insecure ?? false });

    it("creates dtr-ol through UCP on a worker (the worker's engine is never asked to create it)", async () => {
        worker.calls.length = 0;
        await ensureNetwork(new Engine(worker.sock), "10.200.64.0/24", conn());
        const net = manager.networks.get(NETWORK);
        assert.equal(net?.Driver, "overlay");
        assert.equal(net?.Attachable, true);
        assert.deepEqual(net?.IPAM?.Config, [{ Subnet: "10.200.64.0/24" }]);
        assert.deepEqual(manager.calls, [`GET /networks/${NETWORK}`, "POST /networks/create"]);
        assert.ok(!worker.calls.includes("POST /networks/create"), worker.calls.join(", "));
        // Again: found through UCP and reused; another subnet is refused.
        await ensureNetwork(new Engine(worker.sock), "10.200.64.0/24", conn());
        await assert.rejects(
            ensureNetwork(new Engine(worker.sock), "10.9.0.0/24", conn()),
            /already exists with subnet 10\.200\.64\.0\/24/,
        );
    });

    it("refuses UCP's certificate when --ucp-ca did not sign it, before sending the credentials", async () => {
        await assert.rejects(
            ensureNetwork(new Engine(worker.sock), undefined, conn({ url: rogueUrl })),
            /UCP at https:\/\/127\.0\.0\.1:\d+ presented a certificate that --ucp-ca does not verify/,
        );
        await assert.rejects(conn({ ca: otherCa }).login(), /presented a certificate that --ucp-ca does not verify/);
        assert.deepEqual(manager.calls, []);
        assert.equal(manager.networks.size, 0);
    });

    it("refuses wrong UCP credentials with a clear error, and creates nothing", async () => {
        await assert.rejects(
            ensureNetwork(new Engine(worker.sock), undefined, conn({ password: "wrong" })),
            /UCP at .* rejected the credentials \(401\): --ucp-username\/--ucp-password must be a UCP admin's/,
        );
        assert.deepEqual(manager.calls, []);
    });

    it("says so when UCP cannot be reached", async () => {
        const closed = https.createServer();
        await new Promise<void>((r) => closed.listen(0, "127.0.0.1", () => r()));
        const port = (closed.address() as AddressInfo).port;
        closed.close();
        await assert.rejects(
            conn({ url: `https://127.0.0.1:${port}` }).login(),
            /cannot reach UCP at https:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/,
        );
    });

    it("on a worker without a UCP connection refuses rather than asking the worker's engine", async () => {
        await assert.rejects(
            ensureNetwork(new Engine(worker.sock), undefined),
            /is a swarm worker: dtr-ol can only be created through UCP/,
        );
    });

    it("on a manager creates dtr-ol on the local engine, without UCP", async () => {
        await ensureNetwork(new Engine(manager.sock), undefined, conn({ url: "https://127.0.0.1:1" }));
        assert.deepEqual(manager.calls, ["GET /networks/dtr-ol", "GET /info", "POST /networks/create"]);
    });

    it("ucp-sim: no token, a bad token or a call outside its list is refused and never reaches the engine", async () => {
        const call = (method: string, path: string, token?: string) =>
            new Promise<number>((resolve, reject) => {
                const r = https.request(
                    `${url}${path}`,
                    { method, ca, headers: token ? { authorization: `Bearer ${token}` } : {} },
                    (res) => {
                        res.resume();
                        resolve(res.statusCode ?? 0);
                    },
                );
                r.on("error", reject);
                r.end();
            });
        assert.equal(await call("GET", "/info"), 401);
        assert.equal(await call("GET", "/info", "0".repeat(48)), 401);
        const token = await conn().login();
        assert.equal(await call("GET", "/containers/json", token), 403);
        assert.equal(await call("DELETE", `/networks/${NETWORK}`, token), 403);
        assert.equal(await call("POST", "/containers/create", token), 403);
        assert.deepEqual(manager.calls, []);
        assert.equal(await call("GET", "/v1.41/info", token), 200);
        assert.deepEqual(manager.calls, ["GET /v1.41/info"]);
    });

    it("ucp-sim: a login body over 64 KiB is cut off; a body that is not the credentials object is a 400", async () => {
        const post = (body: Buffer) =>
            new Promise<number | string>((resolve) => {
                const r = https.request(`${url}/auth/login`, { method: "POST", ca, headers: { "content-length": body.length } }, (res) => {
                    res.resume();
                    resolve(res.statusCode ?? 0);
                });
                r.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
                r.end(body);
            });
        // Valid credentials, padded past the limit: only the limit keeps this from logging in.
        const big = await post(Buffer.from(JSON.stringify({ username: "admin", password: PASSWORD, pad: "a".repeat(70 * 1024) })));
        assert.notEqual(big, 200);
        assert.notEqual(big, 401);
        assert.equal(await post(Buffer.from("null")), 400);
        assert.equal(await post(Buffer.from('{"username":"admin"}')), 400);
    });

    it("a UCP connection needs --ucp-ca or --ucp-insecure-tls", () => {
        assert.throws(
            () => new Ucp({ url, username: "admin", password: PASSWORD, insecure: false }),
            /cannot verify UCP's certificate: pass --ucp-ca/,
        );
    });

    it("ucp-sim: its allow-list, password file and listen address checks", () => {
        assert.ok(allowed("POST", "/networks/create"));
        assert.ok(allowed("GET", "/v1.41/networks/dtr-ol"));
        assert.ok(!allowed("DELETE", "/networks/dtr-ol"));
        assert.ok(!allowed("GET", "/networks/../containers/json"));
        assert.ok(!allowed("POST", "/containers/create"));
        const pw = join(dir, "pw");
        writeFileSync(pw, "secret\n", { mode: 0o644 });
        chmodSync(pw, 0o644);
        assert.throws(() => readPasswordFile(pw), /UCP_SIM_PASSWORD_FILE=.* has mode 644: it must be 600/);
        chmodSync(pw, 0o600);
        assert.equal(readPasswordFile(pw), "secret");
        assert.throws(() => listenAddress("ucp:443"), /UCP_SIM_LISTEN='ucp:443' is not IPv4:port/);
    });
});

// ucp-sim: a STAND-IN for UCP's API, for the lab only (not UCP, not part of the dtr-sim image).
//
// Just what DTR needs of UCP when it runs on a worker node: UCP's documented login (docker/docs
// ee/ucp/user-access/cli.md: POST /auth/login {"username","password"} -> {"auth_token"}, then `Authorization: Bearer`)
// and, for a logged-in admin, the Docker API calls DTR makes to create and inspect its overlay network, proxied to the
// manager engine's socket. Everything else is refused. TLS with a server certificate from the lab's UCP CA.
//
//   node ucp-sim.js     (env: UCP_SIM_LISTEN=addr:port, UCP_SIM_CERT, UCP_SIM_KEY, UCP_SIM_USERNAME,
//                        UCP_SIM_PASSWORD_FILE (0600), UCP_SIM_DOCKER_SOCKET; the password is never in argv or env)
import http from "node:http";
import https from "node:https";
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync, statSync } from "node:fs";

export interface UcpSimOptions {
    cert: string | Buffer;
    key: string | Buffer;
    username: string;
    password: string;
    /** The manager engine's unix socket the allowed calls go to. */
    dockerSocket: string;
    log?: (line: string) => void;
}

const MAX_BODY = 64 * 1024;
const TOKEN_TTL_MS = 60 * 60 * 1000;

/** The Docker API calls ucp-sim proxies (path without an API version prefix): what DTR's install/restore need. */
const ALLOWED: { method: string; path: RegExp }[] = [
    { method: "GET", path: /^\/info$/ },
    { method: "GET", path: /^\/networks$/ },
    { method: "GET", path: /^\/networks\/[A-Za-z0-9][A-Za-z0-9_.-]*$/ },
    { method: "POST", path: /^\/networks\/create$/ },
];

export function allowed(method: string, pathname: string): boolean {
    const p = pathname.replace(/^\/v1\.\d+(?=\/)/, "");
    return ALLOWED.some((a) => a.method === method && a.path.test(p));
}

const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();
const same = (a: string, b: string) => timingSafeEqual(digest(a), digest(b));

function readBody(req: http.IncomingMessage): Promise<Buffer | undefined> {
    return new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        let n = 0;
        req.on("data", (c: Buffer) => {
            n += c.length;
            if (n > MAX_BODY) {
                resolve(undefined);
                req.destroy();
                return;
            }
            chunks.push(c);
        });
        req.on("end", () => resolve(Buffer.concat(chunks)));
        req.on("error", reject);
    });
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
    const data = Buffer.from(typeof body === "string" ? body : JSON.stringify(body));
    res.writeHead(status, { "content-type": typeof body === "string" ? "text/plain" : "application/json", "content-length": data.length });
    res.end(data);
}

const error = (code: string, message: string) => ({ errors: [{ code, message }], message });

export function ucpSimServer(o: UcpSimOptions): https.Server {
    const tokens = new Map<string, number>();
    const log = o.log ?? (() => undefined);
    return https.createServer({ cert: o.cert, key: o.key, minVersion: "TLSv1.2" }, (req, res) => {
        const method = req.method ?? "GET";
        const url = new URL(req.url ?? "/", "https://ucp-sim");
        res.on("finish", () => log(`${method} ${url.pathname} ${res.statusCode}`));
        void (async () => {
            if (method === "GET" && url.pathname === "/_ping") return send(res, 200, "OK");
            if (url.pathname === "/auth/login") {
                if (method !== "POST") return send(res, 405, error("METHOD_NOT_ALLOWED", "POST /auth/login"));
                const body = await readBody(req);
                let creds: { username?: unknown; password?: unknown } | null;
                try {
                    creds = JSON.parse(body?.toString() ?? "");
                } catch {
                    return send(res, 400, error("INVALID_JSON", 'the body must be {"username": "...", "password": "..."}'));
                }
                if (typeof creds?.username !== "string" || typeof creds?.password !== "string")
                    return send(res, 400, error("INVALID_JSON", 'the body must be {"username": "...", "password": "..."}'));
                // Both compared, always, in constant time.
                const ok = same(creds.username, o.username) && same(creds.password, o.password);
                if (!ok) return send(res, 401, error("UNAUTHORIZED", "invalid username or password"));
                const token = randomBytes(24).toString("hex");
                tokens.set(token, Date.now() + TOKEN_TTL_MS);
                return send(res, 200, { auth_token: token });
            }
            const m = /^Bearer ([0-9a-f]{48})$/.exec(req.headers.authorization ?? "");
            const exp = m ? tokens.get(m[1]) : undefined;
            if (!m || exp === undefined || exp < Date.now()) {
                if (m) tokens.delete(m[1]);
                return send(res, 401, error("UNAUTHORIZED", "log in first: POST /auth/login, then Authorization: Bearer <auth_token>"));
            }
            if (!allowed(method, url.pathname))
                return send(res, 403, error("ACCESS_DENIED", `ucp-sim (a stand-in for UCP) does not serve ${method} ${url.pathname}`));
            const body = await readBody(req);
            if (body === undefined) return send(res, 413, error("TOO_LARGE", `request body over ${MAX_BODY} bytes`));
            const up = http.request(
                {
                    socketPath: o.dockerSocket,
                    method,
                    path: url.pathname + url.search,
                    headers: {
                        host: "docker",
                        ...(body.length ? { "content-type": "application/json", "content-length": body.length } : {}),
                    },
                    timeout: 30000,
                },
                (r) => {
                    res.writeHead(r.statusCode ?? 502, { "content-type": r.headers["content-type"] ?? "application/json" });
                    r.pipe(res);
                },
            );
            up.on("timeout", () => up.destroy(new Error("the manager's engine did not answer within 30 s")));
            up.on("error", (e) => {
                if (!res.headersSent) send(res, 502, error("ENGINE_UNAVAILABLE", `the manager's engine: ${e.message}`));
                else res.destroy();
            });
            up.end(body.length ? body : undefined);
        })().catch((e: Error) => {
            if (!res.headersSent) send(res, 500, error("INTERNAL", e.message));
        });
    });
}

/** Reads a setting from the environment; the error names the variable and says what to give. */
export function setting(env: NodeJS.ProcessEnv, name: string, what: string): string {
    const v = env[name];
    if (!v) throw new Error(`${name} is not set: give ${what}`);
    return v;
}

/** The password file must be a non-empty file readable by its owner only (it holds UCP's admin password). */
export function readPasswordFile(file: string): string {
    const st = statSync(file);
    if ((st.mode & 0o077) !== 0)
        throw new Error(`UCP_SIM_PASSWORD_FILE=${file} has mode ${(st.mode & 0o777).toString(8)}: it must be 600 (chmod 600 ${file})`);
    const pw = readFileSync(file, "utf8").trim();
    if (!pw) throw new Error(`UCP_SIM_PASSWORD_FILE=${file} is empty: write the admin password into it`);
    return pw;
}

export function listenAddress(v: string): { host: string; port: number } {
    const m = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(v);
    const port = m ? Number(m[2]) : 0;
    if (!m || port < 1 || port > 65535) throw new Error(`UCP_SIM_LISTEN='${v}' is not IPv4:port: give e.g. 10.200.0.21:443`);
    return { host: m[1], port };
}

export function main(env: NodeJS.ProcessEnv = process.env): https.Server {
    const { host, port } = listenAddress(setting(env, "UCP_SIM_LISTEN", "the address:port to listen on, e.g. 10.200.0.21:443"));
    const server = ucpSimServer({
        cert: readFileSync(setting(env, "UCP_SIM_CERT", "the PEM file of the server certificate")),
        key: readFileSync(setting(env, "UCP_SIM_KEY", "the PEM file of the server key")),
        username: setting(env, "UCP_SIM_USERNAME", "the admin username"),
        password: readPasswordFile(setting(env, "UCP_SIM_PASSWORD_FILE", "a 0600 file holding the admin password")),
        dockerSocket: env.UCP_SIM_DOCKER_SOCKET || "/var/run/docker.sock",
        log: (l) => process.stdout.write(`${new Date().toISOString()} ${l}\n`),
    });
    server.listen(port, host, () => process.stdout.write(`ucp-sim (a stand-in for UCP's API) listening on https://${host}:${port}\n`));
    return server;
}

if (require.main === module) {
    try {
        main();
    } catch (e) {
        process.stderr.write(`ucp-sim: error: ${(e as Error).message}\n`);
        process.exit(2);
    }
}

// DTR's side of UCP's API: what DTR asks of UCP when it runs on a worker node.
//
// DTR's hosts are UCP worker nodes (docker/docs ee/dtr/admin/install/system-requirements.md: "DTR requires ... a UCP
// worker node"), and a worker's engine cannot create a swarm network: only a manager can. So on a worker DTR creates
// its overlay `dtr-ol` through UCP, whose API is Docker-Engine-compatible at its root, authenticated with a bearer
// token from UCP's documented login (docker/docs ee/ucp/user-access/cli.md: `curl -d '{"username":..,"password":..}'
// https://<ucp>/auth/login | jq -r .auth_token`, then `Authorization: Bearer $AUTHTOKEN`), and UCP's certificate
// verified with --ucp-ca (or not at all with --ucp-insecure-tls).
import https from "node:https";
import { debug, UserError } from "./log";

export interface UcpConnection {
    url: string;
    username: string;
    password: string;
    /** PEM of UCP's CA (--ucp-ca); the only CA UCP's certificate is verified against. */
    ca?: string;
    /** --ucp-insecure-tls: UCP's certificate is not verified. */
    insecure: boolean;
    timeoutMs?: number;
}

interface Answer {
    status: number;
    body: Buffer;
}

const TLS_CODES = /CERT|SIGNATURE|ALTNAME|ISSUER|SELF_SIGNED|ERR_TLS|ERR_SSL|EPROTO/;

export class Ucp {
    private token: string | undefined;

    constructor(private readonly c: UcpConnection) {
        if (!c.ca && !c.insecure) throw new UserError(`cannot verify UCP's certificate: pass --ucp-ca "<pem>" (or --ucp-insecure-tls)`);
    }

    private request(method: string, path: string, body?: unknown, bearer?: string): Promise<Answer> {
        const u = new URL(this.c.url);
        const base = u.pathname.replace(/\/+$/, "");
        const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
        return new Promise((resolve, reject) => {
            const req = https.request(
                {
                    host: u.hostname.replace(/^\[|\]$/g, ""),
                    port: u.port || 443,
                    method,
                    path: base + path,
                    // Pinned: only --ucp-ca is trusted, not the system's CAs.
                    ca: this.c.insecure ? undefined : this.c.ca,
                    rejectUnauthorized: !this.c.insecure,
                    headers: {
                        ...(data ? { "content-type": "application/json", "content-length": String(data.length) } : {}),
                        ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
                    },
                    timeout: this.c.timeoutMs ?? 30000,
                },
                (res) => {
                    const chunks: Buffer[] = [];
                    res.on("data", (x: Buffer) => chunks.push(x));
                    res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
                    res.on("error", reject);
                },
            );
            req.on("timeout", () => req.destroy(Object.assign(new Error("timed out"), { code: "ETIMEDOUT" })));
            req.on("error", (e: NodeJS.ErrnoException) => reject(this.explain(e)));
            if (data) req.write(data);
            req.end();
        });
    }

    private explain(e: NodeJS.ErrnoException): Error {
        const code = e.code ?? "";
        if (TLS_CODES.test(code) || /certificate/i.test(e.message)) {
            return new UserError(
                `UCP at ${this.c.url} presented a certificate that --ucp-ca does not verify (${code}: ${e.message}): ` +
                    `pass UCP's own CA with --ucp-ca (the CA that signed UCP's server certificate, with UCP's address in it)`,
            );
        }
        return new UserError(`cannot reach UCP at ${this.c.url} (${code || e.message}): check --ucp-url and that UCP is running`);
    }

    /** UCP's login: the bearer token for the admin given with --ucp-username/--ucp-password. */
    async login(): Promise<string> {
        if (this.token) return this.token;
        debug(`ucp POST /auth/login`);
        const r = await this.request("POST", "/auth/login", { username: this.c.username, password: this.c.password });
        if (r.status === 401 || r.status === 403) {
            throw new UserError(
                `UCP at ${this.c.url} rejected the credentials (${r.status}): --ucp-username/--ucp-password must be a UCP admin's`,
            );
        }
        let token: unknown;
        try {
            token = JSON.parse(r.body.toString()).auth_token;
        } catch {
            /* below */
        }
        if (r.status !== 200 || typeof token !== "string" || !token)
            throw new UserError(`UCP at ${this.c.url} answered its login with ${r.status}, no auth_token: is --ucp-url UCP's URL?`);
        this.token = token;
        return token;
    }

    /** A Docker API call through UCP, as the logged-in admin. */
    async docker(method: string, path: string, body?: unknown): Promise<Answer> {
        const token = await this.login();
        debug(`ucp ${method} ${path}`);
        return this.request(method, path, body, token);
    }

    async inspectNetwork(name: string): Promise<any | undefined> {
        const r = await this.docker("GET", `/networks/${encodeURIComponent(name)}`);
        if (r.status === 404) return undefined;
        if (r.status !== 200) throw new UserError(`UCP at ${this.c.url}: inspecting network ${name} answered ${r.status} ${msg(r)}`);
        return JSON.parse(r.body.toString());
    }

    async createNetwork(spec: unknown): Promise<void> {
        const r = await this.docker("POST", "/networks/create", spec);
        if (r.status !== 201 && r.status !== 200)
            throw new UserError(`UCP at ${this.c.url}: creating a network answered ${r.status} ${msg(r)}`);
    }
}

function msg(r: Answer): string {
    const t = r.body.toString();
    try {
        return JSON.parse(t).message ?? t.trim();
    } catch {
        return t.trim();
    }
}

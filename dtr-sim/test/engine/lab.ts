// Access to the lab (bash lab/lab.sh status) for the engine tests: run the dtr-sim CLI the way operators
// run DTR (docker run -i --rm -v /var/run/docker.sock:...), and call replicas over HTTPS.
import { execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import https from "node:https";
import { join } from "node:path";

export interface LabHost {
    name: string;
    address: string;
    dockerSocket: string;
    ucpNode: string;
}
export interface Lab {
    state: string;
    hosts: LabHost[];
    registry: string;
    s3: { endpoint: string; region: string; accessKeyPath: string; secretKeyPath: string; buckets: { layers: string } };
    /** ucp-sim, the lab's stand-in for UCP's API (on a manager): DTR on a worker creates dtr-ol through it. */
    ucp?: { url: string | null; ca: string | null; username?: string; passwordPath: string | null };
}

const repo = join(__dirname, "..", "..", "..", "..");

export function loadLab(): Lab {
    const text = process.env.DTR_SIM_TEST_LAB_JSON
        ? readFileSync(process.env.DTR_SIM_TEST_LAB_JSON, "utf8")
        : execFileSync("bash", [join(repo, "lab", "lab.sh"), "status"], { encoding: "utf8" });
    const lab = JSON.parse(text) as Lab;
    if (lab.state !== "up")
        throw new Error(`the lab is '${lab.state}', not up: run bash lab/lab.sh up first (engine tests need real dockerds)`);
    if (!lab.ucp?.url || !lab.ucp.ca || !lab.ucp.passwordPath)
        throw new Error(
            "the lab status has no ucp-sim (ucp.url, ucp.ca, ucp.passwordPath): bring the lab up again with bash lab/lab.sh up",
        );
    // DTR's admin is UCP's: the lab's ucp-sim password, and its CA pinned (--ucp-ca), as in production.
    PASSWORD = readFileSync(lab.ucp.passwordPath, "utf8").trim();
    ucp = { url: lab.ucp.url, ca: lab.ucp.ca };
    return lab;
}

export const version = readFileSync(join(repo, "dtr-sim", "VERSION"), "utf8").trim();

export interface Run {
    code: number;
    stdout: Buffer;
    stderr: string;
}

export function docker(host: LabHost, args: string[], opts: { stdin?: Buffer; env?: Record<string, string> } = {}): Promise<Run> {
    return new Promise((resolve, reject) => {
        const p = spawn("docker", args, {
            env: { PATH: process.env.PATH, HOME: process.env.HOME, DOCKER_HOST: `unix://${host.dockerSocket}`, ...(opts.env ?? {}) },
            stdio: ["pipe", "pipe", "pipe"],
        });
        const out: Buffer[] = [];
        let err = "";
        p.stdout.on("data", (c: Buffer) => out.push(c));
        p.stderr.on("data", (c: Buffer) => (err += c.toString()));
        p.on("error", reject);
        p.on("close", (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr: err }));
        p.stdin.end(opts.stdin ?? Buffer.alloc(0));
    });
}

/** UCP's (and so DTR's) admin password: ucp-sim's, set by loadLab(). */
export let PASSWORD = "";
let ucp: { url: string; ca: string } | undefined;

/** Runs a dtr-sim command on a host; the password travels in the environment, never in argv. */
export function dtr(host: LabHost, image: string, args: string[], opts: { stdin?: Buffer; password?: string } = {}): Promise<Run> {
    if (!ucp) throw new Error("loadLab() first: the ucp-sim URL and CA come from the lab's status");
    // The CA travels in the environment (UCP_CA), as the password does.
    const ucpArgs = ["--ucp-url", ucp.url, "--ucp-username", "admin"];
    return docker(
        host,
        [
            "run",
            "-i",
            "--rm",
            "--pull",
            "never",
            "--log-driver",
            "none",
            "-e",
            "UCP_PASSWORD",
            "-e",
            "UCP_CA",
            "-v",
            "/var/run/docker.sock:/var/run/docker.sock",
            image,
            ...args,
            ...ucpArgs,
        ],
        { stdin: opts.stdin, env: { UCP_PASSWORD: opts.password ?? PASSWORD, UCP_CA: ucp.ca } },
    );
}

export interface HttpResult {
    status: number;
    body: any;
}

export function call(
    address: string,
    port: number,
    method: string,
    path: string,
    opts: { body?: unknown; auth?: boolean; password?: string } = {},
): Promise<HttpResult> {
    return new Promise((resolve, reject) => {
        const data = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
        const headers: Record<string, string> = {};
        if (opts.auth !== false) headers.authorization = "Basic " + Buffer.from(`admin:${opts.password ?? PASSWORD}`).toString("base64");
        if (data) Object.assign(headers, { "content-type": "application/json", "content-length": String(data.length) });
        const req = https.request({ host: address, port, method, path, headers, rejectUnauthorized: false, timeout: 60000 }, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => {
                const t = Buffer.concat(chunks).toString();
                let body: unknown = t;
                try {
                    body = t ? JSON.parse(t) : undefined;
                } catch {
                    /* text */
                }
                resolve({ status: res.statusCode ?? 0, body });
            });
        });
        req.on("timeout", () => req.destroy(new Error(`${method} ${path} timed out`)));
        req.on("error", reject);
        if (data) req.write(data);
        req.end();
    });
}

export async function until<T>(what: string, ms: number, fn: () => Promise<T | undefined>, everyMs = 1000): Promise<T> {
    const end = Date.now() + ms;
    let last: unknown;
    while (Date.now() < end) {
        try {
            const v = await fn();
            if (v !== undefined) return v;
        } catch (e) {
            last = e;
        }
        await new Promise((r) => setTimeout(r, everyMs));
    }
    throw new Error(`timed out after ${ms / 1000}s waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}

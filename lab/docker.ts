/**
 * The docker CLI against one lab host's own engine (its socket, reached from the root namespace), and DTR's API on a
 * replica. Used by the demo and the lab tests to push, pull and inspect as a user would.
 */
import { execFile, spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { LabHost } from "./lab";

const run = promisify(execFile);

/** A private docker client config, so the lab never touches ~/.docker. */
const DOCKER_CONFIG = fs.mkdtempSync(path.join(os.tmpdir(), "dtr-ha-docker-"));

export async function docker(host: LabHost, args: string[], input?: string): Promise<string> {
    return new Promise((resolve, reject) => {
        const p = spawn("docker", args, {
            env: { ...process.env, DOCKER_HOST: `unix://${host.dockerSocket}`, DOCKER_CONFIG },
            stdio: ["pipe", "pipe", "pipe"],
        });
        let out = "";
        let err = "";
        p.stdout.on("data", (d) => (out += d));
        p.stderr.on("data", (d) => (err += d));
        p.on("close", (code) =>
            code === 0 ? resolve(out.trim()) : reject(new Error(`docker ${args[0]} on ${host.name} failed (exit ${code}): ${err.trim()}`)),
        );
        p.stdin.end(input ?? "");
    });
}

/** Logs the host's engine in to a replica; the password goes on stdin. */
export function dockerLogin(host: LabHost, registry: string, user: string, password: string): Promise<string> {
    return docker(host, ["login", registry, "-u", user, "--password-stdin"], password);
}

/**
 * Builds a small image on `host` from random bytes (so its layer digest is new every time) without any base image:
 * a tar with one file, imported with `docker import`. Returns the image's local tag.
 */
export async function makeTestImage(host: LabHost, tag: string, bytes = 256 * 1024): Promise<string> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dtr-ha-img-"));
    fs.writeFileSync(path.join(dir, "payload.bin"), crypto.randomBytes(bytes));
    fs.writeFileSync(path.join(dir, "made-by"), `dtr-ha lab test ${new Date().toISOString()}\n`);
    const tar = path.join(dir, "..", `${path.basename(dir)}.tar`);
    await run("tar", ["-cf", tar, "-C", dir, "."]);
    await run("docker", ["import", tar, tag], { env: { ...process.env, DOCKER_HOST: `unix://${host.dockerSocket}`, DOCKER_CONFIG } });
    fs.rmSync(dir, { recursive: true });
    fs.rmSync(tar);
    return tag;
}

/** The layer digests of a local image. */
export async function layerDigests(host: LabHost, image: string): Promise<string[]> {
    return JSON.parse(await docker(host, ["image", "inspect", "--format", "{{json .RootFS.Layers}}", image]));
}

export interface ApiAnswer {
    status: number;
    body: any;
}

/**
 * Calls DTR's API on a replica from the root namespace. The lab's replicas use self-signed certificates, so TLS is not
 * verified here: this is lab-only code, never used against a real cluster.
 */
export function dtrApi(
    address: string,
    method: string,
    apiPath: string,
    auth?: { user: string; password: string },
    body?: unknown,
    headers: Record<string, string> = {},
    port = 443,
): Promise<ApiAnswer> {
    return new Promise((resolve, reject) => {
        const payload = body === undefined ? undefined : JSON.stringify(body);
        const req = https.request(
            {
                host: address,
                port,
                method,
                path: apiPath,
                rejectUnauthorized: false,
                timeout: 15_000,
                headers: {
                    ...(auth ? { authorization: `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString("base64")}` } : {}),
                    ...(payload ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } : {}),
                    ...headers,
                },
            },
            (res) => {
                let data = "";
                res.on("data", (d) => (data += d));
                res.on("end", () => {
                    let parsed: unknown = data;
                    try {
                        parsed = data ? JSON.parse(data) : undefined;
                    } catch {
                        /* not JSON: keep the text */
                    }
                    resolve({ status: res.statusCode ?? 0, body: parsed });
                });
            },
        );
        req.on("timeout", () => req.destroy(new Error(`${method} https://${address}:${port}${apiPath} timed out`)));
        req.on("error", reject);
        req.end(payload);
    });
}

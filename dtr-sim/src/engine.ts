// Docker Engine API over the unix socket (no docker CLI in the image, no /bin/sh).
import http from "node:http";
import { debug, UserError } from "./log";

export class EngineError extends Error {
    constructor(
        public status: number,
        message: string,
    ) {
        super(message);
    }
}

export function socketPath(env = process.env): string {
    const h = env.DOCKER_HOST;
    if (!h) return "/var/run/docker.sock";
    if (!h.startsWith("unix://"))
        throw new UserError(`DOCKER_HOST '${h}' is not a unix socket (unix:///path): dtr-sim talks to the engine over its socket only`);
    return h.slice("unix://".length);
}

export class Engine {
    constructor(private sock = socketPath()) {}

    request(
        method: string,
        path: string,
        body?: unknown,
        opts: { raw?: Buffer; contentType?: string; timeoutMs?: number } = {},
    ): Promise<{ status: number; body: Buffer }> {
        return new Promise((resolve, reject) => {
            const data = opts.raw ?? (body === undefined ? undefined : Buffer.from(JSON.stringify(body)));
            const req = http.request(
                {
                    socketPath: this.sock,
                    method,
                    path,
                    headers: {
                        Host: "docker",
                        ...(data ? { "Content-Type": opts.contentType ?? "application/json", "Content-Length": data.length } : {}),
                    },
                    timeout: opts.timeoutMs ?? 120000,
                },
                (res) => {
                    const chunks: Buffer[] = [];
                    res.on("data", (c: Buffer) => chunks.push(c));
                    res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
                    res.on("error", reject);
                },
            );
            req.on("timeout", () => req.destroy(new Error(`engine API ${method} ${path} timed out`)));
            req.on("error", (e: NodeJS.ErrnoException) => {
                if (e.code === "ENOENT" || e.code === "ECONNREFUSED" || e.code === "EACCES") {
                    reject(
                        new UserError(
                            `cannot reach the Docker engine at ${this.sock} (${e.code}): run with -v /var/run/docker.sock:/var/run/docker.sock`,
                        ),
                    );
                } else reject(e);
            });
            if (data) req.write(data);
            req.end();
        });
    }

    async json<T = any>(method: string, path: string, body?: unknown, okStatuses = [200, 201, 204, 304]): Promise<T> {
        debug(`engine ${method} ${path}`);
        const r = await this.request(method, path, body);
        if (!okStatuses.includes(r.status)) {
            let msg = r.body.toString("utf8");
            try {
                msg = JSON.parse(msg).message ?? msg;
            } catch {
                /* plain text */
            }
            throw new EngineError(r.status, `engine ${method} ${path}: ${r.status} ${msg.trim()}`);
        }
        if (!r.body.length) return undefined as T;
        const text = r.body.toString("utf8");
        try {
            return JSON.parse(text) as T;
        } catch {
            return text as unknown as T;
        }
    }

    info(): Promise<{ Name: string; Swarm: { LocalNodeState: string; ControlAvailable: boolean; NodeID: string } }> {
        return this.json("GET", "/info");
    }

    async inspectContainer(name: string): Promise<any | undefined> {
        try {
            return await this.json("GET", `/containers/${encodeURIComponent(name)}/json`);
        } catch (e) {
            if (e instanceof EngineError && e.status === 404) return undefined;
            throw e;
        }
    }

    listContainers(labelFilters: string[], all = true): Promise<any[]> {
        const filters = encodeURIComponent(JSON.stringify({ label: labelFilters }));
        return this.json("GET", `/containers/json?all=${all ? 1 : 0}&filters=${filters}`);
    }

    async createContainer(name: string, spec: unknown): Promise<string> {
        const r = await this.json<{ Id: string }>("POST", `/containers/create?name=${encodeURIComponent(name)}`, spec);
        return r.Id;
    }

    async start(id: string): Promise<void> {
        await this.json("POST", `/containers/${encodeURIComponent(id)}/start`);
    }

    async stop(id: string, t = 10): Promise<void> {
        await this.json("POST", `/containers/${encodeURIComponent(id)}/stop?t=${t}`, undefined, [204, 304, 404]);
    }

    async removeContainer(id: string, volumes = false): Promise<boolean> {
        const r = await this.request("DELETE", `/containers/${encodeURIComponent(id)}?force=1&v=${volumes ? 1 : 0}`);
        if (r.status === 404) return false;
        if (r.status !== 204) throw new EngineError(r.status, `engine: remove container ${id}: ${r.status} ${r.body.toString()}`);
        return true;
    }

    async putArchive(id: string, path: string, tar: Buffer): Promise<void> {
        debug(`engine PUT archive ${id}:${path} (${tar.length} bytes)`);
        const r = await this.request("PUT", `/containers/${encodeURIComponent(id)}/archive?path=${encodeURIComponent(path)}`, undefined, {
            raw: tar,
            contentType: "application/x-tar",
        });
        if (r.status !== 200) throw new EngineError(r.status, `engine: copy into ${id}:${path}: ${r.status} ${r.body.toString()}`);
    }

    async volumeExists(name: string): Promise<boolean> {
        const r = await this.request("GET", `/volumes/${encodeURIComponent(name)}`);
        return r.status === 200;
    }

    async createVolume(name: string, labels: Record<string, string>, driverOpts?: Record<string, string>): Promise<void> {
        await this.json("POST", "/volumes/create", { Name: name, Labels: labels, Driver: "local", DriverOpts: driverOpts ?? {} });
    }

    async removeVolume(name: string): Promise<boolean> {
        const r = await this.request("DELETE", `/volumes/${encodeURIComponent(name)}?force=1`);
        if (r.status === 404) return false;
        if (r.status !== 204) throw new EngineError(r.status, `engine: remove volume ${name}: ${r.status} ${r.body.toString()}`);
        return true;
    }

    listVolumes(labelFilters: string[]): Promise<{ Volumes: { Name: string; Labels: Record<string, string> }[] | null }> {
        return this.json("GET", `/volumes?filters=${encodeURIComponent(JSON.stringify({ label: labelFilters }))}`);
    }

    async inspectNetwork(name: string): Promise<any | undefined> {
        try {
            return await this.json("GET", `/networks/${encodeURIComponent(name)}`);
        } catch (e) {
            if (e instanceof EngineError && e.status === 404) return undefined;
            throw e;
        }
    }

    async createNetwork(spec: unknown): Promise<void> {
        await this.json("POST", "/networks/create", spec);
    }

    async connectNetwork(network: string, container: string): Promise<void> {
        await this.json("POST", `/networks/${encodeURIComponent(network)}/connect`, { Container: container });
    }

    async inspectImage(ref: string): Promise<any | undefined> {
        try {
            return await this.json("GET", `/images/${encodeURIComponent(ref)}/json`);
        } catch (e) {
            if (e instanceof EngineError && e.status === 404) return undefined;
            throw e;
        }
    }

    /** Pulls only when the image is missing; refs always name our local registry, never Docker Hub. */
    async ensureImage(ref: string): Promise<void> {
        if (await this.inspectImage(ref)) return;
        const at = ref.lastIndexOf(":");
        const slash = ref.lastIndexOf("/");
        const [name, tag] = at > slash ? [ref.slice(0, at), ref.slice(at + 1)] : [ref, "latest"];
        if (!name.includes("/") || !name.split("/")[0].match(/[.:]/)) {
            throw new UserError(
                `image ${ref} is not present on this engine and names no registry host; dtr-sim never pulls from Docker Hub`,
            );
        }
        const r = await this.request(
            "POST",
            `/images/create?fromImage=${encodeURIComponent(name)}&tag=${encodeURIComponent(tag)}`,
            undefined,
            { timeoutMs: 600000 },
        );
        const text = r.body.toString();
        if (r.status !== 200 || /"error"/.test(text)) throw new UserError(`cannot pull ${ref}: ${r.status} ${text.slice(-400)}`);
        if (!(await this.inspectImage(ref))) throw new UserError(`pulled ${ref} but the engine does not list it`);
    }
}

// HTTP between the CLI, the replicas' API containers and their registries, over the dtr-ol overlay.
import http from "node:http";
import dns from "node:dns";
import { LookupFunction } from "node:net";

// Docker's embedded DNS (127.0.0.11) knows container names on dtr-ol, including containers on other
// hosts. A container attached to dtr-ol after it started may keep the host's resolv.conf, so ask it directly.
const embedded = new dns.Resolver({ timeout: 1000, tries: 2 });
embedded.setServers(["127.0.0.11"]);

export const overlayLookup: LookupFunction = (hostname, options, callback) => {
    const cb = callback as (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;
    if (/^\d+\.\d+\.\d+\.\d+$/.test(hostname)) {
        if ((options as dns.LookupOptions).all) return cb(null, [{ address: hostname, family: 4 }]);
        return cb(null, hostname, 4);
    }
    embedded.resolve4(hostname, (err, addrs) => {
        if (!err && addrs.length) {
            if ((options as dns.LookupOptions).all)
                return cb(
                    null,
                    addrs.map((a) => ({ address: a, family: 4 })),
                );
            return cb(null, addrs[0], 4);
        }
        // Only when there is no embedded DNS at all (not on a user network) ask the system resolver: its
        // getaddrinfo cannot be cancelled and, with unreachable nameservers, delays process exit by seconds.
        if (err && (err as NodeJS.ErrnoException).code === "ECONNREFUSED")
            return dns.lookup(hostname, options as dns.LookupOptions, cb as any);
        const e = Object.assign(
            new Error(`${hostname}: not found on dtr-ol (${(err as NodeJS.ErrnoException | null)?.code ?? "no address"})`),
            { code: "ENOTFOUND" },
        );
        cb(e, "", 4);
    });
};

export interface PeerResponse {
    status: number;
    headers: http.IncomingHttpHeaders;
    body: Buffer;
    json<T = any>(): T;
}

export function peerRequest(
    host: string,
    port: number,
    method: string,
    path: string,
    opts: { headers?: Record<string, string>; body?: unknown; timeoutMs?: number } = {},
): Promise<PeerResponse> {
    return new Promise((resolve, reject) => {
        const data = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
        const req = http.request(
            {
                host,
                port,
                method,
                path,
                lookup: overlayLookup,
                headers: {
                    ...(opts.headers ?? {}),
                    ...(data ? { "Content-Type": "application/json", "Content-Length": String(data.length) } : {}),
                },
                timeout: opts.timeoutMs ?? 5000,
                agent: false,
            },
            (res) => {
                const chunks: Buffer[] = [];
                res.on("data", (c: Buffer) => chunks.push(c));
                res.on("end", () => {
                    const body = Buffer.concat(chunks);
                    resolve({
                        status: res.statusCode ?? 0,
                        headers: res.headers,
                        body,
                        json: <T>() => JSON.parse(body.toString("utf8")) as T,
                    });
                });
                res.on("error", reject);
            },
        );
        req.on("timeout", () =>
            req.destroy(new Error(`${method} http://${host}:${port}${path} timed out after ${opts.timeoutMs ?? 5000} ms`)),
        );
        req.on("error", reject);
        if (data) req.write(data);
        req.end();
    });
}

export const API_INTERNAL_PORT = 8080;
export const apiHost = (id: string) => `dtr-api-${id}`;
export const registryHost = (id: string) => `dtr-registry-${id}`;

export function sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}

import * as https from "https";

/** GET https://<address>:<port>/_ping; true on 200. A liveness probe only: no credentials are sent, so TLS is not verified. */
export function pingOk(address: string, port: number, timeoutMs = 5000): Promise<boolean> {
    return new Promise((resolve) => {
        const req = https.get({ host: address, port, path: "/_ping", rejectUnauthorized: false, timeout: timeoutMs }, (res) => {
            res.resume();
            resolve(res.statusCode === 200);
        });
        req.on("timeout", () => req.destroy());
        req.on("error", () => resolve(false));
    });
}

/** Index of the first address whose replica answers `/_ping` with 200, or 0 when none does (let the command say why). */
export async function firstHealthy(addresses: string[], port: number): Promise<number> {
    for (let i = 0; i < addresses.length; i++) if (await pingOk(addresses[i], port)) return i;
    return 0;
}

/**
 * The program's own look at the replicas, so a preview (which runs no command) still names a replica that is down. Each
 * declared replica's `/_ping` once, from the machine running Pulumi, bounded in time; it decides nothing, it warns.
 */
import * as https from "https";

export interface ProbeTarget {
    id: string;
    host: string;
    address: string;
}

export interface ProbeResult extends ProbeTarget {
    reason: string;
}

/** The replicas whose `/_ping` did not answer 200 within `timeoutMs`, with why. */
export async function probeReplicas(targets: ProbeTarget[], port: number, timeoutMs = 3000): Promise<ProbeResult[]> {
    const results = await Promise.all(
        targets.map(
            (t) =>
                new Promise<ProbeResult | undefined>((resolve) => {
                    const done = (reason?: string) => resolve(reason ? { ...t, reason } : undefined);
                    // The replicas' certificates are DTR's own (or the lab's): /_ping says nothing secret either way.
                    const req = https.get(
                        { host: t.address, port, path: "/_ping", rejectUnauthorized: false, timeout: timeoutMs },
                        (res) => {
                            res.resume();
                            done(res.statusCode === 200 ? undefined : `/_ping: ${res.statusCode}`);
                        },
                    );
                    req.on("timeout", () => req.destroy(new Error(`no answer in ${timeoutMs / 1000}s`)));
                    req.on("error", (e) => done((e as Error).message));
                }),
        ),
    );
    return results.filter((r): r is ProbeResult => r !== undefined);
}

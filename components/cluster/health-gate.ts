/**
 * The health gate: the cluster is done only when every replica answers `/_ping` healthy and DTR's cluster status
 * lists every replica as OK. `/_ping` speaks for one replica only, so both are needed. Retries are bounded by count
 * and by wall time, so a broken cluster fails the deployment instead of hanging it.
 */
import { authConfigFunction, curlCall } from "../dtr-cli/api";
import { assertReplicaId } from "../dtr-cli/commands";
import { shellQuote } from "../dtr-cli/shell";

export interface GateReplica {
    id: string;
    /** Address of the replica's host as seen from the host running the gate. */
    address: string;
}

export interface HealthGateOptions {
    replicas: GateReplica[];
    externalUrl: string;
    httpsPort?: number;
    /** Overall limit in seconds (default 900). */
    timeoutSeconds?: number;
    /** Pause between attempts in seconds (default 10). */
    intervalSeconds?: number;
}

export const HEALTHY_LINE_PREFIX = "dtr-ha health: healthy";

export function healthGateScript(o: HealthGateOptions): string {
    const timeout = o.timeoutSeconds ?? 900;
    const interval = o.intervalSeconds ?? 10;
    if (!Number.isInteger(timeout) || timeout < 10 || timeout > 7200) {
        throw new Error(`healthGate.timeoutSeconds=${timeout} must be a whole number from 10 to 7200`);
    }
    if (!Number.isInteger(interval) || interval < 1 || interval > timeout) {
        throw new Error(`healthGate.intervalSeconds=${interval} must be a whole number from 1 to timeoutSeconds`);
    }
    if (o.replicas.length === 0) throw new Error("health gate needs at least one replica");
    o.replicas.forEach((r) => assertReplicaId("replica id", r.id));
    const port = o.httpsPort ?? 443;
    const maxAttempts = Math.ceil(timeout / interval) + 1;
    const pairs = o.replicas.map((r) => shellQuote(`${r.id} ${r.address}`)).join(" ");
    const status = curlCall({
        externalUrl: o.externalUrl,
        httpsPort: port,
        method: "GET",
        path: "/api/v0/meta/cluster_status",
        auth: true,
        outFile: '"$body"',
    });
    return [
        "set -u",
        authConfigFunction(),
        "body=$(mktemp); trap 'rm -f \"$body\"' EXIT",
        `start=$(date +%s); deadline=$((start + ${timeout})); attempt=0`,
        "while :; do",
        "  attempt=$((attempt + 1)); bad=''",
        `  for pair in ${pairs}; do`,
        "    set -- $pair",
        `    code=$(curl -sS --insecure --max-time 10 -o /dev/null -w '%{http_code}' "https://$2:${port}/_ping" 2>/dev/null) || code=unreachable`,
        '    [ "$code" = 200 ] || bad="$bad $1@$2(/_ping:$code)"',
        "  done",
        '  if [ -z "$bad" ]; then',
        `    code=$(${status}) || code=unreachable`,
        '    if [ "$code" = 200 ]; then',
        `      for pair in ${pairs}; do`,
        "        set -- $pair",
        `        grep -Eq "\\"$1\\"[[:space:]]*:[[:space:]]*\\"OK\\"" "$body" || bad="$bad $1(cluster_status:not-OK)"`,
        "      done",
        '    else bad="cluster_status:HTTP-$code"; fi',
        "  fi",
        '  if [ -z "$bad" ]; then',
        `    echo "${HEALTHY_LINE_PREFIX}: ${o.replicas.length} replicas OK after $attempt attempt(s), $(( $(date +%s) - start ))s"; exit 0`,
        "  fi",
        `  if [ "$(date +%s)" -ge "$deadline" ] || [ "$attempt" -ge ${maxAttempts} ]; then`,
        `    echo "dtr-ha health: NOT healthy after $attempt attempt(s), $(( $(date +%s) - start ))s (limit ${timeout}s):$bad" >&2; exit 1`,
        "  fi",
        '  echo "dtr-ha health: attempt $attempt waiting for:$bad" >&2',
        `  sleep ${interval}`,
        "done",
    ].join("\n");
}

/** Reads the gate's final stdout line back into numbers (for outputs and reports). */
export function parseHealthLine(stdout: string): { healthy: boolean; replicas: number; attempts: number; seconds: number } {
    const m = /healthy: (\d+) replicas OK after (\d+) attempt\(s\), (\d+)s/.exec(stdout);
    if (!m) return { healthy: false, replicas: 0, attempts: 0, seconds: 0 };
    return { healthy: true, replicas: Number(m[1]), attempts: Number(m[2]), seconds: Number(m[3]) };
}

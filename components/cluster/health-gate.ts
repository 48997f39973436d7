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
    /**
     * `wait` (the first deployment): wait up to the timeout for every replica. `check` (every later up): give the
     * cluster at most `CHECK_SECONDS` to be whole, then report what is: a cluster that keeps quorum with replicas down
     * is DEGRADED (exit 0: it serves, a backup from a healthy replica must still run); one that lost quorum fails.
     * Either way the failure classes name the recovery (npm run recover).
     */
    mode?: "wait" | "check";
    /** `check` mode's wait in seconds (default CHECK_SECONDS, at most the timeout). */
    checkSeconds?: number;
}

/** How long a later up's check waits for a degraded cluster to become whole before reporting it. */
export const CHECK_SECONDS = 60;
export const DEGRADED_LINE_PREFIX = "dtr-ha health: DEGRADED";

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
    const check = o.mode === "check";
    const checkSeconds = o.checkSeconds ?? CHECK_SECONDS;
    if (!Number.isInteger(checkSeconds) || checkSeconds < 1)
        throw new Error(`healthGate checkSeconds=${checkSeconds} must be a whole number >= 1`);
    const limit = check ? Math.min(timeout, checkSeconds) : timeout;
    const maxAttempts = Math.ceil(limit / Math.min(interval, limit)) + 1;
    const n = o.replicas.length;
    const quorum = Math.floor(n / 2) + 1;
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
        `start=$(date +%s); deadline=$((start + ${limit})); attempt=0`,
        // Which stack to name in the recovery command (organization/project/stack in DTR_HA_OWNER).
        "stack=${DTR_HA_OWNER:-<stack>}; stack=${stack##*/}",
        "while :; do",
        "  attempt=$((attempt + 1)); bad=''; up=0",
        `  for pair in ${pairs}; do`,
        "    set -- $pair",
        `    code=$(curl -sS --insecure --max-time 10 -o /dev/null -w '%{http_code}' "https://$2:${port}/_ping" 2>/dev/null) || code=unreachable`,
        '    if [ "$code" = 200 ]; then up=$((up + 1)); else bad="$bad $1@$2(/_ping:$code)"; fi',
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
        // The failure classes of DTR's disaster-recovery guide, by how many replicas still answer.
        `    if [ "$up" -ge ${quorum} ]; then cls="class 1: quorum kept ($up of ${n} replicas answer): remove and replace the lost replicas, no data lost"`,
        `    elif [ "$up" -gt 0 ]; then cls="class 2: quorum LOST ($up of ${n} answer, ${quorum} needed): emergency-repair on the most up-to-date survivor, then replace the others, no data lost"`,
        `    else cls="class 3: no replica answers: rebuild from the newest verified backup"; fi`,
        '    fix="see the plan: npm run recover -- --stack $stack (it changes nothing without --yes)"',
        ...(check
            ? [
                  `    if [ "$up" -ge ${quorum} ] && [ "$up" -lt ${n} ]; then`,
                  `      echo "dtr-ha health: WARNING: the cluster is degraded:$bad; $cls; $fix" >&2`,
                  `      echo "${DEGRADED_LINE_PREFIX}: $up of ${n} replicas OK; down:$bad; $cls; $fix"; exit 0`,
                  "    fi",
              ]
            : []),
        `    echo "dtr-ha health: NOT healthy after $attempt attempt(s), $(( $(date +%s) - start ))s (limit ${limit}s):$bad; $cls; $fix" >&2; exit 1`,
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

/**
 * Joins and removes through whichever declared replica is healthy when the step runs, not always replica 1: losing
 * the install host must not stop a join or a remove. The scripts are constant (sh/membership.sh); the replica, the
 * candidates and the port travel in the environment.
 */
import { DtrImage, RunOptions, UcpConnection, assertReplicaId, joinCommand, removeCommand } from "../dtr-cli/commands";
import { shFile } from "../dtr-cli/sh-file";
import { GateReplica } from "./health-gate";

export const MEMBER_ENV = {
    replicaId: "DTR_HA_REPLICA_ID",
    candidates: "DTR_HA_CANDIDATES",
    httpsPort: "DTR_HA_HTTPS_PORT",
} as const;

/** The step's text and the values it reads from its environment. */
export interface MemberStep {
    script: string;
    env: Record<string, string>;
}

interface Common {
    image: DtrImage;
    ucp: UcpConnection;
    run?: RunOptions;
}

const PLACEHOLDER = "ffffffffffff";

/** DTR's command line with `--existing-replica-id` taken from "$1" (the rest quoted once by the builders). */
function withExistingFromArg(line: string): string {
    const parts = line.split(`--existing-replica-id ${PLACEHOLDER}`);
    if (parts.length !== 2 || line.split(PLACEHOLDER).length !== 2) throw new Error("internal: the --existing-replica-id shape changed");
    return parts.join('--existing-replica-id "$1"');
}

function env(replicaId: string, candidates: GateReplica[], httpsPort: number): Record<string, string> {
    assertReplicaId("replica id", replicaId);
    candidates.forEach((c) => assertReplicaId("candidate replica id", c.id));
    for (const c of candidates) {
        if (!/^[A-Za-z0-9.:_-]+$/.test(c.address))
            throw new Error(`replica ${c.id}: address ${JSON.stringify(c.address)} is not a host address`);
    }
    return {
        [MEMBER_ENV.replicaId]: replicaId,
        [MEMBER_ENV.candidates]: candidates
            .filter((c) => c.id !== replicaId)
            .map((c) => `${c.id} ${c.address}`)
            .join(" "),
        [MEMBER_ENV.httpsPort]: String(httpsPort),
    };
}

function script(fn: string, action: "member_join" | "member_remove"): string {
    return [fn, shFile(__dirname, "membership.sh"), action].join("\n");
}

/** `join` of `replicaId` on this host through the first healthy candidate. */
export function joinStep(
    a: Common & { ucpNode: string; replicaId: string; httpPort?: number; httpsPort?: number },
    candidates: GateReplica[],
): MemberStep {
    const line = joinCommand({ ...a, existingReplicaId: PLACEHOLDER });
    return {
        script: script(`dtr_join() { ${withExistingFromArg(line)}; }`, "member_join"),
        env: env(a.replicaId, candidates, a.httpsPort ?? 443),
    };
}

/** `remove` of `replicaId` through the first healthy other replica (DTR: every other replica must be healthy). */
export function removeStep(a: Common & { replicaId: string; httpsPort?: number }, candidates: GateReplica[]): MemberStep {
    const line = removeCommand({ ...a, existingReplicaId: PLACEHOLDER, replicaIds: [a.replicaId] });
    return {
        script: script(`dtr_remove() { ${withExistingFromArg(line)}; }`, "member_remove"),
        env: env(a.replicaId, candidates, a.httpsPort ?? 443),
    };
}

/**
 * Joins, removes and upgrades through whichever declared replica is healthy when the step runs, not always replica 1:
 * losing the install host must not stop a join, a remove or an upgrade. The scripts are constant (sh/membership.sh);
 * the replica, the candidates and the port travel in the environment.
 */
import { authConfigFunction } from "../dtr-cli/api";
import { DtrImage, RunOptions, UcpConnection, assertReplicaId, joinCommand, removeCommand, upgradeCommand } from "../dtr-cli/commands";
import { shFile } from "../dtr-cli/sh-file";
import { GateReplica } from "./health-gate";

export const MEMBER_ENV = {
    memberId: "DTR_HA_MEMBER_ID",
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

const EXISTING = "ffffffffffff";
const REMOVED = "eeeeeeeeeeee";

/** Replaces `flag value` (exactly once) in DTR's command line with `flag "$n"`. */
function fromArg(line: string, flag: string, value: string, arg: string): string {
    const parts = line.split(`${flag} ${value}`);
    if (parts.length !== 2 || line.split(value).length !== 2) throw new Error(`internal: the ${flag} shape changed`);
    return parts.join(`${flag} "${arg}"`);
}

function env(memberId: string | undefined, candidates: GateReplica[], httpsPort: number): Record<string, string> {
    if (memberId !== undefined) assertReplicaId("replica id", memberId);
    candidates.forEach((c) => assertReplicaId("candidate replica id", c.id));
    for (const c of candidates) {
        if (!/^[A-Za-z0-9.:_-]+$/.test(c.address))
            throw new Error(`replica ${c.id}: address ${JSON.stringify(c.address)} is not a host address`);
    }
    return {
        [MEMBER_ENV.memberId]: memberId ?? "",
        [MEMBER_ENV.candidates]: candidates
            .filter((c) => c.id !== memberId)
            .map((c) => `${c.id} ${c.address}`)
            .join(" "),
        [MEMBER_ENV.httpsPort]: String(httpsPort),
    };
}

/** DTR's functions, the membership rules, then the one action the step runs. */
function script(fns: string[], action: string): string {
    return [authConfigFunction(), ...fns, shFile(__dirname, "membership.sh"), action].join("\n");
}

function removeFn(a: Common): string {
    const line = removeCommand({ ...a, existingReplicaId: EXISTING, replicaIds: [REMOVED] });
    return `dtr_remove() { ${fromArg(fromArg(line, "--existing-replica-id", EXISTING, "$1"), "--replica-ids", REMOVED, "$2")}; }`;
}

/**
 * `join` of `replicaId` on this host through the first healthy candidate. It first removes members the stack no longer
 * declares that DTR reports unhealthy (DTR's order: remove lost replicas, then join), and refuses while a declared one
 * is unhealthy.
 */
export function joinStep(
    a: Common & { ucpNode: string; replicaId: string; httpPort?: number; httpsPort?: number },
    candidates: GateReplica[],
): MemberStep {
    const line = joinCommand({ ...a, existingReplicaId: EXISTING });
    return {
        script: script([`dtr_join() { ${fromArg(line, "--existing-replica-id", EXISTING, "$1")}; }`, removeFn(a)], "member_join"),
        env: env(a.replicaId, candidates, a.httpsPort ?? 443),
    };
}

/**
 * `remove` of `replicaId` through the first healthy other replica (DTR: every other replica must be healthy). A replica
 * no longer in DTR's replica set (removed before, e.g. by the join that replaced it) is done already.
 */
export function removeStep(a: Common & { replicaId: string; httpsPort?: number }, candidates: GateReplica[]): MemberStep {
    return {
        script: script([removeFn(a)], "member_remove"),
        env: env(a.replicaId, candidates, a.httpsPort ?? 443),
    };
}

/** `upgrade` through the first healthy declared replica. Defines `member_upgrade` for the caller's script to call. */
export function upgradeFunctions(a: Common & { httpsPort?: number }, candidates: GateReplica[]): MemberStep {
    const line = upgradeCommand({ ...a, existingReplicaId: EXISTING });
    return {
        script: [
            authConfigFunction(),
            `dtr_upgrade() { ${fromArg(line, "--existing-replica-id", EXISTING, "$1")}; }`,
            shFile(__dirname, "membership.sh"),
        ].join("\n"),
        env: env(undefined, candidates, a.httpsPort ?? 443),
    };
}

/** On the leaving host after the removal: wait (bounded) until its replica's containers and volumes are gone. */
export function waitGoneScript(): string {
    return [shFile(__dirname, "membership.sh"), "member_wait_gone"].join("\n");
}

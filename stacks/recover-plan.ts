/**
 * The recovery plan as a plain function: from what each declared replica's host answered (SSH, engine, `/_ping`, DTR's
 * cluster status) to the failure class of DTR's disaster-recovery guide and the least-lossy steps for it
 * (docker/docs ee/dtr/admin/disaster-recovery/):
 *   1. some replicas unhealthy, quorum kept: remove them through a healthy replica (DTR wants every other replica
 *      healthy, so all lost ones go in one `remove`), then join replacements. No data lost.
 *   2. quorum lost, a replica left: `emergency-repair` on the most up-to-date survivor, then join replacements. No
 *      data lost (what the survivor has; writes stopped when quorum went).
 *   3. every replica lost: restore from the newest verified backup into a fresh stack. Data since that backup is lost.
 */
import { quorumSize } from "../components/cluster/topology";

export interface ReplicaProbe {
    host: string;
    replicaId: string;
    /** SSH answered (the host exists). */
    ssh: boolean;
    /** Its Docker engine answered. */
    engine: boolean;
    /** The replica's containers run on that engine (`dtr-*-<replica id>`). */
    running: boolean;
    /** `/_ping` HTTP status from the host itself, or "unreachable". */
    ping: number | "unreachable";
    /** DTR's cluster status for this replica, as a healthy replica reports it ("OK" or an error text); undefined when unknown. */
    status?: string;
    /** DTR's `replica_timestamp` for this replica (the most up-to-date survivor has the newest). */
    timestamp?: string;
    /** The stack the host's ownership record names (components/hosts/sh/ownership.sh); "" when there is none. */
    owner?: string;
}

export type RecoveryClass = 0 | 1 | 2 | 3;

export interface PlanStep {
    /** What runs, in words a person reads. */
    step: string;
    /** What it destroys or changes, "" when nothing. */
    destroys: string;
}

export interface RecoveryPlan {
    class: RecoveryClass;
    summary: string;
    healthy: string[];
    lost: string[];
    /** For class 2: the survivor emergency-repair runs on. */
    survivor?: string;
    steps: PlanStep[];
    /** Expected data loss: 0 for classes 0-2; for class 3 the age of the newest verified backup (null: none known). */
    rpoSeconds: number | null;
    /** Why the plan cannot run as it stands (e.g. no spare for a lost host); empty when it can. */
    blockers: string[];
}

export function isHealthy(p: ReplicaProbe): boolean {
    return p.ping === 200 && (p.status === undefined || p.status === "OK");
}

/** The replica still exists: its host, engine and containers are there (healthy or not: without quorum none is). */
export function isAlive(p: ReplicaProbe): boolean {
    return p.ssh && p.engine && p.running;
}

/**
 * The plan for `probes` (one per declared replica). `spares` are replacement host names, used in order for lost
 * hosts; `newestBackupAgeSeconds` is the RPO of a class 3 rebuild.
 */
export function planRecovery(
    probes: ReplicaProbe[],
    spares: string[],
    newestBackupAgeSeconds: number | null,
    stack?: string,
    /** The stack manages Swarm backups: a lost host's node also leaves the swarm, through a healthy manager. */
    swarmManaged = false,
): RecoveryPlan {
    const plan = planFor(probes, spares, newestBackupAgeSeconds);
    if (swarmManaged && (plan.class === 1 || plan.class === 2) && plan.lost.length) {
        // After DTR's own step, before the replacements join: a lost manager out of raft keeps the swarm's quorum whole.
        plan.steps.splice(
            1,
            0,
            ...plan.lost.map((h) => ({
                step: `swarm: once ${h}'s node is Down, demote it out of raft and remove it (docker node demote, docker node rm) through a healthy manager`,
                destroys: `${h}'s node leaves the swarm (already lost; a Ready node is refused)`,
            })),
        );
    }
    // A recovery acts only on what this stack owns: a replica another stack took over (a rebuild) is not ours to touch.
    if (stack !== undefined) {
        for (const p of probes) {
            if (p.owner && !p.owner.endsWith(`/${stack}`))
                plan.blockers.push(
                    `${p.host}'s replica belongs to stack ${p.owner}, not ${stack}: recover that stack instead (or retire this one)`,
                );
        }
    }
    return plan;
}

function planFor(probes: ReplicaProbe[], spares: string[], newestBackupAgeSeconds: number | null): RecoveryPlan {
    const n = probes.length;
    const q = quorumSize(n);
    const healthy = probes.filter(isHealthy);
    const alive = probes.filter(isAlive);
    const lost = probes.filter((p) => !isAlive(p));
    const base = { healthy: healthy.map((p) => p.host), lost: lost.map((p) => p.host), blockers: [] as string[] };
    const why = (p: ReplicaProbe) =>
        !p.ssh ? "host unreachable (SSH)" : !p.engine ? "Docker engine down" : !p.running ? "replica containers gone" : `/_ping ${p.ping}`;
    const lostText = lost.map((p) => `${p.host} (replica ${p.replicaId}: ${why(p)})`).join(", ");
    if (lost.length === 0) {
        const sick = probes.filter((p) => !isHealthy(p));
        return {
            ...base,
            class: 0,
            summary: sick.length
                ? `no replica is lost, but ${sick.map((p) => `${p.host} (/_ping ${p.ping}, status ${p.status ?? "unknown"})`).join(", ")} ${sick.length > 1 ? "are" : "is"} unhealthy: nothing to replace; look at DTR's logs there`
                : `healthy: ${n} of ${n} replicas OK; nothing to do`,
            steps: [],
            rpoSeconds: 0,
        };
    }
    const replace = (from: ReplicaProbe[]): PlanStep[] => {
        const steps: PlanStep[] = [];
        from.forEach((p, i) => {
            const spare = spares[i];
            if (!spare) {
                base.blockers.push(
                    `no spare host for ${p.host}: give one with --spare '<host spec>' (name, address, zone, hostKey, ...), or bring ${p.host} back`,
                );
                return;
            }
            steps.push({
                step: `replace ${p.host} by ${spare} in the stack's hosts; drop ${p.host}'s resources from the stack's state (no delete runs on a lost host)`,
                destroys: "",
            });
        });
        if (from.length)
            steps.push({ step: "pulumi up: join each replacement through a healthy replica, one at a time; health gate", destroys: "" });
        return steps;
    };
    if (alive.length >= q) {
        const through = healthy[0];
        if (!through)
            base.blockers.push("no replica is healthy to remove the lost ones through; wait for the survivors to settle and plan again");
        const ids = lost.map((p) => p.replicaId).join(",");
        const steps: PlanStep[] = [
            {
                step: `dtr remove --existing-replica-id ${through?.replicaId ?? "<healthy>"} --replica-ids ${ids} on ${through?.host ?? "<healthy host>"}`,
                destroys: `replica${lost.length > 1 ? "s" : ""} ${lost.map((p) => p.replicaId).join(", ")} leave${lost.length > 1 ? "" : "s"} the cluster (already lost)`,
            },
            ...replace(lost),
        ];
        return {
            ...base,
            class: 1,
            summary: `class 1: quorum kept (${alive.length} of ${n} replicas left, ${q} needed); lost: ${lostText}. No data is lost (RPO 0).`,
            steps,
            rpoSeconds: 0,
        };
    }
    if (alive.length > 0) {
        // The most up-to-date survivor: the newest replica_timestamp, as the survivors report it.
        const survivor = [...alive].sort((a, b) => String(b.timestamp ?? "").localeCompare(String(a.timestamp ?? "")))[0];
        const others = probes.filter((p) => p !== survivor);
        return {
            ...base,
            class: 2,
            survivor: survivor.host,
            summary: `class 2: quorum LOST (${alive.length} of ${n} replicas left, ${q} needed); lost: ${lostText}. emergency-repair on the most up-to-date survivor ${survivor.host} keeps everything it holds (RPO 0).`,
            steps: [
                {
                    step: `dtr emergency-repair --existing-replica-id ${survivor.replicaId} --yes on ${survivor.host}`,
                    destroys: `the replica set is rebuilt from ${survivor.host} alone; ${others.map((p) => p.replicaId).join(", ")} leave it`,
                },
                ...(others.filter(isAlive).length
                    ? [
                          {
                              step: `destroy what is left of ${others
                                  .filter(isAlive)
                                  .map((p) => p.host)
                                  .join(", ")}'s replica${others.filter(isAlive).length > 1 ? "s" : ""} (no longer members)`,
                              destroys: "their containers and volumes",
                          },
                      ]
                    : []),
                ...replace(lost),
            ],
            rpoSeconds: 0,
        };
    }
    return {
        ...base,
        class: 3,
        summary: `class 3: no replica is healthy (${lostText}). Rebuild from the newest verified backup into a fresh stack; data written after that backup is lost (RPO ${newestBackupAgeSeconds === null ? "unknown: no verified backup found" : `${Math.round(newestBackupAgeSeconds)} s`}).`,
        steps: [
            {
                step: "rebuild from the newest intact backup into a fresh stack (recover --to-stack <new> --yes, i.e. npm run rebuild -- --from latest --stack <new> --source-stack <this>): verify, take the hosts over, clear, restore, join, check the inventory",
                destroys: "whatever is left of the replicas on the hosts (restore.destroyExisting)",
            },
        ],
        rpoSeconds: newestBackupAgeSeconds,
    };
}

export interface StateResource {
    urn: string;
    dependencies?: string[];
    propertyDependencies?: Record<string, string[]>;
}

/**
 * The state without the lost hosts' resources (`<cluster>-*-<host>`, plus `alsoNames`), and without any reference to
 * them from the resources that stay, so the engine accepts it. Nothing else is touched.
 */
export function dropHostResources<R extends StateResource>(
    resources: R[],
    hosts: string[],
    cluster: string,
    alsoNames: string[] = [],
): { kept: R[]; gone: number } {
    const lost = (urn: string) => {
        const name = urn.split("::").pop()!;
        return alsoNames.includes(name) || hosts.some((h) => name.endsWith(`-${h}`) && name.startsWith(`${cluster}-`));
    };
    const gone = new Set(resources.filter((r) => lost(r.urn)).map((r) => r.urn));
    const kept = resources.filter((r) => !gone.has(r.urn));
    for (const r of kept) {
        if (r.dependencies) r.dependencies = r.dependencies.filter((d) => !gone.has(d));
        if (r.propertyDependencies)
            for (const k of Object.keys(r.propertyDependencies))
                r.propertyDependencies[k] = r.propertyDependencies[k].filter((d) => !gone.has(d));
    }
    return { kept, gone: gone.size };
}

/**
 * A rebuilt stack's `restore` config once recover puts another host first: its backed-up replica id must stay with the
 * host the restore ran on (the old first host), so `restore.host` is pinned to it unless already set. Unchanged (the
 * same object) when nothing moves or there is no restore.
 */
export function pinnedRestore<T extends Record<string, unknown>>(
    restore: T | undefined,
    oldFirst: string,
    newFirst: string,
): T | undefined {
    if (!restore || restore.host !== undefined || newFirst === oldFirst) return restore;
    return { ...restore, host: oldFirst };
}

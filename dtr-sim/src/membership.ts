// Pure checks of remove and emergency-repair, kept apart from the engine calls so unit tests can reach them.
import { UserError } from "./log";

/** What the CLI learned of one replica over dtr-ol; undefined = no answer. */
export interface ReplicaHealth {
    Healthy: boolean;
    Error?: string;
}

/**
 * remove (docker/docs reference/dtr/2.7/cli/remove.md): "All other replicas must be healthy and will remain healthy after
 * this operation"; --existing-replica-id is "an existing healthy replica's database" the command connects to
 * (it stays: removeTargets refuses it among the removed). Replicas being removed may be unhealthy or gone
 * (ee/dtr/admin/disaster-recovery/repair-a-single-replica.md removes the unhealthy ones this way).
 * Returns the replicas that stay.
 */
export function checkRemove(
    members: string[],
    existing: string,
    ids: string[],
    health: (id: string) => ReplicaHealth | undefined,
): string[] {
    if (!members.includes(existing)) {
        throw new UserError(
            `--existing-replica-id ${existing} is not a member of the replica set (${members.join(", ")}): name a healthy replica that stays`,
        );
    }
    const strangers = ids.filter((r) => !members.includes(r));
    if (strangers.length) {
        throw new UserError(
            `replica ${strangers.join(", ")} is not a member of the replica set (${members.join(", ")}): nothing to remove`,
        );
    }
    const staying = members.filter((r) => !ids.includes(r));
    for (const r of staying) {
        const h = health(r);
        if (!h || !h.Healthy) {
            throw new UserError(
                `all other replicas must be healthy: replica ${r} is ${h ? `unhealthy (${h.Error ?? "no detail"})` : "unreachable"}. ` +
                    `Bring it back, or remove it too (--replica-ids ${[...ids, r].join(",")}); if the cluster lost quorum use emergency-repair. Nothing was changed.`,
            );
        }
    }
    return staying;
}

/**
 * emergency-repair repairs from "a DTR replica of your choice" that must still be accessible ("at least one replica is
 * still accessible ... That replica doesn't need to be completely healthy": docker/docs
 * ee/dtr/admin/disaster-recovery/repair-a-cluster.md). No answer at all: refuse before changing anything.
 */
export function checkRepairSurvivor(id: string, h: ReplicaHealth | undefined): void {
    if (!h) {
        throw new UserError(
            `replica ${id} does not answer over dtr-ol: emergency-repair needs the replica you repair from running. ` +
                `Pick another --existing-replica-id (the one with the newest replica_timestamp in cluster_status), or restore from a backup. Nothing was changed.`,
        );
    }
}

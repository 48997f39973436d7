/**
 * Pure rules about the replica set: how many, where, and with which ids.
 * RethinkDB keeps DTR's metadata with majority quorum: 3 replicas survive 1 failure, 5 survive 2, 7 survive 3. An even
 * count buys nothing over the odd count below it and 2 replicas are worse than 1 (DTR-FACTS.md, set-up-high-availability).
 */
import { createHash } from "crypto";
import { assertReplicaId } from "../dtr-cli/commands";

export const ALLOWED_REPLICA_COUNTS = [3, 5, 7] as const;

export class TopologyError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "TopologyError";
    }
}

/**
 * Why a replica count is refused, or undefined when it is allowed. The config check and the components share this text
 * so both say the same thing: a majority of N must stay up for DTR's metadata store to accept writes.
 */
export function replicaCountProblem(count: number): string | undefined {
    if ((ALLOWED_REPLICA_COUNTS as readonly number[]).includes(count)) return undefined;
    const majority = `a majority of ${count} (${quorumSize(count)}) must stay up, so ${count} replicas survive ${faultTolerance(count)} failure(s)`;
    if (count === 2 || count === 4 || count === 6)
        return `an even count tolerates no more failures than ${count - 1} replicas and splits votes: ${majority}, as ${count - 1} do`;
    if (count < 3) return `fewer than 3 replicas cannot keep quorum when one fails: ${majority}`;
    return "DTR supports up to 7 replicas";
}

/** Refuses any replica count other than 3, 5 or 7, saying why. */
export function assertReplicaCount(count: number, key = "replicas"): void {
    const why = replicaCountProblem(count);
    if (why !== undefined) throw new TopologyError(`${key}=${count} is not allowed: ${why}. Use 3, 5 or 7 replicas.`);
}

/** How many replicas may fail with quorum kept. */
export function faultTolerance(count: number): number {
    return Math.floor((count - 1) / 2);
}

/** The majority a metadata write needs. */
export function quorumSize(count: number): number {
    return Math.floor(count / 2) + 1;
}

export interface PlacedHost {
    name: string;
    zone: string;
}

/**
 * One replica per zone: losing a zone must cost at most one replica. Sharing a zone is allowed only when the caller
 * says so (`allowZoneSharing`), and even then no zone may hold a majority, since losing it would lose quorum.
 */
export function assertPlacement(hosts: PlacedHost[], allowZoneSharing: boolean, key = "hosts"): void {
    const names = new Set<string>();
    for (const h of hosts) {
        if (names.has(h.name)) throw new TopologyError(`${key}: host name "${h.name}" appears twice; names must be unique`);
        names.add(h.name);
        if (!h.zone) throw new TopologyError(`${key}: host "${h.name}" has no zone; give its availability zone or failure domain`);
    }
    const byZone = new Map<string, string[]>();
    for (const h of hosts) byZone.set(h.zone, [...(byZone.get(h.zone) ?? []), h.name]);
    const shared = [...byZone.entries()].filter(([, hs]) => hs.length > 1);
    if (shared.length === 0) return;
    const desc = shared.map(([z, hs]) => `${z}: ${hs.join(", ")}`).join("; ");
    if (!allowZoneSharing) {
        throw new TopologyError(
            `${key}: ${hosts.length} replicas need ${hosts.length} zones but share some (${desc}). Losing one zone would ` +
                `take several replicas. Spread them over more zones, or set allowZoneSharing: true to accept that risk.`,
        );
    }
    const majority = quorumSize(hosts.length);
    for (const [zone, hs] of shared) {
        if (hs.length >= majority) {
            throw new TopologyError(
                `${key}: zone ${zone} holds ${hs.length} of ${hosts.length} replicas, a majority: losing it loses quorum ` +
                    `even with allowZoneSharing. Move replicas to other zones.`,
            );
        }
    }
}

/** A stable 12-hex replica id derived from the cluster and host names, so re-running a program never renames replicas. */
export function deriveReplicaId(clusterName: string, hostName: string): string {
    return createHash("sha256").update(`dtr-ha/${clusterName}/${hostName}`).digest("hex").slice(0, 12);
}

/** The replica ids in host order: configured ids where given (validated, unique), derived ones elsewhere. */
export function replicaIds(clusterName: string, hostNames: string[], configured: (string | undefined)[] = []): string[] {
    const ids = hostNames.map((h, i) => {
        const given = configured[i];
        return given === undefined ? deriveReplicaId(clusterName, h) : assertReplicaId(`replicaIds[${i}]`, given);
    });
    const seen = new Set<string>();
    for (const id of ids) {
        if (seen.has(id)) throw new TopologyError(`replicaIds: ${id} is used twice; every replica needs its own id`);
        seen.add(id);
    }
    return ids;
}

/** The replica a restore brings back: the backed-up replica's id, on the host the restore ran on. */
export interface RestoredReplica {
    /** The id of the replica the backup was taken from (its manifest's `replicaId`). */
    replicaId: string;
    /** The host the restore runs on (the first host when the restore ran); default: the first of `hostNames`. */
    host?: string;
}

/**
 * The replica ids of a cluster restored from a backup. DTR's restore takes `--replica-id` = "the id of the replica you
 * backed up" (docker/docs ee/admin/restore/restore-dtr.md; HPE's restore playbook does the same), so the restore host
 * gets that id, bound to the host's name (recover may later move another host to the front). A host whose own id is that
 * same id (the backup came from its replica in an earlier cluster of these names) takes the restore host's id instead, so
 * every id stays unique and each host's id stays the same on every later run.
 */
export function restoredReplicaIds(clusterName: string, hostNames: string[], ids: string[], restored: RestoredReplica): string[] {
    const backedUp = assertReplicaId("restore.replicaId (the backed-up replica's id)", restored.replicaId);
    const host = restored.host ?? hostNames[0];
    const at = hostNames.indexOf(host);
    // The id the restore host would have had: the one a host carrying the backed-up id takes instead.
    const displaced = at >= 0 ? ids[at] : deriveReplicaId(clusterName, host);
    const out = ids.map((id, i) => (i === at ? backedUp : id === backedUp ? displaced : id));
    const seen = new Set<string>();
    for (const id of out) {
        if (seen.has(id))
            throw new TopologyError(`replicaIds: ${id} is used twice after placing the restored replica ${backedUp} on ${host}`);
        seen.add(id);
    }
    return out;
}

// Rules on the DtrCluster component's registered outputs and on the replica hosts.
import { StackResource, Violation, TYPES, UNKNOWN, Unknown, describe, isUnknown, ofType, roleOf } from "./model";

/** RethinkDB needs a majority: 3 replicas survive 1 loss, 5 survive 2; 2 or 4 add risk, not safety. */
export function checkReplicaCount(resources: StackResource[]): Violation[] {
    const out: Violation[] = [];
    for (const c of ofType(resources, TYPES.cluster)) {
        const n = c.props["replicaCount"];
        if (isUnknown(n)) continue;
        if (typeof n !== "number" || !Number.isInteger(n)) {
            out.push({
                urn: c.urn,
                message:
                    `${describe(c)} has replicaCount ${JSON.stringify(n)}, not a whole number: ` +
                    `register replicaCount as an odd number of replicas, at least 3 (3, 5 or 7).`,
            });
        } else if (n < 3 || n % 2 === 0) {
            out.push({
                urn: c.urn,
                message:
                    `${describe(c)} has replicaCount ${n}: DTR's RethinkDB needs a majority quorum, ` +
                    `so use an odd number of replicas, at least 3 (3 tolerates 1 failure, 5 tolerates 2, ` +
                    `7 tolerates 3); set replicaCount to ${Math.max(3, n % 2 === 0 ? n + 1 : n)}.`,
            });
        }
    }
    return out;
}

/** Zones shared by more than one entry, with the indexes sharing each; unknown entries are left out. */
function duplicates(zones: (string | Unknown)[]): { zone: string; idx: number[] }[] {
    const byZone = new Map<string, number[]>();
    zones.forEach((z, i) => {
        if (!isUnknown(z)) byZone.set(z, [...(byZone.get(z) || []), i]);
    });
    return [...byZone.entries()].filter(([, idx]) => idx.length > 1).map(([zone, idx]) => ({ zone, idx }));
}

function sharing(d: { zone: string; idx: number[] }, labels: string[]): string {
    return `zone "${d.zone}" holds ${d.idx.map((i) => labels[i]).join(", ")}`;
}

function stringList(v: unknown): (string | Unknown)[] | Unknown | undefined {
    if (isUnknown(v)) return UNKNOWN;
    if (!Array.isArray(v)) return undefined;
    return v.map((x) => (isUnknown(x) ? UNKNOWN : String(x)));
}

/**
 * Groups replica instances per deployment: by the highest component above them (the one directly
 * below the stack); instances declared at the top level form one group.
 */
function deploymentOf(r: StackResource, byUrn: Map<string, StackResource>): string {
    let top = "";
    let cur = r.parent ? byUrn.get(r.parent) : undefined;
    while (cur && cur.type !== "pulumi:pulumi:Stack") {
        top = cur.urn;
        cur = cur.parent ? byUrn.get(cur.parent) : undefined;
    }
    return top;
}

/** One replica per availability zone: losing a zone must cost at most one replica. */
export function checkReplicaZones(resources: StackResource[]): Violation[] {
    const out: Violation[] = [];
    for (const c of ofType(resources, TYPES.cluster)) {
        const zones = stringList(c.props["zones"]);
        if (zones === undefined) {
            out.push({
                urn: c.urn,
                message: `${describe(c)} registers no zones output: register zones, one availability zone (or host zone label) per replica.`,
            });
            continue;
        }
        if (isUnknown(zones)) continue;
        const hosts = stringList(c.props["hostNames"]);
        const labels = zones.map((_, i) =>
            Array.isArray(hosts) && typeof hosts[i] === "string" ? `replica ${i + 1} (${hosts[i]})` : `replica ${i + 1}`,
        );
        const n = c.props["replicaCount"];
        if (typeof n === "number" && zones.length !== n) {
            out.push({
                urn: c.urn,
                message: `${describe(c)} lists ${zones.length} zones for ${n} replicas: register exactly one zone per replica.`,
            });
        }
        const blank = zones.map((z, i) => (z === "" ? labels[i] : "")).filter((x) => x);
        if (blank.length > 0) {
            out.push({
                urn: c.urn,
                message: `${describe(c)} has no zone for ${blank.join(", ")}: give every host an availability zone or zone label.`,
            });
        }
        const dup = duplicates(zones.map((z) => (z === "" ? UNKNOWN : z))).map((d) => sharing(d, labels));
        if (dup.length > 0) {
            out.push({
                urn: c.urn,
                message:
                    `${describe(c)} puts more than one replica in a zone (${dup.join("; ")}): ` +
                    `place each replica in its own availability zone so one zone outage costs at most one replica.`,
            });
        }
    }
    // Replica instances declared directly (AWS hosts): the same rule per deployment.
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const groups = new Map<string, StackResource[]>();
    for (const i of ofType(resources, TYPES.instance)) {
        if (roleOf(i) !== "replica") continue;
        const key = deploymentOf(i, byUrn);
        groups.set(key, [...(groups.get(key) || []), i]);
    }
    for (const members of groups.values()) {
        const zones = members.map((m) => {
            const z = m.props["availabilityZone"];
            return isUnknown(z) || typeof z !== "string" || z === "" ? UNKNOWN : z;
        });
        for (const d of duplicates(zones)) {
            const first = members[d.idx[0]];
            out.push({
                urn: first.urn,
                message:
                    `Replica instances share an availability zone (${sharing(
                        d,
                        members.map((m) => `"${m.name}"`),
                    )}), ` +
                    `first ${describe(first)}: give each replica instance its own availabilityZone ` +
                    `(or a subnet in another zone).`,
            });
        }
    }
    return out;
}

/** Local-filesystem storage is per host: replicas would serve different layer sets. */
export function checkClusterStorage(resources: StackResource[]): Violation[] {
    const out: Violation[] = [];
    for (const c of ofType(resources, TYPES.cluster)) {
        const kind = c.props["storageKind"];
        const n = c.props["replicaCount"];
        if (isUnknown(kind) || isUnknown(n)) continue;
        if (kind === "filesystem" && typeof n === "number" && n > 1) {
            out.push({
                urn: c.urn,
                message:
                    `${describe(c)} stores image layers on each host's local filesystem with ${n} replicas: ` +
                    `replicas would not share layers; set storage to "s3" (or "nfs") for a multi-replica cluster.`,
            });
        }
    }
    return out;
}

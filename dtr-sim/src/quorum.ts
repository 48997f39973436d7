// Majority arithmetic of the metadata store (RethinkDB in real DTR): n replicas need floor(n/2)+1.

export function majority(n: number): number {
    if (!Number.isInteger(n) || n < 1) throw new Error(`replica count must be a positive integer, got ${n}`);
    return Math.floor(n / 2) + 1;
}

/** How many replicas may fail while the rest still form a majority. */
export function faultTolerance(n: number): number {
    return n - majority(n);
}

export function hasQuorum(reachable: number, n: number): boolean {
    return reachable >= majority(n);
}

/**
 * A membership change commits only with a majority of the old AND the new replica set
 * (joint consensus in its simplest form), so adding or removing a replica cannot split the cluster.
 */
export function committed(acked: Set<string>, oldSet: string[], newSet: string[]): boolean {
    const count = (set: string[]) => set.filter((id) => acked.has(id)).length;
    const oldOk = oldSet.length === 0 || hasQuorum(count(oldSet), oldSet.length);
    const newOk = newSet.length === 0 || hasQuorum(count(newSet), newSet.length);
    return oldOk && newOk;
}

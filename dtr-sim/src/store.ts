// The replicated metadata store of one replica: local copy on disk, leaderless majority writes,
// anti-entropy pull from peers. It stands in for DTR's RethinkDB; see README "Quorum model".
import { readFileSync, writeFileSync, renameSync } from "node:fs";
import { apply, ClusterDoc, newer, Op, Stored } from "./state";
import { committed, hasQuorum, majority } from "./quorum";
import { API_INTERNAL_PORT, apiHost, peerRequest } from "./peer";
import { UserError } from "./log";

export class NoQuorumError extends UserError {
    status = 503;
}

export interface PeerView {
    ok: boolean;
    at: number; // last successful contact (ms)
    error?: string;
    /** Revision and write time of the copy the peer held at the last contact (cluster_status's replica_timestamp). */
    stored?: { rev: number; at?: string };
    health?: { Healthy: boolean; Error?: string; version?: string; appliedRev?: number; registryOk?: boolean };
}

export const SECRET_HEADER = "x-dtr-sim-secret";
const PEER_TIMEOUT_MS = 1500;

export class Store {
    stored: Stored;
    peers = new Map<string, PeerView>();
    private chain: Promise<unknown> = Promise.resolve();
    onChange: (s: Stored) => void = () => {};

    /** addr maps a replica id to where its internal API listens (dtr-api-<id>:8080 on dtr-ol; tests override). */
    constructor(
        public id: string,
        private file: string,
        private addr: (id: string) => { host: string; port: number } = (r) => ({ host: apiHost(r), port: API_INTERNAL_PORT }),
    ) {
        this.stored = JSON.parse(readFileSync(file, "utf8")) as Stored;
    }

    get doc(): ClusterDoc {
        return this.stored.doc;
    }
    members(doc = this.doc): string[] {
        return doc.replicas.map((r) => r.id);
    }
    isMember(): boolean {
        return this.members().includes(this.id);
    }

    /** Takes a newer document (from a peer or a local write); equal revisions are acknowledged too. */
    accept(s: Stored): boolean {
        if (s.doc.clusterId !== this.doc.clusterId) return false;
        if (s.rev === this.stored.rev && s.writer === this.stored.writer) return true;
        if (!newer(s, this.stored)) return false;
        this.stored = s;
        const tmp = this.file + ".tmp";
        writeFileSync(tmp, JSON.stringify(s), { mode: 0o600 });
        renameSync(tmp, this.file);
        this.onChange(s);
        return true;
    }

    quorum(): { members: number; reachable: number; majority: number; ok: boolean } {
        const ids = this.members();
        const now = Date.now();
        let reachable = 0;
        for (const r of ids) {
            if (r === this.id) reachable++;
            else if (this.peers.get(r)?.ok && now - (this.peers.get(r)?.at ?? 0) < 8000) reachable++;
        }
        const n = Math.max(ids.length, 1);
        return { members: ids.length, reachable, majority: majority(n), ok: this.isMember() && hasQuorum(reachable, n) };
    }

    private headers(): Record<string, string> {
        return { [SECRET_HEADER]: this.doc.secret };
    }

    async fetchPeer(id: string): Promise<{ stored: Stored; health: PeerView["health"] } | undefined> {
        try {
            const { host, port } = this.addr(id);
            const r = await peerRequest(host, port, "GET", "/internal/state", { headers: this.headers(), timeoutMs: PEER_TIMEOUT_MS });
            if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
            const body = r.json<{ stored: Stored; health: PeerView["health"] }>();
            this.peers.set(id, { ok: true, at: Date.now(), health: body.health, stored: { rev: body.stored.rev, at: body.stored.at } });
            return body;
        } catch (e) {
            const prev = this.peers.get(id);
            this.peers.set(id, { ok: false, at: prev?.at ?? 0, error: (e as Error).message, stored: prev?.stored });
            return undefined;
        }
    }

    /** Anti-entropy: ask every member for its copy and keep the newest. */
    async sync(): Promise<void> {
        const others = this.members().filter((r) => r !== this.id);
        for (const k of [...this.peers.keys()]) if (!others.includes(k)) this.peers.delete(k);
        const got = await Promise.all(others.map((p) => this.fetchPeer(p)));
        for (const g of got) if (g) this.accept(g.stored);
    }

    private async push(id: string, s: Stored): Promise<boolean> {
        try {
            const { host, port } = this.addr(id);
            const r = await peerRequest(host, port, "PUT", "/internal/state", {
                headers: this.headers(),
                body: s,
                timeoutMs: PEER_TIMEOUT_MS,
            });
            // An ack is contact too: without this a just-joined replica counts as unreachable until the next sync.
            if (r.status === 200) this.peers.set(id, { ...this.peers.get(id), ok: true, at: Date.now(), error: undefined });
            return r.status === 200;
        } catch {
            return false;
        }
    }

    /** Serialised so that two writes arriving at this replica never race each other. */
    write(op: Op): Promise<Stored> {
        const run = this.chain.then(() => this.writeNow(op));
        this.chain = run.catch(() => undefined);
        return run;
    }

    private async writeNow(op: Op): Promise<Stored> {
        // Quorum read first: any committed write is on a majority, so a majority read sees the newest one.
        const before = this.members();
        const others = before.filter((r) => r !== this.id);
        const got = await Promise.all(others.map((p) => this.fetchPeer(p)));
        let latest = this.stored;
        const reachable = new Set<string>(this.isMember() ? [this.id] : []);
        got.forEach((g, i) => {
            if (!g) return;
            reachable.add(others[i]);
            if (newer(g.stored, latest)) latest = g.stored;
        });
        const oldSet = this.members(latest.doc);
        if (!hasQuorum(oldSet.filter((r) => reachable.has(r)).length, oldSet.length)) {
            throw new NoQuorumError(
                `rethinkdb: no quorum: ${oldSet.filter((r) => reachable.has(r)).length} of ${oldSet.length} replicas reachable, ` +
                    `need ${majority(oldSet.length)}; the write was not made. Bring replicas back or run emergency-repair.`,
            );
        }
        const next: Stored = { rev: latest.rev + 1, writer: this.id, at: new Date().toISOString(), doc: apply(latest.doc, op) };
        const newSet = this.members(next.doc);
        const targets = [...new Set([...oldSet, ...newSet])].filter((r) => r !== this.id);
        const acked = new Set<string>();
        if (this.accept(next)) acked.add(this.id);
        const acks = await Promise.all(targets.map((t) => this.push(t, next)));
        targets.forEach((t, i) => acks[i] && acked.add(t));
        if (!committed(acked, oldSet, newSet)) {
            throw new NoQuorumError(
                `rethinkdb: write not committed: acknowledged by ${[...acked].join(", ") || "none"} of replicas ${[...new Set([...oldSet, ...newSet])].join(", ")}; ` +
                    `a majority is needed. The change may surface later on the replicas that took it.`,
            );
        }
        return next;
    }

    /**
     * emergency-repair (docker/docs reference/dtr/2.7/cli/emergency-repair.md): "a DTR replica of your choice is repaired
     * and turned into the only replica in the whole DTR cluster", from its own persisted data volume
     * (ee/dtr/admin/disaster-recovery/repair-a-cluster.md). Written without quorum. This replica's copy is the data:
     * nothing is taken from peers, even newer copies (pick the survivor with the newest replica_timestamp).
     * The new revision is above every revision seen, so dropped replicas that still answer take it and learn they are out.
     */
    async forceMembership(): Promise<{ kept: string[]; dropped: string[]; stored: Stored }> {
        const mine = this.stored; // before any await: a background sync must not slip another copy in
        if (!this.members(mine.doc).includes(this.id))
            throw new UserError(`replica ${this.id} is not a member of this cluster: repair from a member`);
        const dropped = this.members(mine.doc).filter((r) => r !== this.id);
        const seen = await Promise.all(dropped.map((p) => this.fetchPeer(p)));
        const top = Math.max(
            mine.rev,
            this.stored.rev,
            ...seen.map((g) => g?.stored.rev ?? 0),
            ...dropped.map((r) => this.peers.get(r)?.stored?.rev ?? 0),
        );
        const doc = JSON.parse(JSON.stringify(mine.doc)) as ClusterDoc;
        doc.replicas = doc.replicas.filter((r) => r.id === this.id);
        delete doc.joinLock;
        const next: Stored = { rev: top + 1, writer: this.id, at: new Date().toISOString(), doc };
        this.accept(next);
        await Promise.all(dropped.map((r) => this.push(r, next)));
        for (const r of dropped) this.peers.delete(r);
        return { kept: [this.id], dropped, stored: next };
    }
}

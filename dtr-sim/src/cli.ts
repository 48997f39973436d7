// The DTR bootstrapper commands, run as `docker run -i --rm -v /var/run/docker.sock:... <image> <cmd> <flags>`.
import { randomBytes } from "node:crypto";
import { readFileSync, existsSync } from "node:fs";
import { Engine } from "./engine";
import * as F from "./flags";
import { Flags } from "./flags";
import { hashAdmin, basicHeader, verifyAdmin } from "./auth";
import { ClusterDoc, Op, Replica, Stored, randomReplicaId } from "./state";
import { defaultStorage } from "./settings";
import { checkRestoreReplicaId, makeBackup, readBackup } from "./backup";
import { dtrVersion, checkUpgrade } from "./version";
import { createReplica, ensureNetwork, joinOverlay, L, removeLocalReplica, selfImage, SelfImage, names } from "./replica";
import { API_INTERNAL_PORT, apiHost, peerRequest, PeerResponse, sleep } from "./peer";
import { info, warn, UserError } from "./log";
import { Ucp } from "./ucp";
import { checkRemove, checkRepairSurvivor } from "./membership";

const CERT_DIR = "/app/certs";
const WAIT_MS = Number(process.env.DTR_SIM_WAIT_SECONDS ?? 180) * 1000;

interface Ctx {
    flags: Flags;
    engine: Engine;
    self: SelfImage;
    auth: string;
    username: string;
    password: string;
    /** UCP's API (--ucp-url, --ucp-ca or --ucp-insecure-tls); logged in only when a command needs it. */
    ucp: Ucp;
}

async function context(flags: Flags): Promise<Ctx> {
    F.checkUcpUrl(F.str(flags, "ucp-url")!);
    F.checkUcpTrust(flags);
    const engine = new Engine();
    const self = await selfImage(engine);
    if (process.argv.some((a) => /^--?ucp-password(=|$)/.test(a))) {
        warn(`--ucp-password on the command line is visible in ps and docker inspect: prefer -e UCP_PASSWORD`);
    }
    const username = F.str(flags, "ucp-username")!;
    const password = F.str(flags, "ucp-password")!;
    const ucp = new Ucp({
        url: F.str(flags, "ucp-url")!,
        username,
        password,
        ca: F.str(flags, "ucp-ca"),
        insecure: F.bool(flags, "ucp-insecure-tls"),
    });
    return { flags, engine, self, username, password, auth: basicHeader(username, password), ucp };
}

/** There is no UCP to schedule containers elsewhere, so --ucp-node must be this engine. */
async function checkNode(ctx: Ctx): Promise<string> {
    const want = F.str(ctx.flags, "ucp-node")!;
    const { Name } = await ctx.engine.info();
    if (want !== Name) {
        throw new UserError(
            `--ucp-node '${want}' is not this engine's node ('${Name}'): dtr-sim has no UCP to schedule containers on other nodes, ` +
                `so run it with the socket of ${want}'s engine, or pass --ucp-node ${Name}`,
        );
    }
    return Name;
}

async function localReplicas(engine: Engine): Promise<{ id: string; cluster: string; name: string }[]> {
    const cs = await engine.listContainers([`${L.role}=api`]);
    return cs.map((c) => ({ id: c.Labels[L.replica], cluster: c.Labels[L.cluster], name: c.Names[0].replace(/^\//, "") }));
}

async function call(ctx: Ctx, id: string, method: string, path: string, body?: unknown, timeoutMs = 30000): Promise<PeerResponse> {
    let r: PeerResponse | undefined;
    const until = Date.now() + 15000;
    for (;;) {
        try {
            r = await peerRequest(apiHost(id), API_INTERNAL_PORT, method, path, {
                headers: { authorization: ctx.auth },
                body,
                timeoutMs: method === "GET" ? Math.min(timeoutMs, 5000) : timeoutMs,
            });
            break;
        } catch (e) {
            // Retry what surely never reached the replica (and any GET): overlay DNS and routes settle in seconds.
            const code = (e as NodeJS.ErrnoException).code ?? "";
            const unsent = ["ENOTFOUND", "ECONNREFUSED", "EHOSTUNREACH", "EAI_AGAIN"].includes(code);
            if ((unsent || method === "GET") && Date.now() < until) {
                await sleep(1000);
                continue;
            }
            throw new UserError(
                `cannot reach replica ${id} (${apiHost(id)}) over dtr-ol: ${(e as Error).message}. Is the replica id right and is it running?`,
            );
        }
    }
    if (r.status === 401)
        throw new UserError(`replica ${id} rejected the credentials: --ucp-username/--ucp-password must be the admin given at install`);
    if (r.status >= 400) {
        let msg = r.body.toString();
        try {
            msg = r.json<{ errors: { message: string }[] }>().errors[0].message;
        } catch {
            /* raw */
        }
        throw new UserError(`replica ${id}: ${msg}`);
    }
    return r;
}

const getState = async (ctx: Ctx, id: string) =>
    (await call(ctx, id, "GET", "/internal/state")).json<{ stored: Stored; health: { Healthy: boolean; Error?: string } }>();
const write = async (ctx: Ctx, id: string, op: Op) => (await call(ctx, id, "POST", "/internal/write", op, 60000)).json<Stored>();

interface Detail {
    replicaId: string;
    appliedRev: number;
    version: string;
    member: boolean;
    Healthy: boolean;
    Error?: string;
    registry: { ok: boolean; error?: string };
}

async function health(id: string): Promise<Detail | undefined> {
    try {
        const r = await peerRequest(apiHost(id), API_INTERNAL_PORT, "GET", "/internal/health", { timeoutMs: 2000 });
        return r.status === 200 ? r.json<Detail>() : undefined;
    } catch {
        return undefined;
    }
}

/**
 * Health of a replica, asked again for up to ms: overlay DNS can briefly point at the address of a
 * destroyed container of the same name, or not know a just-created one yet.
 */
async function healthWithin(id: string, ms = 20000, pred: (d: Detail) => boolean = (d) => d.Healthy): Promise<Detail | undefined> {
    const until = Date.now() + ms;
    let last: Detail | undefined;
    do {
        last = await health(id);
        if (last && pred(last)) return last;
        await sleep(1000);
    } while (Date.now() < until);
    return last;
}

async function waitFor(id: string, what: string, pred: (d: Detail) => boolean): Promise<Detail> {
    info(`Waiting for ${what}`);
    const until = Date.now() + WAIT_MS;
    let last: Detail | undefined;
    while (Date.now() < until) {
        last = await health(id);
        if (last && pred(last)) return last;
        await sleep(1000);
    }
    throw new UserError(
        `timed out after ${WAIT_MS / 1000}s waiting for ${what}: last state ${last ? JSON.stringify({ Healthy: last.Healthy, Error: last.Error }) : "replica not answering"}`,
    );
}

function replicaIdFlag(flags: Flags, name = "replica-id"): string {
    const v = F.str(flags, name);
    return v ? F.validateReplicaId(name, v) : randomReplicaId();
}

function readPemFlag(flags: Flags, name: string): string | undefined {
    const v = F.str(flags, name);
    if (v && !v.includes("-----BEGIN")) throw new UserError(`--${name} must be PEM text (-----BEGIN ...), not a path`);
    return v;
}

function tlsFrom(flags: Flags): ClusterDoc["tls"] | undefined {
    const cert = readPemFlag(flags, "dtr-cert"),
        key = readPemFlag(flags, "dtr-key"),
        ca = readPemFlag(flags, "dtr-ca");
    if (!!cert !== !!key)
        throw new UserError(`--dtr-cert and --dtr-key go together: pass both or neither (neither = a self-signed certificate)`);
    return cert && key ? { cert, key, ca: ca ?? cert } : undefined;
}

function defaultTls(): ClusterDoc["tls"] {
    if (!existsSync(`${CERT_DIR}/cert.pem`))
        throw new UserError(
            `no default certificate in ${CERT_DIR}: build the image with dtr-sim/build-image.sh or pass --dtr-cert/--dtr-key`,
        );
    const cert = readFileSync(`${CERT_DIR}/cert.pem`, "utf8");
    return { cert, key: readFileSync(`${CERT_DIR}/key.pem`, "utf8"), ca: cert };
}

export async function install(flags: Flags): Promise<void> {
    const ctx = await context(flags);
    const id = replicaIdFlag(flags);
    const httpPort = F.validatePort("replica-http-port", F.str(flags, "replica-http-port"), 80);
    const httpsPort = F.validatePort("replica-https-port", F.str(flags, "replica-https-port"), 443);
    F.checkExternalUrlPort(F.str(flags, "dtr-external-url"), httpsPort);
    const vol = F.str(flags, "dtr-storage-volume");
    const nfs = F.str(flags, "nfs-storage-url");
    if (vol && nfs) throw new UserError(`--dtr-storage-volume and --nfs-storage-url exclude each other: pick one`);
    if (vol) F.checkStorageVolume(vol);
    if (nfs) F.checkNfsUrl(nfs);
    const node = await checkNode(ctx);
    info(`Beginning Docker Trusted Registry installation (dtr-sim ${dtrVersion()}, a stand-in, not DTR)`);
    const existing = await localReplicas(ctx.engine);
    if (existing.length)
        throw new UserError(
            `DTR is already installed on this engine (replica ${existing[0].id}): use join on another node, or destroy it first`,
        );
    await ensureNetwork(ctx.engine, F.str(flags, "overlay-subnet"), ctx.ucp);
    // On a worker the engine learns of dtr-ol when a container connects to it by name: this one first, then the replica.
    await joinOverlay(ctx.engine);
    const doc: ClusterDoc = {
        format: 1,
        clusterId: randomBytes(8).toString("hex"),
        dtrVersion: dtrVersion(),
        createdAt: new Date().toISOString(),
        ucpUrl: F.str(flags, "ucp-url")!,
        externalUrl: F.str(flags, "dtr-external-url") ?? `https://${node}${httpsPort === 443 ? "" : `:${httpsPort}`}`,
        admin: hashAdmin(ctx.username, ctx.password),
        secret: randomBytes(24).toString("hex"),
        tls: tlsFrom(flags) ?? defaultTls(),
        replicas: [{ id, node, httpPort, httpsPort, joinedAt: new Date().toISOString() }],
        storage: defaultStorage(),
        storageVolume: vol,
        nfsUrl: nfs,
        repositories: [],
        teamAccess: [],
    };
    info(`Replica ID is set to: ${id}`);
    await createReplica(
        ctx.engine,
        { replicaId: id, node, httpPort, httpsPort },
        { rev: 1, writer: id, at: new Date().toISOString(), doc },
        ctx.self,
    );
    await waitFor(id, "DTR to start", (d) => d.Healthy);
    info(`Installation is complete. Replica ${id} serves ${doc.externalUrl} (ports ${httpPort}/${httpsPort} on ${node})`);
    process.stdout.write(`${id}\n`);
}

export async function join(flags: Flags): Promise<void> {
    const ctx = await context(flags);
    const existingId = F.validateReplicaId("existing-replica-id", F.str(flags, "existing-replica-id")!);
    const id = replicaIdFlag(flags);
    const httpPort = F.validatePort("replica-http-port", F.str(flags, "replica-http-port"), 80);
    const httpsPort = F.validatePort("replica-https-port", F.str(flags, "replica-https-port"), 443);
    const node = await checkNode(ctx);
    const here = await localReplicas(ctx.engine);
    // Test-only escape hatch: lets one engine hold a whole cluster (real DTR allows one replica per node).
    if (here.length && process.env.DTR_SIM_TEST_REPLICAS_PER_NODE !== "many") {
        throw new UserError(`node ${node} already runs replica ${here[0].id}: DTR runs one replica per node`);
    }
    await joinOverlay(ctx.engine);
    const { stored, health: h } = await getState(ctx, existingId);
    if (stored.doc.dtrVersion !== dtrVersion()) {
        throw new UserError(
            `this image is DTR ${dtrVersion()} but the cluster runs ${stored.doc.dtrVersion}: join with the cluster's version`,
        );
    }
    if (!h.Healthy && !F.bool(flags, "unsafe-join")) {
        throw new UserError(
            `replica ${existingId} is unhealthy (${h.Error}): fix or remove unhealthy replicas before joining (--unsafe-join exists but risks split-brain: never in production)`,
        );
    }
    info(`Joining replica ${id} on ${node} to the cluster of replica ${existingId}`);
    await write(ctx, existingId, { op: "beginJoin", replicaId: id, node, now: new Date().toISOString() });
    try {
        const fresh = (await getState(ctx, existingId)).stored;
        await createReplica(ctx.engine, { replicaId: id, node, httpPort, httpsPort }, fresh, ctx.self);
        await waitFor(id, `replica ${id}'s registry`, (d) => d.registry.ok);
        const replica: Replica = { id, node, httpPort, httpsPort, joinedAt: new Date().toISOString() };
        await write(ctx, existingId, { op: "finishJoin", replica });
    } catch (e) {
        warn(`join failed, cleaning up replica ${id}: ${(e as Error).message}`);
        await write(ctx, existingId, { op: "abortJoin", replicaId: id }).catch((x) =>
            warn(`could not release the join lock: ${(x as Error).message}`),
        );
        await removeLocalReplica(ctx.engine, id).catch(() => undefined);
        throw e;
    }
    await waitFor(id, `replica ${id} to be healthy`, (d) => d.Healthy);
    info(`Join is complete. Replica ${id} serves ports ${httpPort}/${httpsPort} on ${node}`);
    process.stdout.write(`${id}\n`);
}

export async function backup(flags: Flags): Promise<void> {
    if (process.stdout.isTTY) {
        throw new UserError(
            `Terminal mode detected: backup writes the archive to stdout, which is a terminal here. Run without -t: docker run -i --rm --log-driver none ... backup ... > backup.tar`,
        );
    }
    const ctx = await context(flags);
    const id = F.validateReplicaId("existing-replica-id", F.str(flags, "existing-replica-id")!);
    await joinOverlay(ctx.engine);
    const { stored, health: h } = await getState(ctx, id);
    if (!h.Healthy && h.Error?.startsWith("rethinkdb")) throw new UserError(`cannot back up from replica ${id}: ${h.Error}`);
    if (F.bool(flags, "offline-backup")) info(`--offline-backup: dtr-sim snapshots its single metadata document atomically either way`);
    const tar = makeBackup(stored, id);
    await new Promise<void>((resolve, reject) => process.stdout.write(tar, (e) => (e ? reject(e) : resolve())));
    info(
        `Backup of replica ${id} complete: ${tar.length} bytes, metadata revision ${stored.rev}, DTR ${stored.doc.dtrVersion} (image layers are not in it: they stay in the storage backend)`,
    );
}

async function readStdin(): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
}

export async function restore(flags: Flags): Promise<void> {
    if (process.stdin.isTTY) {
        throw new UserError(
            `Terminal mode detected: restore reads the archive from stdin, which is a terminal here. Run with -i and without -t: docker run -i --rm ... restore ... < backup.tar`,
        );
    }
    const storage = F.restoreStorageChoice(flags);
    const ctx = await context(flags);
    const id = replicaIdFlag(flags);
    const httpPort = F.validatePort("replica-http-port", F.str(flags, "replica-http-port"), 80);
    const httpsPort = F.validatePort("replica-https-port", F.str(flags, "replica-https-port"), 443);
    F.checkExternalUrlPort(F.str(flags, "dtr-external-url"), httpsPort);
    if (storage.kind === "volume") F.checkStorageVolume(storage.volume);
    const node = await checkNode(ctx);
    const { manifest, stored } = readBackup(await readStdin());
    info(`Backup of replica ${manifest.replicaId} from ${manifest.created}, DTR ${manifest.dtrVersion}, revision ${manifest.rev}`);
    if (manifest.dtrVersion !== dtrVersion()) {
        throw new UserError(
            `the backup is from DTR ${manifest.dtrVersion} but this image is ${dtrVersion()}: restore with the same DTR version as the backup`,
        );
    }
    checkRestoreReplicaId(id, manifest);
    if (!verifyAdmin(stored.doc.admin, ctx.username, ctx.password)) {
        throw new UserError(`--ucp-username/--ucp-password do not match the admin recorded in the backup`);
    }
    const here = await localReplicas(ctx.engine);
    if (here.length) {
        throw new UserError(
            `replica ${here.map((r) => r.id).join(", ")} still exists on this engine: destroy every replica of the cluster before restoring`,
        );
    }
    // restore has no --overlay-subnet (reference/dtr/2.7/cli/restore.md, 2.6's too): dtr-ol as it is, or the default.
    await ensureNetwork(ctx.engine, undefined, ctx.ucp);
    await joinOverlay(ctx.engine);
    const probe = [...new Set([...stored.doc.replicas.map((r) => r.id), id])];
    const answers = await Promise.all(probe.map((r) => health(r)));
    const alive = probe.filter((_, i) => answers[i]);
    if (alive.length) {
        throw new UserError(
            `replica ${alive.join(", ")} still answers on dtr-ol: destroy every replica of the cluster (dtr-sim destroy --replica-id <id> on its node) before restoring`,
        );
    }
    const doc: ClusterDoc = JSON.parse(JSON.stringify(stored.doc));
    doc.replicas = [{ id, node, httpPort, httpsPort, joinedAt: new Date().toISOString() }];
    delete doc.joinLock;
    if (F.str(flags, "dtr-external-url")) doc.externalUrl = F.str(flags, "dtr-external-url")!;
    doc.tls = tlsFrom(flags) ?? doc.tls;
    if (storage.kind === "volume") Object.assign(doc, { storage: defaultStorage(), storageVolume: storage.volume, nfsUrl: undefined });
    if (storage.kind === "nfs") Object.assign(doc, { storage: defaultStorage(), storageVolume: undefined, nfsUrl: storage.url });
    info(`Restoring replica ${id} on ${node} (storage: ${storage.kind === "default" ? "as configured at backup time" : storage.kind})`);
    await createReplica(
        ctx.engine,
        { replicaId: id, node, httpPort, httpsPort },
        { rev: stored.rev + 1, writer: id, at: new Date().toISOString(), doc },
        ctx.self,
    );
    await waitFor(id, "DTR to start", (d) => d.Healthy);
    info(`Restore is complete. Replica ${id} serves ${doc.externalUrl}; join the other replicas now`);
    process.stdout.write(`${id}\n`);
}

export async function destroy(flags: Flags): Promise<void> {
    const ctx = await context(flags);
    const id = F.validateReplicaId("replica-id", F.str(flags, "replica-id")!);
    const removed = await removeLocalReplica(ctx.engine, id);
    const { Name } = await ctx.engine.info();
    if (!removed.length)
        throw new UserError(
            `no containers or volumes of replica ${id} on this engine (${Name}): run destroy with the socket of the node that runs it`,
        );
    info(`Destroyed replica ${id} on ${Name}: ${removed.join(", ")}. No other replica was told; network dtr-ol stays`);
}

export async function remove(flags: Flags): Promise<void> {
    const { existing: existingId, ids } = F.removeTargets(flags, !!process.stdin.isTTY);
    const ctx = await context(flags);
    await joinOverlay(ctx.engine);
    const { stored } = await getState(ctx, existingId);
    const members = stored.doc.replicas.map((r) => r.id);
    // All other replicas must be healthy (reference/dtr/2.7/cli/remove.md); the removed ones may be gone entirely.
    const seen = new Map<string, Detail | undefined>();
    for (const r of members.filter((m) => !ids.includes(m))) seen.set(r, await healthWithin(r));
    checkRemove(members, existingId, ids, (r) => seen.get(r));
    // The membership change is a majority write through the existing replica: it needs no answer from removed replicas.
    await write(ctx, existingId, { op: "removeReplicas", ids });
    info(`Removed ${ids.join(", ")} from the replica set`);
    const local = new Set((await localReplicas(ctx.engine)).map((r) => r.id));
    for (const r of ids) {
        if (local.has(r)) {
            info(`Removing replica ${r}'s containers here: ${(await removeLocalReplica(ctx.engine, r)).join(", ")}`);
            continue;
        }
        try {
            await call(ctx, r, "POST", "/internal/decommission", {}, 10000);
            info(`Replica ${r} is removing its own containers and volumes`);
        } catch (e) {
            // Its host may be gone: the cluster no longer counts it, which is what remove is for; still exit 0.
            warn(
                `replica ${r}'s containers and volumes could not be cleaned (${(e as Error).message}); ` +
                    `it is out of the replica set all the same. If its node comes back, run destroy --replica-id ${r} there`,
            );
        }
    }
}

export async function upgrade(flags: Flags): Promise<void> {
    const ctx = await context(flags);
    const existingId = F.validateReplicaId("existing-replica-id", F.str(flags, "existing-replica-id")!);
    await joinOverlay(ctx.engine);
    const { stored } = await getState(ctx, existingId);
    const from = stored.doc.dtrVersion,
        to = dtrVersion();
    if (from === to) {
        info(`The cluster already runs DTR ${to}: nothing to upgrade`);
        return;
    }
    const bad = checkUpgrade(from, to);
    if (bad) throw new UserError(bad);
    for (const r of stored.doc.replicas) {
        const d = await healthWithin(r.id);
        if (!d?.Healthy)
            throw new UserError(
                `replica ${r.id} is ${d ? "unhealthy: " + d.Error : "unreachable"}: upgrade needs every replica healthy (remove or repair it first)`,
            );
    }
    info(`Upgrading DTR ${from} -> ${to}, one replica at a time, with image ${ctx.self.image}`);
    for (const r of stored.doc.replicas) {
        await call(ctx, r.id, "POST", "/internal/upgrade", { image: ctx.self.image }, 600000);
        await sleep(2000);
        await waitFor(r.id, `replica ${r.id} to run ${to}`, (d) => d.version === to && d.registry.ok && d.member);
    }
    await write(ctx, existingId, { op: "setVersion", version: to });
    info(`Upgrade to ${to} is complete`);
}

export async function reconfigure(flags: Flags): Promise<void> {
    // Documented for reconfigure (reference/dtr/2.7/cli/reconfigure.md) but not modelled by dtr-sim: refused, never ignored.
    const unmodelled = ["dtr-ca", "dtr-cert", "dtr-key", "replica-http-port", "replica-https-port", "client-cert-auth-ca"].filter(
        (n) => flags[n] !== undefined,
    );
    if (unmodelled.length)
        throw new UserError(
            `dtr-sim's reconfigure does not implement ${unmodelled.map((n) => "--" + n).join(", ")} (DTR's does): nothing was changed`,
        );
    const ctx = await context(flags);
    const existingId = F.validateReplicaId("existing-replica-id", F.str(flags, "existing-replica-id")!);
    const vol = F.str(flags, "dtr-storage-volume"),
        nfs = F.str(flags, "nfs-storage-url"),
        url = F.str(flags, "dtr-external-url");
    if (vol && nfs) throw new UserError(`--dtr-storage-volume and --nfs-storage-url exclude each other: pick one`);
    const ops: Op[] = [];
    const migrated = F.bool(flags, "storage-migrated");
    if (vol) ops.push({ op: "setStorage", storage: defaultStorage(), storageVolume: F.checkStorageVolume(vol), nfsUrl: null, migrated });
    if (nfs) ops.push({ op: "setStorage", storage: defaultStorage(), storageVolume: null, nfsUrl: F.checkNfsUrl(nfs), migrated });
    if (url) {
        F.externalUrlPort(url);
        ops.push({ op: "setExternalUrl", url });
    }
    if (!ops.length)
        throw new UserError(
            `nothing to reconfigure: dtr-sim supports --dtr-storage-volume, --nfs-storage-url and --dtr-external-url (S3: PUT /api/v0/admin/settings/registry/simple)`,
        );
    if ((vol || nfs) && !F.bool(flags, "storage-migrated"))
        warn(`no --storage-migrated: DTR assumes the new storage is empty; the existing tags are erased (storage-backend-migration.md)`);
    await joinOverlay(ctx.engine);
    let last: Stored | undefined;
    for (const op of ops) last = await write(ctx, existingId, op);
    for (const r of last!.doc.replicas)
        await waitFor(r.id, `replica ${r.id}'s registry with the new settings`, (d) => d.appliedRev >= last!.rev && d.registry.ok);
    info(`Reconfigure is complete`);
}

export async function emergencyRepair(flags: Flags): Promise<void> {
    // No --yes: refuse before touching anything (reference/dtr/2.7/cli/emergency-repair.md, `--y, yes`).
    F.requireConfirmation("emergency-repair", flags, !!process.stdin.isTTY);
    const ctx = await context(flags);
    const existingId = F.validateReplicaId("existing-replica-id", F.str(flags, "existing-replica-id")!);
    await joinOverlay(ctx.engine);
    checkRepairSurvivor(existingId, await healthWithin(existingId, 20000, () => true));
    const r = (await call(ctx, existingId, "POST", "/internal/emergency-repair", {}, 30000)).json<{ kept: string[]; dropped: string[] }>();
    info(`Replica set is now ${r.kept.join(", ")}; dropped ${r.dropped.join(", ") || "none"}`);
    if (F.bool(flags, "prune")) {
        for (const d of r.dropped) {
            const removed = await removeLocalReplica(ctx.engine, d);
            if (removed.length) info(`Pruned replica ${d} here: ${removed.join(", ")}`);
        }
    }
    await waitFor(existingId, `replica ${existingId} to be healthy`, (d) => d.Healthy);
}

export { names };

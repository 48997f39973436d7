// Containers and volumes of one replica on the local engine.
import { createHash } from "node:crypto";
import { hostname } from "node:os";
import { Engine, EngineError } from "./engine";
import { pack } from "./tar";
import { ClusterDoc, Stored } from "./state";
import { registryConfig } from "./settings";
import { info, UserError } from "./log";
import { Ucp } from "./ucp";

export const NETWORK = "dtr-ol";
export const L = {
    standIn: "org.dtr-ha.stand-in",
    replica: "org.dtr-ha.dtr-sim.replica-id",
    cluster: "org.dtr-ha.dtr-sim.cluster-id",
    role: "org.dtr-ha.dtr-sim.role",
    hash: "org.dtr-ha.dtr-sim.config-hash",
    version: "org.dtr-ha.dtr-sim.version",
    registryImage: "org.dtr-ha.dtr-sim.registry-image",
};

export const names = {
    api: (id: string) => `dtr-api-${id}`,
    registry: (id: string) => `dtr-registry-${id}`,
    metaVolume: (id: string) => `dtr-rethink-${id}`,
    storageVolume: (id: string) => `dtr-registry-${id}`,
    nfsVolume: (id: string) => `dtr-registry-nfs-${id}`,
};

export interface Identity {
    replicaId: string;
    node: string;
    httpPort: number;
    httpsPort: number;
}

export interface SelfImage {
    image: string;
    version: string;
    registryImage: string;
}

/** The image this process runs in, read from its own container (the hostname is the container id). */
export async function selfImage(engine: Engine): Promise<SelfImage> {
    const me = await engine.inspectContainer(hostname());
    if (!me) {
        throw new UserError(
            `dtr-sim must run in a container on the engine whose socket is mounted (no container '${hostname()}' there). Do not set --hostname.`,
        );
    }
    const labels: Record<string, string> = me.Config.Labels ?? {};
    const registryImage = process.env.DTR_SIM_REGISTRY_IMAGE || labels[L.registryImage];
    if (!registryImage)
        throw new UserError(`image ${me.Config.Image} has no ${L.registryImage} label: build it with dtr-sim/build-image.sh`);
    return { image: me.Config.Image, version: labels[L.version] ?? "", registryImage };
}

function checkExistingNetwork(net: any, subnet: string | undefined): void {
    const have: string[] = (net.IPAM?.Config ?? []).map((c: { Subnet: string }) => c.Subnet);
    if (subnet && !have.includes(subnet)) {
        throw new UserError(
            `network ${NETWORK} already exists with subnet ${have.join(",") || "(none)"}, not --overlay-subnet ${subnet}: remove it (docker network rm ${NETWORK}) or pass its subnet`,
        );
    }
    if (net.Driver !== "overlay" || !net.Attachable)
        throw new UserError(`network ${NETWORK} exists but is not an attachable overlay: remove it first`);
    info(`Reusing the existing overlay network ${NETWORK} (${have.join(",")})`);
}

function networkSpec(subnet: string | undefined) {
    return {
        Name: NETWORK,
        Driver: "overlay",
        Attachable: true,
        CheckDuplicate: true,
        Labels: { [L.standIn]: "dtr-sim" },
        ...(subnet ? { IPAM: { Driver: "default", Config: [{ Subnet: subnet }] } } : {}),
    };
}

/**
 * Makes sure the swarm has dtr-ol. On a manager the local engine creates it. On a worker (where DTR runs:
 * system-requirements.md), whose engine cannot create a swarm network, it is inspected and created through UCP
 * (`ucp`: --ucp-url, logged in with --ucp-username/--ucp-password, UCP's certificate verified with --ucp-ca).
 */
export async function ensureNetwork(engine: Engine, subnet: string | undefined, ucp?: Ucp): Promise<void> {
    const local = await engine.inspectNetwork(NETWORK);
    if (local) return checkExistingNetwork(local, subnet);
    const info0 = await engine.info();
    if (info0.Swarm?.LocalNodeState !== "active")
        throw new UserError(`this engine is not part of a swarm: DTR needs the swarm overlay ${NETWORK} (docker swarm init / join first)`);
    if (!info0.Swarm.ControlAvailable) {
        if (!ucp) throw new UserError(`this engine is a swarm worker: ${NETWORK} can only be created through UCP (--ucp-url)`);
        const net = await ucp.inspectNetwork(NETWORK);
        if (net) return checkExistingNetwork(net, subnet);
        info(`Creating overlay network ${NETWORK}${subnet ? ` (subnet ${subnet})` : ""} through UCP (this node is a worker)`);
        return ucp.createNetwork(networkSpec(subnet));
    }
    info(`Creating overlay network ${NETWORK}${subnet ? ` (subnet ${subnet})` : ""}`);
    await engine.createNetwork(networkSpec(subnet));
}

/** Puts this (CLI) container on dtr-ol so it can talk to every replica by name. */
export async function joinOverlay(engine: Engine): Promise<void> {
    const me = await engine.inspectContainer(hostname());
    if (me?.NetworkSettings?.Networks?.[NETWORK]) return;
    // A swarm worker sees an attachable overlay only once a container on it uses it (the manager hands it over on
    // connect), so a worker node (where DTR runs: system-requirements.md) connects by name before it can inspect it.
    if (!(await engine.inspectNetwork(NETWORK))) {
        await engine.connectNetwork(NETWORK, hostname()).catch((e: Error) => {
            throw new UserError(`network ${NETWORK} does not exist in this swarm (${e.message}): is DTR installed in this swarm?`);
        });
        return;
    }
    await engine.connectNetwork(NETWORK, hostname());
}

export function apiSpec(id: string, clusterId: string, self: SelfImage, http: number, https: number): unknown {
    return {
        Image: self.image,
        Cmd: ["serve-api"],
        Labels: { [L.standIn]: "dtr-sim", [L.replica]: id, [L.cluster]: clusterId, [L.role]: "api", [L.version]: self.version },
        ExposedPorts: { "80/tcp": {}, "443/tcp": {} },
        HostConfig: {
            Binds: ["/var/run/docker.sock:/var/run/docker.sock", `${names.metaVolume(id)}:/data`],
            PortBindings: { "80/tcp": [{ HostPort: String(http) }], "443/tcp": [{ HostPort: String(https) }] },
            RestartPolicy: { Name: "unless-stopped" },
            NetworkMode: NETWORK,
        },
        NetworkingConfig: { EndpointsConfig: { [NETWORK]: { Aliases: [names.api(id)] } } },
    };
}

/** Creates the metadata volume and the API container of a replica, seeded with identity and state. */
export async function createReplica(engine: Engine, ident: Identity, stored: Stored, self: SelfImage): Promise<void> {
    const id = ident.replicaId;
    if (await engine.inspectContainer(names.api(id))) {
        throw new UserError(
            `replica ${id} already has a container ${names.api(id)} on this engine: destroy it first or pick another --replica-id`,
        );
    }
    const labels = { [L.standIn]: "dtr-sim", [L.replica]: id, [L.cluster]: stored.doc.clusterId };
    if (await engine.volumeExists(names.metaVolume(id))) {
        throw new UserError(
            `volume ${names.metaVolume(id)} already exists: destroy replica ${id} first (dtr-sim destroy --replica-id ${id})`,
        );
    }
    await engine.createVolume(names.metaVolume(id), labels);
    info(`Creating container ${names.api(id)} (ports ${ident.httpPort}/${ident.httpsPort})`);
    const cid = await engine.createContainer(names.api(id), apiSpec(id, stored.doc.clusterId, self, ident.httpPort, ident.httpsPort));
    await engine.putArchive(
        cid,
        "/data",
        pack([
            { name: "replica.json", data: Buffer.from(JSON.stringify(ident, null, 2)), mode: 0o600 },
            { name: "state.json", data: Buffer.from(JSON.stringify(stored)), mode: 0o600 },
        ]),
    );
    await engine.start(cid);
}

function nfsOpts(url: string): Record<string, string> {
    const m = /^nfs:\/\/([^/]+)(\/.*)$/.exec(url)!;
    return { type: "nfs", o: `addr=${m[1]},rw`, device: `:${m[2]}` };
}

/** Where the registry keeps layers: a bind, a volume, or nothing (S3). */
export function storageMount(doc: ClusterDoc, id: string): { bind?: string; volume?: { name: string; opts?: Record<string, string> } } {
    if (!doc.storage.filesystem) return {};
    if (doc.nfsUrl) return { volume: { name: names.nfsVolume(id), opts: nfsOpts(doc.nfsUrl) } };
    if (doc.storageVolume?.startsWith("/")) return { bind: `${doc.storageVolume}:/storage` };
    if (doc.storageVolume) return { volume: { name: doc.storageVolume } };
    return { volume: { name: names.storageVolume(id) } };
}

/**
 * Makes dtr-registry-<id> match the replicated settings: recreated when its config hash changes
 * (storage settings PUT, reconfigure, upgrade), started when stopped.
 */
export async function reconcileRegistry(
    engine: Engine,
    id: string,
    doc: ClusterDoc,
    registryImage: string,
    onReplace: () => void = () => {},
): Promise<"unchanged" | "started" | "recreated"> {
    const config = registryConfig(doc.storage, doc.secret);
    const mount = storageMount(doc, id);
    const hash = createHash("sha256").update(JSON.stringify({ registryImage, config, mount })).digest("hex").slice(0, 16);
    const name = names.registry(id);
    const cur = await engine.inspectContainer(name);
    if (cur && cur.Config.Labels?.[L.hash] === hash) {
        if (cur.State.Running) return "unchanged";
        await engine.start(cur.Id);
        return "started";
    }
    onReplace();
    if (cur) await engine.removeContainer(cur.Id);
    await engine.ensureImage(registryImage);
    const labels = { [L.standIn]: "dtr-sim", [L.replica]: id, [L.cluster]: doc.clusterId };
    const binds: string[] = [];
    if (mount.bind) binds.push(mount.bind);
    if (mount.volume) {
        const v = await engine
            .json("GET", `/volumes/${encodeURIComponent(mount.volume.name)}`, undefined, [200, 404])
            .catch(() => undefined);
        const haveOpts = v?.Options ?? {};
        if (v && mount.volume.opts && JSON.stringify(haveOpts) !== JSON.stringify(mount.volume.opts)) {
            await engine.removeVolume(mount.volume.name); // NFS target changed: the volume only holds mount options
        }
        if (!v?.Name || (mount.volume.opts && JSON.stringify(haveOpts) !== JSON.stringify(mount.volume.opts))) {
            await engine.createVolume(mount.volume.name, labels, mount.volume.opts);
        }
        binds.push(`${mount.volume.name}:/storage`);
    }
    const cid = await engine.createContainer(name, {
        Image: registryImage,
        Cmd: ["serve", "/etc/docker/registry/config.yml"],
        Labels: { ...labels, [L.role]: "registry", [L.hash]: hash },
        HostConfig: { Binds: binds, RestartPolicy: { Name: "unless-stopped" }, NetworkMode: NETWORK },
        NetworkingConfig: { EndpointsConfig: { [NETWORK]: { Aliases: [name] } } },
    });
    await engine.putArchive(
        cid,
        "/",
        pack([
            { name: "etc", data: Buffer.alloc(0), type: "dir" },
            { name: "etc/docker", data: Buffer.alloc(0), type: "dir" },
            { name: "etc/docker/registry", data: Buffer.alloc(0), type: "dir" },
            { name: "etc/docker/registry/config.yml", data: Buffer.from(JSON.stringify(config, null, 2)), mode: 0o600 },
        ]),
    );
    await engine.start(cid);
    return cur ? "recreated" : "started";
}

/** Force-removes a replica's containers and volumes on this engine (destroy). Custom storage volumes stay. */
export async function removeLocalReplica(engine: Engine, id: string, opts: { except?: string } = {}): Promise<string[]> {
    const removed: string[] = [];
    const byLabel = await engine.listContainers([`${L.replica}=${id}`]);
    const ids = new Set<string>(byLabel.map((c) => c.Id));
    for (const n of [names.registry(id), names.api(id)]) {
        const c = await engine.inspectContainer(n);
        if (c) ids.add(c.Id);
    }
    // The API container goes last: a decommission helper may be removing the replica that started it.
    const all = [...ids].filter((c) => c !== opts.except);
    for (const c of all) {
        const ins = await engine.inspectContainer(c);
        if (await engine.removeContainer(c, true)) removed.push(`container ${ins?.Name?.replace(/^\//, "") ?? c}`);
    }
    for (const v of [names.metaVolume(id), names.storageVolume(id), names.nfsVolume(id)]) {
        try {
            if ((await engine.volumeExists(v)) && (await engine.removeVolume(v))) removed.push(`volume ${v}`);
        } catch (e) {
            if (!(e instanceof EngineError)) throw e;
            removed.push(`volume ${v} NOT removed: ${e.message}`);
        }
    }
    return removed;
}

/** Starts a short-lived helper container of the given image (decommission, upgrade). */
export async function runHelper(engine: Engine, image: string, name: string, cmd: string[]): Promise<void> {
    await engine.removeContainer(name);
    const cid = await engine.createContainer(name, {
        Image: image,
        Cmd: cmd,
        Labels: { [L.standIn]: "dtr-sim", [L.role]: "helper" },
        HostConfig: { Binds: ["/var/run/docker.sock:/var/run/docker.sock"], AutoRemove: true, NetworkMode: "none" },
    });
    await engine.start(cid);
}

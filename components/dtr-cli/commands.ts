/**
 * Every `docker run <dtr image> <subcommand> ...` line the library sends to a host is built here, from plain values.
 *
 * Rules enforced for all of them (DTR-FACTS.md, docker/docs reference/dtr/2.x/cli):
 * - secrets (UCP password, DTR TLS key) never appear on the command line: the container gets them with
 *   `-e NAME` (no value), so docker copies them from the remote shell's environment, which the command provider
 *   fills from Pulumi secrets;
 * - backup and restore use `-i` and never `-t` (a TTY breaks the tar stream and makes DTR try to prompt);
 * - backup uses `--log-driver none`, so the tar never lands in container logs;
 * - restore gets exactly one storage flag and every flag it would otherwise prompt for.
 */
import { assertEnvName, shellJoin, shellQuote } from "./shell";

/** The environment variables DTR reads its secret flags from; the remote side must have them set. */
export const SECRET_ENV = {
    /** `--ucp-password` */
    ucpPassword: "UCP_PASSWORD",
    /**
     * `--dtr-key` (PEM private key of the DTR TLS certificate). `$DTR_KEY` is documented for DTR 2.6/2.7
     * (docker/docs reference/dtr/2.7/cli/install.md, restore.md). MSR renamed some variables: docs.mirantis.com
     * msr/2.9/cli-ref/install.html and msr/2.10/cli-ref/install/ list `--dtr-ca | $MSR_CA`, msr/2.9/cli-ref/upgrade.html
     * `--existing-replica-id | $MSR_REPLICA_ID`, and msr/2.8/cli-ref/reconfigure.html already `--dtr-ca | $MSR_CA`. The
     * `--dtr-key` row of those pages was not found (searched: the stored docs.mirantis.com MSR 2.8/2.9/2.10 install,
     * reconfigure and restore pages, whose stored excerpts end before it; Mirantis/launchpad pkg/msr, which passes
     * `--dtr-key` as an install flag value and names no variable; the public code index for "MSR_KEY" and "--dtr-key").
     * So `DTR_KEY` stays, unverified for MSR 2.8+, and nothing sets `withDtrKey` today: before anything does for MSR,
     * check `docker run --rm mirantis/dtr:<version> install --help` for the variable `--dtr-key` reads.
     */
    dtrKey: "DTR_KEY",
} as const;

export interface DtrImage {
    /** e.g. `mirantis/dtr`, `registry.mirantis.com/msr/dtr`; never hard-coded by the library. */
    repository: string;
    /** e.g. `2.9.16`. */
    version: string;
}

export interface UcpConnection {
    /** `https://ucp.example.com[:port]` */
    url: string;
    /** UCP admin user name (the password travels in `UCP_PASSWORD`). */
    username: string;
    /** PEM of UCP's CA certificate. Required unless `insecureTls` is set. */
    caPem?: string;
    /** `--ucp-insecure-tls`: skips verifying UCP's certificate. Labs only; the policy pack refuses it in production. */
    insecureTls?: boolean;
}

export interface RunOptions {
    /**
     * Mounts the host's engine socket into the bootstrap container. dtr-sim (the lab's stand-in) needs it because there
     * is no UCP to schedule containers through; real DTR does not use it. Default false.
     */
    mountEngineSocket?: boolean;
    /** `--debug` */
    debug?: boolean;
}

interface CommonArgs {
    image: DtrImage;
    ucp: UcpConnection;
    run?: RunOptions;
}

export interface ReplicaPorts {
    /** `--replica-http-port`, default 80 */
    httpPort?: number;
    /** `--replica-https-port`, default 443; must equal the port of `externalUrl` (install hangs otherwise). */
    httpsPort?: number;
}

export interface InstallArgs extends CommonArgs, ReplicaPorts {
    /** The UCP node (hostname as UCP lists it) that runs the first replica. */
    ucpNode: string;
    /** 12 hex characters. */
    replicaId: string;
    /** `https://fqdn[:port]` that clients use (the load balancer). */
    externalUrl: string;
    /** Subnet for the `dtr-ol` overlay network. */
    overlaySubnet?: string;
    /** PEM CA / certificate for DTR's TLS; the key is passed in `DTR_KEY` when `withDtrKey` is set. */
    dtrCaPem?: string;
    dtrCertPem?: string;
    withDtrKey?: boolean;
    /** `--replica-rethinkdb-cache-mb` */
    rethinkdbCacheMb?: number;
    /** `--log-host`, `--log-protocol`, `--log-level` */
    logHost?: string;
    /** DTR 2.7 documents tcp, udp and internal (reference/dtr/2.7/cli/install.md); `tcp+tls` is not in it. */
    logProtocol?: "tcp" | "udp" | "internal";
    logLevel?: "debug" | "info" | "warn" | "error" | "fatal";
    httpProxy?: string;
    httpsProxy?: string;
    noProxy?: string;
}

export interface JoinArgs extends CommonArgs, ReplicaPorts {
    ucpNode: string;
    /** The replica this one copies its state from; it must be healthy. */
    existingReplicaId: string;
    replicaId: string;
    /** `--skip-network-test` / `--unsafe-join` exist but are refused here: both risk a split cluster. */
}

export interface BackupArgs extends CommonArgs {
    existingReplicaId: string;
    /** `--offline-backup`: stops RethinkDB during the backup; take the replica out of the load balancer first. */
    offline?: boolean;
}

/** Exactly one of these tells restore where image layers live (required since DTR 2.6.0). */
export type RestoreStorage =
    | { kind: "default" } // --dtr-use-default-storage: the cloud storage configured at backup time
    | { kind: "volume"; volume: string } // --dtr-storage-volume
    | { kind: "nfs"; url: string }; // --nfs-storage-url

export interface RestoreArgs extends CommonArgs, ReplicaPorts {
    replicaId: string;
    ucpNode: string;
    externalUrl: string;
    storage: RestoreStorage;
    dtrCaPem?: string;
    dtrCertPem?: string;
    withDtrKey?: boolean;
}

export interface DestroyArgs extends CommonArgs {
    replicaId: string;
}

export interface RemoveArgs extends CommonArgs {
    existingReplicaId: string;
    replicaIds: string[];
}

export interface UpgradeArgs extends CommonArgs {
    existingReplicaId: string;
}

export interface EmergencyRepairArgs extends CommonArgs {
    existingReplicaId: string;
    overlaySubnet?: string;
}

export type Flag = [name: string, value?: string | number | boolean];

/** Error for a value that would make DTR fail, hang or prompt; names the flag, the value and the fix. */
export class DtrCommandError extends Error {
    constructor(flag: string, value: unknown, fix: string) {
        super(`${flag}=${JSON.stringify(value)} is not valid: ${fix}`);
        this.name = "DtrCommandError";
    }
}

const REPLICA_ID = /^[0-9a-f]{12}$/;

export function assertReplicaId(flag: string, id: string): string {
    if (!REPLICA_ID.test(id)) {
        throw new DtrCommandError(flag, id, "a DTR replica id is exactly 12 lower-case hex characters, e.g. 0123456789ab");
    }
    return id;
}

export function imageRef(image: DtrImage): string {
    if (!/^[a-z0-9][a-z0-9._\-/:]*$/.test(image.repository) || image.repository.endsWith(":")) {
        throw new DtrCommandError("image.repository", image.repository, "give a repository such as mirantis/dtr");
    }
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(image.version)) {
        throw new DtrCommandError("image.version", image.version, "give a tag such as 2.9.16");
    }
    return `${image.repository}:${image.version}`;
}

/** The port a `https://host[:port]` URL points to (443 when absent). */
export function externalUrlPort(url: string): number {
    let parsed: URL;
    try {
        parsed = new URL(url);
    } catch {
        throw new DtrCommandError("--dtr-external-url", url, "use https://fqdn[:port]");
    }
    if (parsed.protocol !== "https:") {
        throw new DtrCommandError("--dtr-external-url", url, "DTR is served over HTTPS: use https://fqdn[:port]");
    }
    if (parsed.pathname !== "/" || parsed.search || parsed.hash) {
        throw new DtrCommandError("--dtr-external-url", url, "give only scheme, host and port, without a path");
    }
    return parsed.port ? Number(parsed.port) : 443;
}

/**
 * DTR install hangs at "Waiting for DTR to start" when the external URL's port differs from the replica HTTPS port
 * (docker/docs#1928), so this is refused before anything runs.
 */
export function assertExternalUrlMatchesPort(externalUrl: string, httpsPort = 443): void {
    const port = externalUrlPort(externalUrl);
    if (port !== httpsPort) {
        throw new DtrCommandError(
            "--dtr-external-url",
            externalUrl,
            `its port ${port} differs from --replica-https-port ${httpsPort}; DTR install would hang at ` +
                `"Waiting for DTR to start". Use the same port in both`,
        );
    }
}

function assertPort(flag: string, port: number | undefined): void {
    if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
        throw new DtrCommandError(flag, port, "give a TCP port from 1 to 65535");
    }
}

function ucpFlags(ucp: UcpConnection): Flag[] {
    let url: URL;
    try {
        url = new URL(ucp.url);
    } catch {
        throw new DtrCommandError("--ucp-url", ucp.url, "use https://ucp-host[:port]");
    }
    if (url.protocol !== "https:") {
        throw new DtrCommandError("--ucp-url", ucp.url, "UCP is served over HTTPS: use https://ucp-host[:port]");
    }
    if (!ucp.username) {
        throw new DtrCommandError("--ucp-username", ucp.username, "give the UCP admin user name");
    }
    if (ucp.caPem && ucp.insecureTls) {
        throw new DtrCommandError("--ucp-insecure-tls", true, "give either --ucp-ca or --ucp-insecure-tls, not both");
    }
    if (!ucp.caPem && !ucp.insecureTls) {
        throw new DtrCommandError("--ucp-ca", ucp.caPem ?? "", "give UCP's CA certificate (PEM), or set insecureTls in a lab");
    }
    const flags: Flag[] = [
        ["--ucp-url", ucp.url],
        ["--ucp-username", ucp.username],
    ];
    flags.push(ucp.caPem ? ["--ucp-ca", ucp.caPem] : ["--ucp-insecure-tls"]);
    return flags;
}

function portFlags(p: ReplicaPorts): Flag[] {
    assertPort("--replica-http-port", p.httpPort);
    assertPort("--replica-https-port", p.httpsPort);
    const flags: Flag[] = [];
    if (p.httpPort !== undefined) flags.push(["--replica-http-port", p.httpPort]);
    if (p.httpsPort !== undefined) flags.push(["--replica-https-port", p.httpsPort]);
    return flags;
}

function tlsFlags(a: { dtrCaPem?: string; dtrCertPem?: string }): Flag[] {
    const flags: Flag[] = [];
    if (a.dtrCaPem) flags.push(["--dtr-ca", a.dtrCaPem]);
    if (a.dtrCertPem) flags.push(["--dtr-cert", a.dtrCertPem]);
    return flags;
}

function renderFlags(flags: Flag[]): string[] {
    const words: string[] = [];
    for (const [name, value] of flags) {
        if (value === undefined || value === true) words.push(name);
        else if (value === false) continue;
        else words.push(name, String(value));
    }
    return words;
}

interface DockerRunSpec {
    image: DtrImage;
    run?: RunOptions;
    subcommand: string;
    flags: Flag[];
    /** Secret env names copied from the remote shell into the container. */
    env: string[];
    /** `-i`: the container reads stdin (restore) or must not get a TTY (backup). */
    interactive: boolean;
    /** `--log-driver none`: keeps stdout (backup bytes) out of the engine's logs. */
    noLogs?: boolean;
}

function dockerRun(spec: DockerRunSpec): string {
    const words = ["docker", "run", "--rm"];
    if (spec.interactive) words.push("-i");
    if (spec.noLogs) words.push("--log-driver", "none");
    for (const name of spec.env) words.push("-e", assertEnvName(name));
    if (spec.run?.mountEngineSocket) words.push("-v", "/var/run/docker.sock:/var/run/docker.sock");
    words.push(imageRef(spec.image), spec.subcommand);
    const flags = spec.run?.debug ? [...spec.flags, ["--debug"] as Flag] : spec.flags;
    return shellJoin([...words, ...renderFlags(flags)]);
}

export function installCommand(a: InstallArgs): string {
    assertReplicaId("--replica-id", a.replicaId);
    assertExternalUrlMatchesPort(a.externalUrl, a.httpsPort ?? 443);
    const flags: Flag[] = [
        ...ucpFlags(a.ucp),
        ["--ucp-node", a.ucpNode],
        ["--replica-id", a.replicaId],
        ["--dtr-external-url", a.externalUrl],
        ...portFlags(a),
        ...tlsFlags(a),
    ];
    if (a.overlaySubnet) flags.push(["--overlay-subnet", a.overlaySubnet]);
    if (a.rethinkdbCacheMb !== undefined) flags.push(["--replica-rethinkdb-cache-mb", a.rethinkdbCacheMb]);
    if (a.logProtocol) {
        if (!["tcp", "udp", "internal"].includes(a.logProtocol))
            throw new DtrCommandError("--log-protocol", a.logProtocol, "use tcp, udp or internal (DTR 2.7's reference lists no other)");
        flags.push(["--log-protocol", a.logProtocol]);
    }
    if (a.logHost) flags.push(["--log-host", a.logHost]);
    if (a.logLevel) flags.push(["--log-level", a.logLevel]);
    if (a.httpProxy) flags.push(["--http-proxy", a.httpProxy]);
    if (a.httpsProxy) flags.push(["--https-proxy", a.httpsProxy]);
    if (a.noProxy) flags.push(["--no-proxy", a.noProxy]);
    const env: string[] = [SECRET_ENV.ucpPassword];
    if (a.withDtrKey) env.push(SECRET_ENV.dtrKey);
    requireNode(a.ucpNode);
    return dockerRun({ image: a.image, run: a.run, subcommand: "install", flags, env, interactive: false });
}

export function joinCommand(a: JoinArgs): string {
    assertReplicaId("--existing-replica-id", a.existingReplicaId);
    assertReplicaId("--replica-id", a.replicaId);
    if (a.existingReplicaId === a.replicaId) {
        throw new DtrCommandError("--replica-id", a.replicaId, "a replica cannot join itself; use a new id");
    }
    requireNode(a.ucpNode);
    const flags: Flag[] = [
        ...ucpFlags(a.ucp),
        ["--ucp-node", a.ucpNode],
        ["--existing-replica-id", a.existingReplicaId],
        ["--replica-id", a.replicaId],
        ...portFlags(a),
    ];
    return adminRun(a, "join", flags);
}

export function backupCommand(a: BackupArgs): string {
    const flags = onExistingReplica(a);
    if (a.offline) flags.push(["--offline-backup"]);
    return dockerRun({
        image: a.image,
        run: a.run,
        subcommand: "backup",
        flags,
        env: [SECRET_ENV.ucpPassword],
        interactive: true,
        noLogs: true,
    });
}

export function restoreStorageFlags(storage: RestoreStorage): Flag[] {
    switch (storage.kind) {
        case "default":
            return [["--dtr-use-default-storage"]];
        case "volume":
            if (!storage.volume) throw new DtrCommandError("--dtr-storage-volume", storage.volume, "name a volume or path");
            return [["--dtr-storage-volume", storage.volume]];
        case "nfs":
            if (!/^nfs:\/\/[^/]+\/.+/.test(storage.url)) {
                throw new DtrCommandError("--nfs-storage-url", storage.url, "use nfs://<host>/<path>");
            }
            return [["--nfs-storage-url", storage.url]];
        default: {
            const kind = (storage as { kind?: unknown }).kind;
            throw new DtrCommandError("storage.kind", kind, 'restore needs exactly one of "default", "volume", "nfs"');
        }
    }
}

export function restoreCommand(a: RestoreArgs): string {
    assertReplicaId("--replica-id", a.replicaId);
    assertExternalUrlMatchesPort(a.externalUrl, a.httpsPort ?? 443);
    requireNode(a.ucpNode);
    const flags: Flag[] = [
        ...ucpFlags(a.ucp),
        ["--ucp-node", a.ucpNode],
        ["--replica-id", a.replicaId],
        ["--dtr-external-url", a.externalUrl],
        ...portFlags(a),
        ...tlsFlags(a),
        ...restoreStorageFlags(a.storage),
    ];
    const env: string[] = [SECRET_ENV.ucpPassword];
    if (a.withDtrKey) env.push(SECRET_ENV.dtrKey);
    return dockerRun({ image: a.image, run: a.run, subcommand: "restore", flags, env, interactive: true });
}

export function destroyCommand(a: DestroyArgs): string {
    assertReplicaId("--replica-id", a.replicaId);
    const flags: Flag[] = [...ucpFlags(a.ucp), ["--replica-id", a.replicaId]];
    return adminRun(a, "destroy", flags);
}

/**
 * `remove --existing-replica-id <stays> --replica-ids <a,b>` (docker/docs reference/dtr/2.7/cli/remove.md). Always the
 * documented `--replica-ids` comma list, never its deprecated alias `--replica-id` (that one names a replica to remove).
 * DTR refuses unless every replica that stays is healthy; a removed replica may be gone entirely.
 */
export function removeCommand(a: RemoveArgs): string {
    const flags = onExistingReplica(a);
    if (a.replicaIds.length === 0) {
        throw new DtrCommandError("--replica-ids", "", "name at least one replica to remove");
    }
    a.replicaIds.forEach((id) => assertReplicaId("--replica-ids", id));
    if (a.replicaIds.includes(a.existingReplicaId)) {
        throw new DtrCommandError(
            "--replica-ids",
            a.replicaIds.join(","),
            "it contains --existing-replica-id; run remove from a replica that stays",
        );
    }
    flags.push(["--replica-ids", a.replicaIds.join(",")]);
    return adminRun(a, "remove", flags);
}

export function upgradeCommand(a: UpgradeArgs): string {
    return adminRun(a, "upgrade", onExistingReplica(a));
}

/**
 * `emergency-repair --existing-replica-id <survivor> --yes` (docker/docs reference/dtr/2.7/cli/emergency-repair.md): the
 * survivor becomes the only replica. `--yes` ("Answer yes to any prompts", `$YES`) because the command runs without a
 * TTY, where DTR's confirmation prompt cannot be answered.
 */
export function emergencyRepairCommand(a: EmergencyRepairArgs): string {
    const flags = onExistingReplica(a);
    if (a.overlaySubnet) flags.push(["--overlay-subnet", a.overlaySubnet]);
    flags.push(["--yes"]);
    return adminRun(a, "emergency-repair", flags);
}

/** UCP's flags and `--existing-replica-id` (checked): the replica a command acts through. */
function onExistingReplica(a: CommonArgs & { existingReplicaId: string }): Flag[] {
    assertReplicaId("--existing-replica-id", a.existingReplicaId);
    return [...ucpFlags(a.ucp), ["--existing-replica-id", a.existingReplicaId]];
}

/** The commands that only need UCP's admin (password from the environment) and read no stdin. */
function adminRun(a: CommonArgs, subcommand: string, flags: Flag[]): string {
    return dockerRun({ image: a.image, run: a.run, subcommand, flags, env: [SECRET_ENV.ucpPassword], interactive: false });
}

function requireNode(node: string): void {
    if (!node || /\s/.test(node)) {
        throw new DtrCommandError("--ucp-node", node, "give the node's hostname exactly as UCP lists it");
    }
}

/** `docker pull <image>` so install and join fail fast on a missing image rather than mid-way. */
export function pullCommand(image: DtrImage): string {
    return shellJoin(["docker", "pull", imageRef(image)]);
}

export { shellQuote };

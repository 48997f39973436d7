/**
 * The stack's configuration, validated in one pass before any resource is declared. Every problem names the key,
 * the value and the fix, and all problems are reported together so a user fixes their file once.
 * Keys live in the `dtr-ha` namespace; `stacks/Pulumi.example.yaml` documents each one.
 */
import { replicaCountProblem, replicaIds, restoredReplicaIds } from "../cluster/topology";
import { externalUrlPort } from "../dtr-cli/commands";
import { overlaySubnetProblems, parseCidr } from "../network/subnet";
import type { ExistingHostSpec } from "../hosts/existing-hosts";
import type { AwsSubnet } from "../hosts/aws-hosts";
import { ScheduleSpec, SchedulePaths, resolvePaths, resolveSchedule } from "../backup/schedule-spec";
import { BACKUP_PREFIX, manifestKeyProblem } from "../backup/keys";
import { agentImageProblems } from "../backup/agent-ref";

export const NS = "dtr-ha";

/** Secrets are read with `requireSecret`; validation only needs to know which are present. */
export const SECRET_KEYS = [
    "ucpPassword",
    "sshPrivateKey",
    "swarmJoinToken",
    "storageAccessKey",
    "storageSecretKey",
    "backupAccessKey",
    "backupSecretKey",
    "ageIdentity",
] as const;
export type SecretKey = (typeof SECRET_KEYS)[number];

/** The non-secret top-level keys (`dtr-ha:<section>`), each a YAML map. */
export const CONFIG_SECTIONS = ["cluster", "image", "ucp", "hosts", "storage", "backup", "restore"] as const;

/** Edit distance, to suggest the key a misspelt one was meant to be. */
function distance(a: string, b: string): number {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0][j] = j;
    for (let i = 1; i <= a.length; i++)
        for (let j = 1; j <= b.length; j++)
            d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    return d[a.length][b.length];
}

/**
 * Refuses top-level `dtr-ha:` keys that are neither a section nor a secret: `dtr-ha:backups` would otherwise be
 * ignored and the stack would run without backups. The value is not shown: a misspelt secret's value is a secret.
 */
export function unknownTopLevelProblems(keys: Iterable<string>): string[] {
    const known: readonly string[] = [...CONFIG_SECTIONS, ...SECRET_KEYS];
    const out: string[] = [];
    for (const k of keys) {
        if (known.includes(k)) continue;
        const near = known.filter((x) => distance(x.toLowerCase(), k.toLowerCase()) <= 2);
        const hint = near.length ? `did you mean ${near.map((x) => `${NS}:${x}`).join(" or ")}? ` : "";
        out.push(
            `${NS}:${k} (value not shown) is not a known key: ${hint}remove it with \`pulumi config rm ${NS}:${k}\`; ` +
                `known keys: ${known.join(", ")} (see stacks/Pulumi.example.yaml)`,
        );
    }
    return out;
}

export interface ClusterConfig {
    name: string;
    replicas: number;
    production: boolean;
    externalUrl: string;
    httpPort: number;
    httpsPort: number;
    overlaySubnet: string;
    dockerAddressPools?: string[];
    allowZoneSharing: boolean;
    /** `probeFromHere`: also ping each replica from the machine running Pulumi, so a preview names one that is down. */
    healthGate: { timeoutSeconds: number; intervalSeconds: number; probeFromHere: boolean; checkSeconds: number };
    /** Lab only: mount the engine socket into the bootstrap container (dtr-sim needs it). */
    mountEngineSocket: boolean;
    /**
     * Swarm (UCP) managers for swarm-level steps, the first that answers is used: DTR hosts are workers, and only a
     * manager can remove the dtr-ol network after a destroy. Without any, destroy leaves dtr-ol on the swarm.
     */
    swarmManagers?: ManagerHost[];
}

export interface AwsHostsConfig {
    region?: string;
    vpcId: string;
    vpcCidr: string;
    subnets: AwsSubnet[];
    amiId: string;
    instanceType?: string;
    rootVolumeGb?: number;
    sshUser: string;
    sshPublicKey: string;
    sshCidrs: string[];
    clientCidrs: string[];
    connectVia: "public" | "private";
    loadBalancerScheme: "internet-facing" | "internal";
    engine: { installScriptUrl: string; channel?: string; version?: string };
    swarmManagerAddress: string;
}

export type HostsConfig = { mode: "existing"; existing: ExistingHostSpec[] } | { mode: "aws"; aws: AwsHostsConfig };

export type StorageConfig =
    | { mode: "aws"; aws: { noncurrentVersionExpirationDays: number; replicationRegion?: string; forceDestroy: boolean } }
    | {
          mode: "s3";
          s3: {
              region: string;
              bucket: string;
              regionEndpoint?: string;
              secure: boolean;
              forcePathStyle: boolean;
              rootDirectory?: string;
          };
      };

export interface BackupConfig {
    /** aws: this stack creates the backup bucket (AWS hosts); s3: an existing bucket (with Object Lock) and keys. */
    mode: "aws" | "s3";
    /** s3 mode: the bucket's name. */
    bucket?: string;
    prefix: string;
    /**
     * The backup agent image on the hosts (`dtr-ha-backup`). Unset only with AWS hosts: the stack then builds it and
     * pushes it to an ECR repository of its own, and the hosts pull it by digest.
     */
    agentImage?: string;
    /** AWS hosts, agent image built here: a second region its ECR repository replicates to (default: storage's). */
    agentImageReplicationRegion?: string;
    /** age public keys backups are encrypted to (the operator holds the secret keys). */
    recipients: string[];
    lockMode: "GOVERNANCE" | "COMPLIANCE";
    retentionDays: number;
    /** Change this value to take a new backup on the next `pulumi up`. */
    trigger?: string;
    /** s3 mode: region, endpoint and addressing of the S3-compatible server. */
    s3?: { region: string; endpoint?: string; forcePathStyle: boolean };
    /** Scheduled backups on every replica host: exactly one of onCalendar (systemd) or cron. */
    schedule?: ScheduleSpec;
    /** Where the schedule installs its files (`{host}` = host name); defaults in components/backup/schedule-spec.ts. */
    schedulePaths?: Partial<SchedulePaths>;
    /** auto: systemd where it runs, else cron. */
    scheduler?: "auto" | "systemd" | "cron";
    /** Swarm backups from a manager that is not the leader (taken before UCP and DTR, as documented). */
    swarm?: ManagerHost & { engine?: { stop: string; start: string }; dataRoot?: string };
    /** UCP backups from a UCP manager (taken after Swarm, before DTR). */
    ucp?: ManagerHost & { image: { repository: string; version: string }; includeLogs: boolean };
}

/** A manager host reached with the stack's SSH key (the DTR hosts are UCP workers, so managers are listed apart). */
export interface ManagerHost {
    address: string;
    port: number;
    user: string;
    hostKey: string;
}

export interface RestoreConfig {
    manifestKey: string;
    destroyExisting: boolean;
    /** The id of the replica the backup was taken from (its manifest's replicaId): DTR restores with it. */
    replicaId: string;
    /** The host the restore ran on, which keeps that id; default: the first host. */
    host?: string;
}

export interface StackConfig {
    backup?: BackupConfig;
    restore?: RestoreConfig;
    cluster: ClusterConfig;
    image: { repository: string; version: string };
    ucp: { url: string; username: string; ca?: string; insecureTls: boolean };
    hosts: HostsConfig;
    storage: StorageConfig;
}

export class ConfigError extends Error {
    constructor(public readonly problems: string[]) {
        super(`The stack configuration has ${problems.length} problem(s):\n- ${problems.join("\n- ")}`);
        this.name = "ConfigError";
    }
}

type Obj = Record<string, unknown>;

/** Collects problems while reading values; each reader returns a usable default so later checks still run. */
class Reader {
    readonly problems: string[] = [];

    problem(key: string, value: unknown, fix: string): void {
        const shown = value === undefined ? "(not set)" : JSON.stringify(value);
        this.problems.push(`${NS}:${key} = ${shown}: ${fix}`);
    }

    obj(parent: Obj | undefined, key: string, path: string, required = true): Obj | undefined {
        const v = parent?.[key];
        if (v === undefined && !required) return undefined;
        if (typeof v !== "object" || v === null || Array.isArray(v)) {
            this.problem(path, v, "must be a map (YAML object); see stacks/Pulumi.example.yaml");
            return undefined;
        }
        return v as Obj;
    }

    str(
        parent: Obj | undefined,
        key: string,
        path: string,
        fix: string,
        opts: { required?: boolean; pattern?: RegExp } = {},
    ): string | undefined {
        const v = parent?.[key];
        if (v === undefined || v === "") {
            if (opts.required ?? true) this.problem(path, v, `required: ${fix}`);
            return undefined;
        }
        if (typeof v !== "string") {
            this.problem(path, v, `must be a string: ${fix}`);
            return undefined;
        }
        if (opts.pattern && !opts.pattern.test(v)) {
            this.problem(path, v, fix);
            return undefined;
        }
        return v;
    }

    int(parent: Obj | undefined, key: string, path: string, def: number | undefined, min: number, max: number): number | undefined {
        const v = parent?.[key];
        if (v === undefined) return def;
        const n = typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v;
        if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) {
            this.problem(path, v, `must be a whole number from ${min} to ${max}`);
            return def;
        }
        return n;
    }

    bool(parent: Obj | undefined, key: string, path: string, def: boolean): boolean {
        const v = parent?.[key];
        if (v === undefined) return def;
        if (v === true || v === "true") return true;
        if (v === false || v === "false") return false;
        this.problem(path, v, "must be true or false");
        return def;
    }

    oneOf<T extends string>(parent: Obj | undefined, key: string, path: string, allowed: readonly T[], def?: T): T | undefined {
        const v = parent?.[key];
        if (v === undefined && def !== undefined) return def;
        if (typeof v !== "string" || !(allowed as readonly string[]).includes(v)) {
            this.problem(path, v, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}`);
            return undefined;
        }
        return v as T;
    }

    /** Unknown keys are refused: a misspelt key would otherwise silently fall back to its default. */
    known(o: Obj | undefined, path: string, keys: readonly string[]): void {
        for (const k of Object.keys(o ?? {})) {
            if (!keys.includes(k)) this.problem(`${path}.${k}`, o![k], `is not a known key; known keys here: ${keys.join(", ")}`);
        }
    }

    list(parent: Obj | undefined, key: string, path: string, required = true): unknown[] | undefined {
        const v = parent?.[key];
        if (v === undefined && !required) return undefined;
        if (!Array.isArray(v)) {
            this.problem(path, v, "must be a list");
            return undefined;
        }
        return v;
    }

    cidrs(parent: Obj | undefined, key: string, path: string, required = true): string[] {
        const items = this.list(parent, key, path, required) ?? [];
        const out: string[] = [];
        items.forEach((c, i) => {
            const parsed = typeof c === "string" ? parseCidr(c) : "not a string";
            if (typeof parsed === "string") this.problem(`${path}[${i}]`, c, `${parsed}`);
            else out.push(parsed.text);
        });
        return out;
    }
}

const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,253}[A-Za-z0-9])?$/;
const NAME = /^[a-z0-9][a-z0-9-]{0,40}$/;
/** A login name: what useradd accepts by default (NAME_REGEX), at most 32 characters. */
const USER = /^[a-z_][a-z0-9_-]{0,31}$/;
/**
 * Image references, per the distribution reference grammar (github.com/distribution/reference): an optional registry
 * host[:port], then lower-case path components separated by `.`, `_`, `__` or dashes; a tag of word characters, `.`
 * and `-` (at most 128); an optional digest. Nothing here can start with `-`, so no value reads as a `docker run` flag.
 */
// A registry is told apart from a path component as Docker does: it has a dot or a port, or is localhost.
const DOMAIN_COMPONENT = "(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])";
const REGISTRY = `(?:localhost(?::[0-9]+)?|${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})+(?::[0-9]+)?|${DOMAIN_COMPONENT}:[0-9]+)/`;
const PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const REPOSITORY_SRC = `(?:${REGISTRY})?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const TAG_SRC = "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}";
const DIGEST_SRC = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";
export const IMAGE_REPOSITORY = new RegExp(`^(?=.{1,255}$)${REPOSITORY_SRC}$`);
export const IMAGE_TAG = new RegExp(`^${TAG_SRC}$`);
export const IMAGE_REFERENCE = new RegExp(`^(?=.{1,512}$)${REPOSITORY_SRC}(?::${TAG_SRC})?(?:@${DIGEST_SRC})?$`);
const HOST_KEY = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/=]+( .*)?$/;

/**
 * Validates raw config values (as `pulumi.Config.getObject` returns them) and which secrets are set.
 * Throws `ConfigError` listing every problem; returns the typed configuration otherwise.
 */
/** A manager host's connection fields (SSH address, port, user, pinned host key), each checked and named by `path`. */
function readManager(r: Reader, o: Obj | undefined, path: string): ManagerHost {
    return {
        address: r.str(o, "address", `${path}.address`, "the manager's SSH address", { pattern: HOSTNAME }) ?? "",
        port: r.int(o, "port", `${path}.port`, 22, 1, 65535) ?? 22,
        user:
            r.str(o, "user", `${path}.user`, "the SSH user (a login name: a-z 0-9 _ -, at most 32)", {
                required: false,
                pattern: USER,
            }) ?? "root",
        hostKey:
            r.str(o, "hostKey", `${path}.hostKey`, "the manager's SSH public key (`ssh-keyscan -t ed25519 <host>`)", {
                pattern: HOST_KEY,
            }) ?? "",
    };
}

export function parseStackConfig(raw: Obj, secretsSet: ReadonlySet<SecretKey>): StackConfig {
    const r = new Reader();
    r.problems.push(...unknownTopLevelProblems(Object.keys(raw)));
    const needSecret = (key: SecretKey, why: string) => {
        if (!secretsSet.has(key)) {
            r.problems.push(`${NS}:${key} is not set: ${why}. Set it with \`pulumi config set --secret ${NS}:${key} ...\``);
        }
    };

    // cluster
    const c = r.obj(raw, "cluster", "cluster");
    r.known(c, "cluster", [
        "name",
        "replicas",
        "production",
        "externalUrl",
        "httpPort",
        "httpsPort",
        "overlaySubnet",
        "dockerAddressPools",
        "allowZoneSharing",
        "healthGate",
        "mountEngineSocket",
        "swarmManagers",
    ]);
    const replicas = r.int(c, "replicas", "cluster.replicas", 3, 1, 99) ?? 3;
    const replicasWhy = replicaCountProblem(replicas);
    if (replicasWhy !== undefined) {
        r.problem("cluster.replicas", replicas, `DTR's metadata store needs a majority: ${replicasWhy}; use 3, 5 or 7`);
    }
    const httpsPort = r.int(c, "httpsPort", "cluster.httpsPort", 443, 1, 65535) ?? 443;
    const httpPort = r.int(c, "httpPort", "cluster.httpPort", 80, 1, 65535) ?? 80;
    if (httpPort === httpsPort) r.problem("cluster.httpPort", httpPort, "must differ from cluster.httpsPort");
    const externalUrl = r.str(c, "externalUrl", "cluster.externalUrl", "the https://fqdn[:port] clients use (the load balancer)");
    if (externalUrl) {
        try {
            const port = externalUrlPort(externalUrl);
            if (port !== httpsPort) {
                r.problem(
                    "cluster.externalUrl",
                    externalUrl,
                    `its port ${port} must equal cluster.httpsPort ${httpsPort}, or DTR install hangs at "Waiting for DTR to start"`,
                );
            }
        } catch (e) {
            r.problem("cluster.externalUrl", externalUrl, (e as Error).message);
        }
    }
    const dockerAddressPools =
        c?.dockerAddressPools === undefined ? undefined : r.cidrs(c, "dockerAddressPools", "cluster.dockerAddressPools");
    const healthGateRaw = r.obj(c, "healthGate", "cluster.healthGate", false);
    r.known(healthGateRaw, "cluster.healthGate", ["timeoutSeconds", "intervalSeconds", "probeFromHere", "checkSeconds"]);
    const timeoutSeconds = r.int(healthGateRaw, "timeoutSeconds", "cluster.healthGate.timeoutSeconds", 900, 10, 7200) ?? 900;
    const intervalSeconds = r.int(healthGateRaw, "intervalSeconds", "cluster.healthGate.intervalSeconds", 10, 1, 600) ?? 10;
    if (intervalSeconds > timeoutSeconds)
        r.problem("cluster.healthGate.intervalSeconds", intervalSeconds, "must not exceed timeoutSeconds");
    const cluster: ClusterConfig = {
        name: r.str(c, "name", "cluster.name", "1-41 of a-z, 0-9 and -", { pattern: NAME }) ?? "dtr",
        replicas,
        production: r.bool(c, "production", "cluster.production", true),
        externalUrl: externalUrl ?? "",
        httpPort,
        httpsPort,
        overlaySubnet:
            r.str(c, "overlaySubnet", "cluster.overlaySubnet", "a private CIDR for dtr-ol used nowhere else, e.g. 172.16.240.0/24") ?? "",
        dockerAddressPools,
        allowZoneSharing: r.bool(c, "allowZoneSharing", "cluster.allowZoneSharing", false),
        healthGate: {
            timeoutSeconds,
            intervalSeconds,
            probeFromHere: r.bool(healthGateRaw, "probeFromHere", "cluster.healthGate.probeFromHere", false),
            checkSeconds: r.int(healthGateRaw, "checkSeconds", "cluster.healthGate.checkSeconds", 60, 1, 7200) ?? 60,
        },
        mountEngineSocket: r.bool(c, "mountEngineSocket", "cluster.mountEngineSocket", false),
    };
    if (c && c.swarmManagers !== undefined) {
        const list = c.swarmManagers;
        if (!Array.isArray(list) || list.length === 0) {
            r.problem("cluster.swarmManagers", list, "give a list of UCP manager hosts ({address, port, user, hostKey}), or leave it out");
        } else {
            cluster.swarmManagers = list.map((m, i) => {
                const at = `cluster.swarmManagers[${i}]`;
                const o = r.obj({ m }, "m", at) as Obj | undefined;
                r.known(o, at, ["address", "port", "user", "hostKey"]);
                return readManager(r, o, at);
            });
        }
    }
    if (cluster.production && cluster.mountEngineSocket) {
        r.problem("cluster.mountEngineSocket", true, "is for the lab's dtr-sim only; set cluster.production: false in a lab stack");
    }

    // image
    const img = r.obj(raw, "image", "image");
    r.known(img, "image", ["repository", "version"]);
    const image = {
        repository:
            r.str(
                img,
                "repository",
                "image.repository",
                "an image repository without tag (registry host[:port]/ then lower-case a-z 0-9 . _ - path, at most 255), e.g. mirantis/dtr or registry.mirantis.com/msr/dtr",
                { pattern: IMAGE_REPOSITORY },
            ) ?? "",
        version:
            r.str(
                img,
                "version",
                "image.version",
                "a DTR version tag (1-128 of A-Z a-z 0-9 _ . -, not starting with . or -) such as 2.9.16",
                {
                    pattern: IMAGE_TAG,
                },
            ) ?? "",
    };

    // ucp
    const u = r.obj(raw, "ucp", "ucp");
    r.known(u, "ucp", ["url", "username", "ca", "insecureTls"]);
    const ucpUrl = r.str(u, "url", "ucp.url", "https://ucp-host[:port]", { pattern: /^https:\/\/[^\s/]+\/?$/ });
    const ucp = {
        url: ucpUrl ?? "",
        username: r.str(u, "username", "ucp.username", "the UCP admin user name") ?? "",
        ca: r.str(u, "ca", "ucp.ca", "UCP's CA certificate (PEM)", { required: false, pattern: /-----BEGIN CERTIFICATE-----/ }),
        insecureTls: r.bool(u, "insecureTls", "ucp.insecureTls", false),
    };
    if (!ucp.ca && !ucp.insecureTls) r.problem("ucp.ca", undefined, "give UCP's CA certificate (PEM) so DTR can verify UCP");
    if (ucp.ca && ucp.insecureTls) r.problem("ucp.insecureTls", true, "give either ucp.ca or ucp.insecureTls, not both");
    if (ucp.insecureTls && cluster.production) {
        r.problem("ucp.insecureTls", true, "is refused for a production cluster (cluster.production: true); give ucp.ca");
    }
    needSecret("ucpPassword", "the UCP admin password");

    // hosts
    const h = r.obj(raw, "hosts", "hosts");
    r.known(h, "hosts", ["mode", "existing", "networks", "aws"]);
    const mode = r.oneOf(h, "mode", "hosts.mode", ["existing", "aws"] as const);
    let hosts: HostsConfig = { mode: "existing", existing: [] };
    const hostNetworks: string[] = [];
    let vpcCidrs: string[] = [];
    needSecret("sshPrivateKey", "the private key the command provider uses to reach the hosts");
    if (mode === "existing") {
        const list = r.list(h, "existing", "hosts.existing") ?? [];
        const specs: ExistingHostSpec[] = [];
        list.forEach((item, i) => {
            const p = `hosts.existing[${i}]`;
            const o = typeof item === "object" && item !== null ? (item as Obj) : undefined;
            if (!o) return r.problem(p, item, "must be a map with name, address, zone, hostKey");
            r.known(o, p, ["name", "address", "port", "user", "ucpNode", "privateAddress", "zone", "hostKey"]);
            const spec: ExistingHostSpec = {
                name: r.str(o, "name", `${p}.name`, "a short unique name (a-z, 0-9, -)", { pattern: NAME }) ?? `host${i}`,
                address: r.str(o, "address", `${p}.address`, "the SSH address (IP or DNS name)", { pattern: HOSTNAME }) ?? "",
                port: r.int(o, "port", `${p}.port`, 22, 1, 65535),
                user: r.str(o, "user", `${p}.user`, "the SSH user (a login name: a-z 0-9 _ -, at most 32)", {
                    required: false,
                    pattern: USER,
                }),
                ucpNode: r.str(o, "ucpNode", `${p}.ucpNode`, "the node name as UCP lists it", { required: false, pattern: HOSTNAME }),
                privateAddress: r.str(o, "privateAddress", `${p}.privateAddress`, "an IP or DNS name", {
                    required: false,
                    pattern: HOSTNAME,
                }),
                zone: r.str(o, "zone", `${p}.zone`, "the host's availability zone or failure domain") ?? "",
                hostKey:
                    r.str(
                        o,
                        "hostKey",
                        `${p}.hostKey`,
                        "the host's SSH public key (`ssh-keyscan -t ed25519 <host>`), pinned so a swapped host is refused",
                        {
                            pattern: HOST_KEY,
                        },
                    ) ?? "",
            };
            specs.push(spec);
        });
        // Two entries for one machine would put two replicas (and their ports 80/443) on one host, or one replica's
        // id on two hosts. Compared as the components use them: SSH address:port, privateAddress (default: address),
        // UCP node name (default: name).
        const dup = (what: string, value: (h: ExistingHostSpec) => string, fix: string) => {
            const first = new Map<string, number>();
            specs.forEach((h, i) => {
                const v = value(h);
                if (!v) return;
                const j = first.get(v);
                if (j === undefined) first.set(v, i);
                else r.problem(`hosts.existing[${i}].${what}`, v, `is also hosts.existing[${j}]'s ${what}: ${fix}`);
            });
        };
        dup("name", (h) => h.name, "give every host a unique name (it fixes the replica id)");
        dup(
            "address",
            (h) => (h.address ? `${h.address}:${h.port ?? 22}` : ""),
            "list every host once, each at its own SSH address[:port]",
        );
        dup(
            "privateAddress",
            (h) => h.privateAddress ?? h.address,
            "replicas must reach each other on distinct addresses (privateAddress defaults to address); list every host once",
        );
        dup("ucpNode", (h) => h.ucpNode ?? h.name, "each replica needs its own UCP node (ucpNode defaults to name)");
        if (list.length !== replicas) {
            r.problem("hosts.existing", `${list.length} hosts`, `list exactly cluster.replicas (${replicas}) hosts, one per replica`);
        }
        hostNetworks.push(...r.cidrs(h, "networks", "hosts.networks", false));
        hosts = { mode: "existing", existing: specs };
    } else if (mode === "aws") {
        const a = r.obj(h, "aws", "hosts.aws");
        r.known(a, "hosts.aws", [
            "region",
            "vpcId",
            "vpcCidr",
            "subnets",
            "amiId",
            "instanceType",
            "rootVolumeGb",
            "sshUser",
            "sshPublicKey",
            "sshCidrs",
            "clientCidrs",
            "connectVia",
            "loadBalancerScheme",
            "engine",
            "swarmManagerAddress",
        ]);
        const subnetsRaw = r.list(a, "subnets", "hosts.aws.subnets") ?? [];
        const subnets: AwsSubnet[] = subnetsRaw.map((s, i) => {
            const o = typeof s === "object" && s !== null ? (s as Obj) : undefined;
            return {
                zone: r.str(o, "zone", `hosts.aws.subnets[${i}].zone`, "the subnet's availability zone, e.g. eu-west-1a") ?? "",
                subnetId:
                    r.str(o, "subnetId", `hosts.aws.subnets[${i}].subnetId`, "a subnet id such as subnet-0abc", {
                        pattern: /^subnet-[0-9a-f]+$/,
                    }) ?? "",
            };
        });
        const zones = new Set(subnets.map((s) => s.zone));
        if (subnets.length > 0 && zones.size < replicas && !cluster.allowZoneSharing) {
            r.problem(
                "hosts.aws.subnets",
                `${zones.size} zones`,
                `${replicas} replicas need ${replicas} availability zones so one zone's loss costs one replica; add subnets in more zones or set cluster.allowZoneSharing: true to accept the risk`,
            );
        }
        const vpcCidr = r.str(a, "vpcCidr", "hosts.aws.vpcCidr", "the VPC's CIDR, e.g. 10.0.0.0/16") ?? "";
        if (vpcCidr) vpcCidrs = r.cidrs({ v: [vpcCidr] }, "v", "hosts.aws.vpcCidr");
        hosts = {
            mode: "aws",
            aws: {
                region: r.str(a, "region", "hosts.aws.region", "an AWS region", { required: false, pattern: /^[a-z]{2}(-[a-z]+)+-\d$/ }),
                vpcId: r.str(a, "vpcId", "hosts.aws.vpcId", "a VPC id such as vpc-0abc", { pattern: /^vpc-[0-9a-f]+$/ }) ?? "",
                vpcCidr,
                subnets,
                amiId:
                    r.str(a, "amiId", "hosts.aws.amiId", "an AMI id such as ami-0abc (Ubuntu 22.04/24.04 or RHEL 8/9)", {
                        pattern: /^ami-[0-9a-f]+$/,
                    }) ?? "",
                instanceType: r.str(a, "instanceType", "hosts.aws.instanceType", "e.g. m5.xlarge", {
                    required: false,
                    pattern: /^[a-z0-9]+\.[a-z0-9]+$/,
                }),
                rootVolumeGb: r.int(a, "rootVolumeGb", "hosts.aws.rootVolumeGb", undefined, 20, 16384),
                sshUser:
                    r.str(a, "sshUser", "hosts.aws.sshUser", "the AMI's login user (a-z 0-9 _ -, at most 32), e.g. ubuntu", {
                        pattern: USER,
                    }) ?? "",
                sshPublicKey:
                    r.str(a, "sshPublicKey", "hosts.aws.sshPublicKey", "the public half of sshPrivateKey", { pattern: HOST_KEY }) ?? "",
                sshCidrs: r.cidrs(a, "sshCidrs", "hosts.aws.sshCidrs"),
                clientCidrs: r.cidrs(a, "clientCidrs", "hosts.aws.clientCidrs"),
                connectVia: r.oneOf(a, "connectVia", "hosts.aws.connectVia", ["public", "private"] as const, "public") ?? "public",
                loadBalancerScheme:
                    r.oneOf(
                        a,
                        "loadBalancerScheme",
                        "hosts.aws.loadBalancerScheme",
                        ["internet-facing", "internal"] as const,
                        "internal",
                    ) ?? "internal",
                engine: (() => {
                    const e = r.obj(a, "engine", "hosts.aws.engine");
                    return {
                        installScriptUrl:
                            r.str(
                                e,
                                "installScriptUrl",
                                "hosts.aws.engine.installScriptUrl",
                                "the engine install script, e.g. https://get.mirantis.com/",
                                { pattern: /^https:\/\// },
                            ) ?? "",
                        channel: r.str(e, "channel", "hosts.aws.engine.channel", "e.g. stable-23.0", { required: false }),
                        version: r.str(e, "version", "hosts.aws.engine.version", "e.g. 23.0.9", { required: false }),
                    };
                })(),
                swarmManagerAddress:
                    r.str(a, "swarmManagerAddress", "hosts.aws.swarmManagerAddress", "an existing manager's host:2377", {
                        pattern: /^[A-Za-z0-9.-]+:\d+$/,
                    }) ?? "",
            },
        };
        needSecret("swarmJoinToken", "the Swarm worker join token (`docker swarm join-token -q worker` on a manager)");
    }

    // overlay subnet against everything known
    if (cluster.overlaySubnet) {
        const problems = overlaySubnetProblems(cluster.overlaySubnet, { vpcCidrs, hostNetworks, dockerPools: dockerAddressPools });
        if (problems.length) {
            r.problem(
                "cluster.overlaySubnet",
                cluster.overlaySubnet,
                `${problems.join("; ")}. Pick a private CIDR used nowhere else (set cluster.dockerAddressPools if your hosts use non-default pools)`,
            );
        }
    }

    // storage
    const s = r.obj(raw, "storage", "storage");
    r.known(s, "storage", ["mode", "aws", "s3"]);
    const smode = r.oneOf(s, "mode", "storage.mode", ["aws", "s3"] as const);
    let storage: StorageConfig = { mode: "aws", aws: { noncurrentVersionExpirationDays: 30, forceDestroy: false } };
    if (smode === "aws") {
        const a = r.obj(s, "aws", "storage.aws", false);
        r.known(a, "storage.aws", ["noncurrentVersionExpirationDays", "replicationRegion", "forceDestroy"]);
        storage = {
            mode: "aws",
            aws: {
                noncurrentVersionExpirationDays:
                    r.int(a, "noncurrentVersionExpirationDays", "storage.aws.noncurrentVersionExpirationDays", 30, 1, 3650) ?? 30,
                replicationRegion: r.str(a, "replicationRegion", "storage.aws.replicationRegion", "a second AWS region for the DR copy", {
                    required: false,
                    pattern: /^[a-z]{2}(-[a-z]+)+-\d$/,
                }),
                forceDestroy: r.bool(a, "forceDestroy", "storage.aws.forceDestroy", false),
            },
        };
        if (storage.aws.forceDestroy && cluster.production) {
            r.problem(
                "storage.aws.forceDestroy",
                true,
                "would delete every image layer on `pulumi destroy`; refused for a production cluster",
            );
        }
    } else if (smode === "s3") {
        const o = r.obj(s, "s3", "storage.s3");
        r.known(o, "storage.s3", ["region", "bucket", "regionEndpoint", "secure", "forcePathStyle", "rootDirectory"]);
        const endpoint = r.str(o, "regionEndpoint", "storage.s3.regionEndpoint", "http(s)://host:port of the S3-compatible server", {
            required: false,
            pattern: /^https?:\/\/[^\s/]+\/?$/,
        });
        const secure = r.bool(o, "secure", "storage.s3.secure", !(endpoint ?? "").startsWith("http://"));
        if (!secure && cluster.production) {
            r.problem("storage.s3.secure", false, "sends layers and keys in clear text; refused for a production cluster (use https)");
        }
        storage = {
            mode: "s3",
            s3: {
                region: r.str(o, "region", "storage.s3.region", 'any region name the server accepts, e.g. "us-east-1"') ?? "",
                bucket:
                    r.str(o, "bucket", "storage.s3.bucket", "an existing bucket (3-63 of a-z 0-9 . -)", {
                        pattern: /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
                    }) ?? "",
                regionEndpoint: endpoint,
                secure,
                forcePathStyle: r.bool(o, "forcePathStyle", "storage.s3.forcePathStyle", endpoint !== undefined),
                rootDirectory: r.str(o, "rootDirectory", "storage.s3.rootDirectory", "a prefix inside the bucket", { required: false }),
            },
        };
        needSecret("storageAccessKey", "the S3 access key for storage.mode s3");
        needSecret("storageSecretKey", "the S3 secret key for storage.mode s3");
    }
    if (hosts.mode === "existing" && storage.mode === "aws") {
        r.problem(
            "storage.mode",
            "aws",
            "an AWS layer bucket needs AWS hosts (their instance role reads it); with existing hosts use storage.mode s3 with keys",
        );
    }

    // backup (optional)
    let backup: BackupConfig | undefined;
    const b = r.obj(raw, "backup", "backup", false);
    if (b) {
        r.known(b, "backup", [
            "mode",
            "bucket",
            "prefix",
            "agentImage",
            "agentImageReplicationRegion",
            "recipients",
            "lockMode",
            "retentionDays",
            "trigger",
            "s3",
            "schedule",
            "schedulePaths",
            "scheduler",
            "swarm",
            "ucp",
        ]);
        const bmode = r.oneOf(b, "mode", "backup.mode", ["aws", "s3"] as const) ?? "s3";
        const recipients = (r.list(b, "recipients", "backup.recipients", false) ?? []).filter((x, i) => {
            const ok = typeof x === "string" && /^age1[0-9a-z]{20,}$/.test(x);
            if (!ok) r.problem(`backup.recipients[${i}]`, x, "must be an age public key (age1...); make one with `age-keygen`");
            return ok;
        }) as string[];
        backup = {
            mode: bmode,
            bucket: r.str(b, "bucket", "backup.bucket", "the backup bucket (with Object Lock)", {
                required: bmode === "s3",
                pattern: /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
            }),
            prefix:
                r.str(
                    b,
                    "prefix",
                    "backup.prefix",
                    "a key prefix without leading or trailing slash, of segments of A-Z a-z 0-9 . _ - each starting with a letter, digit or _, such as dtr or backups/dtr",
                    { required: false, pattern: BACKUP_PREFIX },
                ) ?? "",
            // With AWS hosts the stack can build and push the agent itself (components/backup/agent-image.ts).
            agentImage: r.str(
                b,
                "agentImage",
                "backup.agentImage",
                "the dtr-ha-backup image reference the hosts can pull (repository[:tag][@digest], lower-case path), e.g. registry.example.com/dtr-ha-backup@sha256:<64 hex>",
                { pattern: IMAGE_REFERENCE, required: hosts.mode !== "aws" },
            ),
            agentImageReplicationRegion: r.str(
                b,
                "agentImageReplicationRegion",
                "backup.agentImageReplicationRegion",
                "a second AWS region the agent image's ECR repository replicates to (AWS hosts only; default storage.aws.replicationRegion)",
                { required: false, pattern: /^[a-z]{2}(-[a-z]+)+-\d$/ },
            ),
            recipients,
            lockMode: r.oneOf(b, "lockMode", "backup.lockMode", ["GOVERNANCE", "COMPLIANCE"] as const, "COMPLIANCE") ?? "COMPLIANCE",
            retentionDays: r.int(b, "retentionDays", "backup.retentionDays", 35, 1, 36500) ?? 35,
            trigger: r.str(b, "trigger", "backup.trigger", "any string; change it to take a new backup", { required: false }),
        };
        if (backup.agentImage !== undefined) {
            const own = [
                cluster.externalUrl,
                ...(hosts.mode === "existing" ? hosts.existing.flatMap((h) => [h.address, h.privateAddress ?? ""]) : []),
            ];
            for (const fix of agentImageProblems(backup.agentImage, {
                key: "backup.agentImage",
                production: cluster.production,
                dtrAddresses: own,
            }))
                r.problem("backup.agentImage", backup.agentImage, fix);
        }
        if (backup.agentImageReplicationRegion !== undefined && (hosts.mode !== "aws" || backup.agentImage !== undefined))
            r.problem(
                "backup.agentImageReplicationRegion",
                backup.agentImageReplicationRegion,
                "is for the agent image this stack builds into ECR (AWS hosts without backup.agentImage); remove it, or replicate your own registry",
            );
        if (b.schedule !== undefined) {
            try {
                resolveSchedule(b.schedule as ScheduleSpec, "backup.schedule");
                backup.schedule = b.schedule as ScheduleSpec;
            } catch (e) {
                r.problems.push(`${NS}:${(e as Error).message}`);
            }
            const paths = r.obj(b, "schedulePaths", "backup.schedulePaths", false);
            if (paths) {
                r.known(paths, "backup.schedulePaths", ["installDir", "unitDir", "cronDir", "envDir", "logFile"]);
                try {
                    resolvePaths("host", paths as Partial<SchedulePaths>);
                    backup.schedulePaths = paths as Partial<SchedulePaths>;
                } catch (e) {
                    r.problems.push(`${NS}:${(e as Error).message}`);
                }
            }
            backup.scheduler = r.oneOf(b, "scheduler", "backup.scheduler", ["auto", "systemd", "cron"] as const, "auto") ?? "auto";
            // A scheduler forced to one kind must be able to say the schedule (auto checks per host at install time).
            if (backup.schedule) {
                const resolved = resolveSchedule(backup.schedule, "backup.schedule");
                if (backup.scheduler === "cron" && !resolved.cron)
                    r.problem(
                        "backup.schedule.onCalendar",
                        resolved.onCalendar,
                        "has no cron form (cron has no time zone: Debian and Ubuntu cron ignore CRON_TZ; nor years, seconds or ~ days), " +
                            "and backup.scheduler is cron: drop the time zone (cron runs in the host's local time), give backup.schedule.cron, " +
                            "or set backup.scheduler: auto or systemd",
                    );
                if (backup.scheduler === "systemd" && !resolved.onCalendar)
                    r.problem(
                        "backup.schedule.cron",
                        resolved.cron,
                        "has no systemd OnCalendar form (cron ORs day of month and day of week) and backup.scheduler is systemd: " +
                            "give backup.schedule.onCalendar, or set backup.scheduler: auto or cron",
                    );
            }
        }
        const sw = r.obj(b, "swarm", "backup.swarm", false);
        if (sw) {
            r.known(sw, "backup.swarm", ["address", "port", "user", "hostKey", "engineStop", "engineStart", "dataRoot"]);
            const stop = r.str(sw, "engineStop", "backup.swarm.engineStop", "the command that stops the engine", { required: false });
            const start = r.str(sw, "engineStart", "backup.swarm.engineStart", "the command that starts the engine", { required: false });
            if ((stop === undefined) !== (start === undefined))
                r.problem(
                    "backup.swarm.engineStop",
                    stop,
                    "give engineStop and engineStart together (default: systemctl stop/start docker)",
                );
            backup.swarm = {
                ...readManager(r, sw, "backup.swarm"),
                engine: stop && start ? { stop, start } : undefined,
                dataRoot: r.str(
                    sw,
                    "dataRoot",
                    "backup.swarm.dataRoot",
                    "the engine's absolute data root: segments of A-Z a-z 0-9 . _ - each starting with a letter, digit or _, no trailing slash, at most 255 characters, e.g. /var/lib/docker",
                    { required: false, pattern: /^(?=.{2,255}$)(\/[A-Za-z0-9_][A-Za-z0-9._-]*)+$/ },
                ),
            };
        }
        const ucpB = r.obj(b, "ucp", "backup.ucp", false);
        if (ucpB) {
            r.known(ucpB, "backup.ucp", ["address", "port", "user", "hostKey", "image", "includeLogs"]);
            const im = r.obj(ucpB, "image", "backup.ucp.image");
            backup.ucp = {
                ...readManager(r, ucpB, "backup.ucp"),
                image: {
                    // The same rules the UcpBackup component applies when it builds the command (checked here too, so
                    // a bad value is reported in the one pass instead of during `up`).
                    repository:
                        r.str(
                            im,
                            "repository",
                            "backup.ucp.image.repository",
                            "an image repository (lower-case, at most 255 characters), e.g. mirantis/ucp",
                            {
                                pattern: /^(?=.{1,255}$)[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/,
                            },
                        ) ?? "",
                    version:
                        r.str(im, "version", "backup.ucp.image.version", "the UCP version running, e.g. 3.2.6", {
                            pattern: /^[0-9]+\.[0-9]+\.[0-9]+([.-][A-Za-z0-9.-]+)?$/,
                        }) ?? "",
                },
                includeLogs: r.bool(ucpB, "includeLogs", "backup.ucp.includeLogs", false),
            };
        }
        // Backups hold keys: encryption is required in production (and for UCP backups, which the agent encrypts
        // because they are taken without a passphrase). The operator keeps the age secret key, off the hosts.
        if (recipients.length === 0 && (cluster.production || backup.ucp)) {
            const holds = [
                "DTR backups hold DTR's TLS private key and cluster secret",
                ...(backup.swarm ? ["Swarm backups hold the swarm's node keys and raft log with every swarm secret"] : []),
                ...(backup.ucp ? ["UCP backups are taken without a passphrase and encrypted only by the agent"] : []),
            ];
            r.problem(
                "backup.recipients",
                b.recipients,
                `${cluster.production ? "a production cluster's backups must be encrypted" : "UCP backups must be encrypted"}: ` +
                    `${holds.join("; ")}. Make a key pair with \`age-keygen -o dtr-ha-backup.key\`, keep that file off the hosts ` +
                    `(restores need it, as the secret dtr-ha:ageIdentity) and list its public key: backup.recipients: [age1...]`,
            );
        }
        if (bmode === "s3") {
            const o = r.obj(b, "s3", "backup.s3");
            r.known(o, "backup.s3", ["region", "endpoint", "forcePathStyle"]);
            const endpoint = r.str(o, "endpoint", "backup.s3.endpoint", "http(s)://host:port of the S3-compatible server", {
                required: false,
                pattern: /^https?:\/\/[^\s/]+\/?$/,
            });
            backup.s3 = {
                region: r.str(o, "region", "backup.s3.region", 'e.g. "us-east-1"') ?? "",
                endpoint,
                forcePathStyle: r.bool(o, "forcePathStyle", "backup.s3.forcePathStyle", endpoint !== undefined),
            };
            if (endpoint?.startsWith("http://") && cluster.production) {
                r.problem(
                    "backup.s3.endpoint",
                    endpoint,
                    "sends backups and keys in clear text; refused for a production cluster (use https)",
                );
            }
            needSecret("backupAccessKey", "the S3 access key for backup.mode s3");
            needSecret("backupSecretKey", "the S3 secret key for backup.mode s3");
        } else if (hosts.mode !== "aws") {
            r.problem(
                "backup.mode",
                "aws",
                "a backup bucket created here is reached through the AWS hosts' instance role; with existing hosts use backup.mode s3",
            );
        }
    }

    // restore (optional): the first replica comes from a backup instead of an install
    let restore: RestoreConfig | undefined;
    const rs = r.obj(raw, "restore", "restore", false);
    if (rs) {
        r.known(rs, "restore", ["manifestKey", "destroyExisting", "replicaId", "host"]);
        const manifestKey = r.str(rs, "manifestKey", "restore.manifestKey", "the backup's manifest key (`npm run backups -- list`)");
        // The key reaches the restore scripts and the agent: it must be exactly what the agent writes, a DTR backup,
        // and one of this cluster's (rebuild copies cluster.name from the source stack, so its keys always match).
        const keyProblem = manifestKey === undefined ? undefined : manifestKeyProblem(manifestKey, { cluster: cluster.name, kind: "dtr" });
        if (keyProblem) r.problem("restore.manifestKey", manifestKey, keyProblem);
        // DTR restores with "the id of the replica you backed up" (docker/docs ee/admin/restore/restore-dtr.md).
        const replicaId = r.str(
            rs,
            "replicaId",
            "restore.replicaId",
            "the id of the replica the backup was taken from, 12 lower-case hex as its manifest records it (npm run backups -- list shows it as 'replica <id>'; npm run rebuild sets it)",
            { pattern: /^[0-9a-f]{12}$/ },
        );
        const restoredOn = r.str(rs, "host", "restore.host", "the name of the host the restore ran on (default: the first host)", {
            required: false,
            pattern: NAME,
        });
        restore = {
            manifestKey: keyProblem ? "" : (manifestKey ?? ""),
            destroyExisting: r.bool(rs, "destroyExisting", "restore.destroyExisting", false),
            replicaId: replicaId ?? "",
            ...(restoredOn !== undefined ? { host: restoredOn } : {}),
        };
        if (!backup) r.problem("restore", rs, "needs the backup section (bucket, agent image, S3 access) to read the backup from");
    }

    if (r.problems.length) throw new ConfigError(r.problems);
    return { cluster, image, ucp, hosts, storage, backup, restore };
}

/**
 * The replica ids a configuration gives its hosts, in host order, as the stack program does (components/cluster/
 * topology.ts): derived from cluster and host names, and in restore mode the restore host with the backed-up replica's id.
 * For the operator tools, which must address the same replicas as the program.
 */
export function configReplicaIds(c: StackConfig): string[] {
    const names =
        c.hosts.mode === "existing"
            ? c.hosts.existing.map((h) => h.name)
            : Array.from({ length: c.cluster.replicas }, (_, i) => `replica-${i + 1}`); // AwsHosts' names
    const ids = replicaIds(c.cluster.name, names);
    return c.restore ? restoredReplicaIds(c.cluster.name, names, ids, { replicaId: c.restore.replicaId, host: c.restore.host }) : ids;
}

// The DTR CLI flag contract (docs.mirantis.com/msr/2.9/cli-ref, docker/docs reference/dtr/2.7/cli).
import { X509Certificate } from "node:crypto";
import { UserError } from "./log";

export type FlagKind = "string" | "bool";
export interface FlagSpec {
    name: string;
    kind: FlagKind;
    env?: string;
    help: string;
    /** Other names of the same flag (emergency-repair's `--y, yes`). */
    aliases?: string[];
}

const common: FlagSpec[] = [
    { name: "ucp-url", kind: "string", env: "UCP_URL", help: "UCP URL (https://host[:port])" },
    { name: "ucp-username", kind: "string", env: "UCP_USERNAME", help: "UCP admin username" },
    { name: "ucp-password", kind: "string", env: "UCP_PASSWORD", help: "UCP admin password (prefer env UCP_PASSWORD)" },
    { name: "ucp-ca", kind: "string", env: "UCP_CA", help: "PEM of UCP's CA" },
    { name: "ucp-insecure-tls", kind: "bool", env: "UCP_INSECURE_TLS", help: "do not verify UCP's certificate" },
    { name: "debug", kind: "bool", env: "DEBUG", help: "debug logging" },
    // Every 2.7 reference page lists it (docker/docs reference/dtr/2.7/cli/*.md): prints this command's flags.
    { name: "help-extended", kind: "bool", env: "DTR_EXTENDED_HELP", help: "print this command's flags" },
];
const s = (name: string, help: string, env?: string): FlagSpec => ({ name, kind: "string", help, env });
const b = (name: string, help: string, env?: string): FlagSpec => ({ name, kind: "bool", help, env });

// Flag and environment names as docker/docs reference/dtr/2.7/cli/<command>.md lists them, command by command.
const ucpNode = s("ucp-node", "node (engine name) to run the replica on", "UCP_NODE");
const existing = (help: string) => s("existing-replica-id", help, "DTR_REPLICA_ID");
// install/join/restore: --replica-id is $DTR_INSTALL_REPLICA_ID (the new replica); $DTR_REPLICA_ID is --existing-replica-id.
const newReplicaId = s("replica-id", "12 hex chars; random when empty", "DTR_INSTALL_REPLICA_ID");
const httpPort = s("replica-http-port", "host port for HTTP (80)", "REPLICA_HTTP_PORT");
const httpsPort = s("replica-https-port", "host port for HTTPS (443)", "REPLICA_HTTPS_PORT");
const externalUrl = s("dtr-external-url", "https://fqdn[:port] users reach DTR at", "DTR_EXTERNAL_URL");
const tls = [
    s("dtr-ca", "PEM CA of --dtr-cert", "DTR_CA"),
    s("dtr-cert", "PEM TLS certificate", "DTR_CERT"),
    s("dtr-key", "PEM TLS key", "DTR_KEY"),
];
const storageVolume = s("dtr-storage-volume", "volume name or absolute host path for image storage", "DTR_STORAGE_VOLUME");
const nfsUrl = s("nfs-storage-url", "nfs://host/path for image storage", "NFS_STORAGE_URL");
const nfsTuning = [
    b("async-nfs", "async NFS volume options (needs --nfs-storage-url; accepted, dtr-sim serves no NFS)", "ASYNC_NFS"),
    s("nfs-options", "NFS volume options verbatim (needs --nfs-storage-url; accepted, dtr-sim serves no NFS)", "NFS_OPTIONS"),
];
const clientCert = [
    s("client-cert-auth-ca", "PEM CAs for TLS client certificate authentication (not implemented by dtr-sim)", "CLIENT_CA"),
    b(
        "enable-client-cert-auth",
        "TLS client certificate authentication (not implemented by dtr-sim: refused when true)",
        "ENABLE_CLIENT_CERT_AUTH",
    ),
];
const overlaySubnet = s("overlay-subnet", "subnet of the dtr-ol overlay network", "DTR_OVERLAY_SUBNET");
// Accepted and not used by dtr-sim: it ships no logs, uses no proxy, has no RethinkDB and no pprof.
const ignored = [
    s("log-host", "syslog host (accepted, not used by dtr-sim)", "LOG_HOST"),
    s("log-protocol", "tcp, udp or internal (accepted, not used)", "LOG_PROTOCOL"),
    s("log-level", "debug, info, warn, error or fatal (accepted)", "LOG_LEVEL"),
    s("http-proxy", "accepted, not used", "DTR_HTTP_PROXY"),
    s("https-proxy", "accepted, not used", "DTR_HTTPS_PROXY"),
    s("no-proxy", "accepted, not used", "DTR_NO_PROXY"),
    s("replica-rethinkdb-cache-mb", "accepted, not used (no RethinkDB)", "RETHINKDB_CACHE_MB"),
    b("enable-pprof", "accepted, not used", "DTR_PPROF"),
];

export interface CommandSpec {
    flags: FlagSpec[];
    required: string[];
    help: string;
}

export const commands: Record<string, CommandSpec> = {
    install: {
        help: "Install the first replica",
        flags: [
            ...common,
            ucpNode,
            newReplicaId,
            httpPort,
            httpsPort,
            externalUrl,
            ...tls,
            storageVolume,
            nfsUrl,
            ...nfsTuning,
            ...clientCert,
            overlaySubnet,
            ...ignored,
        ],
        required: ["ucp-url", "ucp-username", "ucp-password", "ucp-node"],
    },
    join: {
        help: "Add a replica to an existing cluster (one at a time)",
        flags: [
            ...common,
            s("ucp-node", "node to run the new replica on", "UCP_NODE"),
            existing("a healthy replica to copy the metadata from"),
            newReplicaId,
            httpPort,
            httpsPort,
            b("skip-network-test", "skip the overlay test", "DTR_SKIP_NETWORK_TEST"),
            b("unsafe-join", "join even when the cluster is unhealthy (never in production)", "DTR_UNSAFE_JOIN"),
            s("replica-rethinkdb-cache-mb", "accepted, not used", "RETHINKDB_CACHE_MB"),
        ],
        required: ["ucp-url", "ucp-username", "ucp-password", "ucp-node", "existing-replica-id"],
    },
    backup: {
        help: "Stream a metadata backup (tar) to stdout",
        flags: [
            ...common,
            existing("replica to back up from"),
            b("offline-backup", "accepted; dtr-sim snapshots atomically anyway", "DTR_OFFLINE_BACKUP"),
        ],
        required: ["ucp-url", "ucp-username", "ucp-password", "existing-replica-id"],
    },
    // reference/dtr/2.7/cli/restore.md (and 2.6's): no --overlay-subnet, unlike install and emergency-repair.
    restore: {
        help: "Create a replica from a backup read on stdin",
        flags: [
            ...common,
            s("ucp-node", "node to restore onto", "UCP_NODE"),
            { ...newReplicaId, help: "id of the restored replica (12 hex chars)" },
            httpPort,
            httpsPort,
            externalUrl,
            ...tls,
            b("dtr-use-default-storage", "use the storage configured at backup time", "DTR_DEFAULT_STORAGE"),
            storageVolume,
            nfsUrl,
            ...ignored,
        ],
        required: ["ucp-url", "ucp-username", "ucp-password", "ucp-node"],
    },
    destroy: {
        help: "Force-remove one replica's containers and volumes (tells no other replica)",
        flags: [...common, s("replica-id", "replica to destroy", "DTR_DESTROY_REPLICA_ID")],
        required: ["ucp-url", "ucp-username", "ucp-password", "replica-id"],
    },
    // docker/docs reference/dtr/2.7/cli/remove.md: exactly these flags (no --force-remove: DTR 2.1's
    // reference had it, datacenter/dtr/2.1/reference/cli/remove.md; 2.6's and 2.7's do not);
    // --existing-replica-id is the replica the command talks to ($DTR_REPLICA_ID), --replica-ids the ones removed,
    // --replica-id ($DTR_REMOVE_REPLICA_ID) the DEPRECATED alias of --replica-ids, i.e. a replica to REMOVE.
    remove: {
        help: "Remove replicas cleanly from the cluster (all other replicas must be healthy)",
        flags: [
            ...common,
            existing("a healthy replica that stays; the command talks to it"),
            s("replica-ids", "comma-separated replicas to remove", "DTR_REMOVE_REPLICA_IDS"),
            s("replica-id", "DEPRECATED alias for --replica-ids (a replica to remove)", "DTR_REMOVE_REPLICA_ID"),
        ],
        required: ["ucp-url", "ucp-username", "ucp-password", "existing-replica-id"],
    },
    upgrade: {
        help: "Replace every replica's containers with this image's version, keeping metadata",
        flags: [...common, existing("a healthy replica")],
        required: ["ucp-url", "ucp-username", "ucp-password", "existing-replica-id"],
    },
    reconfigure: {
        help: "Change settings (storage at least) of a running cluster",
        flags: [
            ...common,
            existing("a healthy replica"),
            externalUrl,
            storageVolume,
            nfsUrl,
            b("storage-migrated", "the new storage already holds the old content", "STORAGE_MIGRATED"),
            ...nfsTuning,
            ...clientCert,
            ...tls.map((f) => ({ ...f, help: `${f.help} (not implemented by dtr-sim's reconfigure: refused)` })),
            { ...httpPort, help: "not implemented by dtr-sim's reconfigure: refused" },
            { ...httpsPort, help: "not implemented by dtr-sim's reconfigure: refused" },
            ...ignored,
        ],
        required: ["ucp-url", "ucp-username", "ucp-password", "existing-replica-id"],
    },
    // docker/docs reference/dtr/2.7/cli/emergency-repair.md: --existing-replica-id, --overlay-subnet, --prune ($PRUNE),
    // `--y, yes` ($YES, "Answer yes to any prompts") and the common flags.
    "emergency-repair": {
        help: "Recover a cluster that lost quorum: the chosen replica becomes the only one",
        flags: [
            ...common,
            existing("the replica to repair from; it becomes the only member"),
            { ...overlaySubnet, help: "subnet of dtr-ol (accepted; the network is kept)" },
            b("prune", "delete this engine's containers/volumes of the dropped replicas", "PRUNE"),
            { ...b("yes", "answer yes to any prompts (needed without a terminal)", "YES"), aliases: ["y"] },
        ],
        required: ["ucp-url", "ucp-username", "ucp-password", "existing-replica-id"],
    },
};

/**
 * Documented values (reference/dtr/2.7/cli/{install,restore,reconfigure}.md): `--log-protocol` "The supported values
 * are tcp, udp, or internal"; `--log-level` "debug, info, warn, error, or fatal" (default INFO). What DTR prints for
 * another value is not documented; dtr-sim refuses it before changing anything.
 */
export function checkDocumentedValues(flags: Flags): void {
    const proto = str(flags, "log-protocol");
    if (proto !== undefined && !["tcp", "udp", "internal"].includes(proto)) {
        throw new UserError(`--log-protocol '${proto}' is not one of DTR's documented values tcp, udp, internal`);
    }
    const level = str(flags, "log-level");
    if (level !== undefined && !["debug", "info", "warn", "error", "fatal"].includes(level.toLowerCase())) {
        throw new UserError(`--log-level '${level}' is not one of DTR's documented levels debug, info, warn, error, fatal`);
    }
    if ((bool(flags, "async-nfs") || str(flags, "nfs-options")) && !str(flags, "nfs-storage-url")) {
        throw new UserError(
            `--async-nfs and --nfs-options need --nfs-storage-url: "The NFS configuration must be set with --nfs-storage-url explicitly to use this option"`,
        );
    }
    if (bool(flags, "enable-client-cert-auth")) {
        throw new UserError(
            `--enable-client-cert-auth: dtr-sim does not implement TLS client certificate authentication (DTR does; it also needs --client-cert-auth-ca)`,
        );
    }
}

export type Flags = Record<string, string | boolean | undefined>;

export interface ParseOptions {
    env: Record<string, string | undefined>;
    stdinIsTTY: boolean;
}

/** What real DTR prints when it tries to prompt for a missing flag and stdin has nothing: EOF. */
export function missingFlagError(cmd: string, flag: string, spec: FlagSpec | undefined, stdinIsTTY: boolean): UserError {
    const envHint = spec?.env ? ` (or env ${spec.env})` : "";
    if (stdinIsTTY) {
        return new UserError(`--${flag} is required for '${cmd}'. dtr-sim does not prompt (real DTR would): pass --${flag}${envHint}.`);
    }
    return new UserError(
        `EOF unexpected end of file\n` +
            `dtr-sim hint: --${flag} was not given for '${cmd}'; real DTR then tries to prompt for it on stdin, ` +
            `which has no terminal, and fails with the EOF above. Pass --${flag}${envHint}.`,
    );
}

/**
 * DTR's CLI refuses a flag its command does not define (DTR-FACTS.md, reviews/dtr-contract-check.md: "unknown flags
 * are refused"). Its exact text is not in DTR's docs; the first line is what Go's flag package prints for one
 * (DTR's bootstrapper is a Go program; the reference's `--y, yes` naming is urfave/cli's), the rest is dtr-sim's hint.
 */
export function unknownFlagError(cmd: string, name: string, spec: CommandSpec): UserError {
    return new UserError(
        `flag provided but not defined: -${name}\n` +
            `dtr-sim hint: DTR 2.7's reference (docker/docs reference/dtr/2.7/cli/${cmd}.md) has no --${name} for '${cmd}'. ` +
            `Its flags: ${spec.flags.map((x) => ["--" + x.name, ...(x.aliases ?? []).map((a) => "--" + a)].join("/")).join(" ")}`,
    );
}

/**
 * Go's strconv.ParseBool, which Go's flag package uses for `-flag=x` and urfave/cli (the `--y, yes` naming of the
 * reference is urfave's) for a boolean flag's environment variable: golang/go src/flag/flag.go ("Boolean flags may
 * be: 1, 0, t, f, T, F, true, false, TRUE, FALSE, True, False"). Anything else is not a boolean.
 */
export function parseGoBool(v: string): boolean | undefined {
    if (["1", "t", "T", "true", "TRUE", "True"].includes(v)) return true;
    if (["0", "f", "F", "false", "FALSE", "False"].includes(v)) return false;
    return undefined;
}

export interface Scanned {
    flags: Flags;
    /** `--help`/`-h`: urfave/cli gives every command a `help, h` flag. */
    help: boolean;
}

/**
 * The command line as Go's flag package reads it (golang/go src/flag/flag.go, "Command line flag syntax"):
 * `-flag`, `-flag=x`, `-flag x` (non-boolean flags only); "One or two minus signs may be used; they are
 * equivalent". A string flag's value is the next argument whatever it starts with, so the documented
 * `--ucp-ca "$(cat ca.pem)"` (every reference/dtr/2.7/cli/*.md page) works although a PEM starts with `-----BEGIN`.
 * A boolean flag takes a value only as `-flag=x`. Error texts are Go's, plus a dtr-sim hint where useful.
 */
export function scanFlags(cmd: string, argv: string[]): Scanned {
    const spec = commands[cmd];
    if (!spec) {
        throw new UserError(`unknown command '${cmd}'. Commands: ${Object.keys(commands).join(", ")}`);
    }
    const byName = new Map(spec.flags.map((f) => [f.name, f]));
    for (const f of spec.flags) for (const a of f.aliases ?? []) byName.set(a, f);
    const out: Flags = {};
    let help = false;
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === "--") {
            // Go: "--" ends the flags; what follows are arguments, and DTR's commands take none.
            if (i + 1 < argv.length) throw unexpectedArgument(cmd, argv[i + 1]);
            break;
        }
        if (arg.length < 2 || arg[0] !== "-") throw unexpectedArgument(cmd, arg);
        let name = arg.slice(arg[1] === "-" ? 2 : 1);
        if (name === "" || name[0] === "-" || name[0] === "=") throw new UserError(`bad flag syntax: ${arg}`);
        let value: string | undefined;
        const eq = name.indexOf("=");
        if (eq > 0) {
            value = name.slice(eq + 1);
            name = name.slice(0, eq);
        }
        if (name === "help" || name === "h") {
            help = true;
            continue;
        }
        const f = byName.get(name);
        if (!f) throw unknownFlagError(cmd, name, spec);
        if (f.kind === "bool") {
            const v = value ?? "true";
            const b = parseGoBool(v);
            if (b === undefined) {
                throw new UserError(
                    `invalid boolean value "${v}" for -${name}: parse error\n` +
                        `dtr-sim hint: booleans are 1, 0, t, f, T, F, true, false, TRUE, FALSE, True, False, given as --${name}=<value>`,
                );
            }
            out[f.name] = b;
        } else {
            if (value === undefined) {
                if (i + 1 >= argv.length) {
                    throw new UserError(`flag needs an argument: -${name}\ndtr-sim hint: --${name} <value> or --${name}=<value>`);
                }
                value = argv[++i];
            }
            out[f.name] = value;
        }
    }
    return { flags: out, help };
}

function unexpectedArgument(cmd: string, arg: string): UserError {
    return new UserError(`unexpected argument '${arg}' for '${cmd}': DTR's commands take only flags (--name value or --name=value)`);
}

export function parseFlags(cmd: string, argv: string[], opts: ParseOptions): Flags {
    const { flags: out } = scanFlags(cmd, argv);
    const spec = commands[cmd];
    // Environment fills flags not given on the command line (how secrets should arrive). A boolean's variable is
    // read as urfave/cli reads it: empty is false, otherwise strconv.ParseBool or an error.
    for (const f of spec.flags) {
        if (out[f.name] !== undefined || !f.env) continue;
        const v = opts.env[f.env];
        if (v === undefined || v === "") continue;
        if (f.kind === "bool") {
            const b = parseGoBool(v);
            if (b === undefined) {
                throw new UserError(
                    `could not parse ${v} as bool value for flag ${f.name}: strconv.ParseBool: parsing "${v}": invalid syntax\n` +
                        `dtr-sim hint: env ${f.env} takes 1, 0, t, f, T, F, true, false, TRUE, FALSE, True, False`,
                );
            }
            out[f.name] = b;
        } else out[f.name] = v;
    }
    const byName = new Map(spec.flags.map((f) => [f.name, f]));
    for (const r of spec.required) {
        if (out[r] === undefined || out[r] === "") {
            throw missingFlagError(cmd, r, byName.get(r), opts.stdinIsTTY);
        }
    }
    checkDocumentedValues(out);
    return out;
}

/**
 * remove's replicas (docker/docs reference/dtr/2.7/cli/remove.md): `--replica-ids` is "a comma separated list of IDs of
 * replicas to remove", `--replica-id` its DEPRECATED alias (a replica to remove, never the one that stays), and
 * `--existing-replica-id` the replica the command talks to, which stays.
 */
export function removeTargets(flags: Flags, stdinIsTTY: boolean): { existing: string; ids: string[] } {
    const existing = validateReplicaId("existing-replica-id", str(flags, "existing-replica-id") ?? "");
    const list = str(flags, "replica-ids");
    const alias = str(flags, "replica-id");
    // Not documented what DTR does with both; conservative: refuse unless they agree.
    if (list !== undefined && alias !== undefined && list !== alias) {
        throw new UserError(
            `--replica-ids '${list}' and --replica-id '${alias}' (its DEPRECATED alias, env DTR_REMOVE_REPLICA_ID) disagree: pass only --replica-ids`,
        );
    }
    const raw = list ?? alias;
    if (raw === undefined) {
        const spec = commands.remove.flags.find((f) => f.name === "replica-ids");
        throw missingFlagError("remove", "replica-ids", spec, stdinIsTTY);
    }
    const ids = [...new Set(raw.split(",").map((x) => validateReplicaId("replica-ids", x.trim())))];
    if (ids.includes(existing)) {
        throw new UserError(
            `--existing-replica-id ${existing} is also among the replicas to remove (${ids.join(",")}): ` +
                `the command talks to --existing-replica-id, which must be a healthy replica that stays`,
        );
    }
    return { existing, ids };
}

/**
 * emergency-repair asks for confirmation unless `--yes` ("Answer yes to any prompts", $YES; docker/docs
 * reference/dtr/2.7/cli/emergency-repair.md). Without a terminal DTR's prompt cannot be answered; dtr-sim never
 * prompts, so it refuses before changing anything, with or without a terminal.
 */
export function requireConfirmation(cmd: string, flags: Flags, stdinIsTTY: boolean): void {
    if (bool(flags, "yes")) return;
    const why = stdinIsTTY
        ? `dtr-sim does not prompt (real DTR would ask on the terminal)`
        : `there is no terminal to answer DTR's prompt on (docker run without -t)`;
    throw new UserError(`${cmd}: this command needs confirmation; pass --yes (or env YES=true): ${why}. Nothing was changed.`);
}

export function str(flags: Flags, name: string): string | undefined {
    const v = flags[name];
    return typeof v === "string" && v !== "" ? v : undefined;
}

export function bool(flags: Flags, name: string): boolean {
    return flags[name] === true;
}

const hex12 = /^[0-9a-f]{12}$/;
export function validateReplicaId(flag: string, v: string): string {
    if (!hex12.test(v)) {
        throw new UserError(`--${flag} '${v}' is not a replica id: it must be exactly 12 lowercase hex characters (e.g. 0123456789ab)`);
    }
    return v;
}

export function validatePort(flag: string, v: string | undefined, dflt: number): number {
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < 1 || n > 65535) {
        throw new UserError(`--${flag} '${v}' is not a TCP port: use a number from 1 to 65535`);
    }
    return n;
}

/** Port of an https URL, 443 when none is given. */
export function externalUrlPort(url: string): number {
    let u: URL;
    try {
        u = new URL(url);
    } catch {
        throw new UserError(`--dtr-external-url '${url}' is not a URL: use https://fqdn[:port]`);
    }
    if (u.protocol !== "https:") {
        throw new UserError(`--dtr-external-url '${url}' must use https:// (DTR serves its UI and API over TLS)`);
    }
    if (u.pathname !== "/" && u.pathname !== "") {
        throw new UserError(`--dtr-external-url '${url}' must not have a path: use https://fqdn[:port]`);
    }
    return u.port ? Number(u.port) : 443;
}

/**
 * Real DTR hangs at "Waiting for DTR to start" when these differ (docker/docs#1928); dtr-sim fails fast.
 */
export function checkExternalUrlPort(url: string | undefined, httpsPort: number): void {
    if (!url) return;
    const p = externalUrlPort(url);
    if (p !== httpsPort) {
        throw new UserError(
            `--dtr-external-url '${url}' uses port ${p} but --replica-https-port is ${httpsPort}. ` +
                `Real DTR hangs at "Waiting for DTR to start" in this case (docker/docs#1928); dtr-sim refuses instead. ` +
                `Make them equal (e.g. --replica-https-port ${p}) or put a load balancer that maps ${p} to ${httpsPort} and use its port in the URL consistently.`,
        );
    }
}

export function checkUcpUrl(url: string): void {
    let u: URL;
    try {
        u = new URL(url);
    } catch {
        throw new UserError(`--ucp-url '${url}' is not a URL: use https://ucp-host[:port]`);
    }
    if (u.protocol !== "https:") throw new UserError(`--ucp-url '${url}' must use https://`);
}

export function checkUcpTrust(flags: Flags): void {
    const ca = str(flags, "ucp-ca");
    if (!ca && !bool(flags, "ucp-insecure-tls")) {
        throw new UserError(
            `cannot verify UCP's certificate: pass --ucp-ca "<pem>" (or --ucp-insecure-tls, not for production). ` +
                `(dtr-sim has no UCP to talk to, but enforces the same flags real DTR needs.)`,
        );
    }
    if (ca) checkPemCertificates("ucp-ca", ca);
}

/**
 * `--ucp-ca "$(cat ca.pem)"` (reference/dtr/2.7/cli/*.md): the PEM text itself. A value that holds no parsable
 * certificate could never verify UCP, so real DTR could not connect to UCP with it; dtr-sim, which has no UCP,
 * refuses it up front (its wording is dtr-sim's: DTR's is not documented).
 */
export function checkPemCertificates(flag: string, pem: string): void {
    const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
    if (!blocks.length) {
        throw new UserError(`--${flag} holds no PEM certificate (-----BEGIN CERTIFICATE-----): pass the text, --${flag} "$(cat ca.pem)"`);
    }
    for (const b of blocks) {
        try {
            new X509Certificate(b);
        } catch (e) {
            throw new UserError(`--${flag}: a certificate in it does not parse (${(e as Error).message})`);
        }
    }
}

/** Exactly one storage flag, as restore requires since DTR 2.6.0. */
export function restoreStorageChoice(
    flags: Flags,
): { kind: "default" } | { kind: "volume"; volume: string } | { kind: "nfs"; url: string } {
    const given = [
        bool(flags, "dtr-use-default-storage") ? "--dtr-use-default-storage" : undefined,
        str(flags, "dtr-storage-volume") ? "--dtr-storage-volume" : undefined,
        str(flags, "nfs-storage-url") ? "--nfs-storage-url" : undefined,
    ].filter((x): x is string => !!x);
    if (given.length !== 1) {
        throw new UserError(
            `restore needs exactly one storage flag, got ${given.length ? given.join(" and ") : "none"}: ` +
                `--dtr-use-default-storage (the storage configured at backup time) | --dtr-storage-volume <volume or /path> | --nfs-storage-url nfs://host/path`,
        );
    }
    if (given[0] === "--dtr-use-default-storage") return { kind: "default" };
    if (given[0] === "--dtr-storage-volume") return { kind: "volume", volume: str(flags, "dtr-storage-volume")! };
    return { kind: "nfs", url: checkNfsUrl(str(flags, "nfs-storage-url")!) };
}

export function checkNfsUrl(url: string): string {
    const m = /^nfs:\/\/([^/]+)(\/.*)$/.exec(url);
    if (!m) throw new UserError(`--nfs-storage-url '${url}' must look like nfs://host/path`);
    return url;
}

export function checkStorageVolume(v: string): string {
    if (v.startsWith("/")) return v;
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(v)) {
        throw new UserError(`--dtr-storage-volume '${v}' is neither an absolute path nor a volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]+)`);
    }
    return v;
}

export function usage(): string {
    const lines = ["dtr-sim: a stand-in for DTR (MSR 2.x) for tests and demos, not DTR.", "", "Commands:"];
    for (const [name, c] of Object.entries(commands)) lines.push(`  ${name.padEnd(17)} ${c.help}`);
    lines.push("", "Run with --help after a command for its flags.");
    return lines.join("\n");
}

export function commandUsage(cmd: string): string {
    const c = commands[cmd];
    const lines = [`dtr-sim ${cmd}: ${c.help}`, "", "Flags:"];
    for (const f of c.flags) {
        const req = c.required.includes(f.name) ? " (required)" : "";
        lines.push(`  --${f.name}${f.kind === "string" ? " <value>" : ""}${req}  ${f.help}${f.env ? ` [$${f.env}]` : ""}`);
    }
    return lines.join("\n");
}

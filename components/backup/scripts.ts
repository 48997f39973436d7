/**
 * The host-side backup and restore scripts, as plain functions. A backup streams `dtr backup` (stdout) straight into
 * the backup agent (gzip, optional age encryption, SHA-256, multipart upload); the manifest is written only when both
 * sides of the pipe succeeded, so a manifest always means a whole backup. Nothing touches the host's disk but the
 * small manifest. Secrets travel in the environment only.
 */
import {
    BackupArgs,
    DtrImage,
    RestoreArgs,
    UcpConnection,
    assertReplicaId,
    backupCommand,
    destroyCommand,
    restoreCommand,
    RunOptions,
} from "../dtr-cli/commands";
import { shFile as packageShFile } from "../dtr-cli/sh-file";
import { assertEnvName, shellJoin, shellQuote } from "../dtr-cli/shell";
import { STORAGE_META, StorageIdentity } from "../storage/identity";
import { storageIdentityReadScript } from "../storage/settings";

/** Environment variables the agent reads (values come from the remote shell's environment, never argv). */
export const AGENT_ENV = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "S3_ENDPOINT",
    "S3_FORCE_PATH_STYLE",
];
/** The stack's configuration document (components/backup/stack-config.ts) the backup stores beside its manifest. */
export const STACK_CONFIG_ENV = "DTR_HA_STACK_CONFIG";
/** The age secret key for decrypting encrypted backups at restore time. */
export const AGE_IDENTITY_ENV = "DTR_HA_AGE_IDENTITY";

export interface BackupTarget {
    /** The backup agent image (`dtr-ha-backup`). */
    agentImage: string;
    bucket: string;
    /** Key prefix inside the bucket (no leading slash), e.g. `dtr/`. */
    prefix?: string;
    /** age public keys (`age1...`) the backup is encrypted to; empty: not encrypted client-side. */
    recipients?: string[];
    /** Object Lock retention to set on each object (in addition to the bucket default). */
    lock?: { mode: "GOVERNANCE" | "COMPLIANCE"; days: number };
}

export interface ReplicaCandidate {
    id: string;
    /** Address of the replica's host, as reachable from the host running the backup. */
    address: string;
}

export interface DtrBackupScriptArgs {
    image: DtrImage;
    ucp: UcpConnection;
    run?: RunOptions;
    /** Replicas in order of preference: the first whose `/_ping` answers 200 is backed up. */
    candidates: ReplicaCandidate[];
    httpsPort?: number;
    cluster: string;
    sourceStack?: string;
    target: BackupTarget;
    offline?: boolean;
}

/** The backup script's last stdout line: the catalog entry, as the agent's `list` prints them. */
export const MANIFEST_LINE = /^\{"manifestKey":".*\}$/m;

/** `docker run` of the backup agent with its S3 environment passed through by name (values stay in the host's env). */
export function agentRun(image: string, interactive: boolean, noLogs: boolean, extraEnv: string[] = []): string[] {
    const words = ["docker", "run", "--rm"];
    if (interactive) words.push("-i");
    if (noLogs) words.push("--log-driver", "none");
    for (const e of [...AGENT_ENV, ...extraEnv]) words.push("-e", e);
    words.push(image);
    return words;
}

/** The agent's `keys`: object and manifest keys for a backup of `kind` taken now. */
export function agentKeysCommand(a: { agentImage: string; cluster: string; kind: string; prefix?: string; recipients?: string[] }): string {
    return shellJoin([
        ...agentRun(a.agentImage, false, false),
        "keys",
        "--cluster",
        a.cluster,
        "--kind",
        a.kind,
        ...(a.prefix ? ["--prefix", a.prefix] : []),
        ...(a.recipients?.length ? ["--encrypted"] : []),
    ]);
}

/** The agent's inventory of the replica on this host (host network, loopback: the admin password never leaves it). */
export function inventoryCommand(agentImage: string, httpsPort: number): string {
    return shellJoin([
        "docker",
        "run",
        "--rm",
        "--network",
        "host",
        "-e",
        "UCP_USERNAME",
        "-e",
        "UCP_PASSWORD",
        agentImage,
        "inventory",
        "--dtr-url",
        `https://127.0.0.1:${httpsPort}`,
        "--insecure",
    ]);
}

/**
 * The agent's `verify` and `download` of one backup (the age identity from `DTR_HA_AGE_IDENTITY` when encrypted);
 * `download` keeps the tar out of container logs.
 */
export function agentReadCommands(a: { agentImage: string; bucket: string; manifestKey: string; encrypted?: boolean }): {
    verify: string;
    download: string;
} {
    const identity = a.encrypted ? ["--identity-env", AGE_IDENTITY_ENV] : [];
    const extraEnv = a.encrypted ? [AGE_IDENTITY_ENV] : [];
    const read = (cmd: string, noLogs: boolean) =>
        shellJoin([
            ...agentRun(a.agentImage, false, noLogs, extraEnv),
            cmd,
            "--bucket",
            a.bucket,
            "--manifest-key",
            a.manifestKey,
            ...identity,
        ]);
    return { verify: read("verify", false), download: read("download", true) };
}

/** A key prefix as the agent takes it: no leading or trailing slash. */
export const PREFIX = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

/** The agent's `--prefix` a manifest key was written under (`<prefix>/manifests/<cluster>/<file>`). */
export function prefixOfManifestKey(key: string): string[] {
    const i = key.indexOf("manifests/");
    const prefix = i > 0 ? key.slice(0, i - 1) : "";
    return prefix ? ["--prefix", prefix] : [];
}

function validateTarget(t: BackupTarget): void {
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(t.bucket))
        throw new Error(`backup.bucket=${JSON.stringify(t.bucket)} is not a valid bucket name`);
    if (t.prefix && !PREFIX.test(t.prefix)) {
        throw new Error(`backup.prefix=${JSON.stringify(t.prefix)}: use letters, digits, . _ - and inner slashes, e.g. dtr or backups/dtr`);
    }
    for (const r of t.recipients ?? []) {
        if (!/^age1[0-9a-z]{20,}$/.test(r)) throw new Error(`backup.recipients: ${JSON.stringify(r)} is not an age public key (age1...)`);
    }
}

/**
 * Picks the first healthy replica, streams its backup into S3 and writes the manifest, then prints the manifest as the
 * last stdout line. Everything else goes to stderr. Exit 1 (and no manifest) when any step fails.
 */
export function dtrBackupScript(a: DtrBackupScriptArgs): string {
    validateTarget(a.target);
    if (a.candidates.length === 0) throw new Error("backup needs at least one replica candidate");
    a.candidates.forEach((c) => assertReplicaId("backup candidate", c.id));
    const port = a.httpsPort ?? 443;
    const t = a.target;
    const keysCmd = agentKeysCommand({ ...t, cluster: a.cluster, kind: "dtr" });
    const cases = a.candidates
        .map((c) => {
            const b: BackupArgs = { image: a.image, ucp: a.ucp, run: a.run, existingReplicaId: c.id, offline: a.offline };
            return `    ${c.id}) ${backupCommand(b)} ;;`;
        })
        .join("\n");
    const upload = [
        ...agentRun(t.agentImage, true, true),
        "upload",
        "--bucket",
        t.bucket,
        "--kind",
        "dtr",
        "--cluster",
        a.cluster,
        ...(a.sourceStack ? ["--source-stack", a.sourceStack] : []),
        "--meta",
        `dtrVersion=${a.image.version}`,
        ...(t.recipients ?? []).flatMap((r) => ["--recipient", r]),
        ...(t.lock ? ["--lock-mode", t.lock.mode, "--retain-days", String(t.lock.days)] : []),
    ];
    const pairs = a.candidates.map((c) => shellQuote(`${c.id} ${c.address}`)).join(" ");
    return [
        "set -u",
        "work=$(mktemp -d); trap 'rm -rf \"$work\"' EXIT",
        "replica=''",
        `for pair in ${pairs}; do`,
        "  set -- $pair",
        `  code=$(curl -sS --insecure --max-time 10 -o /dev/null -w '%{http_code}' "https://$2:${port}/_ping" 2>/dev/null) || code=unreachable`,
        '  if [ "$code" = 200 ]; then replica=$1; break; fi',
        '  echo "dtr-ha backup: replica $1 at $2 is not healthy (/_ping: $code); trying the next" >&2',
        "done",
        '[ -n "$replica" ] || { echo "dtr-ha backup FAILED: no healthy replica to back up from" >&2; exit 1; }',
        'echo "dtr-ha backup: backing up replica $replica" >&2',
        // The inventory fingerprints (the six kinds of DTR metadata: a count and a SHA-256 each, and one over all) go
        // into the manifest, so a restore can prove it brought everything back. Read from this host's replica; without
        // them the backup is still whole. The agent names the --meta pairs (only [A-Za-z0-9 =:-], so splitting them is
        // safe); an older agent image answers the three-category JSON the second sed reads.
        `inv=$(${inventoryCommand(t.agentImage, port)} 2>"$work/inv.err") || { inv=''; echo "dtr-ha backup: WARNING: no inventory ($(head -c 300 "$work/inv.err")); the manifest will not carry one" >&2; }`,
        `invmeta=$(printf '%s' "$inv" | sed -n 's/.*"metaArgs":"\\([A-Za-z0-9 =:-]*\\)".*/\\1/p')`,
        `[ -n "$invmeta" ] || invmeta=$(printf '%s' "$inv" | sed -n 's/^{"repositories":\\([0-9]*\\),"tags":\\([0-9]*\\),"teamAccess":\\([0-9]*\\),"sha256":"\\([0-9a-f]*\\)".*/--meta inventoryRepositories=\\1 --meta inventoryTags=\\2 --meta inventoryTeamAccess=\\3 --meta inventorySha256=\\4/p')`,
        // The storage DTR uses, as DTR itself reports it (the truth the restore brings back; the configuration may say
        // otherwise: see storageIdentityReadScript), goes into the manifest as meta storage*, so a restore can compare it
        // with its own configuration before anything changes. Without it the backup is still whole; a restore then
        // compares only after replica 1 is restored. The values reach the agent as arguments, never as shell source.
        storageIdentityReadScript(port),
        "set --",
        "if storage_identity_read; then",
        `  set -- --meta "${STORAGE_META.driver}=$st_driver" --meta "${STORAGE_META.bucket}=$st_bucket" --meta "${STORAGE_META.region}=$st_region" --meta "${STORAGE_META.rootdirectory}=$st_root" --meta "${STORAGE_META.regionendpoint}=$st_endpoint"`,
        "else",
        `  echo "dtr-ha backup: WARNING: DTR's storage settings were not read ($st_why); the manifest will not record the backup's storage (a restore then compares it only after replica 1 is restored)" >&2`,
        "fi",
        `keys=$(${keysCmd}) || { echo "dtr-ha backup FAILED: the agent could not name the keys" >&2; exit 1; }`,
        `obj=$(printf '%s' "$keys" | sed -n 's/.*"objectKey":"\\([^"]*\\)".*/\\1/p')`,
        `man=$(printf '%s' "$keys" | sed -n 's/.*"manifestKey":"\\([^"]*\\)".*/\\1/p')`,
        // The stack's configuration (plain values and secret names only), when the stack hands it over: stored beside
        // the manifest before the backup, pinned by the manifest (SHA-256, version), so a rebuild needs no state backend.
        // A failure stops the backup: every manifest written with a configuration given has one.
        "cfgmeta=''",
        `if [ -n "\${${STACK_CONFIG_ENV}:-}" ]; then`,
        `  cfg=$(printf '%s' "$${STACK_CONFIG_ENV}" | ${shellJoin([...agentRun(t.agentImage, true, false), "put-stack-config", "--bucket", t.bucket])} --manifest-key "$man") || {`,
        '    echo "dtr-ha backup FAILED: the stack configuration could not be stored; no backup taken" >&2; exit 1; }',
        `  cfgsha=$(printf '%s' "$cfg" | sed -n 's/.*"sha256":"\\([0-9a-f]\\{64\\}\\)".*/\\1/p')`,
        `  cfgver=$(printf '%s' "$cfg" | sed -n 's/.*"versionId":"\\([A-Za-z0-9._-]*\\)".*/\\1/p')`,
        '  [ -n "$cfgsha" ] || { echo "dtr-ha backup FAILED: the stored stack configuration has no SHA-256; no backup taken" >&2; exit 1; }',
        '  cfgmeta="--meta stackConfigSha256=$cfgsha"',
        '  [ -z "$cfgver" ] || cfgmeta="$cfgmeta --meta stackConfigVersionId=$cfgver"',
        "fi",
        // The producer's exit status goes through a file: POSIX sh has no pipefail.
        "{",
        '  case "$replica" in',
        cases,
        "  esac",
        '  echo $? > "$work/rc"',
        `} | ${shellJoin(upload)} --key "$obj" --meta "replicaId=$replica" $invmeta $cfgmeta "$@" > "$work/manifest.json"`,
        "up=$?",
        'rc=$(cat "$work/rc" 2>/dev/null || echo missing)',
        'if [ "$rc" != 0 ] || [ "$up" != 0 ]; then',
        '  echo "dtr-ha backup FAILED: dtr backup exit $rc, upload exit $up; no manifest written" >&2; exit 1',
        "fi",
        `${shellJoin([...agentRun(t.agentImage, true, false), "put-manifest", "--bucket", t.bucket])} --key "$man" < "$work/manifest.json" >&2 || {`,
        '  echo "dtr-ha backup FAILED: the manifest could not be stored" >&2; exit 1; }',
        `printf 'dtr-ha backup: stored s3://%s/%s, manifest %s\\n' ${shellQuote(t.bucket)} "$obj" "$man" >&2`,
        `printf '{"manifestKey":"%s","manifest":' "$man"; tr -d '\\n' < "$work/manifest.json"; echo '}'`,
    ].join("\n");
}

/**
 * A host script whose text is constant for a given library version, and the values it works on. `env` goes into the
 * command resource's `environment` (names fixed, `DTR_HA_*`, which sshd accepts as `DTR_*`); the script only ever
 * expands those variables inside double quotes, so no value from configuration or from a manifest is shell source.
 */
export interface HostScript {
    script: string;
    env: Record<string, string>;
}

/** Fixed names of the values the restore-side scripts read. */
export const RESTORE_ENV = {
    agentImage: "DTR_HA_AGENT_IMAGE",
    bucket: "DTR_HA_BUCKET",
    prefix: "DTR_HA_PREFIX",
    manifestKey: "DTR_HA_MANIFEST_KEY",
    expectedVersion: "DTR_HA_EXPECTED_VERSION",
    replicaId: "DTR_HA_REPLICA_ID",
    destroyExisting: "DTR_HA_DESTROY_EXISTING",
    httpsPort: "DTR_HA_HTTPS_PORT",
} as const;

/**
 * The configured storage the restore steps compare with the backup's (lib.sh check_storage), as data: one variable per
 * field, whatever their characters (the script only compares them inside double quotes); none at all when the
 * configuration has no storage (then nothing is compared).
 */
export const STORAGE_ENV = {
    driver: "DTR_HA_STORAGE_DRIVER",
    bucket: "DTR_HA_STORAGE_BUCKET",
    region: "DTR_HA_STORAGE_REGION",
    rootdirectory: "DTR_HA_STORAGE_ROOTDIRECTORY",
    regionendpoint: "DTR_HA_STORAGE_REGIONENDPOINT",
} as const;

export function storageEnv(storage: StorageIdentity | undefined): Record<string, string> {
    if (!storage) return {};
    return Object.fromEntries((Object.keys(STORAGE_ENV) as (keyof typeof STORAGE_ENV)[]).map((f) => [STORAGE_ENV[f], storage[f]]));
}

/** The text of one of the shell files kept beside this module (components/backup/sh, shellchecked by lint:sh). */
export function shFile(name: string): string {
    return packageShFile(__dirname, name);
}

/** `name() { <words> "$@"; }`: the words quoted once by shellJoin, the rest from the caller's arguments. */
function shFunction(name: string, words: string[], tail = '"$@"'): string {
    return `${name}() { ${shellJoin(words)} ${tail}; }`;
}

/** Functions running the backup agent; the image comes from DTR_HA_AGENT_IMAGE (data, never source). */
function agentFunctions(): string {
    const image = `"$${RESTORE_ENV.agentImage}" "$@"`;
    const base = (noLogs: boolean, identity: boolean) => agentRun("IMAGE", false, noLogs, identity ? [AGE_IDENTITY_ENV] : []).slice(0, -1);
    return [
        shFunction("agent", base(false, false), image),
        shFunction("agent_identity", base(false, true), image),
        shFunction("agent_nolog", base(true, false), image),
        shFunction("agent_identity_nolog", base(true, true), image),
    ].join("\n");
}

/** Replaces the one `--replica-id <placeholder>` of a generated DTR command by a shell expansion. */
function withReplicaIdFrom(commandLine: string, expansion: string): string {
    const parts = commandLine.split(`--replica-id ${REPLICA_PLACEHOLDER}`);
    if (parts.length !== 2 || commandLine.split(REPLICA_PLACEHOLDER).length !== 2) {
        throw new Error("internal: the DTR command's --replica-id shape changed");
    }
    return parts.join(`--replica-id ${expansion}`);
}
const REPLICA_PLACEHOLDER = "000000000000";

/** `dtr_destroy ID`: DTR's destroy of one replica (UCP flags from the configuration, quoted once). */
function destroyFunction(common: { image: DtrImage; ucp: UcpConnection; run?: RunOptions }): string {
    return `dtr_destroy() { ${withReplicaIdFrom(destroyCommand({ ...common, replicaId: REPLICA_PLACEHOLDER }), '"$1"')}; }`;
}

function assemble(prelude: string[], body: string): string {
    return [
        "# dtr-ha restore step: values come from the DTR_HA_* environment, never from this text",
        ...prelude,
        shFile("lib.sh"),
        shFile(body),
    ].join("\n");
}

/**
 * The old string API: the same constant script, preceded by its values as assignments quoted once with shellQuote, for
 * callers that do not pass `env` as the command's environment.
 */
export function inlineEnv(h: HostScript): string {
    const assignments = Object.entries(h.env).map(([k, v]) => `${assertEnvName(k)}=${shellQuote(v)}`);
    return [...assignments, h.script].join("\n");
}

function manifestKeyProblem(key: string): void {
    if (!/\.manifest\.json$/.test(key)) throw new Error(`restore.manifestKey=${JSON.stringify(key)} must name a *.manifest.json object`);
}

function readEnv(a: { agentImage: string; bucket: string; manifestKey: string }): Record<string, string> {
    validateTarget({ agentImage: a.agentImage, bucket: a.bucket });
    manifestKeyProblem(a.manifestKey);
    const prefix = prefixOfManifestKey(a.manifestKey);
    return {
        [RESTORE_ENV.agentImage]: a.agentImage,
        [RESTORE_ENV.bucket]: a.bucket,
        [RESTORE_ENV.prefix]: prefix.length ? prefix[1] : "",
        [RESTORE_ENV.manifestKey]: a.manifestKey,
    };
}

export interface DtrRestoreScriptArgs {
    restore: Omit<RestoreArgs, "storage"> & { storage?: RestoreArgs["storage"] };
    agentImage: string;
    bucket: string;
    manifestKey: string;
    /** The configured storage: a backup whose manifest records another one is refused before anything changes. */
    storage?: StorageIdentity;
    /** Ignored: whether the backup is encrypted is read from its manifest; the identity comes from `DTR_HA_AGE_IDENTITY`. */
    encrypted?: boolean;
}

/**
 * Verifies the backup (as `restoreVerifyStep`: version, decryptability, whole object and plaintext) and only then
 * streams it into `dtr restore`. Verification reads the whole object first because a stream's checksum is known only at
 * its end. The identity, when the backup is encrypted, comes from `DTR_HA_AGE_IDENTITY` in the environment.
 */
export function dtrRestoreStep(a: DtrRestoreScriptArgs): HostScript {
    const env = readEnv(a);
    const r = a.restore;
    assertReplicaId("--replica-id", r.replicaId);
    const restore = restoreCommand({ ...r, replicaId: REPLICA_PLACEHOLDER, storage: r.storage ?? { kind: "default" } });
    const prelude = [
        agentFunctions(),
        destroyFunction({ image: r.image, ucp: r.ucp, run: r.run }),
        `dtr_restore() { ${withReplicaIdFrom(restore, `"$${RESTORE_ENV.replicaId}"`)}; }`,
    ];
    return {
        script: assemble(prelude, "dtr-restore.sh"),
        env: { ...env, ...storageEnv(a.storage), [RESTORE_ENV.expectedVersion]: r.image.version, [RESTORE_ENV.replicaId]: r.replicaId },
    };
}

/** `dtrRestoreStep` as one string (values as quoted assignments). */
export function dtrRestoreScript(a: DtrRestoreScriptArgs): string {
    return inlineEnv(dtrRestoreStep(a));
}

export interface RestoreVerifyArgs {
    agentImage: string;
    bucket: string;
    manifestKey: string;
    /** Ignored: whether the backup is encrypted is read from its manifest; the identity comes from `DTR_HA_AGE_IDENTITY`. */
    encrypted?: boolean;
    /** The configured DTR image version: a backup of another version is refused (DTR restores only into the same). */
    expectedDtrVersion: string;
    /** The id the restore will give the first replica: a backup taken from another replica is refused. */
    replicaId: string;
    /** The configured storage: a backup whose manifest records another one is refused (see lib.sh check_storage). */
    storage?: StorageIdentity;
}

/**
 * Non-destructive: the backup exists, is of the configured DTR version, was taken with the configured storage (when the
 * manifest records it), and the agent's verify read it whole: the stored
 * bytes against the manifest's size and SHA-256 and, decrypted (an encrypted backup without `DTR_HA_AGE_IDENTITY` is
 * refused, naming `dtr-ha:ageIdentity`), the tar checked and its size, SHA-256 and entries compared.
 */
export function restoreVerifyStep(a: RestoreVerifyArgs): HostScript {
    const env = readEnv(a);
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(a.expectedDtrVersion)) {
        throw new Error(`image.version=${JSON.stringify(a.expectedDtrVersion)} is not a version tag`);
    }
    assertReplicaId("restore.replicaId", a.replicaId);
    return {
        script: assemble([agentFunctions()], "restore-verify.sh"),
        env: {
            ...env,
            ...storageEnv(a.storage),
            [RESTORE_ENV.expectedVersion]: a.expectedDtrVersion,
            [RESTORE_ENV.replicaId]: a.replicaId,
        },
    };
}

/** `restoreVerifyStep` as one string (values as quoted assignments). */
export function restoreVerifyScript(a: RestoreVerifyArgs): string {
    return inlineEnv(restoreVerifyStep(a));
}

/**
 * Run on each host before a restore: finds DTR replicas (containers named dtr-<service>-<12 hex>). None: fine. Some:
 * refused, unless `destroyExisting`, in which case each is destroyed with `dtr destroy`. `dtr-ol` is left as it is: DTR's
 * restore procedure does not remove it, and a DTR host (a UCP worker) cannot (see sh/clear-replicas.sh).
 */
export function clearReplicasStep(common: { image: DtrImage; ucp: UcpConnection; run?: RunOptions }, destroyExisting: boolean): HostScript {
    return {
        script: assemble([destroyFunction(common)], "clear-replicas.sh"),
        env: { [RESTORE_ENV.destroyExisting]: destroyExisting ? "true" : "false" },
    };
}

/** `clearReplicasStep` as one string (values as quoted assignments). */
export function clearReplicasScript(common: { image: DtrImage; ucp: UcpConnection; run?: RunOptions }, destroyExisting: boolean): string {
    return inlineEnv(clearReplicasStep(common, destroyExisting));
}

/**
 * After a restore has passed the health gate: the restored cluster's inventory must have the fingerprints the backup
 * recorded, category by category (configuration, repositories and tags, team access, Notary signatures, scan results,
 * TLS certificates), each named with its count and digest before and after. A backup made before the six categories
 * is checked on repositories, tags and grants; one without any fingerprint is reported as such (health only).
 */
export function restoreCheckStep(a: { agentImage: string; bucket: string; manifestKey: string; httpsPort?: number }): HostScript {
    const env = readEnv(a);
    const port = a.httpsPort ?? 443;
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`httpsPort=${port} is not a TCP port`);
    const inventory = shFunction(
        "agent_inventory",
        ["docker", "run", "--rm", "--network", "host", "-e", "UCP_USERNAME", "-e", "UCP_PASSWORD"],
        `"$${RESTORE_ENV.agentImage}" inventory --dtr-url "https://127.0.0.1:$${RESTORE_ENV.httpsPort}" --insecure`,
    );
    return {
        script: assemble([agentFunctions(), inventory], "restore-check.sh"),
        env: { ...env, [RESTORE_ENV.httpsPort]: String(port) },
    };
}

/** `restoreCheckStep` as one string (values as quoted assignments). */
export function restoreCheckScript(a: { agentImage: string; bucket: string; manifestKey: string; httpsPort?: number }): string {
    return inlineEnv(restoreCheckStep(a));
}

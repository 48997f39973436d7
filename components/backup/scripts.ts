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
import { shellJoin, shellQuote } from "../dtr-cli/shell";

/** Environment variables the agent reads (values come from the remote shell's environment, never argv). */
export const AGENT_ENV = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "S3_ENDPOINT",
    "S3_FORCE_PATH_STYLE",
];
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
        // The inventory fingerprint (repositories, tags, team access) goes into the manifest, so a restore can prove
        // it brought everything back. Read from this host's replica; without it the backup is still whole.
        `inv=$(${inventoryCommand(t.agentImage, port)} 2>"$work/inv.err") || { inv=''; echo "dtr-ha backup: WARNING: no inventory ($(head -c 300 "$work/inv.err")); the manifest will not carry one" >&2; }`,
        `invmeta=$(printf '%s' "$inv" | sed -n 's/^{"repositories":\\([0-9]*\\),"tags":\\([0-9]*\\),"teamAccess":\\([0-9]*\\),"sha256":"\\([0-9a-f]*\\)".*/--meta inventoryRepositories=\\1 --meta inventoryTags=\\2 --meta inventoryTeamAccess=\\3 --meta inventorySha256=\\4/p')`,
        `keys=$(${keysCmd}) || { echo "dtr-ha backup FAILED: the agent could not name the keys" >&2; exit 1; }`,
        `obj=$(printf '%s' "$keys" | sed -n 's/.*"objectKey":"\\([^"]*\\)".*/\\1/p')`,
        `man=$(printf '%s' "$keys" | sed -n 's/.*"manifestKey":"\\([^"]*\\)".*/\\1/p')`,
        // The producer's exit status goes through a file: POSIX sh has no pipefail.
        "{",
        '  case "$replica" in',
        cases,
        "  esac",
        '  echo $? > "$work/rc"',
        `} | ${shellJoin(upload)} --key "$obj" --meta "replicaId=$replica" $invmeta > "$work/manifest.json"`,
        "up=$?",
        'rc=$(cat "$work/rc" 2>/dev/null || echo missing)',
        'if [ "$rc" != 0 ] || [ "$up" != 0 ]; then',
        '  echo "dtr-ha backup FAILED: dtr backup exit $rc, upload exit $up; no manifest written" >&2; exit 1',
        "fi",
        `${shellJoin([...agentRun(t.agentImage, true, false), "put-manifest", "--bucket", t.bucket])} --key "$man" < "$work/manifest.json" >&2 || {`,
        '  echo "dtr-ha backup FAILED: the manifest could not be stored" >&2; exit 1; }',
        'echo "dtr-ha backup: stored s3://' + t.bucket + '/$obj, manifest $man" >&2',
        `printf '{"manifestKey":"%s","manifest":' "$man"; tr -d '\\n' < "$work/manifest.json"; echo '}'`,
    ].join("\n");
}

export interface DtrRestoreScriptArgs {
    restore: Omit<RestoreArgs, "storage"> & { storage?: RestoreArgs["storage"] };
    agentImage: string;
    bucket: string;
    manifestKey: string;
    /** Decrypt with the age identity in `DTR_HA_AGE_IDENTITY`. */
    encrypted: boolean;
}

/**
 * Verifies the backup object against its manifest (size and SHA-256 at its pinned version) and only then streams it
 * into `dtr restore`. Verification reads the whole object first because a stream's checksum is known only at its end.
 */
export function dtrRestoreScript(a: DtrRestoreScriptArgs): string {
    validateTarget({ agentImage: a.agentImage, bucket: a.bucket });
    if (!/\.manifest\.json$/.test(a.manifestKey))
        throw new Error(`restore.manifestKey=${JSON.stringify(a.manifestKey)} must name a *.manifest.json object`);
    const { verify, download } = agentReadCommands(a);
    const restore = restoreCommand({ ...a.restore, storage: a.restore.storage ?? { kind: "default" } });
    const id = a.restore.replicaId;
    // Leftovers of this very replica can only come from an interrupted earlier attempt of this restore (the clear
    // step has already dealt with anything else): destroying them makes a re-run converge.
    const destroyLeftovers = destroyCommand({ image: a.restore.image, ucp: a.restore.ucp, run: a.restore.run, replicaId: id });
    return [
        "set -u",
        "work=$(mktemp -d); trap 'rm -rf \"$work\"' EXIT",
        `if docker ps -a --format '{{.Names}}' | grep -q -- '-${id}$'; then`,
        `  echo "dtr-ha restore: removing what an interrupted attempt left of replica ${id}" >&2`,
        `  ${destroyLeftovers} >&2 || exit 1`,
        "fi",
        `${verify} >&2 || { echo "dtr-ha restore REFUSED: the backup does not match its manifest; nothing was changed" >&2; exit 1; }`,
        "{",
        `  ${download}`,
        '  echo $? > "$work/dl"',
        `} | ${restore} >&2`,
        "rs=$?",
        'dl=$(cat "$work/dl" 2>/dev/null || echo missing)',
        'if [ "$dl" != 0 ] || [ "$rs" != 0 ]; then echo "dtr-ha restore FAILED: download exit $dl, restore exit $rs" >&2; exit 1; fi',
        `echo "dtr-ha restore: replica ${a.restore.replicaId} restored from ${a.manifestKey}"`,
    ].join("\n");
}

export interface RestoreVerifyArgs {
    agentImage: string;
    bucket: string;
    manifestKey: string;
    encrypted: boolean;
    /** The configured DTR image version: a backup of another version is refused (DTR restores only into the same). */
    expectedDtrVersion: string;
}

/** Non-destructive: the backup exists, matches its manifest byte for byte, and is of the configured DTR version. */
export function restoreVerifyScript(a: RestoreVerifyArgs): string {
    validateTarget({ agentImage: a.agentImage, bucket: a.bucket });
    const extraEnv = a.encrypted ? [AGE_IDENTITY_ENV] : [];
    const list = shellJoin([...agentRun(a.agentImage, false, false), "list", "--bucket", a.bucket, ...prefixOfManifestKey(a.manifestKey)]);
    const verify = shellJoin([
        ...agentRun(a.agentImage, false, false, extraEnv),
        "verify",
        "--bucket",
        a.bucket,
        "--manifest-key",
        a.manifestKey,
        ...(a.encrypted ? ["--identity-env", AGE_IDENTITY_ENV] : []),
    ]);
    const key = a.manifestKey;
    return [
        "set -u",
        `entry=$(${list} | grep -F ${shellQuote(`"manifestKey":"${key}"`)}) || {`,
        `  echo "dtr-ha restore REFUSED: no valid manifest ${key} in s3://${a.bucket}; nothing was changed" >&2; exit 1; }`,
        `version=$(printf '%s' "$entry" | sed -n 's/.*"dtrVersion":"\\([^"]*\\)".*/\\1/p')`,
        `if [ "$version" != ${shellQuote(a.expectedDtrVersion)} ]; then`,
        `  echo "dtr-ha restore REFUSED: the backup is of DTR \${version:-unknown}, the configured image is ${a.expectedDtrVersion}; DTR restores only into the same version. Set image.version to \${version:-that version}, restore, then upgrade. Nothing was changed." >&2; exit 1`,
        "fi",
        `${verify} || { echo "dtr-ha restore REFUSED: the backup object does not match its manifest (size or SHA-256); nothing was changed" >&2; exit 1; }`,
        `echo "dtr-ha restore: ${key} verified (DTR $version)"`,
    ].join("\n");
}

/**
 * Run on each host before a restore: finds DTR replicas (containers named dtr-<service>-<12 hex>). None: fine. Some:
 * refused, unless `destroyExisting`, in which case each is destroyed with `dtr destroy` and `dtr-ol` removed.
 */
export function clearReplicasScript(common: { image: DtrImage; ucp: UcpConnection; run?: RunOptions }, destroyExisting: boolean): string {
    const placeholder = "000000000000";
    const destroy = destroyCommandFor(common, placeholder);
    if (!destroy.endsWith(`--replica-id ${placeholder}`) && !destroy.includes(`--replica-id ${placeholder} `)) {
        throw new Error("internal: destroy command shape changed");
    }
    return [
        "set -u",
        `ids=$(docker ps -a --format '{{.Names}}' | sed -n 's/^dtr-[a-z0-9-]*-\\([0-9a-f]\\{12\\}\\)$/\\1/p' | sort -u | tr '\\n' ' ')`,
        'if [ -z "${ids% }" ]; then echo "dtr-ha restore: no DTR replica on $(hostname)"; exit 0; fi',
        destroyExisting
            ? 'echo "dtr-ha restore: destroying replicas $ids on $(hostname) (restore.destroyExisting)" >&2'
            : 'echo "dtr-ha restore REFUSED: DTR replicas $ids still exist on $(hostname). DTR restores only into an empty cluster; set restore.destroyExisting: true to destroy them first. Nothing was changed." >&2; exit 1',
        "for id in $ids; do",
        `  ${destroy.replace(`--replica-id ${placeholder}`, '--replica-id "$id"')} >&2 || exit 1`,
        "done",
        `docker network rm ${"dtr-ol"} >/dev/null 2>&1 || true`,
        'echo "dtr-ha restore: $(hostname) cleared"',
    ].join("\n");
}

function destroyCommandFor(common: { image: DtrImage; ucp: UcpConnection; run?: RunOptions }, replicaId: string): string {
    return destroyCommand({ ...common, replicaId });
}

/**
 * After a restore has passed the health gate: the restored cluster's inventory (repositories, tags, team access) must
 * have the fingerprint the backup recorded. A backup without one is reported as such, and only health was checked.
 */
export function restoreCheckScript(a: { agentImage: string; bucket: string; manifestKey: string; httpsPort?: number }): string {
    validateTarget({ agentImage: a.agentImage, bucket: a.bucket });
    const list = shellJoin([...agentRun(a.agentImage, false, false), "list", "--bucket", a.bucket, ...prefixOfManifestKey(a.manifestKey)]);
    const field = (name: string, from: string) =>
        `$(printf '%s' "$${from}" | sed -n 's/.*"${name}":"\\{0,1\\}\\([0-9a-f]*\\)"\\{0,1\\}.*/\\1/p')`;
    return [
        "set -u",
        `entry=$(${list} | grep -F ${shellQuote(`"manifestKey":"${a.manifestKey}"`)}) || { echo "dtr-ha restore check: manifest ${a.manifestKey} not found" >&2; exit 1; }`,
        `want=${field("inventorySha256", "entry")}`,
        'if [ -z "$want" ]; then echo "dtr-ha restore check: the backup recorded no inventory; only health was checked"; exit 0; fi',
        `got=$(${inventoryCommand(a.agentImage, a.httpsPort ?? 443)}) || { echo "dtr-ha restore check: could not read the restored inventory" >&2; exit 1; }`,
        `gotsha=${field("sha256", "got")}`,
        `summary=$(printf '%s' "$got" | sed -n 's/^{"repositories":\\([0-9]*\\),"tags":\\([0-9]*\\),"teamAccess":\\([0-9]*\\).*/\\1 repositories, \\2 tags, \\3 team grants/p')`,
        'if [ "$gotsha" != "$want" ]; then',
        '  echo "dtr-ha restore check FAILED: the restored metadata ($summary, fingerprint $gotsha) differs from the backup (fingerprint $want)" >&2; exit 1',
        "fi",
        'echo "dtr-ha restore check: metadata matches the backup: $summary"',
    ].join("\n");
}

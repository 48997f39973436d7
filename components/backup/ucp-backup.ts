/**
 * UCP backups (reference/ucp/3.2/cli/backup.md): `docker/ucp backup` on a UCP manager writes a tar of the manager's
 * UCP volumes to stdout; it is streamed through the backup agent into S3 with a manifest, like DTR backups.
 *
 * Passphrase exposure: the UCP 3.2 CLI reference documents `--passphrase <p>` as a flag only (no environment form).
 * With `passphraseEnv`, the remote shell expands the variable, so the passphrase stays out of the script text, the
 * Pulumi state and logs, but it IS in the argv of the `docker` client process on the host (readable in `ps` by any
 * local user for the backup's duration) and in the container's command (`docker inspect`, until --rm removes it).
 * The default avoids that: `--no-passphrase` and age encryption by the agent to the operator's public keys, so the
 * secret never exists on the host at all. One of the two is required: an unencrypted UCP backup (private keys) is refused.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { BackupTarget, PREFIX, agentKeysCommand, agentRun } from "./scripts";
import { BackupManifest, backupCommand } from "./dtr-backup";
import { BackupS3Access, agentEnvironment } from "./agent-env";
import { assertEnvName, shellJoin } from "../dtr-cli/shell";

export interface UcpImage {
    /** e.g. `docker/ucp` */
    repository: string;
    /** e.g. `3.2.6` */
    version: string;
}

export interface UcpBackupCommandArgs {
    image: UcpImage;
    /** Name of the environment variable holding a PGP passphrase; unset: `--no-passphrase` (encrypt with age instead). */
    passphraseEnv?: string;
    /** Also back up UCP's logs (`--include-logs`). */
    includeLogs?: boolean;
}

/** Default name of the passphrase variable the UcpBackup component sets. */
export const UCP_PASSPHRASE_ENV = "DTR_HA_UCP_BACKUP_PASSPHRASE";

function checkImage(image: UcpImage): void {
    if (!/^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/.test(image.repository)) {
        throw new Error(`ucp.image.repository=${JSON.stringify(image.repository)} is not an image repository, e.g. docker/ucp`);
    }
    if (!/^[0-9]+\.[0-9]+\.[0-9]+([.-][A-Za-z0-9.-]+)?$/.test(image.version)) {
        throw new Error(
            `ucp.image.version=${JSON.stringify(image.version)}: give the UCP version, e.g. 3.2.6 (restore needs the same major.minor)`,
        );
    }
}

/** The `docker/ucp backup` command line; the tar goes to stdout, logs to stderr. */
export function ucpBackupCommand(a: UcpBackupCommandArgs): string {
    checkImage(a.image);
    const words = [
        "docker",
        "container",
        "run",
        "--rm",
        "-i",
        "--log-driver",
        "none",
        "--name",
        "ucp-backup",
        "-v",
        "/var/run/docker.sock:/var/run/docker.sock",
    ];
    words.push(`${a.image.repository}:${a.image.version}`, "backup");
    if (a.includeLogs) words.push("--include-logs");
    if (a.passphraseEnv === undefined) return `${shellJoin([...words, "--no-passphrase"])}`;
    // Expanded by the remote shell: out of the script and the state, but in the docker client's argv (see above).
    return `${shellJoin([...words, "--passphrase"])} "$${assertEnvName(a.passphraseEnv)}"`;
}

export interface UcpBackupScriptArgs extends BackupTarget {
    cluster: string;
    sourceStack?: string;
    ucp: UcpBackupCommandArgs;
}

/**
 * Runs on a UCP manager: `docker/ucp backup` piped into the agent; the manifest is stored only when both sides of the
 * pipe succeeded. Last stdout line: the catalog entry. Refused (nothing run) without a passphrase or age recipients.
 */
export function ucpBackupScript(a: UcpBackupScriptArgs): string {
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(a.bucket))
        throw new Error(`ucpBackup.bucket=${JSON.stringify(a.bucket)} is not a valid bucket name`);
    if (a.prefix && !PREFIX.test(a.prefix))
        throw new Error(`ucpBackup.prefix=${JSON.stringify(a.prefix)}: use letters, digits, . _ - and inner slashes, e.g. ucp`);
    for (const r of a.recipients ?? []) {
        if (!/^age1[0-9a-z]{20,}$/.test(r))
            throw new Error(`ucpBackup.recipients: ${JSON.stringify(r)} is not an age public key (age1...)`);
    }
    if (!a.recipients?.length && a.ucp.passphraseEnv === undefined) {
        throw new Error(
            "ucpBackup: a UCP backup holds private keys: set target.recipients (age1..., preferred) or a passphrase; unencrypted UCP backups are refused",
        );
    }
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(a.cluster))
        throw new Error(`ucpBackup.cluster=${JSON.stringify(a.cluster)}: use letters, digits, . _ -`);
    const tag = "dtr-ha ucp backup";
    const keys = agentKeysCommand({ ...a, kind: "ucp" });
    const upload = shellJoin([
        ...agentRun(a.agentImage, true, true),
        "upload",
        "--bucket",
        a.bucket,
        "--kind",
        "ucp",
        "--cluster",
        a.cluster,
        ...(a.sourceStack ? ["--source-stack", a.sourceStack] : []),
        "--meta",
        `ucpVersion=${a.ucp.image.version}`,
        "--meta",
        `ucpPassphrase=${a.ucp.passphraseEnv === undefined ? "none" : "pgp"}`,
        ...(a.recipients ?? []).flatMap((r) => ["--recipient", r]),
        ...(a.lock ? ["--lock-mode", a.lock.mode, "--retain-days", String(a.lock.days)] : []),
    ]);
    const put = shellJoin([...agentRun(a.agentImage, true, false), "put-manifest", "--bucket", a.bucket]);
    return [
        "set -u",
        "work=$(mktemp -d); trap 'rm -rf \"$work\"' EXIT",
        ...(a.ucp.passphraseEnv
            ? [
                  `[ -n "\${${a.ucp.passphraseEnv}:-}" ] || { echo "${tag} REFUSED: ${a.ucp.passphraseEnv} is empty; nothing was run" >&2; exit 1; }`,
              ]
            : []),
        `[ "$(docker info --format '{{.Swarm.ControlAvailable}}' 2>/dev/null)" = true ] || { echo "${tag} REFUSED: $(hostname) is not a swarm manager; UCP backups run on a UCP manager" >&2; exit 1; }`,
        `keys=$(${keys}) || { echo "${tag} FAILED: the agent could not name the keys" >&2; exit 1; }`,
        `obj=$(printf '%s' "$keys" | sed -n 's/.*"objectKey":"\\([^"]*\\)".*/\\1/p')`,
        `man=$(printf '%s' "$keys" | sed -n 's/.*"manifestKey":"\\([^"]*\\)".*/\\1/p')`,
        // The producer's exit status goes through a file: POSIX sh has no pipefail.
        "{",
        `  ${ucpBackupCommand(a.ucp)}`,
        '  echo $? > "$work/rc"',
        `} | ${upload} --key "$obj" --meta "hostname=$(hostname)" > "$work/manifest.json"`,
        "up=$?",
        'rc=$(cat "$work/rc" 2>/dev/null || echo missing)',
        'if [ "$rc" != 0 ] || [ "$up" != 0 ]; then',
        `  echo "${tag} FAILED: ucp backup exit $rc, upload exit $up; no manifest written" >&2; exit 1`,
        "fi",
        `${put} --key "$man" < "$work/manifest.json" >&2 || { echo "${tag} FAILED: the manifest could not be stored" >&2; exit 1; }`,
        `echo "${tag}: stored s3://${a.bucket}/$obj, manifest $man" >&2`,
        `printf '{"manifestKey":"%s","manifest":' "$man"; tr -d '\\n' < "$work/manifest.json"; echo '}'`,
    ].join("\n");
}

export interface UcpBackupArgs {
    clusterName: string;
    sourceStack?: string;
    /** SSH connection to a UCP manager. */
    connection: pulumi.Input<command.types.input.remote.ConnectionArgs>;
    image: UcpImage;
    /** PGP passphrase for `--passphrase` (a secret; see the exposure note above). Omit to rely on target.recipients. */
    passphrase?: pulumi.Input<string>;
    includeLogs?: boolean;
    target: pulumi.Input<BackupTarget>;
    s3: BackupS3Access;
    /** Any change takes a new backup. */
    triggers: pulumi.Input<unknown>[];
}

/** One UCP backup into the backup bucket with a manifest. Pass `command` to the DTR backup's `dependsOn`. */
export class UcpBackup extends pulumi.ComponentResource {
    public readonly manifest: pulumi.Output<BackupManifest>;
    public readonly manifestKey: pulumi.Output<string>;
    public readonly command: command.remote.Command;

    constructor(name: string, args: UcpBackupArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dtr-ha:index:UcpBackup", name, {}, opts);
        const passphraseEnv = args.passphrase !== undefined ? UCP_PASSPHRASE_ENV : undefined;
        const script = pulumi.output(args.target as pulumi.Input<BackupTarget>).apply((t) =>
            ucpBackupScript({
                ...t,
                cluster: args.clusterName,
                sourceStack: args.sourceStack,
                ucp: { image: args.image, passphraseEnv, includeLogs: args.includeLogs },
            }),
        );
        const environment: Record<string, pulumi.Input<string>> = { ...agentEnvironment(args.s3) };
        if (args.passphrase !== undefined) environment[UCP_PASSPHRASE_ENV] = pulumi.secret(args.passphrase);
        ({
            command: this.command,
            manifest: this.manifest,
            manifestKey: this.manifestKey,
        } = backupCommand(`${name}-ucp`, this, {
            connection: args.connection,
            environment: pulumi.secret(environment),
            create: script,
            triggers: args.triggers,
        }));
        this.registerOutputs({ manifest: this.manifest, manifestKey: this.manifestKey });
    }
}

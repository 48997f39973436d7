import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { DtrImage, RunOptions, SECRET_ENV, UcpConnection } from "../dtr-cli/commands";
import { USERNAME_ENV } from "../dtr-cli/api";
import { DtrHost } from "../hosts/dtr-host";
import { BackupTarget, MANIFEST_LINE, STACK_CONFIG_ENV, dtrBackupScript } from "./scripts";
import { firstHealthy } from "./probe";
import { BackupS3Access, agentEnvironment } from "./agent-env";

/** What a DTR backup needs, taken once (`DtrBackup`) or on a timer (`BackupSchedule`). */
export interface DtrBackupSource {
    clusterName: string;
    /** The stack the backup comes from (recorded in the manifest). */
    sourceStack?: string;
    /** The replica hosts, in order of preference (the first healthy one runs each backup). */
    hosts: DtrHost[];
    /** The DTR image the backup runs (its version is recorded in the manifest). */
    image: DtrImage;
    ucp: UcpConnection;
    /** UCP's admin password (a secret; SSH's environment only). */
    ucpPassword: pulumi.Input<string>;
    run?: RunOptions;
    /** The replicas' HTTPS port (default 443). */
    httpsPort?: number;
    /** Bucket, prefix, agent image, encryption and lock of the backup. */
    target: pulumi.Input<BackupTarget>;
    s3: BackupS3Access;
    /**
     * The stack's configuration document (`stackConfigDocument`, JSON): stored beside each manifest. Plain values and
     * secret names only; a change of it takes a new backup, so the newest backup carries the configuration in force.
     */
    stackConfig?: pulumi.Input<string>;
}

export interface DtrBackupArgs extends DtrBackupSource {
    /** Their replica ids, in the same order as `hosts`. */
    replicaIds: string[];
    /** Any change takes a new backup (e.g. the DTR version before an upgrade, or a timestamp). */
    triggers: pulumi.Input<unknown>[];
    /** Probe `/_ping` from the Pulumi runner to pick a healthy host (default true; skipped in previews). */
    probe?: boolean;
}

export interface BackupManifest {
    format: "dtr-ha-backup/1";
    kind: "dtr" | "ucp" | "swarm";
    cluster: string;
    sourceStack: string | null;
    createdAt: string;
    object: { bucket: string; key: string; versionId: string | null; bytes: number; sha256: string };
    content: {
        compression: string;
        encryption: null | { scheme: string; recipients: string[] };
        tarBytes: number;
        tarSha256: string;
        entries: number;
        files: string[];
    };
    meta: Record<string, string>;
}

/** The catalog entry (manifest key and manifest) from the backup command's stdout; throws when there is none. */
export function parseBackupStdout(stdout: string): { manifestKey: string; manifest: BackupManifest } {
    const line = stdout.match(MANIFEST_LINE)?.[0];
    if (!line) throw new Error(`the backup printed no manifest: ${stdout.slice(-300)}`);
    return JSON.parse(line) as { manifestKey: string; manifest: BackupManifest };
}

/**
 * The remote command under every backup component (DTR, Swarm, UCP): one backup per change of `triggers`, nothing done
 * on delete (the backup stays, locked in the bucket), and the manifest line its script prints as outputs.
 */
export function backupCommand(
    name: string,
    parent: pulumi.Resource,
    a: {
        connection: pulumi.Input<command.types.input.remote.ConnectionArgs>;
        environment: pulumi.Input<Record<string, pulumi.Input<string>>>;
        create: pulumi.Input<string>;
        triggers: pulumi.Input<unknown>[];
    },
): { command: command.remote.Command; manifest: pulumi.Output<BackupManifest>; manifestKey: pulumi.Output<string> } {
    const cmd = new command.remote.Command(name, { ...a, delete: "true" }, { parent });
    const entry = cmd.stdout.apply(parseBackupStdout);
    return { command: cmd, manifest: entry.manifest, manifestKey: entry.manifestKey };
}

/**
 * One DTR metadata backup, streamed from a healthy replica into the backup bucket with a checksummed manifest. Its
 * output is the manifest, never backup bytes. A change to `triggers` takes a new backup; the old one stays in the
 * bucket (Object Lock), so deleting this resource deletes nothing.
 */
export class DtrBackup extends pulumi.ComponentResource {
    public readonly manifest: pulumi.Output<BackupManifest>;
    public readonly manifestKey: pulumi.Output<string>;
    /** The host the backup ran on. */
    public readonly ranOn: pulumi.Output<string>;
    public readonly command: command.remote.Command;

    constructor(name: string, args: DtrBackupArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dtr-ha:index:DtrBackup", name, {}, opts);
        if (args.hosts.length !== args.replicaIds.length) throw new Error("DtrBackup: hosts and replicaIds must pair up");
        const candidates = pulumi
            .all(args.hosts.map((h) => h.privateAddress))
            .apply((addresses) => args.replicaIds.map((id, i) => ({ id, address: addresses[i] })));
        // Which host runs it: the first whose replica answers /_ping, checked from here at deployment time (a host
        // whose engine is down cannot run `docker` at all). In previews, or when nothing answers, the first host.
        const chosen = pulumi.all([candidates, pulumi.output(args.triggers)]).apply(async ([c]) =>
            args.probe === false || pulumi.runtime.isDryRun()
                ? 0
                : await firstHealthy(
                      c.map((x) => x.address),
                      args.httpsPort ?? 443,
                  ),
        );
        const script = pulumi.all([candidates, pulumi.output(args.target) as pulumi.Output<BackupTarget>]).apply(([c, target]) =>
            dtrBackupScript({
                image: args.image,
                ucp: args.ucp,
                run: args.run,
                candidates: c,
                httpsPort: args.httpsPort,
                cluster: args.clusterName,
                sourceStack: args.sourceStack,
                target,
            }),
        );
        ({
            command: this.command,
            manifest: this.manifest,
            manifestKey: this.manifestKey,
        } = backupCommand(`${name}-dtr`, this, {
            connection: chosen.apply((i) => args.hosts[i].connection) as pulumi.Output<command.types.input.remote.ConnectionArgs>,
            environment: {
                ...agentEnvironment(args.s3),
                [SECRET_ENV.ucpPassword]: pulumi.secret(args.ucpPassword),
                [USERNAME_ENV]: args.ucp.username,
                ...(args.stackConfig !== undefined ? { [STACK_CONFIG_ENV]: args.stackConfig } : {}),
            },
            create: script,
            triggers: args.triggers,
        }));
        this.ranOn = chosen.apply((i) => args.hosts[i].name);
        this.registerOutputs({
            manifest: this.manifest,
            manifestKey: this.manifestKey,
            ranOn: this.ranOn,
            // For the policy pack: the agent image a backup runs (pinned by digest in production).
            agentImage: pulumi.output(args.target).apply((t) => t.agentImage),
        });
    }
}

import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { DtrImage, RunOptions, SECRET_ENV, UcpConnection } from "../dtr-cli/commands";
import { USERNAME_ENV } from "../dtr-cli/api";
import { DtrHost } from "../hosts/dtr-host";
import { BackupTarget, MANIFEST_LINE, dtrBackupScript } from "./scripts";
import { firstHealthy } from "./probe";
import { BackupS3Access, agentEnvironment } from "./agent-env";

export interface DtrBackupArgs {
    clusterName: string;
    /** The stack the backup comes from (recorded in the manifest). */
    sourceStack?: string;
    /** The cluster's hosts, in order of preference (the first healthy one runs the backup). */
    hosts: DtrHost[];
    /** Their replica ids, in the same order. */
    replicaIds: string[];
    image: DtrImage;
    ucp: UcpConnection;
    ucpPassword: pulumi.Input<string>;
    run?: RunOptions;
    httpsPort?: number;
    target: pulumi.Input<BackupTarget>;
    s3: BackupS3Access;
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
        this.command = new command.remote.Command(
            `${name}-dtr`,
            {
                connection: chosen.apply((i) => args.hosts[i].connection) as pulumi.Output<command.types.input.remote.ConnectionArgs>,
                environment: {
                    ...agentEnvironment(args.s3),
                    [SECRET_ENV.ucpPassword]: pulumi.secret(args.ucpPassword),
                    [USERNAME_ENV]: args.ucp.username,
                },
                create: script,
                triggers: args.triggers,
                // A backup is taken once per trigger; deleting the resource keeps the backup (it is locked anyway).
                delete: "true",
            },
            { parent: this },
        );
        const entry = this.command.stdout.apply(parseBackupStdout);
        this.manifest = entry.manifest;
        this.manifestKey = entry.manifestKey;
        this.ranOn = chosen.apply((i) => args.hosts[i].name);
        this.registerOutputs({ manifest: this.manifest, manifestKey: this.manifestKey, ranOn: this.ranOn });
    }
}

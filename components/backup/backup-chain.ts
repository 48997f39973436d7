import * as pulumi from "@pulumi/pulumi";
import { DtrBackup, DtrBackupArgs } from "./dtr-backup";
import { SwarmBackup, SwarmBackupArgs } from "./swarm-backup";
import { UcpBackup, UcpBackupArgs } from "./ucp-backup";

export interface BackupChainArgs {
    /** Optional: a Swarm backup from a non-leader manager. */
    swarm?: Omit<SwarmBackupArgs, "triggers">;
    /** Optional: a UCP backup from a UCP manager. */
    ucp?: Omit<UcpBackupArgs, "triggers">;
    dtr: Omit<DtrBackupArgs, "triggers">;
    /** Any change takes a new set of backups. */
    triggers: pulumi.Input<unknown>[];
}

/**
 * The documented backup order: Swarm, then UCP, then DTR (docker/docs ee/admin/backup). Each waits for the one before,
 * so a failed Swarm backup stops the others and a set of manifests always describes one point in time.
 */
export class BackupChain extends pulumi.ComponentResource {
    public readonly swarm?: SwarmBackup;
    public readonly ucp?: UcpBackup;
    public readonly dtr: DtrBackup;

    constructor(name: string, args: BackupChainArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dtr-ha:index:BackupChain", name, {}, opts);
        const parent = { parent: this };
        this.swarm = args.swarm ? new SwarmBackup(`${name}-swarm`, { ...args.swarm, triggers: args.triggers }, parent) : undefined;
        this.ucp = args.ucp
            ? new UcpBackup(
                  `${name}-ucp`,
                  { ...args.ucp, triggers: args.triggers },
                  { ...parent, dependsOn: this.swarm ? [this.swarm.command] : [] },
              )
            : undefined;
        const before = this.ucp?.command ?? this.swarm?.command;
        this.dtr = new DtrBackup(`${name}-dtr`, { ...args.dtr, triggers: args.triggers }, { ...parent, dependsOn: before ? [before] : [] });
        this.registerOutputs({
            swarmManifestKey: this.swarm?.manifestKey,
            ucpManifestKey: this.ucp?.manifestKey,
            dtrManifestKey: this.dtr.manifestKey,
        });
    }
}

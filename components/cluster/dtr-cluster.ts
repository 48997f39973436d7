import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import {
    DtrImage,
    RunOptions,
    SECRET_ENV,
    UcpConnection,
    assertExternalUrlMatchesPort,
    destroyCommand,
    installCommand,
    pullCommand,
} from "../dtr-cli/commands";
import { USERNAME_ENV } from "../dtr-cli/api";
import { DtrHost } from "../hosts/dtr-host";
import { overlayCheckScript, overlaySubnetProblems } from "../network";
import {
    S3Settings,
    STORAGE_SETTINGS_ENV,
    applyStorageSettingsScript,
    dtrStorageSettings,
    restoredStorageSettingsScript,
} from "../storage/settings";
import { StorageIdentity, configuredStorageIdentity } from "../storage/identity";
import { healthGateScript } from "./health-gate";
import {
    AGE_IDENTITY_ENV,
    BackupTarget,
    HostScript,
    clearReplicasStep,
    dtrBackupScript,
    dtrRestoreStep,
    restoreCheckStep,
    restoreVerifyStep,
} from "../backup/scripts";
import { BackupS3Access, agentEnvironment } from "../backup/agent-env";
import { assertPlacement, assertReplicaCount, replicaIds as computeReplicaIds, restoredReplicaIds, TopologyError } from "./topology";
import { MEMBER_ENV, joinStep, removeStep, upgradeFunctions, waitGoneScript } from "./membership";
import { probeReplicas } from "./probe";
import { viaEnvironment, viaManagerEnvironment, viaScript } from "../hosts/via-ssh";
import { OVERLAY_CHECK_COMMAND, OVERLAY_DELETE_COMMAND, overlayRemovalScripts } from "../network/overlay-removal";
import { OWNER_ENV, assertOwner, currentOwner, guarded, ownerEnvironment, ownershipScript, required } from "../hosts/ownership";

export interface DtrClusterArgs {
    /** Name of this DTR cluster; with the host names it fixes the replica ids. */
    clusterName: string;
    /** Replica hosts in order: the first gets `install`, the others `join`, one at a time. 3, 5 or 7. */
    hosts: DtrHost[];
    /** Explicit replica ids per host (12 hex); a missing entry is derived from cluster and host name. */
    replicaIds?: (string | undefined)[];
    /** Allow two replicas in one zone (never a majority). Default false. */
    allowZoneSharing?: boolean;
    /** The DTR image; a new `version` runs `upgrade`, never a reinstall. */
    image: DtrImage;
    /** UCP endpoint and admin user. */
    ucp: UcpConnection;
    /** UCP admin password (a secret): passed to DTR in `UCP_PASSWORD`, never on a command line. */
    ucpPassword: pulumi.Input<string>;
    /** `https://fqdn[:port]` of the load balancer; its port must equal `httpsPort`. */
    externalUrl: string;
    /** Replica HTTP port, default 80. */
    httpPort?: number;
    /** Replica HTTPS port, default 443. */
    httpsPort?: number;
    /** Subnet of the `dtr-ol` overlay network (`--overlay-subnet`). */
    overlaySubnet: string;
    /**
     * Swarm (UCP) managers, reached with the hosts' SSH key, for swarm-level steps: destroy removes dtr-ol through the
     * first that answers (DTR hosts are workers, where that fails). Without any, destroy leaves dtr-ol on the swarm.
     */
    swarmManagers?: pulumi.Input<{ host: string; port?: number; user?: string; hostKey: string }[]>;
    /** CIDRs the overlay subnet must not overlap (VPC, host networks, Docker pools). */
    overlayAvoid?: { vpcCidrs?: string[]; hostNetworks?: string[]; dockerPools?: string[] };
    /** Image-layer storage. Omitted: DTR's local filesystem, refused for more than one replica. */
    storage?: { s3: pulumi.Input<S3Settings> };
    /**
     * Health gate limits. `probeFromHere`: every preview and up also asks each replica's `/_ping` from the machine
     * running Pulumi and warns, by replica, about those that do not answer (turn on when that machine reaches the
     * replicas' private addresses; default false). `checkSeconds`: how long a later up waits for a degraded cluster to be
     * whole before reporting it (default 60).
     */
    healthGate?: { timeoutSeconds?: number; intervalSeconds?: number; probeFromHere?: boolean; checkSeconds?: number };
    /** Options for the bootstrap container (the lab's dtr-sim needs the engine socket). */
    run?: RunOptions;
    /** Pull the DTR image on every host before installing (default true). */
    prePull?: boolean;
    /** A production cluster refuses `--ucp-insecure-tls`. */
    production?: boolean;
    /** Where the backup taken before every DTR version change goes; without it, upgrades run without one. */
    preUpgradeBackup?: { target: pulumi.Input<BackupTarget>; s3: BackupS3Access };
    /** How the first replica comes to be: `install` (default) or `restore` from a backup manifest. */
    bootstrap?: { mode: "install" } | RestoreBootstrap;
    /**
     * The stack that owns the replicas (`organization/project/stack`), recorded on each host. Default: this program's
     * stack. Destructive steps act only on replicas this owner holds; a restore into another stack takes them over.
     */
    owner?: string;
}

/** What the steps run from this machine send to the hosts (their sshd accepts DTR_* and UCP_*). */
const GATE_SENDS = [USERNAME_ENV, SECRET_ENV.ucpPassword, OWNER_ENV.owner];
const LEAVE_SENDS = [...GATE_SENDS, MEMBER_ENV.memberId, MEMBER_ENV.candidates, MEMBER_ENV.httpsPort];
/** The leave step's delete: remove through another reachable host, then let go of the leaving host's record. */
const LEAVE_TAIL = [
    'via_first "$DTR_HA_REMOVE_SCRIPT" "$DTR_HA_LEAVING" || exit 1',
    'if via_on "$DTR_HA_LEAVING" "$DTR_HA_RELEASE_SCRIPT"; then :',
    'elif [ "$via_state" = unreachable ]; then',
    '  echo "dtr-ha: $DTR_HA_LEAVING is unreachable: its ownership record stays there (docker volume rm dtrha_owner_$DTR_HA_MEMBER_ID if it comes back)"',
    "else exit 1; fi",
].join("\n");

/** Restore the cluster from a backup: verify it, clear the hosts, restore replica 1, join the rest. */
export interface RestoreBootstrap {
    mode: "restore";
    /** The backup agent image on the hosts (an output when the stack builds and pulls it). */
    agentImage: pulumi.Input<string>;
    bucket: pulumi.Input<string>;
    /** `.../manifests/<cluster>/<time>-dtr.manifest.json` */
    manifestKey: string;
    s3: BackupS3Access;
    /** The age secret key, when the backup was encrypted (a secret). */
    ageIdentity?: pulumi.Input<string>;
    /** Destroy replicas found on the hosts first. Default false: their presence refuses the restore. */
    destroyExisting?: boolean;
    /**
     * The id of the replica the backup was taken from (the manifest's `replicaId`): DTR restores with it
     * (ee/admin/restore/restore-dtr.md). The restore step refuses, before anything changes, a manifest that says otherwise.
     */
    replicaId: string;
    /** The host the restore ran on, which keeps that id; default: the first host (recover may move another one first). */
    restoredOn?: string;
}

/**
 * A highly available DTR over existing hosts: install on the first, storage settings, joins one after another, the
 * `dtr-ol` check on every replica, then the health gate. Everything runs through `@pulumi/command` over SSH.
 */
export class DtrCluster extends pulumi.ComponentResource {
    /** Replica ids in host order. */
    public readonly replicaIds: pulumi.Output<string[]>;
    /** The same ids as plain values (known before any resource exists), for components that build commands. */
    public readonly ids: string[];
    public readonly replicaCount: pulumi.Output<number>;
    public readonly hostNames: pulumi.Output<string[]>;
    /** One zone per replica, in host order. */
    public readonly zones: pulumi.Output<string[]>;
    /** "s3" or "filesystem". */
    public readonly storageKind: pulumi.Output<string>;
    public readonly imageVersion: pulumi.Output<string>;
    public readonly externalUrl: pulumi.Output<string>;
    /** The health gate's last line (`dtr-ha health: healthy: 3 replicas OK ...`). */
    public readonly health: pulumi.Output<string>;
    /** Restore mode: the restore check's verdict (`metadata matches the backup: ...`); empty otherwise. */
    public readonly restored: pulumi.Output<string>;
    /** `dtr-ol` as seen on each replica: `overlay true <subnet>`. */
    public readonly overlayFacts: pulumi.Output<string[]>;
    /** The command resources, for callers that must order work after them (backups, restores). */
    public readonly installCommand: command.remote.Command;
    public readonly joinCommands: command.remote.Command[];
    /** Per joined replica: the step whose delete removes it through a healthy replica (run from this machine over SSH). */
    public readonly leaveCommands: command.local.Command[];
    /** Every up: this stack still owns each reachable host's replica (from this machine over SSH; lost hosts named). */
    public readonly ownerCheck: command.local.Command;
    public readonly healthGate: command.local.Command;
    /** Restore mode only: the check that the restored metadata matches the backup's inventory. */
    public readonly restoreCheck?: command.remote.Command;
    /** Per host, the ownership step's line (`dtr-ha owner: replica <id> on <host> belongs to <stack> since <time>`). */
    public readonly owners: pulumi.Output<string[]>;

    constructor(name: string, args: DtrClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dtr-ha:index:DtrCluster", name, {}, opts);
        const { hosts } = args;
        validateClusterArgs(args);
        const names = hosts.map((h) => h.name);
        const derived = computeReplicaIds(args.clusterName, names, args.replicaIds);
        // Restore mode: the restore host keeps the backed-up replica's id; ownership records, joins, removes, the gate
        // and the outputs all follow from these ids.
        const ids =
            args.bootstrap?.mode === "restore"
                ? restoredReplicaIds(args.clusterName, names, derived, {
                      replicaId: args.bootstrap.replicaId,
                      host: args.bootstrap.restoredOn,
                  })
                : derived;
        const env = {
            [SECRET_ENV.ucpPassword]: pulumi.secret(args.ucpPassword),
            [USERNAME_ENV]: args.ucp.username,
        };
        const common = { image: args.image, ucp: args.ucp, run: args.run };
        const ports = { httpPort: args.httpPort, httpsPort: args.httpsPort };
        const child = (extra?: pulumi.CustomResourceOptions): pulumi.CustomResourceOptions => ({ parent: this, ...extra });

        const pulls = hosts.map((h) =>
            args.prePull === false
                ? undefined
                : new command.remote.Command(
                      `${name}-pull-${h.name}`,
                      {
                          connection: h.connection,
                          create: pullCommand(args.image),
                          triggers: [args.image.repository, args.image.version],
                      },
                      child({ dependsOn: h.ready }),
                  ),
        );
        const readyOn = (i: number): pulumi.Resource[] => [...(hosts[i].ready ?? []), ...(pulls[i] ? [pulls[i]!] : [])];
        const owner = assertOwner(args.owner ?? currentOwner());
        const restore = args.bootstrap?.mode === "restore" ? args.bootstrap : undefined;
        // Each replica's environment names its owner, so every delete can ask the host who owns the replica now.
        const envOf = (i: number) => ({ ...env, ...ownerEnvironment(owner, ids[i]) });

        // Re-running install or join would wreck a live replica, so their `update` only notes that nothing ran;
        // version changes go through the upgrade resource below, and `delete` always holds the current command.
        const noRerun = (what: string) => `echo "dtr-ha: ${what} is not re-run on change"`;

        // Restore mode: the restore takes each host's replica slot over from whichever stack held it, once, before the
        // clear step; a stack that already owns it is refused there (switching a live stack to restore would clear it).
        // The verify needs the agent, not DTR's image: it runs while the image is pulled (on a fresh host that pull is the
        // long part), and every step after it still waits for both.
        const restoreVerify = restore ? this.restoreVerifyStep(name, args, restore, ids[0], hosts[0].ready ?? [], child) : undefined;
        const takeOvers = restore
            ? hosts.map(
                  (h, i) =>
                      new command.remote.Command(
                          `${name}-restore-owner-${h.name}`,
                          {
                              connection: h.connection,
                              environment: {
                                  ...ownerEnvironment(owner, ids[i]),
                                  [OWNER_ENV.destroyExisting]: String(restore.destroyExisting ?? false),
                              },
                              create: ownershipScript("take_over"),
                              update: noRerun("taking the hosts over"),
                          },
                          child({ dependsOn: [restoreVerify!, ...readyOn(i)] }),
                      ),
              )
            : undefined;
        // Each host's record is claimed once, bound to that host. Nothing here runs again on a later up, and there is no
        // delete: a lost host must not stall an up. The record is let go by the step that removes the replica.
        const ownerSteps = hosts.map(
            (h, i) =>
                new command.remote.Command(
                    `${name}-owner-${h.name}`,
                    {
                        connection: h.connection,
                        environment: ownerEnvironment(owner, ids[i]),
                        create: ownershipScript("claim"),
                        update: ownershipScript("check"),
                    },
                    child({ dependsOn: [...readyOn(i), ...(takeOvers ? [takeOvers[i]] : [])] }),
                ),
        );
        // On every up (DTR_HA_RUN changes each run): this stack still owns each replica, or the up stops here, naming the
        // owner, before any step that changes the cluster. From this machine over SSH, so a lost host is named and passed
        // over in seconds instead of failing the up.
        const runId = `${Date.now()}-${Math.random().toString(16).slice(2, 10)}`;
        // The command text names the script's variable only, so a failure's message is the output, not 200 lines of script.
        const checkOwners = 'sh -c "$DTR_HA_OWNERS"';
        this.ownerCheck = new command.local.Command(
            `${name}-owners`,
            {
                environment: pulumi.all([viaEnvironment(hosts, ids, [OWNER_ENV.owner])]).apply(([via]) => ({
                    ...via,
                    [OWNER_ENV.owner]: owner,
                    [OWNER_ENV.run]: runId,
                    DTR_HA_OWNER_SCRIPT: ownershipScript("check"),
                    DTR_HA_OWNERS: viaScript('via_each "$DTR_HA_OWNER_SCRIPT"'),
                })),
                create: checkOwners,
                update: checkOwners,
            },
            child({ dependsOn: ownerSteps }),
        );
        const owned = [this.ownerCheck];

        const first = hosts[0];
        // Only when this stack owns the replica: after a rebuild the old stack's delete finds the new owner and leaves the
        // cluster be. DTR's destroy leaves dtr-ol behind: the network step below removes it through a manager.
        const destroyFirst = guarded(`${destroyCommand({ ...common, replicaId: ids[0] })} && owner_release`);
        // Created before the first replica, so deleted after it (and after every leave step, which follow the install).
        if (args.swarmManagers) {
            const scripts = overlayRemovalScripts();
            owned.push(
                new command.local.Command(
                    `${name}-network`,
                    {
                        environment: pulumi
                            .all([viaEnvironment(hosts, ids, []), pulumi.output(args.swarmManagers)])
                            .apply(([via, m]) => ({ ...via, ...viaManagerEnvironment(m), ...scripts })),
                        create: OVERLAY_CHECK_COMMAND,
                        update: OVERLAY_CHECK_COMMAND,
                        delete: OVERLAY_DELETE_COMMAND,
                    },
                    // Its create only checks the managers, so it runs beside the ownership steps; the install and restore
                    // wait for it (and so are deleted before it).
                    child({ dependsOn: hosts.flatMap((h) => h.ready ?? []) }),
                ),
            );
        }
        // The first replica keeps one identity across a switch of bootstrap mode (each name aliases the other), so the
        // switch never deletes it: its `update` only notes that nothing ran.
        if (!restore) {
            this.installCommand = new command.remote.Command(
                `${name}-install`,
                {
                    connection: first.connection,
                    environment: envOf(0),
                    create: pulumi.output(first.ucpNode).apply((node) =>
                        installCommand({
                            ...common,
                            ...ports,
                            ucpNode: node,
                            replicaId: ids[0],
                            externalUrl: args.externalUrl,
                            overlaySubnet: args.overlaySubnet,
                        }),
                    ),
                    update: noRerun("install"),
                    delete: destroyFirst,
                },
                child({ dependsOn: [...readyOn(0), ownerSteps[0], ...owned], aliases: [{ name: `${name}-restore` }] }),
            );
        } else {
            const agentEnv = restoreAgentEnv(restore);
            // 2. Every host must be free of replicas (DTR restores only into an empty cluster).
            const cleared = hosts.map(
                (h, i) =>
                    new command.remote.Command(
                        `${name}-restore-clear-${h.name}`,
                        {
                            connection: h.connection,
                            ...withStep(env, pulumi.output(clearReplicasStep({ ...common }, restore.destroyExisting ?? false))),
                            // One-shot: re-running it later would destroy the restored cluster itself.
                            update: noRerun("clearing the hosts"),
                        },
                        child({ dependsOn: [restoreVerify!, takeOvers![i], ...readyOn(i)] }),
                    ),
            );
            // 3. Restore the first replica from the verified backup; the others join below as in an install.
            this.installCommand = new command.remote.Command(
                `${name}-restore`,
                {
                    connection: first.connection,
                    ...withStep(
                        { ...envOf(0), ...agentEnv },
                        pulumi
                            .all([first.ucpNode, restore.bucket, restore.agentImage, configuredStorage(args)])
                            .apply(([node, bucket, agentImage, storage]) =>
                                dtrRestoreStep({
                                    restore: { ...common, ...ports, replicaId: ids[0], ucpNode: node, externalUrl: args.externalUrl },
                                    agentImage,
                                    bucket,
                                    manifestKey: restore.manifestKey,
                                    storage,
                                }),
                            ),
                    ),
                    update: noRerun("restore"),
                    delete: destroyFirst,
                },
                // Not after the every-up owner check: the restore acts on host1 only, whose record its own claim step just
                // read (after the take-over), so the check of every host runs beside it; each join still waits for it.
                child({
                    dependsOn: [...cleared, ownerSteps[0], ...owned.filter((r) => r !== this.ownerCheck)],
                    aliases: [{ name: `${name}-install` }],
                }),
            );
        }

        // Storage before any join: replicas joined over local storage would each keep their own blobs.
        let previous: pulumi.Resource = this.installCommand;
        if (args.storage) {
            previous = new command.remote.Command(
                `${name}-storage`,
                {
                    connection: first.connection,
                    environment: {
                        ...env,
                        [STORAGE_SETTINGS_ENV]: pulumi.secret(
                            pulumi.output(args.storage.s3).apply((s) => JSON.stringify(dtrStorageSettings(s))),
                        ),
                    },
                    // After a restore the backup's settings are back: compared, never re-sent (a switch erases tags).
                    create: (restore ? restoredStorageSettingsScript : applyStorageSettingsScript)({
                        externalUrl: args.externalUrl,
                        httpsPort: args.httpsPort,
                    }),
                },
                child({ dependsOn: [this.installCommand, ...ownerSteps, ...owned] }),
            );
        }

        this.joinCommands = [];
        this.leaveCommands = [];
        let previousLeave: pulumi.Resource | undefined;
        const candidates = pulumi
            .all(hosts.map((h) => h.privateAddress))
            .apply((addresses) => ids.map((id, i) => ({ id, address: addresses[i] })));
        for (let i = 1; i < hosts.length; i++) {
            const h = hosts[i];
            // Through whichever other declared replica is healthy when it runs (no special replica): a lost install
            // host stops neither a join nor a remove.
            const steps = pulumi.all([h.ucpNode, candidates]).apply(([node, cands]) => ({
                join: joinStep({ ...common, ...ports, ucpNode: node, replicaId: ids[i] }, cands),
                remove: removeStep({ ...common, httpsPort: args.httpsPort, replicaId: ids[i] }, cands),
            }));
            const join = new command.remote.Command(
                `${name}-join-${h.name}`,
                {
                    connection: h.connection,
                    environment: pulumi.all([pulumi.output(envOf(i)), steps]).apply(([e, st]) => ({ ...e, ...st.join.env })),
                    create: steps.join.script,
                    update: noRerun("join"),
                },
                // Strictly one join at a time: each waits for the previous one (DTR-FACTS: joins are sequential).
                child({ dependsOn: [previous, ...readyOn(i), ownerSteps[i], ...owned] }),
            );
            // Removing a host from the config removes its replica through another reachable host's engine and a healthy
            // replica (never over SSH to the host leaving, which may be lost), then lets go of its record if it answers.
            const note = `echo "dtr-ha: replica ${ids[i]} on ${h.name} is removed through a healthy replica when ${h.name} leaves the config"`;
            const leave = new command.local.Command(
                `${name}-leave-${h.name}`,
                {
                    environment: pulumi.all([viaEnvironment(hosts, ids, LEAVE_SENDS), pulumi.output(env), steps]).apply(([via, e, st]) => ({
                        ...via,
                        ...e,
                        ...st.remove.env,
                        [OWNER_ENV.owner]: owner,
                        DTR_HA_LEAVING: h.name,
                        DTR_HA_REMOVE_SCRIPT: guarded(st.remove.script),
                        // Only for a replica this stack still owns: after a rebuild the same id runs on for the new stack.
                        DTR_HA_RELEASE_SCRIPT: guarded(`${waitGoneScript()}\n${ownershipScript("release")}`),
                        DTR_HA_LEAVE: viaScript(LEAVE_TAIL),
                    })),
                    create: note,
                    update: note,
                    delete: 'sh -c "$DTR_HA_LEAVE"',
                },
                // Deleted one at a time, last joined first (DTR removes a replica only while every other one is healthy).
                child({ dependsOn: [join, ...(previousLeave ? [previousLeave] : [])] }),
            );
            this.joinCommands.push(join);
            this.leaveCommands.push(leave);
            previous = join;
            previousLeave = leave;
        }

        const replicaCommands = [this.installCommand, ...this.joinCommands];
        const overlayChecks = hosts.map(
            (h, i) =>
                new command.remote.Command(
                    `${name}-overlay-${h.name}`,
                    {
                        connection: h.connection,
                        // DTR's restore takes no --overlay-subnet (reference/dtr/2.6/cli/restore.md), so after a restore
                        // dtr-ol gets whatever subnet DTR picks: check driver and attachability, and report the subnet.
                        create: overlayCheckScript(restore ? undefined : args.overlaySubnet),
                        triggers: [ids[i], args.overlaySubnet],
                    },
                    child({ dependsOn: [replicaCommands[i]] }),
                ),
        );

        // The version marker: created once after the cluster forms; a new image version makes it run `upgrade`
        // from the first replica (DTR upgrades every replica from there). Same version: nothing runs.
        const preUpgrade = args.preUpgradeBackup;
        const versionStep = new command.remote.Command(
            `${name}-version`,
            {
                connection: first.connection,
                environment: pulumi
                    .all([pulumi.output(envOf(0)), candidates, pulumi.output(preUpgrade ? agentEnvironment(preUpgrade.s3) : {})])
                    .apply(([e, cands, agent]) => ({
                        ...e,
                        ...agent,
                        ...upgradeFunctions({ ...common, httpsPort: args.httpsPort }, cands).env,
                    })),
                create: `echo "dtr-version: ${args.image.version}"`,
                update: pulumi
                    .all([pulumi.all(hosts.map((h) => h.privateAddress)), pulumi.output(preUpgrade?.target), candidates])
                    .apply(([addresses, target, cands]) =>
                        // An upgrade is a requested change: on a replica another stack owns it fails instead of skipping.
                        // It goes through the first declared replica that answers (no special replica).
                        upgradeScriptOwned(
                            args.image.version,
                            "member_upgrade",
                            target
                                ? withPreviousVersion(
                                      dtrBackupScript({
                                          image: { repository: args.image.repository, version: PREVIOUS_VERSION },
                                          ucp: args.ucp,
                                          run: args.run,
                                          candidates: ids.map((id, i) => ({ id, address: addresses[i] })),
                                          httpsPort: args.httpsPort,
                                          cluster: args.clusterName,
                                          target: target as BackupTarget,
                                      }),
                                  )
                                : undefined,
                            upgradeFunctions({ ...common, httpsPort: args.httpsPort }, cands).script,
                        ),
                    ),
                triggers: [args.image.repository, args.image.version],
            },
            // Not after the overlay checks (read-only): they run beside it, and the health gate waits for both.
            child({ dependsOn: [previous, ...ownerSteps, ...owned] }),
        );

        const gate = (mode: "wait" | "check") =>
            pulumi.all(hosts.map((h) => h.privateAddress)).apply((addresses) =>
                healthGateScript({
                    replicas: ids.map((id, i) => ({ id, address: addresses[i] })),
                    externalUrl: args.externalUrl,
                    httpsPort: args.httpsPort,
                    timeoutSeconds: args.healthGate?.timeoutSeconds,
                    intervalSeconds: args.healthGate?.intervalSeconds,
                    checkSeconds: args.healthGate?.checkSeconds,
                    mode,
                }),
            );
        // From this machine over SSH through the first host that answers: a lost host (even the first) is reported
        // DEGRADED by replica and failure class, not a dial timeout. DTR_HA_RUN changes every run, so every later up
        // reads the live cluster again (`update`, check mode): the health output is never stale.
        const gateEnv = pulumi.all([viaEnvironment(hosts, ids, GATE_SENDS), pulumi.output(env)]).apply(([via, e]) => ({
            ...via,
            ...e,
            [OWNER_ENV.owner]: owner,
            [OWNER_ENV.run]: runId,
        }));
        this.healthGate = new command.local.Command(
            `${name}-health`,
            {
                environment: pulumi.all([gateEnv, gate("wait"), gate("check")]).apply(([e, w, c]) => ({
                    ...e,
                    DTR_HA_GATE_WAIT: w,
                    DTR_HA_GATE_CHECK: c,
                    DTR_HA_HEALTH: viaScript(
                        'if [ "$1" = wait ]; then via_first "$DTR_HA_GATE_WAIT"; else via_first "$DTR_HA_GATE_CHECK"; fi',
                    ),
                })),
                create: 'sh -c "$DTR_HA_HEALTH" dtr-ha-health wait',
                update: 'sh -c "$DTR_HA_HEALTH" dtr-ha-health check',
                triggers: [...ids, args.image.version],
            },
            child({ dependsOn: [versionStep, ...overlayChecks] }),
        );
        if (args.healthGate?.probeFromHere) {
            pulumi.all(hosts.map((h) => h.privateAddress)).apply((addresses) =>
                probeReplicas(
                    ids.map((id, i) => ({ id, host: hosts[i].name, address: addresses[i] })),
                    args.httpsPort ?? 443,
                ).then((down) =>
                    down.forEach((d) =>
                        pulumi.log.warn(
                            `dtr-ha: replica ${d.id} on ${d.host} (${d.address}) does not answer /_ping from here (${d.reason}): ` +
                                `this up reports the cluster DEGRADED or stops; the plan: npm run recover -- --stack ${pulumi.getStack()}`,
                            this,
                        ),
                    ),
                ),
            );
        }

        this.ids = ids;
        // After a restore: the cluster must hold what the backup held (inventory fingerprint from its manifest).
        if (restore) {
            this.restoreCheck = new command.remote.Command(
                `${name}-restore-check`,
                {
                    connection: first.connection,
                    ...withStep(
                        { ...env, ...agentEnvironment(restore.s3) },
                        pulumi.all([restore.bucket, restore.agentImage]).apply(([bucket, agentImage]) =>
                            restoreCheckStep({
                                agentImage,
                                bucket,
                                manifestKey: restore.manifestKey,
                                httpsPort: args.httpsPort,
                            }),
                        ),
                    ),
                    // One-shot: the registry may rightly hold more than the backup later on.
                    update: noRerun("the restore check"),
                },
                child({ dependsOn: [this.healthGate] }),
            );
        }
        this.replicaIds = pulumi.output(ids);
        this.replicaCount = pulumi.output(hosts.length);
        this.hostNames = pulumi.output(hosts.map((h) => h.name));
        this.zones = pulumi.output(hosts.map((h) => h.zone));
        this.storageKind = pulumi.output(args.storage ? "s3" : "filesystem");
        this.imageVersion = pulumi.output(args.image.version);
        this.externalUrl = pulumi.output(args.externalUrl);
        this.health = this.healthGate.stdout;
        this.restored = this.restoreCheck ? this.restoreCheck.stdout : pulumi.output("");
        this.overlayFacts = pulumi.all(overlayChecks.map((c) => c.stdout));
        this.owners = this.ownerCheck.stdout.apply((o) => o.split("\n").filter((l) => l.startsWith("dtr-ha owner:")));
        this.registerOutputs({
            replicaIds: this.replicaIds,
            replicaCount: this.replicaCount,
            hostNames: this.hostNames,
            zones: this.zones,
            storageKind: this.storageKind,
            imageVersion: this.imageVersion,
            externalUrl: this.externalUrl,
            health: this.health,
            restored: this.restored,
            overlayFacts: this.overlayFacts,
            owners: this.owners,
            // For the policy pack: production stacks refuse unsafe flags.
            production: args.production ?? false,
        });
    }
    /** Restore step 1: nothing destructive before the backup is proven whole and of the right DTR version. */
    private restoreVerifyStep(
        name: string,
        args: DtrClusterArgs,
        restore: RestoreBootstrap,
        replicaId: string,
        dependsOn: pulumi.Resource[],
        child: (extra?: pulumi.CustomResourceOptions) => pulumi.CustomResourceOptions,
    ): command.remote.Command {
        return new command.remote.Command(
            `${name}-restore-verify`,
            {
                connection: args.hosts[0].connection,
                ...withStep(
                    restoreAgentEnv(restore),
                    pulumi.all([restore.bucket, restore.agentImage, configuredStorage(args)]).apply(([bucket, agentImage, storage]) =>
                        restoreVerifyStep({
                            agentImage,
                            bucket,
                            manifestKey: restore.manifestKey,
                            expectedDtrVersion: args.image.version,
                            replicaId,
                            storage,
                        }),
                    ),
                ),
                // One-shot: after the restore, later changes (a new image version) must not re-check an old backup.
                update: `echo "dtr-ha: restore verification is not re-run on change"`,
            },
            child({ dependsOn }),
        );
    }
}

/**
 * A host script whose text is constant and whose values travel as data: `create` is the script, the values join the
 * command's environment (names fixed by the builder; sshd must AcceptEnv DTR_*).
 */
function withStep(
    base: Record<string, pulumi.Input<string>>,
    step: pulumi.Output<HostScript>,
): { create: pulumi.Output<string>; environment: pulumi.Output<Record<string, string>> } {
    return {
        create: step.script,
        environment: pulumi.all([pulumi.output(base), step]).apply(([b, h]) => ({ ...b, ...h.env })),
    };
}

/**
 * The storage the configuration gives DTR, as the restore steps compare it with the backup's (before anything changes).
 * Only bucket, region, root directory and endpoint: no key, so it is taken out of the secret the settings travel in
 * (they hold the S3 keys), and the step's script stays readable.
 */
function configuredStorage(args: DtrClusterArgs): pulumi.Output<StorageIdentity | undefined> {
    if (!args.storage) return pulumi.output(undefined);
    return pulumi.unsecret(pulumi.output(args.storage.s3).apply((s) => configuredStorageIdentity(s)));
}

/** The agent's S3 access, plus the age identity when the restore has one (a secret). */
function restoreAgentEnv(restore: RestoreBootstrap): Record<string, pulumi.Input<string>> {
    return {
        ...agentEnvironment(restore.s3),
        ...(restore.ageIdentity !== undefined ? { [AGE_IDENTITY_ENV]: pulumi.secret(restore.ageIdentity) } : {}),
    };
}

/** The version step's update, run only while this stack owns the first replica (see `upgradeScript`). */
export function upgradeScriptOwned(version: string, upgrade: string, backupWithPrevious?: string, functions?: string): string {
    return required(`${functions ? `${functions}\n` : ""}${upgradeScript(version, upgrade, backupWithPrevious)}`);
}

/** All checks that need no cloud call; throws one error listing every problem. Exported for direct tests. */
export function validateClusterArgs(args: DtrClusterArgs): void {
    const problems: string[] = [];
    const attempt = (f: () => void) => {
        try {
            f();
        } catch (e) {
            problems.push((e as Error).message);
        }
    };
    attempt(() => assertReplicaCount(args.hosts.length, "hosts (replica count)"));
    attempt(() => assertPlacement(args.hosts, args.allowZoneSharing ?? false));
    attempt(() => assertExternalUrlMatchesPort(args.externalUrl, args.httpsPort ?? 443));
    const overlay = overlaySubnetProblems(args.overlaySubnet, args.overlayAvoid ?? {});
    if (overlay.length) problems.push(`overlaySubnet=${JSON.stringify(args.overlaySubnet)}: ${overlay.join("; ")}`);
    if (!args.storage && args.hosts.length > 1) {
        problems.push(
            "storage is not set: DTR would keep image layers on each replica's local filesystem, which is not shared. " +
                "Give S3 storage (storage.s3) for a multi-replica cluster.",
        );
    }
    if (args.production && args.ucp.insecureTls) {
        problems.push("ucp.insecureTls is true in a production cluster: give ucp.ca (UCP's CA certificate) instead");
    }
    if (args.bootstrap?.mode === "restore") {
        const r = args.bootstrap;
        attempt(() => {
            if (!/^[0-9a-f]{12}$/.test(String(r.replicaId)))
                throw new Error(
                    `bootstrap.replicaId=${JSON.stringify(r.replicaId)}: the backed-up replica's id is 12 lower-case hex characters, as the backup's manifest records it (npm run backups -- list shows it; npm run rebuild sets it)`,
                );
        });
    }
    if (!args.clusterName || !/^[a-z0-9][a-z0-9-]{0,40}$/.test(args.clusterName)) {
        problems.push(`clusterName=${JSON.stringify(args.clusterName)}: use 1-41 of a-z, 0-9 and -, starting with a letter or digit`);
    }
    if (problems.length) {
        throw new TopologyError(`DtrCluster is not valid:\n- ${problems.join("\n- ")}`);
    }
}

/** The version step's update: upgrade only when the recorded version differs; back up with the old version first. */
export function upgradeScript(version: string, upgrade: string, backupWithPrevious?: string): string {
    return [
        "set -eu",
        `want='${version}'`,
        `prev=$(printf '%s\\n' "\${PULUMI_COMMAND_STDOUT:-}" | sed -n 's/^dtr-version: //p' | tail -n 1)`,
        'if [ "$prev" != "$want" ]; then',
        ...(backupWithPrevious
            ? [
                  // A backup of the running version before it changes: the upgrade runs only when it succeeded.
                  '  case "$prev" in ""|*[!A-Za-z0-9_.-]*) echo "dtr-ha: the installed DTR version is unknown; refusing to upgrade without a backup" >&2; exit 1;; esac',
                  '  echo "dtr-ha: backing up DTR $prev before upgrading to $want" >&2',
                  `  ( ${backupWithPrevious} ) >&2 || { echo "dtr-ha: the pre-upgrade backup failed; DTR was not upgraded" >&2; exit 1; }`,
              ]
            : []),
        '  echo "dtr-ha: upgrading DTR from ${prev:-unknown} to $want" >&2',
        `  ${upgrade} >&2`,
        "fi",
        'echo "dtr-version: $want"',
    ].join("\n");
}

/** Marker used as the image version in a backup script that must run with the previously installed version. */
export const PREVIOUS_VERSION = "DTR_HA_PREVIOUS_VERSION";

/** Puts `$prev` (validated by `upgradeScript`) where the marker version stands. */
export function withPreviousVersion(script: string): string {
    return script.split(`:${PREVIOUS_VERSION}`).join(':"$prev"').split(`=${PREVIOUS_VERSION}`).join('="$prev"');
}

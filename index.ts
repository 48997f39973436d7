/**
 * The stack program: typed, validated configuration in, components out. Pulumi calls the exported function (both
 * `pulumi up` from the CLI and the Automation API's inline programs in stacks/ use it), and its result becomes the
 * stack outputs.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import {
    AgentImage,
    AwsHosts,
    BackupS3Access,
    BackupSchedule,
    BackupTarget,
    DtrBackupBucket,
    DtrCluster,
    DtrHost,
    DtrStorage,
    S3Settings,
    BackupChain,
    existingHosts,
    pullAgentImage,
} from "./components";
import { readStackConfig } from "./components/config";
import { programIsSecret, stackConfigDocument } from "./components/backup/stack-config";

function dtrStack() {
    const { config, secret } = readStackConfig();
    const { cluster } = config;

    let storage: DtrStorage | undefined;
    let s3: pulumi.Input<S3Settings>;
    if (config.storage.mode === "aws") {
        const a = config.storage.aws;
        const replication = a.replicationRegion
            ? { provider: new aws.Provider("dr-region", { region: a.replicationRegion as aws.Region }) }
            : undefined;
        storage = new DtrStorage(cluster.name, {
            noncurrentVersionExpirationDays: a.noncurrentVersionExpirationDays,
            replication,
            forceDestroy: a.forceDestroy,
        });
        s3 = storage.settings;
    } else {
        const o = config.storage.s3;
        s3 = pulumi.all([secret("storageAccessKey"), secret("storageSecretKey")]).apply(([accessKey, secretKey]) => ({
            region: o.region,
            bucket: o.bucket,
            regionEndpoint: o.regionEndpoint,
            secure: o.secure,
            forcePathStyle: o.forcePathStyle,
            rootDirectory: o.rootDirectory,
            accessKey,
            secretKey,
        }));
    }

    // Backups: the bucket (created here, or an existing one) and how the agent on the hosts reaches it.
    let backupTarget: pulumi.Output<BackupTarget> | undefined;
    let backupS3: BackupS3Access | undefined;
    let backupBucket: DtrBackupBucket | undefined;
    if (config.backup) {
        const b = config.backup;
        if (b.mode === "aws") {
            backupBucket = new DtrBackupBucket(cluster.name, { lockMode: b.lockMode, retentionDays: b.retentionDays });
            backupS3 = { region: (config.hosts.mode === "aws" && config.hosts.aws.region) || aws.config.region || "us-east-1" };
        } else {
            backupS3 = { ...b.s3!, accessKey: secret("backupAccessKey"), secretKey: secret("backupSecretKey") };
        }
    }
    // The agent image: configured (pinned by digest in production), or on AWS built here into the stack's own ECR
    // repository (never the DTR it backs up) and pulled by digest on every host that runs it.
    const agentImage =
        config.backup && config.backup.agentImage === undefined
            ? new AgentImage(cluster.name, {
                  repositoryName: `${cluster.name}/dtr-ha-backup`,
                  replicationRegion:
                      config.backup.agentImageReplicationRegion ??
                      (config.storage.mode === "aws" ? config.storage.aws.replicationRegion : undefined),
              })
            : undefined;

    let hosts: DtrHost[];
    let loadBalancer: pulumi.Output<string> | undefined;
    if (config.hosts.mode === "existing") {
        hosts = existingHosts(config.hosts.existing, secret("sshPrivateKey"));
    } else {
        const a = config.hosts.aws;
        const awsHosts = new AwsHosts(cluster.name, {
            clusterName: cluster.name,
            replicas: cluster.replicas,
            vpcId: a.vpcId,
            vpcCidr: a.vpcCidr,
            subnets: a.subnets,
            allowZoneSharing: cluster.allowZoneSharing,
            amiId: a.amiId,
            instanceType: a.instanceType,
            rootVolumeGb: a.rootVolumeGb,
            sshUser: a.sshUser,
            sshPublicKey: a.sshPublicKey,
            sshPrivateKey: secret("sshPrivateKey"),
            sshCidrs: a.sshCidrs,
            connectVia: a.connectVia,
            clientCidrs: a.clientCidrs,
            loadBalancerScheme: a.loadBalancerScheme,
            engine: a.engine,
            swarm: { managerAddress: a.swarmManagerAddress, joinToken: secret("swarmJoinToken") },
            ucp: { url: config.ucp.url, username: config.ucp.username, caPem: config.ucp.ca, insecureTls: config.ucp.insecureTls },
            ucpPassword: secret("ucpPassword"),
            instancePolicyArns: [...(storage ? [storage.accessPolicy.arn] : []), ...(backupBucket ? [backupBucket.writerPolicy.arn] : [])],
        });
        hosts = awsHosts.hosts;
        loadBalancer = awsHosts.loadBalancerDnsName;
    }

    const managerConnection = (m: { address: string; port: number; user: string; hostKey: string }) => ({
        host: m.address,
        port: m.port,
        user: m.user,
        hostKey: m.hostKey,
        privateKey: secret("sshPrivateKey"),
    });
    const managers = [config.backup?.swarm, config.backup?.ucp].filter((m) => m !== undefined);
    const agentRef: pulumi.Output<string> | undefined = config.backup
        ? agentImage
            ? pullAgentImage(cluster.name, {
                  reference: agentImage.reference,
                  auth: agentImage.pullAuth,
                  hosts: [
                      ...hosts.map((h) => ({ name: h.name, connection: h.connection })),
                      ...managers.map((m, i) => ({ name: `manager-${i}`, connection: managerConnection(m) })),
                  ],
              })
            : pulumi.output(config.backup.agentImage!)
        : undefined;
    if (config.backup) {
        const b = config.backup;
        backupTarget = pulumi.all([backupBucket ? backupBucket.bucketName : b.bucket!, agentRef!]).apply(([bucket, agentImage]) => ({
            agentImage,
            bucket,
            prefix: b.prefix,
            recipients: b.recipients,
            lock: { mode: b.lockMode, days: b.retentionDays },
        }));
    }

    const dtr = new DtrCluster(cluster.name, {
        clusterName: cluster.name,
        hosts,
        allowZoneSharing: cluster.allowZoneSharing,
        image: config.image,
        ucp: { url: config.ucp.url, username: config.ucp.username, caPem: config.ucp.ca, insecureTls: config.ucp.insecureTls },
        ucpPassword: secret("ucpPassword"),
        externalUrl: cluster.externalUrl,
        httpPort: cluster.httpPort,
        httpsPort: cluster.httpsPort,
        overlaySubnet: cluster.overlaySubnet,
        swarmManagers: cluster.swarmManagers?.map((m) => ({ host: m.address, port: m.port, user: m.user, hostKey: m.hostKey })),
        overlayAvoid: {
            vpcCidrs: config.hosts.mode === "aws" ? [config.hosts.aws.vpcCidr] : undefined,
            dockerPools: cluster.dockerAddressPools,
        },
        storage: { s3 },
        healthGate: cluster.healthGate,
        run: { mountEngineSocket: cluster.mountEngineSocket },
        production: cluster.production,
        preUpgradeBackup: backupTarget && backupS3 ? { target: backupTarget, s3: backupS3 } : undefined,
        bootstrap:
            config.restore && backupTarget && backupS3
                ? {
                      mode: "restore",
                      agentImage: agentRef!,
                      bucket: backupTarget.bucket,
                      manifestKey: config.restore.manifestKey,
                      s3: backupS3,
                      ageIdentity: new pulumi.Config("dtr-ha").getSecret("ageIdentity"),
                      destroyExisting: config.restore.destroyExisting,
                      replicaId: config.restore.replicaId,
                      restoredOn: config.restore.host,
                  }
                : undefined,
    });

    // Swarm, then UCP, then DTR (the documented order), each when configured; again whenever backup.trigger changes.
    const triggers = [config.backup?.trigger ?? "initial"];
    // What the DTR backup needs, shared by the one-off backups and the schedule.
    const dtrBackupArgs =
        backupTarget && backupS3
            ? {
                  clusterName: cluster.name,
                  sourceStack: pulumi.getStack(),
                  hosts,
                  replicaIds: dtr.ids,
                  image: config.image,
                  ucp: { url: config.ucp.url, username: config.ucp.username, caPem: config.ucp.ca, insecureTls: config.ucp.insecureTls },
                  ucpPassword: secret("ucpPassword"),
                  run: { mountEngineSocket: cluster.mountEngineSocket },
                  httpsPort: cluster.httpsPort,
                  target: backupTarget,
                  s3: backupS3,
                  // Beside every manifest: this stack's plain config and secret names, for a rebuild without its state.
                  stackConfig: JSON.stringify(
                      stackConfigDocument({
                          all: pulumi.runtime.allConfig(),
                          isSecret: programIsSecret(),
                          project: pulumi.getProject(),
                          stack: pulumi.getStack(),
                      }),
                  ),
              }
            : undefined;
    const chain =
        backupTarget && backupS3
            ? new BackupChain(
                  `${cluster.name}-backup`,
                  {
                      swarm: config.backup!.swarm && {
                          clusterName: cluster.name,
                          sourceStack: pulumi.getStack(),
                          connection: managerConnection(config.backup!.swarm),
                          target: backupTarget,
                          s3: backupS3,
                          engine: config.backup!.swarm.engine,
                          dataRoot: config.backup!.swarm.dataRoot,
                      },
                      ucp: config.backup!.ucp && {
                          clusterName: cluster.name,
                          sourceStack: pulumi.getStack(),
                          connection: managerConnection(config.backup!.ucp),
                          image: config.backup!.ucp.image,
                          includeLogs: config.backup!.ucp.includeLogs,
                          target: backupTarget,
                          s3: backupS3,
                      },
                      dtr: dtrBackupArgs!,
                      triggers,
                  },
                  { dependsOn: [dtr.restoreCheck ?? dtr.healthGate] },
              )
            : undefined;
    const backup = chain?.dtr;
    const swarmBackup = chain?.swarm;
    const ucpBackup = chain?.ucp;

    // Scheduled backups: a timer (or cron entry) on every replica host; the first healthy replica's host takes each run.
    const schedule =
        backupTarget && backupS3 && config.backup!.schedule
            ? new BackupSchedule(
                  `${cluster.name}-schedule`,
                  {
                      ...dtrBackupArgs!,
                      schedule: config.backup!.schedule,
                      retentionDays: config.backup!.retentionDays,
                      paths: config.backup!.schedulePaths,
                      scheduler: config.backup!.scheduler,
                  },
                  { dependsOn: [dtr.restoreCheck ?? dtr.healthGate] },
              )
            : undefined;

    const outputs = {
        backupSchedule: schedule?.schedule,
        backupScheduleHosts: schedule?.hosts,
        replicaIds: dtr.replicaIds,
        replicaCount: dtr.replicaCount,
        zones: dtr.zones,
        hostNames: dtr.hostNames,
        imageVersion: dtr.imageVersion,
        externalUrl: dtr.externalUrl,
        health: dtr.health,
        restored: dtr.restored,
        overlayFacts: dtr.overlayFacts,
        owners: dtr.owners,
        lastBackup: backup?.manifestKey,
        lastBackupRanOn: backup?.ranOn,
        lastSwarmBackup: swarmBackup?.manifestKey,
        lastUcpBackup: ucpBackup?.manifestKey,
        backupBucket: backupTarget?.bucket,
        backupAgentImage: agentRef,
        layerBucket: storage?.bucketName ?? (config.storage.mode === "s3" ? config.storage.s3.bucket : undefined),
        loadBalancer,
    };
    // Outputs a configuration does not have (no schedule, no load balancer, ...) are left out, not exported as
    // undefined: the engine would warn "Undefined value (...) will not show as a stack output" for each.
    return Object.fromEntries(Object.entries(outputs).filter(([, v]) => v !== undefined)) as Partial<typeof outputs>;
}

export = dtrStack;

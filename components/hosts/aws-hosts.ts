import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as command from "@pulumi/command";
import { SECRET_ENV, UcpConnection } from "../dtr-cli/commands";
import { USERNAME_ENV } from "../dtr-cli/api";
import { assertPlacement, assertReplicaCount } from "../cluster/topology";
import { DtrHost } from "./dtr-host";
import { CLIENT_PORTS, CLUSTER_PORT_RULES, sshHostKey, swarmJoinScript, userData, waitForUcpNodeScript } from "./aws-bootstrap";
import { ROLE_TAG } from "../storage/layer-bucket";

export interface AwsSubnet {
    /** Availability zone of the subnet, e.g. `eu-west-1a`. */
    zone: string;
    subnetId: string;
}

export interface AwsHostsArgs {
    clusterName: string;
    /** 3, 5 or 7. */
    replicas: number;
    vpcId: pulumi.Input<string>;
    /** The VPC's CIDR: NLB health checks come from inside it. */
    vpcCidr: string;
    /** Subnets, one per availability zone; replica i goes to subnet i modulo their count. */
    subnets: AwsSubnet[];
    /** Put two replicas in one zone when there are fewer zones than replicas (never a majority). Default false. */
    allowZoneSharing?: boolean;
    /** An AMI with systemd, curl and sshd (Ubuntu 22.04/24.04, RHEL 8/9). */
    amiId: string;
    /** Default `m5.xlarge` (DTR asks for 16 GB RAM on production replicas). */
    instanceType?: string;
    /** Root volume size in GiB, default 100. */
    rootVolumeGb?: number;
    /** SSH user of the AMI (e.g. `ubuntu`); it must be able to run docker (sudo-less or root). */
    sshUser: string;
    /** Public half of the key the command provider logs in with. */
    sshPublicKey: string;
    /** Private half (a secret). */
    sshPrivateKey: pulumi.Input<string>;
    /**
     * The secret each instance's SSH host key is derived from (see sshHostKey), default `sshPrivateKey`. Changing it
     * changes every host key, and running instances keep the key they booted with: give the old login key here when
     * rotating `sshPrivateKey`, or replace the instances.
     */
    hostKeySecret?: pulumi.Input<string>;
    /** Where SSH is allowed from (the machine running Pulumi, a bastion). */
    sshCidrs: string[];
    /** Reach instances on their public IP (default) or private IP (Pulumi runs inside the VPC / via a bastion). */
    connectVia?: "public" | "private";
    /** Who may reach DTR through the load balancer. */
    clientCidrs: string[];
    /** `internet-facing` or `internal` (default). */
    loadBalancerScheme?: "internet-facing" | "internal";
    /** Container engine install script (e.g. Mirantis Container Runtime's), with channel and version. */
    engine: { installScriptUrl: string; channel?: string; version?: string };
    /** Existing Swarm manager (`host:2377`) and the worker join token (a secret). */
    swarm: { managerAddress: string; joinToken: pulumi.Input<string> };
    /** UCP, to wait until it lists each new node. */
    ucp: UcpConnection;
    ucpPassword: pulumi.Input<string>;
    /** Policies attached to the replicas' instance role (e.g. the layer bucket's access policy). */
    instancePolicyArns: pulumi.Input<string>[];
    tags?: Record<string, string>;
}

/**
 * EC2 replicas across availability zones, joined to the existing UCP/Swarm cluster as workers, behind a network
 * load balancer that health-checks `/_ping`. Yields the same `DtrHost[]` as existing hosts.
 */
export class AwsHosts extends pulumi.ComponentResource {
    public readonly hosts: DtrHost[];
    public readonly instances: aws.ec2.Instance[];
    public readonly securityGroupId: pulumi.Output<string>;
    public readonly loadBalancerDnsName: pulumi.Output<string>;
    public readonly instanceRoleName: pulumi.Output<string>;
    /** Each instance's SSH host key (public, `ssh-ed25519 ...`), pinned as `hostKey` in its connection. */
    public readonly hostKeys: pulumi.Output<string>[];

    constructor(name: string, args: AwsHostsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dtr-ha:index:AwsHosts", name, {}, opts);
        assertReplicaCount(args.replicas, "hosts.aws (replica count)");
        if (args.subnets.length === 0) throw new Error("hosts.aws.subnets is empty: give one subnet per availability zone");
        const placement = Array.from({ length: args.replicas }, (_, i) => ({
            name: `replica-${i + 1}`,
            ...args.subnets[i % args.subnets.length],
        }));
        assertPlacement(placement, args.allowZoneSharing ?? false, "hosts.aws.subnets");

        const parent = { parent: this };
        const tags = { ...args.tags, "dtr-ha:cluster": args.clusterName };

        const sg = new aws.ec2.SecurityGroup(`${name}-replicas`, { vpcId: args.vpcId, description: "DTR replicas", tags }, parent);
        for (const rule of CLUSTER_PORT_RULES) {
            const suffix = rule.protocol === "50" ? "esp" : `${rule.protocol}-${rule.fromPort}`;
            new aws.vpc.SecurityGroupIngressRule(
                `${name}-members-${suffix}`,
                {
                    securityGroupId: sg.id,
                    referencedSecurityGroupId: sg.id,
                    ipProtocol: rule.protocol,
                    fromPort: rule.fromPort,
                    toPort: rule.toPort,
                    description: rule.description,
                },
                parent,
            );
        }
        const clientSources = [...new Set([args.vpcCidr, ...args.clientCidrs])];
        for (const port of CLIENT_PORTS) {
            clientSources.forEach(
                (cidr, i) =>
                    new aws.vpc.SecurityGroupIngressRule(
                        `${name}-clients-${port}-${i}`,
                        {
                            securityGroupId: sg.id,
                            cidrIpv4: cidr,
                            ipProtocol: "tcp",
                            fromPort: port,
                            toPort: port,
                            description: "DTR through the load balancer",
                        },
                        parent,
                    ),
            );
        }
        args.sshCidrs.forEach(
            (cidr, i) =>
                new aws.vpc.SecurityGroupIngressRule(
                    `${name}-ssh-${i}`,
                    {
                        securityGroupId: sg.id,
                        cidrIpv4: cidr,
                        ipProtocol: "tcp",
                        fromPort: 22,
                        toPort: 22,
                        description: "SSH for Pulumi commands",
                    },
                    parent,
                ),
        );
        new aws.vpc.SecurityGroupEgressRule(`${name}-egress`, { securityGroupId: sg.id, cidrIpv4: "0.0.0.0/0", ipProtocol: "-1" }, parent);

        const role = new aws.iam.Role(
            `${name}-replica`,
            {
                assumeRolePolicy: JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
                }),
                tags,
            },
            parent,
        );
        args.instancePolicyArns.forEach(
            (arn, i) => new aws.iam.RolePolicyAttachment(`${name}-replica-${i}`, { role: role.name, policyArn: arn }, parent),
        );
        const profile = new aws.iam.InstanceProfile(`${name}-replica`, { role: role.name, tags }, parent);
        const keyPair = new aws.ec2.KeyPair(`${name}-ssh`, { publicKey: args.sshPublicKey, tags }, parent);

        const secretEnv = {
            [USERNAME_ENV]: args.ucp.username,
            [SECRET_ENV.ucpPassword]: pulumi.secret(args.ucpPassword),
        };
        this.instances = [];
        this.hostKeys = [];
        this.hosts = placement.map((p) => {
            const hostname = `${args.clusterName}-${p.name}`;
            // The host key is known before the instance exists: installed by its user data (a secret, since it holds
            // the private half; see userData for who can still read it) and pinned in every SSH connection to it, so
            // no secret is sent over SSH to a server that was not authenticated.
            // (Holds the private half: used only for the secret user data and the public half below.)
            const hostKey = pulumi.output(args.hostKeySecret ?? args.sshPrivateKey).apply((k) => sshHostKey(k, hostname));
            const publicHostKey = pulumi.unsecret(hostKey.apply((k) => k.publicKey));
            this.hostKeys.push(publicHostKey);
            const instance = new aws.ec2.Instance(
                `${name}-${p.name}`,
                {
                    ami: args.amiId,
                    instanceType: args.instanceType ?? "m5.xlarge",
                    subnetId: p.subnetId,
                    availabilityZone: p.zone,
                    vpcSecurityGroupIds: [sg.id],
                    iamInstanceProfile: profile.name,
                    keyName: keyPair.keyName,
                    associatePublicIpAddress: (args.connectVia ?? "public") === "public",
                    userData: pulumi.secret(
                        hostKey.apply((k) =>
                            userData({
                                hostname,
                                engineInstallScriptUrl: args.engine.installScriptUrl,
                                engineChannel: args.engine.channel,
                                engineVersion: args.engine.version,
                                hostKey: k,
                            }),
                        ),
                    ),
                    rootBlockDevice: { volumeSize: args.rootVolumeGb ?? 100, volumeType: "gp3", encrypted: true },
                    metadataOptions: { httpTokens: "required" },
                    tags: { ...tags, Name: hostname, [ROLE_TAG]: "replica" },
                },
                parent,
            );
            this.instances.push(instance);
            const connection: command.types.input.remote.ConnectionArgs = {
                host: (args.connectVia ?? "public") === "public" ? instance.publicIp : instance.privateIp,
                user: args.sshUser,
                privateKey: pulumi.secret(args.sshPrivateKey),
                hostKey: publicHostKey,
                // New instances take a while to boot sshd.
                dialErrorLimit: 60,
                perDialTimeout: 15,
            };
            const joined = new command.remote.Command(
                `${name}-${p.name}-swarm-join`,
                {
                    connection,
                    environment: { SWARM_JOIN_TOKEN: pulumi.secret(args.swarm.joinToken) },
                    create: swarmJoinScript(args.swarm.managerAddress),
                    delete: "docker swarm leave --force || true",
                },
                { parent: this, dependsOn: [instance] },
            );
            const listed = new command.remote.Command(
                `${name}-${p.name}-ucp-node`,
                { connection, environment: secretEnv, create: waitForUcpNodeScript(args.ucp, hostname) },
                { parent: this, dependsOn: [joined] },
            );
            const host: DtrHost = {
                name: p.name,
                ucpNode: hostname,
                privateAddress: instance.privateIp,
                zone: p.zone,
                connection,
                ready: [listed],
            };
            return host;
        });

        const lb = new aws.lb.LoadBalancer(
            `${name}-dtr`,
            {
                loadBalancerType: "network",
                internal: (args.loadBalancerScheme ?? "internal") === "internal",
                subnets: [...new Set(args.subnets.map((s) => s.subnetId))],
                enableCrossZoneLoadBalancing: true,
                tags,
            },
            parent,
        );
        for (const port of CLIENT_PORTS) {
            const tg = new aws.lb.TargetGroup(
                `${name}-dtr-${port}`,
                {
                    port,
                    protocol: "TCP",
                    vpcId: args.vpcId,
                    targetType: "instance",
                    // Health is DTR's own /_ping over HTTPS, for both listeners: a replica is in or out as a whole.
                    healthCheck: {
                        protocol: "HTTPS",
                        port: "443",
                        path: "/_ping",
                        matcher: "200",
                        interval: 10,
                        healthyThreshold: 2,
                        unhealthyThreshold: 2,
                    },
                    tags,
                },
                parent,
            );
            new aws.lb.Listener(
                `${name}-dtr-${port}`,
                {
                    loadBalancerArn: lb.arn,
                    port,
                    protocol: "TCP",
                    // DTR-FACTS: idle timeout at least 10 minutes, so long layer pushes are not cut.
                    tcpIdleTimeoutSeconds: 600,
                    defaultActions: [{ type: "forward", targetGroupArn: tg.arn }],
                },
                parent,
            );
            this.instances.forEach(
                (inst, i) =>
                    new aws.lb.TargetGroupAttachment(
                        `${name}-dtr-${port}-${i + 1}`,
                        { targetGroupArn: tg.arn, targetId: inst.id, port },
                        parent,
                    ),
            );
        }

        this.securityGroupId = sg.id;
        this.loadBalancerDnsName = lb.dnsName;
        this.instanceRoleName = role.name;
        this.registerOutputs({
            securityGroupId: this.securityGroupId,
            loadBalancerDnsName: this.loadBalancerDnsName,
            instanceIds: pulumi.all(this.instances.map((i) => i.id)),
            hostKeys: pulumi.all(this.hostKeys),
            zones: placement.map((p) => p.zone),
        });
    }
}

import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { recorded, settle, valueOf } from "./mocks";
import { AwsHosts, AwsHostsArgs } from "../../components/hosts/aws-hosts";
import { CLUSTER_PORT_RULES, swarmJoinScript, userData, waitForUcpNodeScript } from "../../components/hosts/aws-bootstrap";

const TOKEN = "SWMTKN-1-secret-join-token";
const PASSWORD = "ucp-Pa55";

function args(extra: Partial<AwsHostsArgs> = {}): AwsHostsArgs {
    return {
        clusterName: "prod",
        replicas: 3,
        vpcId: "vpc-0abc",
        vpcCidr: "10.0.0.0/16",
        subnets: ["a", "b", "c"].map((z, i) => ({ zone: `eu-west-1${z}`, subnetId: `subnet-0${i}` })),
        amiId: "ami-0123",
        sshUser: "ubuntu",
        sshPublicKey: "ssh-ed25519 AAAA pulumi",
        sshPrivateKey: pulumi.secret("PRIVATE"),
        sshCidrs: ["198.51.100.0/24"],
        clientCidrs: ["10.0.0.0/8"],
        engine: { installScriptUrl: "https://get.mirantis.com/", channel: "stable-23.0" },
        swarm: { managerAddress: "10.0.1.10:2377", joinToken: pulumi.secret(TOKEN) },
        ucp: { url: "https://ucp.example.com", username: "admin", caPem: "-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----" },
        ucpPassword: pulumi.secret(PASSWORD),
        instancePolicyArns: ["arn:aws:iam::123456789012:policy/layers"],
        ...extra,
    };
}

describe("AwsHosts (mocked)", () => {
    const of = (prefix: string, type: string) => recorded.filter((r) => r.type === type && r.name.startsWith(prefix));

    it("puts one replica in each availability zone, and refuses fewer zones unless sharing is allowed", async () => {
        const h = new AwsHosts("aw1", args());
        await valueOf(h.loadBalancerDnsName);
        await settle();
        const instances = of("aw1-", "aws:ec2/instance:Instance");
        assert.strictEqual(instances.length, 3);
        assert.deepStrictEqual(instances.map((i) => i.inputs.availabilityZone).sort(), ["eu-west-1a", "eu-west-1b", "eu-west-1c"]);
        assert.deepStrictEqual(instances.map((i) => i.inputs.subnetId).sort(), ["subnet-00", "subnet-01", "subnet-02"]);
        for (const i of instances) {
            assert.strictEqual(i.inputs.tags["dtr-ha:role"], "replica");
            assert.strictEqual(i.inputs.metadataOptions.httpTokens, "required");
            assert.strictEqual(i.inputs.rootBlockDevice.encrypted, true);
            assert.ok(
                !String(i.inputs.userData).includes(TOKEN) && !String(i.inputs.userData).includes(PASSWORD),
                "no secret in user data",
            );
        }
        assert.deepStrictEqual(
            h.hosts.map((x) => x.zone),
            ["eu-west-1a", "eu-west-1b", "eu-west-1c"],
        );
        assert.strictEqual(await valueOf(h.hosts[1].ucpNode), "prod-replica-2");
        const two = args({ subnets: args().subnets.slice(0, 2) });
        assert.throws(() => new AwsHosts("aw2", two), /3 replicas need 3 zones .*allowZoneSharing: true/);
        assert.throws(() => new AwsHosts("aw3", args({ replicas: 4 })), /=4 is not allowed/);
    });

    it("opens exactly the cluster ports between members, DTR ports to clients and the VPC, SSH to its CIDRs", async () => {
        const h = new AwsHosts("aw4", args());
        await valueOf(h.securityGroupId);
        await settle();
        const rules = of("aw4-", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule");
        const members = rules.filter((r) => r.name.startsWith("aw4-members-"));
        assert.strictEqual(members.length, CLUSTER_PORT_RULES.length);
        const key = (r: any) => `${r.inputs.ipProtocol}/${r.inputs.fromPort ?? ""}-${r.inputs.toPort ?? ""}`;
        const memberKeys = members.map(key);
        for (const want of ["udp/4789-4789", "tcp/7946-7946", "udp/7946-7946", "tcp/2377-2377", "50/-", "tcp/443-443", "tcp/12379-12386"]) {
            assert.ok(memberKeys.includes(want), `members lack ${want}: ${memberKeys}`);
        }
        for (const m of members)
            assert.strictEqual(m.inputs.referencedSecurityGroupId, m.inputs.securityGroupId, "member rules reference the group itself");
        const clients = rules.filter((r) => r.name.startsWith("aw4-clients-"));
        assert.deepStrictEqual([...new Set(clients.map((c) => c.inputs.fromPort))].sort(), [443, 80]);
        assert.deepStrictEqual([...new Set(clients.map((c) => c.inputs.cidrIpv4))].sort(), ["10.0.0.0/16", "10.0.0.0/8"]);
        const ssh = rules.filter((r) => r.name.startsWith("aw4-ssh-"));
        assert.deepStrictEqual(
            ssh.map((s) => [s.inputs.cidrIpv4, s.inputs.fromPort]),
            [["198.51.100.0/24", 22]],
        );
        assert.ok(!rules.some((r) => r.inputs.cidrIpv4 === "0.0.0.0/0"), "nothing open to the world");
    });

    it("balances 443 and 80 over TCP with HTTPS /_ping health checks and a 10-minute idle timeout", async () => {
        const h = new AwsHosts("aw5", args());
        await valueOf(h.loadBalancerDnsName);
        await settle();
        const lb = of("aw5-", "aws:lb/loadBalancer:LoadBalancer")[0].inputs;
        assert.strictEqual(lb.loadBalancerType, "network");
        assert.deepStrictEqual(lb.subnets, ["subnet-00", "subnet-01", "subnet-02"]);
        const tgs = of("aw5-", "aws:lb/targetGroup:TargetGroup");
        assert.deepStrictEqual(tgs.map((t) => t.inputs.port).sort(), [443, 80]);
        for (const t of tgs) {
            assert.strictEqual(t.inputs.protocol, "TCP");
            assert.deepStrictEqual(
                [t.inputs.healthCheck.protocol, t.inputs.healthCheck.path, t.inputs.healthCheck.port],
                ["HTTPS", "/_ping", "443"],
            );
        }
        const listeners = of("aw5-", "aws:lb/listener:Listener");
        assert.deepStrictEqual(listeners.map((l) => [l.inputs.port, l.inputs.protocol, l.inputs.tcpIdleTimeoutSeconds]).sort(), [
            [443, "TCP", 600],
            [80, "TCP", 600],
        ]);
        assert.strictEqual(of("aw5-", "aws:lb/targetGroupAttachment:TargetGroupAttachment").length, 6);
    });

    it("joins each node to Swarm and waits for UCP, with secrets only in the environment", async () => {
        const h = new AwsHosts("aw6", args());
        await valueOf(h.securityGroupId);
        await settle();
        const joins = of("aw6-", "command:remote:Command").filter((c) => c.name.endsWith("-swarm-join"));
        const waits = of("aw6-", "command:remote:Command").filter((c) => c.name.endsWith("-ucp-node"));
        assert.strictEqual(joins.length, 3);
        assert.strictEqual(waits.length, 3);
        for (const c of [...joins, ...waits]) {
            assert.ok(!String(c.inputs.create).includes(TOKEN) && !String(c.inputs.create).includes(PASSWORD));
        }
        // Mocks receive secret inputs still wrapped: the whole environment travels as a secret.
        const env = joins[0].inputs.environment;
        assert.strictEqual(env[pulumi.runtime.specialSigKey], pulumi.runtime.specialSecretSig);
        assert.strictEqual(env.value.SWARM_JOIN_TOKEN, TOKEN);
        assert.strictEqual(h.hosts[0].ready?.length, 1, "hosts are ready only after UCP lists them");
        const attach = of("aw6-", "aws:iam/rolePolicyAttachment:RolePolicyAttachment");
        assert.deepStrictEqual(
            attach.map((a) => a.inputs.policyArn),
            ["arn:aws:iam::123456789012:policy/layers"],
        );
    });
});

describe("AWS boot scripts", () => {
    it("user data installs the engine and accepts the secret env vars, and validates its input", () => {
        const ud = userData({ hostname: "prod-replica-1", engineInstallScriptUrl: "https://get.mirantis.com/", engineVersion: "23.0.9" });
        assert.match(ud, /hostnamectl set-hostname prod-replica-1/);
        assert.match(ud, /VERSION=23\.0\.9 sh \/tmp\/install-engine\.sh/);
        assert.match(ud, /AcceptEnv UCP_PASSWORD DTR_KEY UCP_USERNAME SWARM_JOIN_TOKEN/);
        assert.throws(() => userData({ hostname: "Bad_Name", engineInstallScriptUrl: "https://x" }), /not a valid host name/);
        assert.throws(() => userData({ hostname: "ok", engineInstallScriptUrl: "http://x" }), /must be https/);
    });
    it("swarm join is idempotent and bounded", () => {
        const s = swarmJoinScript("10.0.1.10:2377", 120);
        assert.match(s, /if \[ "\$state" = active \]; then echo "already in the swarm"; exit 0; fi/);
        assert.match(s, /did not finish in 120s/);
        assert.throws(() => swarmJoinScript("10.0.1.10"), /must be host:port/);
    });
    it("UCP wait verifies UCP with its CA unless told otherwise", () => {
        assert.match(waitForUcpNodeScript({ url: "https://ucp", caPem: "PEM" }, "n1"), /--cacert "\$ca"/);
        assert.match(waitForUcpNodeScript({ url: "https://ucp", insecureTls: true }, "n1"), /--insecure/);
        assert.throws(() => waitForUcpNodeScript({ url: "https://ucp" }, "n1"), /ucp.ca is required/);
    });
});

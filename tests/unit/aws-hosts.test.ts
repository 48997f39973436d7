import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { recorded, settle, valueOf } from "./mocks";
import { AwsHosts, AwsHostsArgs } from "../../components/hosts/aws-hosts";
import { CLUSTER_PORT_RULES, sshHostKey, swarmJoinScript, userData, waitForUcpNodeScript } from "../../components/hosts/aws-bootstrap";

/** A secret input as the mocks receive it: still wrapped. */
function unwrapSecret(v: any): string {
    assert.strictEqual(v?.[pulumi.runtime.specialSigKey], pulumi.runtime.specialSecretSig, "a secret");
    return v.value;
}

/** The public key ssh-keygen computes from an OpenSSH private key (the real parser, not ours). */
function publicOf(privateKey: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hostkey-"));
    try {
        fs.writeFileSync(path.join(dir, "k"), privateKey, { mode: 0o600 });
        const r = spawnSync("ssh-keygen", ["-y", "-f", path.join(dir, "k")], { encoding: "utf8" });
        assert.strictEqual(r.status, 0, `ssh-keygen -y: ${r.stderr}`);
        return r.stdout.trim().split(" ").slice(0, 2).join(" ");
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** The host key pair a user data installs through cloud-config's ssh_keys. */
function installedKey(ud: string): { privateKey: string; publicKey: string } {
    const priv = /\n {2}ed25519_private: \|\n((?: {4}.*\n)+)/.exec(ud);
    const pub = /\n {2}ed25519_public: '([^']+)'\n/.exec(ud);
    assert.ok(priv && pub, "the user data installs an ed25519 host key");
    return { privateKey: priv[1].replace(/^ {4}/gm, ""), publicKey: pub[1] };
}

/** Every plain (non-secret) string in a recorded input tree. */
function plainStrings(v: any, out: string[] = []): string[] {
    if (typeof v === "string") out.push(v);
    else if (v && typeof v === "object" && v[pulumi.runtime.specialSigKey] !== pulumi.runtime.specialSecretSig) {
        for (const x of Object.values(v)) plainStrings(x, out);
    }
    return out;
}

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
            const ud = unwrapSecret(i.inputs.userData);
            assert.ok(!ud.includes(TOKEN) && !ud.includes(PASSWORD), "no join token or password in user data");
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

describe("AwsHosts SSH host keys (mocked)", function () {
    // Deriving ed25519 host keys is CPU-bound: on a busy 2-core machine it can take seconds.
    this.timeout(20_000);
    // The connection holds the (secret) login key, so the mocks see it whole as one secret.
    const commands = (prefix: string) =>
        recorded
            .filter((r) => r.type === "command:remote:Command" && r.name.startsWith(prefix))
            .map((r) => ({ name: r.name, connection: unwrapSecret(r.inputs.connection) as any }));

    it("every remote command to an instance pins the host key that instance's user data installs", async () => {
        const h = new AwsHosts("hk1", args());
        await valueOf(h.securityGroupId);
        await settle();
        const instances = recorded.filter((r) => r.type === "aws:ec2/instance:Instance" && r.name.startsWith("hk1-"));
        assert.strictEqual(instances.length, 3);
        const keys = new Set<string>();
        for (const [i, inst] of h.instances.entries()) {
            const ip = await valueOf(inst.publicIp);
            const installed = installedKey(unwrapSecret(instances[i].inputs.userData));
            assert.strictEqual(publicOf(installed.privateKey), installed.publicKey, "the installed private key is the pinned key's");
            keys.add(installed.publicKey);
            const mine = commands("hk1-").filter((c) => c.connection.host === ip);
            assert.deepStrictEqual(
                mine.map((c) => c.name.replace(/^hk1-replica-\d-/, "")).sort(),
                ["swarm-join", "ucp-node"],
                `commands to ${ip}`,
            );
            for (const c of mine) assert.strictEqual(c.connection.hostKey, installed.publicKey, `${c.name} pins ${ip}'s key`);
            // What later components (DtrCluster, backups) connect with.
            assert.strictEqual(await valueOf(pulumi.output(h.hosts[i].connection).apply((c) => c.hostKey)), installed.publicKey);
            assert.strictEqual(await valueOf(h.hostKeys[i]), installed.publicKey);
        }
        assert.strictEqual(keys.size, 3, "one key per host");
        assert.ok(
            commands("hk1-").every((c) => typeof c.connection.hostKey === "string"),
            "no command without a pinned key",
        );
    });

    it("no private host key in any plain input or output; the public keys are plain", async () => {
        const h = new AwsHosts("hk2", args());
        await valueOf(h.securityGroupId);
        await settle();
        const mine = recorded.filter((r) => r.name.startsWith("hk2-"));
        const privates = recorded
            .filter((r) => r.type === "aws:ec2/instance:Instance" && r.name.startsWith("hk2-"))
            .map((r) => installedKey(unwrapSecret(r.inputs.userData)).privateKey);
        assert.strictEqual(privates.length, 3);
        // The base64 body lines of each private key, none of which may appear outside a secret.
        const bodies = privates.flatMap((p) => p.split("\n").filter((l) => l && !l.startsWith("-----")));
        for (const r of mine) {
            for (const s of plainStrings(r.inputs)) {
                assert.ok(!/PRIVATE KEY/.test(s) && !bodies.some((b) => s.includes(b)), `${r.name} has a private key in a plain input`);
            }
        }
        for (const [i, inst] of h.instances.entries()) {
            assert.strictEqual(await (inst.userData as any).isSecret, true, "the user data output is a secret");
            assert.strictEqual(await (h.hostKeys[i] as any).isSecret, false, "the public host key is not");
            assert.match(await valueOf(h.hostKeys[i]), /^ssh-ed25519 [A-Za-z0-9+/]+=*$/);
        }
    });

    it("host keys are stable for a secret, differ per host, and follow hostKeySecret when given", async () => {
        const a = new AwsHosts("hk3", args());
        const b = new AwsHosts("hk4", args());
        const c = new AwsHosts("hk5", args({ hostKeySecret: pulumi.secret("ANOTHER-SECRET") }));
        const d = new AwsHosts("hk6", args({ sshPrivateKey: "PRIVATE" }));
        const all = await Promise.all([a, b, c, d].map((x) => valueOf(pulumi.all(x.hostKeys))));
        assert.deepStrictEqual(all[0], all[1], "the same keys on another run");
        assert.deepStrictEqual(all[0], all[3], "whether the login key is a secret or not");
        assert.strictEqual(new Set(all[0]).size, 3);
        assert.ok(
            all[2].every((k, i) => k !== all[0][i]),
            "another secret, other keys",
        );
        assert.strictEqual(all[0][0], sshHostKey("PRIVATE", "prod-replica-1").publicKey);
        await settle();
        const plain = recorded.find((r) => r.type === "aws:ec2/instance:Instance" && r.name === "hk6-replica-1")!;
        unwrapSecret(plain.inputs.userData);
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
    it("with a host key, user data is multipart: cloud-config installs it as sshd's only key, then the boot script", () => {
        const key = sshHostKey("LOGIN-KEY", "prod-replica-1");
        const ud = userData({ hostname: "prod-replica-1", engineInstallScriptUrl: "https://get.mirantis.com/", hostKey: key });
        assert.match(ud, /^Content-Type: multipart\/mixed; boundary="==dtr-ha-user-data=="\nMIME-Version: 1\.0\n/);
        const [, cloud, script] = ud.split(/\n--==dtr-ha-user-data==(?:--)?\n/);
        assert.match(
            cloud,
            /^Content-Type: text\/cloud-config; charset="us-ascii"\n\n#cloud-config\nssh_deletekeys: true\nssh_genkeytypes: \[\]\n/,
        );
        assert.match(
            cloud,
            /- path: \/etc\/ssh\/sshd_config\.d\/10-dtr-ha-hostkey\.conf\n.*\n {4}content: \|\n {6}HostKey \/etc\/ssh\/ssh_host_ed25519_key/,
        );
        assert.deepStrictEqual(installedKey(ud), key);
        assert.strictEqual(publicOf(key.privateKey), key.publicKey);
        assert.ok(script.includes(userData({ hostname: "prod-replica-1", engineInstallScriptUrl: "https://get.mirantis.com/" })));
        assert.throws(
            () => userData({ hostname: "h", engineInstallScriptUrl: "https://x", hostKey: { ...key, publicKey: "ssh-rsa AAAA" } }),
            /userData\.hostKey: give an ed25519 key pair/,
        );
        assert.throws(() => sshHostKey(" ", "h"), /the secret is empty/);
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

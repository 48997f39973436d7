import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { Declared, captureDeclarations, recorded, settle, valueOf } from "./mocks";
import dtrStack = require("../../index");
import { BackupChain } from "../../components/backup/backup-chain";
import { DtrBackup } from "../../components/backup/dtr-backup";
import { existingHosts } from "../../components/hosts/existing-hosts";

const CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHrvC8N7j host";
const SECRETS = {
    ucpPassword: "ucp-PASS-1",
    sshPrivateKey: "PRIVATE-SSH-KEY",
    storageAccessKey: "AK",
    storageSecretKey: "SK-secret-9",
    swarmJoinToken: "SWMTKN-x",
};

function setConfig(values: Record<string, unknown>, secrets: Record<string, string>) {
    const all: Record<string, string> = {};
    for (const [k, v] of Object.entries(values)) all[`dtr-ha:${k}`] = JSON.stringify(v);
    for (const [k, v] of Object.entries(secrets)) all[`dtr-ha:${k}`] = v;
    pulumi.runtime.setAllConfig(
        all,
        Object.keys(secrets).map((k) => `dtr-ha:${k}`),
    );
}

const existing = {
    cluster: {
        name: "lab",
        replicas: 3,
        production: false,
        externalUrl: "https://10.200.0.11",
        overlaySubnet: "10.200.64.0/24",
        dockerAddressPools: ["10.200.128.0/17"],
        mountEngineSocket: true,
    },
    image: { repository: "10.200.0.1:5000/dtr-sim", version: "2.9.16" },
    ucp: { url: "https://10.200.0.11", username: "admin", insecureTls: true },
    hosts: {
        mode: "existing",
        networks: ["10.200.0.0/24"],
        existing: [1, 2, 3].map((i) => ({ name: `host${i}`, address: `10.200.0.1${i}`, zone: `z${i}`, hostKey: KEY })),
    },
    storage: { mode: "s3", s3: { region: "us-east-1", bucket: "dtr-layers", regionEndpoint: "http://10.200.0.1:9000" } },
};

describe("the stack program (index.ts, mocked)", () => {
    it("builds a three-replica cluster on existing hosts and exports no secret in plain text", async () => {
        setConfig(existing, {
            ucpPassword: SECRETS.ucpPassword,
            sshPrivateKey: SECRETS.sshPrivateKey,
            storageAccessKey: SECRETS.storageAccessKey,
            storageSecretKey: SECRETS.storageSecretKey,
        });
        const before = recorded.length;
        const out = dtrStack();
        const resolved: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(out)) resolved[k] = v === undefined ? undefined : await valueOf(v as pulumi.Output<unknown>);
        await settle();
        assert.strictEqual(resolved.replicaCount, 3);
        assert.deepStrictEqual(resolved.zones, ["z1", "z2", "z3"]);
        assert.strictEqual(resolved.layerBucket, "dtr-layers");
        const text = JSON.stringify(resolved);
        for (const s of Object.values(SECRETS)) assert.ok(!text.includes(s), `output leaks ${s}`);
        const mine = recorded.slice(before);
        assert.strictEqual(mine.filter((r) => r.type === "command:remote:Command" && /-(install|join-host\d)$/.test(r.name)).length, 3);
        assert.strictEqual(
            mine.filter((r) => r.type.startsWith("aws:")).length,
            0,
            "existing hosts with s3 storage declare no AWS resource",
        );
        const install = mine.find((r) => r.name === "lab-install")!;
        assert.match(install.inputs.create, /-v \/var\/run\/docker\.sock/);
        assert.match(install.inputs.create, /--overlay-subnet 10\.200\.64\.0\/24/);
    });

    it("hands each DTR backup (one-off and scheduled) the stack's configuration: plain values, secret names, no secret value", async () => {
        const backup = {
            mode: "s3",
            bucket: "dtr-backups",
            prefix: "dtr",
            agentImage: "reg/dtr-ha-backup:0.1.0",
            lockMode: "GOVERNANCE",
            retentionDays: 1,
            schedule: { onCalendar: "daily" },
            s3: { region: "us-east-1", endpoint: "http://10.200.0.1:9000", forcePathStyle: true },
        };
        const secrets = {
            ucpPassword: SECRETS.ucpPassword,
            sshPrivateKey: SECRETS.sshPrivateKey,
            storageAccessKey: SECRETS.storageAccessKey,
            storageSecretKey: SECRETS.storageSecretKey,
            backupAccessKey: "BK-access-4",
            backupSecretKey: "BK-secret-5",
        };
        setConfig({ ...existing, backup }, secrets);
        const before = recorded.length;
        dtrStack();
        await settle();
        const mine = recorded.slice(before);
        // A command's environment that holds a secret arrives as one secret value: unwrap it.
        const envOf = (r: (typeof mine)[number]): Record<string, string> | undefined => r.inputs.environment?.value ?? r.inputs.environment;
        const carriers = mine.filter((r) => r.type === "command:remote:Command" && envOf(r)?.DTR_HA_STACK_CONFIG !== undefined);
        // The one-off backup's command waits for its /_ping probe (timing-dependent under mocks; DtrBackup is checked
        // below): it may or may not be recorded yet, and no other command may carry the document.
        assert.deepStrictEqual(
            carriers.map((r) => r.name).filter((n) => n.startsWith("lab-schedule-")),
            ["lab-schedule-host1", "lab-schedule-host2", "lab-schedule-host3"],
        );
        for (const r of carriers) assert.match(r.name, /^lab-(schedule-host\d|backup-dtr-dtr)$/);
        for (const r of carriers) {
            const text = envOf(r)!.DTR_HA_STACK_CONFIG;
            for (const v of Object.values(secrets)) assert.ok(!text.includes(v), `${r.name}: the stored configuration holds ${v}`);
            const doc = JSON.parse(text);
            assert.deepStrictEqual(
                doc.secrets,
                Object.keys(secrets)
                    .map((k) => `dtr-ha:${k}`)
                    .sort(),
            );
            assert.deepStrictEqual(JSON.parse(doc.config["dtr-ha:backup"]), backup);
            assert.strictEqual(doc.project, pulumi.getProject());
        }
    });

    it("DtrBackup passes the configuration document to its command as DTR_HA_STACK_CONFIG (and nothing without one)", async () => {
        const before = recorded.length;
        const common = {
            clusterName: "c",
            hosts: existingHosts(
                [1, 2, 3].map((i) => ({ name: `h${i}`, address: `10.0.0.${i}`, zone: `z${i}`, hostKey: KEY })),
                pulumi.secret("k"),
            ),
            replicaIds: ["aaaaaaaaaaa1", "aaaaaaaaaaa2", "aaaaaaaaaaa3"],
            image: { repository: "mirantis/dtr", version: "2.9.16" },
            ucp: { url: "https://ucp", username: "admin", insecureTls: true },
            ucpPassword: pulumi.secret("pw"),
            target: { agentImage: "reg/dtr-ha-backup:0.1.0", bucket: "dtr-backups" },
            s3: { region: "us-east-1" },
            probe: false,
            triggers: ["t1"],
        };
        new DtrBackup("with-doc", { ...common, stackConfig: '{"format":"dtr-ha-stack-config/1"}' });
        new DtrBackup("without-doc", common);
        await settle();
        const env = (name: string) => {
            const r = recorded.slice(before).find((x) => x.name === name)!;
            return (r.inputs.environment?.value ?? r.inputs.environment) as Record<string, string>;
        };
        assert.strictEqual(env("with-doc-dtr").DTR_HA_STACK_CONFIG, '{"format":"dtr-ha-stack-config/1"}');
        assert.ok(!("DTR_HA_STACK_CONFIG" in env("without-doc-dtr")));
    });

    it("stops before declaring anything when the configuration is wrong", () => {
        setConfig({ ...existing, cluster: { ...existing.cluster, replicas: 4 } }, { ucpPassword: "x" });
        const before = recorded.length;
        assert.throws(
            () => dtrStack(),
            (e: Error) => /dtr-ha:cluster.replicas = 4/.test(e.message) && /dtr-ha:sshPrivateKey is not set/.test(e.message),
        );
        assert.strictEqual(recorded.length, before);
    });

    it("builds AWS hosts, the layer bucket and the cluster together", async () => {
        setConfig(
            {
                ...existing,
                cluster: {
                    name: "prod",
                    replicas: 3,
                    production: true,
                    externalUrl: "https://dtr.example.com",
                    overlaySubnet: "172.16.240.0/24",
                },
                image: { repository: "mirantis/dtr", version: "2.9.16" },
                ucp: { url: "https://ucp.example.com", username: "admin", ca: CA },
                hosts: {
                    mode: "aws",
                    aws: {
                        vpcId: "vpc-0abc",
                        vpcCidr: "10.0.0.0/16",
                        subnets: ["a", "b", "c"].map((z, i) => ({ zone: `eu-west-1${z}`, subnetId: `subnet-0${i}` })),
                        amiId: "ami-0123",
                        sshUser: "ubuntu",
                        sshPublicKey: KEY,
                        sshCidrs: ["198.51.100.0/24"],
                        clientCidrs: ["10.0.0.0/8"],
                        engine: { installScriptUrl: "https://get.mirantis.com/" },
                        swarmManagerAddress: "10.0.1.10:2377",
                    },
                },
                storage: { mode: "aws", aws: { replicationRegion: "eu-central-1" } },
            },
            { ucpPassword: SECRETS.ucpPassword, sshPrivateKey: SECRETS.sshPrivateKey, swarmJoinToken: SECRETS.swarmJoinToken },
        );
        const before = recorded.length;
        const out = dtrStack();
        assert.strictEqual(await valueOf(out.loadBalancer!), "dtr-nlb.elb.amazonaws.com");
        assert.strictEqual(await valueOf(out.layerBucket!), "prod-layers-bucket");
        await settle();
        const mine = recorded.slice(before);
        assert.strictEqual(mine.filter((r) => r.type === "aws:ec2/instance:Instance").length, 3);
        assert.strictEqual(mine.filter((r) => r.type === "aws:s3/bucketReplicationConfig:BucketReplicationConfig").length, 1);
        const attach = mine.find((r) => r.type === "aws:iam/rolePolicyAttachment:RolePolicyAttachment")!;
        assert.strictEqual(attach.inputs.policyArn, "arn:aws:iam::123456789012:policy/prod-layers-access");
        const storageCmd = mine.find((r) => r.name === "prod-storage")!;
        const env = storageCmd.inputs.environment;
        const settings = JSON.parse((env.value ?? env).DTR_STORAGE_SETTINGS);
        assert.strictEqual(settings.storage.s3.bucket, "prod-layers-bucket");
        assert.ok(!("secretkey" in settings.storage.s3), "instance role: no keys in the settings");
        const install = mine.find((r) => r.name === "prod-install")!;
        assert.match(install.inputs.create, /--ucp-ca '-----BEGIN CERTIFICATE-----/);
        assert.doesNotMatch(install.inputs.create, /--ucp-insecure-tls|docker\.sock/);
    });
});

describe("backups in the documented order (BackupChain, mocked)", () => {
    it("declares Swarm, then UCP, then DTR backups, each waiting for the one before", async () => {
        const declared: Declared[] = [];
        const target = {
            agentImage: "reg/dtr-ha-backup:0.1.0",
            bucket: "dtr-backups",
            prefix: "dtr",
            recipients: ["age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"],
        };
        const s3 = {
            region: "us-east-1",
            endpoint: "http://10.200.0.1:9000",
            accessKey: pulumi.secret("a"),
            secretKey: pulumi.secret("s"),
        };
        const connection = { host: "10.200.0.12", privateKey: pulumi.secret("k") };
        const hosts = existingHosts(
            [1, 2, 3].map((i) => ({ name: `h${i}`, address: `10.0.0.${i}`, zone: `z${i}`, hostKey: KEY })),
            pulumi.secret("k"),
        );
        new BackupChain(
            "chain",
            {
                swarm: { clusterName: "c", connection, target, s3 },
                ucp: { clusterName: "c", connection, image: { repository: "mirantis/ucp", version: "3.2.6" }, target, s3 },
                dtr: {
                    clusterName: "c",
                    hosts,
                    replicaIds: ["aaaaaaaaaaa1", "aaaaaaaaaaa2", "aaaaaaaaaaa3"],
                    image: { repository: "mirantis/dtr", version: "2.9.16" },
                    ucp: { url: "https://ucp", username: "admin", insecureTls: true },
                    ucpPassword: pulumi.secret("pw"),
                    target,
                    s3,
                    probe: false,
                },
                triggers: ["t1"],
            },
            { transformations: [captureDeclarations(declared)] },
        );
        await settle();
        const by = (t: string) => declared.find((d) => d.type === t)!;
        const swarm = by("dtr-ha:index:SwarmBackup");
        const ucp = by("dtr-ha:index:UcpBackup");
        const dtr = by("dtr-ha:index:DtrBackup");
        const swarmCmd = declared.find((d) => d.type === "command:remote:Command" && d.name.startsWith("chain-swarm"))!;
        const ucpCmd = declared.find((d) => d.type === "command:remote:Command" && d.name.startsWith("chain-ucp"))!;
        assert.deepStrictEqual(swarm.dependsOn, [], "Swarm first");
        assert.deepStrictEqual(ucp.dependsOn, [swarmCmd.name], "UCP after Swarm");
        assert.deepStrictEqual(dtr.dependsOn, [ucpCmd.name], "DTR after UCP");
    });
});

describe("the backup agent image (index.ts, mocked: the docker provider plugin cannot be built here)", () => {
    const AGE = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";
    const awsConfig = (backup: Record<string, unknown>) => ({
        ...existing,
        cluster: { name: "prod", replicas: 3, production: true, externalUrl: "https://dtr.example.com", overlaySubnet: "172.16.240.0/24" },
        image: { repository: "mirantis/dtr", version: "2.9.16" },
        ucp: { url: "https://ucp.example.com", username: "admin", ca: CA },
        hosts: {
            mode: "aws",
            aws: {
                vpcId: "vpc-0abc",
                vpcCidr: "10.0.0.0/16",
                subnets: ["a", "b", "c"].map((z, i) => ({ zone: `eu-west-1${z}`, subnetId: `subnet-0${i}` })),
                amiId: "ami-0123",
                sshUser: "ubuntu",
                sshPublicKey: KEY,
                sshCidrs: ["198.51.100.0/24"],
                clientCidrs: ["10.0.0.0/8"],
                engine: { installScriptUrl: "https://get.mirantis.com/" },
                swarmManagerAddress: "10.0.1.10:2377",
            },
        },
        storage: { mode: "aws", aws: { replicationRegion: "eu-central-1" } },
        backup: { mode: "aws", recipients: [AGE], lockMode: "GOVERNANCE", retentionDays: 7, ...backup },
    });
    const secrets = { ucpPassword: SECRETS.ucpPassword, sshPrivateKey: SECRETS.sshPrivateKey, swarmJoinToken: SECRETS.swarmJoinToken };

    it("on AWS without backup.agentImage: builds it into the stack's own ECR repository and every host pulls and runs it by digest", async () => {
        // With a Swarm backup: its manager runs the agent too.
        setConfig(awsConfig({ swarm: { address: "10.0.1.10", hostKey: KEY } }), secrets);
        const before = recorded.length;
        const out = dtrStack();
        const ref = await valueOf(out.backupAgentImage!);
        await valueOf(out.lastBackup!);
        await settle();
        const mine = recorded.slice(before);
        const repo = mine.find((r) => r.type === "aws:ecr/repository:Repository")!;
        assert.strictEqual(repo.inputs.name, "prod/dtr-ha-backup");
        assert.strictEqual(repo.inputs.imageTagMutability, "IMMUTABLE");
        assert.deepStrictEqual(repo.inputs.imageScanningConfiguration, { scanOnPush: true });
        assert.strictEqual(repo.inputs.encryptionConfigurations[0].encryptionType, "KMS");
        assert.match(repo.inputs.encryptionConfigurations[0].kmsKey, /^arn:aws:kms:/);
        // Replicated to the DR region (storage's, as none is given for the image).
        const repl = mine.find((r) => r.type === "aws:ecr/replicationConfiguration:ReplicationConfiguration")!;
        const rule = repl.inputs.replicationConfiguration.rules[0];
        assert.deepStrictEqual(rule.destinations, [{ region: "eu-central-1", registryId: "123456789012" }]);
        assert.deepStrictEqual(rule.repositoryFilters, [{ filter: "prod/dtr-ha-backup", filterType: "PREFIX_MATCH" }]);
        // Built from backup-agent/ and pushed there with an immutable, content-derived tag.
        const image = mine.find((r) => r.type === "docker:index/image:Image")!;
        assert.match(
            image.inputs.imageName,
            /^123456789012\.dkr\.ecr\.eu-west-1\.amazonaws\.com\/prod\/dtr-ha-backup:0\.1\.0-[0-9a-f]{12}$/,
        );
        assert.match(image.inputs.build.context, /backup-agent$/);
        assert.match(ref, /^123456789012\.dkr\.ecr\.eu-west-1\.amazonaws\.com\/prod\/dtr-ha-backup@sha256:[0-9a-f]{64}$/);
        // One pull per replica host, by digest, the registry token a secret in the environment only.
        const pulls = mine.filter((r) => r.type === "command:remote:Command" && r.name.includes("-agent-pull-"));
        assert.strictEqual(pulls.length, 4);
        assert.deepStrictEqual(
            pulls.filter((p) => (p.inputs.connection.value ?? p.inputs.connection).host === "10.0.1.10").map((p) => p.name),
            ["prod-agent-pull-manager-0"],
        );
        for (const p of pulls) {
            const env = p.inputs.environment.value ?? p.inputs.environment;
            assert.strictEqual(env.DTR_HA_AGENT_IMAGE, ref);
            assert.ok(!JSON.stringify(p.inputs.create).includes("ECR-TOKEN"), "the token is never in the script");
            const auth = JSON.parse(Buffer.from(env.DTR_HA_REGISTRY_AUTH.value ?? env.DTR_HA_REGISTRY_AUTH, "base64url").toString());
            assert.deepStrictEqual(auth, {
                username: "AWS",
                password: "ECR-TOKEN-secret-7",
                serveraddress: "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
            });
        }
        // The reference is an output of every pull: whatever takes it runs only after the image is on each host.
        const deps = (await (out.backupAgentImage as any).allResources()) as Set<pulumi.Resource>;
        const depUrns = await Promise.all([...deps].map((r) => valueOf(r.urn)));
        assert.deepStrictEqual(
            depUrns
                .filter((u) => /-agent-pull-/.test(u))
                .map((u) => u.split("::").pop())
                .sort(),
            pulls.map((p) => p.name).sort(),
        );
        // What runs the agent runs exactly that digest.
        const backup = mine.find((r) => r.name === "prod-backup-dtr-dtr")!;
        assert.ok(backup.inputs.create.includes(ref), "the backup runs the pulled digest");
        const outputs = JSON.stringify(await Promise.all(Object.values(out).map((v) => valueOf(v as pulumi.Output<unknown>))));
        assert.ok(!outputs.includes("ECR-TOKEN"), "no output holds the registry token");
    });

    it("with backup.agentImage set: no repository, no build, the configured digest is what runs", async () => {
        const pinned = `registry.example.com/dtr-ha-backup@sha256:${"ab".repeat(32)}`;
        setConfig(awsConfig({ agentImage: pinned }), secrets);
        const before = recorded.length;
        const out = dtrStack();
        assert.strictEqual(await valueOf(out.backupAgentImage!), pinned);
        await valueOf(out.lastBackup!);
        await settle();
        const mine = recorded.slice(before);
        assert.deepStrictEqual(
            mine.filter((r) => /^(aws:ecr|docker:)/.test(r.type) || r.name.includes("-agent-pull-")).map((r) => r.type),
            [],
        );
        assert.ok(mine.find((r) => r.name === "prod-backup-dtr-dtr")!.inputs.create.includes(pinned));
    });
});

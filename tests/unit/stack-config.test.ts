import * as assert from "assert";
import { ConfigError, SecretKey, parseStackConfig } from "../../components/config/stack-config";
import { replicaCountProblem } from "../../components/cluster/topology";
import { registryHostOf } from "../../components/backup/agent-ref";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHrvC8N7j+xp1Q8bYtuqGJ2Gr7ZJxYFz0b1r0r4x5fQz host";
const CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";

function existingConfig(): Record<string, any> {
    return {
        cluster: { name: "lab", replicas: 3, production: true, externalUrl: "https://dtr.example.com", overlaySubnet: "172.16.240.0/24" },
        image: { repository: "mirantis/dtr", version: "2.9.16" },
        ucp: { url: "https://ucp.example.com", username: "admin", ca: CA },
        hosts: {
            mode: "existing",
            existing: [1, 2, 3].map((i) => ({ name: `host${i}`, address: `10.9.0.1${i}`, zone: `rack${i}`, hostKey: KEY })),
        },
        storage: { mode: "s3", s3: { region: "us-east-1", bucket: "dtr-layers", regionEndpoint: "https://s3.internal:9000" } },
    };
}
const allSecrets = new Set<SecretKey>(["ucpPassword", "sshPrivateKey", "storageAccessKey", "storageSecretKey"]);

function problemsOf(raw: Record<string, any>, secrets = allSecrets): string[] {
    try {
        parseStackConfig(raw, secrets);
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
        return (e as ConfigError).problems;
    }
    return [];
}

describe("stack configuration", () => {
    it("accepts a complete existing-hosts configuration with defaults filled in", () => {
        const c = parseStackConfig(existingConfig(), allSecrets);
        assert.strictEqual(c.cluster.httpsPort, 443);
        assert.strictEqual(c.cluster.healthGate.timeoutSeconds, 900);
        assert.strictEqual(c.hosts.mode, "existing");
        assert.strictEqual(c.storage.mode === "s3" && c.storage.s3.forcePathStyle, true);
        assert.strictEqual(c.storage.mode === "s3" && c.storage.s3.secure, true);
    });

    it("the health gate's check wait: 60 s by default, configurable, and a zero refused naming the key", () => {
        assert.strictEqual(parseStackConfig(existingConfig(), allSecrets).cluster.healthGate.checkSeconds, 60);
        const raw = existingConfig();
        raw.cluster.healthGate = { checkSeconds: 15 };
        assert.strictEqual(parseStackConfig(raw, allSecrets).cluster.healthGate.checkSeconds, 15);
        raw.cluster.healthGate = { checkSeconds: 0 };
        assert.ok(
            problemsOf(raw).some((x) => x.startsWith("dtr-ha:cluster.healthGate.checkSeconds = 0")),
            problemsOf(raw).join("\n"),
        );
    });

    it("swarm managers: optional, each checked by its index (address, pinned host key), an empty list refused", () => {
        assert.strictEqual(parseStackConfig(existingConfig(), allSecrets).cluster.swarmManagers, undefined);
        const raw = existingConfig();
        raw.cluster.swarmManagers = [{ address: "10.0.0.5", hostKey: KEY }];
        assert.deepStrictEqual(parseStackConfig(raw, allSecrets).cluster.swarmManagers, [
            { address: "10.0.0.5", port: 22, user: "root", hostKey: KEY },
        ]);
        raw.cluster.swarmManagers = [{ address: "10.0.0.5", hostKey: KEY }, { address: "10.0.0.6; rm -rf /" }];
        const p = problemsOf(raw);
        assert.ok(
            p.some((x) => x.startsWith("dtr-ha:cluster.swarmManagers[1].address = ")),
            p.join("\n"),
        );
        assert.ok(
            p.some((x) => x.startsWith("dtr-ha:cluster.swarmManagers[1].hostKey")),
            p.join("\n"),
        );
        raw.cluster.swarmManagers = [];
        assert.ok(
            problemsOf(raw).some((x) => x.startsWith("dtr-ha:cluster.swarmManagers = []")),
            problemsOf(raw).join("\n"),
        );
    });

    it("refuses even and too-small replica counts, naming key, value and fix", () => {
        const raw = existingConfig();
        raw.cluster.replicas = 4;
        const p = problemsOf(raw);
        assert.ok(
            p.some((x) => x.startsWith("dtr-ha:cluster.replicas = 4: ") && /use 3, 5 or 7/.test(x)),
            p.join("\n"),
        );
        assert.ok(p.some((x) => /dtr-ha:hosts.existing = "3 hosts": list exactly cluster.replicas \(4\)/.test(x)));
        raw.cluster.replicas = 2;
        assert.ok(problemsOf(raw).some((x) => x.startsWith("dtr-ha:cluster.replicas = 2")));
    });

    it("explains the majority rule for an even replica count in the same words as the cluster component", () => {
        for (const [n, majority, survive, odd] of [
            [2, 2, 0, 1],
            [4, 3, 1, 3],
            [6, 4, 2, 5],
        ]) {
            const raw = existingConfig();
            raw.cluster.replicas = n;
            const p = problemsOf(raw).filter((x) => x.startsWith(`dtr-ha:cluster.replicas = ${n}: `));
            assert.strictEqual(p.length, 1, problemsOf(raw).join("\n"));
            const why = `a majority of ${n} (${majority}) must stay up, so ${n} replicas survive ${survive} failure(s), as ${odd} do`;
            assert.ok(p[0].includes(why), p[0]);
            assert.ok(p[0].includes(replicaCountProblem(n)!), "the config and assertReplicaCount give the same reason");
        }
    });

    it("refuses an external URL whose port differs from httpsPort", () => {
        const raw = existingConfig();
        raw.cluster.externalUrl = "https://dtr.example.com:8443";
        assert.ok(
            problemsOf(raw).some((x) =>
                /cluster.externalUrl = "https:\/\/dtr.example.com:8443": its port 8443 must equal cluster.httpsPort 443/.test(x),
            ),
        );
    });

    it("reports every problem at once", () => {
        const raw = existingConfig();
        raw.cluster.overlaySubnet = "172.17.0.0/24";
        raw.image.version = "";
        raw.hosts.existing[1].hostKey = "not a key";
        raw.ucp.url = "http://ucp";
        const p = problemsOf(raw, new Set());
        for (const want of [
            /cluster.overlaySubnet = "172.17.0.0\/24": .*Docker address pool 172.17.0.0\/16/,
            /image.version = "": required/,
            /hosts.existing\[1\].hostKey = "not a key"/,
            /ucp.url = "http:\/\/ucp"/,
            /dtr-ha:ucpPassword is not set: .*pulumi config set --secret dtr-ha:ucpPassword/,
            /dtr-ha:sshPrivateKey is not set/,
            /dtr-ha:storageSecretKey is not set/,
        ]) {
            assert.ok(
                p.some((x) => want.test(x)),
                `missing ${want} in:\n${p.join("\n")}`,
            );
        }
    });

    it("refuses lab-only and unsafe settings in production", () => {
        const raw = existingConfig();
        raw.ucp = { url: "https://ucp.example.com", username: "admin", insecureTls: true };
        raw.cluster.mountEngineSocket = true;
        raw.storage.s3.regionEndpoint = "http://10.9.0.1:9000";
        const p = problemsOf(raw);
        assert.ok(p.some((x) => /ucp.insecureTls = true: is refused for a production cluster/.test(x)));
        assert.ok(p.some((x) => /cluster.mountEngineSocket = true: is for the lab's dtr-sim only/.test(x)));
        assert.ok(p.some((x) => /storage.s3.secure = false: sends layers and keys in clear text/.test(x)));
        raw.cluster.production = false;
        assert.deepStrictEqual(problemsOf(raw), []);
    });

    it("AWS hosts need one zone per replica unless sharing is allowed", () => {
        const raw = existingConfig();
        raw.hosts = {
            mode: "aws",
            aws: {
                vpcId: "vpc-0abc",
                vpcCidr: "10.0.0.0/16",
                subnets: [
                    { zone: "eu-west-1a", subnetId: "subnet-0a" },
                    { zone: "eu-west-1b", subnetId: "subnet-0b" },
                ],
                amiId: "ami-0123",
                sshUser: "ubuntu",
                sshPublicKey: KEY,
                sshCidrs: ["198.51.100.0/24"],
                clientCidrs: ["10.0.0.0/8"],
                engine: { installScriptUrl: "https://get.mirantis.com/" },
                swarmManagerAddress: "10.0.1.10:2377",
            },
        };
        raw.storage = { mode: "aws" };
        const secrets = new Set<SecretKey>(["ucpPassword", "sshPrivateKey", "swarmJoinToken"]);
        const p = problemsOf(raw, secrets);
        assert.ok(
            p.some((x) => /hosts.aws.subnets = "2 zones": 3 replicas need 3 availability zones/.test(x)),
            p.join("\n"),
        );
        raw.cluster.allowZoneSharing = true;
        assert.deepStrictEqual(problemsOf(raw, secrets), []);
        assert.ok(problemsOf(raw, new Set(["ucpPassword", "sshPrivateKey"])).some((x) => /swarmJoinToken is not set/.test(x)));
    });

    it("refuses an AWS layer bucket with existing hosts", () => {
        const raw = existingConfig();
        raw.storage = { mode: "aws" };
        assert.ok(problemsOf(raw).some((x) => /storage.mode = "aws": an AWS layer bucket needs AWS hosts/.test(x)));
    });

    it("refuses missing sections with a pointer to the example", () => {
        const p = problemsOf({}, allSecrets);
        assert.ok(p.some((x) => /dtr-ha:cluster = \(not set\): must be a map .*Pulumi.example.yaml/.test(x)));
        assert.ok(p.some((x) => /dtr-ha:storage.mode/.test(x)));
    });
});

describe("stacks/Pulumi.example.yaml", () => {
    // The documented example must stay valid: every key it shows is one the validator knows.
    const YAML = require("yaml");
    const fs = require("fs");
    const path = require("path");
    const doc = YAML.parse(fs.readFileSync(path.join(__dirname, "../../../stacks/Pulumi.example.yaml"), "utf8")).config;
    const raw = (): Record<string, any> => {
        const out: Record<string, any> = {};
        for (const [k, v] of Object.entries(doc)) out[k.replace(/^dtr-ha:/, "")] = JSON.parse(JSON.stringify(v));
        return out;
    };
    const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";

    it("validates as AWS hosts with an AWS layer bucket", () => {
        const r = raw();
        r.ucp.ca = pem;
        r.hosts.mode = "aws";
        r.hosts.aws.sshPublicKey = KEY;
        r.backup.swarm.hostKey = KEY;
        r.backup.ucp.hostKey = KEY;
        const c = parseStackConfig(r, new Set<SecretKey>(["ucpPassword", "sshPrivateKey", "swarmJoinToken"]));
        assert.strictEqual(c.hosts.mode, "aws");
        assert.strictEqual(c.backup?.schedule?.onCalendar, "*-*-* 02:30:00");
        assert.strictEqual(c.backup?.ucp?.image.version, "3.2.6");
        assert.strictEqual(c.storage.mode === "aws" && c.storage.aws.replicationRegion, "eu-central-1");
    });

    it("validates as existing hosts with S3-compatible storage", () => {
        const r = raw();
        r.ucp.ca = pem;
        r.hosts.existing.forEach((h: any) => (h.hostKey = KEY));
        r.storage.mode = "s3";
        r.backup = { ...r.backup, mode: "s3", s3: { region: "us-east-1", endpoint: "https://s3.internal.example.com:9000" } };
        r.backup.swarm.hostKey = KEY;
        r.backup.ucp.hostKey = KEY;
        const c = parseStackConfig(r, new Set<SecretKey>([...allSecrets, "backupAccessKey", "backupSecretKey"]));
        assert.strictEqual(c.hosts.mode === "existing" && c.hosts.existing[0].ucpNode, "dtr1.example.com");
    });

    it("refuses a misspelt key instead of silently using a default", () => {
        const r = raw();
        r.ucp.ca = pem;
        r.hosts.mode = "aws";
        r.hosts.aws.sshPublicKey = KEY;
        r.backup.swarm.hostKey = KEY;
        r.backup.ucp.hostKey = KEY;
        r.cluster.replica = 5;
        const p = problemsOf(r, new Set<SecretKey>(["ucpPassword", "sshPrivateKey", "swarmJoinToken"]));
        assert.ok(
            p.some((x) => /dtr-ha:cluster.replica = 5: is not a known key; known keys here: name, replicas/.test(x)),
            p.join("\n"),
        );
    });
});

describe("stack configuration: one entry per host, keys at the top level", () => {
    it("refuses an unknown top-level key (parseStackConfig sees every key of the namespace)", () => {
        const raw = existingConfig();
        raw.backups = { mode: "s3" };
        const p = problemsOf(raw);
        assert.deepStrictEqual(
            p.map((x) => x.split(" is not a known key")[0]),
            ["dtr-ha:backups (value not shown)"],
        );
        // Secrets are known top-level keys too.
        assert.deepStrictEqual(problemsOf({ ...existingConfig(), ucpPassword: null }), []);
    });

    it("refuses duplicate host names, SSH addresses, private addresses and UCP nodes, with every other problem", () => {
        const raw = existingConfig();
        raw.hosts.existing[1].name = "host1";
        raw.hosts.existing[2].address = "10.9.0.11";
        raw.image.version = "";
        const p = problemsOf(raw);
        for (const want of [
            'dtr-ha:hosts.existing[1].name = "host1": is also hosts.existing[0]\'s name: give every host a unique name',
            'dtr-ha:hosts.existing[1].ucpNode = "host1": is also hosts.existing[0]\'s ucpNode',
            'dtr-ha:hosts.existing[2].address = "10.9.0.11:22": is also hosts.existing[0]\'s address',
            'dtr-ha:hosts.existing[2].privateAddress = "10.9.0.11": is also hosts.existing[0]\'s privateAddress',
            'dtr-ha:image.version = "": required',
        ]) {
            assert.ok(
                p.some((x) => x.startsWith(want)),
                `missing ${want} in:\n${p.join("\n")}`,
            );
        }
    });

    it("compares private addresses as used (default: address) and SSH endpoints with their port", () => {
        const raw = existingConfig();
        // One NAT address, distinct SSH ports and distinct private addresses: three machines, accepted.
        raw.hosts.existing.forEach((h: any, i: number) => Object.assign(h, { address: "203.0.113.5", port: 2201 + i }));
        raw.hosts.existing.forEach((h: any, i: number) => (h.privateAddress = `10.9.0.2${i}`));
        assert.deepStrictEqual(problemsOf(raw), []);
        raw.hosts.existing[2].privateAddress = "10.9.0.20";
        assert.deepStrictEqual(
            problemsOf(raw).map((x) => x.split(":")[1]),
            ['hosts.existing[2].privateAddress = "10.9.0.20"'],
        );
        const raw2 = existingConfig();
        raw2.hosts.existing[1].privateAddress = "10.9.0.11"; // host1's address, its default private address
        assert.ok(problemsOf(raw2).some((x) => x.startsWith('dtr-ha:hosts.existing[1].privateAddress = "10.9.0.11": is also')));
        raw2.hosts.existing[1].ucpNode = "host1";
        assert.ok(problemsOf(raw2).some((x) => x.startsWith('dtr-ha:hosts.existing[1].ucpNode = "host1": is also')));
    });
});

describe("stack configuration: backups are encrypted in production", () => {
    const AGE = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";
    const withBackup = (production: boolean, extra: Record<string, any> = {}) => {
        const raw = existingConfig();
        raw.cluster.production = production;
        raw.backup = {
            mode: "s3",
            bucket: "dtr-backups",
            agentImage: `registry.example.com/dtr-ha-backup@sha256:${"0f".repeat(32)}`,
            s3: { region: "us-east-1", endpoint: "https://s3.internal:9000" },
            ...extra,
        };
        return raw;
    };
    const secrets = new Set<SecretKey>([...allSecrets, "backupAccessKey", "backupSecretKey"]);

    it("refuses DTR (and Swarm) backups without backup.recipients, naming the key and the fix", () => {
        for (const recipients of [undefined, []]) {
            const raw = withBackup(true, recipients ? { recipients } : {});
            const p = problemsOf(raw, secrets);
            const shown = recipients ? "[]" : "(not set)";
            assert.deepStrictEqual(
                p.map((x) => x.split(": ")[0]),
                [`dtr-ha:backup.recipients = ${shown}`],
                p.join("\n"),
            );
            assert.match(p[0], /a production cluster's backups must be encrypted: DTR backups hold DTR's TLS private key/);
            assert.match(p[0], /age-keygen -o dtr-ha-backup\.key.*backup\.recipients: \[age1\.\.\.\]/);
        }
        const swarm = { address: "10.0.1.11", hostKey: KEY };
        assert.match(problemsOf(withBackup(true, { swarm }), secrets)[0], /Swarm backups hold the swarm's node keys/);
        assert.deepStrictEqual(problemsOf(withBackup(true, { recipients: [AGE], swarm }), secrets), []);
    });

    it("a lab (production: false) may keep DTR backups unencrypted, but UCP backups always need recipients", () => {
        assert.deepStrictEqual(problemsOf(withBackup(false), secrets), []);
        const ucp = { address: "10.0.1.10", hostKey: KEY, image: { repository: "mirantis/ucp", version: "3.2.6" } };
        const p = problemsOf(withBackup(false, { ucp }), secrets);
        assert.strictEqual(p.length, 1, p.join("\n"));
        assert.match(
            p[0],
            /^dtr-ha:backup.recipients = \(not set\): UCP backups must be encrypted: .*taken without a passphrase.*age-keygen/,
        );
        assert.deepStrictEqual(problemsOf(withBackup(false, { ucp, recipients: [AGE] }), secrets), []);
    });
});

describe("stack configuration: the schedule fits the scheduler", () => {
    const withSchedule = (schedule: Record<string, string>, scheduler?: string) => {
        const raw = existingConfig();
        raw.cluster.production = false;
        raw.backup = {
            mode: "s3",
            bucket: "dtr-backups",
            agentImage: "registry.example.com/dtr-ha-backup:0.1.0",
            s3: { region: "us-east-1", endpoint: "https://s3.internal:9000" },
            schedule,
            ...(scheduler ? { scheduler } : {}),
        };
        return problemsOf(raw, new Set<SecretKey>([...allSecrets, "backupAccessKey", "backupSecretKey"]));
    };

    it("refuses a time zone with scheduler: cron (cron would run it in the host's local time), accepts it otherwise", () => {
        const p = withSchedule({ onCalendar: "*-*-* 02:00:00 Europe/Berlin" }, "cron");
        assert.strictEqual(p.length, 1, p.join("\n"));
        assert.match(
            p[0],
            /^dtr-ha:backup.schedule.onCalendar = "\*-\*-\* 02:00:00 Europe\/Berlin": has no cron form \(cron has no time zone/,
        );
        assert.match(p[0], /drop the time zone .*, give backup.schedule.cron, or set backup.scheduler: auto or systemd$/);
        assert.deepStrictEqual(withSchedule({ onCalendar: "*-*-* 02:00:00 Europe/Berlin" }), []);
        assert.deepStrictEqual(withSchedule({ onCalendar: "*-*-* 02:00:00" }, "cron"), []);
    });

    it("refuses a cron expression systemd cannot say with scheduler: systemd", () => {
        const p = withSchedule({ cron: "0 0 1 * 1" }, "systemd");
        assert.strictEqual(p.length, 1, p.join("\n"));
        assert.match(p[0], /^dtr-ha:backup.schedule.cron = "0 0 1 \* 1": has no systemd OnCalendar form/);
        assert.deepStrictEqual(withSchedule({ cron: "0 0 1 * 1" }, "cron"), []);
    });
});

describe("stack configuration: the backup agent image (backup.agentImage)", () => {
    const AGE = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";
    const PINNED = `registry.example.com/dtr-ha-backup@sha256:${"0f".repeat(32)}`;
    const secrets = new Set<SecretKey>([...allSecrets, "backupAccessKey", "backupSecretKey"]);
    const withAgent = (agentImage: string | undefined, production = true, extra: Record<string, any> = {}) => {
        const raw = existingConfig();
        raw.cluster.production = production;
        raw.backup = {
            mode: "s3",
            bucket: "dtr-backups",
            recipients: [AGE],
            s3: { region: "us-east-1", endpoint: "https://s3.internal:9000" },
            ...(agentImage === undefined ? {} : { agentImage }),
            ...extra,
        };
        return raw;
    };

    it("production: a tag is refused naming the key, the value and the fix; a digest pin is accepted", () => {
        assert.deepStrictEqual(problemsOf(withAgent(PINNED), secrets), []);
        for (const ref of [
            "registry.example.com/dtr-ha-backup:0.1.0",
            "registry.example.com/dtr-ha-backup",
            `registry.example.com/x@sha512:${"ab".repeat(64)}`,
        ]) {
            const p = problemsOf(withAgent(ref), secrets);
            assert.strictEqual(p.length, 1, p.join("\n"));
            assert.ok(p[0].startsWith(`dtr-ha:backup.agentImage = ${JSON.stringify(ref)}: is not pinned by digest`), p[0]);
            assert.match(p[0], /repository@sha256:<64 hex>/);
        }
        // A lab (production: false) may run a tag.
        assert.deepStrictEqual(problemsOf(withAgent("registry.example.com/dtr-ha-backup:0.1.0", false), secrets), []);
    });

    it("refuses an image served by the DTR being protected (its URL or any replica host, any port), even pinned", () => {
        const digest = `@sha256:${"0f".repeat(32)}`;
        for (const ref of [
            `dtr.example.com/admin/dtr-ha-backup${digest}`,
            `DTR.example.com:4443/admin/agent${digest}`,
            `10.9.0.12:443/admin/agent${digest}`,
        ]) {
            const p = problemsOf(withAgent(ref), secrets);
            assert.strictEqual(p.length, 1, p.join("\n"));
            assert.ok(p[0].startsWith(`dtr-ha:backup.agentImage = ${JSON.stringify(ref)}: its registry`), p[0]);
            assert.match(p[0], /is the DTR this stack protects: a restore runs the agent when that DTR is gone/);
        }
        // A replica's private address counts too.
        const raw = withAgent(`10.8.0.5/agent${digest}`);
        raw.hosts.existing[2].privateAddress = "10.8.0.5";
        assert.match(problemsOf(raw, secrets)[0], /^dtr-ha:backup.agentImage = .*: its registry 10\.8\.0\.5 is the DTR/);
        // And in a lab too: a lab's restore would fail the same way.
        assert.match(problemsOf(withAgent(`dtr.example.com/agent:1`, false), secrets)[0], /is the DTR this stack protects/);
    });

    it("is required with existing hosts, optional with AWS hosts (the stack builds it); the replication region only there", () => {
        assert.ok(problemsOf(withAgent(undefined), secrets).some((x) => x.startsWith("dtr-ha:backup.agentImage = (not set): required")));
        const p = problemsOf(withAgent(PINNED, true, { agentImageReplicationRegion: "eu-central-1" }), secrets);
        assert.deepStrictEqual(
            p.map((x) => x.split(": ")[0]),
            ['dtr-ha:backup.agentImageReplicationRegion = "eu-central-1"'],
        );
    });
});

describe("agent image references (pure)", () => {
    it("reads the registry host as Docker does", () => {
        assert.strictEqual(registryHostOf("dtr-ha-backup:1"), "docker.io");
        assert.strictEqual(registryHostOf("library/busybox@sha256:00"), "docker.io");
        assert.strictEqual(registryHostOf("localhost:5000/a"), "localhost");
        assert.strictEqual(registryHostOf("Reg.Example.com:5000/a/b:1"), "reg.example.com");
        assert.strictEqual(registryHostOf("10.0.0.1/a"), "10.0.0.1");
        assert.strictEqual(registryHostOf("myhost:5000/a"), "myhost");
    });
});

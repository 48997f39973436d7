/**
 * Strict character sets at the config boundary: every value that ends up in a shell script, a `docker run` argv or an
 * S3 key is refused by parseStackConfig when it holds anything outside its grammar, naming the key and the value.
 * (The reliability audit's config fuzz, section B, as a test.)
 */
import * as assert from "assert";
import { ConfigError, SecretKey, parseStackConfig } from "../../components/config/stack-config";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHrvC8N7j+xp1Q8bYtuqGJ2Gr7ZJxYFz0b1r0r4x5fQz host";
const AGE = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";
const SECRETS = new Set<SecretKey>([
    "ucpPassword",
    "sshPrivateKey",
    "storageAccessKey",
    "storageSecretKey",
    "backupAccessKey",
    "backupSecretKey",
]);

function base(): Record<string, any> {
    return {
        cluster: { name: "prod", replicas: 3, production: false, externalUrl: "https://dtr.example.com", overlaySubnet: "172.16.240.0/24" },
        image: { repository: "mirantis/dtr", version: "2.9.16" },
        ucp: { url: "https://ucp.example.com", username: "admin", insecureTls: true },
        hosts: {
            mode: "existing",
            existing: [1, 2, 3].map((i) => ({ name: `host${i}`, address: `10.9.0.1${i}`, user: "root", zone: `z${i}`, hostKey: KEY })),
        },
        storage: { mode: "s3", s3: { region: "us-east-1", bucket: "dtr-layers", regionEndpoint: "https://s3.internal:9000" } },
        backup: {
            mode: "s3",
            bucket: "dtr-backups",
            prefix: "dtr",
            agentImage: "registry.example.com/dtr-ha-backup:0.1.0",
            recipients: [AGE],
            s3: { region: "us-east-1", endpoint: "https://s3.internal:9000" },
            swarm: { address: "10.0.1.11", user: "root", hostKey: KEY, dataRoot: "/var/lib/docker" },
            ucp: { address: "10.0.1.10", user: "root", hostKey: KEY, image: { repository: "mirantis/ucp", version: "3.2.6" } },
        },
        restore: { manifestKey: "dtr/manifests/prod/20261125T023000Z-dtr.manifest.json", replicaId: "0123456789ab" },
    };
}

function problemsOf(raw: Record<string, any>): string[] {
    try {
        parseStackConfig(raw, SECRETS);
    } catch (e) {
        assert.ok(e instanceof ConfigError, String(e));
        return e.problems;
    }
    return [];
}

/** Sets `path` (dots and [i]) in a copy of the base config. */
function withValue(path: string, value: unknown): Record<string, any> {
    const raw = base();
    const parts = path.replace(/\[(\d+)\]/g, ".$1").split(".");
    let o = raw;
    for (const p of parts.slice(0, -1)) o = o[p];
    o[parts[parts.length - 1]] = value;
    return raw;
}

const HOSTILE = ["a'b", "$(id)", ";reboot", "x\ny", "--flag", "x".repeat(5000), "ünï", "`id`", "a b"];

/** Each field, and the hostile values it must refuse (all of them unless an exception is listed). */
const FIELDS: [string, string[]][] = [
    ["cluster.name", HOSTILE],
    ["hosts.existing[0].name", HOSTILE],
    ["hosts.existing[0].user", HOSTILE],
    ["image.repository", HOSTILE],
    ["image.version", HOSTILE],
    ["backup.bucket", HOSTILE],
    ["backup.prefix", HOSTILE],
    ["backup.agentImage", HOSTILE],
    ["backup.swarm.user", HOSTILE],
    ["backup.swarm.dataRoot", HOSTILE.map((v) => `/${v}`)],
    ["backup.ucp.user", HOSTILE],
    ["backup.ucp.image.repository", HOSTILE],
    ["backup.ucp.image.version", HOSTILE],
    ["restore.manifestKey", HOSTILE.map((v) => `dtr/manifests/prod/${v}-dtr.manifest.json`)],
];

describe("config: strict character sets for values that reach a shell or an S3 key", () => {
    it("the base configuration is valid", () => assert.deepStrictEqual(problemsOf(base()), []));

    for (const [field, values] of FIELDS) {
        it(`${field}: refuses every hostile value, naming the key and the value`, () => {
            for (const v of values) {
                const p = problemsOf(withValue(field, v));
                assert.ok(
                    p.some((x) => x.startsWith(`dtr-ha:${field} = ${JSON.stringify(v)}: `)),
                    `${field} = ${JSON.stringify(v).slice(0, 60)} accepted, or refused without naming it:\n${p.join("\n").slice(0, 600)}`,
                );
            }
        });
    }

    it("refuses prefixes and data roots with '.'/'..' segments or a leading '-'", () => {
        for (const v of ["../x", "a/./b", "a/../b", "-x", ".hidden", "a//b", "/a", "a/"])
            assert.ok(
                problemsOf(withValue("backup.prefix", v)).some((x) => x.startsWith(`dtr-ha:backup.prefix = ${JSON.stringify(v)}: `)),
                v,
            );
        for (const v of ["/var/../etc", "/var/lib/docker/", "/a/./b", "relative"])
            assert.ok(
                problemsOf(withValue("backup.swarm.dataRoot", v)).some((x) =>
                    x.startsWith(`dtr-ha:backup.swarm.dataRoot = ${JSON.stringify(v)}: `),
                ),
                v,
            );
    });

    it("accepts the image references people use: registry with port, digest, nested paths", () => {
        for (const v of [
            "10.200.0.1:5000/dtr-ha-backup:lab",
            "dtr-ha-backup",
            `reg.example.com/a/b@sha256:${"a".repeat(64)}`,
            "localhost:5000/x:1",
        ])
            assert.deepStrictEqual(problemsOf(withValue("backup.agentImage", v)), [], v);
        for (const v of ["registry.mirantis.com/msr/dtr", "10.200.0.1:5000/dtr-sim", "docker/dtr"])
            assert.deepStrictEqual(problemsOf(withValue("image.repository", v)), [], v);
        for (const v of ["Mirantis/dtr", "mirantis/dtr:2.9.16", "a//b", "-x/y"])
            assert.ok(
                problemsOf(withValue("image.repository", v)).some((x) => x.startsWith("dtr-ha:image.repository")),
                v,
            );
    });

    it("restore.manifestKey must be one of this cluster's DTR backups, exactly as the agent names them", () => {
        const other = "dtr/manifests/staging/20261125T023000Z-dtr.manifest.json";
        assert.ok(
            problemsOf(withValue("restore.manifestKey", other)).some((x) =>
                x.startsWith(
                    `dtr-ha:restore.manifestKey = "${other}": is a backup of cluster "staging", not of this stack's cluster.name "prod"`,
                ),
            ),
        );
        const ucp = "dtr/manifests/prod/20261125T023000Z-ucp.manifest.json";
        assert.ok(
            problemsOf(withValue("restore.manifestKey", ucp)).some((x) => x.includes("is a ucp backup; a dtr backup is needed here")),
        );
        for (const v of [
            "x$(id).manifest.json",
            "/dtr/manifests/prod/20261125T023000Z-dtr.manifest.json",
            "dtr/../manifests/prod/20261125T023000Z-dtr.manifest.json",
        ])
            assert.ok(
                problemsOf(withValue("restore.manifestKey", v)).some((x) =>
                    x.startsWith(`dtr-ha:restore.manifestKey = ${JSON.stringify(v)}: `),
                ),
                v,
            );
        const c = parseStackConfig(base(), SECRETS);
        assert.strictEqual(c.restore?.manifestKey, "dtr/manifests/prod/20261125T023000Z-dtr.manifest.json");
    });
});

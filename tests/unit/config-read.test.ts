/**
 * readStackConfig against the engine's config map (pulumi.runtime.setAllConfig, as the engine passes it): every key of
 * the dtr-ha namespace is checked, so a misspelt top-level section is refused before anything is declared.
 */
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import "./mocks";
import { ConfigError, readStackConfig } from "../../components/config";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHrvC8N7j host";
const sections = {
    cluster: { name: "lab", replicas: 3, production: false, externalUrl: "https://dtr.example.com", overlaySubnet: "172.16.240.0/24" },
    image: { repository: "mirantis/dtr", version: "2.9.16" },
    ucp: { url: "https://ucp.example.com", username: "admin", insecureTls: true },
    hosts: {
        mode: "existing",
        existing: [1, 2, 3].map((i) => ({ name: `host${i}`, address: `10.9.0.1${i}`, zone: `z${i}`, hostKey: KEY })),
    },
    storage: { mode: "s3", s3: { region: "us-east-1", bucket: "dtr-layers", regionEndpoint: "https://s3.internal:9000" } },
};
const secrets = { ucpPassword: "p", sshPrivateKey: "k", storageAccessKey: "a", storageSecretKey: "SECRET-VALUE-42" };

function setConfig(extra: Record<string, string> = {}, extraSecrets: string[] = []) {
    const all: Record<string, string> = { "aws:region": "eu-west-1", "other:backups": "x" };
    for (const [k, v] of Object.entries(sections)) all[`dtr-ha:${k}`] = JSON.stringify(v);
    for (const [k, v] of Object.entries(secrets)) all[`dtr-ha:${k}`] = v;
    Object.assign(all, extra);
    pulumi.runtime.setAllConfig(all, [...Object.keys(secrets).map((k) => `dtr-ha:${k}`), ...extraSecrets]);
}

function problems(): string[] {
    try {
        readStackConfig();
    } catch (e) {
        assert.ok(e instanceof ConfigError, String(e));
        return e.problems;
    }
    return [];
}

describe("config: reading the dtr-ha namespace", () => {
    after(() => pulumi.runtime.setAllConfig({}));

    it("accepts a valid stack whose other namespaces hold keys of their own", () => {
        setConfig();
        assert.deepStrictEqual(problems(), []);
        assert.strictEqual(readStackConfig().config.cluster.name, "lab");
    });

    it("refuses an unknown top-level key such as dtr-ha:backups, naming it, the likely key and the fix", () => {
        setConfig({ "dtr-ha:backups": JSON.stringify({ mode: "s3" }) });
        const p = problems();
        assert.strictEqual(p.length, 1, p.join("\n"));
        assert.match(p[0], /^dtr-ha:backups \(value not shown\) is not a known key: did you mean dtr-ha:backup\? /);
        assert.match(p[0], /pulumi config rm dtr-ha:backups/);
    });

    it("reports an unknown key together with the other problems, and never prints a misspelt secret's value", () => {
        setConfig({ "dtr-ha:backupSecretKy": "SECRET-VALUE-42", "dtr-ha:ucp": JSON.stringify({ url: "http://ucp" }) }, [
            "dtr-ha:backupSecretKy",
        ]);
        const p = problems();
        assert.ok(
            p.some((x) => x.startsWith("dtr-ha:backupSecretKy (value not shown) is not a known key: did you mean dtr-ha:backupSecretKey?")),
            p.join("\n"),
        );
        assert.ok(p.some((x) => x.startsWith('dtr-ha:ucp.url = "http://ucp"')));
        assert.ok(!p.join("\n").includes("SECRET-VALUE-42"));
    });
});

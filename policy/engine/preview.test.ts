// The pack through the real pulumi CLI and engine (not mocks): a stack the rules accept previews
// cleanly; stacks they reject fail with the rule's message. Needs the CLI built by scripts/toolchain.sh.
import * as assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { previewWithPolicy } from "./preview";

class FakeCluster extends pulumi.ComponentResource {
    constructor(name: string, outputs: Record<string, pulumi.Input<unknown>>) {
        super("dtr-ha:index:DtrCluster", name, {}, {});
        this.registerOutputs(outputs);
    }
}

const GOOD = {
    replicaCount: 3,
    replicaIds: ["a1b2c3d4e5f6", "b1b2c3d4e5f6", "c1b2c3d4e5f6"],
    hostNames: ["dtr-1", "dtr-2", "dtr-3"],
    zones: ["lab-a", "lab-b", "lab-c"],
    storageKind: "s3",
    imageVersion: "2.9.16",
    externalUrl: "https://dtr.lab.test",
};

describe("policy pack through the real pulumi engine", function () {
    this.timeout(180_000);
    const backendDir = fs.mkdtempSync(path.join(os.tmpdir(), "dtr-ha-policy-"));
    after(() => fs.rmSync(backendDir, { recursive: true, force: true }));
    const previewMany = (stackName: string, clusters: Record<string, Record<string, unknown>>) =>
        previewWithPolicy({
            projectName: "dtr-ha-policy-check",
            stackName,
            backendDir,
            program: async () => {
                for (const [name, outputs] of Object.entries(clusters)) new FakeCluster(name, outputs);
            },
        });
    const preview = (stackName: string, outputs: Record<string, unknown>) => previewMany(stackName, { registry: outputs });

    it("passes a 3-replica, 3-zone, S3-backed cluster", async () => {
        const r = await preview("good", GOOD);
        assert.equal(r.passed, true, r.output);
        assert.match(r.output, /✅ dtr-ha@v0\.1\.0 \(local: /); // the pack ran and passed
        assert.doesNotMatch(r.output, /mandatory/);
    });

    it("fails a 2-replica cluster with the replica-count rule's message", async () => {
        const r = await preview("two-replicas", { ...GOOD, replicaCount: 2, zones: ["lab-a", "lab-b"] });
        assert.equal(r.passed, false, r.output);
        assert.match(r.output, /dtr-replica-count-odd-min-3/);
        assert.match(r.output, /DtrCluster "registry" .* has replicaCount 2: .* set replicaCount to 3/s);
    });

    it("fails shared zones and filesystem storage, each with its rule's message", async () => {
        const r = await preview("zones-fs", { ...GOOD, zones: ["lab-a", "lab-a", "lab-c"], storageKind: "filesystem" });
        assert.equal(r.passed, false, r.output);
        assert.match(r.output, /dtr-one-replica-per-zone/);
        assert.match(r.output, /zone "lab-a" holds replica 1 \(dtr-1\), replica 2 \(dtr-2\)/);
        assert.match(r.output, /dtr-no-filesystem-storage-multi-replica/);
        assert.match(r.output, /set storage to "s3" \(or "nfs"\)/);
    });

    it("skips only values unknown during preview, still failing known bad ones", async () => {
        const r = await previewMany("unknowns", {
            // replicaCount unknown: the count rule skips this cluster, the zone rule still sees "lab-a" twice
            partly: { ...GOOD, replicaCount: pulumi.unknown, zones: ["lab-a", pulumi.unknown, "lab-a"] },
            small: { ...GOOD, replicaCount: 2, zones: ["lab-a", "lab-b"] },
        });
        assert.equal(r.passed, false, r.output);
        assert.match(r.output, /DtrCluster "partly" .*\(zone "lab-a" holds replica 1 \(dtr-1\), replica 3 \(dtr-3\)/);
        assert.match(r.output, /DtrCluster "small" .* has replicaCount 2/);
        assert.doesNotMatch(r.output, /DtrCluster "partly" .* replicaCount/);
        assert.doesNotMatch(r.output, /can't run policy/); // no rule was downgraded to advisory
    });
});

/** A command:remote:Command as the library declares it; served by pulumi-resource-command on PATH. */
class RemoteCommand extends pulumi.CustomResource {
    constructor(name: string, create: string) {
        // A throw-away key: the provider parses it; preview never connects.
        const { privateKey } = crypto.generateKeyPairSync("ed25519", {
            privateKeyEncoding: { format: "pem", type: "pkcs8" },
            publicKeyEncoding: { format: "pem", type: "spki" },
        });
        const connection = { host: "10.200.0.11", user: "root", privateKey: pulumi.secret(privateKey) };
        super("command:remote:Command", name, { connection, create }, {});
    }
}

describe("unsafe DTR flags through the real pulumi engine and command provider", function () {
    this.timeout(180_000);
    const backendDir = fs.mkdtempSync(path.join(os.tmpdir(), "dtr-ha-policy-cmd-"));
    after(() => fs.rmSync(backendDir, { recursive: true, force: true }));
    const JOIN = "docker run -i --rm mirantis/dtr:2.9.16 join --ucp-node dtr-2 --existing-replica-id a1b2c3d4e5f6";
    const preview = (stackName: string, create: string, policyConfig?: Record<string, unknown>) =>
        previewWithPolicy({
            projectName: "dtr-ha-policy-commands",
            stackName,
            backendDir,
            policyConfig,
            program: async () => {
                new RemoteCommand("join-dtr-2", create);
            },
        });

    it("fails --ucp-insecure-tls in a production stack's command, naming the command and the fix", async () => {
        const r = await preview("prod", `${JOIN} --ucp-insecure-tls`);
        assert.equal(r.passed, false, r.output);
        assert.match(r.output, /dtr-no-unsafe-flags-in-production/);
        assert.match(
            r.output,
            /Command "join-dtr-2" \(urn:pulumi:prod::.*\) passes --ucp-insecure-tls in its create command on production stack "prod": .*remove --ucp-insecure-tls/,
        );
    });

    it("passes the same command in the lab stack, and a safe one in production", async () => {
        const lab = await preview("lab", `${JOIN} --ucp-insecure-tls`);
        assert.equal(lab.passed, true, lab.output);
        const prod = await preview("prod-safe", `${JOIN} --ucp-ca "$UCP_CA"`);
        assert.equal(prod.passed, true, prod.output);
        assert.match(prod.output, /✅ dtr-ha@v0\.1\.0/);
    });

    it("reads policy config: production forced on, and a rule turned down to advisory", async () => {
        const forced = await preview("lab-forced", `${JOIN} --unsafe-join`, {
            "dtr-no-unsafe-flags-in-production": { production: true },
        });
        assert.equal(forced.passed, false, forced.output);
        assert.match(forced.output, /passes --unsafe-join in its create command on production stack "lab-forced"/);
        const advisory = await preview("prod-advisory", `${JOIN} --unsafe-join`, {
            "dtr-no-unsafe-flags-in-production": { enforcementLevel: "advisory" },
        });
        assert.equal(advisory.passed, true, advisory.output);
        assert.match(advisory.output, /\[advisory\]\s+dtr-no-unsafe-flags-in-production/);
    });
});

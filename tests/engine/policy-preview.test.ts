/**
 * `pulumi preview` with the policy pack, through the real engine, on the project's own stack program (index.ts) with
 * the lab's configuration: with UCP's CA pinned it passes even under a production stack name; the same configuration
 * with `ucp.insecureTls` instead is stopped there with the rule's message, and so is its tag-only backup agent once the
 * policy config says production. No resource is created (a preview runs no command), so no lab is needed.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { labStackConfig } from "../../stacks/lab-config";
import { openStack, setStackConfig } from "../../stacks/workspace";
import { REPO_ROOT } from "../../lab/lab";
import { fakeLabStatus } from "../fake-lab-status";
import { execFileSync } from "child_process";

// Real key material: the command provider checks keys even in a preview.
const keyDir = fs.mkdtempSync(path.join(os.tmpdir(), "dtr-ha-policy-key-"));
execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(keyDir, "id")]);
const PRIVATE_KEY = fs.readFileSync(path.join(keyDir, "id"), "utf8");
const HOST_KEY = fs.readFileSync(path.join(keyDir, "id.pub"), "utf8").trim();
fs.rmSync(keyDir, { recursive: true });

const status = fakeLabStatus(() => HOST_KEY);

const POLICY = path.join(REPO_ROOT, "policy");

/** `productionPolicy`: the policy config's `production: true` for the agent rule (the lab's cluster says `production: false`). */
async function preview(stackName: string, insecureUcp = false, productionPolicy = false): Promise<{ passed: boolean; output: string }> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dtr-ha-policy-"));
    const policyPackConfigs: string[] = [];
    if (productionPolicy) {
        const file = path.join(dir, "policy-config.json");
        fs.writeFileSync(file, JSON.stringify({ "dtr-backup-agent-pinned": { production: true } }));
        policyPackConfigs.push(file);
    }
    const stack = await openStack(stackName, { dir });
    const { config, secrets } = labStackConfig(status, {
        adminPassword: "pw",
        sshPrivateKey: PRIVATE_KEY,
        s3: { accessKey: "a", secretKey: "s" },
        agentVersion: "0.1.0",
    });
    if (insecureUcp) config.ucp = { url: "https://ucp.dtr-ha.lab", username: "admin", insecureTls: true };
    await setStackConfig(stack, config, secrets);
    let output = "";
    try {
        await stack.preview({ policyPacks: [POLICY], policyPackConfigs, color: "never", onOutput: (o) => (output += o) });
        return { passed: true, output };
    } catch (e) {
        return { passed: false, output: output + String((e as Error).message) };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

describe("the policy pack on the project's stack program (real engine, preview)", function () {
    this.timeout(180_000);

    it("passes the lab configuration (UCP's CA pinned) under a production stack name", async () => {
        const r = await preview("prod");
        assert.strictEqual(r.passed, true, r.output.slice(-3000));
        assert.match(r.output, /dtr-ha@v0\.1\.0/);
    });

    it("stops it in a production stack once ucp.insecureTls replaces the CA, naming the command and the rule", async () => {
        const r = await preview("prod", true);
        assert.strictEqual(r.passed, false, r.output.slice(-3000));
        assert.match(r.output, /dtr-no-unsafe-flags-in-production/);
        assert.match(r.output, /Command "lab-install" \(urn:pulumi:prod::dtr-ha::.*\) passes --ucp-insecure-tls/);
    });

    // The rule reads the agent image from what DtrBackup registers as an output: this goes red if the component stops
    // registering it (the rule would then see nothing to check and pass).
    it("stops the lab's tag-only backup agent once the policy config says production, naming the backup and the rule", async () => {
        const r = await preview("prod", false, true);
        assert.strictEqual(r.passed, false, r.output.slice(-3000));
        assert.match(r.output, /dtr-backup-agent-pinned/);
        assert.match(r.output, /runs the backup agent \S+\/dtr-ha-backup:0\.1\.0, not pinned by digest, on production stack "prod"/);
    });
});

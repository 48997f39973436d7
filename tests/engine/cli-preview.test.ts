/**
 * `pulumi preview` of the project FROM ITS OWN FOLDER WITH THE CLI, the way the README tells users to run it: the CLI
 * starts the Node.js language host (pulumi-language-nodejs, built by scripts/toolchain.sh), which runs the compiled
 * stack program (Pulumi.yaml `main: bin/`). The stack is made with the CLI too, in a file backend in a temp dir, with
 * the passphrase from the environment and the lab's configuration for hosts that are not there: a preview runs no
 * command, so no lab is needed. Nothing is written into the project folder (the stack's config file lives in the temp
 * dir and is passed with --config-file).
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { execFileSync } from "child_process";
import { labStackConfig } from "../../stacks/lab-config";
import { REPO_ROOT } from "../../lab/lab";
import { fakeLabStatus } from "../fake-lab-status";
import { CliStack, cliStack } from "../cli-project";

const STACK = "cli-preview";

interface PreviewJson {
    steps?: { op: string; urn: string; newState?: { type: string } }[];
    changeSummary?: Record<string, number>;
    diagnostics?: { message: string; severity: string }[];
}

describe("pulumi preview from the project folder with the CLI (language host, no lab)", function () {
    this.timeout(240_000);
    let tmp: string;
    let cli: CliStack;

    before(() => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dtr-ha-cli-preview-"));
        // Real key material: the command provider checks keys even in a preview.
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(tmp, "id")]);
        const hostKey = fs.readFileSync(path.join(tmp, "id.pub"), "utf8").trim();
        const { config, secrets } = labStackConfig(
            fakeLabStatus(() => hostKey),
            {
                adminPassword: "pw",
                sshPrivateKey: fs.readFileSync(path.join(tmp, "id"), "utf8"),
                s3: { accessKey: "a", secretKey: "s" },
                agentVersion: "0.1.0",
            },
        );
        cli = cliStack(tmp, STACK, config, secrets);
    });
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it("plans the lab cluster's resources, through the language host, with no Undefined-value warning", () => {
        const before = execFileSync("git", ["status", "--porcelain", "--untracked-files=all"], { cwd: REPO_ROOT, encoding: "utf8" });
        const r = cli.pulumi(REPO_ROOT, ["preview", "--stack", STACK, "--config-file", cli.configFile, "--json"]);
        const out = `${r.stdout}\n${r.stderr}`;
        assert.strictEqual(r.status, 0, out.slice(-4000));
        const undefinedWarnings = out.split("\n").filter((l) => /Undefined value/.test(l));
        assert.deepStrictEqual(undefinedWarnings, [], "the stack program returned undefined outputs");
        const plan = JSON.parse(r.stdout) as PreviewJson;
        for (const d of plan.diagnostics ?? []) assert.doesNotMatch(d.message, /Undefined value|will not show as a stack output/);
        const errors = (plan.diagnostics ?? []).filter((d) => d.severity === "error");
        assert.deepStrictEqual(errors, []);

        // The plan: everything is a create (a fresh stack), the stack and the cluster component among them, and the
        // lab cluster's own commands named for its three hosts.
        const steps = plan.steps ?? [];
        assert.ok(steps.length > 0, "no steps");
        assert.deepStrictEqual([...new Set(steps.map((s) => s.op))], ["create"]);
        const types = new Map<string, number>();
        for (const s of steps) types.set(s.newState!.type, (types.get(s.newState!.type) ?? 0) + 1);
        assert.strictEqual(types.get("pulumi:pulumi:Stack"), 1);
        assert.strictEqual(types.get("dtr-ha:index:DtrCluster"), 1, [...types.keys()].join(", "));
        assert.strictEqual(types.get("dtr-ha:index:DtrBackup"), 1, "the lab config has backups: one DTR backup is planned");
        // The documented order's steps for the three lab hosts: pull and ownership on each, install on the first,
        // S3 storage, join of the others, the overlay check on each, the version marker and the health gate.
        const names = new Set(steps.map((s) => s.urn.split("::").pop()!));
        const expected = [
            ...["host1", "host2", "host3"].flatMap((h) => [`lab-pull-${h}`, `lab-owner-${h}`, `lab-overlay-${h}`]),
            "lab-install",
            "lab-storage",
            "lab-join-host2",
            "lab-join-host3",
            "lab-version",
            "lab-health",
        ];
        assert.deepStrictEqual(
            expected.filter((n) => !names.has(n)),
            [],
            `missing from the plan (it has ${[...names].join(", ")})`,
        );
        assert.ok(!names.has("lab-join-host1"), "the first host installs, it does not join");
        assert.strictEqual(plan.changeSummary?.create, steps.length);

        // The project folder is exactly as before (no stack config file written into stacks/).
        const after = execFileSync("git", ["status", "--porcelain", "--untracked-files=all"], { cwd: REPO_ROOT, encoding: "utf8" });
        assert.strictEqual(after, before);
    });
});

/**
 * The operator tools open stacks the way `pulumi` does: the backend from PULUMI_BACKEND_URL (here a file backend in a
 * temp dir, standing for any backend) and the secrets from PULUMI_CONFIG_PASSPHRASE(_FILE), from the project folder
 * they run in, with no lab state dir. The compiled CLIs, the real pulumi CLI, no lab: a stack made with the CLI is
 * found and opened (its config decrypted with the environment's passphrase), a wrong passphrase is pulumi's error, a
 * missing stack is named with the backend, nothing needs or gets a --stack default, and read-only commands leave the
 * backend byte-identical.
 */
import * as assert from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { REPO_ROOT } from "../../lab/lab";

const BIN = path.join(__dirname, "..", "..", "stacks");

/** Every file under `dir` with its content hash (the backend's whole state). */
function snapshot(dir: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
        const p = path.join(e.parentPath, e.name);
        if (e.isFile()) out[path.relative(dir, p)] = crypto.createHash("sha256").update(fs.readFileSync(p)).digest("hex");
    }
    return out;
}

describe("operator tools on any backend: PULUMI_BACKEND_URL and the passphrase from the environment, no lab dir", function () {
    this.timeout(300_000);
    let tmp: string;
    let project: string;
    let backend: string;
    let env: NodeJS.ProcessEnv;
    const passphrase = crypto.randomBytes(16).toString("hex");

    const cli = (tool: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}, cwd = project) => {
        const r = spawnSync(process.execPath, [path.join(BIN, `${tool}.js`), ...args], {
            cwd,
            env: { ...env, ...extraEnv },
            encoding: "utf8",
            timeout: 200_000,
        });
        return { code: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    const pulumi = (args: string[], input?: string) => {
        const r = spawnSync("pulumi", [...args, "--non-interactive"], { cwd: project, env, input, encoding: "utf8", timeout: 200_000 });
        assert.strictEqual(r.status, 0, `pulumi ${args.join(" ")}: ${r.stderr}`);
        return r.stdout;
    };
    const stacks = () => (JSON.parse(pulumi(["stack", "ls", "--json"])) as { name: string }[]).map((s) => s.name).sort();

    before(() => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dtr-ha-any-backend-"));
        backend = path.join(tmp, "backend");
        project = path.join(tmp, "project");
        fs.mkdirSync(backend);
        fs.mkdirSync(project);
        fs.copyFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), path.join(project, "Pulumi.yaml"));
        env = {
            ...process.env,
            // No lab state dir and no other passphrase source: only what is set here.
            DTR_HA_STATE_DIR: undefined,
            PULUMI_CONFIG_PASSPHRASE_FILE: undefined,
            PULUMI_BACKEND_URL: `file://${backend}`,
            PULUMI_CONFIG_PASSPHRASE: passphrase,
            PULUMI_HOME: path.join(tmp, "pulumi-home"),
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_DIY_BACKEND_NO_LEGACY_WARNING: "true",
        };
        // The source stack, made with the CLI as an operator would: backup settings in plain config, keys as secrets.
        pulumi(["stack", "init", "src", "--secrets-provider", "passphrase"]);
        pulumi([
            "config",
            "set-all",
            "--stack",
            "src",
            "--plaintext",
            `dtr-ha:cluster=${JSON.stringify({ name: "c1" })}`,
            "--plaintext",
            `dtr-ha:backup=${JSON.stringify({ mode: "s3", bucket: "b", prefix: "dtr", s3: { region: "us-east-1", endpoint: "http://127.0.0.1:9" } })}`,
        ]);
        pulumi(["config", "set", "--stack", "src", "--secret", "dtr-ha:backupAccessKey"], "the-access-key");
        pulumi(["config", "set", "--stack", "src", "--secret", "dtr-ha:backupSecretKey"], "the-secret-key");
        assert.deepStrictEqual(stacks(), ["src"]);
    });
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it("read-only and refused commands name what is missing and create no stack", () => {
        const before = snapshot(backend);
        const noStack = cli("backups", ["list"]);
        assert.strictEqual(noStack.code, 2, noStack.stderr);
        assert.match(noStack.stderr, /--stack is required/);
        const missing = cli("backups", ["--stack", "nosuch", "list"]);
        assert.strictEqual(missing.code, 2, missing.stderr);
        assert.match(missing.stderr, new RegExp(`stack nosuch does not exist in the backend file://${backend}`));
        const noSource = cli("rebuild", ["--from", "latest", "--stack", "new"]);
        assert.strictEqual(noSource.code, 2, noSource.stderr);
        assert.match(noSource.stderr, /--source-stack is required/);
        const badSource = cli("rebuild", ["--from", "latest", "--stack", "new", "--source-stack", "gone"]);
        assert.strictEqual(badSource.code, 2, badSource.stderr);
        assert.match(badSource.stderr, /source stack gone does not exist in the backend file:\/\//);
        const taken = cli("rebuild", ["--from", "latest", "--stack", "src", "--source-stack", "gone"]);
        assert.strictEqual(taken.code, 2, taken.stderr);
        assert.match(taken.stderr, /stack src already exists in the backend file:\/\//);
        const retireMissing = cli("retire", ["--stack", "nosuch"]);
        assert.strictEqual(retireMissing.code, 2, retireMissing.stderr);
        assert.match(retireMissing.stderr, /--stack nosuch: no such stack in the backend file:\/\/.*; nothing was changed/);
        assert.deepStrictEqual(stacks(), ["src"]);
        assert.deepStrictEqual(snapshot(backend), before, "the backend changed");
        assert.ok(!fs.existsSync(path.join(project, "stacks", "Pulumi.new.yaml")));
    });

    it("opens the stack with the environment's passphrase (PULUMI_CONFIG_PASSPHRASE or _FILE); a wrong one is refused", () => {
        const before = snapshot(backend);
        // Opened and its secrets decrypted: the next step (the backup agent, or S3 at a closed port) is what fails.
        const opened = cli("backups", ["--stack", "src", "list"]);
        assert.strictEqual(opened.code, 1, opened.stderr);
        assert.match(opened.stderr, /backup agent/);
        assert.doesNotMatch(opened.stderr, /does not exist|passphrase/i);
        const file = path.join(tmp, "passphrase");
        fs.writeFileSync(file, passphrase, { mode: 0o600 });
        const fromFile = cli("backups", ["--stack", "src", "list"], {
            PULUMI_CONFIG_PASSPHRASE: undefined,
            PULUMI_CONFIG_PASSPHRASE_FILE: file,
        });
        assert.strictEqual(fromFile.code, 1, fromFile.stderr);
        assert.match(fromFile.stderr, /backup agent/);
        assert.doesNotMatch(fromFile.stderr, /passphrase/i);
        const wrong = cli("backups", ["--stack", "src", "list"], { PULUMI_CONFIG_PASSPHRASE: "not-the-passphrase" });
        assert.strictEqual(wrong.code, 1, wrong.stderr);
        assert.match(wrong.stderr, /passphrase/i);
        // retire without --yes reads the stack's state through the same backend and changes nothing.
        const dry = cli("retire", ["--stack", "src"]);
        assert.strictEqual(dry.code, 0, dry.stderr);
        assert.match(dry.stderr, /stack src: 0 resources in its state/);
        assert.match(dry.stderr, /nothing was changed/);
        assert.deepStrictEqual(stacks(), ["src"]);
        assert.deepStrictEqual(snapshot(backend), before, "the backend changed");
    });

    it("refuses a project folder whose Pulumi.yaml is another project: the tools run dtr-ha's stack program", () => {
        const other = path.join(tmp, "other");
        fs.mkdirSync(other);
        fs.writeFileSync(path.join(other, "Pulumi.yaml"), "name: platform\nruntime: nodejs\n");
        const r = cli("backups", ["--stack", "src", "list"], {}, other);
        assert.strictEqual(r.code, 1, r.stderr);
        assert.match(r.stderr, /Pulumi\.yaml is project "platform", not dtr-ha/);
    });
});

/**
 * A stack made and driven with the `pulumi` CLI, as the README tells users: a file backend in a temp dir, the passphrase
 * from the environment, the stack's config file written by `pulumi config set` in a throw-away copy of the project
 * (so nothing lands in the project's stacks/) and passed with `--config-file` to commands run from the project folder.
 * Shared by the engine test (preview, no lab) and the lab test (up and destroy).
 */
import * as assert from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { SpawnSyncReturns, spawnSync } from "child_process";
import { REPO_ROOT } from "../lab/lab";

export interface CliStack {
    stack: string;
    env: NodeJS.ProcessEnv;
    /** The stack's config file (`stacks/Pulumi.<stack>.yaml` of the scratch project). */
    configFile: string;
    /** Runs `pulumi <args> --non-interactive` in `cwd`; `input` goes on stdin (secret values never go on argv). */
    pulumi(cwd: string, args: string[], input?: string, timeoutMs?: number): SpawnSyncReturns<string>;
    /** Same, asserting exit 0 and naming the command and its output otherwise. */
    ok(cwd: string, args: string[], input?: string, timeoutMs?: number): SpawnSyncReturns<string>;
}

/** `pulumi stack init` (passphrase provider) and every config value set with the CLI, secrets with `--secret`. */
export function cliStack(tmp: string, stack: string, config: Record<string, unknown>, secrets: Record<string, string>): CliStack {
    fs.mkdirSync(path.join(tmp, "backend"), { recursive: true });
    const env: NodeJS.ProcessEnv = {
        ...process.env,
        PULUMI_BACKEND_URL: `file://${path.join(tmp, "backend")}`,
        PULUMI_CONFIG_PASSPHRASE: crypto.randomBytes(16).toString("hex"),
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DIY_BACKEND_NO_LEGACY_WARNING: "true",
    };
    assert.ok(
        spawnSync("sh", ["-c", "command -v pulumi-language-nodejs"], { env }).status === 0,
        'pulumi-language-nodejs is not on PATH: run eval "$(bash scripts/toolchain.sh env)" after bash scripts/toolchain.sh install',
    );
    const pulumi = (cwd: string, args: string[], input?: string, timeoutMs = 200_000) => {
        const r = spawnSync("pulumi", [...args, "--non-interactive"], { cwd, env, input, encoding: "utf8", timeout: timeoutMs });
        if (r.error) throw r.error;
        return r;
    };
    const ok = (cwd: string, args: string[], input?: string, timeoutMs?: number) => {
        const r = pulumi(cwd, args, input, timeoutMs);
        assert.strictEqual(r.status, 0, `pulumi ${args.join(" ")}: ${r.stderr}\n${r.stdout}`.slice(-6000));
        return r;
    };
    const scratch = path.join(tmp, "project");
    fs.mkdirSync(scratch, { recursive: true });
    fs.copyFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), path.join(scratch, "Pulumi.yaml"));
    ok(scratch, ["stack", "init", stack, "--secrets-provider", "passphrase"]);
    const plain = Object.entries(config).flatMap(([k, v]) => ["--plaintext", `dtr-ha:${k}=${JSON.stringify(v)}`]);
    ok(scratch, ["config", "set-all", "--stack", stack, ...plain]);
    for (const [k, v] of Object.entries(secrets)) ok(scratch, ["config", "set", "--stack", stack, "--secret", `dtr-ha:${k}`], v);
    const configFile = path.join(scratch, "stacks", `Pulumi.${stack}.yaml`);
    assert.ok(fs.existsSync(configFile), `no ${configFile}`);
    return { stack, env, configFile, pulumi, ok };
}

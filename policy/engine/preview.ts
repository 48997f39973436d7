// Runs `pulumi preview --policy-pack <this pack>` through the real pulumi CLI and engine, for an
// Automation API inline program (no pulumi-language-nodejs needed: the program runs in this process,
// and the policy pack is started by plugin/pulumi-analyzer-policy-nodejs, which must be on the CLI's PATH).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalWorkspace, PulumiCommand, PulumiFn } from "@pulumi/pulumi/automation";

/** The policy pack directory (this file is compiled to policy/bin/engine/). */
export const POLICY_DIR = path.resolve(__dirname, "..", "..");
/** Directory holding the pulumi-analyzer-policy-nodejs shim. */
export const SHIM_DIR = path.join(POLICY_DIR, "plugin");
export const PULUMI_VERSION = "3.248.0";

/** Where the project's toolchain script puts the CLI; PULUMI_CLI_DIR overrides. */
export function pulumiCliDir(): string {
    const cache = process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
    const dir =
        process.env.PULUMI_CLI_DIR || path.join(cache, "dtr-ha", "toolchain", `pulumi-v${PULUMI_VERSION}`, "bin");
    if (!fs.existsSync(path.join(dir, "pulumi"))) {
        throw new Error(
            `no pulumi CLI at ${dir}/pulumi: run 'bash scripts/toolchain.sh install' or set PULUMI_CLI_DIR to the directory holding pulumi v${PULUMI_VERSION}`,
        );
    }
    return dir;
}

/** The compiled pack must exist: the runtime loads bin/index.js. */
export function assertPackBuilt(): void {
    const entry = path.join(POLICY_DIR, "bin", "index.js");
    if (!fs.existsSync(entry)) {
        throw new Error(`policy pack not built (${entry} missing): run 'npm --prefix policy run build'`);
    }
}

/** Environment for the CLI: the shim and the CLI on PATH, a file backend, a passphrase for secrets. */
export function policyCliEnv(backendDir: string): Record<string, string> {
    return {
        PATH: [SHIM_DIR, pulumiCliDir(), process.env.PATH || ""].join(path.delimiter),
        PULUMI_BACKEND_URL: `file://${backendDir}`,
        PULUMI_CONFIG_PASSPHRASE: process.env.PULUMI_CONFIG_PASSPHRASE ?? "dtr-ha-policy-preview",
        PULUMI_SKIP_UPDATE_CHECK: "true",
    };
}

export interface PolicyPreviewArgs {
    projectName: string;
    stackName: string;
    program: PulumiFn;
    /** Local backend directory (file://); created if missing. */
    backendDir: string;
    /** Policy config, e.g. {"dtr-no-unsafe-flags-in-production": {"production": true}}. */
    policyConfig?: Record<string, unknown>;
}

export interface PolicyPreviewResult {
    /** true when the preview passed every mandatory policy. */
    passed: boolean;
    /** Everything the CLI printed (stdout + stderr): policy violations appear here. */
    output: string;
}

export async function previewWithPolicy(args: PolicyPreviewArgs): Promise<PolicyPreviewResult> {
    assertPackBuilt();
    fs.mkdirSync(args.backendDir, { recursive: true });
    const envVars = policyCliEnv(args.backendDir);
    const pulumiCommand = await PulumiCommand.get({ root: path.dirname(pulumiCliDir()), skipVersionCheck: false });
    const stack = await LocalWorkspace.createOrSelectStack(
        { projectName: args.projectName, stackName: args.stackName, program: args.program },
        { envVars, pulumiCommand },
    );
    const policyPackConfigs: string[] = [];
    if (args.policyConfig) {
        const file = path.join(args.backendDir, `policy-config-${args.stackName}.json`);
        fs.writeFileSync(file, JSON.stringify(args.policyConfig));
        policyPackConfigs.push(file);
    }
    let output = "";
    try {
        const res = await stack.preview({
            policyPacks: [POLICY_DIR],
            policyPackConfigs,
            onOutput: (s) => (output += s),
        });
        return { passed: true, output: output + res.stderr };
    } catch (e) {
        const err = e as { stdout?: string; stderr?: string; message?: string };
        return { passed: false, output: [output, err.stderr ?? "", err.message ?? String(e)].join("\n") };
    }
}

// What a caller needs to run `pulumi preview --policy-pack` with this pack through the real CLI when no
// pulumi-language-nodejs is installed. No Pulumi SDK import here, on purpose: the lab tests create their
// stacks with the root package's own @pulumi/pulumi and only take these paths and variables, e.g.
//   LocalWorkspace.createOrSelectStack(args, { envVars: policyCliEnv(backendDir), ... })
//   stack.preview({ policyPacks: [POLICY_DIR], policyPackConfigs: [...] })
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** The policy pack directory (this file is compiled to policy/bin/engine/). */
export const POLICY_DIR = path.resolve(__dirname, "..", "..");
/** Directory holding the pulumi-analyzer-policy-nodejs shim. */
export const SHIM_DIR = path.join(POLICY_DIR, "plugin");
export const PULUMI_VERSION = "3.248.0";

/** Where the project's toolchain script puts the CLI; PULUMI_CLI_DIR overrides. */
export function pulumiCliDir(): string {
    const cache = process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
    const dir = process.env.PULUMI_CLI_DIR || path.join(cache, "dtr-ha", "toolchain", `pulumi-v${PULUMI_VERSION}`, "bin");
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

// Runs `pulumi preview --policy-pack <this pack>` through the real pulumi CLI and engine, for an
// Automation API inline program (no pulumi-language-nodejs needed: the program runs in this process,
// and the policy pack is started by plugin/pulumi-analyzer-policy-nodejs, which must be on the CLI's PATH).
import * as fs from "node:fs";
import * as path from "node:path";
import { LocalWorkspace, PulumiCommand, PulumiFn } from "@pulumi/pulumi/automation";
import { POLICY_DIR, assertPackBuilt, policyCliEnv, pulumiCliDir } from "./options";

export { POLICY_DIR, SHIM_DIR, policyCliEnv, pulumiCliDir } from "./options";

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

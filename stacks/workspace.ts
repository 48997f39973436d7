/**
 * Stacks through the Automation API: a local file backend, a passphrase secrets provider, and the project's own stack
 * program (index.ts) as the inline program, so what runs is exactly what `pulumi up` runs.
 */
import * as fs from "fs";
import * as path from "path";
import { ConfigMap, LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import dtrStack = require("../index");

export interface StackPlace {
    /** Directory of the file backend (state) and the workspace. */
    dir: string;
    /** Passphrase for the stack's secrets; kept in a file in `dir` (mode 600) when not given. */
    passphrase?: string;
}

function passphraseFor(place: StackPlace): string {
    if (place.passphrase) return place.passphrase;
    const file = path.join(place.dir, "passphrase");
    if (!fs.existsSync(file)) {
        fs.mkdirSync(place.dir, { recursive: true, mode: 0o700 });
        fs.writeFileSync(file, require("crypto").randomBytes(24).toString("base64url"), { mode: 0o600 });
    }
    return fs.readFileSync(file, "utf8").trim();
}

/** Opens (or creates) a stack of the dtr-ha project in `place`. */
export async function openStack(stackName: string, place: StackPlace): Promise<Stack> {
    const backend = path.join(place.dir, "backend");
    const work = path.join(place.dir, "work");
    fs.mkdirSync(backend, { recursive: true, mode: 0o700 });
    fs.mkdirSync(work, { recursive: true, mode: 0o700 });
    return LocalWorkspace.createOrSelectStack(
        { stackName, projectName: "dtr-ha", program: async () => dtrStack() },
        {
            workDir: work,
            projectSettings: { name: "dtr-ha", runtime: "nodejs", backend: { url: `file://${backend}` } },
            secretsProvider: "passphrase",
            envVars: { PULUMI_CONFIG_PASSPHRASE: passphraseFor(place), PULUMI_BACKEND_URL: `file://${backend}` },
        },
    );
}

/** Writes plain and secret `dtr-ha:*` values; objects become JSON strings, as `pulumi config set` stores them. */
export async function setStackConfig(stack: Stack, plain: Record<string, unknown>, secrets: Record<string, string>): Promise<void> {
    const map: ConfigMap = {};
    for (const [k, v] of Object.entries(plain)) map[`dtr-ha:${k}`] = { value: typeof v === "string" ? v : JSON.stringify(v) };
    for (const [k, v] of Object.entries(secrets)) map[`dtr-ha:${k}`] = { value: v, secret: true };
    await stack.setAllConfig(map);
}

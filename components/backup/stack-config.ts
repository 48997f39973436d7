/**
 * The stack's configuration as each DTR backup stores it beside its manifest (backup-agent/src/stack-config.ts), so a
 * cluster can be rebuilt when the Pulumi state backend is lost with it: every plain value, and only the NAMES of the
 * secrets. A key is a secret when Pulumi says so (the engine's secret key list) or when it is one of dtr-ha's secret
 * keys even if someone stored it in plain text: its value never goes into the document.
 */
import { NS, SECRET_KEYS } from "../config/stack-config";
import { STACK_CONFIG_FORMAT, StackConfigDoc } from "../../backup-agent/src/stack-config";

/** The host-side variable the backup script pipes into the agent's put-stack-config (sshd accepts DTR_*). */
export { STACK_CONFIG_ENV } from "./scripts";

/** Keys a rebuild sets itself: never copied from a backup. */
const NOT_STORED = [`${NS}:restore`];

/** The document: `all` is the stack's whole config map (secrets decrypted, as the engine hands it over). */
export function stackConfigDocument(a: {
    all: Record<string, string>;
    isSecret: (key: string) => boolean;
    project: string;
    stack: string;
}): StackConfigDoc {
    const knownSecrets = new Set(SECRET_KEYS.map((k) => `${NS}:${k}`));
    const config: Record<string, string> = {};
    const secrets: string[] = [];
    for (const key of Object.keys(a.all).sort()) {
        if (NOT_STORED.includes(key)) continue;
        if (knownSecrets.has(key) || a.isSecret(key)) secrets.push(key);
        else config[key] = a.all[key];
    }
    return { format: STACK_CONFIG_FORMAT, project: a.project, sourceStack: a.stack, config, secrets };
}

/**
 * Whether the running program's config key holds a secret: the engine passes the secret keys to the program
 * (PULUMI_CONFIG_SECRET_KEYS, read by the SDK's isConfigSecret, which its typings mark internal). Where that is not
 * available every key is taken as a secret: a rebuild then asks for more, but nothing secret is ever stored.
 */
export function programIsSecret(): (key: string) => boolean {
    const runtimeConfig = require("@pulumi/pulumi/runtime/config") as { isConfigSecret?: (k: string) => boolean };
    const f = runtimeConfig.isConfigSecret;
    return typeof f === "function" ? (k) => f(k) : () => true;
}

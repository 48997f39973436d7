import * as pulumi from "@pulumi/pulumi";
import { CONFIG_SECTIONS, NS, SECRET_KEYS, SecretKey, StackConfig, parseStackConfig } from "./stack-config";

/**
 * Reads `dtr-ha:*` config and validates all of it before any resource exists. Secrets stay Outputs.
 * Every key of the namespace is looked at (from the engine's full config map), so a misspelt top-level key such as
 * `dtr-ha:backups` is refused like a misspelt nested one; its value is never read (it may be a secret).
 */
export function readStackConfig(): { config: StackConfig; secret: (k: SecretKey) => pulumi.Output<string> } {
    const cfg = new pulumi.Config(NS);
    const raw: Record<string, unknown> = {};
    for (const key of CONFIG_SECTIONS) raw[key] = cfg.getObject(key);
    const secretNames: readonly string[] = SECRET_KEYS;
    for (const full of Object.keys(pulumi.runtime.allConfig())) {
        if (!full.startsWith(`${NS}:`)) continue;
        const key = full.slice(NS.length + 1);
        if (!(key in raw) && !secretNames.includes(key)) raw[key] = null;
    }
    const present = new Set(SECRET_KEYS.filter((k) => cfg.getSecret(k) !== undefined));
    const config = parseStackConfig(raw, present);
    return { config, secret: (k) => cfg.requireSecret(k) };
}

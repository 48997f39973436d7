import * as pulumi from "@pulumi/pulumi";
import { NS, SECRET_KEYS, SecretKey, StackConfig, parseStackConfig } from "./stack-config";

/** Reads `dtr-ha:*` config and validates all of it before any resource exists. Secrets stay Outputs. */
export function readStackConfig(): { config: StackConfig; secret: (k: SecretKey) => pulumi.Output<string> } {
    const cfg = new pulumi.Config(NS);
    const raw: Record<string, unknown> = {};
    for (const key of ["cluster", "image", "ucp", "hosts", "storage", "backup", "restore"]) raw[key] = cfg.getObject(key);
    const present = new Set(SECRET_KEYS.filter((k) => cfg.getSecret(k) !== undefined));
    const config = parseStackConfig(raw, present);
    return { config, secret: (k) => cfg.requireSecret(k) };
}

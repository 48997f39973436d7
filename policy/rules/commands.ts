// No DTR flag that trades safety for convenience in a production stack's commands.
import { StackResource, Violation, TYPES, describe, isUnknown, ofType, stackOfUrn } from "./model";

/** Flags refused in production, with why and what to do instead. */
export const UNSAFE_FLAGS: Record<string, string> = {
    "--ucp-insecure-tls": "it skips verifying UCP's certificate; pass UCP's CA with --ucp-ca instead",
    "--unsafe-join": "it joins a replica to an unhealthy cluster and risks a split brain; fix the cluster health first",
    "--skip-network-test":
        "it skips the overlay network check and can join a replica that cannot reach the others; fix the dtr-ol overlay network instead",
};

const COMMAND_FIELDS = ["create", "update", "delete"];

/**
 * Which stacks are production: policy config of the `dtr-no-unsafe-flags-in-production` policy.
 * `production` decides alone when set; otherwise a stack is production when its name matches
 * `productionStacks` or when a DtrCluster in it registers `production: true` (its stack config says so).
 */
export interface ProductionConfig {
    /** Forces the answer for this run, whatever the stack's name. */
    production?: boolean;
    /** Stack-name patterns (`*` matches any run of characters) that are production. */
    productionStacks?: string[];
}

export const DEFAULT_PRODUCTION_STACKS = ["prod", "production", "prod-*", "production-*", "*-prod", "*-production"];

function globToRegExp(pattern: string): RegExp {
    const body = pattern
        .split("*")
        .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
        .join(".*");
    return new RegExp(`^${body}$`);
}

export function isProductionStack(stack: string, config: ProductionConfig, clusterSaysProduction = false): boolean {
    if (typeof config.production === "boolean") return config.production;
    const patterns = config.productionStacks ?? DEFAULT_PRODUCTION_STACKS;
    return clusterSaysProduction || patterns.some((p) => globToRegExp(p).test(stack));
}

/** Unsafe flags on a command line, whether bare, `--flag=value`, or shell-quoted. */
export function unsafeFlagsIn(commandLine: string): string[] {
    return Object.keys(UNSAFE_FLAGS).filter((flag) => new RegExp(`(^|[\\s'"])${flag}(?=[\\s'"=]|$)`).test(commandLine));
}

export function checkUnsafeFlags(resources: StackResource[], config: ProductionConfig): Violation[] {
    const out: Violation[] = [];
    const clusterSaysProduction = ofType(resources, TYPES.cluster).some((c) => c.props["production"] === true);
    for (const c of ofType(resources, TYPES.remoteCommand, TYPES.localCommand)) {
        const stack = stackOfUrn(c.urn);
        if (!isProductionStack(stack, config, clusterSaysProduction)) continue;
        // One violation per flag, naming every command line (create/update/delete) that carries it.
        const fieldsByFlag = new Map<string, string[]>();
        for (const field of COMMAND_FIELDS) {
            const line = c.props[field];
            if (isUnknown(line) || typeof line !== "string") continue;
            for (const flag of unsafeFlagsIn(line)) fieldsByFlag.set(flag, [...(fieldsByFlag.get(flag) ?? []), field]);
        }
        for (const [flag, fields] of fieldsByFlag) {
            const where = fields.length === 1 ? `its ${fields[0]} command` : `its ${fields.join(" and ")} commands`;
            out.push({
                urn: c.urn,
                message:
                    `${describe(c)} passes ${flag} in ${where} on production stack "${stack}": ` +
                    `${UNSAFE_FLAGS[flag]}; remove ${flag} from the command.`,
            });
        }
    }
    return out;
}

/**
 * Rules for the backup agent's image reference (pure: no Pulumi). A restore runs the agent when DTR is gone, so the
 * image must come from somewhere that survives DTR, and a production host must run exactly the bytes that were
 * reviewed: a tag can be moved to other bytes, a digest cannot.
 */

/** `…@sha256:<64 hex>`: the only form a production stack accepts. */
export const PINNED_BY_DIGEST = /@sha256:[0-9a-f]{64}$/;

/**
 * The registry host of an image reference, lower-cased and without port, as Docker reads it: the first path component
 * is a registry when it has a dot or a port or is `localhost`; otherwise the image is on Docker Hub (`docker.io`).
 */
export function registryHostOf(reference: string): string {
    const slash = reference.indexOf("/");
    if (slash < 0) return "docker.io";
    const first = reference.slice(0, slash);
    if (first !== "localhost" && !first.includes(".") && !first.includes(":")) return "docker.io";
    // An IPv6 literal in brackets keeps its colons; otherwise what follows the last colon is the port.
    const host = first.startsWith("[") ? first.slice(0, first.indexOf("]") + 1) : first.replace(/:[0-9]+$/, "");
    return host.toLowerCase();
}

/** The host part of an address or URL (`https://dtr.example.com:443/` -> `dtr.example.com`), lower-cased. */
function hostOf(address: string): string {
    const a = address.trim().toLowerCase();
    if (/^[a-z][a-z0-9+.-]*:\/\//.test(a)) {
        try {
            return new URL(a).hostname;
        } catch {
            return a;
        }
    }
    return a.replace(/:[0-9]+$/, "");
}

export interface AgentImageContext {
    /** `backup.agentImage`'s config key, for messages. */
    key: string;
    production: boolean;
    /** Every name the protected DTR answers on: its external URL, each replica host's address and private address. */
    dtrAddresses: string[];
}

/**
 * What is wrong with an agent image reference, each as "fix" text for the config reader (key and value are added by
 * the caller). Empty when it is fine.
 */
export function agentImageProblems(reference: string, c: AgentImageContext): string[] {
    const out: string[] = [];
    const registry = registryHostOf(reference);
    const own = new Set(c.dtrAddresses.filter((a) => a.trim() !== "").map(hostOf));
    if (own.has(registry)) {
        out.push(
            `its registry ${registry} is the DTR this stack protects: a restore runs the agent when that DTR is gone, so it could never ` +
                `pull the image; push dtr-ha-backup to a registry outside this cluster (on AWS leave ${c.key} out and the stack ` +
                `builds it into its own ECR repository)`,
        );
    }
    if (c.production && !PINNED_BY_DIGEST.test(reference)) {
        out.push(
            `is not pinned by digest, refused for a production cluster: a tag can be moved to other bytes; use ` +
                `repository@sha256:<64 hex> (\`docker buildx imagetools inspect ${reference.split("@")[0]}\` shows the digest; ` +
                `on AWS leave ${c.key} out and the stack builds, pushes and pins it)`,
        );
    }
    return out;
}

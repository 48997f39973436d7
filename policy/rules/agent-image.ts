// The backup agent image a DtrBackup runs: pinned by digest in production, and never served by the DTR it backs up.
import { ProductionConfig } from "./commands";
import { StackResource, Violation, TYPES, describe, ofType, stackOfUrn } from "./model";

const PINNED = /@sha256:[0-9a-f]{64}$/;

/** The registry host of an image reference as Docker reads it (lower-case, no port); `docker.io` for Hub images. */
export function registryHost(reference: string): string {
    const slash = reference.indexOf("/");
    if (slash < 0) return "docker.io";
    const first = reference.slice(0, slash);
    if (first !== "localhost" && !first.includes(".") && !first.includes(":")) return "docker.io";
    return first.replace(/:[0-9]+$/, "").toLowerCase();
}

function urlHost(url: unknown): string | undefined {
    if (typeof url !== "string") return undefined;
    try {
        return new URL(url).hostname.toLowerCase();
    } catch {
        return undefined;
    }
}

export function checkAgentImage(resources: StackResource[], config: ProductionConfig): Violation[] {
    const out: Violation[] = [];
    const clusters = ofType(resources, TYPES.cluster);
    // Production as the cluster says (cluster.production, which config validation already holds to digests) unless the
    // policy config's `production` decides; stack-name patterns are not used here: a lab stack under a production name
    // runs the agent the lab builds at each `lab up`, which has no fixed digest to pin.
    const production = typeof config.production === "boolean" ? config.production : clusters.some((c) => c.props["production"] === true);
    const dtrHosts = new Set(clusters.map((c) => urlHost(c.props["externalUrl"])).filter((h): h is string => h !== undefined));
    for (const b of ofType(resources, TYPES.dtrBackup)) {
        const image = b.props["agentImage"];
        // Not a string (UNKNOWN) in a preview when the stack builds the image itself: its digest comes from the push.
        if (typeof image !== "string") continue;
        const stack = stackOfUrn(b.urn);
        if (dtrHosts.has(registryHost(image)))
            out.push({
                urn: b.urn,
                message:
                    `${describe(b)} runs the backup agent ${image} from ${registryHost(image)}, the DTR it backs up: a restore ` +
                    `runs the agent when that DTR is gone; push the agent to a registry outside the cluster (on AWS, leave ` +
                    `dtr-ha:backup.agentImage out and the stack builds it into its own ECR repository).`,
            });
        if (production && !PINNED.test(image))
            out.push({
                urn: b.urn,
                message:
                    `${describe(b)} runs the backup agent ${image}, not pinned by digest, on production stack "${stack}": a tag ` +
                    `can be moved to other bytes; set dtr-ha:backup.agentImage to repository@sha256:<64 hex>.`,
            });
    }
    return out;
}

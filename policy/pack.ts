// The dtr-ha policies: each rule is a stack policy (it sees registered component outputs and
// relations between resources), all mandatory.
import { StackValidationPolicy } from "@pulumi/policy";
import { toStackResource } from "./rules/adapt";
import {
    DEFAULT_PRODUCTION_STACKS,
    ProductionConfig,
    StackResource,
    Violation,
    checkAgentImage,
    checkBackupBuckets,
    checkClusterStorage,
    checkLayerBuckets,
    checkReplicaCount,
    checkReplicaZones,
    checkUnsafeFlags,
} from "./rules";

function stackPolicy(
    name: string,
    description: string,
    rule: (resources: StackResource[], config: ProductionConfig) => Violation[],
    extra: Partial<StackValidationPolicy> = {},
): StackValidationPolicy {
    return {
        name,
        description,
        enforcementLevel: "mandatory",
        ...extra,
        validateStack: (args, reportViolation) => {
            const resources = args.resources.map(toStackResource);
            for (const v of rule(resources, args.getConfig<ProductionConfig>())) {
                reportViolation(v.message, v.urn);
            }
        },
    };
}

export const policies: StackValidationPolicy[] = [
    stackPolicy("dtr-replica-count-odd-min-3", "DTR runs an odd number of replicas, at least 3.", checkReplicaCount),
    stackPolicy("dtr-one-replica-per-zone", "Each DTR replica runs in its own availability zone.", checkReplicaZones),
    stackPolicy("dtr-layer-bucket-protected", "The layer bucket is versioned, KMS-encrypted, not public and TLS-only.", checkLayerBuckets),
    stackPolicy(
        "dtr-backup-bucket-locked",
        "The backup bucket has Object Lock with a default retention at least the backup schedule's retention.",
        checkBackupBuckets,
    ),
    stackPolicy(
        "dtr-no-unsafe-flags-in-production",
        "No --ucp-insecure-tls, --unsafe-join or --skip-network-test in a production stack's commands.",
        checkUnsafeFlags,
        {
            configSchema: {
                properties: {
                    production: { type: "boolean" },
                    productionStacks: { type: "array", items: { type: "string" }, default: DEFAULT_PRODUCTION_STACKS },
                },
            },
        },
    ),
    stackPolicy(
        "dtr-backup-agent-pinned",
        "The backup agent image is pinned by digest in production, and never served by the DTR it backs up.",
        checkAgentImage,
        {
            configSchema: {
                properties: {
                    production: { type: "boolean" },
                    productionStacks: { type: "array", items: { type: "string" }, default: DEFAULT_PRODUCTION_STACKS },
                },
            },
        },
    ),
    stackPolicy(
        "dtr-no-filesystem-storage-multi-replica",
        "A cluster of more than one replica stores layers in shared storage (S3 or NFS), not on local disks.",
        checkClusterStorage,
    ),
];

// Builders for stack resources as the engine reports them (outputs, parents, dependencies).
import { StackResource, TYPES, ROLE_TAG } from "../rules";

export function urn(type: string, name: string, stack = "lab"): string {
    return `urn:pulumi:${stack}::dtr-ha::${type}::${name}`;
}

export function res(
    type: string,
    name: string,
    props: Record<string, unknown>,
    more: Partial<StackResource> = {},
    stack = "lab",
): StackResource {
    return { urn: urn(type, name, stack), type, name, props, ...more };
}

export function cluster(props: Record<string, unknown>, name = "registry"): StackResource {
    return res(TYPES.cluster, name, {
        replicaCount: 3,
        replicaIds: ["a1b2c3d4e5f6", "b1b2c3d4e5f6", "c1b2c3d4e5f6"],
        hostNames: ["dtr-1", "dtr-2", "dtr-3"],
        zones: ["zone-a", "zone-b", "zone-c"],
        storageKind: "s3",
        imageVersion: "2.9.16",
        externalUrl: "https://dtr.example.com",
        ...props,
    });
}

/** A bucket with the given role and the companions named in `with`, each depending on the bucket. */
export function securedBucket(
    role: string,
    name: string,
    overrides: Partial<
        Record<"versioning" | "sse" | "publicAccessBlock" | "bucketPolicy" | "objectLock", Record<string, unknown> | null>
    > = {},
    bucketProps: Record<string, unknown> = {},
): StackResource[] {
    const bucket = res(TYPES.bucket, name, { tags: { [ROLE_TAG]: role }, ...bucketProps });
    const dep = { dependencies: [bucket.urn], propertyDependencies: { bucket: [bucket.urn] } };
    const defaults: Record<string, [string, Record<string, unknown>]> = {
        versioning: [TYPES.versioning, { versioningConfiguration: { status: "Enabled" } }],
        sse: [
            TYPES.sse,
            {
                rules: [
                    {
                        applyServerSideEncryptionByDefault: {
                            sseAlgorithm: "aws:kms",
                            kmsMasterKeyId: "arn:aws:kms:k",
                        },
                    },
                ],
            },
        ],
        publicAccessBlock: [
            TYPES.publicAccessBlock,
            { blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
        ],
        bucketPolicy: [
            TYPES.bucketPolicy,
            {
                policy: JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Sid: "TlsOnly",
                            Effect: "Deny",
                            Principal: "*",
                            Action: "s3:*",
                            Resource: ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
                            Condition: { Bool: { "aws:SecureTransport": "false" } },
                        },
                    ],
                }),
            },
        ],
        objectLock: [TYPES.objectLock, { rule: { defaultRetention: { mode: "COMPLIANCE", days: 30 } } }],
    };
    const out = [bucket];
    for (const [key, [type, props]] of Object.entries(defaults)) {
        const o = overrides[key as keyof typeof overrides];
        if (o === null) continue;
        if (key === "objectLock" && role !== "backups" && o === undefined) continue;
        out.push(res(type, `${name}-${key}`, { ...props, ...(o || {}) }, dep));
    }
    return out;
}

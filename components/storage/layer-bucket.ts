import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { S3Settings } from "./settings";

/** The S3 actions DTR's registry needs, exactly as documented (DTR-FACTS.md, external-storage/s3.md). */
export const DTR_BUCKET_ACTIONS = ["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"];
export const DTR_OBJECT_ACTIONS = [
    "s3:PutObject",
    "s3:GetObject",
    "s3:DeleteObject",
    "s3:ListMultipartUploadParts",
    "s3:AbortMultipartUpload",
];

/** Tag that tells the policy pack what a bucket is for. */
export const ROLE_TAG = "dtr-ha:role";

export interface DtrStorageArgs {
    /** Days before a noncurrent (overwritten or deleted) layer version expires. Default 30. */
    noncurrentVersionExpirationDays?: number;
    /** Days before an incomplete multipart upload is aborted. Default 7. */
    abortIncompleteUploadDays?: number;
    /** An existing KMS key; by default one is created with rotation on. */
    kmsKeyArn?: pulumi.Input<string>;
    /** Cross-region replication of layers to a DR bucket in another region. */
    replication?: {
        /** A provider for the DR region. */
        provider: aws.Provider;
        /** KMS key in the DR region; by default one is created there. */
        kmsKeyArn?: pulumi.Input<string>;
    };
    /** Force-destroy the bucket on `pulumi destroy` (labs only). Default false: layers outlive the stack. */
    forceDestroy?: boolean;
    tags?: Record<string, string>;
}

/**
 * The image-layer bucket and what guards it: versioning, SSE-KMS with a bucket key, all public access blocked, a
 * policy that refuses anything but TLS, lifecycle rules, optional cross-region replication, and an IAM policy with
 * exactly DTR's documented actions on this bucket.
 */
export class DtrStorage extends pulumi.ComponentResource {
    public readonly bucket: aws.s3.Bucket;
    public readonly bucketName: pulumi.Output<string>;
    public readonly bucketArn: pulumi.Output<string>;
    public readonly kmsKeyArn: pulumi.Output<string>;
    public readonly region: pulumi.Output<string>;
    /** The IAM policy for the replicas' instance role. */
    public readonly accessPolicy: aws.iam.Policy;
    /** DTR storage settings for the instance-role case (no keys). */
    public readonly settings: pulumi.Output<S3Settings>;
    public readonly replicaBucketName?: pulumi.Output<string>;

    constructor(name: string, args: DtrStorageArgs = {}, opts?: pulumi.ComponentResourceOptions) {
        super("dtr-ha:index:DtrStorage", name, {}, opts);
        const days = args.noncurrentVersionExpirationDays ?? 30;
        const abortDays = args.abortIncompleteUploadDays ?? 7;
        assertDays("storage.aws.noncurrentVersionExpirationDays", days);
        assertDays("storage.aws.abortIncompleteUploadDays", abortDays);
        const parent = { parent: this };
        const tags = { ...args.tags, [ROLE_TAG]: "layers" };

        const key =
            args.kmsKeyArn === undefined
                ? new aws.kms.Key(`${name}-layers`, { description: `DTR image layers (${name})`, enableKeyRotation: true, tags }, parent)
                : undefined;
        this.kmsKeyArn = key ? key.arn : pulumi.output(args.kmsKeyArn!);

        this.bucket = new aws.s3.Bucket(`${name}-layers`, { forceDestroy: args.forceDestroy ?? false, tags }, parent);
        const guarded = secureBucket(`${name}-layers`, this.bucket, this.kmsKeyArn, parent);
        new aws.s3.BucketLifecycleConfiguration(
            `${name}-layers`,
            {
                bucket: this.bucket.id,
                rules: [
                    {
                        id: "abort-incomplete-multipart",
                        status: "Enabled",
                        filter: {},
                        abortIncompleteMultipartUpload: { daysAfterInitiation: abortDays },
                    },
                    {
                        id: "expire-noncurrent-versions",
                        status: "Enabled",
                        filter: {},
                        noncurrentVersionExpiration: { noncurrentDays: days },
                    },
                ],
            },
            { parent: this, dependsOn: [guarded.versioning] },
        );

        if (args.replication) {
            const dr = { parent: this, provider: args.replication.provider };
            const drKey =
                args.replication.kmsKeyArn === undefined
                    ? new aws.kms.Key(
                          `${name}-layers-dr`,
                          { description: `DTR image layers, DR copy (${name})`, enableKeyRotation: true, tags },
                          dr,
                      )
                    : undefined;
            const drKeyArn = drKey ? drKey.arn : pulumi.output(args.replication.kmsKeyArn!);
            const drBucket = new aws.s3.Bucket(
                `${name}-layers-dr`,
                { forceDestroy: args.forceDestroy ?? false, tags: { ...args.tags, [ROLE_TAG]: "layers-replica" } },
                dr,
            );
            const drGuarded = secureBucket(`${name}-layers-dr`, drBucket, drKeyArn, dr);
            const role = new aws.iam.Role(
                `${name}-replication`,
                {
                    assumeRolePolicy: JSON.stringify({
                        Version: "2012-10-17",
                        Statement: [{ Effect: "Allow", Principal: { Service: "s3.amazonaws.com" }, Action: "sts:AssumeRole" }],
                    }),
                    tags,
                },
                parent,
            );
            new aws.iam.RolePolicy(
                `${name}-replication`,
                {
                    role: role.id,
                    policy: pulumi
                        .all([this.bucket.arn, drBucket.arn, this.kmsKeyArn, drKeyArn])
                        .apply(([src, dst, k, dk]) => JSON.stringify(replicationPolicy(src, dst, k, dk))),
                },
                parent,
            );
            new aws.s3.BucketReplicationConfig(
                `${name}-layers`,
                {
                    bucket: this.bucket.id,
                    role: role.arn,
                    rules: [
                        {
                            id: "layers-to-dr",
                            status: "Enabled",
                            filter: {},
                            deleteMarkerReplication: { status: "Enabled" },
                            sourceSelectionCriteria: { sseKmsEncryptedObjects: { status: "Enabled" } },
                            destination: { bucket: drBucket.arn, encryptionConfiguration: { replicaKmsKeyId: drKeyArn } },
                        },
                    ],
                },
                { parent: this, dependsOn: [guarded.versioning, drGuarded.versioning] },
            );
            this.replicaBucketName = drBucket.bucket;
        }

        this.accessPolicy = new aws.iam.Policy(
            `${name}-layers-access`,
            {
                description: "DTR registry access to its image-layer bucket",
                policy: pulumi.all([this.bucket.arn, this.kmsKeyArn]).apply(([arn, k]) => JSON.stringify(dtrAccessPolicy(arn, k))),
                tags,
            },
            parent,
        );

        this.bucketName = this.bucket.bucket;
        this.bucketArn = this.bucket.arn;
        this.region = this.bucket.region;
        this.settings = pulumi
            .all([this.bucket.bucket, this.bucket.region, this.kmsKeyArn])
            .apply(([bucket, region, keyId]) => ({ bucket, region, encrypt: true, keyId, secure: true }));
        this.registerOutputs({
            bucketName: this.bucketName,
            bucketArn: this.bucketArn,
            kmsKeyArn: this.kmsKeyArn,
            region: this.region,
            replicaBucketName: this.replicaBucketName,
        });
    }
}

function assertDays(key: string, days: number): void {
    if (!Number.isInteger(days) || days < 1 || days > 3650) {
        throw new Error(`${key}=${days} is not valid: give a whole number of days from 1 to 3650`);
    }
}

/** Versioning, SSE-KMS with a bucket key, no public access, TLS only. Shared by the layer, DR and backup buckets. */
export function secureBucket(
    name: string,
    bucket: aws.s3.Bucket,
    kmsKeyArn: pulumi.Input<string>,
    opts: pulumi.CustomResourceOptions,
    policy: (bucketArn: string) => object = (arn) => tlsOnlyPolicy(arn),
): { versioning: aws.s3.BucketVersioning; publicAccess: aws.s3.BucketPublicAccessBlock } {
    const versioning = new aws.s3.BucketVersioning(name, { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } }, opts);
    new aws.s3.BucketServerSideEncryptionConfiguration(
        name,
        {
            bucket: bucket.id,
            rules: [
                {
                    applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: kmsKeyArn },
                    bucketKeyEnabled: true,
                },
            ],
        },
        opts,
    );
    const publicAccess = new aws.s3.BucketPublicAccessBlock(
        name,
        { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
        opts,
    );
    new aws.s3.BucketPolicy(
        name,
        { bucket: bucket.id, policy: bucket.arn.apply((arn) => JSON.stringify(policy(arn))) },
        // The policy is written after public access is blocked, so there is never a window with a public policy.
        { ...opts, dependsOn: [publicAccess] },
    );
    return { versioning, publicAccess };
}

/** Denies every request that does not use TLS. */
export function tlsOnlyPolicy(bucketArn: string, extra: object[] = []): object {
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "DenyInsecureTransport",
                Effect: "Deny",
                Principal: "*",
                Action: "s3:*",
                Resource: [bucketArn, `${bucketArn}/*`],
                Condition: { Bool: { "aws:SecureTransport": "false" } },
            },
            ...extra,
        ],
    };
}

/** Exactly DTR's documented S3 actions, on this bucket only, plus use of its KMS key. */
export function dtrAccessPolicy(bucketArn: string, kmsKeyArn: string): object {
    return {
        Version: "2012-10-17",
        Statement: [
            { Sid: "DtrBucket", Effect: "Allow", Action: DTR_BUCKET_ACTIONS, Resource: bucketArn },
            { Sid: "DtrObjects", Effect: "Allow", Action: DTR_OBJECT_ACTIONS, Resource: `${bucketArn}/*` },
            { Sid: "DtrKms", Effect: "Allow", Action: ["kms:GenerateDataKey", "kms:Decrypt"], Resource: kmsKeyArn },
        ],
    };
}

function replicationPolicy(src: string, dst: string, key: string, drKey: string): object {
    return {
        Version: "2012-10-17",
        Statement: [
            { Effect: "Allow", Action: ["s3:GetReplicationConfiguration", "s3:ListBucket"], Resource: src },
            {
                Effect: "Allow",
                Action: ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"],
                Resource: `${src}/*`,
            },
            { Effect: "Allow", Action: ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"], Resource: `${dst}/*` },
            { Effect: "Allow", Action: ["kms:Decrypt"], Resource: key },
            { Effect: "Allow", Action: ["kms:Encrypt", "kms:GenerateDataKey"], Resource: drKey },
        ],
    };
}

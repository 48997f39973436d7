import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { ROLE_TAG, secureBucket, tlsOnlyPolicy } from "../storage/layer-bucket";

export type LockMode = "GOVERNANCE" | "COMPLIANCE";

export interface DtrBackupBucketArgs {
    /** Object Lock default retention. COMPLIANCE cannot be shortened by anyone, root included; GOVERNANCE can be bypassed
     * with a special permission. Default COMPLIANCE. */
    lockMode?: LockMode;
    /** Days each backup is locked and kept; objects expire after it. Default 35. */
    retentionDays?: number;
    /** An existing KMS key; by default one is created with rotation on. */
    kmsKeyArn?: pulumi.Input<string>;
    /** Principals (role ARNs) that take and read backups, e.g. the replicas' instance role. */
    writerRoleArns?: pulumi.Input<string>[];
    tags?: Record<string, string>;
}

/** Backup actions the hosts need: write new objects and manifests, read them back for verify and restore. */
export const BACKUP_WRITER_ACTIONS = [
    "s3:PutObject",
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:ListBucket",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
    "s3:PutObjectRetention",
];

/** Deletes that the bucket policy refuses to everyone: a backup disappears only by expiry after its lock. */
export const DENIED_DELETE_ACTIONS = ["s3:DeleteObject", "s3:DeleteObjectVersion"];

export function validateRetention(mode: string, days: number): string[] {
    const problems: string[] = [];
    if (mode !== "GOVERNANCE" && mode !== "COMPLIANCE")
        problems.push(`backup.lockMode=${JSON.stringify(mode)}: use "COMPLIANCE" or "GOVERNANCE"`);
    if (!Number.isInteger(days) || days < 1 || days > 36500) problems.push(`backup.retentionDays=${days}: give whole days from 1 to 36500`);
    return problems;
}

/**
 * The backup bucket, separate from the layer bucket: versioning, Object Lock with a default retention, SSE-KMS, no
 * public access, expiry after the retention, and a policy that denies deletes and non-TLS access to everyone.
 */
export class DtrBackupBucket extends pulumi.ComponentResource {
    public readonly bucket: aws.s3.Bucket;
    public readonly bucketName: pulumi.Output<string>;
    public readonly kmsKeyArn: pulumi.Output<string>;
    public readonly retentionDays: pulumi.Output<number>;
    public readonly lockMode: pulumi.Output<string>;
    /** A policy for the roles that write and read backups (attach it to the replicas' role). */
    public readonly writerPolicy: aws.iam.Policy;

    constructor(name: string, args: DtrBackupBucketArgs = {}, opts?: pulumi.ComponentResourceOptions) {
        super("dtr-ha:index:DtrBackupBucket", name, {}, opts);
        const mode = args.lockMode ?? "COMPLIANCE";
        const days = args.retentionDays ?? 35;
        const problems = validateRetention(mode, days);
        if (problems.length) throw new Error(`DtrBackupBucket is not valid:\n- ${problems.join("\n- ")}`);
        const parent = { parent: this };
        const tags = { ...args.tags, [ROLE_TAG]: "backups" };

        const key =
            args.kmsKeyArn === undefined
                ? new aws.kms.Key(`${name}-backups`, { description: `DTR backups (${name})`, enableKeyRotation: true, tags }, parent)
                : undefined;
        this.kmsKeyArn = key ? key.arn : pulumi.output(args.kmsKeyArn!);
        // Object Lock must be enabled when the bucket is created; it cannot be added later.
        this.bucket = new aws.s3.Bucket(`${name}-backups`, { objectLockEnabled: true, forceDestroy: false, tags }, parent);
        const guarded = secureBucket(`${name}-backups-base`, this.bucket, this.kmsKeyArn, parent, (arn) =>
            tlsOnlyPolicy(arn, [denyDeletes(arn)]),
        );
        new aws.s3.BucketObjectLockConfiguration(
            `${name}-backups`,
            { bucket: this.bucket.id, objectLockEnabled: "Enabled", rule: { defaultRetention: { mode, days } } },
            { parent: this, dependsOn: [guarded.versioning] },
        );
        new aws.s3.BucketLifecycleConfiguration(
            `${name}-backups`,
            {
                bucket: this.bucket.id,
                rules: [
                    // A day past the lock, so expiry never races it.
                    {
                        id: "expire-after-retention",
                        status: "Enabled",
                        filter: {},
                        expiration: { days: days + 1 },
                        noncurrentVersionExpiration: { noncurrentDays: days + 1 },
                    },
                    {
                        id: "abort-incomplete-multipart",
                        status: "Enabled",
                        filter: {},
                        abortIncompleteMultipartUpload: { daysAfterInitiation: 2 },
                    },
                ],
            },
            { parent: this, dependsOn: [guarded.versioning] },
        );
        this.writerPolicy = new aws.iam.Policy(
            `${name}-backups-writer`,
            {
                description: "Write and read DTR backups (no delete)",
                policy: pulumi.all([this.bucket.arn, this.kmsKeyArn]).apply(([arn, k]) =>
                    JSON.stringify({
                        Version: "2012-10-17",
                        Statement: [
                            { Effect: "Allow", Action: ["s3:ListBucket"], Resource: arn },
                            { Effect: "Allow", Action: BACKUP_WRITER_ACTIONS.filter((a) => a !== "s3:ListBucket"), Resource: `${arn}/*` },
                            { Effect: "Allow", Action: ["kms:GenerateDataKey", "kms:Decrypt"], Resource: k },
                        ],
                    }),
                ),
                tags,
            },
            parent,
        );
        this.bucketName = this.bucket.bucket;
        this.retentionDays = pulumi.output(days);
        this.lockMode = pulumi.output(mode);
        this.registerOutputs({
            bucketName: this.bucketName,
            kmsKeyArn: this.kmsKeyArn,
            retentionDays: this.retentionDays,
            lockMode: this.lockMode,
        });
    }
}

/** Refuses deletes of objects and versions to every principal (lifecycle expiry is not subject to bucket policies). */
export function denyDeletes(bucketArn: string): object {
    return {
        Sid: "DenyBackupDeletes",
        Effect: "Deny",
        Principal: "*",
        Action: DENIED_DELETE_ACTIONS,
        Resource: [bucketArn, `${bucketArn}/*`],
    };
}

// Plain data model the rules work on. The policy pack adapter (index.ts) converts the engine's
// resources into this shape, so every rule is a pure function that tests call directly.

/** A value the engine cannot know yet (during preview). Rules skip only the check that needs it. */
export const UNKNOWN: unique symbol = Symbol("unknown during preview");
export type Unknown = typeof UNKNOWN;

export function isUnknown(v: unknown): v is Unknown {
    return v === UNKNOWN;
}

/** One resource of the stack, with its outputs (for components: what registerOutputs recorded). */
export interface StackResource {
    urn: string;
    type: string;
    name: string;
    props: Record<string, unknown>;
    parent?: string;
    /** URNs of the resources this one depends on (from Output inputs or dependsOn). */
    dependencies?: string[];
    /** Per input property, the URNs its value came from (e.g. a companion's `bucket` input). */
    propertyDependencies?: Record<string, string[]>;
}

export interface Violation {
    urn: string;
    message: string;
}

export const TYPES = {
    cluster: "dtr-ha:index:DtrCluster",
    backupSchedule: "dtr-ha:index:DtrBackupSchedule",
    dtrBackup: "dtr-ha:index:DtrBackup",
    remoteCommand: "command:remote:Command",
    localCommand: "command:local:Command",
    bucket: "aws:s3/bucket:Bucket",
    bucketV2: "aws:s3/bucketV2:BucketV2",
    versioning: "aws:s3/bucketVersioning:BucketVersioning",
    versioningV2: "aws:s3/bucketVersioningV2:BucketVersioningV2",
    sse: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    sseV2: "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
    publicAccessBlock: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
    objectLock: "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
    objectLockV2: "aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2",
    instance: "aws:ec2/instance:Instance",
} as const;

/** Tag key the library puts on buckets and instances to say what they are for. */
export const ROLE_TAG = "dtr-ha:role";

/** `DtrCluster "main" (urn:...)`: how every message names a resource. */
export function describe(r: StackResource): string {
    const short = r.type.split(":").pop() || r.type;
    return `${short} "${r.name}" (${r.urn})`;
}

export function ofType(resources: StackResource[], ...types: string[]): StackResource[] {
    return resources.filter((r) => types.includes(r.type));
}

/** The stack name, read from a URN (`urn:pulumi:<stack>::<project>::...`). */
export function stackOfUrn(urn: string): string {
    const head = urn.split("::")[0];
    return head.startsWith("urn:pulumi:") ? head.slice("urn:pulumi:".length) : head;
}

/** The role tag of a bucket or instance; UNKNOWN if the tags are unknown, undefined if absent. */
export function roleOf(r: StackResource): string | Unknown | undefined {
    const tags = r.props["tags"];
    if (isUnknown(tags)) return UNKNOWN;
    if (!tags || typeof tags !== "object") return undefined;
    const role = (tags as Record<string, unknown>)[ROLE_TAG];
    if (isUnknown(role)) return UNKNOWN;
    return typeof role === "string" ? role : undefined;
}

/** Walks a nested path; returns UNKNOWN as soon as a step is unknown, undefined if absent. */
export function at(v: unknown, ...path: (string | number)[]): unknown {
    let cur = v;
    for (const p of path) {
        if (isUnknown(cur)) return UNKNOWN;
        if (cur === null || typeof cur !== "object") return undefined;
        cur = (cur as Record<string | number, unknown>)[p];
    }
    return cur;
}

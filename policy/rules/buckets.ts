// Rules on the S3 buckets and their companion resources (versioning, encryption, public access,
// bucket policy, Object Lock). A companion belongs to a bucket when its `bucket` input is the bucket's
// name/id, or, during preview when that name is not known yet, when its `bucket` input came from it.
import { StackResource, Violation, TYPES, Unknown, UNKNOWN, at, describe, isUnknown, ofType, roleOf } from "./model";

const BUCKET_TYPES = [TYPES.bucket, TYPES.bucketV2];
const PUBLIC_ACLS = ["public-read", "public-read-write", "authenticated-read"];
const PUBLIC_BLOCK_FLAGS = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"];

export function bucketsWithRole(resources: StackResource[], roles: string[]): StackResource[] {
    return ofType(resources, ...BUCKET_TYPES).filter((b) => {
        const role = roleOf(b);
        return typeof role === "string" && roles.includes(role);
    });
}

export function companionsOf(bucket: StackResource, resources: StackResource[], types: string[]): StackResource[] {
    const names = [bucket.props["bucket"], bucket.props["id"]].filter((n) => typeof n === "string" && n !== "");
    return ofType(resources, ...types).filter((c) => {
        const target = c.props["bucket"];
        if (typeof target === "string") return names.includes(target);
        return (c.propertyDependencies?.["bucket"] ?? c.dependencies ?? []).includes(bucket.urn);
    });
}

/** Result of looking for a setting: found, missing (a violation), or not knowable yet (skip). */
type Finding = true | false | Unknown;

/** True if any companion satisfies `ok`; UNKNOWN if none does but some could once values are known. */
function anyOf(companions: StackResource[], ok: (c: StackResource) => Finding): Finding {
    let sawUnknown = false;
    for (const c of companions) {
        const r = ok(c);
        if (r === true) return true;
        if (isUnknown(r)) sawUnknown = true;
    }
    return sawUnknown ? UNKNOWN : false;
}

function versioned(c: StackResource): Finding {
    const status = at(c.props, "versioningConfiguration", "status");
    return isUnknown(status) ? UNKNOWN : status === "Enabled";
}

function kmsEncrypted(c: StackResource): Finding {
    const rules = c.props["rules"];
    if (isUnknown(rules)) return UNKNOWN;
    if (!Array.isArray(rules)) return false;
    let sawUnknown = false;
    for (const r of rules) {
        const alg = at(r, "applyServerSideEncryptionByDefault", "sseAlgorithm");
        if (isUnknown(alg)) sawUnknown = true;
        else if (alg === "aws:kms" || alg === "aws:kms:dsse") return true;
    }
    return sawUnknown ? UNKNOWN : false;
}

function publicBlocked(c: StackResource): Finding {
    let sawUnknown = false;
    for (const f of PUBLIC_BLOCK_FLAGS) {
        const v = c.props[f];
        if (isUnknown(v)) sawUnknown = true;
        else if (v !== true) return false;
    }
    return sawUnknown ? UNKNOWN : true;
}

/** A Deny statement on requests with aws:SecureTransport = false. */
export function deniesInsecureTransport(policy: unknown): Finding {
    if (isUnknown(policy)) return UNKNOWN;
    let doc: unknown = policy;
    if (typeof policy === "string") {
        try {
            doc = JSON.parse(policy);
        } catch {
            return false;
        }
    }
    const stmts = at(doc, "Statement");
    const list = Array.isArray(stmts) ? stmts : stmts ? [stmts] : [];
    return list.some((s) => {
        const secure = at(s, "Condition", "Bool", "aws:SecureTransport");
        return at(s, "Effect") === "Deny" && (secure === "false" || secure === false);
    });
}

function tlsOnly(c: StackResource): Finding {
    return deniesInsecureTransport(c.props["policy"]);
}

interface Requirement {
    types: string[];
    ok: (c: StackResource) => Finding;
    problem: string;
    fix: string;
}

const VERSIONING: Requirement = {
    types: [TYPES.versioning, TYPES.versioningV2],
    ok: versioned,
    problem: "is not versioned",
    fix: 'add an aws.s3.BucketVersioning with versioningConfiguration.status "Enabled"',
};
const PROTECTION: Requirement[] = [
    {
        types: [TYPES.sse, TYPES.sseV2],
        ok: kmsEncrypted,
        problem: "is not encrypted with KMS",
        fix: 'add an aws.s3.BucketServerSideEncryptionConfiguration rule with sseAlgorithm "aws:kms" and a kmsMasterKeyId',
    },
    {
        types: [TYPES.publicAccessBlock],
        ok: publicBlocked,
        problem: "is not blocked from public access",
        fix: `add an aws.s3.BucketPublicAccessBlock with ${PUBLIC_BLOCK_FLAGS.join(", ")} all true`,
    },
    {
        types: [TYPES.bucketPolicy],
        ok: tlsOnly,
        problem: "accepts requests without TLS",
        fix: 'add an aws.s3.BucketPolicy with a Deny statement on Condition {"Bool": {"aws:SecureTransport": "false"}}',
    },
];

function check(bucket: StackResource, resources: StackResource[], reqs: Requirement[], what: string): Violation[] {
    const out: Violation[] = [];
    for (const req of reqs) {
        const found = anyOf(companionsOf(bucket, resources, req.types), req.ok);
        if (found === false) {
            out.push({ urn: bucket.urn, message: `${what} ${describe(bucket)} ${req.problem}: ${req.fix}.` });
        }
    }
    const acl = bucket.props["acl"];
    if (typeof acl === "string" && PUBLIC_ACLS.includes(acl)) {
        out.push({
            urn: bucket.urn,
            message: `${what} ${describe(bucket)} has the public ACL "${acl}": remove the acl (keep it "private").`,
        });
    }
    return out;
}

/** Layer buckets (and their replicas) hold every image layer: versioned, KMS-encrypted, private, TLS-only. */
export function checkLayerBuckets(resources: StackResource[]): Violation[] {
    return bucketsWithRole(resources, ["layers", "layers-replica"]).flatMap((b) =>
        check(b, resources, [VERSIONING, ...PROTECTION], "Layer bucket"),
    );
}

/** Longest retentionDays among the backup schedules; UNKNOWN if one is unknown, undefined if none. */
export function scheduleRetentionDays(resources: StackResource[]): number | Unknown | undefined {
    let max: number | undefined;
    for (const s of ofType(resources, TYPES.backupSchedule)) {
        const d = s.props["retentionDays"];
        if (isUnknown(d)) return UNKNOWN;
        if (typeof d === "number") max = Math.max(max ?? 0, d);
    }
    return max;
}

/** Days of a defaultRetention block (`days`, or `years` counted as 365 days). */
function retentionDays(rule: unknown): number | Unknown | undefined {
    const r = Array.isArray(rule) ? rule[0] : rule; // older provider shapes use a one-element list
    const days = at(r, "defaultRetention", "days");
    const years = at(r, "defaultRetention", "years");
    if (isUnknown(days) || isUnknown(years)) return UNKNOWN;
    if (typeof days === "number") return days;
    if (typeof years === "number") return years * 365;
    return undefined;
}

/**
 * Backups hold DTR's private keys and are the only way back after a loss: Object Lock with a default
 * retention at least as long as the schedule keeps them, plus KMS encryption, no public access, TLS only.
 */
export function checkBackupBuckets(resources: StackResource[]): Violation[] {
    const out: Violation[] = [];
    const wanted = scheduleRetentionDays(resources);
    for (const b of bucketsWithRole(resources, ["backups"])) {
        out.push(...check(b, resources, PROTECTION, "Backup bucket"));
        const lockEnabled = b.props["objectLockEnabled"];
        if (!isUnknown(lockEnabled) && lockEnabled !== true) {
            out.push({
                urn: b.urn,
                message: `Backup bucket ${describe(b)} has no Object Lock: set objectLockEnabled: true on the bucket (it can only be set when the bucket is created).`,
            });
        }
        const locks = companionsOf(b, resources, [TYPES.objectLock, TYPES.objectLockV2]);
        const needDays = typeof wanted === "number" ? wanted : 1;
        const fix =
            `add an aws.s3.BucketObjectLockConfiguration with rule.defaultRetention ` +
            `{mode: "COMPLIANCE" (or "GOVERNANCE"), days: ${needDays}}` +
            (typeof wanted === "number" ? ` or more (the backup schedule keeps backups ${wanted} days)` : "");
        if (locks.length === 0) {
            out.push({
                urn: b.urn,
                message: `Backup bucket ${describe(b)} has no default Object Lock retention: ${fix}.`,
            });
            continue;
        }
        // Judge the lock configuration that is the most protective.
        let best: number | undefined;
        let sawUnknown = false;
        for (const l of locks) {
            const mode = at(l.props, "rule", ...(Array.isArray(l.props["rule"]) ? [0] : []), "defaultRetention", "mode");
            const days = retentionDays(l.props["rule"]);
            if (isUnknown(mode) || isUnknown(days)) {
                sawUnknown = true;
                continue;
            }
            if ((mode === "COMPLIANCE" || mode === "GOVERNANCE") && typeof days === "number") {
                best = Math.max(best ?? 0, days);
            }
        }
        if (best === undefined) {
            if (!sawUnknown) {
                out.push({
                    urn: b.urn,
                    message: `Backup bucket ${describe(b)} has an Object Lock configuration without a default retention mode and period: ${fix}.`,
                });
            }
        } else if (best < needDays && !(sawUnknown || isUnknown(wanted))) {
            out.push({
                urn: b.urn,
                message:
                    `Backup bucket ${describe(b)} keeps objects locked for ${best} days, shorter than the ` +
                    `${needDays} days the backup schedule retains backups: a backup could be deleted or overwritten ` +
                    `while it is still meant to be kept; ${fix}.`,
            });
        }
    }
    return out;
}

/**
 * DtrBackupBucket under the Pulumi mocks: what the declared resources say (Object Lock, versioning, encryption, public
 * access, the deny-delete policy, lifecycle, the writer policy) and how they are ordered.
 */
import * as assert from "assert";
import { Declared, captureDeclarations, recorded, settle, valueOf } from "./mocks";
import { DENIED_DELETE_ACTIONS, DtrBackupBucket, DtrBackupBucketArgs } from "../../components/backup/backup-bucket";
import { ROLE_TAG } from "../../components/storage/layer-bucket";

function build(args: DtrBackupBucketArgs = {}) {
    const declared: Declared[] = [];
    const name = `bb${Math.random().toString(36).slice(2, 8)}`;
    const before = recorded.length;
    const bucket = new DtrBackupBucket(name, args, { transformations: [captureDeclarations(declared)] });
    return { bucket, declared, name, mine: () => recorded.slice(before).filter((r) => r.name.startsWith(name)) };
}

const one = (declared: Declared[], type: string) => {
    const found = declared.filter((d) => d.type === type);
    assert.strictEqual(found.length, 1, `exactly one ${type}: ${found.map((d) => d.name).join(",")}`);
    return found[0];
};

describe("DtrBackupBucket (mocked)", () => {
    it("creates the bucket with Object Lock, never force-destroyed, tagged for the policy pack", async () => {
        const { declared } = build();
        await settle();
        const b = one(declared, "aws:s3/bucket:Bucket");
        assert.strictEqual(b.props.objectLockEnabled, true, "Object Lock can only be enabled at creation");
        assert.strictEqual(b.props.forceDestroy, false);
        assert.strictEqual((await valueOf<Record<string, string>>(b.props.tags))[ROLE_TAG], "backups");
    });

    it("versioning first, then a default COMPLIANCE retention of 35 days", async () => {
        const { declared } = build();
        await settle();
        const v = one(declared, "aws:s3/bucketVersioning:BucketVersioning");
        assert.strictEqual((await valueOf<any>(v.props.versioningConfiguration)).status, "Enabled");
        const lock = one(declared, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration");
        assert.strictEqual(lock.props.objectLockEnabled, "Enabled");
        assert.deepStrictEqual(await valueOf<any>(lock.props.rule), { defaultRetention: { mode: "COMPLIANCE", days: 35 } });
        assert.ok(lock.dependsOn.includes(v.name), "the lock rule waits for versioning");
    });

    it("passes lockMode and retentionDays through, and refuses bad ones before declaring anything", async () => {
        const { declared, bucket } = build({ lockMode: "GOVERNANCE", retentionDays: 7 });
        await settle();
        const lock = one(declared, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration");
        assert.deepStrictEqual(await valueOf<any>(lock.props.rule), { defaultRetention: { mode: "GOVERNANCE", days: 7 } });
        assert.strictEqual(await valueOf(bucket.retentionDays), 7);
        assert.strictEqual(await valueOf(bucket.lockMode), "GOVERNANCE");
        const before = recorded.length;
        assert.throws(() => new DtrBackupBucket("bad", { retentionDays: 0 }), /backup\.retentionDays=0: give whole days/);
        assert.throws(() => new DtrBackupBucket("bad2", { lockMode: "NONE" as never }), /backup\.lockMode="NONE"/);
        await settle();
        assert.strictEqual(
            recorded.filter((r, i) => i >= before && r.name.startsWith("bad") && r.type !== "dtr-ha:index:DtrBackupBucket").length,
            0,
        );
    });

    it("denies deletes of objects and versions to everyone, and insecure transport, in the bucket policy", async () => {
        const { declared } = build();
        await settle();
        const p = one(declared, "aws:s3/bucketPolicy:BucketPolicy");
        const policy = JSON.parse(await valueOf<string>(p.props.policy));
        const deny = policy.Statement.find((s: any) => s.Sid === "DenyBackupDeletes");
        assert.ok(deny, JSON.stringify(policy));
        assert.strictEqual(deny.Effect, "Deny");
        assert.strictEqual(deny.Principal, "*");
        assert.deepStrictEqual(deny.Action, DENIED_DELETE_ACTIONS);
        assert.ok(deny.Action.includes("s3:DeleteObjectVersion") && deny.Action.includes("s3:DeleteObject"));
        assert.ok(
            deny.Resource.some((r: string) => r.endsWith("/*")),
            "applies to the objects",
        );
        assert.ok(!("Condition" in deny), "unconditional");
        const tls = policy.Statement.find((s: any) => s.Sid === "DenyInsecureTransport");
        assert.deepStrictEqual(tls.Condition, { Bool: { "aws:SecureTransport": "false" } });
        const pab = one(declared, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock");
        for (const k of ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"])
            assert.strictEqual(pab.props[k], true, k);
        assert.ok(p.dependsOn.includes(pab.name), "policy after the public access block");
    });

    it("expires backups a day after their lock, aborts stale multipart uploads, after versioning", async () => {
        const { declared } = build({ retentionDays: 10 });
        await settle();
        const lc = one(declared, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration");
        const rules = await valueOf<any[]>(lc.props.rules);
        const expire = rules.find((r) => r.id === "expire-after-retention");
        assert.strictEqual(expire.status, "Enabled");
        assert.strictEqual(expire.expiration.days, 11);
        assert.strictEqual(expire.noncurrentVersionExpiration.noncurrentDays, 11);
        const abort = rules.find((r) => r.id === "abort-incomplete-multipart");
        assert.strictEqual(abort.abortIncompleteMultipartUpload.daysAfterInitiation, 2);
        assert.ok(lc.dependsOn.includes(one(declared, "aws:s3/bucketVersioning:BucketVersioning").name));
    });

    it("encrypts with a rotating KMS key (or the one given), and the writer policy can neither delete nor bypass the lock", async () => {
        const { declared, bucket } = build();
        await settle();
        const key = one(declared, "aws:kms/key:Key");
        assert.strictEqual(key.props.enableKeyRotation, true);
        const sse = one(declared, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration");
        const rule = (await valueOf<any[]>(sse.props.rules))[0];
        assert.strictEqual(rule.applyServerSideEncryptionByDefault.sseAlgorithm, "aws:kms");
        assert.match(rule.applyServerSideEncryptionByDefault.kmsMasterKeyId, /^arn:aws:kms:/);
        const writer = JSON.parse(await valueOf<string>(bucket.writerPolicy.policy as any));
        const actions: string[] = writer.Statement.flatMap((s: any) => s.Action);
        for (const a of actions) assert.doesNotMatch(a, /Delete|BypassGovernance|PutObjectLockConfiguration|PutBucketPolicy|\*/, a);
        assert.ok(actions.includes("s3:PutObject") && actions.includes("s3:GetObjectVersion"));
        const given = build({ kmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/given" });
        await settle();
        assert.strictEqual(given.declared.filter((d) => d.type === "aws:kms/key:Key").length, 0);
        assert.strictEqual(await valueOf(given.bucket.kmsKeyArn), "arn:aws:kms:eu-west-1:123456789012:key/given");
    });
});

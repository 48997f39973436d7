import * as assert from "node:assert/strict";
import { TYPES, UNKNOWN, checkBackupBuckets, checkLayerBuckets, deniesInsecureTransport } from "../rules";
import { res, securedBucket } from "./fixtures";

const schedule = (retentionDays: unknown) => res(TYPES.backupSchedule, "nightly", { retentionDays });

describe("dtr-layer-bucket-protected", () => {
    it("passes a versioned, KMS-encrypted, private, TLS-only layer bucket and its replica", () => {
        assert.deepEqual(checkLayerBuckets([...securedBucket("layers", "layers"), ...securedBucket("layers-replica", "dr")]), []);
    });
    it("fails an unversioned layer bucket, naming it and the fix", () => {
        const v = checkLayerBuckets(
            securedBucket("layers", "layers", { versioning: { versioningConfiguration: { status: "Suspended" } } }),
        );
        assert.equal(v.length, 1);
        assert.match(
            v[0].message,
            /Layer bucket Bucket "layers" \(urn:pulumi:lab::dtr-ha::aws:s3\/bucket:Bucket::layers\) is not versioned/,
        );
        assert.match(v[0].message, /add an aws.s3.BucketVersioning with versioningConfiguration.status "Enabled"/);
    });
    it("fails a layer bucket without KMS, public access block, or TLS-only policy", () => {
        const aes = securedBucket("layers", "l", {
            sse: { rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] },
        });
        assert.match(checkLayerBuckets(aes)[0].message, /is not encrypted with KMS: .*sseAlgorithm "aws:kms"/);
        const open = securedBucket("layers", "l", { publicAccessBlock: { restrictPublicBuckets: false } });
        assert.match(checkLayerBuckets(open)[0].message, /is not blocked from public access: .*restrictPublicBuckets all true/);
        const noPolicy = securedBucket("layers", "l", { bucketPolicy: null });
        assert.match(checkLayerBuckets(noPolicy)[0].message, /accepts requests without TLS: .*aws:SecureTransport/);
        const publicAcl = securedBucket("layers", "l", {}, { acl: "public-read" });
        assert.match(checkLayerBuckets(publicAcl)[0].message, /has the public ACL "public-read"/);
    });
    it("matches companions by bucket name once known, not another bucket's", () => {
        const mine = securedBucket("layers", "l", {}, { bucket: "layers-123", id: "layers-123" });
        const other = res(TYPES.versioning, "other", {
            bucket: "someone-else",
            versioningConfiguration: { status: "Enabled" },
        });
        const byName = mine.map((r) => (r.type === TYPES.versioning ? other : r));
        assert.match(checkLayerBuckets(byName)[0].message, /is not versioned/);
        const named = { ...other, props: { ...other.props, bucket: "layers-123" } };
        assert.deepEqual(checkLayerBuckets(mine.map((r) => (r.type === TYPES.versioning ? named : r))), []);
    });
    it("skips a check whose value is unknown, and only that one", () => {
        const v = checkLayerBuckets(securedBucket("layers", "l", { bucketPolicy: { policy: UNKNOWN }, versioning: null }));
        assert.equal(v.length, 1);
        assert.match(v[0].message, /is not versioned/);
    });
    it("reads Deny-on-insecure-transport policies as strings or objects", () => {
        const stmt = { Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": false } } };
        assert.equal(deniesInsecureTransport({ Statement: stmt }), true);
        assert.equal(deniesInsecureTransport(JSON.stringify({ Statement: [{ ...stmt, Effect: "Allow" }] })), false);
        assert.equal(deniesInsecureTransport("not json"), false);
    });
});

describe("dtr-backup-bucket-locked", () => {
    const backups = (lock?: Record<string, unknown> | null, bucketProps: Record<string, unknown> = { objectLockEnabled: true }) =>
        securedBucket("backups", "backups", { objectLock: lock }, bucketProps);
    it("passes Object Lock with a retention as long as the schedule's", () => {
        assert.deepEqual(checkBackupBuckets([...backups(), schedule(30)]), []);
        assert.deepEqual(
            checkBackupBuckets([...backups({ rule: { defaultRetention: { mode: "GOVERNANCE", years: 1 } } }), schedule(90)]),
            [],
        );
    });
    it("fails a retention shorter than the schedule's, naming both and the fix", () => {
        const v = checkBackupBuckets([...backups({ rule: { defaultRetention: { mode: "COMPLIANCE", days: 7 } } }), schedule(30)]);
        assert.equal(v.length, 1);
        assert.match(v[0].message, /Backup bucket Bucket "backups" \(urn:.*\) keeps objects locked for 7 days, shorter than the 30 days/);
        assert.match(v[0].message, /rule.defaultRetention \{mode: "COMPLIANCE" \(or "GOVERNANCE"\), days: 30\} or more/);
    });
    it("fails a bucket without Object Lock, and a lock without default retention", () => {
        const v = checkBackupBuckets([...backups(null, { objectLockEnabled: false }), schedule(14)]);
        assert.equal(v.length, 2);
        assert.match(v[0].message, /has no Object Lock: set objectLockEnabled: true on the bucket/);
        assert.match(v[1].message, /has no default Object Lock retention: .*days: 14/);
        const noRule = checkBackupBuckets([...backups({ rule: undefined, objectLockEnabled: "Enabled" })]);
        assert.match(noRule[0].message, /without a default retention mode and period/);
    });
    it("applies KMS, public-access and TLS checks to the backup bucket too", () => {
        const v = checkBackupBuckets(securedBucket("backups", "b", { sse: null }, { objectLockEnabled: true }));
        assert.equal(v.length, 1);
        assert.match(v[0].message, /Backup bucket Bucket "b" .* is not encrypted with KMS/);
    });
    it("skips the comparison while the schedule's retention or the lock days are unknown", () => {
        assert.deepEqual(
            checkBackupBuckets([...backups({ rule: { defaultRetention: { mode: "COMPLIANCE", days: 1 } } }), schedule(UNKNOWN)]),
            [],
        );
        assert.deepEqual(checkBackupBuckets([...backups({ rule: UNKNOWN }), schedule(30)]), []);
        assert.deepEqual(checkBackupBuckets([...backups(undefined, { objectLockEnabled: UNKNOWN }), schedule(30)]), []);
    });
});

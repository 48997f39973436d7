import * as assert from "assert";
import { recorded, settle, valueOf } from "./mocks";
import { DtrStorage, DTR_BUCKET_ACTIONS, DTR_OBJECT_ACTIONS } from "../../components/storage/layer-bucket";
import { applyStorageSettingsScript, dtrStorageSettings } from "../../components/storage/settings";

describe("DTR storage settings document", () => {
    it("matches the settings API shape and omits keys for the instance role", () => {
        const doc = dtrStorageSettings({ region: "eu-west-1", bucket: "dtr-layers", encrypt: true, keyId: "arn:k" }) as any;
        assert.deepStrictEqual(doc.storage.delete, { enabled: true });
        assert.deepStrictEqual(doc.storage.maintenance, { readonly: { enabled: false } });
        assert.strictEqual(doc.storage.s3.bucket, "dtr-layers");
        assert.strictEqual(doc.storage.s3.secure, true);
        assert.strictEqual(doc.storage.s3.keyid, "arn:k");
        assert.ok(!("accesskey" in doc.storage.s3) && !("secretkey" in doc.storage.s3));
    });
    it("carries keys and path style for an S3-compatible server", () => {
        const doc = dtrStorageSettings({
            region: "us-east-1",
            bucket: "dtr-layers",
            regionEndpoint: "http://10.200.0.1:9000",
            accessKey: "a",
            secretKey: "s",
            secure: false,
            forcePathStyle: true,
        }) as any;
        assert.deepStrictEqual(
            [
                doc.storage.s3.regionendpoint,
                doc.storage.s3.accesskey,
                doc.storage.s3.secretkey,
                doc.storage.s3.secure,
                doc.storage.s3.forcepathstyle,
            ],
            ["http://10.200.0.1:9000", "a", "s", false, true],
        );
    });
    it("refuses half credentials, bad bucket names and tiny chunks", () => {
        assert.throws(() => dtrStorageSettings({ region: "r", bucket: "b-ok", accessKey: "a" }), /give both, or neither/);
        assert.throws(() => dtrStorageSettings({ region: "r", bucket: "Bad_Bucket" }), /storage.bucket="Bad_Bucket"/);
        assert.throws(() => dtrStorageSettings({ region: "r", bucket: "bkt", chunkSize: 1024 }), /chunkSize=1024/);
        assert.throws(() => dtrStorageSettings({ region: "", bucket: "bkt" }), /requires a region/);
    });
    it("applies settings from the environment, not the script text", () => {
        const s = applyStorageSettingsScript({ externalUrl: "https://dtr.example.com" });
        assert.match(s, /\$\{DTR_STORAGE_SETTINGS:\?/);
        assert.match(s, /PUT .*\/api\/v0\/admin\/settings\/registry\/simple/s);
        assert.match(s, /DTR refused the storage settings: HTTP \$code/);
    });
});

describe("DtrStorage (AWS, mocked)", () => {
    const byType = (t: string, prefix: string) => recorded.filter((r) => r.type === t && r.name.startsWith(prefix));

    it("makes the layer bucket versioned, KMS-encrypted, not public and TLS-only", async () => {
        const storage = new DtrStorage("st1", { noncurrentVersionExpirationDays: 14 });
        await valueOf(storage.bucketName);
        await settle();
        assert.strictEqual(byType("aws:s3/bucket:Bucket", "st1-layers").length, 1);
        assert.strictEqual(byType("aws:s3/bucket:Bucket", "st1-layers")[0].inputs.forceDestroy, false);
        assert.strictEqual(byType("aws:s3/bucket:Bucket", "st1-layers")[0].inputs.tags["dtr-ha:role"], "layers");
        const versioning = byType("aws:s3/bucketVersioning:BucketVersioning", "st1-layers")[0];
        assert.strictEqual(versioning.inputs.versioningConfiguration.status, "Enabled");
        const sse = byType("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "st1-layers")[0];
        const rule = sse.inputs.rules[0];
        assert.strictEqual(rule.applyServerSideEncryptionByDefault.sseAlgorithm, "aws:kms");
        assert.match(rule.applyServerSideEncryptionByDefault.kmsMasterKeyId, /^arn:aws:kms:/);
        assert.strictEqual(rule.bucketKeyEnabled, true);
        const pab = byType("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "st1-layers")[0].inputs;
        assert.deepStrictEqual(
            [pab.blockPublicAcls, pab.blockPublicPolicy, pab.ignorePublicAcls, pab.restrictPublicBuckets],
            [true, true, true, true],
        );
        const policy = JSON.parse(byType("aws:s3/bucketPolicy:BucketPolicy", "st1-layers")[0].inputs.policy);
        const deny = policy.Statement.find((s: any) => s.Effect === "Deny");
        assert.deepStrictEqual(deny.Condition, { Bool: { "aws:SecureTransport": "false" } });
        assert.deepStrictEqual(deny.Resource, ["arn:aws:s3:::st1-layers-bucket", "arn:aws:s3:::st1-layers-bucket/*"]);
        const lifecycle = byType("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "st1-layers")[0].inputs.rules;
        assert.strictEqual(
            lifecycle.find((r: any) => r.id === "expire-noncurrent-versions").noncurrentVersionExpiration.noncurrentDays,
            14,
        );
        assert.strictEqual(
            lifecycle.find((r: any) => r.id === "abort-incomplete-multipart").abortIncompleteMultipartUpload.daysAfterInitiation,
            7,
        );
        assert.strictEqual(byType("aws:kms/key:Key", "st1-layers")[0].inputs.enableKeyRotation, true);
    });

    it("grants exactly DTR's documented S3 actions on this bucket only", async () => {
        const storage = new DtrStorage("st2");
        await valueOf(storage.accessPolicy.arn);
        await settle();
        const doc = JSON.parse(byType("aws:iam/policy:Policy", "st2-layers-access")[0].inputs.policy);
        const bucketStmt = doc.Statement.find((s: any) => s.Sid === "DtrBucket");
        const objectStmt = doc.Statement.find((s: any) => s.Sid === "DtrObjects");
        assert.deepStrictEqual(bucketStmt.Action.sort(), [...DTR_BUCKET_ACTIONS].sort());
        assert.deepStrictEqual(objectStmt.Action.sort(), [...DTR_OBJECT_ACTIONS].sort());
        assert.strictEqual(bucketStmt.Resource, "arn:aws:s3:::st2-layers-bucket");
        assert.strictEqual(objectStmt.Resource, "arn:aws:s3:::st2-layers-bucket/*");
        assert.ok(!JSON.stringify(doc).includes('"s3:*"'));
        const settings = await valueOf(storage.settings);
        assert.deepStrictEqual(settings, {
            bucket: "st2-layers-bucket",
            region: "eu-west-1",
            encrypt: true,
            keyId: "arn:aws:kms:eu-west-1:123456789012:key/st2-layers",
            secure: true,
        });
    });

    it("refuses nonsense retention", () => {
        assert.throws(
            () => new DtrStorage("st3", { noncurrentVersionExpirationDays: 0 }),
            /noncurrentVersionExpirationDays=0 is not valid/,
        );
    });
});

// What `list` tells about each backup beyond the manifest: the object's Object Lock retention (from the store) and the
// last `verify --record` verdict on that very object. Against a real MinIO (object lock + versioning), through the CLI.
import assert from "node:assert/strict";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { generateX25519Identity, identityToRecipient } from "age-encryption";
import { backupKeys } from "../src/keys";
import { Manifest } from "../src/manifest";
import { VERIFICATION_FORMAT, verificationKey, verificationProblem } from "../src/verification";
import { agent } from "./cli";
import { Minio } from "./minio";
import { tarOf } from "./synth-tar";

const BUCKET = "dtr-backups";
const tar = tarOf([
    { name: "dtr-backup/manifest.json", data: JSON.stringify({ dtrVersion: "2.9.16" }) },
    { name: "dtr-backup/metadata/repositories.json", data: "y".repeat(3000) },
]);

describe("verification records", () => {
    it("live beside the manifest: <prefix>/verifications/<cluster>/<stamp>-<kind>.verification.json", () => {
        assert.equal(
            verificationKey("dtr/manifests/c1/20260101T000000123Z-0a1b2c3d-dtr.manifest.json"),
            "dtr/verifications/c1/20260101T000000123Z-0a1b2c3d-dtr.verification.json",
        );
        assert.equal(
            verificationKey("manifests/c1/20260101T000000Z-ucp.manifest.json"),
            "verifications/c1/20260101T000000Z-ucp.verification.json",
        );
        assert.throws(() => verificationKey("dtr/objects/c1/x.tar.zst"), /not a manifest key/);
    });

    it("apply only to the object the manifest pins (key, version, SHA-256)", () => {
        const mk = "p/manifests/c1/20260101T000000123Z-0a1b2c3d-dtr.manifest.json";
        const m = { object: { key: "p/objects/c1/dtr/x.tar.zst", versionId: "v1", sha256: "a".repeat(64) } } as Manifest;
        const rec = { format: VERIFICATION_FORMAT, manifestKey: mk, ok: true, contentChecked: true, object: { ...m.object }, error: null };
        assert.equal(verificationProblem(rec, mk, m), null);
        assert.match(verificationProblem({ ...rec, object: { ...m.object, versionId: "v2" } }, mk, m)!, /another object/);
        assert.match(verificationProblem({ ...rec, object: { ...m.object, sha256: "b".repeat(64) } }, mk, m)!, /another object/);
        assert.match(verificationProblem({ ...rec, manifestKey: mk.replace("dtr.", "ucp.") }, mk, m)!, /is about/);
        assert.match(verificationProblem({ ...rec, format: "x" }, mk, m)!, /not a dtr-ha-verification\/1 record/);
        assert.match(verificationProblem({ ...rec, ok: "yes" }, mk, m)!, /true or false/);
    });
});

describe("list: retention and verification against MinIO", function () {
    this.timeout(120_000);
    let minio: Minio;
    let s3: S3Client;
    let env: Record<string, string>;

    before(async () => {
        minio = await Minio.start();
        s3 = minio.client();
        env = minio.env;
        await minio.lockedBucket(BUCKET);
    });
    after(async () => {
        s3?.destroy();
        await minio?.stop();
    });

    async function backup(nonce: string, lock: boolean): Promise<{ manifestKey: string; manifest: Manifest }> {
        const k = backupKeys({ prefix: "vr", cluster: "c1", kind: "dtr", createdAt: new Date(), encrypted: false, nonce });
        const up = await agent(
            [
                "upload",
                "--bucket",
                BUCKET,
                "--key",
                k.objectKey,
                "--kind",
                "dtr",
                "--cluster",
                "c1",
                ...(lock ? ["--lock-mode", "GOVERNANCE", "--retain-days", "1"] : []),
            ],
            { env, input: tar },
        );
        assert.equal(up.code, 0, up.stderr);
        const put = await agent(["put-manifest", "--bucket", BUCKET, "--key", k.manifestKey], { env, input: up.stdout });
        assert.equal(put.code, 0, put.stderr);
        return { manifestKey: k.manifestKey, manifest: JSON.parse(up.stdout.toString()) as Manifest };
    }
    async function list(extra: string[] = []): Promise<Record<string, any>> {
        const r = await agent(["list", "--bucket", BUCKET, "--prefix", "vr", "--cluster", "c1", ...extra], { env });
        assert.equal(r.code, 0, r.stderr);
        const lines = r.stdout
            .toString()
            .trim()
            .split("\n")
            .filter(Boolean)
            .map((l) => JSON.parse(l));
        return Object.fromEntries(lines.map((l) => [l.manifestKey, l]));
    }

    it("shows the object's lock as the store reports it, and none for an object without retention", async () => {
        const locked = await backup("0000000a", true);
        const plain = await backup("0000000b", false);
        const entries = await list();
        const l = entries[locked.manifestKey].objectLock;
        assert.equal(l.mode, "GOVERNANCE");
        const until = Date.parse(l.retainUntil) - Date.parse(locked.manifest.createdAt);
        assert.ok(
            Math.abs(until - 86_400_000) < 5000,
            `retain-until is createdAt + 1 day: ${l.retainUntil} vs ${locked.manifest.createdAt}`,
        );
        assert.equal(entries[plain.manifestKey].objectLock, null);
        assert.ok(!("verification" in entries[locked.manifestKey]), "no verification field without --verifications");
    });

    it("verify --record keeps the verdict; list --verifications shows it (and null for a backup never verified)", async () => {
        const b = await backup("0000000c", true);
        const never = await backup("0000000d", true);
        const before = Date.now();
        const v = await agent(["verify", "--bucket", BUCKET, "--manifest-key", b.manifestKey, "--record"], { env });
        assert.equal(v.code, 0, v.stderr);
        assert.match(v.stderr, /verdict recorded at s3:\/\/dtr-backups\/vr\/verifications\/c1\//);
        const entries = await list(["--verifications"]);
        const got = entries[b.manifestKey].verification;
        assert.equal(got.ok, true);
        assert.equal(got.contentChecked, true);
        assert.equal(got.error, null);
        assert.ok(Date.parse(got.verifiedAt) >= before - 2000, got.verifiedAt);
        assert.equal(entries[never.manifestKey].verification, null);
        // Without --record nothing is kept.
        const quiet = await agent(["verify", "--bucket", BUCKET, "--manifest-key", never.manifestKey], { env });
        assert.equal(quiet.code, 0, quiet.stderr);
        assert.equal((await list(["--verifications"]))[never.manifestKey].verification, null);
    });

    it("a failed verify --record is recorded as failed, with the reason", async () => {
        const b = await backup("0000000e", false);
        // The same object and size, but a manifest that claims other bytes: the catalog lists it, verify fails it.
        const lying = { ...b.manifest, object: { ...b.manifest.object, sha256: "0".repeat(64) } };
        const put = await agent(["put-manifest", "--bucket", BUCKET, "--key", b.manifestKey], {
            env,
            input: Buffer.from(JSON.stringify(lying)),
        });
        assert.equal(put.code, 0, put.stderr);
        const v = await agent(["verify", "--bucket", BUCKET, "--manifest-key", b.manifestKey, "--record"], { env });
        assert.equal(v.code, 1);
        const got = (await list(["--verifications"]))[b.manifestKey].verification;
        assert.equal(got.ok, false);
        assert.match(got.error, /SHA-256|sha256/i);
    });

    it("an encrypted backup refused for want of its identity was not read: nothing is recorded", async () => {
        const k = backupKeys({ prefix: "vr", cluster: "c1", kind: "dtr", createdAt: new Date(), encrypted: true, nonce: "00000010" });
        const recipient = await identityToRecipient(await generateX25519Identity());
        const up = await agent(
            ["upload", "--bucket", BUCKET, "--key", k.objectKey, "--kind", "dtr", "--cluster", "c1", "--recipient", recipient],
            { env, input: tar },
        );
        assert.equal(up.code, 0, up.stderr);
        assert.equal((await agent(["put-manifest", "--bucket", BUCKET, "--key", k.manifestKey], { env, input: up.stdout })).code, 0);
        const v = await agent(["verify", "--bucket", BUCKET, "--manifest-key", k.manifestKey, "--record"], { env });
        assert.equal(v.code, 1);
        assert.doesNotMatch(v.stderr, /verdict recorded/);
        assert.equal((await list(["--verifications"]))[k.manifestKey].verification, null);
        // --stored-only reads the stored bytes: that verdict is kept, saying the content was not checked.
        const stored = await agent(["verify", "--bucket", BUCKET, "--manifest-key", k.manifestKey, "--record", "--stored-only"], { env });
        assert.equal(stored.code, 0, stored.stderr);
        const got = (await list(["--verifications"]))[k.manifestKey].verification;
        assert.equal(got.ok, true);
        assert.equal(got.contentChecked, false);
    });

    it("a record about another object is not shown as this backup's verification", async () => {
        const b = await backup("0000000f", false);
        const forged = {
            format: VERIFICATION_FORMAT,
            manifestKey: b.manifestKey,
            ok: true,
            contentChecked: true,
            object: { key: b.manifest.object.key, versionId: "another-version", sha256: b.manifest.object.sha256 },
            error: null,
        };
        await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: verificationKey(b.manifestKey), Body: JSON.stringify(forged) }));
        assert.equal((await list(["--verifications"]))[b.manifestKey].verification, null);
    });
});

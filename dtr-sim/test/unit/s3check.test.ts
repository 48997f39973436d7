// The storage test of a settings PUT: DTR test-writes with the given credentials and answers 400 when it cannot
// (DTR's own handler test, dhe-deploy adminserver TestUpdateRegistrySettingsViaFormHandler: 400, "InvalidAccessKeyId";
// ee/dtr/admin/configure/external-storage/s3.md: "Once you click Save, DTR validates the configurations").
import assert from "node:assert/strict";
import http from "node:http";
import { AddressInfo } from "node:net";
import { signV4, s3TestWrite } from "../../src/s3check";
import { ApiServer } from "../../src/api";
import { Engine } from "../../src/engine";
import { basicHeader } from "../../src/auth";
import { cluster, ids, Node } from "./fixtures";
import { FakeS3 } from "./fakes3";

describe("storage test write (S3)", function () {
    this.timeout(20000);

    it("signs as AWS Signature Version 4 does: AWS's published GET Object example", () => {
        // docs.aws.amazon.com AmazonS3 sig-v4-header-based-auth, "Example: GET Object" (the example key pair).
        const auth = signV4({
            method: "GET",
            path: "/test.txt",
            headers: { Host: "examplebucket.s3.amazonaws.com", Range: "bytes=0-9", "x-amz-date": "20130524T000000Z" },
            payloadHash: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            region: "us-east-1",
            accessKey: "AKIAIOSFODNN7EXAMPLE",
            secretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        });
        assert.equal(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request," +
                "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date," +
                "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
        );
    });

    describe("against an S3 endpoint", () => {
        let s3: FakeS3;
        beforeEach(async () => (s3 = await new FakeS3("layers", "lab-access", "lab-secret").start()));
        afterEach(() => s3.stop());
        const cfg = (more: Record<string, unknown> = {}) => ({
            region: "us-east-1",
            bucket: "layers",
            regionendpoint: s3.endpoint,
            accesskey: "lab-access",
            secretkey: "lab-secret",
            secure: false,
            rootdirectory: "/dtr/root",
            ...more,
        });

        it("with the right credentials writes, reads back and deletes one object under rootdirectory", async () => {
            assert.deepEqual(await s3TestWrite(cfg()), { ok: true });
            assert.deepEqual(
                s3.requests.map((r) => r.replace(/[0-9a-f]{16}$/, "<id>")),
                ["PUT", "GET", "DELETE"].map((m) => `${m} /layers/dtr/root/dtr-sim-storage-check/<id>`),
            );
            assert.equal(s3.objects.size, 0, "the test object is removed");
        });

        it("names S3's error for a wrong access key, a wrong secret, a missing bucket, no keys, and an endpoint that is down", async () => {
            let r = await s3TestWrite(cfg({ accesskey: "nobody" }));
            assert.equal(r.ok, false);
            assert.match(
                r.error!,
                /^PUT s3:\/\/layers\/dtr\/root\/dtr-sim-storage-check\/[0-9a-f]{16} via http:\/\/127\.0\.0\.1:\d+: 403 InvalidAccessKeyId: /,
            );
            r = await s3TestWrite(cfg({ secretkey: "wrong" }));
            assert.match(r.error!, /403 SignatureDoesNotMatch/);
            r = await s3TestWrite(cfg({ bucket: "other" }));
            assert.match(r.error!, /404 NoSuchBucket/);
            r = await s3TestWrite(cfg({ accesskey: undefined, secretkey: undefined }));
            assert.match(r.error!, /403 AccessDenied/);
            s3.stop();
            r = await s3TestWrite(cfg());
            assert.match(r.error!, /ECONNREFUSED/);
            assert.equal(s3.objects.size, 0);
        });
    });

    describe("PUT /api/v0/admin/settings/registry/simple", () => {
        let nodes: Map<string, Node>;
        let server: http.Server;
        let s3: FakeS3;
        beforeEach(async () => {
            s3 = await new FakeS3("layers", "lab-access", "lab-secret").start();
            nodes = await cluster();
            const api = new ApiServer(
                new Engine("/nonexistent.sock"),
                { replicaId: ids[0], node: "host1", httpPort: 80, httpsPort: 443 },
                nodes.get(ids[0])!.store,
                { image: "dtr-sim:test", version: "2.9.16", registryImage: "dtr-sim-registry:test" },
            );
            api.registry = { ok: true };
            server = http.createServer(api.handler(false));
            await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        });
        afterEach(() => {
            server.close();
            s3.stop();
            nodes.forEach((n) => n.server.close());
        });

        it("answers 400 naming S3's error when the credentials cannot write, and changes nothing", async () => {
            const before = JSON.stringify(nodes.get(ids[0])!.store.stored);
            const body = JSON.stringify({
                storage: {
                    delete: { enabled: true },
                    s3: {
                        region: "us-east-1",
                        bucket: "layers",
                        regionendpoint: s3.endpoint,
                        accesskey: "nobody",
                        secretkey: "x",
                        secure: false,
                    },
                },
            });
            const r = await new Promise<{ status: number; json: any }>((resolve, reject) => {
                const port = (server.address() as AddressInfo).port;
                const req = http.request(
                    {
                        host: "127.0.0.1",
                        port,
                        method: "PUT",
                        path: "/api/v0/admin/settings/registry/simple",
                        headers: { authorization: basicHeader("admin", "pw-for-tests"), "content-type": "application/json" },
                    },
                    (res) => {
                        let t = "";
                        res.on("data", (c) => (t += c));
                        res.on("end", () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(t) }));
                    },
                );
                req.on("error", reject);
                req.end(body);
            });
            assert.equal(r.status, 400);
            assert.equal(r.json.errors[0].code, "INVALID_STORAGE_SETTINGS");
            assert.match(
                r.json.errors[0].message,
                /storage test failed, settings not changed: PUT s3:\/\/layers\/.* 403 InvalidAccessKeyId/,
            );
            assert.equal(JSON.stringify(nodes.get(ids[0])!.store.stored), before);
        });
    });
});

import assert from "node:assert/strict";
import { registryConfig, validateStorageBody, redactStorage, SECRET_PLACEHOLDER } from "../../src/settings";

const minio = {
    storage: {
        delete: { enabled: true },
        maintenance: { readonly: { enabled: false } },
        s3: {
            region: "us-east-1",
            bucket: "dtr-layers",
            regionendpoint: "http://10.200.0.1:9000",
            accesskey: "AK",
            secretkey: "SK",
            secure: false,
            forcepathstyle: true,
        },
    },
};

describe("storage settings", () => {
    it("accepts the documented S3 body and builds a registry config from it", () => {
        const st = validateStorageBody(minio);
        const cfg = registryConfig(st, "secret") as { storage: { s3: Record<string, unknown> }; http: { secret: string } };
        assert.equal(cfg.storage.s3.regionendpoint, "http://10.200.0.1:9000");
        assert.equal(cfg.storage.s3.forcepathstyle, true);
        assert.equal(cfg.http.secret, "secret");
    });

    it("names the bad key, value and fix", () => {
        assert.throws(() => validateStorageBody({}), /body.storage is missing/);
        assert.throws(() => validateStorageBody({ storage: { gcs: {} } }), /storage.gcs is not supported/);
        assert.throws(() => validateStorageBody({ storage: { s3: { bucket: "b" } } }), /storage.s3.region is required/);
        assert.throws(
            () => validateStorageBody({ storage: { s3: { region: "r", bucket: "b", chunksize: 1024 } } }),
            /chunksize 1024 must be a number >= 5242880/,
        );
        assert.throws(
            () => validateStorageBody({ storage: { s3: { region: "r", bucket: "b", bukket: "x" } } }),
            /storage.s3.bukket is not a key/,
        );
        assert.throws(
            () => validateStorageBody({ storage: { s3: { region: "r", bucket: "b", secure: "false" } } }),
            /storage.s3.secure must be true or false/,
        );
        assert.throws(() => validateStorageBody({ storage: { filesystem: {}, s3: { region: "r", bucket: "b" } } }), /exactly one driver/);
    });

    it("hides the secret key on GET and keeps it when the placeholder is sent back", () => {
        const st = validateStorageBody(minio);
        const shown = redactStorage(st) as { s3: { secretkey: string } };
        assert.equal(shown.s3.secretkey, SECRET_PLACEHOLDER);
        const again = validateStorageBody({ storage: shown }, st) as { s3: { secretkey: string } };
        assert.equal(again.s3.secretkey, "SK");
    });

    it("always mounts filesystem storage at /storage", () => {
        const cfg = registryConfig(validateStorageBody({ storage: { filesystem: { rootdirectory: "/elsewhere" } } }), "s") as {
            storage: { filesystem: { rootdirectory: string } };
        };
        assert.equal(cfg.storage.filesystem.rootdirectory, "/storage");
    });
});

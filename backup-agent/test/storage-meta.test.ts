// The backup's storage identity in the manifest's meta: all five or none, values a shell reader can take as they are.
import assert from "node:assert/strict";
import { STORAGE_META, buildManifest, manifestProblems, storageMetaProblems } from "../src/manifest";

const IDENTITY = {
    storageDriver: "s3",
    storageBucket: "dtr-layers",
    storageRegion: "us-east-1",
    storageRootDirectory: "",
    storageRegionEndpoint: "http://10.200.0.1:9000",
};

function manifest(meta: Record<string, string>) {
    return {
        ...buildManifest({
            kind: "dtr",
            cluster: "c1",
            sourceStack: null,
            createdAt: new Date("2026-01-31T12:00:00.000Z"),
            object: { bucket: "b", key: "k", versionId: null, bytes: 10, sha256: "a".repeat(64) },
            recipients: [],
            tarBytes: 2048,
            tarSha256: "b".repeat(64),
            entries: 1,
            files: ["x"],
            meta: { dtrVersion: "2.9.16" },
        }),
        meta,
    };
}

describe("manifest: the backup's storage identity (meta storage*)", () => {
    it("takes a manifest with none of the five (older backups) and one with all five", () => {
        assert.deepEqual(manifestProblems(manifest({ dtrVersion: "2.9.16" })), []);
        assert.deepEqual(manifestProblems(manifest({ dtrVersion: "2.9.16", ...IDENTITY })), []);
        assert.deepEqual(Object.values(STORAGE_META), Object.keys(IDENTITY));
    });

    it("refuses a partial identity, naming what is missing", () => {
        const part: Record<string, string> = { ...IDENTITY };
        delete part.storageRegion;
        delete part.storageRegionEndpoint;
        const p = manifestProblems(manifest({ dtrVersion: "2.9.16", ...part }));
        assert.equal(p.length, 1, p.join("\n"));
        assert.match(p[0], /storage only in part: storageRegion, storageRegionEndpoint missing/);
    });

    it("refuses an empty driver and values a shell reader could not take (quotes, spaces, backslashes)", () => {
        assert.match(storageMetaProblems({ ...IDENTITY, storageDriver: "" }).join(), /storageDriver must not be empty/);
        for (const bad of ['a"b', "a b", "a\\b", "a{b}"]) {
            const p = storageMetaProblems({ ...IDENTITY, storageRootDirectory: bad });
            assert.equal(p.length, 1, bad);
            assert.match(p[0], /meta\.storageRootDirectory=.* must match/);
        }
    });
});

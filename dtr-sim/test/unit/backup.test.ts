import assert from "node:assert/strict";
import { makeBackup, readBackup, BACKUP_FORMAT } from "../../src/backup";
import { pack, unpack } from "../../src/tar";
import { apply } from "../../src/state";
import { doc, stored } from "./fixtures";

describe("backup archive", () => {
    const d = apply(doc(), { op: "createRepo", namespace: "team", body: { name: "app", visibility: "public" } });
    const s = stored(apply(d, { op: "setTeamAccess", namespace: "team", name: "app", team: "devs", accessLevel: "read-write" }), 7);

    it("holds a manifest and the metadata files, no image layers", () => {
        const tar = makeBackup(s, "aaaaaaaaaaaa", new Date("2026-02-03T04:05:06Z"));
        const names = unpack(tar).map((e) => e.name);
        assert.deepEqual(names, [
            "dtr-backup/",
            "dtr-backup/manifest.json",
            "dtr-backup/metadata/",
            "dtr-backup/metadata/cluster.json",
            "dtr-backup/metadata/repositories.json",
            "dtr-backup/metadata/teamAccess.json",
            "dtr-backup/metadata/auth.json",
            "dtr-backup/metadata/certs.json",
        ]);
        const m = JSON.parse(unpack(tar)[1].data.toString());
        assert.equal(m.format, BACKUP_FORMAT);
        assert.equal(m.dtrVersion, "2.9.16");
        assert.equal(m.replicaId, "aaaaaaaaaaaa");
        assert.equal(m.created, "2026-02-03T04:05:06.000Z");
        assert.equal(m.rev, 7);
    });

    it("reads back the same document", () => {
        const { manifest, stored: back } = readBackup(makeBackup(s, "aaaaaaaaaaaa"));
        assert.equal(manifest.clusterId, s.doc.clusterId);
        assert.deepEqual(back.doc, s.doc);
        assert.equal(back.rev, 7);
    });

    it("never contains the admin password, only its scrypt hash", () => {
        assert.ok(!makeBackup(s, "aaaaaaaaaaaa").includes(Buffer.from("pw-for-tests")));
    });

    it("detects an empty, foreign or damaged archive", () => {
        assert.throws(() => readBackup(Buffer.alloc(0)), /backup on stdin is empty/);
        assert.throws(() => readBackup(Buffer.from("hello world".repeat(100))), /not a dtr-sim backup archive/);
        assert.throws(() => readBackup(pack([{ name: "other.txt", data: Buffer.from("x") }])), /lacks dtr-backup\/manifest.json/);
        const entries = unpack(makeBackup(s, "aaaaaaaaaaaa")).filter((e) => e.name !== "dtr-backup/metadata/teamAccess.json");
        assert.throws(() => readBackup(pack(entries)), /teamAccess.json is missing or has the wrong size/);
    });
});

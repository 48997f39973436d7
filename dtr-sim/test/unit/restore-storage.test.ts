// dtr-sim against DTR's documented restore and storage contract: the backed-up replica's id, a storage backend switch
// erasing tags, and the storage settings read back as stored.
import assert from "node:assert/strict";
import http from "node:http";
import { AddressInfo } from "node:net";
import { BackupManifest, checkRestoreReplicaId, makeBackup, readBackup } from "../../src/backup";
import { apply, tagKnown } from "../../src/state";
import {
    backendIdentity,
    defaultStorage,
    redactStorage,
    registryConfig,
    SECRET_PLACEHOLDER,
    validateStorageBody,
} from "../../src/settings";
import { ApiServer } from "../../src/api";
import { Engine } from "../../src/engine";
import { basicHeader } from "../../src/auth";
import { cluster, doc, ids, Node, stored } from "./fixtures";

const s3 = (o: Record<string, unknown> = {}) => ({
    region: "us-east-1",
    bucket: "dtr-layers",
    regionendpoint: "",
    rootdirectory: "",
    accesskey: "AK",
    secretkey: "SK",
    secure: false,
    ...o,
});
const body = (o: Record<string, unknown> = {}) => ({
    storage: { delete: { enabled: true }, maintenance: { readonly: { enabled: false } }, s3: s3(o) },
});

describe("restore takes the backed-up replica's id (ee/admin/restore/restore-dtr.md: `<replica-id>` the id of the replica you backed up)", () => {
    it("the backup records the replica it was taken from, and that id round-trips through the archive", () => {
        const { manifest } = readBackup(makeBackup(stored(), "5eb9459a7832"));
        assert.equal(manifest.replicaId, "5eb9459a7832");
        assert.doesNotThrow(() => checkRestoreReplicaId("5eb9459a7832", manifest));
    });

    it("refuses another --replica-id before anything changes, naming both ids and the fix", () => {
        const manifest = { replicaId: "5eb9459a7832" } as BackupManifest;
        assert.throws(
            () => checkRestoreReplicaId("0123456789ab", manifest),
            /--replica-id 0123456789ab is not the replica this backup was taken from \(5eb9459a7832\): restore with --replica-id 5eb9459a7832/,
        );
    });
});

describe("a storage backend switch erases the tags (ee/dtr/admin/configure/external-storage/storage-backend-migration.md)", () => {
    const withS3 = (d = doc(), o: Record<string, unknown> = {}) =>
        apply(d, { op: "setStorage", storage: validateStorageBody(body(o)), storageVolume: null, nfsUrl: null, now: "t1" });

    it("before any switch every tag the registry holds is DTR's; a switch initializes an empty tag store", () => {
        assert.equal(tagKnown(doc(), "admin/alpha", "1"), true);
        const d = withS3();
        assert.deepEqual(d.tagStore, { since: "t1", tags: [] });
        assert.equal(tagKnown(d, "admin/alpha", "1"), false, "the tag is gone from DTR, its blobs stay in the storage");
    });

    it("a tag pushed after the switch is recorded; the same backend sent again (new keys) erases nothing", () => {
        let d = apply(withS3(), { op: "recordTag", repository: "admin/alpha", tag: "2" });
        assert.equal(tagKnown(d, "admin/alpha", "2"), true);
        d = apply(d, { op: "setStorage", storage: validateStorageBody(body({ accesskey: "AK2", secretkey: "SK2" })), now: "t2" });
        assert.equal(tagKnown(d, "admin/alpha", "2"), true, "same driver, bucket, region, endpoint and root: no switch");
        for (const change of [
            { bucket: "other-layers" },
            { rootdirectory: "/dtr" },
            { region: "eu-west-1" },
            { regionendpoint: "http://10.0.0.9:9000" },
        ]) {
            const e = apply(d, { op: "setStorage", storage: validateStorageBody(body(change)), now: "t3" });
            assert.deepEqual(e.tagStore, { since: "t3", tags: [] }, JSON.stringify(change));
        }
    });

    it("reconfigure --storage-migrated (DTR 2.6.4+) keeps the tags; without it they are erased", () => {
        const d = apply(withS3(), { op: "recordTag", repository: "admin/alpha", tag: "1" });
        const kept = apply(d, { op: "setStorage", storage: defaultStorage(), storageVolume: "dtr-nfs", nfsUrl: null, migrated: true });
        assert.equal(tagKnown(kept, "admin/alpha", "1"), true);
        const erased = apply(d, { op: "setStorage", storage: defaultStorage(), storageVolume: "dtr-nfs", nfsUrl: null });
        assert.equal(tagKnown(erased, "admin/alpha", "1"), false);
    });

    it("the tag store travels in the backup, so a restore brings back exactly the tags DTR knew", () => {
        const d = apply(withS3(), { op: "recordTag", repository: "admin/alpha", tag: "1" });
        const { stored: back } = readBackup(makeBackup(stored(d), "aaaaaaaaaaaa"));
        assert.deepEqual(back.doc.tagStore, d.tagStore);
        assert.equal(backendIdentity(back.doc.storage), backendIdentity(d.storage), "the backed-up storage comes back");
    });
});

function get(port: number, path: string): Promise<{ status: number; json: any }> {
    return new Promise((resolve, reject) => {
        http.get({ host: "127.0.0.1", port, path, headers: { authorization: basicHeader("admin", "pw-for-tests") } }, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString()) }));
        }).on("error", reject);
    });
}

describe("GET of the storage settings answers what was stored, in the shape it was sent", function () {
    this.timeout(20000);
    let nodes: Map<string, Node>;
    let server: http.Server;
    let port: number;
    beforeEach(async () => {
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
        port = (server.address() as AddressInfo).port;
    });
    afterEach(() => {
        server.close();
        nodes.forEach((n) => n.server.close());
    });

    it("every key as stored (the empty endpoint too), the secret key as the placeholder", async () => {
        const sent = body();
        await nodes.get(ids[0])!.store.write({ op: "setStorage", storage: validateStorageBody(sent), storageVolume: null, nfsUrl: null });
        const r = await get(port, "/api/v0/admin/settings/registry/simple");
        assert.equal(r.status, 200);
        assert.deepEqual(r.json, { storage: { ...sent.storage, s3: { ...sent.storage.s3, secretkey: SECRET_PLACEHOLDER } } });
        // What the registry runs drops the empty endpoint (the driver's "unset"), not what the API stored.
        const cfg = registryConfig(nodes.get(ids[0])!.store.doc.storage, "x") as { storage: { s3: Record<string, unknown> } };
        assert.equal("regionendpoint" in cfg.storage.s3, false);
        assert.deepEqual(redactStorage(validateStorageBody(r.json, nodes.get(ids[0])!.store.doc.storage)), r.json.storage);
    });
});

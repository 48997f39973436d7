// The metadata categories besides repositories and grants (ee/admin/backup/back-up-dtr.md "DTR backup contents":
// configurations, Notary data, scan results, certificates and keys), as DTR 2.7's swagger shows them
// (reference/dtr/2.7/api/main.js): pure parts, then the routes on a replica over real HTTP, then the backup round trip.
import assert from "node:assert/strict";
import http from "node:http";
import { AddressInfo } from "node:net";
import { ApiServer } from "../../src/api";
import { Engine } from "../../src/engine";
import { basicHeader } from "../../src/auth";
import { apply } from "../../src/state";
import { makeBackup, readBackup } from "../../src/backup";
import { pack, unpack } from "../../src/tar";
import { applySettingsForm, defaultSettings, notaryView, scanSummaries, standInScan } from "../../src/metadata";
import { cluster, doc, ids, Node, stored } from "./fixtures";

const FIXED = { dtrHost: "dtr.example", webTLSCert: "CERT", webTLSCA: "CERT", webTLSKey: "KEY" };

describe("settings form (swagger forms.Settings, POST /api/v0/meta/settings)", () => {
    it("updates only the fields given, keeping the others", () => {
        const s = applySettingsForm(
            { scanningEnabled: true, jobHistoryToKeep: 50, repoEventHistoryMaxAge: "168h" },
            defaultSettings(),
            FIXED,
        );
        assert.equal(s.scanningEnabled, true);
        assert.equal(s.jobHistoryToKeep, 50);
        assert.equal(s.repoEventHistoryMaxAge, "168h");
        assert.equal(s.sso, false);
    });

    it("refuses unknown fields, wrong types, and what install owns or dtr-sim does not model, naming the field", () => {
        assert.throws(
            () => applySettingsForm({ scanningEnable: true }, defaultSettings(), FIXED),
            /settings\.scanningEnable is not a field of forms\.Settings/,
        );
        assert.throws(
            () => applySettingsForm({ scanningEnabled: "yes" }, defaultSettings(), FIXED),
            /settings\.scanningEnabled must be a boolean/,
        );
        assert.throws(() => applySettingsForm({ jobHistoryToKeep: -1 }, defaultSettings(), FIXED), /non-negative integer/);
        assert.throws(
            () => applySettingsForm({ dtrHost: "other.example" }, defaultSettings(), FIXED),
            /settings\.dtrHost cannot be changed.*reconfigure/,
        );
        assert.throws(() => applySettingsForm({ webTLSKey: "OTHER" }, defaultSettings(), FIXED), /settings\.webTLSKey cannot be changed/);
        assert.throws(
            () => applySettingsForm({ readOnlyRegistry: true }, defaultSettings(), FIXED),
            /readOnlyRegistry=true is refused: read-only mode is not modelled/,
        );
        assert.throws(() => applySettingsForm([], defaultSettings(), FIXED), /JSON object/);
        // Sending the current values back (as a client echoing GET does) is fine.
        assert.doesNotThrow(() =>
            applySettingsForm({ dtrHost: "dtr.example", webTLSCert: "CERT", readOnlyRegistry: false }, defaultSettings(), FIXED),
        );
    });
});

describe("Notary data and scan results (swagger responses.ListTag, responses.ScanSummary)", () => {
    const trust = [{ gun: "dtr.example/team/app", tag: "1", digest: "sha256:aa", signedAt: "2026-01-01T00:00:00Z" }];

    it("reports a signed tag inNotary only when the domain names its GUN, and hashMismatch when the tag moved", () => {
        // "domain: The domain used to push tags to DTR. Must be set to obtain/manipulate Notary related information"
        assert.deepEqual(notaryView(trust, null, "team", "app", "1", "sha256:aa"), { inNotary: false, hashMismatch: false });
        assert.deepEqual(notaryView(trust, "other.example", "team", "app", "1", "sha256:aa"), { inNotary: false, hashMismatch: false });
        assert.deepEqual(notaryView(trust, "dtr.example", "team", "app", "1", "sha256:aa"), { inNotary: true, hashMismatch: false });
        assert.deepEqual(notaryView(trust, "dtr.example", "team", "app", "1", "sha256:bb"), { inNotary: true, hashMismatch: true });
        assert.deepEqual(notaryView(trust, "dtr.example", "team", "app", "2", "sha256:aa"), { inNotary: false, hashMismatch: false });
    });

    it("gives stable stand-in counts per digest, and marks a scan of an older manifest as needing a rescan", () => {
        assert.deepEqual(standInScan("sha256:aa"), standInScan("sha256:aa"));
        const scans = [
            {
                namespace: "team",
                repository: "app",
                tag: "1",
                manifestDigest: "sha256:aa",
                os: "linux",
                arch: "amd64",
                ...standInScan("sha256:aa"),
                checkCompletedAt: "t",
            },
        ];
        const now = scanSummaries(scans, "team", "app", "1", "sha256:aa");
        assert.equal(now.length, 1);
        assert.equal(now[0].shouldRescan, false);
        assert.deepEqual(now[0].scannedImage.totalVulnCount, standInScan("sha256:aa"));
        assert.equal(scanSummaries(scans, "team", "app", "1", "sha256:bb")[0].shouldRescan, true);
        assert.deepEqual(scanSummaries(scans, "team", "app", "2", "sha256:aa"), []);
    });

    it("refuses to delete a repository with tags in Notary (swagger DeleteRepository: 405 REPOSITORY_CONTAINS_TAGS_IN_NOTARY)", () => {
        const d = apply(doc(), { op: "createRepo", namespace: "team", body: { name: "app" } });
        const signed = apply(d, { op: "signTag", trust: trust[0] });
        assert.throws(() => apply(signed, { op: "deleteRepo", namespace: "team", name: "app" }), /REPOSITORY_CONTAINS_TAGS_IN_NOTARY/);
        assert.doesNotThrow(() => apply(d, { op: "deleteRepo", namespace: "team", name: "app" }));
    });
});

function request(
    port: number,
    method: string,
    path: string,
    body?: unknown,
    auth = true,
): Promise<{ status: number; text: string; json: any }> {
    return new Promise((resolve, reject) => {
        const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
        const req = http.request(
            { host: "127.0.0.1", port, method, path, headers: auth ? { authorization: basicHeader("admin", "pw-for-tests") } : {} },
            (res) => {
                const chunks: Buffer[] = [];
                res.on("data", (c: Buffer) => chunks.push(c));
                res.on("end", () => {
                    const text = Buffer.concat(chunks).toString();
                    let json: unknown;
                    try {
                        json = text ? JSON.parse(text) : undefined;
                    } catch {
                        json = undefined;
                    }
                    resolve({ status: res.statusCode ?? 0, text, json });
                });
            },
        );
        req.on("error", reject);
        req.end(data);
    });
}

describe("metadata routes on a replica (real HTTP, three stores)", function () {
    this.timeout(20000);
    let nodes: Map<string, Node>;
    let server: http.Server;
    let port: number;
    let api: ApiServer;
    beforeEach(async () => {
        nodes = await cluster();
        api = new ApiServer(
            new Engine("/nonexistent.sock"),
            { replicaId: ids[0], node: "host1", httpPort: 80, httpsPort: 443 },
            nodes.get(ids[0])!.store,
            { image: "dtr-sim:test", version: "2.9.16", registryImage: "dtr-sim-registry:test" },
        );
        api.registry = { ok: true };
        // No registry here: every tag of team/app points at one manifest.
        api.tagDigest = async (ns, repo, tag) => (ns === "team" && repo === "app" && tag === "1" ? "sha256:aa" : undefined);
        server = http.createServer(api.handler(false));
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        port = (server.address() as AddressInfo).port;
    });
    afterEach(() => {
        server.close();
        nodes.forEach((n) => n.server.close());
    });

    it("GET settings shows responses.Settings without the TLS key; POST answers 202 and the change is replicated", async () => {
        const g = await request(port, "GET", "/api/v0/meta/settings");
        assert.equal(g.status, 200);
        assert.equal(g.json.dtrHost, "dtr.example");
        assert.equal(g.json.replicaID, ids[0]);
        assert.equal(g.json.webTLSCert, "CERT");
        assert.ok(!("webTLSKey" in g.json), "responses.Settings has no webTLSKey");
        assert.ok(!g.text.includes("KEY"));
        const p = await request(port, "POST", "/api/v0/meta/settings", { scanningEnabled: true, jobHistoryToKeep: 50 });
        assert.equal(p.status, 202);
        const after = (await request(port, "GET", "/api/v0/meta/settings")).json;
        assert.equal(after.scanningEnabled, true);
        assert.equal(after.jobHistoryToKeep, 50);
        assert.equal(nodes.get(ids[1])!.store.doc.settings?.scanningEnabled, true, "a majority write");
        const bad = await request(port, "POST", "/api/v0/meta/settings", { scanningEnabled: 1 });
        assert.equal(bad.status, 400);
        assert.equal(bad.json.errors[0].code, "INVALID_SETTINGS");
    });

    it("scanning: 400 SCANNING_NOT_ENABLED while off; then a scan is recorded and its summary served; unknown tags 404", async () => {
        const off = await request(port, "POST", "/api/v0/imagescan/scan/team/app/1/linux/amd64");
        assert.equal(off.status, 400);
        assert.equal(off.json.errors[0].code, "SCANNING_NOT_ENABLED");
        assert.equal(
            (await request(port, "GET", "/api/v0/imagescan/scansummary/repositories/team/app/1")).json.errors[0].code,
            "SCANNING_NOT_ENABLED",
        );
        await request(port, "POST", "/api/v0/repositories/team", { name: "app" });
        await request(port, "POST", "/api/v0/meta/settings", { scanningEnabled: true });
        assert.deepEqual((await request(port, "GET", "/api/v0/imagescan/scansummary/repositories/team/app/1")).json, []);
        assert.equal((await request(port, "POST", "/api/v0/imagescan/scan/team/app/1/linux/amd64")).status, 200);
        const sum = await request(port, "GET", "/api/v0/imagescan/scansummary/repositories/team/app/1");
        assert.equal(sum.status, 200);
        assert.equal(sum.json[0].scannedImage.manifestDigest, "sha256:aa");
        assert.deepEqual(sum.json[0].scannedImage.totalVulnCount, standInScan("sha256:aa"));
        const missing = await request(port, "POST", "/api/v0/imagescan/scan/team/app/9/linux/amd64");
        assert.equal(missing.status, 404);
        assert.equal(missing.json.errors[0].code, "NO_SUCH_TAG");
        assert.equal(
            (await request(port, "GET", "/api/v0/imagescan/scansummary/repositories/team/app/9")).json.errors[0].code,
            "NO_SUCH_REF",
        );
    });

    it("serves the CA at /ca without credentials, and records a stand-in signature only for this DTR's GUN", async () => {
        const ca = await request(port, "GET", "/ca", undefined, false);
        assert.equal(ca.status, 200);
        assert.equal(ca.text, "CERT");
        await request(port, "POST", "/api/v0/repositories/team", { name: "app" });
        assert.equal((await request(port, "PUT", "/dtr-sim/notary/team/app/1", { domain: "dtr.example" }, false)).status, 401);
        const wrong = await request(port, "PUT", "/dtr-sim/notary/team/app/1", { domain: "other.example" });
        assert.equal(wrong.status, 400);
        assert.match(wrong.json.errors[0].message, /must be this DTR's host dtr\.example/);
        const ok = await request(port, "PUT", "/dtr-sim/notary/team/app/1", { domain: "dtr.example" });
        assert.equal(ok.status, 200);
        assert.deepEqual(
            nodes.get(ids[0])!.store.doc.trust?.map((t) => [t.gun, t.tag, t.digest]),
            [["dtr.example/team/app", "1", "sha256:aa"]],
        );
    });
});

describe("backup of every category (ee/admin/backup/back-up-dtr.md)", () => {
    it("carries settings, scan results and Notary data in their own files and restores them", () => {
        let d = apply(doc(), { op: "createRepo", namespace: "team", body: { name: "app" } });
        d = apply(d, { op: "setSettings", settings: { ...defaultSettings(), scanningEnabled: true, jobHistoryToKeep: 5 } });
        d = apply(d, {
            op: "recordScan",
            scan: {
                namespace: "team",
                repository: "app",
                tag: "1",
                manifestDigest: "sha256:aa",
                os: "linux",
                arch: "amd64",
                ...standInScan("sha256:aa"),
                checkCompletedAt: "t",
            },
        });
        d = apply(d, { op: "signTag", trust: { gun: "dtr.example/team/app", tag: "1", digest: "sha256:aa", signedAt: "t" } });
        const tar = makeBackup(stored(d, 3), ids[0]);
        const names = unpack(tar).map((e) => e.name);
        for (const f of ["settings", "scans", "notary", "certs"]) assert.ok(names.includes(`dtr-backup/metadata/${f}.json`), f);
        const back = readBackup(tar).stored.doc;
        assert.deepEqual(back.settings, d.settings);
        assert.deepEqual(back.scans, d.scans);
        assert.deepEqual(back.trust, d.trust);
        assert.deepEqual(back.tls, d.tls);
        // A listed file that is missing is damage, not "no data".
        assert.throws(
            () => readBackup(pack(unpack(tar).filter((e) => e.name !== "dtr-backup/metadata/notary.json"))),
            /notary\.json is missing/,
        );
    });
});

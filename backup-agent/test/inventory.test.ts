import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CATEGORIES, CategoryKey, inventoryLines, inventoryMeta, settingLines, summarize } from "../src/inventory";

interface Registry {
    repos: { namespace: string; name: string; visibility: string }[];
    tags: Record<string, string[]>;
    teams: Record<string, [string, string][]>;
    settings: Record<string, unknown>;
    storage: Record<string, unknown> | null;
    /** ns/repo:tag of signed tags (their GUN is <dtrHost>/ns/repo). */
    signed: string[];
    /** ns/repo:tag -> [critical, major, minor] */
    scans: Record<string, [number, number, number]>;
    ca?: string;
}

const AUTH = `Basic ${Buffer.from("admin:pw").toString("base64")}`;

// A server with DTR 2.7's documented API shapes (reference/dtr/2.7/api/main.js), paging repositories two at a time as
// DTR does (X-Next-Page-Start); inNotary only when ?domain= names this DTR (swagger ListRepoTags).
function handler(reg: Registry) {
    return (req: http.IncomingMessage, res: http.ServerResponse) => {
        const url = new URL(req.url!, "http://x");
        const send = (body: unknown, headers: Record<string, string> = {}, status = 200) => {
            res.writeHead(status, { "content-type": "application/json", ...headers });
            res.end(JSON.stringify(body));
        };
        if (url.pathname === "/ca") {
            res.writeHead(reg.ca ? 200 : 404);
            return res.end(reg.ca ?? "");
        }
        if (req.headers.authorization !== AUTH) {
            res.writeHead(401);
            return res.end("no");
        }
        if (url.pathname === "/api/v0/meta/settings") return send(reg.settings);
        if (url.pathname === "/api/v0/admin/settings/registry/simple")
            return reg.storage ? send({ storage: reg.storage }) : send({}, {}, 404);
        if (url.pathname === "/api/v0/repositories") {
            const start = Number(url.searchParams.get("pageStart") ?? 0);
            const page = reg.repos.slice(start, start + 2);
            return send({ repositories: page }, start + 2 < reg.repos.length ? { "X-Next-Page-Start": String(start + 2) } : {});
        }
        const scan = /^\/api\/v0\/imagescan\/scansummary\/repositories\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
        if (scan) {
            if (reg.settings.scanningEnabled !== true) return send({ errors: [{ code: "SCANNING_NOT_ENABLED" }] }, {}, 400);
            const c = reg.scans[`${scan[1]}/${scan[2]}:${scan[3]}`];
            const digest = `sha256:${scan[3]}`;
            return send(
                c
                    ? [
                          {
                              shouldRescan: false,
                              scannedImage: { manifestDigest: digest, totalVulnCount: { critical: c[0], major: c[1], minor: c[2] } },
                          },
                      ]
                    : [],
            );
        }
        const m = /^\/api\/v0\/repositories\/([^/]+)\/([^/]+)\/(tags|teamAccess)$/.exec(url.pathname);
        if (m) {
            const full = `${m[1]}/${m[2]}`;
            const domain = url.searchParams.get("domain");
            if (m[3] === "tags")
                return send(
                    (reg.tags[full] ?? []).map((t) => ({
                        name: t,
                        digest: `sha256:${t}`,
                        inNotary: domain === reg.settings.dtrHost && reg.signed.includes(`${full}:${t}`),
                        hashMismatch: false,
                    })),
                );
            return send({ teamAccessList: (reg.teams[full] ?? []).map(([team, accessLevel]) => ({ team: { name: team }, accessLevel })) });
        }
        res.writeHead(404);
        res.end();
    };
}

function full(): Registry {
    return {
        repos: ["a", "b", "c"].map((n) => ({ namespace: "org", name: n, visibility: n === "a" ? "public" : "private" })),
        tags: { "org/a": ["1", "2"], "org/c": ["latest"] },
        teams: { "org/b": [["devs", "read-write"]] },
        settings: { dtrHost: "dtr.example", replicaID: "aaaaaaaaaaaa", scanningEnabled: true, jobHistoryToKeep: 50, webTLSCert: "PEM" },
        storage: { s3: { bucket: "layers", region: "us-east-1", accesskey: "AKIA-SECRET", secretkey: "********" } },
        signed: ["org/a:1"],
        scans: { "org/a:1": [1, 2, 3], "org/a:2": [0, 0, 1] },
    };
}

async function serve(reg: Registry): Promise<{ base: URL; close: () => void }> {
    const server = http.createServer(handler(reg));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    return { base: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`), close: () => server.close() };
}

const auth = { user: "admin", password: "pw" };

describe("inventory from DTR's API: the six categories of a DTR backup (ee/admin/backup/back-up-dtr.md)", () => {
    it("follows paging and lists settings, repositories, tags, team access, signatures and scans, sorted", async () => {
        const s = await serve(full());
        try {
            const lines = await inventoryLines(s.base, auth, false);
            assert.deepEqual(lines, [
                "repo org/a public",
                "repo org/b private",
                "repo org/c private",
                "scan org/a:1 sha256:1 critical=1 major=2 minor=3",
                "scan org/a:2 sha256:2 critical=0 major=0 minor=1",
                'setting dtrHost "dtr.example"',
                "setting jobHistoryToKeep 50",
                "setting scanningEnabled true",
                'setting storage.s3.bucket "layers"',
                'setting storage.s3.region "us-east-1"',
                "signed org/a:1 sha256:1 hash-match",
                "tag org/a:1 sha256:1",
                "tag org/a:2 sha256:2",
                "tag org/c:latest sha256:latest",
                "team org/b devs read-write",
                "tls none plain-http",
            ]);
            assert.ok(!lines.join("\n").includes("AKIA-SECRET"), "storage credentials never appear in a line");
            const sum = summarize(lines);
            assert.deepEqual([sum.repositories, sum.tags, sum.teamAccess], [3, 3, 1]);
            assert.deepEqual(Object.fromEntries(Object.entries(sum.categories).map(([k, v]) => [k, v.count])), {
                configuration: 5,
                repositories: 3,
                access: 1,
                signing: 1,
                scans: 2,
                tls: 0,
            });
            const meta = inventoryMeta(sum);
            assert.deepEqual(meta.slice(0, 3), ["inventoryRepositories=3", "inventoryTags=3", "inventoryTeamAccess=1"]);
            assert.ok(meta.includes("inventoryFormat=2"));
            for (const c of CATEGORIES)
                assert.ok(
                    meta.some((m) => new RegExp(`^${c.meta}=\\d+:[0-9a-f]{64}$`).test(m)),
                    c.meta,
                );
            assert.equal(sum.metaArgs, meta.map((m) => `--meta ${m}`).join(" "));
            assert.match(sum.metaArgs, /^[A-Za-z0-9 =:-]+$/, "only word characters: the backup script word-splits it");
        } finally {
            s.close();
        }
    });

    // A restored registry that lacks one category: that category's digest (and the whole one) changes, no other does.
    const lose: Record<CategoryKey, (r: Registry) => void> = {
        configuration: (r) => (r.settings.jobHistoryToKeep = 0),
        repositories: (r) => (r.tags["org/c"] = []),
        access: (r) => (r.teams = {}),
        signing: (r) => (r.signed = []),
        scans: (r) => (r.scans = { "org/a:1": [1, 2, 3] }),
        tls: () => undefined, // covered over https below
    };
    for (const c of CATEGORIES.filter((x) => x.key !== "tls")) {
        it(`notices a restore without the ${c.key} category, and only there`, async () => {
            const before = await serve(full());
            const broken = full();
            lose[c.key](broken);
            const after = await serve(broken);
            try {
                const a = summarize(await inventoryLines(before.base, auth, false));
                const b = summarize(await inventoryLines(after.base, auth, false));
                assert.notEqual(b.sha256, a.sha256);
                for (const x of CATEGORIES) {
                    if (x.key === c.key) assert.notEqual(b.categories[x.key].sha256, a.categories[x.key].sha256, x.key);
                    else assert.equal(b.categories[x.key].sha256, a.categories[x.key].sha256, x.key);
                }
            } finally {
                before.close();
                after.close();
            }
        });
    }

    it("reads Notary data only with the domain DTR reports, and no scans while scanning is off", async () => {
        const r = full();
        r.settings.scanningEnabled = false;
        const s = await serve(r);
        try {
            const lines = await inventoryLines(s.base, auth, false);
            assert.ok(!lines.some((l) => l.startsWith("scan ")));
            assert.ok(lines.includes("signed org/a:1 sha256:1 hash-match"));
        } finally {
            s.close();
        }
    });

    it("keeps the fingerprint of backups made before the six categories (repositories, tags, grants only)", () => {
        const old = ["repo org/a public", "tag org/a:1 sha256:1", "team org/a devs admin"];
        const withMore = [...old, 'setting dtrHost "x"', "tls none plain-http"].sort();
        assert.equal(summarize(withMore).sha256v1, summarize(old).sha256);
        assert.notEqual(summarize(withMore).sha256, summarize(old).sha256);
    });

    it("leaves storage credentials out of the setting lines", () => {
        assert.deepEqual(
            settingLines({ replicaID: "x", webTLSCert: "PEM", sso: false }, { s3: { secretkey: "s", accesskey: "a", bucket: "b" } }),
            ["setting sso false", 'setting storage.s3.bucket "b"'],
        );
        assert.deepEqual(settingLines({}, null), ["setting storage unreadable"]);
    });

    it("fails clearly on wrong credentials", async () => {
        const s = await serve(full());
        try {
            await assert.rejects(
                inventoryLines(s.base, { user: "admin", password: "bad" }, false),
                /GET \/api\/v0\/meta\/settings answered 401/,
            );
        } finally {
            s.close();
        }
    });
});

describe("inventory's TLS category over https", function () {
    this.timeout(30_000);
    let dir: string;
    const pem = (name: string) => readFileSync(join(dir, name), "utf8");
    before(() => {
        // A CA, a leaf it signs (the replica's certificate), and an unrelated CA.
        dir = mkdtempSync(join(tmpdir(), "inv-tls-"));
        const ossl = (...a: string[]) => execFileSync("openssl", a, { cwd: dir, stdio: "ignore" });
        for (const ca of ["ca", "other"])
            ossl(
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                `/CN=${ca}`,
                "-keyout",
                `${ca}.key`,
                "-out",
                `${ca}.pem`,
            );
        ossl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=dtr.example", "-keyout", "leaf.key", "-out", "leaf.csr");
        ossl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-out", "leaf.pem");
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    async function serveTls(reg: Registry, leaf: string, key: string) {
        const server = https.createServer({ cert: leaf, key }, handler(reg));
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
        return { base: new URL(`https://127.0.0.1:${(server.address() as AddressInfo).port}`), close: () => server.close() };
    }

    it("names the served certificate and the published CA, and says the chain verifies against that CA", async () => {
        const s = await serveTls({ ...full(), ca: pem("ca.pem") }, pem("leaf.pem"), pem("leaf.key"));
        try {
            const tlsLines = (await inventoryLines(s.base, auth, true)).filter((l) => l.startsWith("tls "));
            assert.equal(tlsLines.length, 3);
            assert.match(tlsLines.join("\n"), /^tls ca [0-9a-f]{64}$/m);
            assert.match(tlsLines.join("\n"), /^tls served-leaf [0-9a-f]{64}$/m);
            assert.ok(tlsLines.includes("tls chain-verifies-against-ca yes"));
            assert.equal(summarize(tlsLines).categories.tls.count, 2);
        } finally {
            s.close();
        }
    });

    it("goes red when the restored registry serves a certificate the old CA does not sign", async () => {
        const good = await serveTls({ ...full(), ca: pem("ca.pem") }, pem("leaf.pem"), pem("leaf.key"));
        // A rebuilt registry with a fresh self-signed certificate and CA: a client holding the old CA would refuse it.
        const bad = await serveTls({ ...full(), ca: pem("other.pem") }, pem("other.pem"), pem("other.key"));
        const wrongCa = await serveTls({ ...full(), ca: pem("other.pem") }, pem("leaf.pem"), pem("leaf.key"));
        try {
            const a = summarize(await inventoryLines(good.base, auth, true));
            const b = summarize(await inventoryLines(bad.base, auth, true));
            assert.notEqual(b.categories.tls.sha256, a.categories.tls.sha256);
            assert.equal(b.categories.configuration.sha256, a.categories.configuration.sha256);
            const w = await inventoryLines(wrongCa.base, auth, true);
            assert.ok(
                w.some((l) => /^tls chain-verifies-against-ca no /.test(l)),
                w.join("\n"),
            );
        } finally {
            good.close();
            bad.close();
            wrongCa.close();
        }
    });
});

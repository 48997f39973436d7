/**
 * The restore-side host scripts (restore-verify, restore, clear, restore-check) and the DTR backup pipeline, run for real
 * in dash against a scripted `docker` on PATH. Every refusal path is asserted by what ran and what did not.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as backup from "../../components/backup/scripts";
import { FakeHost, INVENTORY_SHA, SIX, agentInventory, catalogEntry, verdict } from "./restore-fakes";

const image = { repository: "reg/dtr", version: "2.9.16" };
const ucp = { url: "https://ucp.example.com", username: "admin", insecureTls: true };
const AGENT = "reg/dtr-ha-backup:0.1.0";
const BUCKET = "dtr-backups";
const KEY = "dtr/manifests/lab/20261125T120000Z-dtr.manifest.json";
const ID = "aaaaaaaaaaa1";
const IDENTITY = "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ";
const DESTRUCTIVE = ["restore", "destroy", "download", "network"];

const verifyStep = (manifestKey = KEY, expectedDtrVersion = "2.9.16") =>
    backup.restoreVerifyStep({ agentImage: AGENT, bucket: BUCKET, manifestKey, expectedDtrVersion, replicaId: ID });
const restoreStep = (manifestKey = KEY, version = "2.9.16") =>
    backup.dtrRestoreStep({
        restore: { image: { ...image, version }, ucp, replicaId: ID, ucpNode: "n1", externalUrl: "https://dtr.example.com" },
        agentImage: AGENT,
        bucket: BUCKET,
        manifestKey,
    });
const checkStep = (manifestKey = KEY) => backup.restoreCheckStep({ agentImage: AGENT, bucket: BUCKET, manifestKey });

/** A host whose bucket holds one healthy backup (unless told otherwise). */
function host(o: { entry?: string; verify?: string; verifyRc?: number; containers?: string[] } = {}): FakeHost {
    const h = new FakeHost({
        list: { out: `${o.entry ?? catalogEntry({ manifestKey: KEY })}\n` },
        verify: { out: `${o.verify ?? verdict(true, true)}\n`, rc: o.verifyRc ?? 0 },
        download: { out: "TAR-BYTES" },
        inventory: { out: `{"repositories":3,"tags":7,"teamAccess":1,"sha256":"${INVENTORY_SHA}"}\n` },
    });
    if (o.containers) h.containers(o.containers);
    return h;
}

const hosts: FakeHost[] = [];
function track(h: FakeHost): FakeHost {
    hosts.push(h);
    return h;
}
afterEach(() => hosts.splice(0).forEach((h) => h.cleanup()));

describe("restore-verify, run in dash against a scripted docker", function () {
    this.timeout(20_000);

    it("passes a whole backup of the configured version: list, then the agent's verify of that exact key", async () => {
        const h = track(host());
        const s = verifyStep();
        const r = await h.run(s.script, s.env);
        assert.strictEqual(r.code, 0, r.stderr);
        assert.match(r.stdout, /verified \(DTR 2\.9\.16, encrypted: no, content checked\)/);
        assert.deepStrictEqual(h.subs(), ["list", "verify"]);
        const v = h.calls()[1];
        assert.strictEqual(v.image, AGENT);
        assert.deepStrictEqual(v.argv.slice(v.argv.indexOf("verify")), ["verify", "--bucket", BUCKET, "--manifest-key", KEY]);
        assert.deepStrictEqual(h.calls()[0].argv.slice(-4), ["--bucket", BUCKET, "--prefix", "dtr"]);
    });

    it("refuses a backup of another DTR version before verifying anything", async () => {
        const h = track(host({ entry: catalogEntry({ manifestKey: KEY, dtrVersion: "2.9.15" }) }));
        const s = verifyStep();
        const r = await h.run(s.script, s.env);
        assert.strictEqual(r.code, 1);
        assert.match(
            r.stderr,
            /REFUSED: the backup is of DTR 2\.9\.15, the configured image is 2\.9\.16; DTR restores only into the same version/,
        );
        assert.deepStrictEqual(h.subs(), ["list"]);
    });

    it("refuses a backup whose manifest is not in the catalog", async () => {
        const h = track(host({ entry: catalogEntry({ manifestKey: "dtr/manifests/lab/other-dtr.manifest.json" }) }));
        const s = verifyStep();
        const r = await h.run(s.script, s.env);
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /REFUSED: no valid manifest .* in s3:\/\/dtr-backups; nothing was changed/);
        assert.deepStrictEqual(h.subs(), ["list"]);
    });

    it("refuses an encrypted backup when no identity is in the environment, naming dtr-ha:ageIdentity", async () => {
        // The agent would answer ok (stored bytes only, contentChecked false): the script must not even ask it.
        const h = track(host({ entry: catalogEntry({ manifestKey: KEY, encrypted: true }), verify: verdict(true, false) }));
        const s = verifyStep();
        const r = await h.run(s.script, s.env);
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /REFUSED: the backup .* is encrypted \(age\) and no identity was given.*dtr-ha:ageIdentity/);
        assert.deepStrictEqual(h.subs(), ["list"]);
        const empty = await h.run(s.script, { ...s.env, DTR_HA_AGE_IDENTITY: "" });
        assert.strictEqual(empty.code, 1, "an empty identity is no identity");
    });

    it("with the identity, has the agent decrypt and check the whole stream (identity by env name, never argv)", async () => {
        const h = track(host({ entry: catalogEntry({ manifestKey: KEY, encrypted: true }) }));
        const s = verifyStep();
        const r = await h.run(s.script, { ...s.env, DTR_HA_AGE_IDENTITY: IDENTITY });
        assert.strictEqual(r.code, 0, r.stderr);
        assert.match(r.stdout, /encrypted: yes, content checked/);
        const [list, v] = h.calls();
        assert.ok(!list.argv.includes("DTR_HA_AGE_IDENTITY"), "list gets no identity");
        assert.ok(v.identity, "verify's environment holds the identity");
        assert.deepStrictEqual(v.argv.slice(-2), ["--identity-env", "DTR_HA_AGE_IDENTITY"]);
        assert.ok(v.argv.includes("-e") && v.argv[v.argv.indexOf("DTR_HA_AGE_IDENTITY") - 1] === "-e", "passed to the container by name");
        assert.ok(!v.argv.some((a) => a.includes(IDENTITY)), "the identity is never an argument");
    });

    it("refuses when the agent's verify fails, or passes without checking the content inside", async () => {
        const bad = track(host({ verify: verdict(false, true), verifyRc: 1 }));
        const s = verifyStep();
        const r1 = await bad.run(s.script, s.env);
        assert.strictEqual(r1.code, 1);
        assert.match(r1.stderr, /REFUSED: the backup object does not match its manifest \(verify exit 1\)/);
        const unchecked = track(host({ entry: catalogEntry({ manifestKey: KEY, encrypted: true }), verify: verdict(true, false) }));
        const r2 = await unchecked.run(s.script, { ...s.env, DTR_HA_AGE_IDENTITY: IDENTITY });
        assert.strictEqual(r2.code, 1);
        assert.match(r2.stderr, /did not decrypt and check the tar inside \(contentChecked is not true\)/);
    });

    it("refuses a backup taken from another replica than the id it will restore, naming both and restore.replicaId", async () => {
        // DTR restores with "the id of the replica you backed up" (docker/docs ee/admin/restore/restore-dtr.md).
        const h = track(host({ entry: catalogEntry({ manifestKey: KEY, replicaId: "bbbbbbbbbbb2" }) }));
        const s = verifyStep();
        const r = await h.run(s.script, s.env);
        assert.strictEqual(r.code, 1);
        assert.match(
            r.stderr,
            /REFUSED: the backup .* was taken from replica bbbbbbbbbbb2 but this restore would use replica id aaaaaaaaaaa1; .*Set restore\.replicaId: bbbbbbbbbbb2.*nothing was changed/,
        );
        assert.deepStrictEqual(h.subs(), ["list"], "refused before the agent's verify, and before anything else");
    });

    it("refuses a manifest whose replica id is not a DTR replica id (12 hex), naming the value", async () => {
        for (const bad of ["AAAAAAAAAAA1", "aaaaaaaaaaa", "aaaaaaaaaaa1x", "$(id)aaaaaaa"]) {
            const h = track(host({ entry: catalogEntry({ manifestKey: KEY, replicaId: bad }) }));
            const s = verifyStep();
            const r = await h.run(s.script, { ...s.env, DTR_HA_REPLICA_ID: ID });
            assert.strictEqual(r.code, 1, bad);
            assert.ok(r.stderr.includes(`records replicaId="${bad}", which is not a DTR replica id (12 lower-case hex)`), r.stderr);
            assert.deepStrictEqual(h.subs(), ["list"]);
        }
        const none = track(host({ entry: catalogEntry({ manifestKey: KEY }).replace(/"replicaId":"aaaaaaaaaaa1",?/, "") }));
        const r = await none.run(verifyStep().script, verifyStep().env);
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /records replicaId="", which is not a DTR replica id/);
    });

    it("refuses when sshd did not pass its values (nothing runs)", async () => {
        const h = track(host());
        const s = verifyStep();
        const env: Record<string, string> = { ...s.env };
        delete env.DTR_HA_MANIFEST_KEY;
        const r = await h.run(s.script, env);
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /DTR_HA_MANIFEST_KEY is not in the environment \(does sshd AcceptEnv DTR_\*\?\)/);
        assert.deepStrictEqual(h.subs(), []);
    });
});

describe("the restore script, run in dash against a scripted docker", function () {
    this.timeout(20_000);

    it("verifies, then streams the download into dtr restore, with the replica id from the environment", async () => {
        const h = track(host());
        const s = restoreStep();
        const r = await h.run(s.script, s.env);
        assert.strictEqual(r.code, 0, r.stderr);
        assert.deepStrictEqual(h.subs(), ["list", "verify", "ps", "download", "restore"]);
        const restore = h.calls().find((c) => c.sub === "restore")!;
        assert.strictEqual(restore.image, "reg/dtr:2.9.16");
        assert.strictEqual(restore.argv[restore.argv.indexOf("--replica-id") + 1], ID);
        assert.strictEqual(restore.stdin, "TAR-BYTES", "the download is what dtr restore reads");
        assert.match(r.stdout, new RegExp(`replica ${ID} restored from ${KEY.replace(/\./g, "\\.")}`));
    });

    it("refuses by itself when its own verify fails: no destroy, no download, no restore", async () => {
        // Even with leftovers of this replica present: nothing destructive before the backup is proven.
        const h = track(host({ verify: verdict(false, true), verifyRc: 1, containers: [`dtr-rethinkdb-${ID}`] }));
        const s = restoreStep();
        const r = await h.run(s.script, s.env);
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /REFUSED: the backup object does not match its manifest/);
        assert.deepStrictEqual(h.subs(), ["list", "verify"]);
    });

    it("refuses a backup of another version, and an encrypted one without identity, before anything destructive", async () => {
        const other = track(host({ entry: catalogEntry({ manifestKey: KEY, dtrVersion: "2.9.15" }), containers: [`dtr-api-${ID}`] }));
        const s = restoreStep();
        const r1 = await other.run(s.script, s.env);
        assert.strictEqual(r1.code, 1);
        assert.ok(!other.subs().some((x) => DESTRUCTIVE.includes(x)), other.subs().join(","));
        const enc = track(host({ entry: catalogEntry({ manifestKey: KEY, encrypted: true }), verify: verdict(true, false) }));
        const r2 = await enc.run(s.script, s.env);
        assert.strictEqual(r2.code, 1);
        assert.match(r2.stderr, /dtr-ha:ageIdentity/);
        assert.ok(!enc.subs().some((x) => DESTRUCTIVE.includes(x)), enc.subs().join(","));
    });

    it("restores with the backed-up replica's id, and refuses (nothing destructive) when the manifest names another", async () => {
        const h = track(host({ entry: catalogEntry({ manifestKey: KEY, replicaId: ID }) }));
        const s = restoreStep();
        const ok = await h.run(s.script, s.env);
        assert.strictEqual(ok.code, 0, ok.stderr);
        const restore = h.calls().find((c) => c.sub === "restore")!;
        assert.strictEqual(restore.argv[restore.argv.indexOf("--replica-id") + 1], ID, "the manifest's id round-trips to --replica-id");
        const other = track(host({ entry: catalogEntry({ manifestKey: KEY, replicaId: "bbbbbbbbbbb2" }), containers: [`dtr-api-${ID}`] }));
        const r = await other.run(s.script, s.env);
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /taken from replica bbbbbbbbbbb2 but this restore would use replica id aaaaaaaaaaa1/);
        assert.ok(!other.subs().some((x) => DESTRUCTIVE.includes(x)), other.subs().join(","));
    });

    it("decrypts with the identity from the environment when the backup is encrypted", async () => {
        const h = track(host({ entry: catalogEntry({ manifestKey: KEY, encrypted: true }) }));
        const s = restoreStep();
        const r = await h.run(s.script, { ...s.env, DTR_HA_AGE_IDENTITY: IDENTITY });
        assert.strictEqual(r.code, 0, r.stderr);
        const dl = h.calls().find((c) => c.sub === "download")!;
        assert.deepStrictEqual(dl.argv.slice(-2), ["--identity-env", "DTR_HA_AGE_IDENTITY"]);
        assert.ok(dl.identity && dl.argv.includes("none"), "identity by env, tar kept out of logs");
    });

    it("destroys leftovers of its own replica only after its verify passed", async () => {
        const h = track(host({ containers: [`dtr-rethinkdb-${ID}`, "dtr-api-bbbbbbbbbbb2"] }));
        const s = restoreStep();
        const r = await h.run(s.script, s.env);
        assert.strictEqual(r.code, 0, r.stderr);
        assert.deepStrictEqual(h.subs(), ["list", "verify", "ps", "destroy", "download", "restore"]);
        const d = h.calls().find((c) => c.sub === "destroy")!;
        assert.strictEqual(d.argv[d.argv.indexOf("--replica-id") + 1], ID);
    });

    it("fails when the download or dtr restore fails", async () => {
        const h = track(host());
        h.answer("download", { rc: 1 });
        const s = restoreStep();
        const r = await h.run(s.script, s.env);
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /restore FAILED: download exit 1, restore exit 0/);
    });
});

describe("clearing the hosts before a restore, run in dash", function () {
    this.timeout(20_000);
    const clear = (destroyExisting: boolean) => backup.clearReplicasStep({ image, ucp }, destroyExisting);

    it("passes an empty host without destroying anything", async () => {
        const h = track(new FakeHost().containers(["ucp-proxy", "some-app"]));
        const r = await h.run(clear(false).script, clear(false).env);
        assert.strictEqual(r.code, 0, r.stderr);
        assert.match(r.stdout, /no DTR replica on/);
        assert.deepStrictEqual(h.subs(), ["ps"]);
    });

    it("refuses to clear existing replicas without destroyExisting: nothing destroyed", async () => {
        const h = track(new FakeHost().containers(["dtr-rethinkdb-0123456789ab", "dtr-api-0123456789ab"]));
        const s = clear(false);
        const r = await h.run(s.script, s.env);
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /REFUSED: DTR replicas 0123456789ab still exist .*set restore\.destroyExisting: true/);
        assert.deepStrictEqual(h.subs(), ["ps"]);
        const unset = await h.run(s.script, {});
        assert.strictEqual(unset.code, 1, "without the value from the environment: refused too");
        assert.deepStrictEqual(h.subs(), ["ps", "ps"]);
    });

    it("with destroyExisting destroys every replica found, and leaves dtr-ol (a swarm network) to the restore", async () => {
        const h = track(new FakeHost().containers(["dtr-rethinkdb-0123456789ab", "dtr-api-0123456789ab", "dtr-nginx-abcdefabcdef"]));
        const s = clear(true);
        const r = await h.run(s.script, s.env);
        assert.strictEqual(r.code, 0, r.stderr);
        // A DTR host is a UCP worker: `docker network rm dtr-ol` fails there, and DTR's restore (a fresh install without
        // --overlay-subnet) needs no removal; the cluster's network goes through a swarm manager (overlay-removal.ts).
        assert.deepStrictEqual(h.subs(), ["ps", "destroy", "destroy"]);
        assert.ok(!h.calls().some((c) => c.sub === "network"), "no network call on a DTR host");
        const ids = h
            .calls()
            .filter((c) => c.sub === "destroy")
            .map((c) => c.argv[c.argv.indexOf("--replica-id") + 1]);
        assert.deepStrictEqual(ids, ["0123456789ab", "abcdefabcdef"]);
        assert.match(r.stdout, /cleared \(dtr-ol, a swarm network, is left to the restore\)/);
    });
});

describe("the restore check, run in dash", function () {
    this.timeout(20_000);

    it("matches the restored inventory against the backup's fingerprint", async () => {
        const h = track(host());
        const s = checkStep();
        const ok = await h.run(s.script, s.env);
        assert.strictEqual(ok.code, 0, ok.stderr);
        assert.match(ok.stdout, /metadata matches the backup: 3 repositories, 7 tags, 1 team grants/);
        const inv = h.calls().find((c) => c.sub === "inventory")!;
        assert.deepStrictEqual(inv.argv.slice(-3), ["--dtr-url", "https://127.0.0.1:443", "--insecure"]);
        h.answer("inventory", { out: `{"repositories":2,"tags":7,"teamAccess":1,"sha256":"${"d".repeat(64)}"}\n` });
        const bad = await h.run(s.script, s.env);
        assert.strictEqual(bad.code, 1);
        assert.match(bad.stderr, /check FAILED: the restored metadata \(2 repositories.*differs from the backup/);
    });

    it("reports a backup without inventory as health-only, and a missing manifest as a failure", async () => {
        const none = track(host({ entry: catalogEntry({ manifestKey: KEY, inventorySha256: null }) }));
        const r1 = await none.run(checkStep().script, checkStep().env);
        assert.strictEqual(r1.code, 0);
        assert.match(r1.stdout, /recorded no inventory; only health was checked/);
        const gone = track(host({ entry: catalogEntry({ manifestKey: "dtr/manifests/lab/x-dtr.manifest.json" }) }));
        const r2 = await gone.run(checkStep().script, checkStep().env);
        assert.strictEqual(r2.code, 1);
        assert.match(r2.stderr, /manifest .* not found/);
    });
});

describe("the restore check over the six kinds of DTR metadata (ee/admin/backup/back-up-dtr.md), run in dash", function () {
    this.timeout(30_000);
    const LABELS: Record<(typeof SIX)[number], string> = {
        Configuration: "configuration settings",
        RepositoryDefs: "repository definitions",
        Access: "access control \\(team grants\\)",
        Signing: "image signing data \\(Notary\\)",
        Scans: "vulnerability scan results",
        Tls: "TLS certificates and CA",
    };
    const sixHost = (restored: string) =>
        track(
            new FakeHost({
                list: { out: `${catalogEntry({ manifestKey: KEY, six: {} })}\n` },
                inventory: { out: `${restored}\n` },
            }),
        );

    it("names every category with its count and digest before and after, and passes when all six match", async () => {
        const h = sixHost(agentInventory());
        const r = await h.run(checkStep().script, checkStep().env);
        assert.strictEqual(r.code, 0, r.stderr);
        for (const c of SIX)
            assert.match(
                r.stdout,
                new RegExp(`${LABELS[c]}: before \\d+ \\([^)]*sha256 [0-9a-f]{12}\\), after \\d+ \\(sha256 [0-9a-f]{12}\\): same`),
                c,
            );
        assert.match(
            r.stdout,
            /configuration settings: before 24 \(settings, sha256 111111111111\), after 24 \(sha256 111111111111\): same/,
        );
        assert.match(
            r.stdout,
            /matches the backup in all six categories: 3 repositories, 7 tags, 1 team grants, 24 settings, 2 signed tags, 7 scan results, 2 certificates/,
        );
    });

    for (const c of SIX) {
        it(`goes red when the restored registry lacks the ${c} category, naming it`, async () => {
            const h = sixHost(agentInventory({ six: { [c]: `0:${"e3b0c442".repeat(8)}` }, sha256: "d".repeat(64) }));
            const r = await h.run(checkStep().script, checkStep().env);
            assert.strictEqual(r.code, 1, r.stdout);
            assert.match(r.stderr, new RegExp(`check FAILED: the restored metadata differs from the backup in: ${LABELS[c]}$`, "m"));
            assert.match(r.stdout, new RegExp(`${LABELS[c]}: before \\d+ .*, after 0 \\(sha256 e3b0c442e3b0\\): DIFFERS`));
            for (const other of SIX.filter((x) => x !== c)) assert.match(r.stdout, new RegExp(`${LABELS[other]}: .*: same`), other);
        });
    }

    it("goes red when only the fingerprint over everything differs, and when the agent names no categories", async () => {
        const whole = sixHost(agentInventory({ sha256: "d".repeat(64) }));
        const r1 = await whole.run(checkStep().script, checkStep().env);
        assert.strictEqual(r1.code, 1);
        assert.match(r1.stderr, /differs from the backup in: the fingerprint over all of them/);
        const old = sixHost(agentInventory({ metaArgs: false }));
        const r2 = await old.run(checkStep().script, checkStep().env);
        assert.strictEqual(r2.code, 1);
        assert.match(r2.stderr, /differs from the backup in: configuration settings, repository definitions, access control/);
    });

    it("checks a backup made before the six categories on repositories, tags and grants (the agent's sha256v1)", async () => {
        const h = track(
            new FakeHost({
                list: { out: `${catalogEntry({ manifestKey: KEY })}\n` },
                inventory: { out: `${agentInventory({ sha256: "d".repeat(64), sha256v1: INVENTORY_SHA })}\n` },
            }),
        );
        const r = await h.run(checkStep().script, checkStep().env);
        assert.strictEqual(r.code, 0, r.stderr);
        assert.match(r.stdout, /matches the backup: 3 repositories, 7 tags, 1 team grants \(a backup without settings/);
        h.answer("inventory", { out: `${agentInventory({ sha256v1: "d".repeat(64) })}\n` });
        const bad = await h.run(checkStep().script, checkStep().env);
        assert.strictEqual(bad.code, 1);
        assert.match(bad.stderr, /check FAILED/);
    });
});

describe("no value is code: hostile manifest keys reach the agent as data", function () {
    this.timeout(30_000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dtr-ha-pwn-"));
    after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const marker = (n: string) => path.join(dir, n);
    const hostile = (n: string) => [
        `dtr/manifests/lab/x$(touch ${marker(n)}).manifest.json`,
        `dtr/manifests/lab/x\`touch ${marker(n)}-bq\`.manifest.json`,
        `dtr/manifests/lab/x'; touch ${marker(n)}-sq; '.manifest.json`,
        `dtr/manifests/lab/x$\{IFS}%s-*-$((1+1)).manifest.json`,
    ];

    const builders: Record<string, (key: string) => backup.HostScript> = {
        restoreVerify: (k) => verifyStep(k),
        restore: (k) => restoreStep(k),
        restoreCheck: (k) => checkStep(k),
    };
    for (const [name, build] of Object.entries(builders)) {
        for (const mode of ["environment", "inline"] as const) {
            it(`${name} (${mode}) runs nothing from the key and passes it verbatim`, async () => {
                for (const [i, key] of hostile(`${name}-${mode}`).entries()) {
                    const h = track(host({ entry: catalogEntry({ manifestKey: key }) }));
                    const step = build(key);
                    const r = mode === "environment" ? await h.run(step.script, step.env) : await h.run(backup.inlineEnv(step), {});
                    assert.strictEqual(r.code, 0, `key ${i}: ${r.stderr}`);
                    for (const f of fs.readdirSync(dir)) assert.fail(`the key was executed: ${f} exists`);
                    const keyed = h.calls().filter((c) => c.argv.includes("--manifest-key"));
                    for (const c of keyed)
                        assert.strictEqual(c.argv[c.argv.indexOf("--manifest-key") + 1], key, `${c.sub} got the key verbatim`);
                    if (name !== "restoreCheck") assert.ok(keyed.length >= 1, "the agent was asked about the key");
                    if (mode === "environment") assert.ok(!step.script.includes(key), "the key is not in the script text");
                }
            });
        }
    }

    it("the script text is constant: the same for every key, bucket, version and replica", () => {
        const other = "dtr/manifests/prod/20991231T000000Z-dtr.manifest.json";
        assert.strictEqual(verifyStep(KEY).script, verifyStep(other, "2.9.17").script);
        assert.strictEqual(
            backup.restoreVerifyStep({
                agentImage: "x/y:1",
                bucket: "another-bucket",
                manifestKey: other,
                expectedDtrVersion: "3.0.0",
                replicaId: "bbbbbbbbbbb2",
            }).script,
            verifyStep().script,
        );
        assert.strictEqual(checkStep(KEY).script, checkStep(other).script);
        assert.strictEqual(restoreStep(KEY).script, restoreStep(other).script);
        const a = backup.dtrRestoreStep({
            restore: { image, ucp, replicaId: "bbbbbbbbbbb2", ucpNode: "n1", externalUrl: "https://dtr.example.com" },
            agentImage: "x/y:2",
            bucket: "b-other",
            manifestKey: other,
        });
        assert.strictEqual(a.script, restoreStep().script, "replica id, bucket, agent image and key are data");
        assert.strictEqual(backup.clearReplicasStep({ image, ucp }, true).script, backup.clearReplicasStep({ image, ucp }, false).script);
    });
});

describe("the DTR backup pipeline, run in dash: a manifest means a whole backup", function () {
    this.timeout(20_000);
    const target = { agentImage: AGENT, bucket: BUCKET, prefix: "dtr", recipients: [], lock: { mode: "GOVERNANCE" as const, days: 1 } };
    const script = () =>
        backup.dtrBackupScript({
            image,
            ucp,
            candidates: [
                { id: ID, address: "10.0.0.1" },
                { id: "aaaaaaaaaaa2", address: "10.0.0.2" },
            ],
            cluster: "lab",
            target,
        });
    const manifestOut = JSON.parse(catalogEntry({ manifestKey: KEY })).manifest;
    const backupHost = () =>
        track(
            new FakeHost({
                inventory: { out: `{"repositories":3,"tags":7,"teamAccess":1,"sha256":"${INVENTORY_SHA}"}\n` },
                keys: { out: `{"objectKey":"dtr/objects/lab/x.tar.gz","manifestKey":"${KEY}"}\n` },
                backup: { out: "TAR-BYTES" },
                upload: { out: `${JSON.stringify(manifestOut)}\n` },
                "put-manifest": { out: `${KEY}\n` },
            }),
        );

    it("backs up, uploads, stores the manifest and prints the catalog line", async () => {
        const h = backupHost();
        const r = await h.run(script(), { UCP_PASSWORD: "pw", UCP_USERNAME: "admin" });
        assert.strictEqual(r.code, 0, r.stderr);
        assert.deepStrictEqual(h.subs(), ["inventory", "keys", "backup", "upload", "put-manifest"]);
        assert.strictEqual(h.calls().find((c) => c.sub === "upload")!.stdin, "TAR-BYTES");
        const line = JSON.parse(r.stdout.trim().split("\n").pop()!);
        assert.strictEqual(line.manifestKey, KEY);
        assert.match(r.stderr, /stored s3:\/\/dtr-backups\/dtr\/objects\/lab\/x\.tar\.gz, manifest /);
    });

    it("records the fingerprints of the six categories the agent names, and the three of an older agent", async () => {
        const argsOf = (h: FakeHost) => {
            const a = h.calls().find((c) => c.sub === "upload")!.argv;
            return a.flatMap((x, i) => (x === "--meta" ? [a[i + 1]] : []));
        };
        const six = backupHost();
        six.answer("inventory", { out: `${agentInventory()}\n` });
        const r = await six.run(script(), { UCP_PASSWORD: "pw", UCP_USERNAME: "admin" });
        assert.strictEqual(r.code, 0, r.stderr);
        const meta = argsOf(six);
        assert.ok(meta.includes("inventoryFormat=2"), meta.join(" "));
        for (const c of SIX)
            assert.ok(
                meta.some((m) => new RegExp(`^inventory${c}=\\d+:[0-9a-f]{64}$`).test(m)),
                c,
            );
        assert.ok(meta.includes(`inventorySha256=${INVENTORY_SHA}`));
        const old = backupHost();
        const r2 = await old.run(script(), { UCP_PASSWORD: "pw", UCP_USERNAME: "admin" });
        assert.strictEqual(r2.code, 0, r2.stderr);
        assert.deepStrictEqual(
            argsOf(old).filter((m) => m.startsWith("inventory")),
            ["inventoryRepositories=3", "inventoryTags=7", "inventoryTeamAccess=1", `inventorySha256=${INVENTORY_SHA}`],
        );
    });

    it("writes no manifest when dtr backup fails, even though the upload took a complete-looking stream", async () => {
        const h = backupHost();
        h.answer("backup", { out: "TAR-BYTES", rc: 1 });
        const r = await h.run(script(), { UCP_PASSWORD: "pw", UCP_USERNAME: "admin" });
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /backup FAILED: dtr backup exit 1, upload exit 0; no manifest written/);
        assert.ok(!h.subs().includes("put-manifest"), h.subs().join(","));
        assert.doesNotMatch(r.stdout, backup.MANIFEST_LINE);
    });

    const SHA = "ab".repeat(32);
    // Data that would run if it were ever shell source: the configuration is piped, never pasted.
    const CONFIG = JSON.stringify({ format: "dtr-ha-stack-config/1", config: { "dtr-ha:x": "$(touch pwned) `touch pwned2` ' \" ;" } });

    it("stores the stack configuration (piped from DTR_HA_STACK_CONFIG) before the backup and pins it in the manifest", async () => {
        const h = backupHost();
        h.answer("put-stack-config", { out: `{"key":"x.stack-config.json","sha256":"${SHA}","versionId":"v-1.a_b"}\n` });
        const r = await h.run(script(), { UCP_PASSWORD: "pw", UCP_USERNAME: "admin", [backup.STACK_CONFIG_ENV]: CONFIG });
        assert.strictEqual(r.code, 0, r.stderr);
        assert.deepStrictEqual(h.subs(), ["inventory", "keys", "put-stack-config", "backup", "upload", "put-manifest"]);
        const put = h.calls().find((c) => c.sub === "put-stack-config")!;
        assert.strictEqual(put.stdin, CONFIG, "the document goes in on stdin, byte for byte");
        assert.deepStrictEqual(put.argv.slice(-4), ["--bucket", BUCKET, "--manifest-key", KEY], "beside this backup's manifest");
        const upload = h
            .calls()
            .find((c) => c.sub === "upload")!
            .argv.join(" ");
        assert.ok(upload.includes(`--meta stackConfigSha256=${SHA} --meta stackConfigVersionId=v-1.a_b`), upload);
        assert.ok(!fs.existsSync(path.join(h.dir, "pwned")) && !fs.existsSync(path.join(h.dir, "pwned2")), "no value ran as code");
    });

    it("takes no backup when the stack configuration cannot be stored (or is not pinned)", async () => {
        const cases: [{ rc?: number; out?: string }, string][] = [
            [{ rc: 1 }, "the stack configuration could not be stored; no backup taken"],
            [{ out: '{"key":"x","sha256":"nope"}\n' }, "the stored stack configuration has no SHA-256; no backup taken"],
        ];
        for (const [answer, why] of cases) {
            const h = backupHost();
            h.answer("put-stack-config", answer);
            const r = await h.run(script(), { UCP_PASSWORD: "pw", UCP_USERNAME: "admin", [backup.STACK_CONFIG_ENV]: CONFIG });
            assert.strictEqual(r.code, 1);
            // Exactly one reason: the step stops where it failed.
            assert.deepStrictEqual(
                r.stderr.split("\n").filter((l) => l.includes("backup FAILED")),
                [`dtr-ha backup FAILED: ${why}`],
            );
            assert.deepStrictEqual(h.subs(), ["inventory", "keys", "put-stack-config"], "no backup, no upload, no manifest");
        }
    });

    it("writes no manifest when the upload fails", async () => {
        const h = backupHost();
        h.answer("upload", { rc: 1 });
        const r = await h.run(script(), { UCP_PASSWORD: "pw", UCP_USERNAME: "admin" });
        assert.strictEqual(r.code, 1);
        assert.ok(!h.subs().includes("put-manifest"));
        assert.doesNotMatch(r.stdout, backup.MANIFEST_LINE);
    });
});

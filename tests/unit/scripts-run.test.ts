/**
 * The generated host scripts, run for real by dash (the strictest common /bin/sh) against real HTTPS servers on
 * loopback addresses: the health gate, the storage-settings call and the upgrade step. Only `docker` is absent here;
 * scripts that call it are run on real engines by the lab tests.
 */
import * as assert from "assert";
import * as https from "https";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { execFileSync, spawn } from "child_process";
import { AddressInfo } from "net";
import { healthGateScript, parseHealthLine } from "../../components/cluster/health-gate";
import { applyStorageSettingsScript, restoredStorageSettingsScript } from "../../components/storage/settings";
import { PREVIOUS_VERSION, upgradeScript, withPreviousVersion } from "../../components/cluster/dtr-cluster";
import * as backup from "../../components/backup/scripts";
import { overlayCheckScript } from "../../components/network/overlay-check";
import { selfSigned } from "./self-signed";

const IDS = ["aaaaaaaaaaa1", "aaaaaaaaaaa2", "aaaaaaaaaaa3"];
const USER = "admin";
const PASS = "pa$$ 'w\"ord";

interface FakeReplica {
    healthy: boolean;
    /** Unhealthy until its first /_ping has been answered (503), healthy from then on. */
    recoversAfterPing?: boolean;
    statusOk: Set<string>;
    puts: string[];
    sawAuth: string[];
    /** The storage settings as stored (what a GET returns, wrapped in `storage`), unless `getBody` says otherwise. */
    stored?: unknown;
    /** The storage GET's answer: [status, body]. */
    getBody?: [number, string];
}

/**
 * A virtual clock for scripts that wait for a deadline: `date +%s` reads it, `sleep N` advances it by N (after a real
 * 20 ms, so the servers here still answer between attempts). The script runs as it would; only the waiting is skipped.
 */
function virtualClock(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dtr-ha-clock-"));
    fs.writeFileSync(path.join(dir, "now"), String(Math.floor(Date.now() / 1000)));
    fs.writeFileSync(path.join(dir, "date"), `#!/bin/sh\nif [ "$*" = +%s ]; then cat "${dir}/now"; else exec /bin/date "$@"; fi\n`, {
        mode: 0o755,
    });
    fs.writeFileSync(path.join(dir, "sleep"), `#!/bin/sh\n/bin/sleep 0.02\necho $(( $(cat "${dir}/now") + \${1%%.*} )) > "${dir}/now"\n`, {
        mode: 0o755,
    });
    return dir;
}

function runSh(
    script: string,
    env: Record<string, string>,
    o: { clock?: boolean } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
        const p = spawn("dash", ["-c", script], {
            env: { PATH: o.clock ? `${virtualClock()}:${process.env.PATH!}` : process.env.PATH!, ...env },
        });
        let stdout = "";
        let stderr = "";
        p.stdout.on("data", (d) => (stdout += d));
        p.stderr.on("data", (d) => (stderr += d));
        p.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
}

/**
 * cluster_status as DTR returns it: replica_health (id -> "OK" or an error text), plus rethink_system_tables whose
 * server_status/connected_to and current_issues name every replica (ee/dtr/admin/monitor-and-troubleshoot/
 * troubleshoot-dtr.md "Example API Response") and top-level current_issues as {critical, description} objects
 * (ee/dtr/admin/monitor-and-troubleshoot/index.md). Only replica_health may decide a replica's health.
 */
function dtrClusterStatus(health: Record<string, string>) {
    const server = (id: string) => `dtr_rethinkdb_${id}`;
    const down = Object.keys(health).filter((id) => health[id] !== "OK");
    const issues = down.map((id) => ({
        critical: false,
        description: `... some replicas are not ready. The following servers are not reachable: ${server(id)}`,
    }));
    return {
        rethink_system_tables: {
            cluster_config: [{ heartbeat_timeout_secs: 10, id: "heartbeat" }],
            current_issues: issues.map((i, n) => ({
                id: `issue-${n}`,
                type: "server_disconnected",
                critical: true,
                info: {},
                description: i.description,
            })),
            db_config: [{ id: "339de11f", name: "dtr2" }],
            server_status: Object.keys(health)
                .filter((id) => health[id] === "OK")
                .map((id) => ({
                    id,
                    name: server(id),
                    network: { connected_to: Object.fromEntries(Object.keys(health).map((o) => [server(o), health[o] === "OK"])) },
                })),
        },
        current_issues: issues,
        replica_health: health,
        replica_timestamp: Object.fromEntries(Object.keys(health).map((id) => [id, "2026-06-01T12:00:00Z"])),
        replica_readonly: Object.fromEntries(Object.keys(health).map((id) => [id, false])),
        gc_lock_holder: "",
    };
}
let dtrShape = false;

describe("generated host scripts, run for real", function () {
    this.timeout(60_000);
    const tls = selfSigned();
    const replicas: FakeReplica[] = IDS.map(() => ({
        healthy: true,
        statusOk: new Set(IDS),
        puts: [],
        sawAuth: [],
    }));
    const servers: https.Server[] = [];
    let port = 0;

    before(async () => {
        // Three "replicas" on 127.0.0.1-3, same port, as three hosts would be.
        for (let i = 0; i < 3; i++) {
            const r = replicas[i];
            const server = https.createServer(tls, (req, res): void => {
                if (req.url === "/_ping") {
                    res.writeHead(r.healthy ? 200 : 503, {
                        "content-type": "application/json",
                    });
                    res.end(JSON.stringify(r.healthy ? { Healthy: true } : { Healthy: false, Error: "registry: down" }));
                    if (r.recoversAfterPing) r.healthy = true;
                    return;
                }
                const auth = req.headers.authorization ?? "";
                r.sawAuth.push(auth);
                if (auth !== `Basic ${Buffer.from(`${USER}:${PASS}`).toString("base64")}`) {
                    res.writeHead(401);
                    res.end("unauthorized");
                    return;
                }
                if (req.url === "/api/v0/meta/cluster_status") {
                    const health = Object.fromEntries(IDS.map((id) => [id, r.statusOk.has(id) ? "OK" : "DOWN"]));
                    res.writeHead(200, { "content-type": "application/json" });
                    res.end(JSON.stringify(dtrShape ? dtrClusterStatus(health) : { replica_health: health, current_issues: [] }, null, 1));
                    return;
                }
                if (req.url === "/api/v0/admin/settings/registry/simple" && req.method === "PUT") {
                    let body = "";
                    req.on("data", (d) => (body += d));
                    req.on("end", () => {
                        r.puts.push(body);
                        const ok = JSON.parse(body).storage?.s3?.bucket;
                        if (ok) r.stored = JSON.parse(body).storage;
                        res.writeHead(ok ? 202 : 400);
                        res.end(ok ? "" : '{"errors":[{"message":"bucket missing"}]}');
                    });
                    return;
                }
                if (req.url === "/api/v0/admin/settings/registry/simple" && req.method === "GET") {
                    const [code, body] = r.getBody ?? [
                        200,
                        JSON.stringify({ storage: r.stored ?? { filesystem: { rootdirectory: "/storage" } } }),
                    ];
                    res.writeHead(code, { "content-type": "application/json" });
                    res.end(body);
                    return;
                }
                res.writeHead(404);
                res.end();
            });
            await new Promise<void>((resolve) => server.listen(port, `127.0.0.${i + 1}`, () => resolve()));
            port = (server.address() as AddressInfo).port;
            servers.push(server);
        }
    });
    after(() => servers.forEach((s) => s.close()));
    afterEach(() =>
        replicas.forEach((r) => {
            r.healthy = true;
            r.recoversAfterPing = undefined;
            r.statusOk = new Set(IDS);
            r.puts = [];
            r.stored = undefined;
            r.getBody = undefined;
        }),
    );

    const gate = (timeoutSeconds = 10, intervalSeconds = 1) =>
        healthGateScript({
            replicas: IDS.map((id, i) => ({ id, address: `127.0.0.${i + 1}` })),
            externalUrl: `https://dtr.test:${port}`,
            httpsPort: port,
            timeoutSeconds,
            intervalSeconds,
        });
    const env = { UCP_USERNAME: USER, UCP_PASSWORD: PASS };

    it("the health gate passes when every replica pings healthy and cluster status lists all OK", async () => {
        const r = await runSh(gate(), env);
        assert.strictEqual(r.code, 0, r.stderr);
        assert.deepStrictEqual(parseHealthLine(r.stdout), {
            healthy: true,
            replicas: 3,
            attempts: 1,
            seconds: parseHealthLine(r.stdout).seconds,
        });
    });

    it("the health gate waits for a replica that recovers", async () => {
        // It recovers once the gate has seen it down (no timer: the gate's sleeps are on the virtual clock).
        replicas[1].healthy = false;
        replicas[1].recoversAfterPing = true;
        const r = await runSh(gate(20, 1), env, { clock: true });
        assert.strictEqual(r.code, 0, r.stderr);
        assert.match(r.stderr, /attempt 1 waiting for: aaaaaaaaaaa2@127\.0\.0\.2\(\/_ping:503\)/);
        assert.ok(parseHealthLine(r.stdout).attempts >= 2);
    });

    it("the health gate fails within its limit, naming what is wrong", async () => {
        replicas[0].statusOk.delete(IDS[2]);
        const started = Date.now();
        const r = await runSh(gate(10, 2), env, { clock: true });
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /NOT healthy after \d+ attempt\(s\).*aaaaaaaaaaa3\(cluster_status:not-OK\)/);
        assert.ok(Date.now() - started < 20_000, "bounded by its timeout");
    });

    const check = (timeoutSeconds = 4) =>
        healthGateScript({
            replicas: IDS.map((id, i) => ({ id, address: `127.0.0.${i + 1}` })),
            externalUrl: `https://dtr.test:${port}`,
            httpsPort: port,
            timeoutSeconds: 10,
            intervalSeconds: 1,
            mode: "check",
            checkSeconds: timeoutSeconds,
        });
    const owned = { ...env, DTR_HA_OWNER: "organization/dtr-ha/lab" };

    it("a later up's check: one replica down keeps quorum, so it reports DEGRADED (class 1, the replica, the command) and passes", async () => {
        replicas[1].healthy = false;
        const r = await runSh(check(), owned, { clock: true });
        assert.strictEqual(r.code, 0, r.stderr);
        assert.match(
            r.stdout,
            /^dtr-ha health: DEGRADED: 2 of 3 replicas OK; down: aaaaaaaaaaa2@127\.0\.0\.2\(\/_ping:503\); class 1: quorum kept \(2 of 3 replicas answer\).*npm run recover -- --stack lab /m,
        );
        assert.strictEqual(parseHealthLine(r.stdout).healthy, false, "a degraded line is not a healthy line");
    });

    it("a later up's check: quorum lost fails naming class 2, and no replica at all names class 3", async () => {
        replicas[1].healthy = false;
        replicas[2].healthy = false;
        const two = await runSh(check(), owned, { clock: true });
        assert.strictEqual(two.code, 1);
        assert.match(
            two.stderr,
            /NOT healthy .*class 2: quorum LOST \(1 of 3 answer, 2 needed\): emergency-repair .*npm run recover -- --stack lab/,
        );
        replicas[0].healthy = false;
        const none = await runSh(check(), owned, { clock: true });
        assert.strictEqual(none.code, 1);
        assert.match(none.stderr, /class 3: no replica answers: rebuild from the newest verified backup/);
    });

    it("the first deployment's gate never calls a degraded cluster done", async () => {
        replicas[1].healthy = false;
        const r = await runSh(gate(10, 5), owned, { clock: true });
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /NOT healthy .*class 1: quorum kept/);
    });

    it("the health gate reads DTR's full cluster_status (rethink_system_tables, {critical, description} issues) by replica_health only", async () => {
        dtrShape = true;
        try {
            const ok = await runSh(gate(), env);
            assert.strictEqual(ok.code, 0, ok.stderr);
            for (const r of replicas) r.statusOk.delete(IDS[2]);
            const bad = await runSh(gate(10, 5), env, { clock: true });
            assert.strictEqual(bad.code, 1);
            assert.match(bad.stderr, /NOT healthy .*aaaaaaaaaaa3\(cluster_status:not-OK\)/);
            assert.doesNotMatch(bad.stderr, /aaaaaaaaaaa[12]\(cluster_status/);
        } finally {
            dtrShape = false;
        }
    });

    it("the health gate fails on bad credentials instead of passing", async () => {
        const r = await runSh(gate(10, 5), { ...env, UCP_PASSWORD: "wrong" }, { clock: true });
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /cluster_status:HTTP-401/);
    });

    it("the storage call sends the settings from the environment with admin auth, and reports refusals", async () => {
        const script = applyStorageSettingsScript({
            externalUrl: `https://dtr.test:${port}`,
            httpsPort: port,
        });
        const settings = JSON.stringify({
            storage: { s3: { bucket: "dtr-layers", secretkey: "K$y`x'\"" } },
        });
        const ok = await runSh(script, { ...env, DTR_STORAGE_SETTINGS: settings });
        assert.strictEqual(ok.code, 0, ok.stderr);
        assert.match(ok.stdout, /storage settings applied \(HTTP 202\)/);
        assert.deepStrictEqual(JSON.parse(replicas[0].puts[0]), JSON.parse(settings), "body arrives byte-exact, no shell expansion");
        const bad = await runSh(script, { ...env, DTR_STORAGE_SETTINGS: "{}" });
        assert.strictEqual(bad.code, 1);
        assert.match(bad.stderr, /DTR refused the storage settings: HTTP 400: \{"errors"/);
        const missing = await runSh(script, env);
        assert.strictEqual(missing.code, 2);
        assert.match(missing.stderr, /DTR_STORAGE_SETTINGS must be set/);
    });

    const s3Doc = (s3: Record<string, unknown>) =>
        JSON.stringify({ storage: { delete: { enabled: true }, maintenance: { readonly: { enabled: false } }, s3 } });
    const LAYERS = {
        rootdirectory: "",
        region: "us-east-1",
        regionendpoint: "http://10.200.0.1:9000",
        bucket: "dtr-layers",
        secure: false,
    };

    it("the storage call reads the settings back: a 2xx whose settings read back differently (or not at all) fails", async () => {
        const script = applyStorageSettingsScript({ externalUrl: `https://dtr.test:${port}`, httpsPort: port });
        const settings = s3Doc({ ...LAYERS, accesskey: "AK", secretkey: "SK-9" });
        const ok = await runSh(script, { ...env, DTR_STORAGE_SETTINGS: settings });
        assert.strictEqual(ok.code, 0, ok.stderr);
        assert.match(ok.stdout, /applied \(HTTP 202\) and read back: s3 bucket="dtr-layers" region="us-east-1" rootdirectory=""/);
        assert.ok(!(ok.stdout + ok.stderr).includes("SK-9"), "the secret key is never shown");
        // DTR's handler test (dhe-deploy) shows the bare shape: a read-back in that shape is read all the same.
        replicas[0].getBody = [200, JSON.stringify({ s3: { ...LAYERS, secretkey: "********" } })];
        const bare = await runSh(script, { ...env, DTR_STORAGE_SETTINGS: settings });
        assert.strictEqual(bare.code, 0, bare.stderr);
        // Accepted but ignored (still the filesystem default), another bucket, another root: each named.
        for (const [stored, named] of [
            [{ filesystem: { rootdirectory: "/storage" } }, "driver bucket region rootdirectory"],
            [{ s3: { ...LAYERS, bucket: "other-layers" } }, "bucket"],
            [{ s3: { ...LAYERS, region: "eu-west-1", rootdirectory: "/dtr" } }, "region rootdirectory"],
        ] as const) {
            replicas[0].getBody = [200, JSON.stringify({ storage: stored })];
            const r = await runSh(script, { ...env, DTR_STORAGE_SETTINGS: settings });
            assert.strictEqual(r.code, 1, JSON.stringify(stored));
            assert.ok(
                r.stderr.includes(`DTR answered HTTP 202 to the storage settings, but they read back differently (${named})`),
                r.stderr,
            );
            assert.match(r.stderr, /sent s3 bucket="dtr-layers"/);
        }
        replicas[0].getBody = [500, "boom"];
        const down = await runSh(script, { ...env, DTR_STORAGE_SETTINGS: settings });
        assert.strictEqual(down.code, 1);
        assert.match(down.stderr, /reading them back failed \(HTTP 500: boom\); not taken as applied/);
        replicas[0].getBody = [200, "not json"];
        const junk = await runSh(script, { ...env, DTR_STORAGE_SETTINGS: settings });
        assert.strictEqual(junk.code, 1);
    });

    it("after a restore the storage step compares the restored settings and never sends them: equal passes, different refuses", async () => {
        const script = restoredStorageSettingsScript({ externalUrl: `https://dtr.test:${port}`, httpsPort: port });
        const settings = s3Doc({ ...LAYERS, accesskey: "AK", secretkey: "SK-9" });
        replicas[0].stored = { s3: { ...LAYERS, accesskey: "AK", secretkey: "********" } };
        const same = await runSh(script, { ...env, DTR_STORAGE_SETTINGS: settings });
        assert.strictEqual(same.code, 0, same.stderr);
        assert.match(same.stdout, /restored from the backup match the configuration \(s3 bucket="dtr-layers" .*\): not sent again/);
        for (const [restored, named] of [
            [{ ...LAYERS, bucket: "old-layers" }, "bucket"],
            [{ ...LAYERS, regionendpoint: "http://10.200.0.2:9000" }, "regionendpoint"],
            [{ ...LAYERS, rootdirectory: "/prod" }, "rootdirectory"],
        ] as const) {
            replicas[0].stored = { s3: restored };
            const r = await runSh(script, { ...env, DTR_STORAGE_SETTINGS: settings });
            assert.strictEqual(r.code, 1, JSON.stringify(restored));
            assert.ok(r.stderr.includes(`REFUSED: the restored storage settings differ from the configured ones (${named})`), r.stderr);
            assert.match(r.stderr, /the backup was taken with s3 bucket=.* the configuration says s3 bucket="dtr-layers"/);
            assert.match(r.stderr, /erases every tag \(storage-backend-migration\.md\).*Set storage\.s3 .*Nothing was sent/);
        }
        replicas[0].stored = { filesystem: { rootdirectory: "/storage" } };
        const fs1 = await runSh(script, { ...env, DTR_STORAGE_SETTINGS: settings });
        assert.strictEqual(fs1.code, 1);
        assert.match(fs1.stderr, /differ from the configured ones \(driver bucket region rootdirectory regionendpoint\)/);
        replicas[0].getBody = [401, "unauthorized"];
        const unread = await runSh(script, { ...env, DTR_STORAGE_SETTINGS: settings });
        assert.strictEqual(unread.code, 1);
        assert.match(unread.stderr, /could not read the restored storage settings \(HTTP 401: unauthorized\); nothing was sent/);
        assert.deepStrictEqual(replicas[0].puts, [], "a restore never PUTs storage settings");
    });

    it("the upgrade step upgrades only when the recorded version differs", async () => {
        const script = upgradeScript("2.9.17", "echo UPGRADE-RAN");
        const same = await runSh(script, {
            PULUMI_COMMAND_STDOUT: "dtr-version: 2.9.17",
        });
        assert.strictEqual(same.stdout.trim(), "dtr-version: 2.9.17");
        const older = await runSh(script, {
            PULUMI_COMMAND_STDOUT: "dtr-version: 2.9.16",
        });
        assert.match(older.stderr, /upgrading DTR from 2\.9\.16 to 2\.9\.17/);
        assert.match(older.stderr, /UPGRADE-RAN/);
        assert.strictEqual(older.stdout.trim(), "dtr-version: 2.9.17");
    });

    it("the overlay check is valid sh and reports a missing network clearly", async () => {
        // A `docker` that knows no network named dtr-ol, as on a host where install never ran.
        const bin = fs.mkdtempSync(path.join(os.tmpdir(), "dtr-ha-bin-"));
        fs.writeFileSync(path.join(bin, "docker"), "#!/bin/sh\necho 'Error: No such network: dtr-ol' >&2\nexit 1\n", { mode: 0o755 });
        const r = await runSh(overlayCheckScript("10.200.64.0/24"), {
            PATH: `${bin}:${process.env.PATH}`,
        });
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /dtr-ol is missing on .*: DTR install\/join did not create or attach it/);
        fs.rmSync(bin, { recursive: true });
    });
});

describe("every generated host script parses in bash and dash", () => {
    const image = { repository: "reg/dtr", version: "2.9.16" };
    const ucp = { url: "https://ucp.example.com", username: "admin", insecureTls: true };
    const target = {
        agentImage: "reg/dtr-ha-backup:0.1.0",
        bucket: "dtr-backups",
        prefix: "dtr",
        recipients: [],
        lock: { mode: "GOVERNANCE" as const, days: 1 },
    };
    const candidates = IDS.map((id, i) => ({ id, address: `10.0.0.${i + 1}` }));
    const key = "dtr/manifests/lab/20261125T000000Z-dtr.manifest.json";
    const scripts: Record<string, string> = {
        healthGate: healthGateScript({ replicas: candidates, externalUrl: "https://dtr.example.com" }),
        storage: applyStorageSettingsScript({ externalUrl: "https://dtr.example.com" }),
        restoredStorage: restoredStorageSettingsScript({ externalUrl: "https://dtr.example.com" }),
        overlay: overlayCheckScript("10.200.64.0/24"),
        backup: backup.dtrBackupScript({ image, ucp, candidates, cluster: "lab", target }),
        upgradeWithBackup: upgradeScript(
            "2.9.17",
            "echo up",
            withPreviousVersion(
                backup.dtrBackupScript({ image: { ...image, version: PREVIOUS_VERSION }, ucp, candidates, cluster: "lab", target }),
            ),
        ),
        restoreVerify: backup.restoreVerifyScript({
            agentImage: target.agentImage,
            bucket: "dtr-backups",
            manifestKey: key,
            expectedDtrVersion: "2.9.16",
            replicaId: IDS[0],
        }),
        restore: backup.dtrRestoreScript({
            restore: { image, ucp, replicaId: IDS[0], ucpNode: "n1", externalUrl: "https://dtr.example.com" },
            agentImage: target.agentImage,
            bucket: "dtr-backups",
            manifestKey: key,
        }),
        clear: backup.clearReplicasScript({ image, ucp }, true),
        clearRefuse: backup.clearReplicasScript({ image, ucp }, false),
        restoreCheck: backup.restoreCheckScript({ agentImage: target.agentImage, bucket: "dtr-backups", manifestKey: key }),
    };
    for (const [name, script] of Object.entries(scripts)) {
        it(`${name}`, () => {
            for (const shell of ["bash", "dash"]) {
                try {
                    execFileSync(shell, ["-n", "-c", script], { stdio: "pipe" });
                } catch (e) {
                    assert.fail(`${name} does not parse in ${shell}: ${(e as { stderr: Buffer }).stderr}`);
                }
            }
        });
    }
    it("the upgrade's pre-backup runs with the previous version, never the marker", () => {
        const s = scripts.upgradeWithBackup;
        assert.ok(!s.includes(PREVIOUS_VERSION), "marker left in the script");
        assert.match(s, /reg\/dtr:"\$prev" backup/);
        assert.match(s, /--meta dtrVersion="\$prev"/);
    });
    // What the restore-side scripts refuse, and that they run nothing from a manifest key, is asserted by running them
    // against a scripted docker: tests/unit/restore-scripts.test.ts.
});

/**
 * Scheduled backups: calendar/cron validation (cross-checked with systemd's own parser), the install/run/uninstall
 * scripts run for real by dash in a temporary root (fake systemctl, real HTTPS /_ping servers on loopback), and the
 * component's resource graph under Pulumi mocks.
 */
import * as assert from "assert";
import { execFileSync, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { Declared, captureDeclarations, settle, valueOf } from "./mocks";
import {
    BackupSchedule,
    EXIT_ALREADY_RUNNING,
    ScheduleScriptArgs,
    agentListCommand,
    lockFile,
    cronFile,
    cronToOnCalendar,
    fileNames,
    installScript,
    onCalendarToCron,
    resolvePaths,
    resolveSchedule,
    runnerScript,
    serviceUnit,
    timerUnit,
    uninstallScript,
    validateCron,
    validateOnCalendar,
} from "../../components/backup/schedule";
import { dtrBackupScript } from "../../components/backup/scripts";
import { selfSigned } from "./self-signed";

const CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";
const PASS = "pa$$ 'w\"ord`x`";
const AWS_SECRET = "s3cr3t/'key$HOME";

/** systemd's own parser: exit 0 for a valid calendar expression (asked once per expression; the answer is kept). */
const systemdSays = new Map<string, boolean>();
function systemdAccepts(expr: string): boolean {
    let ok = systemdSays.get(expr);
    if (ok === undefined) {
        const r = spawnSync("systemd-analyze", ["calendar", expr], { stdio: "ignore" });
        if (r.error) throw r.error;
        systemdSays.set(expr, (ok = r.status === 0));
    }
    return ok;
}

describe("backup schedule: calendar and cron validation", () => {
    const good = [
        "daily",
        "hourly",
        "weekly",
        "*-*-* 02:30:00",
        "*-*-* 02:30",
        "Mon..Fri *-*-* 01:00",
        "Sat,Sun 03:15",
        "*-*-01 04:00:00",
        "*:0/15",
        "02:30",
        "*-*-* 00/6:00:00",
        "2026-12-24 23:00 UTC",
    ];
    for (const g of good) {
        it(`accepts ${JSON.stringify(g)}, as systemd does`, () => {
            assert.ok(validateOnCalendar(g));
            assert.ok(systemdAccepts(g), `systemd-analyze accepts ${g}`);
        });
    }
    const bad = ["", "every night", "*-*-* 25:00", "*-13-* 01:00", "daily; rm -rf /", "Funday 01:00", "01:00 *-*-*", "*-*-* 1:2:3:4"];
    for (const b of bad) {
        it(`refuses ${JSON.stringify(b)} naming the key, the value and the fix`, () => {
            assert.throws(
                () => validateOnCalendar(b, "backup.schedule.onCalendar"),
                (e: Error) =>
                    e.message.includes("backup.schedule.onCalendar=") &&
                    e.message.includes(JSON.stringify(b)) &&
                    /e\.g\. "\*-\*-\* 02:30:00"/.test(e.message),
            );
            if (b && !b.includes(";")) assert.ok(!systemdAccepts(b), `systemd-analyze refuses ${b} too`);
        });
    }

    // Our accept/refuse decision against systemd's own parser, for the forms people write (shorthands with a time zone,
    // ~ days from the month's end, weekday names in any case, time zones, repetitions) and their near misses.
    const compared = [
        ...["daily", "Daily", "daily UTC", "hourly UTC", "weekly Europe/Berlin", "daily Zulu", "minutely", "quarterly"],
        ...["*-*~01", "*-*~01 02:00", "*~01", "*-02~03", "2026-02~03", "Mon *-*-* 02:00:00", "*-*-* 02:00:00 Europe/Berlin"],
        ...["Mon..Fri 02:00 Europe/Berlin", "*-*-* 02:00:00 utc", "*-*-* 02:00:00 Etc/UTC", "*-*-* 02:00 EST", "02:00 Etc/GMT+5"],
        ...["*-*-* 02:00:00 America/Argentina/Buenos_Aires", "monday 02:00", "Thursday 02:00", "mon-fri 02:00", "Mon,Wed..Fri 02:00"],
        ...["*-*-* 2,14:00", "*-*-* 02:00:00.5", "*-*-* 00:00:00/30", "*-1..6-* 00:00", "*-*-1/7 00:00", "2026..2027-01-01", "Mon"],
        ...["Mon..Fri", "Mon..Sun 02:00", "26-12-24 00:00", "*-*-* 2:3", "Sat,Sun 03:15"],
        ...["@daily", "now", "today", "daily; rm", "daily Mars/Olympus", "daily europe/berlin", "Monxyz 02:00", "Mo 02:00"],
        ...["Thurs 02:00", "tues 02:00", "Fri..Mon 00:00", "*-*~01/7", "daily daily", "Mon daily", "*-*-* 02", "*-*-* 24:00"],
        ...["*-*-* 02:00:60", "00:00 Mon", "*-*-32 00:00", "*-*-* 02:00:00 UTC UTC", "UTC", "*-*-5..1 00:00", "*-*-* 00:00/0"],
        ...["*-*-* 0x10:00", "*-*-* 02:00 +0100", "*-*-* 02:00 $(id)"],
    ];
    it(`decides like \`systemd-analyze calendar\` on ${compared.length} expressions`, function () {
        this.timeout(30_000);
        const differ = compared.filter((e) => {
            let ours = true;
            try {
                validateOnCalendar(e);
            } catch {
                ours = false;
            }
            return ours !== systemdAccepts(e);
        });
        assert.deepStrictEqual(differ, [], "ours and systemd's decisions differ on these");
        assert.ok(compared.filter(systemdAccepts).length >= 30 && compared.filter((e) => !systemdAccepts(e)).length >= 20);
    });
    it("refuses on purpose two forms systemd takes: a one-time @epoch, and a repetition on a ~ day", () => {
        for (const e of ["@1700000000", "*-*~07/1 00:00"]) {
            assert.ok(systemdAccepts(e), e);
            assert.throws(() => validateOnCalendar(e), /backup\.schedule\.onCalendar=/);
        }
        assert.throws(() => validateOnCalendar("@1700000000"), /an @epoch timestamp fires once; a schedule repeats/);
    });

    it("never drops a time zone: a calendar with one has no cron form, and cron-only hosts are refused", () => {
        for (const e of ["daily UTC", "*-*-* 02:00:00 Europe/Berlin", "Mon..Fri 02:00 Etc/UTC"]) {
            assert.strictEqual(onCalendarToCron(e), undefined, e);
            assert.deepStrictEqual(resolveSchedule({ onCalendar: e }), { onCalendar: validateOnCalendar(e), cron: undefined });
        }
        assert.strictEqual(onCalendarToCron("*-*~01 02:00"), undefined, "cron cannot count days from the month's end");
        assert.strictEqual(onCalendarToCron("Daily"), "0 0 * * *");
        assert.strictEqual(onCalendarToCron("monday 02:00"), "0 2 * * 1");
        assert.strictEqual(onCalendarToCron("Mon..Sun 02:00"), "0 2 * * 1-7");
        assert.strictEqual(onCalendarToCron("Sat,Sun 03:15"), "15 3 * * 6,0");
        assert.strictEqual(validateOnCalendar("  Daily   UTC "), "daily UTC");
    });

    it("validates cron and refuses bad fields with the fix", () => {
        assert.strictEqual(validateCron(" 30  2 * * * "), "30 2 * * *");
        assert.strictEqual(validateCron("*/15 0-6 1,15 jan-jun mon-fri"), "*/15 0-6 1,15 jan-jun mon-fri");
        for (const b of ["30 2 * *", "60 2 * * *", "30 24 * * *", "* * 0 * *", "5-1 * * * *", "*/0 * * * *", "x * * * *"]) {
            assert.throws(
                () => validateCron(b, "backup.schedule.cron"),
                (e: Error) => e.message.startsWith(`backup.schedule.cron=${JSON.stringify(b)}`) && e.message.includes('"30 2 * * *"'),
            );
        }
    });

    it("converts between the forms, and systemd accepts every converted expression", () => {
        const pairs: [string, string][] = [
            ["30 2 * * *", "*-*-* 2:30:00"],
            ["*/15 * * * *", "*-*-* *:0/15:00"],
            ["0 1 * * 1-5", "Mon..Fri *-*-* 1:0:00"],
            ["0 3 1 * *", "*-*-1 3:0:00"],
        ];
        for (const [cron, cal] of pairs) {
            assert.strictEqual(cronToOnCalendar(cron), cal);
            assert.ok(systemdAccepts(cal), cal);
            assert.strictEqual(onCalendarToCron(validateOnCalendar(cal)), cron.replace("*/15", "*/15"));
        }
        assert.strictEqual(onCalendarToCron("daily"), "0 0 * * *");
        assert.strictEqual(onCalendarToCron("*-*-* 02:30:00"), "30 2 * * *");
        assert.strictEqual(cronToOnCalendar("0 0 1 * 1"), undefined, "cron ORs day-of-month and day-of-week; systemd cannot");
        assert.strictEqual(onCalendarToCron("*-*-* 02:30:10"), undefined, "cron has no seconds");
    });

    it("takes exactly one of onCalendar and cron", () => {
        assert.deepStrictEqual(resolveSchedule({ onCalendar: "daily" }), { onCalendar: "daily", cron: "0 0 * * *" });
        assert.deepStrictEqual(resolveSchedule({ cron: "30 2 * * *" }), { cron: "30 2 * * *", onCalendar: "*-*-* 2:30:00" });
        for (const s of [{}, { onCalendar: "daily", cron: "0 0 * * *" }, undefined]) {
            assert.throws(() => resolveSchedule(s as never), /backup\.schedule=.*set exactly one of onCalendar .* or cron/);
        }
    });

    it("paths: {host} per host, absolute only", () => {
        assert.strictEqual(
            resolvePaths("host2", { envDir: "/var/tmp/lab/hosts/{host}/etc/dtr-ha" }).envDir,
            "/var/tmp/lab/hosts/host2/etc/dtr-ha",
        );
        assert.throws(
            () => resolvePaths("h", { cronDir: "etc/cron.d" }),
            /backup\.schedulePaths\.cronDir="etc\/cron\.d" must be an absolute path/,
        );
        assert.throws(() => resolvePaths("h", { installDir: "/a/../etc" }), /installDir/);
    });
});

describe("backup schedule: scripts run for real (dash, temporary root)", function () {
    this.timeout(60_000);
    const healthy = [true, true, true];
    const servers: https.Server[] = [];
    let port = 0;
    let root: string;
    let bin: string;
    const HOSTS = ["host1", "host2", "host3"].map((name, i) => ({ name, address: `127.0.0.${i + 1}`, replicaId: `aaaaaaaaaaa${i + 1}` }));

    before(async () => {
        const tls = selfSigned("t");
        for (let i = 0; i < 3; i++) {
            const s = https.createServer(tls, (req, res) => {
                res.writeHead(healthy[i] ? 200 : 503);
                res.end(healthy[i] ? '{"Healthy":true}' : '{"Healthy":false}');
            });
            await new Promise<void>((r) => s.listen(port, `127.0.0.${i + 1}`, () => r()));
            port = (s.address() as { port: number }).port;
            servers.push(s);
        }
        root = fs.mkdtempSync(path.join(os.tmpdir(), "dtr-ha-sched-"));
        // Wrappers that record every external command's argv, so a secret reaching one would show.
        bin = path.join(root, "bin");
        fs.mkdirSync(bin);
        for (const c of ["sed", "mv", "chmod", "cat", "mkdir", "rm", "hostname", "curl", "grep", "tail", "date", "mktemp", "logger"]) {
            const real = execFileSync("sh", ["-c", `command -v ${c}`])
                .toString()
                .trim();
            fs.writeFileSync(path.join(bin, c), `#!/bin/sh\nprintf '%s\\n' "$0 $*" >> ${root}/argv.log\nexec ${real} "$@"\n`, {
                mode: 0o755,
            });
        }
        fs.writeFileSync(path.join(bin, "systemctl"), `#!/bin/sh\nprintf '%s\\n' "systemctl $*" >> ${root}/systemctl.log\n`, {
            mode: 0o755,
        });
    });
    after(() => {
        servers.forEach((s) => s.close());
        fs.rmSync(root, { recursive: true, force: true });
    });

    function args(self: string, over: Partial<ScheduleScriptArgs> = {}): ScheduleScriptArgs {
        return {
            unitName: "lab",
            self,
            hosts: HOSTS,
            httpsPort: port,
            paths: resolvePaths(self, {
                installDir: `${root}/hosts/{host}/sbin`,
                unitDir: `${root}/hosts/{host}/systemd`,
                cronDir: `${root}/hosts/{host}/cron.d`,
                envDir: `${root}/hosts/{host}/etc/dtr-ha`,
                logFile: `${root}/hosts/{host}/log/dtr-ha-backup.log`,
            }),
            schedule: resolveSchedule({ onCalendar: "*-*-* 02:30:00" }),
            scheduler: "cron",
            // The runner's pipeline stand-in: the real pipeline needs docker and is run by the lab test.
            // A backup also shows in the bucket's listing, stamped now, as the agent's `list` would print it.
            pipeline:
                'if [ "$AWS_SECRET_ACCESS_KEY" = "$WANT" ]; then echo "dtr-ha backup: fine" >&2; ' +
                `printf '{"manifestKey":"dtr/manifests/lab/%s-dtr.manifest.json","manifest":{}}\\n' "$(date -u +%Y%m%dT%H%M%S)456Z-0f0f0f0f" > ${root}/list.jsonl; ` +
                'echo \'{"manifestKey":"dtr/manifests/lab/k1.manifest.json","manifest":{}}\'; else echo "dtr-ha backup FAILED: upload exit 1; no manifest written" >&2; exit 1; fi',
            // The listing stand-in: the real one is `agentListCommand` (docker run of the agent).
            confirm: { listCommand: `cat ${root}/list.jsonl`, timeoutSeconds: 2, intervalSeconds: 1 },
            ...over,
        };
    }
    const env = {
        UCP_USERNAME: "admin",
        UCP_PASSWORD: PASS,
        AWS_REGION: "us-east-1",
        AWS_ACCESS_KEY_ID: "AK",
        AWS_SECRET_ACCESS_KEY: AWS_SECRET,
        S3_ENDPOINT: "http://127.0.0.1:9000",
    };
    // Async: the /_ping servers live in this process, so a blocking spawn would leave them unable to answer.
    function dash(script: string, extra: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
        return new Promise((resolve) => {
            const p = spawn("dash", ["-c", script], { env: { PATH: `${bin}:${process.env.PATH}`, ...extra } });
            let stdout = "";
            let stderr = "";
            p.stdout.on("data", (d) => (stdout += d));
            p.stderr.on("data", (d) => (stderr += d));
            p.on("close", (status) => resolve({ status, stdout, stderr }));
        });
    }

    it("every generated script parses in bash -n and dash -n, and no command text holds a secret", () => {
        const a = args("host1");
        for (const s of [
            installScript(a),
            installScript({ ...a, scheduler: "auto" }),
            installScript({ ...a, scheduler: "systemd" }),
            runnerScript(a),
            uninstallScript(a),
        ]) {
            for (const sh of ["bash", "dash"]) assert.strictEqual(spawnSync(sh, ["-n"], { input: s }).status, 0, `${sh} -n`);
            assert.ok(!s.includes(PASS) && !s.includes(AWS_SECRET));
        }
    });

    it("cron mode: installs root-only files and the cron entry; the env file round-trips every secret; argv never holds one", async () => {
        const a = args("host1");
        const r = await dash(installScript(a), env);
        assert.strictEqual(r.status, 0, r.stderr);
        const f = fileNames(a);
        assert.strictEqual(fs.statSync(f.env).mode & 0o777, 0o600);
        assert.strictEqual(fs.statSync(f.runner).mode & 0o777, 0o700);
        assert.strictEqual(fs.statSync(f.pipeline).mode & 0o777, 0o700);
        assert.strictEqual(fs.readFileSync(f.pipeline, "utf8").trim(), a.pipeline, "the pipeline is installed verbatim");
        assert.strictEqual(fs.readFileSync(f.cron, "utf8"), cronFile(a));
        assert.match(cronFile(a), new RegExp(`^30 2 \\* \\* \\* root ${f.runner} `, "m"));
        assert.ok(!fs.existsSync(f.timer));
        const back = await dash(`set -a; . ${f.env}; printf '%s|%s|%s' "$UCP_PASSWORD" "$AWS_SECRET_ACCESS_KEY" "$UCP_USERNAME"`);
        assert.strictEqual(back.stdout, `${PASS}|${AWS_SECRET}|admin`);
        const argv = fs.readFileSync(path.join(root, "argv.log"), "utf8");
        assert.ok(argv.includes("chmod 600"), "the wrappers did see the install's commands");
        assert.ok(!argv.includes("pa$$") && !argv.includes("s3cr3t"), "no secret in any argv");
    });

    it("refuses to install without the secrets in its environment", async () => {
        const r = await dash(installScript(args("host2")), { AWS_REGION: "x", UCP_USERNAME: "admin" });
        assert.strictEqual(r.status, 1);
        assert.match(r.stderr, /UCP_PASSWORD is not in the environment/);
    });

    it("a time-zoned calendar on a cron host: refused before anything is written, naming the fix", async () => {
        const a = args("host3", { unitName: "tz", schedule: resolveSchedule({ onCalendar: "*-*-* 02:00:00 Europe/Berlin" }) });
        const r = await dash(installScript(a), env);
        assert.strictEqual(r.status, 1);
        assert.match(
            r.stderr,
            /FAILED: OnCalendar=\*-\*-\* 02:00:00 Europe\/Berlin has no cron equivalent \(cron has no time zone.*set backup\.schedule\.cron instead; nothing installed/,
        );
        const f = fileNames(a);
        for (const p of [f.env, f.runner, f.pipeline, f.cron]) assert.ok(!fs.existsSync(p), `${p} not written`);
        // The same schedule on a systemd host installs a timer that keeps the zone.
        const s = args("host3", { unitName: "tz", scheduler: "systemd", schedule: a.schedule });
        assert.strictEqual((await dash(installScript(s), env)).status, 0);
        assert.match(fs.readFileSync(fileNames(s).timer, "utf8"), /^OnCalendar=\*-\*-\* 02:00:00 Europe\/Berlin$/m);
        assert.strictEqual((await dash(uninstallScript(s))).status, 0);
    });

    it("systemd mode: writes service and timer, links and enables them through systemctl", async () => {
        const a = args("host2", { scheduler: "systemd" });
        fs.rmSync(path.join(root, "systemctl.log"), { force: true });
        const r = await dash(installScript(a), env);
        assert.strictEqual(r.status, 0, r.stderr);
        const f = fileNames(a);
        assert.strictEqual(fs.readFileSync(f.timer, "utf8"), timerUnit(a));
        assert.match(timerUnit(a), /^OnCalendar=\*-\*-\* 02:30:00$/m);
        assert.match(serviceUnit(a), new RegExp(`^ExecStart=${f.runner}$`, "m"));
        const calls = fs.readFileSync(path.join(root, "systemctl.log"), "utf8").trim().split("\n");
        assert.deepStrictEqual(calls, [
            `systemctl link ${f.service} ${f.timer}`,
            "systemctl daemon-reload",
            `systemctl enable --now ${f.timer}`,
        ]);
        // systemd's own checker loads both units (the runner they start exists now).
        const verify = spawnSync("systemd-analyze", ["verify", f.timer, f.service], { encoding: "utf8" });
        assert.strictEqual(verify.status, 0, verify.stderr);
        const d = await dash(uninstallScript(a));
        assert.strictEqual(d.status, 0, d.stderr);
        for (const p of [f.timer, f.service, f.runner, f.pipeline, f.env]) assert.ok(!fs.existsSync(p), `${p} removed`);
    });

    it("runs: the first healthy host backs up (OK line), the others skip, a failure logs FAILED and exits 1", async () => {
        for (const h of HOSTS) assert.strictEqual((await dash(installScript(args(h.name)), env)).status, 0);
        const run = (h: string, extra: Record<string, string> = {}) => dash(fileNames(args(h)).runner, { WANT: AWS_SECRET, ...extra });
        const lastLog = (h: string) => fs.readFileSync(args(h).paths.logFile, "utf8").trim().split("\n").pop()!;
        healthy.splice(0, 3, true, true, true);
        let r = await run("host1");
        assert.strictEqual(r.status, 0, r.stderr);
        assert.match(lastLog("host1"), /^dtr-ha-backup \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ OK dtr\/manifests\/lab\/k1\.manifest\.json$/);
        r = await run("host2");
        assert.strictEqual(r.status, 0);
        assert.match(lastLog("host2"), /SKIPPED not my turn: host1 is healthy$/);
        // host1's replica is down: host2 takes over, host3 still skips.
        healthy[0] = false;
        assert.strictEqual((await run("host2")).status, 0);
        assert.match(lastLog("host2"), / OK dtr\//);
        assert.strictEqual((await run("host3")).status, 0);
        assert.match(lastLog("host3"), /not my turn: host2 is healthy$/);
        healthy[0] = true;
        // Wrong secret in the env file: the pipeline fails; visible in exit status and log.
        r = await run("host1", { WANT: "something else" });
        assert.strictEqual(r.status, 1);
        assert.match(lastLog("host1"), / FAILED upload exit 1; no manifest written \(exit 1\)$/);
        // Nothing healthy: every host fails visibly.
        healthy.splice(0, 3, false, false, false);
        assert.strictEqual((await run("host3")).status, 1);
        assert.match(lastLog("host3"), / FAILED no healthy replica to back up from$/);
        healthy.splice(0, 3, true, true, true);
    });

    it("a host that defers reports FAILED when the taker's backup never shows in the bucket", async () => {
        // host3 lists its own file, so both hosts can wait out their deadline at the same time.
        const list = path.join(root, "list.jsonl");
        const list3 = path.join(root, "list3.jsonl");
        // Each listing is also counted (the listing's exit status is still cat's).
        const listed3 = path.join(root, "listed3");
        fs.rmSync(listed3, { force: true });
        const host3 = args("host3", {
            confirm: { listCommand: `echo >> ${listed3}; cat ${list3}`, timeoutSeconds: 2, intervalSeconds: 1 },
        });
        for (const a of [args("host1"), args("host2"), host3]) assert.strictEqual((await dash(installScript(a), env)).status, 0);
        const lastLog = (h: string) => fs.readFileSync(args(h).paths.logFile, "utf8").trim().split("\n").pop()!;
        healthy.splice(0, 3, true, true, true);
        // host2: the newest backup is from a past slot: host1 (healthy, so it was its turn) took none this time.
        fs.writeFileSync(list, '{"manifestKey":"dtr/manifests/lab/20200101T000000Z-dtr.manifest.json","manifest":{}}\n');
        // host3: a UCP backup or another cluster's DTR backup stamped now does not count.
        const now = new Date()
            .toISOString()
            .replace(/[-:]/g, "")
            .replace(/\.\d{3}Z$/, "Z");
        fs.writeFileSync(list3, `{"manifestKey":"dtr/manifests/lab/${now}-ucp.manifest.json","manifest":{}}\n`);
        const t0 = Date.now();
        const [r2, r3] = await Promise.all([dash(fileNames(args("host2")).runner), dash(fileNames(host3).runner)]);
        assert.strictEqual(r2.status, 1, r2.stderr);
        assert.match(
            lastLog("host2"),
            / FAILED not my turn, but host1 \(healthy\) took no DTR backup within 2s: the newest listed is 20200101T000000$/,
        );
        // The runner's deadline is in whole seconds (`date +%s` at its start, which is after t0, plus 2), so it gave up
        // in the second 2 past t0's at the earliest, having listed again after a sleep.
        assert.ok(Math.floor(Date.now() / 1000) >= Math.floor(t0 / 1000) + 2, "it kept looking until the deadline");
        assert.ok(Date.now() - t0 >= 1000, "a second at least (whole seconds: 2 after a start late in one)");
        assert.strictEqual(r3.status, 1, r3.stderr);
        assert.match(
            lastLog("host3"),
            / FAILED not my turn, but host1 \(healthy\) took no DTR backup within 2s: the newest listed is none$/,
        );
        assert.ok(fs.readFileSync(listed3, "utf8").length >= 2, "it listed again after a sleep before giving up");
        // A listing that fails cannot confirm: a WARNING line naming the failure, then the skip (exit 0); the taker's
        // own run reports the outcome.
        fs.rmSync(list3);
        let r = await dash(fileNames(host3).runner);
        assert.strictEqual(r.status, 0, r.stderr);
        const lines = fs.readFileSync(args("host3").paths.logFile, "utf8").trim().split("\n").slice(-2);
        assert.match(lines[0], / WARNING cannot confirm that host1 backed up: listing the bucket failed \(exit 1\): .*list3\.jsonl/);
        assert.match(lines[1], / SKIPPED not my turn: host1 is healthy$/);
        // The taker's backup appears while host2 waits: confirmed, SKIPPED, exit 0.
        fs.writeFileSync(list, "");
        const waiting = dash(fileNames(args("host2")).runner);
        await new Promise((res) => setTimeout(res, 600));
        // The key as the agent writes it now: milliseconds and a nonce after the second (older keys: see above).
        const stamp = `${now.replace(/Z$/, "")}123Z-1a2b3c4d`;
        fs.writeFileSync(list, `{"manifestKey":"dtr/manifests/lab/${stamp}-dtr.manifest.json","manifest":{}}\n`);
        r = await waiting;
        assert.strictEqual(r.status, 0, r.stderr);
        assert.match(r.stderr, new RegExp(`host1 took DTR backup ${now.replace(/Z$/, "")}`));
        assert.match(lastLog("host2"), /SKIPPED not my turn: host1 is healthy$/);
    });

    it("one run at a time: a run that finds the lock held logs SKIPPED already running, exits 75 and takes no backup", async () => {
        const a = args("host1");
        assert.strictEqual((await dash(installScript(a), env)).status, 0);
        healthy.splice(0, 3, true, true, true);
        const lock = lockFile(a);
        assert.strictEqual(lock, `${root}/hosts/host1/log/dtr-ha-backup-lab.lock`);
        // Its own process group, so the holder and its sleep are ended together (by that group's id). `-o`: only flock
        // holds the lock (its sleep does not inherit it), so the lock is free once the holder has closed.
        const holder = spawn("flock", ["-o", lock, "sleep", "30"], { stdio: "ignore", detached: true });
        try {
            for (let i = 0; i < 50 && spawnSync("flock", ["-n", lock, "true"]).status === 0; i++)
                await new Promise((res) => setTimeout(res, 50));
            const list = path.join(root, "list.jsonl");
            fs.writeFileSync(list, "untouched");
            const r = await dash(fileNames(a).runner, { WANT: AWS_SECRET });
            assert.strictEqual(r.status, EXIT_ALREADY_RUNNING, r.stderr);
            const last = fs.readFileSync(a.paths.logFile, "utf8").trim().split("\n").pop()!;
            assert.match(last, / SKIPPED already running: another run holds .*dtr-ha-backup-lab\.lock; no backup by this run$/);
            assert.strictEqual(fs.readFileSync(list, "utf8"), "untouched", "the pipeline did not run");
        } finally {
            process.kill(-holder.pid!, "SIGTERM");
        }
        await new Promise((res) => holder.on("close", res));
        // The kernel lets go of the lock with the holder's last descriptor: wait for that (bounded) on a loaded machine.
        for (let i = 0; i < 100 && spawnSync("flock", ["-n", lock, "true"]).status !== 0; i++)
            await new Promise((res) => setTimeout(res, 50));
        const r = await dash(fileNames(a).runner, { WANT: AWS_SECRET });
        assert.strictEqual(r.status, 0, r.stderr);
        assert.match(fs.readFileSync(a.paths.logFile, "utf8").trim().split("\n").pop()!, / OK dtr\//);
    });

    it("the generated runner and install scripts are shellcheck-clean (POSIX sh)", () => {
        const a = args("host1");
        for (const [name, text] of [
            ["runner", runnerScript(a)],
            ["install", "#!/bin/sh\n" + installScript(a)],
            ["uninstall", "#!/bin/sh\n" + uninstallScript(a)],
        ]) {
            const r = spawnSync("shellcheck", ["-s", "sh", "-"], { input: text, encoding: "utf8" });
            assert.strictEqual(r.status, 0, `${name}:\n${r.stdout}`);
        }
    });
});

describe("backup schedule: the component (Pulumi mocks)", function () {
    this.timeout(20_000);
    it("one install command per host, secrets only in the environment, outputs for the policy pack", async () => {
        const declared: Declared[] = [];
        const hosts = ["host1", "host2", "host3"].map((name, i) => ({
            name,
            ucpNode: name,
            privateAddress: `10.0.0.${i + 1}`,
            zone: `z${i}`,
            connection: { host: `10.0.0.${i + 1}`, user: "root", privateKey: pulumi.secret("PRIVATE-SSH-MATERIAL") },
        }));
        const s = new BackupSchedule(
            "nightly",
            {
                clusterName: "prod",
                hosts,
                replicaIds: ["aaaaaaaaaaa1", "aaaaaaaaaaa2", "aaaaaaaaaaa3"],
                image: { repository: "mirantis/dtr", version: "2.9.16" },
                ucp: {
                    url: "https://ucp.example.com",
                    username: "admin",
                    caPem: CA,
                },
                ucpPassword: pulumi.secret(PASS),
                target: { agentImage: "reg/dtr-ha-backup:0.1.0", bucket: "backups-bucket", prefix: "dtr" },
                s3: { region: "eu-west-1", accessKey: pulumi.secret("AK"), secretKey: pulumi.secret(AWS_SECRET) },
                schedule: { cron: "30 2 * * *" },
                retentionDays: 35,
            },
            { transformations: [captureDeclarations(declared)] },
        );
        await settle();
        const pipeline = dtrBackupScript({
            image: { repository: "mirantis/dtr", version: "2.9.16" },
            ucp: { url: "https://ucp.example.com", username: "admin", caPem: CA },
            candidates: ["aaaaaaaaaaa1", "aaaaaaaaaaa2", "aaaaaaaaaaa3"].map((id, i) => ({ id, address: `10.0.0.${i + 1}` })),
            cluster: "prod",
            target: { agentImage: "reg/dtr-ha-backup:0.1.0", bucket: "backups-bucket", prefix: "dtr" },
        });
        const cmds = declared.filter((d) => d.type === "command:remote:Command");
        assert.deepStrictEqual(
            cmds.map((c) => c.name),
            ["nightly-host1", "nightly-host2", "nightly-host3"],
        );
        assert.strictEqual(declared.find((d) => d.name === "nightly")?.type, "dtr-ha:index:DtrBackupSchedule");
        for (const c of cmds) {
            const texts = await Promise.all([
                valueOf<string>(c.props.create),
                valueOf<string>(c.props.update),
                valueOf<string>(c.props.delete),
            ]);
            for (const t of texts)
                assert.ok(!t.includes(PASS) && !t.includes(AWS_SECRET) && !t.includes("PRIVATE-SSH-MATERIAL"), "no secret in command text");
            assert.ok(texts[0].includes(pipeline), "installs dtrBackupScript's pipeline verbatim");
            const list = agentListCommand({
                agentImage: "reg/dtr-ha-backup:0.1.0",
                bucket: "backups-bucket",
                prefix: "dtr",
                cluster: "prod",
            });
            assert.match(list, / reg\/dtr-ha-backup:0\.1\.0 list --bucket backups-bucket --prefix dtr --cluster prod$/);
            assert.ok(texts[0].includes(`(${list})`), "a deferring host confirms through the agent's list of this cluster");
            assert.match(texts[0], new RegExp(`self=${c.name.replace("nightly-", "")}`));
            const envOut = pulumi.output(c.props.environment);
            assert.ok(await (envOut as any).isSecret, "the environment is secret");
            const e = await valueOf<Record<string, string>>(envOut);
            assert.strictEqual(e.UCP_PASSWORD, PASS);
            assert.strictEqual(e.AWS_SECRET_ACCESS_KEY, AWS_SECRET);
        }
        assert.strictEqual(s.retentionDays, 35);
        assert.deepStrictEqual(s.hosts, ["host1", "host2", "host3"]);
        assert.deepStrictEqual(s.schedule, { cron: "30 2 * * *", onCalendar: "*-*-* 2:30:00" });
        assert.throws(
            () =>
                new BackupSchedule("bad", {
                    clusterName: "prod",
                    hosts,
                    replicaIds: [],
                    image: { repository: "r", version: "1" },
                    ucp: { url: "https://u", username: "a" },
                    ucpPassword: "x",
                    target: { agentImage: "a", bucket: "bbb" },
                    s3: { region: "r" },
                    schedule: { onCalendar: "sometimes" },
                    retentionDays: 1,
                }),
            /backup\.schedule\.onCalendar="sometimes"/,
        );
    });
});

/**
 * The Velero-shaped backup CLI for real, as an operator runs it (`node bin/stacks/backups.js`, a child process, the lab's
 * state dir): a cluster from the project's stack program with a schedule installed (cron files under the lab's state
 * dir), then `create --wait` takes a backup through the stack (only the ownership check, health check and backup chain
 * run: every other resource of the state is untouched), `list` shows it with size, age, retain-until and "never"
 * verified, `verify` records its verdict and `list`/`describe` show it, the installed runner is started on two hosts as
 * cron would and `logs` shows host1's OK line (host2's skip only with --all). `list`, `describe` and `logs` leave the
 * stack's state and the bucket exactly as they were.
 */
import * as assert from "assert";
import { execFile, spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import type { LocalWorkspace } from "@pulumi/pulumi/automation";
import { LabStatus, REPO_ROOT, labUp } from "../../lab/lab";
import { docker } from "../../lab/docker";
import { labS3, listKeys } from "../../lab/s3";
import { LabCluster, labPulumiDir, labStack, wipeDtr } from "../../stacks/lab-cluster";
import { deriveReplicaId } from "../../components/cluster/topology";
import { fileNames, resolvePaths } from "../../components/backup/schedule";
import { LAB_IMAGE_VERSION } from "../../stacks/lab-config";

const STACK = "vtest";

interface Run {
    code: number | null;
    stdout: string;
    stderr: string;
    seconds: number;
    /** Seconds from the start to the first stderr line: progress from the first second. */
    firstLineSeconds: number | null;
}

/** The CLI as an operator runs it (`npm run backups --` is this plus a build). */
function backups(status: LabStatus, args: string[]): Promise<Run> {
    return new Promise((resolve) => {
        const t0 = Date.now();
        let first: number | null = null;
        const p = spawn(process.execPath, [path.join(REPO_ROOT, "bin", "stacks", "backups.js"), "--stack", STACK, ...args], {
            env: { ...process.env, DTR_HA_STATE_DIR: labPulumiDir(status) },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        p.stdout.on("data", (d) => (stdout += d));
        p.stderr.on("data", (d) => {
            first ??= (Date.now() - t0) / 1000;
            stderr += d;
        });
        p.on("close", (code) => resolve({ code, stdout, stderr, seconds: (Date.now() - t0) / 1000, firstLineSeconds: first }));
    });
}

function onHost(host: string, cmd: string): Promise<{ code: number; stderr: string }> {
    return new Promise((resolve) =>
        execFile("bash", [path.join(REPO_ROOT, "lab", "lab.sh"), "ssh", host, cmd], (err, _o, stderr) =>
            resolve({ code: err ? ((err as { code?: number }).code ?? 255) : 0, stderr }),
        ),
    );
}

/** Every file under `dir` with its content hash: the stack's state and config must not change on a read. */
function snapshot(dir: string): Record<string, string> {
    const out: Record<string, string> = {};
    const walk = (d: string) => {
        for (const name of fs.readdirSync(d).sort()) {
            const p = path.join(d, name);
            if (fs.lstatSync(p).isDirectory()) walk(p);
            else out[path.relative(dir, p)] = crypto.createHash("sha256").update(fs.readFileSync(p)).digest("hex");
        }
    };
    walk(dir);
    return out;
}

describe("backups CLI in the lab: create --wait, list, describe, verify, logs (real engine, SSH, MinIO; DTR = dtr-sim)", function () {
    this.timeout(20 * 60 * 1000);
    let status: LabStatus;
    let cluster: LabCluster | undefined;
    let made = "";
    const ids = ["host1", "host2", "host3"].map((h) => deriveReplicaId(STACK, h));
    const timings: Record<string, number> = {};
    const schedulePaths = () => {
        const base = `${status.stateDir}/hosts/{host}/dtr-ha-schedule-${STACK}`;
        return {
            installDir: `${base}/sbin`,
            unitDir: `${base}/systemd`,
            cronDir: `${base}/cron.d`,
            envDir: `${base}/etc`,
            logFile: `${base}/log/backup.log`,
        };
    };
    const runner = (host: string) => fileNames({ unitName: STACK, paths: resolvePaths(host, schedulePaths()) }).runner;
    const bucketKeys = async () => (await listKeys(labS3(status), status.s3.buckets.backups, "dtr/")).sort();
    const readOnly = async <T>(f: () => Promise<T>): Promise<T> => {
        const state = snapshot(labPulumiDir(status));
        const keys = await bucketKeys();
        const r = await f();
        assert.deepStrictEqual(snapshot(labPulumiDir(status)), state, "the stack's state, config and workspace are byte-identical");
        assert.deepStrictEqual(await bucketKeys(), keys, "nothing written to the bucket");
        return r;
    };

    before(async () => {
        status = await labUp(false);
        for (const h of status.hosts) {
            const names = (await docker(h, ["ps", "-a", "--format", "{{.Names}}"]))
                .split("\n")
                .filter((n) => n.startsWith("dtr-") && !ids.some((id) => n.endsWith(id)));
            if (names.length)
                throw new Error(
                    `${h.name} runs DTR containers of another suite (${names.join(", ")}); run this suite when the lab is free`,
                );
        }
        const t = Date.now();
        cluster = await labStack(status, STACK);
        const backup = JSON.parse((await cluster.stack.getConfig("dtr-ha:backup")).value);
        // The schedule as a user configures it; cron files under the lab's state dir (the lab's hosts share this disk).
        await cluster.stack.setConfig("dtr-ha:backup", {
            value: JSON.stringify({
                ...backup,
                schedule: { onCalendar: "*-*-* 02:30:00" },
                schedulePaths: schedulePaths(),
                scheduler: "cron",
            }),
        });
        await cluster.stack.up({ color: "never" });
        timings.clusterUpSeconds = (Date.now() - t) / 1000;
    });

    after(async () => {
        if (cluster) await cluster.stack.destroy({ color: "never" }).catch((e) => console.error("destroy:", (e as Error).message));
        for (const h of status?.hosts ?? []) await wipeDtr(h, ids).catch(() => undefined);
        if (cluster) await cluster.stack.workspace.removeStack(STACK, { force: true }).catch(() => undefined);
        console.log(`      timings: ${JSON.stringify(timings)}`);
    });

    it("create --wait: a backup through the stack, progress from the first second, a summary; nothing else in the state changes", async () => {
        // As pulumi stores it (secrets encrypted): `pulumi stack export` without --show-secrets.
        const exported = () => {
            const ws = cluster!.stack.workspace as LocalWorkspace;
            const r = spawnSync("pulumi", ["stack", "export", "--stack", STACK, "--non-interactive"], {
                cwd: ws.workDir,
                env: { ...process.env, ...ws.envVars },
                encoding: "utf8",
                maxBuffer: 512 * 1024 * 1024,
            });
            assert.strictEqual(r.status, 0, r.stderr);
            return JSON.parse(r.stdout).deployment.resources as {
                urn: string;
                type: string;
                parent?: string;
                modified?: string;
                outputs?: unknown;
            }[];
        };
        const before = exported();
        const keysBefore = await bucketKeys();
        const r = await backups(status, ["create", "--wait"]);
        timings.createSeconds = r.seconds;
        assert.strictEqual(r.code, 0, `exit ${r.code}\n${r.stderr}`);
        made = r.stdout.trim().split("\n").pop()!;
        // What the operator saw, in the test log (no secret is ever in it).
        console.log(r.stderr.replace(/^/gm, "      | "));
        assert.match(made, new RegExp(`^dtr/manifests/${STACK}/\\d{8}T\\d{9}Z-[0-9a-f]{8}-dtr\\.manifest\\.json$`));
        assert.ok(r.firstLineSeconds !== null && r.firstLineSeconds < 5, `first progress line after ${r.firstLineSeconds}s`);
        assert.match(r.stderr, /\[ +\d+\.\ds\] ▶ pulumi up --target/);
        assert.match(r.stderr, new RegExp(`\\[ +\\d+\\.\\ds\\] +✔ ${STACK}-backup-dtr-dtr \\(\\d+\\.\\ds\\)`));
        assert.match(r.stderr, /backups create \(\d+\.\ds in all\)/);
        assert.match(r.stderr, /retention: GOVERNANCE until \S+ \S+ \(in 2\dh\d\dm\)|retention: GOVERNANCE until \S+ \S+ \(in 1d00h\)/);
        assert.match(r.stderr, /wait for the new manifest in the catalog .*: dtr\/manifests\//);
        // Exactly one new backup in the bucket (its object, its manifest and, beside it, the stack's configuration
        // document), from this stack.
        const fresh = (await bucketKeys()).filter((k) => !keysBefore.includes(k));
        assert.deepStrictEqual(
            fresh.filter((k) => k.includes("/manifests/")).sort(),
            [made, made.replace(/\.manifest\.json$/, ".stack-config.json")].sort(),
        );
        // Only the targets ran: every other resource's state is as it was (same outputs, same modified time).
        // A secret is compared as "a secret": its ciphertext may be written anew whenever the state is.
        const plain = (_k: string, v: unknown) =>
            v && typeof v === "object" && "4dabf18193072939515e22adb298388d" in (v as object) ? "[secret]" : v;
        const after = exported();
        // The targets ran; the components holding them (up to the stack) register their outputs anew (the new manifest).
        const ran = new Set(before.filter((x) => /::vtest-(owners|health|backup-dtr-dtr)$/.test(x.urn)).map((x) => x.urn));
        assert.strictEqual(ran.size, 3, "the ownership check, the health check and the DTR backup are in the state");
        for (const urn of [...ran]) {
            let parent = before.find((x) => x.urn === urn)?.parent;
            while (parent) {
                ran.add(parent);
                parent = before.find((x) => x.urn === parent)?.parent;
            }
        }
        // URN -> hash of its modified time and outputs (hashes: a failure names resources, never prints their values).
        const untouched = (rs: typeof before) =>
            Object.fromEntries(
                rs
                    .filter((x) => !ran.has(x.urn))
                    .map((x) => [
                        x.urn,
                        crypto
                            .createHash("sha256")
                            .update(JSON.stringify([x.modified, x.outputs], plain))
                            .digest("hex"),
                    ])
                    .sort(),
            );
        assert.deepStrictEqual(untouched(after), untouched(before));
        assert.ok(Object.keys(untouched(before)).length > 20, "the comparison covers the cluster's resources");
        assert.ok(after.some((x) => x.urn.endsWith("::vtest-backup-dtr-dtr")));
        const trigger = JSON.parse((await cluster!.stack.getConfig("dtr-ha:backup")).value).trigger;
        assert.match(trigger, /^backups-create-\d{4}-/);
    });

    it("list: the new backup with its size, age, retain-until and never verified; read only", async () => {
        const r = await readOnly(() => backups(status, ["list"]));
        timings.listSeconds = r.seconds;
        assert.strictEqual(r.code, 0, r.stderr);
        console.log(r.stdout.replace(/^/gm, "      | "));
        const row = r.stdout.split("\n").find((l) => l.endsWith(made));
        assert.ok(row, r.stdout);
        assert.match(
            row,
            /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ +\d+s +dtr +\d+(\.\d+)? (B|KiB|MiB) +\d{4}-\d\d-\d\d \d\d:\d\dZ +never +[0-9a-f]{12} +2\.9\.16 +no +/,
        );
        assert.ok(row.includes(ids[0]), "host1's replica took it");
    });

    it("verify records the verdict (--no-record writes nothing); list and describe then show it", async () => {
        const quiet = await readOnly(() => backups(status, ["verify", "--no-record", made]));
        assert.strictEqual(quiet.code, 0, quiet.stderr);
        assert.match(quiet.stdout, /"ok": true/);
        const v = await backups(status, ["verify", made]);
        timings.verifySeconds = v.seconds;
        assert.strictEqual(v.code, 0, v.stderr);
        assert.match(v.stderr, /is whole: size and SHA-256 match its manifest/);
        const l = await backups(status, ["list"]);
        assert.match(
            l.stdout.split("\n").find((x) => x.endsWith(made))!,
            / OK \d+s ago /,
        );
        const d = await readOnly(() => backups(status, ["describe", made]));
        timings.describeSeconds = d.seconds;
        assert.strictEqual(d.code, 0, d.stderr);
        for (const field of [
            new RegExp(`source stack +${STACK}`),
            new RegExp(`source replica +${ids[0]}`),
            new RegExp(`DTR version +${LAB_IMAGE_VERSION.replace(/\./g, "\\.")}`),
            /stored size +\d+(\.\d+)? (B|KiB|MiB) \(\d+ bytes\)/,
            /stored SHA-256 +[0-9a-f]{64}/,
            /tar SHA-256 +[0-9a-f]{64}/,
            /encryption +none \(client-side\)/,
            /retention +GOVERNANCE until /,
            /verified +OK at \S+ \S+ \(\d+s ago\)/,
            /inventory +\d+ repositories, \d+ tags, \d+ team grants/,
        ])
            assert.match(d.stdout, field);
    });

    it("logs: the scheduled runs' OK line from host1 (host2's skip only with --all); read only", async () => {
        // cron starts the runner with an almost empty environment; so does this.
        for (const h of ["host1", "host2"]) {
            const r = await onHost(h, `env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin ${runner(h)}`);
            assert.strictEqual(r.code, 0, `${h}: ${r.stderr}`);
        }
        const r = await readOnly(() => backups(status, ["logs"]));
        timings.logsSeconds = r.seconds;
        assert.strictEqual(r.code, 0, r.stderr);
        assert.match(
            r.stdout,
            new RegExp(
                `^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ  host1  OK       dtr/manifests/${STACK}/\\S+-dtr\\.manifest\\.json$`,
                "m",
            ),
        );
        assert.doesNotMatch(r.stdout, /SKIPPED/);
        assert.match(r.stdout, /last OK: +\S+ \S+ on host1 \(\d+s ago\)/);
        assert.match(r.stdout, /last FAILED: none in these logs/);
        assert.match(r.stdout, /host3: no log yet/);
        console.log(r.stdout.replace(/^/gm, "      | "));
        const all = await backups(status, ["logs", "--all"]);
        assert.match(all.stdout, /host2 {2}SKIPPED {2}not my turn: host1 is healthy/);
    });
});

/**
 * Scheduled backups in the lab, for real: a DTR cluster from the project's stack program, then `BackupSchedule`
 * deployed through the Automation API into the lab state dir (the three namespace hosts share this machine's disk, so
 * nothing may land in its /etc). The installed runner is then started over SSH on each host as cron would start it
 * (no timer wait): exactly one host takes the backup, a manifest appears in MinIO, the others skip; with host1's
 * engine down host2 takes over; with a wrong S3 secret in the env file a run fails visibly and leaves no manifest.
 */
import * as assert from "assert";
import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { LabStatus, REPO_ROOT, killDocker, labUp, s3Keys, sshPrivateKey, startDocker } from "../../lab/lab";
import { docker, dtrApi } from "../../lab/docker";
import { LabCluster, agentVersion, labPulumiDir, labStack, waitHealthy } from "../../stacks/lab-cluster";
import { LAB_IMAGE_VERSION, labExistingHosts } from "../../stacks/lab-config";
import { CatalogEntry, backupAccess, listBackups } from "../../stacks/catalog";
import { deriveReplicaId } from "../../components/cluster/topology";
import { existingHosts } from "../../components/hosts/existing-hosts";
import { BackupSchedule, SchedulePaths, fileNames, resolvePaths } from "../../components/backup/schedule";

const STACK = "stest";
const UNIT = STACK;

/** Runs a command on a lab host over SSH (lab.sh ssh); resolves with exit code and output, never rejects. */
function onHost(host: string, cmd: string): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
        execFile(
            "bash",
            [path.join(REPO_ROOT, "lab", "lab.sh"), "ssh", host, cmd],
            { maxBuffer: 16 * 1024 * 1024 },
            (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 255) : 0, stdout, stderr }),
        );
    });
}

function labPaths(status: LabStatus): Partial<SchedulePaths> {
    const base = `${status.stateDir}/hosts/{host}/dtr-ha-schedule`;
    return {
        installDir: `${base}/sbin`,
        unitDir: `${base}/systemd`,
        cronDir: `${base}/cron.d`,
        envDir: `${base}/etc`,
        logFile: `${base}/log/dtr-ha-backup.log`,
    };
}

/** A stack whose program is only the schedule, for the cluster of stack `stest`. */
async function scheduleStack(status: LabStatus, c: LabCluster, replicaIds: string[]): Promise<Stack> {
    const dir = labPulumiDir(status);
    const keys = s3Keys(status);
    const key = sshPrivateKey(status);
    const program = async () => {
        const hosts = existingHosts(labExistingHosts(status), pulumi.secret(key));
        const s = new BackupSchedule(`${STACK}-schedule`, {
            clusterName: STACK,
            sourceStack: STACK,
            hosts,
            replicaIds,
            image: { repository: `${status.registry}/dtr-sim`, version: LAB_IMAGE_VERSION },
            ucp: { url: status.ucp!.url!, username: c.admin.user, caPem: status.ucp?.ca ?? undefined },
            ucpPassword: pulumi.secret(c.admin.password),
            run: { mountEngineSocket: true },
            httpsPort: 443,
            target: {
                agentImage: `${status.registry}/dtr-ha-backup:${agentVersion()}`,
                bucket: status.s3.buckets.backups,
                prefix: "dtr",
                lock: { mode: "GOVERNANCE", days: 1 },
            },
            s3: {
                region: status.s3.region,
                endpoint: status.s3.endpoint,
                forcePathStyle: true,
                accessKey: pulumi.secret(keys.accessKey),
                secretKey: pulumi.secret(keys.secretKey),
            },
            schedule: { onCalendar: "*-*-* 02:30:00" },
            retentionDays: 1,
            paths: labPaths(status),
            // The lab machine's own systemd (if any) must never get these timers: cron files under the state dir.
            scheduler: "cron",
            // This stack installs the schedule for the cluster that stack STACK owns.
            owner: `organization/dtr-ha/${STACK}`,
        });
        return { retentionDays: s.retentionDays, hosts: s.hosts, schedule: s.schedule };
    };
    const passphrase = fs.readFileSync(path.join(dir, "passphrase"), "utf8").trim();
    return LocalWorkspace.createOrSelectStack(
        { stackName: `${STACK}-schedule`, projectName: "dtr-ha", program },
        {
            workDir: path.join(dir, "work"),
            projectSettings: { name: "dtr-ha", runtime: "nodejs", backend: { url: `file://${path.join(dir, "backend")}` } },
            secretsProvider: "passphrase",
            envVars: { PULUMI_CONFIG_PASSPHRASE: passphrase, PULUMI_BACKEND_URL: `file://${path.join(dir, "backend")}` },
        },
    );
}

describe("scheduled backups in the lab (real engine, SSH, MinIO; DTR = dtr-sim)", function () {
    this.timeout(30 * 60 * 1000);
    let status: LabStatus;
    let cluster: LabCluster | undefined;
    let sched: Stack | undefined;
    const ids = ["host1", "host2", "host3"].map((h) => deriveReplicaId(STACK, h));
    const files = (host: string) => fileNames({ unitName: UNIT, paths: resolvePaths(host, labPaths(status)) });
    const lastLog = (host: string) =>
        fs
            .readFileSync(resolvePaths(host, labPaths(status)).logFile, "utf8")
            .trim()
            .split("\n")
            .pop()!;
    const manifests = async (): Promise<CatalogEntry[]> => listBackups(await backupAccess(cluster!.stack));
    const timings: Record<string, number> = {};

    before(async () => {
        status = await labUp(false);
        // The lab is shared: never touch replicas another suite made.
        for (const h of status.hosts) {
            const names = (await docker(h, ["ps", "-a", "--format", "{{.Names}}"]))
                .split("\n")
                .filter((n) => n.startsWith("dtr-") && !ids.some((id) => n.endsWith(id)));
            if (names.length)
                throw new Error(
                    `${h.name} runs DTR containers of another suite (${names.join(", ")}); run this suite when the lab is free`,
                );
        }
        let t = Date.now();
        cluster = await labStack(status, STACK);
        await cluster.stack.up({ color: "never" });
        timings.clusterUpSeconds = (Date.now() - t) / 1000;
        t = Date.now();
        sched = await scheduleStack(status, cluster, ids);
        await sched.up({ color: "never" });
        timings.scheduleUpSeconds = (Date.now() - t) / 1000;
    });

    after(async () => {
        await startDocker("host1").catch(() => undefined);
        if (sched) await sched.destroy({ color: "never" }).catch((e) => console.error("schedule destroy:", (e as Error).message));
        if (cluster) {
            await waitHealthy(cluster, 3, 120).catch(() => undefined);
            await cluster.stack.destroy({ color: "never" }).catch((e) => console.error("cluster destroy:", (e as Error).message));
        }
        // Leave no replica of ours behind, whatever destroy managed.
        for (const h of status?.hosts ?? []) {
            const ours = (await docker(h, ["ps", "-a", "--format", "{{.Names}}"]).catch(() => ""))
                .split("\n")
                .filter((n) => n.startsWith("dtr-") && ids.some((id) => n.endsWith(id)));
            if (ours.length) await docker(h, ["rm", "-f", ...ours]).catch(() => undefined);
        }
        if (cluster) {
            await cluster.stack.workspace.removeStack(STACK).catch(() => undefined);
            await sched?.workspace.removeStack(`${STACK}-schedule`).catch(() => undefined);
        }
        console.log(`      timings: ${JSON.stringify(timings)}`);
    });

    it("installs on every host under the lab state dir only: root-only script and env file, a cron entry", async () => {
        for (const h of status.hosts) {
            const f = files(h.name);
            assert.ok(f.runner.startsWith(`${status.stateDir}/hosts/${h.name}/`), f.runner);
            assert.strictEqual(fs.statSync(f.runner).mode & 0o777, 0o700);
            assert.strictEqual(fs.statSync(f.pipeline).mode & 0o777, 0o700);
            assert.strictEqual(fs.statSync(f.env).mode & 0o777, 0o600);
            assert.match(fs.readFileSync(f.cron, "utf8"), /^30 2 \* \* \* root \S+dtr-ha-backup-stest /m);
        }
        for (const p of [
            `/etc/dtr-ha/dtr-ha-backup-${UNIT}.env`,
            `/etc/cron.d/dtr-ha-backup-${UNIT}`,
            `/usr/local/sbin/dtr-ha-backup-${UNIT}`,
            `/etc/systemd/system/dtr-ha-backup-${UNIT}.timer`,
        ]) {
            assert.ok(!fs.existsSync(p), `nothing in the machine's own ${p}`);
        }
        const outputs = await sched!.outputs();
        assert.strictEqual(outputs.retentionDays.value, 1);
        assert.deepStrictEqual(outputs.hosts.value, ["host1", "host2", "host3"]);
    });

    it("run on each host as the timer would: exactly one host takes the backup, the others say not my turn", async () => {
        const before = new Set((await manifests()).map((e) => e.manifestKey));
        const runs = [];
        for (const h of status.hosts) {
            const t = Date.now();
            // cron starts the runner with an almost empty environment; so does this.
            const r = await onHost(h.name, `env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin ${files(h.name).runner}`);
            runs.push({ host: h.name, code: r.code, seconds: (Date.now() - t) / 1000, log: lastLog(h.name), stderr: r.stderr });
        }
        timings.scheduledRunSeconds = runs[0].seconds;
        assert.deepStrictEqual(
            runs.map((r) => r.code),
            [0, 0, 0],
            JSON.stringify(runs),
        );
        const m = /^dtr-ha-backup \S+Z OK (\S+)$/.exec(runs[0].log);
        assert.ok(m, `host1 logged OK: ${runs[0].log}\n${runs[0].stderr}`);
        for (const r of runs.slice(1)) assert.match(r.log, /^dtr-ha-backup \S+Z SKIPPED not my turn: host1 is healthy$/);
        const fresh = (await manifests()).filter((e) => !before.has(e.manifestKey));
        assert.deepStrictEqual(
            fresh.map((e) => e.manifestKey),
            [m[1]],
            "exactly one new manifest, the one host1 logged",
        );
        assert.strictEqual(fresh[0].manifest.meta.replicaId, ids[0]);
        assert.strictEqual(fresh[0].manifest.sourceStack, STACK);
        assert.ok(fresh[0].manifest.object.bytes > 0);
        const keys = s3Keys(status);
        for (const h of status.hosts) {
            const log = fs.readFileSync(resolvePaths(h.name, labPaths(status)).logFile, "utf8");
            assert.ok(!log.includes(keys.secretKey) && !log.includes(cluster!.admin.password), "no secret in the log");
        }
    });

    it("with host1's engine down, host2 takes the backup and host3 still skips", async () => {
        const before = new Set((await manifests()).map((e) => e.manifestKey));
        await killDocker("host1");
        try {
            // A timer fires whenever it fires; this one fires once host2's replica answers /_ping again (dtr-sim's
            // replicas may report unhealthy for a moment after losing a peer).
            const deadline = Date.now() + 90_000;
            while (
                (await dtrApi(status.hosts[1].address, "GET", "/_ping").then(
                    (r) => r.status,
                    () => 0,
                )) !== 200
            ) {
                if (Date.now() > deadline)
                    throw new Error("host2's replica did not answer /_ping within 90 s of host1's engine going down");
                await new Promise((r) => setTimeout(r, 1000));
            }
            const r1 = await onHost("host1", files("host1").runner);
            assert.strictEqual(r1.code, 0, r1.stderr);
            assert.match(lastLog("host1"), /SKIPPED not my turn: host2 is healthy$/);
            const r2 = await onHost("host2", files("host2").runner);
            assert.strictEqual(r2.code, 0, r2.stderr);
            const m = / OK (\S+)$/.exec(lastLog("host2"));
            assert.ok(m, lastLog("host2"));
            const r3 = await onHost("host3", files("host3").runner);
            assert.strictEqual(r3.code, 0);
            assert.match(lastLog("host3"), /not my turn: host2 is healthy$/);
            const fresh = (await manifests()).filter((e) => !before.has(e.manifestKey));
            assert.deepStrictEqual(
                fresh.map((e) => e.manifestKey),
                [m![1]],
            );
            assert.strictEqual(fresh[0].manifest.meta.replicaId, ids[1]);
        } finally {
            await startDocker("host1");
        }
        await waitHealthy(cluster!, 3);
    });

    it("a run with a wrong S3 secret fails visibly (exit status, FAILED line) and leaves no manifest", async () => {
        const before = (await manifests()).map((e) => e.manifestKey).sort();
        // Broken on every host: whichever host's turn it is, its run must fail; the others still skip.
        const good = status.hosts.map((h) => fs.readFileSync(files(h.name).env, "utf8"));
        status.hosts.forEach((h, i) =>
            fs.writeFileSync(files(h.name).env, good[i].replace(/^AWS_SECRET_ACCESS_KEY=.*$/m, "AWS_SECRET_ACCESS_KEY='wrong-secret'"), {
                mode: 0o600,
            }),
        );
        try {
            const runs = [];
            for (const h of status.hosts)
                runs.push({ host: h.name, code: (await onHost(h.name, files(h.name).runner)).code, log: lastLog(h.name) });
            const failed = runs.filter((r) => r.code !== 0);
            assert.strictEqual(failed.length, 1, `exactly one run (the taker's) fails: ${JSON.stringify(runs)}`);
            assert.match(failed[0].log, /^dtr-ha-backup \S+Z FAILED .+\(exit 1\)$/);
            for (const r of runs.filter((x) => x.code === 0)) assert.match(r.log, /SKIPPED not my turn: host\d is healthy$/);
        } finally {
            status.hosts.forEach((h, i) => fs.writeFileSync(files(h.name).env, good[i], { mode: 0o600 }));
        }
        assert.deepStrictEqual((await manifests()).map((e) => e.manifestKey).sort(), before, "no new manifest");
    });

    it("destroying the schedule removes the cron entry, the scripts and the env file", async () => {
        await sched!.destroy({ color: "never" });
        for (const h of status.hosts) {
            const f = files(h.name);
            for (const p of [f.cron, f.runner, f.pipeline, f.env, f.timer, f.service]) assert.ok(!fs.existsSync(p), `${p} removed`);
        }
        await sched!.workspace.removeStack(`${STACK}-schedule`);
        sched = undefined;
    });
});

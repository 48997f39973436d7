/**
 * The Pulumi state where an operator keeps it, and then lost too. The source stack lives in a DIY S3 backend on the
 * lab's MinIO (`s3://<bucket>?endpoint=…&s3ForcePathStyle=true`, passphrase from PULUMI_CONFIG_PASSPHRASE), opened the
 * way `pulumi` opens it (no lab state dir). One cluster serves both drills: (1) backup, lose the cluster, `rebuild`
 * into a new stack in the same backend; (2) lose it again, delete the whole state bucket, and rebuild from the newest
 * backup with --config-from-backup into a stack in another backend, giving the secrets the backup names (refused, and
 * nothing created, while any is missing). The stored configuration is read from the bucket's bytes: no secret value.
 */
import * as assert from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    CreateBucketCommand,
    DeleteBucketCommand,
    DeleteObjectsCommand,
    GetObjectCommand,
    HeadBucketCommand,
    ListObjectVersionsCommand,
    S3Client,
} from "@aws-sdk/client-s3";
import { LabStatus, REPO_ROOT, labUp, s3Keys, sshPrivateKey } from "../../lab/lab";
import { labS3, listKeys } from "../../lab/s3";
import { LabCluster, agentVersion, labAdminPassword, loseCluster, pushImage, wipeDtr } from "../../stacks/lab-cluster";
import { LAB_ADMIN, labStackConfig } from "../../stacks/lab-config";
import { RebuildReport, UsageError, rebuild } from "../../stacks/rebuild";
import { listStackNames, openStack, setStackConfig } from "../../stacks/workspace";
import { secretEnvName } from "../../stacks/from-backup";
import { Steps } from "../../stacks/progress";
import { deriveReplicaId } from "../../components/cluster/topology";

// The pinned SDK supports Node 20; its notice about future versions is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const CLUSTER = "stcfg";
const ENV_KEYS = [
    "PULUMI_BACKEND_URL",
    "PULUMI_CONFIG_PASSPHRASE",
    "PULUMI_CONFIG_PASSPHRASE_FILE",
    "DTR_HA_STATE_DIR",
    "DTR_HA_PROJECT_DIR",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
] as const;

async function emptyAndDeleteBucket(s3: S3Client, bucket: string): Promise<void> {
    for (;;) {
        const v = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
        const objects = [...(v.Versions ?? []), ...(v.DeleteMarkers ?? [])].map((o) => ({ Key: o.Key!, VersionId: o.VersionId }));
        if (objects.length === 0) break;
        await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects } }));
    }
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
}

describe("state in a DIY S3 backend on MinIO, then the state bucket lost too (real engine; DTR = dtr-sim)", function () {
    this.timeout(30 * 60 * 1000);
    let status: LabStatus;
    let s3: S3Client;
    let project: string;
    let cluster: LabCluster;
    const saved: Partial<Record<(typeof ENV_KEYS)[number], string>> = {};
    const suffix = crypto.randomBytes(3).toString("hex");
    const stateBuckets = [`dtr-ha-state-${suffix}`, `dtr-ha-state2-${suffix}`];
    const backendUrl = (bucket: string) =>
        `s3://${bucket}?endpoint=${encodeURIComponent(status.s3.endpoint)}&s3ForcePathStyle=true&region=${status.s3.region}`;
    const ids = ["host1", "host2", "host3"].map((h) => deriveReplicaId(CLUSTER, h));
    const quiet = () => new Steps(() => undefined);
    const timings: Record<string, number> = {};
    const timed = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
        const t0 = Date.now();
        try {
            return await f();
        } finally {
            timings[name] = Number(((Date.now() - t0) / 1000).toFixed(1));
        }
    };
    let secretValues: Record<string, string>;
    let firstRebuild: RebuildReport;

    before(async () => {
        const t0 = Date.now();
        status = await labUp(false);
        s3 = labS3(status);
        for (const b of stateBuckets) await s3.send(new CreateBucketCommand({ Bucket: b }));
        // A project folder of the operator's (Pulumi.yaml only); the backend and passphrase from the environment.
        project = fs.mkdtempSync(path.join(os.tmpdir(), "dtr-ha-state-backend-"));
        fs.copyFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), path.join(project, "Pulumi.yaml"));
        fs.mkdirSync(path.join(project, "stacks"));
        // Pulumi.yaml's `main` (bin/index.js) must exist for the engine even with an inline program: the compiled project.
        fs.symlinkSync(path.join(REPO_ROOT, "bin"), path.join(project, "bin"));
        for (const k of ENV_KEYS) saved[k] = process.env[k];
        const keys = s3Keys(status);
        Object.assign(process.env, {
            PULUMI_BACKEND_URL: backendUrl(stateBuckets[0]),
            PULUMI_CONFIG_PASSPHRASE: crypto.randomBytes(16).toString("hex"),
            DTR_HA_PROJECT_DIR: project,
            // The DIY backend's S3 credentials, as for any S3 backend.
            AWS_ACCESS_KEY_ID: keys.accessKey,
            AWS_SECRET_ACCESS_KEY: keys.secretKey,
        });
        delete process.env.DTR_HA_STATE_DIR;
        delete process.env.PULUMI_CONFIG_PASSPHRASE_FILE;

        const admin = { user: LAB_ADMIN, password: labAdminPassword(status) };
        const { config, secrets } = labStackConfig(status, {
            clusterName: CLUSTER,
            adminPassword: admin.password,
            sshPrivateKey: sshPrivateKey(status),
            s3: keys,
            agentVersion: agentVersion(),
        });
        secretValues = secrets;
        const stack = await openStack("st-src", {});
        await setStackConfig(stack, config, secrets);
        cluster = { stack, status, admin };
        await timed("source up (install, 2 joins, backup)", () => stack.up({ color: "never" }));
        await pushImage(cluster, status.hosts[0], status.hosts[0], "state", "1");
        timings["before (lab up, buckets, source stack)"] = Number(((Date.now() - t0) / 1000).toFixed(1));
    });

    after(async () => {
        await loseCluster(status).catch(() => undefined);
        for (const h of status.hosts) await wipeDtr(h, ids).catch(() => undefined);
        for (const b of stateBuckets) await emptyAndDeleteBucket(s3, b).catch(() => undefined);
        for (const k of ENV_KEYS) {
            if (saved[k] === undefined) delete process.env[k];
            else process.env[k] = saved[k];
        }
        fs.rmSync(project, { recursive: true, force: true });
        console.log(`    state-backend timings (s): ${JSON.stringify(timings)}`);
    });

    it("(1) the source stack's state is in the S3 backend; backup, lose the cluster, rebuild into a new stack there", async () => {
        const stateKeys = await listKeys(s3, stateBuckets[0]);
        assert.ok(
            stateKeys.some((k) => /^\.pulumi\/stacks\/dtr-ha\/st-src\.json/.test(k)),
            JSON.stringify(stateKeys),
        );
        const key = await timed("backup", async () => {
            const all = await cluster.stack.getAllConfig();
            const backup = JSON.parse(all["dtr-ha:backup"].value);
            await cluster.stack.setConfig("dtr-ha:backup", { value: JSON.stringify({ ...backup, trigger: "drill-1" }) });
            return (await cluster.stack.up({ color: "never" })).outputs.lastBackup.value as string;
        });

        // The configuration beside the manifest, as the bucket holds it: every plain value, secrets by name only.
        const stored = key.replace(/\.manifest\.json$/, ".stack-config.json");
        const body = await s3.send(new GetObjectCommand({ Bucket: status.s3.buckets.backups, Key: stored }));
        const bytes = Buffer.from(await body.Body!.transformToByteArray()).toString("utf8");
        for (const [name, value] of Object.entries(secretValues)) {
            const probes = name === "sshPrivateKey" ? value.split("\n").filter((l) => l.length > 20) : [value];
            for (const p of probes) assert.ok(!bytes.includes(p), `the value of ${name} is in s3://…/${stored}`);
        }
        const doc = JSON.parse(bytes);
        assert.deepStrictEqual(
            doc.secrets,
            Object.keys(secretValues)
                .map((k) => `dtr-ha:${k}`)
                .sort(),
        );
        assert.deepStrictEqual(JSON.parse(doc.config["dtr-ha:cluster"]).name, CLUSTER);
        assert.strictEqual(doc.sourceStack, "st-src");

        await loseCluster(status);
        firstRebuild = await timed("rebuild (1) into the same S3 backend", () =>
            rebuild({ from: key, stack: "st-rebuilt", sourceStack: "st-src", destroyExisting: false }, quiet()),
        );
        assert.ok(firstRebuild.ok, JSON.stringify(firstRebuild));
        assert.deepStrictEqual(firstRebuild.replicaIds, ids, "the same replica ids");
        assert.deepStrictEqual(listStackNames({}), ["st-rebuilt", "st-src"], "both stacks in the S3 backend");
        const rebuilt = await openStack("st-rebuilt", {});
        assert.match(
            (await rebuilt.outputs()).restored.value,
            /metadata matches the backup in all six categories: 1 repositories, 1 tags, 0 team grants, \d+ settings/,
        );
    });

    it("(2) the state bucket deleted: --config-from-backup asks for exactly the missing secrets, then rebuilds in another backend", async () => {
        // The newest backup: the one the rebuilt stack took at the end of its restore (its own configuration).
        const rebuilt = await openStack("st-rebuilt", {});
        const key = (await rebuilt.outputs()).lastBackup.value as string;
        assert.notStrictEqual(key, firstRebuild.manifestKey);
        await loseCluster(status);
        await emptyAndDeleteBucket(s3, stateBuckets[0]);
        await assert.rejects(s3.send(new HeadBucketCommand({ Bucket: stateBuckets[0] })), "the state bucket is gone");

        process.env.PULUMI_BACKEND_URL = backendUrl(stateBuckets[1]);
        const backupBucket = `s3://${status.s3.buckets.backups}?endpoint=${encodeURIComponent(status.s3.endpoint)}&s3ForcePathStyle=true&region=${status.s3.region}`;
        const names = Object.keys(secretValues).map((k) => `dtr-ha:${k}`);
        // No secret given: every one named with its variable, and nothing created. (The bucket's own keys are read
        // from the AWS environment here, as the SDK would.)
        const refusal = await rebuild(
            { from: key, stack: "st-again", configFromBackup: { backupBucket, env: { ...process.env } }, destroyExisting: false },
            quiet(),
        ).then(
            () => assert.fail("rebuilt without secrets"),
            (e: Error) => e,
        );
        assert.ok(refusal instanceof UsageError, refusal.message);
        for (const n of names) assert.ok(refusal.message.includes(`secret ${n} is missing: set ${secretEnvName(n)}`), refusal.message);
        assert.deepStrictEqual(listStackNames({}), [], "no stack was created");

        // The secrets: the SSH key from a mode-600 file, the others from DTR_HA_SECRET_* variables.
        const file = path.join(project, "secrets.json");
        fs.writeFileSync(file, JSON.stringify({ "dtr-ha:sshPrivateKey": secretValues.sshPrivateKey }), { mode: 0o600 });
        const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
        for (const [k, v] of Object.entries(secretValues)) if (k !== "sshPrivateKey") env[secretEnvName(`dtr-ha:${k}`)] = v;
        const report = await timed("rebuild (2) from the backup's configuration", () =>
            rebuild(
                {
                    from: key,
                    stack: "st-again",
                    configFromBackup: { backupBucket, secretsFile: file, env },
                    destroyExisting: false,
                },
                quiet(),
            ),
        );
        assert.ok(report.ok, JSON.stringify(report));
        assert.deepStrictEqual(report.replicaIds, ids, "the same replica ids");
        const again = await openStack("st-again", {});
        assert.match(
            (await again.outputs()).restored.value,
            /metadata matches the backup in all six categories: 1 repositories, 1 tags, 0 team grants, \d+ settings/,
        );
        const cfg = await again.getAllConfig();
        for (const n of names) assert.strictEqual(cfg[n]?.secret, true, `${n} is a secret of the new stack`);
        assert.strictEqual(cfg["dtr-ha:ucpPassword"].value, secretValues.ucpPassword);
        assert.strictEqual(JSON.parse(cfg["dtr-ha:cluster"].value).name, CLUSTER);
        assert.strictEqual(JSON.parse(cfg["dtr-ha:restore"].value).manifestKey, key);
        const stateKeys = await listKeys(s3, stateBuckets[1]);
        assert.ok(
            stateKeys.some((k) => /^\.pulumi\/stacks\/dtr-ha\/st-again\.json/.test(k)),
            JSON.stringify(stateKeys),
        );
    });
});

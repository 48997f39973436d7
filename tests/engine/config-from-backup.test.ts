/**
 * `rebuild --config-from-backup` refuses, before anything is created, while a secret the backup names is missing: the
 * compiled CLI against a real MinIO holding a backup written by the agent (object, stored configuration, manifest
 * pinning it), with a file backend from PULUMI_BACKEND_URL and the real pulumi CLI. No lab: the rebuild itself is
 * tests/lab/state-backend.test.ts.
 */
import * as assert from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as net from "net";
import { ChildProcess, execFileSync, spawn, spawnSync } from "child_process";
import { CreateBucketCommand, PutBucketVersioningCommand, S3Client } from "@aws-sdk/client-s3";
import { REPO_ROOT } from "../../lab/lab";
import { tarOf } from "../../backup-agent/test/synth-tar";
import { agent } from "../../stacks/catalog";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const freePort = (): Promise<number> =>
    new Promise((ok, fail) => {
        const srv = net.createServer().listen(0, "127.0.0.1", () => {
            const port = (srv.address() as net.AddressInfo).port;
            srv.close(() => ok(port));
        });
        srv.on("error", fail);
    });

/** A throw-away MinIO (the toolchain's binary) with a versioned, object-locked bucket, as the lab's backup bucket. */
async function startMinio(dir: string): Promise<{ proc: ChildProcess; endpoint: string; env: Record<string, string> }> {
    const bin = execFileSync("bash", ["-c", "command -v minio"], { encoding: "utf8" }).trim();
    const [port, console_] = [await freePort(), await freePort()];
    const user = "cfb" + crypto.randomBytes(4).toString("hex");
    const password = crypto.randomBytes(12).toString("hex");
    const proc = spawn(bin, ["server", dir, "--address", `127.0.0.1:${port}`, "--console-address", `127.0.0.1:${console_}`], {
        env: { PATH: process.env.PATH, HOME: dir, MINIO_ROOT_USER: user, MINIO_ROOT_PASSWORD: password },
        stdio: "ignore",
    });
    const endpoint = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
        const up = await fetch(`${endpoint}/minio/health/live`).then(
            (r) => r.ok,
            () => false,
        );
        if (up) break;
        if (i > 100) throw new Error("minio did not start");
        await new Promise((r) => setTimeout(r, 200));
    }
    const env = {
        AWS_ACCESS_KEY_ID: user,
        AWS_SECRET_ACCESS_KEY: password,
        AWS_REGION: "us-east-1",
        S3_ENDPOINT: endpoint,
        S3_FORCE_PATH_STYLE: "true",
    };
    const s3 = new S3Client({
        endpoint,
        region: "us-east-1",
        forcePathStyle: true,
        credentials: { accessKeyId: user, secretAccessKey: password },
    });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET, ObjectLockEnabledForBucket: true }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: "Enabled" } }));
    s3.destroy();
    return { proc, endpoint, env };
}

const BIN = path.join(__dirname, "..", "..", "stacks");
const BUCKET = "dtr-backups";
const SECRETS = ["dtr-ha:ucpPassword", "dtr-ha:sshPrivateKey", "dtr-ha:backupAccessKey", "dtr-ha:backupSecretKey"];

describe("rebuild --config-from-backup asks for the backup's secrets before creating anything (real MinIO, pulumi CLI)", function () {
    this.timeout(300_000);
    let minio: Awaited<ReturnType<typeof startMinio>>;
    let tmp: string;
    let project: string;
    let backend: string;
    let manifestKey: string;

    before(async () => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dtr-ha-cfb-"));
        fs.mkdirSync(path.join(tmp, "minio"));
        minio = await startMinio(path.join(tmp, "minio"));
        project = path.join(tmp, "project");
        backend = path.join(tmp, "backend");
        fs.mkdirSync(project);
        fs.mkdirSync(backend);
        fs.copyFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), path.join(project, "Pulumi.yaml"));
        // A backup as a host writes it: keys, the stored configuration, the object pinned to it, the manifest.
        const keys = JSON.parse(await agent(["keys", "--cluster", "c1", "--kind", "dtr", "--prefix", "dtr"], minio.env));
        manifestKey = keys.manifestKey;
        const doc = {
            format: "dtr-ha-stack-config/1",
            project: "dtr-ha",
            sourceStack: "gone",
            config: { "dtr-ha:cluster": '{"name":"c1"}' },
            secrets: SECRETS,
        };
        const pinned = JSON.parse(
            await agent(["put-stack-config", "--bucket", BUCKET, "--manifest-key", manifestKey], minio.env, JSON.stringify(doc)),
        );
        const tar = tarOf([{ name: "dtr-backup/meta.json", data: "{}" }]).toString("latin1");
        const manifest = await agent(
            [
                "upload",
                ...["--bucket", BUCKET, "--key", keys.objectKey, "--kind", "dtr", "--cluster", "c1"],
                ...["--meta", `stackConfigSha256=${pinned.sha256}`, "--meta", `stackConfigVersionId=${pinned.versionId}`],
            ],
            minio.env,
            tar,
        );
        await agent(["put-manifest", "--bucket", BUCKET, "--key", manifestKey], minio.env, manifest);
    });

    after(async () => {
        minio?.proc.kill();
        if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    });

    const rebuild = (extraEnv: Record<string, string>) => {
        const r = spawnSync(
            process.execPath,
            [
                path.join(BIN, "rebuild.js"),
                ...["--from", manifestKey, "--stack", "new", "--config-from-backup"],
                ...["--backup-bucket", `s3://${BUCKET}?endpoint=${encodeURIComponent(minio.endpoint)}&s3ForcePathStyle=true`],
            ],
            {
                cwd: project,
                env: {
                    PATH: process.env.PATH,
                    HOME: process.env.HOME,
                    PULUMI_BACKEND_URL: `file://${backend}`,
                    PULUMI_CONFIG_PASSPHRASE: crypto.randomBytes(8).toString("hex"),
                    PULUMI_SKIP_UPDATE_CHECK: "true",
                    AWS_ACCESS_KEY_ID: minio.env.AWS_ACCESS_KEY_ID,
                    AWS_SECRET_ACCESS_KEY: minio.env.AWS_SECRET_ACCESS_KEY,
                    ...extraEnv,
                },
                encoding: "utf8",
                timeout: 200_000,
            },
        );
        return { code: r.status, stderr: r.stderr };
    };
    const stacksIn = () =>
        fs.existsSync(path.join(backend, ".pulumi", "stacks")) ? fs.readdirSync(path.join(backend, ".pulumi", "stacks")) : [];

    it("names every missing secret with its variable, exits 2, and creates no stack", () => {
        const r = rebuild({});
        assert.strictEqual(r.code, 2, r.stderr);
        assert.match(
            r.stderr,
            /read the configuration stored with .*stack gone: 1 values, secrets dtr-ha:backupAccessKey, dtr-ha:backupSecretKey, dtr-ha:sshPrivateKey, dtr-ha:ucpPassword/,
        );
        for (const [name, env] of [
            ["dtr-ha:ucpPassword", "DTR_HA_SECRET_UCP_PASSWORD"],
            ["dtr-ha:sshPrivateKey", "DTR_HA_SECRET_SSH_PRIVATE_KEY"],
            ["dtr-ha:backupAccessKey", "DTR_HA_SECRET_BACKUP_ACCESS_KEY"],
            ["dtr-ha:backupSecretKey", "DTR_HA_SECRET_BACKUP_SECRET_KEY"],
        ])
            assert.ok(r.stderr.includes(`secret ${name} is missing: set ${env}`), r.stderr);
        assert.deepStrictEqual(stacksIn(), [], "no stack was created");
    });

    it("with all but one given, names only that one, and never prints a value", () => {
        const r = rebuild({
            DTR_HA_SECRET_UCP_PASSWORD: "ucp-pw-given-1",
            DTR_HA_SECRET_BACKUP_ACCESS_KEY: minio.env.AWS_ACCESS_KEY_ID,
            DTR_HA_SECRET_BACKUP_SECRET_KEY: minio.env.AWS_SECRET_ACCESS_KEY,
        });
        assert.strictEqual(r.code, 2, r.stderr);
        const missing = r.stderr.split("\n").filter((l) => / is missing: /.test(l));
        assert.strictEqual(missing.length, 1, r.stderr);
        // (The summary appends the total time to the message's last line.)
        assert.ok(
            missing[0].startsWith(
                'secret dtr-ha:sshPrivateKey is missing: set DTR_HA_SECRET_SSH_PRIVATE_KEY, or put "dtr-ha:sshPrivateKey" in the --secrets-file JSON',
            ),
            missing[0],
        );
        assert.ok(!r.stderr.includes("ucp-pw-given-1") && !r.stderr.includes(minio.env.AWS_SECRET_ACCESS_KEY));
        assert.deepStrictEqual(stacksIn(), [], "no stack was created");
    });
});

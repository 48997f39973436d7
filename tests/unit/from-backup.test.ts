/**
 * `rebuild --config-from-backup`'s pure parts: the backup bucket URL, where each secret is read from, that exactly the
 * secrets the backup names are asked for (all missing ones in one message, never a value), the secrets file's checks,
 * the bucket access built before the document is read, and the input refusals.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { accessFromStore, configFromDoc, gatherSecrets, parseBackupStore, readSecretsFile, secretEnvName } from "../../stacks/from-backup";
import { rebuildInputProblems } from "../../stacks/rebuild";

const KEY = "dtr/manifests/lab/20261130T030000123Z-1a2b3c4d-dtr.manifest.json";
const MINIO = "s3://dtr-backups?endpoint=http://10.200.0.1:9000&s3ForcePathStyle=true";

describe("rebuild --config-from-backup: inputs", () => {
    it("reads the backup bucket as an s3:// URL with region, endpoint and path style, and refuses anything else", () => {
        assert.deepStrictEqual(parseBackupStore("--backup-bucket", MINIO), {
            bucket: "dtr-backups",
            region: "us-east-1",
            endpoint: "http://10.200.0.1:9000",
            forcePathStyle: true,
        });
        assert.deepStrictEqual(parseBackupStore("--backup-bucket", "s3://b-1?region=eu-west-1"), { bucket: "b-1", region: "eu-west-1" });
        const refused: [string, RegExp][] = [
            ["dtr-backups", /is not a URL/],
            ["https://dtr-backups", /must be an s3:\/\/ URL/],
            ["s3://key:secret@dtr-backups", /must not carry credentials/],
            ["s3://dtr-backups/dtr", /name the bucket only/],
            ["s3://Bad_Bucket", /not an S3 bucket name/],
            ["s3://dtr-backups?endpoint=ftp://x", /endpoint="ftp:\/\/x" must be http\(s\)/],
            ["s3://dtr-backups?s3ForcePathStyle=yes", /s3ForcePathStyle="yes" must be true or false/],
            ["s3://dtr-backups?regoin=x", /unknown parameter "regoin"/],
        ];
        for (const [text, why] of refused) assert.match(String(parseBackupStore("--backup-bucket", text)), why, text);
    });

    it("names each secret's variable from its config key", () => {
        assert.strictEqual(secretEnvName("dtr-ha:ucpPassword"), "DTR_HA_SECRET_UCP_PASSWORD");
        assert.strictEqual(secretEnvName("dtr-ha:sshPrivateKey"), "DTR_HA_SECRET_SSH_PRIVATE_KEY");
        assert.strictEqual(secretEnvName("dtr-ha:backupAccessKey"), "DTR_HA_SECRET_BACKUP_ACCESS_KEY");
        assert.strictEqual(secretEnvName("aws:secretKey"), "DTR_HA_SECRET_AWS_SECRET_KEY");
    });

    it("asks for exactly the backup's secrets: every missing one named with how to give it, none twice, none extra, no value shown", () => {
        const names = ["dtr-ha:ucpPassword", "dtr-ha:sshPrivateKey", "dtr-ha:backupSecretKey", "dtr-ha:ageIdentity"];
        const env = { DTR_HA_SECRET_UCP_PASSWORD: "pw-from-env", DTR_HA_SECRET_AGE_IDENTITY: "age-env" };
        const file = { "dtr-ha:sshPrivateKey": "key-from-file", "dtr-ha:ageIdentity": "age-file", "dtr-ha:ucpPasword": "typo-value" };
        const r = gatherSecrets(names, env, file, KEY);
        assert.deepStrictEqual(r.values, { "dtr-ha:ucpPassword": "pw-from-env", "dtr-ha:sshPrivateKey": "key-from-file" });
        assert.deepStrictEqual(r.problems, [
            'secret dtr-ha:backupSecretKey is missing: set DTR_HA_SECRET_BACKUP_SECRET_KEY, or put "dtr-ha:backupSecretKey" in the --secrets-file JSON',
            "secret dtr-ha:ageIdentity is given twice (env DTR_HA_SECRET_AGE_IDENTITY and --secrets-file): give it once",
            `--secrets-file gives dtr-ha:ucpPasword, which backup ${KEY} does not need: remove it (a misspelt name?)`,
        ]);
        for (const v of [...Object.values(env), ...Object.values(file)]) assert.ok(!r.problems.join("\n").includes(v), v);
        // All given: no problem, and an empty variable counts as not given.
        const all = gatherSecrets(["dtr-ha:ucpPassword"], { DTR_HA_SECRET_UCP_PASSWORD: "" }, { "dtr-ha:ucpPassword": "x" }, KEY);
        assert.deepStrictEqual(all, { values: { "dtr-ha:ucpPassword": "x" }, problems: [] });
    });

    it("takes a secrets file only when its owner alone can read it, as a JSON object of non-empty strings", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dtr-ha-secrets-"));
        try {
            const f = path.join(dir, "s.json");
            fs.writeFileSync(f, JSON.stringify({ "dtr-ha:ucpPassword": "pw" }), { mode: 0o644 });
            assert.throws(() => readSecretsFile(f), /is readable by others \(mode 644\): chmod 600/);
            fs.chmodSync(f, 0o600);
            assert.deepStrictEqual(readSecretsFile(f), { "dtr-ha:ucpPassword": "pw" });
            fs.writeFileSync(f, '{"dtr-ha:ucpPassword": "oops-secret",}');
            assert.throws(
                () => readSecretsFile(f),
                (e: Error) => /is not JSON/.test(e.message) && !e.message.includes("oops-secret"),
            );
            fs.writeFileSync(f, JSON.stringify({ ucpPassword: "pw" }));
            assert.throws(() => readSecretsFile(f), /"ucpPassword" is not a namespace:key name/);
            fs.writeFileSync(f, JSON.stringify({ "dtr-ha:ucpPassword": 5 }));
            assert.throws(() => readSecretsFile(f), /dtr-ha:ucpPassword must be a non-empty string \(value not shown\)/);
            assert.throws(() => readSecretsFile(path.join(dir, "none.json")), /does not exist/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("reaches the bucket with the backup's own keys when given, else the AWS environment; prefix and cluster from the key", () => {
        const store = parseBackupStore("--backup-bucket", MINIO) as Exclude<ReturnType<typeof parseBackupStore>, string>;
        const a = accessFromStore(
            KEY,
            store,
            { DTR_HA_SECRET_BACKUP_ACCESS_KEY: "ak", AWS_ACCESS_KEY_ID: "other" },
            {
                "dtr-ha:backupSecretKey": "sk",
                "dtr-ha:ageIdentity": "AGE-SECRET-KEY-1X",
            },
        );
        assert.deepStrictEqual(a, {
            bucket: "dtr-backups",
            prefix: "dtr",
            cluster: "lab",
            env: {
                AWS_REGION: "us-east-1",
                S3_ENDPOINT: "http://10.200.0.1:9000",
                S3_FORCE_PATH_STYLE: "true",
                AWS_ACCESS_KEY_ID: "ak",
                AWS_SECRET_ACCESS_KEY: "sk",
                DTR_HA_AGE_IDENTITY: "AGE-SECRET-KEY-1X",
            },
        });
        const viaAws = accessFromStore(
            KEY,
            { bucket: "b-1", region: "eu-west-1" },
            { AWS_ACCESS_KEY_ID: "i", AWS_SECRET_ACCESS_KEY: "s" },
            undefined,
        );
        assert.deepStrictEqual(viaAws.env, { AWS_REGION: "eu-west-1", AWS_ACCESS_KEY_ID: "i", AWS_SECRET_ACCESS_KEY: "s" });
    });

    it("sets the stored values as plain config and the given secrets as secrets", () => {
        const doc = {
            format: "dtr-ha-stack-config/1" as const,
            project: "dtr-ha",
            sourceStack: "lab",
            config: { "dtr-ha:cluster": "{}" },
            secrets: ["dtr-ha:ucpPassword"],
        };
        assert.deepStrictEqual(configFromDoc(doc, { "dtr-ha:ucpPassword": "pw" }), {
            "dtr-ha:cluster": { value: "{}" },
            "dtr-ha:ucpPassword": { value: "pw", secret: true },
        });
    });

    it("refuses --config-from-backup without a bucket, with latest, or with a --source-stack", () => {
        const base = { from: KEY, stack: "new" };
        assert.deepStrictEqual(rebuildInputProblems({ ...base, configFromBackup: { backupBucket: MINIO } }), []);
        assert.deepStrictEqual(rebuildInputProblems({ ...base, configFromBackup: {} }), [
            "--config-from-backup needs --backup-bucket s3://<bucket>?region=... (the bucket the backup is in)",
        ]);
        assert.match(
            rebuildInputProblems({ ...base, from: "latest", configFromBackup: { backupBucket: MINIO } }).join(),
            /--from latest needs the source stack/,
        );
        assert.match(
            rebuildInputProblems({ ...base, sourceStack: "lab", configFromBackup: { backupBucket: MINIO } }).join(),
            /--source-stack lab and --config-from-backup exclude each other/,
        );
        assert.match(rebuildInputProblems({ ...base, configFromBackup: { backupBucket: "s3://X" } }).join(), /not an S3 bucket name/);
        // Without it the source stack is still required.
        assert.match(rebuildInputProblems(base).join(), /--source-stack is required/);
    });
});

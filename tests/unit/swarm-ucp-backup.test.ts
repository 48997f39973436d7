/**
 * Swarm and UCP backups: the generated scripts parse in bash and dash, the Swarm backup's refusals and its
 * engine-restart-on-failure run for real in dash against a scripted `docker` CLI (so the protections are exercised, not
 * just grepped), bad input is refused by name, and the components' resource graphs under Pulumi mocks keep secrets in
 * the (secret) environment only. The real Swarm backup and restore run in tests/lab/swarm.test.ts.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { Declared, captureDeclarations, settle, valueOf } from "./mocks";
import {
    SWARM_UNLOCK_KEY_ENV,
    SwarmBackup,
    SwarmRestore,
    swarmBackupScript,
    swarmPeerScript,
    swarmRestoreScript,
} from "../../components/backup/swarm-backup";
import { UCP_PASSPHRASE_ENV, UcpBackup, ucpBackupCommand, ucpBackupScript } from "../../components/backup/ucp-backup";

const AGENT = "10.200.0.1:5000/dtr-ha-backup:0.1.0";
const RECIPIENT = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";
const KEY = "swarm/manifests/prod/20260131T120000Z-swarm.manifest.json";
const ENGINE = { stop: "engine-stop", start: "engine-start" };

function parses(script: string): void {
    for (const sh of ["bash", "dash"]) {
        const r = spawnSync(sh, ["-n"], { input: script, encoding: "utf8" });
        assert.strictEqual(r.status, 0, `${sh} -n: ${r.stderr}`);
    }
}

describe("swarm and UCP backup scripts", () => {
    it("every variant parses in bash -n and dash -n", () => {
        const scripts = [
            swarmBackupScript({ agentImage: AGENT, bucket: "dtr-backups", cluster: "prod" }),
            swarmBackupScript({
                agentImage: AGENT,
                bucket: "dtr-backups",
                prefix: "swarm",
                cluster: "prod",
                engine: ENGINE,
                recipients: [RECIPIENT],
                lock: { mode: "COMPLIANCE", days: 30 },
                dataRoot: "/srv/docker",
                readyTimeout: 60,
                sourceStack: "prod",
            }),
            swarmRestoreScript({ agentImage: AGENT, bucket: "dtr-backups", manifestKey: KEY }),
            swarmPeerScript("before-restore", "ppoo3lc4i737h0n9xsgf9n2x6"),
            swarmPeerScript("after-restore", "ppoo3lc4i737h0n9xsgf9n2x6", 30),
            swarmPeerScript("forget", "ppoo3lc4i737h0n9xsgf9n2x6"),
            swarmRestoreScript({
                agentImage: AGENT,
                bucket: "dtr-backups",
                manifestKey: KEY,
                engine: ENGINE,
                encrypted: true,
                dataRoot: "/srv/docker",
            }),
            ucpBackupScript({
                agentImage: AGENT,
                bucket: "dtr-backups",
                cluster: "prod",
                recipients: [RECIPIENT],
                ucp: { image: { repository: "docker/ucp", version: "3.2.6" } },
            }),
            ucpBackupScript({
                agentImage: AGENT,
                bucket: "dtr-backups",
                cluster: "prod",
                ucp: { image: { repository: "docker/ucp", version: "3.2.6" }, passphraseEnv: UCP_PASSPHRASE_ENV, includeLogs: true },
            }),
        ];
        scripts.forEach(parses);
    });

    it("the swarm backup defaults to systemd, tars <dataRoot>/swarm into tmpfs and uploads it as kind swarm", () => {
        const s = swarmBackupScript({ agentImage: AGENT, bucket: "dtr-backups", cluster: "prod" });
        assert.match(s, /systemctl stop docker/);
        assert.match(s, /systemctl start docker/);
        assert.match(s, /tar -C \/var\/lib\/docker -cf "\$archive" swarm/);
        assert.match(s, /for d in \/dev\/shm \/run/);
        assert.match(s, /umask 077/);
        assert.match(s, /upload --bucket dtr-backups --kind swarm --cluster prod/);
        assert.match(s, /--meta "nodeId=\$node"/);
        assert.ok(
            !/force-new-cluster/.test(s + swarmRestoreScript({ agentImage: AGENT, bucket: "dtr-backups", manifestKey: KEY })),
            "never --force-new-cluster",
        );
    });

    it("the swarm restore verifies before it stops the engine, and keeps the previous directory aside", () => {
        const s = swarmRestoreScript({ agentImage: AGENT, bucket: "dtr-backups", manifestKey: KEY, engine: ENGINE });
        const verify = s.indexOf(" verify --bucket");
        const stop = s.indexOf("stop_engine || exit 1");
        assert.ok(verify > 0 && stop > verify, "verify comes before the stop");
        assert.ok(s.indexOf(" download --bucket") < stop, "download comes before the stop (the agent needs the engine)");
        assert.match(s, /swarm\.before-restore/);
        assert.match(s, /REFUSED: the backup holds no swarm\/certificates\/swarm-node.key/);
        assert.match(s, /-xpf "\$archive" --exclude=swarm\/raft/, "rejoin restores the identity, not the stale raft log");
        assert.match(s, /the backup is of engine \$version/);
        assert.match(s, /is not an address of/);
        const full = swarmRestoreScript({ agentImage: AGENT, bucket: "dtr-backups", manifestKey: KEY, mode: "force-new-cluster" });
        assert.match(full, /docker swarm init --force-new-cluster/);
        assert.ok(!full.includes("--exclude=swarm/raft"));
    });

    it("bad input is refused by name", () => {
        const base = { agentImage: AGENT, bucket: "dtr-backups", cluster: "prod" };
        assert.throws(() => swarmBackupScript({ ...base, bucket: "Bad_Bucket" }), /swarmBackup\.bucket="Bad_Bucket"/);
        assert.throws(() => swarmBackupScript({ ...base, prefix: "/abs/" }), /swarmBackup\.prefix="\/abs\/"/);
        assert.throws(
            () => swarmBackupScript({ ...base, dataRoot: "var/lib/docker" }),
            /swarmBackup\.dataRoot="var\/lib\/docker".*absolute/,
        );
        assert.throws(() => swarmBackupScript({ ...base, readyTimeout: 5 }), /swarmBackup\.readyTimeout=5/);
        assert.throws(() => swarmBackupScript({ ...base, engine: { stop: "a\nb", start: "x" } }), /swarmBackup\.engine\.stop/);
        assert.throws(() => swarmBackupScript({ ...base, cluster: "a b" }), /swarmBackup\.cluster="a b"/);
        assert.throws(
            () => swarmRestoreScript({ agentImage: AGENT, bucket: "dtr-backups", manifestKey: "x.tar.gz" }),
            /swarmRestore\.manifestKey="x\.tar\.gz"/,
        );
        assert.throws(() => swarmPeerScript("before-restore", "host2"), /swarm node id "host2" is not a node id/);
        assert.throws(() => swarmPeerScript("demote" as "before-restore", "a".repeat(25)), /use before-restore, after-restore or forget/);
        assert.throws(() => swarmPeerScript("after-restore", "a".repeat(25), 3), /readyTimeout=3/);
        assert.throws(() => ucpBackupCommand({ image: { repository: "docker/ucp", version: "latest" } }), /ucp\.image\.version="latest"/);
        assert.throws(
            () => ucpBackupCommand({ image: { repository: "docker/ucp", version: "3.2.6" }, passphraseEnv: "bad name" }),
            /environment variable name "bad name"/,
        );
        assert.throws(
            () => ucpBackupScript({ ...base, ucp: { image: { repository: "docker/ucp", version: "3.2.6" } } }),
            /holds private keys: set target\.recipients .* or a passphrase/,
        );
    });

    it("the UCP command keeps the passphrase out of the script text and defaults to --no-passphrase", () => {
        assert.strictEqual(
            ucpBackupCommand({ image: { repository: "docker/ucp", version: "3.2.6" } }),
            "docker container run --rm -i --log-driver none --name ucp-backup -v /var/run/docker.sock:/var/run/docker.sock docker/ucp:3.2.6 backup --no-passphrase",
        );
        const withPass = ucpBackupCommand({ image: { repository: "docker/ucp", version: "3.2.6" }, passphraseEnv: UCP_PASSPHRASE_ENV });
        assert.ok(withPass.endsWith(`backup --passphrase "$${UCP_PASSPHRASE_ENV}"`), withPass);
        const s = ucpBackupScript({
            agentImage: AGENT,
            bucket: "dtr-backups",
            cluster: "prod",
            ucp: { image: { repository: "docker/ucp", version: "3.2.6" }, passphraseEnv: UCP_PASSPHRASE_ENV },
        });
        assert.match(s, /--kind ucp/);
        assert.match(s, /--meta ucpVersion=3\.2\.6/);
        assert.match(s, /REFUSED: DTR_HA_UCP_BACKUP_PASSPHRASE is empty/);
    });
});

/**
 * A scripted `docker` CLI and engine controls: what the node answers comes from files, every call is logged, so the
 * swarm backup script runs for real in dash and its decisions can be checked.
 */
describe("swarm backup script, run in dash against a scripted node", function () {
    this.timeout(30000);
    const REAL_TAR = spawnSync("sh", ["-c", "command -v tar"], { encoding: "utf8" }).stdout.trim();
    let dir: string;
    const fake = (name: string, body: string) => fs.writeFileSync(path.join(dir, "bin", name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });

    function node(o: { leader?: string; control?: string; managers?: string[]; autolock?: string }) {
        fs.writeFileSync(path.join(dir, "leader"), o.leader ?? "false");
        fs.writeFileSync(path.join(dir, "control"), o.control ?? "true");
        fs.writeFileSync(path.join(dir, "managers"), (o.managers ?? ["Leader", "Reachable", "Reachable"]).join("\n") + "\n");
        fs.writeFileSync(path.join(dir, "autolock"), o.autolock ?? "false");
    }

    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "swarm-backup-"));
        fs.mkdirSync(path.join(dir, "bin"));
        fs.mkdirSync(path.join(dir, "root", "swarm", "raft"), { recursive: true });
        fs.writeFileSync(path.join(dir, "root", "swarm", "state.json"), "[]");
        fs.writeFileSync(path.join(dir, "up"), "");
        const d = dir;
        // The engine answers while the file `up` exists; stop/start remove/create it and log.
        fake("engine-stop", `echo stop >> ${d}/calls; rm -f ${d}/up`);
        fake("engine-start", `echo start >> ${d}/calls; touch ${d}/up`);
        // The real tar, its argv logged: the test then knows which archive this run made.
        fake("tar", `echo "tar $*" >> ${d}/calls; exec ${REAL_TAR} "$@"`);
        fake(
            "docker",
            `echo "docker $*" >> ${d}/calls
[ -e ${d}/up ] || exit 1
case "$*" in
  "version --format {{.Server.Version}}") echo 20.10.24 ;;
  "info --format {{.Swarm.ControlAvailable}}") cat ${d}/control ;;
  "node inspect self --format {{.ManagerStatus.Leader}}") cat ${d}/leader ;;
  "node ls --filter role=manager --format {{.ManagerStatus}}") cat ${d}/managers ;;
  "info --format {{.Swarm.NodeID}}") echo node2id ;;
  "info --format {{.Swarm.Cluster.Spec.EncryptionConfig.AutoLockManagers}}") cat ${d}/autolock ;;
  "info --format {{.Swarm.NodeAddr}}") echo 10.0.0.2 ;;
  "info --format {{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}") echo "active true" ;;
  "info --format {{.Swarm.LocalNodeState}}") echo active ;;
  "node inspect self --format {{.Status.State}} {{.ManagerStatus.Reachability}}") echo "ready reachable" ;;
  *" keys "*) echo '{"objectKey":"swarm/objects/prod/swarm/T.tar.gz","manifestKey":"swarm/manifests/prod/T-swarm.manifest.json"}' ;;
  *" upload "*) [ -e ${d}/upload-fails ] && exit 1; cat > ${d}/uploaded.tar; echo '{"format":"dtr-ha-backup/1","kind":"swarm"}' ;;
  *" put-manifest "*) cat > ${d}/stored-manifest; echo stored ;;
  *) echo "unexpected docker $*" >&2; exit 9 ;;
esac`,
        );
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    function run(extraEnv: Record<string, string> = {}) {
        const script = swarmBackupScript({
            agentImage: AGENT,
            bucket: "dtr-backups",
            prefix: "swarm",
            cluster: "prod",
            engine: ENGINE,
            dataRoot: path.join(dir, "root"),
            readyTimeout: 10,
        });
        const r = spawnSync("dash", ["-c", script], {
            env: { PATH: `${path.join(dir, "bin")}:${process.env.PATH}`, ...extraEnv },
            encoding: "utf8",
        });
        const calls = fs.existsSync(path.join(dir, "calls"))
            ? fs.readFileSync(path.join(dir, "calls"), "utf8").split("\n").filter(Boolean)
            : [];
        return { ...r, calls, engineCalls: calls.filter((c) => c === "stop" || c === "start") };
    }

    it("a whole run: stop, tar, start, Ready manager, upload, manifest stored, catalog line last; no archive left", () => {
        node({});
        const r = run();
        assert.strictEqual(r.status, 0, r.stderr);
        assert.deepStrictEqual(r.engineCalls, ["stop", "start"]);
        const last = r.stdout.trim().split("\n").pop()!;
        assert.deepStrictEqual(JSON.parse(last), {
            manifestKey: "swarm/manifests/prod/T-swarm.manifest.json",
            manifest: { format: "dtr-ha-backup/1", kind: "swarm" },
        });
        const list = spawnSync("tar", ["-tf", path.join(dir, "uploaded.tar")], { encoding: "utf8" }).stdout;
        assert.match(list, /^swarm\/state\.json$/m);
        assert.ok(fs.existsSync(path.join(dir, "stored-manifest")));
        // This run's archive (by the tar that wrote it; other test files running at the same time make their own).
        const archive = / -cf (\S+) swarm$/.exec(r.calls.find((c) => c.startsWith("tar ")) ?? "")?.[1];
        assert.match(archive ?? "", /^\/(dev\/shm|run)\/dtr-ha-swarm\.[A-Za-z0-9]{6}$/, "the archive is made on a tmpfs");
        assert.ok(!fs.existsSync(archive!), "the tmpfs archive is removed");
        assert.match(r.stderr, /uploading \d+ bytes/);
    });

    for (const [what, o, msg] of [
        ["the leader", { leader: "true" }, /is the swarm leader/],
        ["a worker", { control: "false" }, /is not a swarm manager/],
        [
            "a node whose peers lack quorum without it",
            { managers: ["Leader", "Reachable", "Unreachable"] },
            /2 of 3 managers are reachable/,
        ],
        ["an autolocked node without the unlock key", { autolock: "true" }, /autolock is on and DTR_HA_SWARM_UNLOCK_KEY is not set/],
    ] as [string, Parameters<typeof node>[0], RegExp][]) {
        it(`refuses on ${what} and never stops the engine`, () => {
            node(o);
            const r = run();
            assert.strictEqual(r.status, 1);
            assert.match(r.stderr, /REFUSED/);
            assert.match(r.stderr, msg);
            assert.deepStrictEqual(r.engineCalls, []);
            assert.ok(!fs.existsSync(path.join(dir, "stored-manifest")));
        });
    }

    it("a failure while the engine is down (tar fails) starts the engine again and stores no manifest", () => {
        node({});
        // tar fails after the engine stopped (e.g. a read error).
        fs.writeFileSync(path.join(dir, "bin", "tar"), "#!/bin/sh\necho 'tar: simulated read error' >&2; exit 2\n", { mode: 0o755 });
        const r = run();
        assert.strictEqual(r.status, 1);
        assert.match(r.stderr, /FAILED: tar of .*\/swarm failed/);
        assert.deepStrictEqual(r.engineCalls, ["stop", "start"], "the engine is started again");
        assert.ok(!fs.existsSync(path.join(dir, "stored-manifest")));
    });

    it("a failed upload stores no manifest (the engine is already back)", () => {
        node({});
        fs.writeFileSync(path.join(dir, "upload-fails"), "");
        const r = run();
        assert.strictEqual(r.status, 1);
        assert.match(r.stderr, /FAILED: upload failed; no manifest written/);
        assert.deepStrictEqual(r.engineCalls, ["stop", "start"]);
        assert.ok(!fs.existsSync(path.join(dir, "stored-manifest")));
    });

    it("with autolock and the key, the run passes (the key is read from the environment)", () => {
        node({ autolock: "true" });
        const r = run({ [SWARM_UNLOCK_KEY_ENV]: "SWMKEY-1-secret" });
        assert.strictEqual(r.status, 0, r.stderr);
        assert.ok(!r.calls.some((c) => c.includes("SWMKEY")), "the unlock key never reaches argv");
    });
});

describe("SwarmBackup and UcpBackup components (Pulumi mocks)", () => {
    const S3_SECRET = "s3-secret-value";
    const PASSPHRASE = "ucp-pgp-passphrase";
    const UNLOCK = "SWMKEY-1-unlock";
    const connection = { host: "10.0.0.2", user: "root", privateKey: pulumi.secret("PRIVATE-KEY") };
    const s3 = { region: "eu-west-1", accessKey: pulumi.secret("AK"), secretKey: pulumi.secret(S3_SECRET) };

    async function commandOf(declared: Declared[], name: string) {
        const c = declared.find((d) => d.type === "command:remote:Command" && d.name === name);
        assert.ok(c, `${name} declared (have ${declared.map((d) => d.name).join(", ")})`);
        const env = pulumi.output(c.props.environment);
        return {
            c,
            create: await valueOf<string>(c.props.create),
            env: await valueOf<Record<string, string>>(env),
            envSecret: await (env as any).isSecret,
        };
    }

    it("SwarmBackup: one remote command under the component, secrets only in the secret environment", async () => {
        const declared: Declared[] = [];
        const b = new SwarmBackup(
            "swarm",
            {
                clusterName: "prod",
                connection,
                target: { agentImage: AGENT, bucket: "backups-bucket", prefix: "swarm", recipients: [RECIPIENT] },
                s3,
                unlockKey: pulumi.secret(UNLOCK),
                engine: ENGINE,
                triggers: ["2026-01-31"],
            },
            { transformations: [captureDeclarations(declared)] },
        );
        await settle();
        assert.strictEqual(declared.find((d) => d.name === "swarm")?.type, "dtr-ha:index:SwarmBackup");
        const { c, create, env, envSecret } = await commandOf(declared, "swarm-swarm");
        parses(create);
        for (const s of [S3_SECRET, UNLOCK, "PRIVATE-KEY"]) assert.ok(!create.includes(s), "no secret in the script");
        assert.ok(envSecret, "the environment is secret");
        assert.strictEqual(env.AWS_SECRET_ACCESS_KEY, S3_SECRET);
        assert.strictEqual(env[SWARM_UNLOCK_KEY_ENV], UNLOCK);
        assert.match(create, /is the swarm leader/);
        assert.match(create, /--recipient age1/);
        assert.strictEqual(await valueOf(c.props.delete), "true");
        assert.deepStrictEqual(await valueOf(c.props.triggers), ["2026-01-31"]);
        assert.ok(b.command instanceof pulumi.CustomResource, "a resource callers can put in dependsOn");
    });

    it("SwarmRestore rejoin: before-restore on the manager, the restore on the node, after-restore, in that order", async () => {
        const declared: Declared[] = [];
        const manager = { host: "10.0.0.3", user: "root", privateKey: pulumi.secret("PRIVATE-KEY") };
        const r = new SwarmRestore(
            "swr",
            {
                manifestKey: KEY,
                nodeId: "ppoo3lc4i737h0n9xsgf9n2x6",
                connection,
                manager,
                target: { agentImage: AGENT, bucket: "backups-bucket" },
                s3,
                ageIdentity: pulumi.secret("AGE-SECRET-KEY-1XYZ"),
                unlockKey: pulumi.secret(UNLOCK),
                engine: ENGINE,
                triggers: ["drill-1"],
            },
            { transformations: [captureDeclarations(declared)] },
        );
        await settle();
        assert.strictEqual(r.mode, "rejoin");
        assert.deepStrictEqual(
            declared.filter((d) => d.type === "command:remote:Command").map((d) => [d.name, d.dependsOn]),
            [
                ["swr-before-restore", []],
                ["swr-restore", ["swr-before-restore"]],
                ["swr-after-restore", ["swr-restore"]],
            ],
        );
        const before = await commandOf(declared, "swr-before-restore");
        assert.strictEqual((await valueOf<any>(before.c.props.connection)).host, "10.0.0.3", "the peer steps run on the manager");
        assert.match(before.create, /docker node demote ppoo3lc4i737h0n9xsgf9n2x6/);
        const restore = await commandOf(declared, "swr-restore");
        parses(restore.create);
        assert.strictEqual((await valueOf<any>(restore.c.props.connection)).host, "10.0.0.2", "the restore runs on the node");
        assert.match(restore.create, /--exclude=swarm\/raft/);
        assert.match(restore.create, /--identity-env DTR_HA_AGE_IDENTITY/);
        for (const secret of [S3_SECRET, UNLOCK, "AGE-SECRET-KEY-1XYZ"])
            assert.ok(!restore.create.includes(secret), "no secret in the script");
        assert.ok(restore.envSecret);
        assert.strictEqual(restore.env.DTR_HA_AGE_IDENTITY, "AGE-SECRET-KEY-1XYZ");
        assert.strictEqual(restore.env[SWARM_UNLOCK_KEY_ENV], UNLOCK);
        assert.strictEqual(await valueOf(restore.c.props.delete), "true", "deleting the component changes nothing on the hosts");
        assert.strictEqual((r.command as any).__name, "swr-after-restore", "after-restore is the component's last command");
    });

    it("SwarmRestore without a manager: one force-new-cluster restore; a bad node id fails the program by name", async () => {
        const declared: Declared[] = [];
        const r = new SwarmRestore(
            "swf",
            {
                manifestKey: KEY,
                nodeId: "ppoo3lc4i737h0n9xsgf9n2x6",
                connection,
                target: { agentImage: AGENT, bucket: "backups-bucket" },
                s3,
                triggers: [1],
            },
            { transformations: [captureDeclarations(declared)] },
        );
        await settle();
        assert.strictEqual(r.mode, "force-new-cluster");
        assert.deepStrictEqual(
            declared.filter((d) => d.type === "command:remote:Command").map((d) => d.name),
            ["swf-restore"],
        );
        const { create } = await commandOf(declared, "swf-restore");
        assert.match(create, /docker swarm init --force-new-cluster/);
        assert.ok(!create.includes("--exclude=swarm/raft"), "the whole state, raft log included");
        assert.throws(
            () =>
                new SwarmRestore("bad", {
                    manifestKey: KEY,
                    nodeId: "host2",
                    connection,
                    manager: connection,
                    target: { agentImage: AGENT, bucket: "backups-bucket" },
                    s3,
                    triggers: [],
                }),
            /swarm node id "host2" is not a node id/,
        );
    });

    it("UcpBackup: the passphrase travels in the secret environment, the script names only its variable", async () => {
        const declared: Declared[] = [];
        const u = new UcpBackup(
            "ucp",
            {
                clusterName: "prod",
                connection,
                image: { repository: "docker/ucp", version: "3.2.6" },
                passphrase: pulumi.secret(PASSPHRASE),
                target: { agentImage: AGENT, bucket: "backups-bucket", prefix: "ucp" },
                s3,
                triggers: [1],
            },
            { transformations: [captureDeclarations(declared)] },
        );
        await settle();
        assert.strictEqual(declared.find((d) => d.name === "ucp")?.type, "dtr-ha:index:UcpBackup");
        const { create, env, envSecret } = await commandOf(declared, "ucp-ucp");
        parses(create);
        assert.ok(!create.includes(PASSPHRASE) && !create.includes(S3_SECRET));
        assert.match(create, new RegExp(`--passphrase "\\$${UCP_PASSPHRASE_ENV}"`));
        assert.ok(envSecret);
        assert.strictEqual(env[UCP_PASSPHRASE_ENV], PASSPHRASE);
        assert.ok(u.command instanceof pulumi.CustomResource);
    });
});

/** The restore script in dash against a scripted node: its refusals leave the engine and the directory alone. */
describe("swarm restore script, run in dash against a scripted node", function () {
    this.timeout(30000);
    const NODE = "ppoo3lc4i737h0n9xsgf9n2x6";
    let dir: string;
    const root = () => path.join(dir, "root");
    const fake = (name: string, body: string) => fs.writeFileSync(path.join(dir, "bin", name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });

    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "swarm-restore-"));
        fs.mkdirSync(path.join(dir, "bin"));
        // The backup: identity and a raft log.
        const src = path.join(dir, "src", "swarm");
        fs.mkdirSync(path.join(src, "certificates"), { recursive: true });
        fs.mkdirSync(path.join(src, "raft", "wal-v3-encrypted"), { recursive: true });
        fs.writeFileSync(path.join(src, "certificates", "swarm-node.key"), "KEY");
        fs.writeFileSync(path.join(src, "raft", "wal-v3-encrypted", "0.wal"), "WAL");
        fs.writeFileSync(path.join(src, "state.json"), "[]");
        spawnSync("tar", ["-C", path.join(dir, "src"), "-cf", path.join(dir, "backup.tar"), "swarm"]);
        // What is on the node now: a directory the restore must set aside (or put back on failure).
        fs.mkdirSync(path.join(root(), "swarm"), { recursive: true });
        fs.writeFileSync(path.join(root(), "swarm", "current"), "now");
        fs.writeFileSync(path.join(dir, "up"), "");
        fs.writeFileSync(path.join(dir, "engine"), "20.10.24");
        const d = dir;
        fake("engine-stop", `echo stop >> ${d}/calls; rm -f ${d}/up`);
        fake("engine-start", `echo start >> ${d}/calls; touch ${d}/up`);
        fake("ip", `echo "2: eth0    inet $(cat ${d}/addr 2>/dev/null || echo 10.0.0.2)/24 brd 10.0.0.255 scope global eth0"`);
        const entry = JSON.stringify({
            manifestKey: KEY,
            manifest: { kind: "swarm", meta: { nodeId: NODE, engineVersion: "20.10.24", nodeAddr: "10.0.0.2", autolock: "false" } },
        });
        fake(
            "docker",
            `echo "docker $*" >> ${d}/calls
[ -e ${d}/up ] || exit 1
case "$*" in
  "version --format {{.Server.Version}}") cat ${d}/engine ;;
  "info --format {{.Swarm.LocalNodeState}}") echo active ;;
  "info --format {{.Swarm.LocalNodeState}} {{.Swarm.NodeID}} {{.Swarm.ControlAvailable}}") echo "active ${NODE} true" ;;
  *" list "*) echo '${entry}' ;;
  *" verify "*) [ -e ${d}/verify-fails ] && exit 1; echo '{"ok":true}' ;;
  *" download "*) cat ${d}/backup.tar ;;
  *) echo "unexpected docker $*" >&2; exit 9 ;;
esac`,
        );
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    function run() {
        const script = swarmRestoreScript({
            agentImage: AGENT,
            bucket: "dtr-backups",
            manifestKey: KEY,
            engine: ENGINE,
            dataRoot: root(),
            readyTimeout: 10,
        });
        const r = spawnSync("dash", ["-c", script], { env: { PATH: `${path.join(dir, "bin")}:${process.env.PATH}` }, encoding: "utf8" });
        const calls = fs.existsSync(path.join(dir, "calls"))
            ? fs.readFileSync(path.join(dir, "calls"), "utf8").split("\n").filter(Boolean)
            : [];
        return { ...r, engineCalls: calls.filter((c) => c === "stop" || c === "start") };
    }
    const untouched = () => assert.strictEqual(fs.readFileSync(path.join(root(), "swarm", "current"), "utf8"), "now");

    it("rejoin: the identity comes back, the stale raft log does not, the previous directory is set aside", () => {
        const r = run();
        assert.strictEqual(r.status, 0, r.stderr);
        assert.deepStrictEqual(r.engineCalls, ["stop", "start"]);
        assert.strictEqual(fs.readFileSync(path.join(root(), "swarm", "certificates", "swarm-node.key"), "utf8"), "KEY");
        assert.ok(!fs.existsSync(path.join(root(), "swarm", "raft")), "no raft log restored");
        assert.ok(fs.readdirSync(root()).some((n) => n.startsWith("swarm.before-restore.")));
        assert.match(r.stdout, new RegExp(`back in the swarm as node ${NODE}`));
    });

    for (const [what, setup, msg] of [
        [
            "another engine version",
            () => fs.writeFileSync(path.join(dir, "engine"), "24.0.7"),
            /the backup is of engine 20\.10\.24, this engine is 24\.0\.7/,
        ],
        ["another address", () => fs.writeFileSync(path.join(dir, "addr"), "10.0.0.3"), /node address 10\.0\.0\.2 is not an address of/],
        ["a backup that fails verification", () => fs.writeFileSync(path.join(dir, "verify-fails"), ""), /does not match its manifest/],
    ] as [string, () => void, RegExp][]) {
        it(`refuses ${what}: engine and directory untouched`, () => {
            setup();
            const r = run();
            assert.strictEqual(r.status, 1);
            assert.match(r.stderr, /REFUSED/);
            assert.match(r.stderr, msg);
            assert.deepStrictEqual(r.engineCalls, []);
            untouched();
        });
    }

    it("a failed extraction puts the previous directory back and starts the engine", () => {
        fs.writeFileSync(
            path.join(dir, "bin", "tar"),
            `#!/bin/sh\ncase "$*" in *-xpf*) echo 'tar: simulated write error' >&2; exit 2 ;; esac\nexec /usr/bin/tar "$@"\n`,
            { mode: 0o755 },
        );
        const r = run();
        assert.strictEqual(r.status, 1);
        assert.match(r.stderr, /FAILED: extracting the backup failed/);
        assert.match(r.stderr, /put the previous swarm directory back/);
        assert.deepStrictEqual(r.engineCalls, ["stop", "start"]);
        untouched();
    });
});

/**
 * The manager-side steps around a rejoin restore, in dash against a scripted manager: the order matters (see
 * swarmPeerScript), so it is checked on the calls made, and the store's answers change the way swarmkit's do.
 */
describe("swarm peer scripts, run in dash against a scripted manager", function () {
    this.timeout(30000);
    const NODE = "ppoo3lc4i737h0n9xsgf9n2x6";
    let dir: string;

    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "swarm-peer-"));
        fs.mkdirSync(path.join(dir, "bin"));
        const d = dir;
        // State files: status (ready/down), role (manager/worker), member (member/gone), polls before the member goes.
        fs.writeFileSync(path.join(d, "status"), "down");
        fs.writeFileSync(path.join(d, "role"), "manager");
        fs.writeFileSync(path.join(d, "member"), "member");
        // The scripts poll the store between sleeps: each sleep returns at once (and is logged), so a wait costs no
        // wall time; a test that needs the store to change at a sleep replaces it.
        fs.writeFileSync(path.join(d, "bin", "sleep"), `#!/bin/sh\necho "sleep $*" >> ${d}/calls\n`, { mode: 0o755 });
        fs.writeFileSync(
            path.join(d, "bin", "docker"),
            `#!/bin/sh
echo "docker $*" >> ${d}/calls
case "$*" in
  "node inspect ${NODE} --format {{.Status.State}}") cat ${d}/status ;;
  "node inspect ${NODE} --format {{.Spec.Role}} {{if .ManagerStatus}}member{{else}}gone{{end}}")
    # The raft member goes two polls after the demotion, as swarmkit's role manager does it asynchronously.
    if [ "$(cat ${d}/role)" = worker ] && [ -e ${d}/polls ]; then n=$(cat ${d}/polls); [ "$n" -ge 2 ] && echo gone > ${d}/member; echo $((n + 1)) > ${d}/polls; fi
    echo "$(cat ${d}/role) $(cat ${d}/member)" ;;
  "node demote ${NODE}") [ "$(cat ${d}/status)" = ready ] && exit 7; echo worker > ${d}/role; echo 0 > ${d}/polls ;;
  "node promote ${NODE}") echo manager > ${d}/role ;;
  "node rm ${NODE}") [ "$(cat ${d}/status)" != ready ] && [ "$(cat ${d}/role) $(cat ${d}/member)" != "manager member" ] || exit 8; echo removed > ${d}/removed ;;
  "node inspect ${NODE} --format {{.Status.State}} {{.ManagerStatus.Reachability}}") [ -e ${d}/back ] && echo "ready reachable" || echo "down <no value>" ;;
  "node inspect ${NODE} --format "*) echo "down manager not-in-raft" ;;
  *) echo "unexpected docker $*" >&2; exit 9 ;;
esac
`,
            { mode: 0o755 },
        );
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    function run(script: string) {
        const r = spawnSync("dash", ["-c", script], { env: { PATH: `${path.join(dir, "bin")}:/usr/bin:/bin` }, encoding: "utf8" });
        const calls = fs.readFileSync(path.join(dir, "calls"), "utf8").split("\n").filter(Boolean);
        return { ...r, changes: calls.filter((c) => / node (demote|promote|rm) /.test(c)).map((c) => c.split(" ")[2]) };
    }

    it("before-restore demotes, waits until the raft member is gone, then promotes again", () => {
        const r = run(swarmPeerScript("before-restore", NODE));
        assert.strictEqual(r.status, 0, r.stderr);
        assert.deepStrictEqual(r.changes, ["demote", "promote"]);
        const calls = fs.readFileSync(path.join(dir, "calls"), "utf8");
        assert.ok(calls.indexOf("node promote") > calls.lastIndexOf("{{if .ManagerStatus}}"), "promoted only after the member was gone");
        assert.ok(calls.indexOf("sleep 1") > calls.indexOf("node demote"), "it waited (slept) between the polls after the demotion");
        assert.strictEqual(fs.readFileSync(path.join(dir, "member"), "utf8").trim(), "gone");
        assert.match(r.stdout, /out of raft and a manager again in the store; restore it now/);
    });

    it("before-restore refuses a node that stays Ready, and changes nothing", () => {
        fs.writeFileSync(path.join(dir, "status"), "ready");
        // 60 s of polling would be slow: a sleep that returns at once keeps the bound's logic and not its wall time.
        fs.writeFileSync(path.join(dir, "bin", "sleep"), "#!/bin/sh\n", { mode: 0o755 });
        const r = run(swarmPeerScript("before-restore", NODE));
        assert.strictEqual(r.status, 1);
        assert.match(r.stderr, /REFUSED: node ppoo3lc4i737h0n9xsgf9n2x6 is still Ready after 60 s; stop its engine/);
        assert.deepStrictEqual(r.changes, []);
    });

    it("forget removes a lost manager of an old swarm (no raft member) without demoting it", () => {
        fs.writeFileSync(path.join(dir, "member"), "gone");
        const r = run(swarmPeerScript("forget", NODE));
        assert.strictEqual(r.status, 0, r.stderr);
        assert.deepStrictEqual(r.changes, ["rm"], "docker refuses to demote a manager that is no raft member");
    });

    it("forget waits until an Unknown node is Down, demotes a raft member out of raft, then removes it", () => {
        fs.writeFileSync(path.join(dir, "status"), "unknown");
        // The restored manager marks the old nodes Down after a grace period: here, at the first sleep.
        fs.writeFileSync(path.join(dir, "bin", "sleep"), `#!/bin/sh\necho down > ${dir}/status\n`, { mode: 0o755 });
        const r = run(swarmPeerScript("forget", NODE));
        assert.strictEqual(r.status, 0, r.stderr);
        assert.deepStrictEqual(r.changes, ["demote", "rm"]);
        assert.ok(fs.existsSync(path.join(dir, "removed")));
        assert.match(r.stdout, /node ppoo3lc4i737h0n9xsgf9n2x6 of the lost swarm removed/);
    });

    it("forget refuses a node that is Ready, and one still not Down at the deadline; nothing is removed", () => {
        fs.writeFileSync(path.join(dir, "bin", "sleep"), "#!/bin/sh\n", { mode: 0o755 });
        fs.writeFileSync(path.join(dir, "status"), "ready");
        const ready = run(swarmPeerScript("forget", NODE));
        assert.strictEqual(ready.status, 1);
        assert.match(ready.stderr, /is Ready: it is not lost; not removing it/);
        fs.writeFileSync(path.join(dir, "status"), "unknown");
        const late = run(swarmPeerScript("forget", NODE, 10));
        assert.strictEqual(late.status, 1);
        assert.match(late.stderr, /is still unknown after 10 s, not Down; not removing it/);
        assert.deepStrictEqual(late.changes, []);
        assert.ok(!fs.existsSync(path.join(dir, "removed")));
    });

    it("after-restore waits for a Ready, reachable manager and says what it saw when it times out", () => {
        fs.writeFileSync(path.join(dir, "bin", "sleep"), "#!/bin/sh\n", { mode: 0o755 });
        const late = run(swarmPeerScript("after-restore", NODE, 10));
        assert.strictEqual(late.status, 1);
        assert.match(late.stderr, /is not a Ready, reachable manager within 10 s: down manager not-in-raft/);
        fs.writeFileSync(path.join(dir, "back"), "");
        const ok = run(swarmPeerScript("after-restore", NODE, 10));
        assert.strictEqual(ok.status, 0, ok.stderr);
        assert.match(ok.stdout, /is a Ready, reachable manager/);
        assert.deepStrictEqual(ok.changes, [], "after-restore changes nothing");
    });
});

/**
 * Swarm backups in the lab, for real: the SwarmBackup component (inline Automation API stack) backs up a non-leader
 * manager over SSH into MinIO, stopping and starting that host's own dockerd from inside the host
 * (lab/lib/engine-ctl.sh); then the manager loses its swarm directory and swarmRestoreScript brings it back as a Ready
 * manager with the same node id, still seeing a service and a network created before the backup. The leader is refused.
 * Leaves the lab as it found it (up, 3 Ready managers). Needs `bash lab/lab.sh up` and the toolchain env.
 */
import * as assert from "assert";
import { spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { LabHost, LabStatus, REPO_ROOT, labUp, s3Keys, sshPrivateKey } from "../../lab/lab";
import { labS3, listKeys } from "../../lab/s3";
import { agentVersion } from "../../stacks/lab-cluster";
import { EngineControl, SwarmBackup, swarmBackupScript, swarmPeerScript, swarmRestoreScript } from "../../components/backup/swarm-backup";

const PREFIX = "swarm-test";
const CLUSTER = "swlab";

interface Ran {
    code: number | null;
    stdout: string;
    stderr: string;
}

describe("Swarm backup and restore in the lab (real engines, SSH, MinIO)", function () {
    this.timeout(15 * 60 * 1000);
    let status: LabStatus;
    let leader: LabHost;
    let target: LabHost;
    let s3env: Record<string, string>;
    let stack: Stack | undefined;
    let manifestKey = "";
    let targetNodeId = "";
    const tag = crypto.randomBytes(3).toString("hex");
    const service = `swtest-svc-${tag}`;
    const network = `swtest-net-${tag}`;
    const timings: Record<string, number> = {};

    const hostDir = (h: LabHost) => path.join(status.stateDir, "hosts", h.name);
    const engine = (h: LabHost): EngineControl => {
        const ctl = path.join(REPO_ROOT, "lab", "lib", "engine-ctl.sh");
        return { stop: `sh ${ctl} stop ${hostDir(h)}`, start: `sh ${ctl} start ${hostDir(h)}` };
    };
    const agentImage = () => `${status.registry}/dtr-ha-backup:${agentVersion()}`;

    /** Runs a script on a lab host over SSH (stdin), with the S3 settings in SSH's environment only. */
    function onHost(h: LabHost, script: string, env: Record<string, string> = {}): Promise<Ran> {
        return new Promise((resolve, reject) => {
            const p = spawn(
                "ssh",
                ["-F", path.join(status.stateDir, "ssh", "config"), "-o", "SendEnv=AWS_* S3_* SWARM_JOIN_TOKEN", h.name, "sh", "-s"],
                {
                    env: { ...process.env, ...env },
                    stdio: ["pipe", "pipe", "pipe"],
                },
            );
            let stdout = "";
            let stderr = "";
            p.stdout.on("data", (d) => (stdout += d));
            p.stderr.on("data", (d) => (stderr += d));
            p.on("error", reject);
            p.on("close", (code) => resolve({ code, stdout, stderr }));
            p.stdin.end(script);
        });
    }
    async function sh(h: LabHost, script: string): Promise<string> {
        const r = await onHost(h, script);
        if (r.code !== 0) throw new Error(`${h.name}: ${script} -> exit ${r.code}: ${r.stderr.trim()}`);
        return r.stdout.trim();
    }
    const nodes = async (via: LabHost) =>
        (await sh(via, "docker node ls --format '{{.Hostname}} {{.ID}} {{.Status}} {{.ManagerStatus}}'"))
            .split("\n")
            .map((l) => l.split(" "));

    async function waitThreeReadyManagers(seconds: number): Promise<void> {
        const deadline = Date.now() + seconds * 1000;
        let last: unknown;
        while (Date.now() < deadline) {
            last = await nodes(leader).catch((e) => (e as Error).message);
            if (
                Array.isArray(last) &&
                last.length === 3 &&
                last.every((n) => n[2] === "Ready" && (n[3] === "Leader" || n[3] === "Reachable"))
            )
                return;
            await new Promise((r) => setTimeout(r, 2000));
        }
        throw new Error(`not 3 Ready managers within ${seconds}s: ${JSON.stringify(last)}`);
    }

    before(async () => {
        status = await labUp(false);
        const { accessKey, secretKey } = s3Keys(status);
        s3env = {
            AWS_ACCESS_KEY_ID: accessKey,
            AWS_SECRET_ACCESS_KEY: secretKey,
            AWS_REGION: status.s3.region,
            S3_ENDPOINT: status.s3.endpoint,
            S3_FORCE_PATH_STYLE: "true",
        };
        const first = status.hosts[0];
        const leaderName = (await nodes(first)).find((n) => n[3] === "Leader")?.[0];
        leader = status.hosts.find((h) => h.name === leaderName)!;
        assert.ok(leader, "the swarm has a leader");
        // host2 unless it leads.
        target =
            status.hosts.find((h) => h.name !== leader.name && h.name === "host2") ?? status.hosts.find((h) => h.name !== leader.name)!;
        await waitThreeReadyManagers(60);
        await sh(leader, `docker network create -d overlay ${network} >/dev/null`);
        await sh(
            leader,
            `docker service create -d --no-resolve-image --name ${service} --replicas 0 --network ${network} ${agentImage()} version >/dev/null`,
        );
        targetNodeId = await sh(target, "docker info --format '{{.Swarm.NodeID}}'");
    });

    after(async () => {
        // The lab as found: the target's engine running, 3 Ready managers, no test service or network.
        if (target) {
            await onHost(target, engine(target).start);
            try {
                await waitThreeReadyManagers(60);
            } catch (e) {
                // A failed run can leave the target outside the swarm, or crashing on a bad raft state: wipe its swarm
                // state and join it again (as a new node) so the lab keeps 3 managers. The token travels in SSH's env.
                console.error(`after: ${(e as Error).message}; rejoining ${target.name} as a new node`);
                try {
                    await onHost(target, engine(target).stop);
                    fs.rmSync(path.join(hostDir(target), "docker", "swarm"), { recursive: true, force: true });
                    await sh(target, engine(target).start);
                    await onHost(
                        leader,
                        `docker node demote ${targetNodeId} >/dev/null 2>&1; docker node rm --force ${targetNodeId} >/dev/null 2>&1; true`,
                    );
                    const token = await sh(leader, "docker swarm join-token -q manager");
                    const j = await onHost(target, `docker swarm join --token "$SWARM_JOIN_TOKEN" ${leader.address}:2377`, {
                        SWARM_JOIN_TOKEN: token,
                    });
                    if (j.code !== 0) throw new Error(`docker swarm join on ${target.name} failed (exit ${j.code})`, { cause: e });
                    await waitThreeReadyManagers(120);
                } catch (e2) {
                    console.error(`after: the lab needs a hand: ${(e2 as Error).message}`);
                }
            }
        }
        if (target) {
            // What the restore set aside (the wiped node's empty state): the lab host as it was.
            const root = path.join(hostDir(target), "docker");
            for (const d of fs.readdirSync(root).filter((n) => n.startsWith("swarm.before-restore.")))
                fs.rmSync(path.join(root, d), { recursive: true, force: true });
        }
        if (leader) {
            await onHost(
                leader,
                `docker service rm ${service} >/dev/null 2>&1; sleep 1; docker network rm ${network} >/dev/null 2>&1; true`,
            );
        }
        if (stack) {
            await stack.destroy({ color: "never" }).catch(() => undefined);
            await stack.workspace.removeStack(stack.name).catch(() => undefined);
        }
        console.log(`    timings (s): ${JSON.stringify(timings)}`);
    });

    it("refuses to back up the leader, and leaves its engine running", async () => {
        const pid = fs.readFileSync(path.join(hostDir(leader), "dockerd.pid"), "utf8").trim();
        const script = swarmBackupScript({
            agentImage: agentImage(),
            bucket: status.s3.buckets.backups,
            prefix: PREFIX,
            cluster: CLUSTER,
            engine: engine(leader),
            dataRoot: path.join(hostDir(leader), "docker"),
        });
        const r = await onHost(leader, script, s3env);
        assert.strictEqual(r.code, 1, r.stderr);
        assert.match(r.stderr, /REFUSED: .* is the swarm leader/);
        assert.strictEqual(
            fs.readFileSync(path.join(hostDir(leader), "dockerd.pid"), "utf8").trim(),
            pid,
            "the leader's dockerd was not restarted",
        );
    });

    it("the SwarmBackup component backs up a non-leader manager into the bucket, and the manager is Ready again", async () => {
        const dir = path.join(status.stateDir, "pulumi-swarm");
        fs.mkdirSync(path.join(dir, "backend"), { recursive: true, mode: 0o700 });
        const passFile = path.join(dir, "passphrase");
        if (!fs.existsSync(passFile)) fs.writeFileSync(passFile, crypto.randomBytes(18).toString("base64url"), { mode: 0o600 });
        const backend = `file://${path.join(dir, "backend")}`;
        const key = sshPrivateKey(status);
        const program = async () => {
            const b = new SwarmBackup("swarm", {
                clusterName: CLUSTER,
                sourceStack: "swarm-test",
                connection: { host: target.address, port: target.sshPort, user: target.user, privateKey: pulumi.secret(key) },
                target: { agentImage: agentImage(), bucket: status.s3.buckets.backups, prefix: PREFIX },
                s3: {
                    region: status.s3.region,
                    endpoint: status.s3.endpoint,
                    forcePathStyle: true,
                    accessKey: pulumi.secret(s3env.AWS_ACCESS_KEY_ID),
                    secretKey: pulumi.secret(s3env.AWS_SECRET_ACCESS_KEY),
                },
                engine: engine(target),
                dataRoot: path.join(hostDir(target), "docker"),
                triggers: [tag],
            });
            return { manifestKey: b.manifestKey, manifest: b.manifest };
        };
        stack = await LocalWorkspace.createOrSelectStack(
            { stackName: `swarm-${tag}`, projectName: "dtr-ha-swarm-test", program },
            {
                workDir: dir,
                projectSettings: { name: "dtr-ha-swarm-test", runtime: "nodejs", backend: { url: backend } },
                secretsProvider: "passphrase",
                envVars: { PULUMI_CONFIG_PASSPHRASE: fs.readFileSync(passFile, "utf8").trim(), PULUMI_BACKEND_URL: backend },
            },
        );
        const t0 = Date.now();
        const res = await stack.up({ color: "never" });
        timings.backupUp = (Date.now() - t0) / 1000;
        manifestKey = res.outputs.manifestKey.value;
        const manifest = res.outputs.manifest.value;
        assert.match(manifestKey, new RegExp(`^${PREFIX}/manifests/${CLUSTER}/.*-swarm\\.manifest\\.json$`));
        assert.strictEqual(manifest.kind, "swarm");
        assert.strictEqual(manifest.meta.nodeId, targetNodeId);
        assert.strictEqual(manifest.meta.hostname, target.name);
        assert.ok(manifest.content.files.includes("swarm/raft/"), JSON.stringify(manifest.content.files));
        const keys = await listKeys(labS3(status), status.s3.buckets.backups, `${PREFIX}/`);
        assert.ok(keys.includes(manifestKey), "the manifest is in the bucket");
        assert.ok(keys.includes(manifest.object.key), "the object is in the bucket");
        // The state as stored (exportStack would decrypt secrets): no S3 secret or SSH key in clear anywhere.
        const files = fs.readdirSync(path.join(dir, "backend"), { recursive: true, withFileTypes: true }).filter((f) => f.isFile());
        assert.ok(files.length > 0, "the backend holds the stack state");
        for (const f of files) {
            const text = fs.readFileSync(path.join(f.parentPath, f.name), "utf8");
            assert.ok(
                !text.includes(s3env.AWS_SECRET_ACCESS_KEY) && !text.includes(key.trim().split("\n")[1]),
                `secret in clear in ${f.name}`,
            );
        }
        await waitThreeReadyManagers(30);
    });

    it("refuses to restore a node's backup onto another host, and leaves that host's engine running", async () => {
        assert.ok(manifestKey, "the backup test ran");
        const other = status.hosts.find((h) => h.name !== target.name)!;
        const pid = fs.readFileSync(path.join(hostDir(other), "dockerd.pid"), "utf8").trim();
        const script = swarmRestoreScript({
            agentImage: agentImage(),
            bucket: status.s3.buckets.backups,
            manifestKey,
            engine: engine(other),
            dataRoot: path.join(hostDir(other), "docker"),
        });
        const r = await onHost(other, script, s3env);
        assert.strictEqual(r.code, 1, r.stderr);
        assert.match(r.stderr, new RegExp(`REFUSED: the backup's node address ${target.address} is not an address of ${other.name}`));
        assert.strictEqual(fs.readFileSync(path.join(hostDir(other), "dockerd.pid"), "utf8").trim(), pid, "its dockerd was not restarted");
    });

    it("a Swarm backup restores a manager: same node id, Ready manager, service and network still listed", async () => {
        assert.ok(manifestKey, "the backup test ran");
        // Lose the manager's swarm state: engine stopped from inside the host, directory wiped from the root namespace.
        await sh(target, engine(target).stop);
        fs.rmSync(path.join(hostDir(target), "docker", "swarm"), { recursive: true, force: true });
        // Its stale raft membership goes first (a healthy manager does it), then the node comes back as itself.
        const before = await onHost(leader, swarmPeerScript("before-restore", targetNodeId));
        assert.strictEqual(before.code, 0, before.stderr);
        assert.strictEqual(
            await sh(leader, `docker node inspect ${targetNodeId} --format '{{.Spec.Role}} {{.ManagerStatus}}'`),
            "manager <nil>",
        );
        const script = swarmRestoreScript({
            agentImage: agentImage(),
            bucket: status.s3.buckets.backups,
            manifestKey,
            engine: engine(target),
            dataRoot: path.join(hostDir(target), "docker"),
        });
        const t0 = Date.now();
        const r = await onHost(target, script, s3env);
        timings.restore = (Date.now() - t0) / 1000;
        assert.strictEqual(r.code, 0, r.stderr);
        assert.match(r.stdout, new RegExp(`back in the swarm as node ${targetNodeId}`));
        const t1 = Date.now();
        const after = await onHost(leader, swarmPeerScript("after-restore", targetNodeId));
        timings.afterRestore = (Date.now() - t1) / 1000;
        assert.strictEqual(after.code, 0, after.stderr);
        assert.strictEqual(await sh(target, "docker info --format '{{.Swarm.NodeID}}'"), targetNodeId, "same node id");
        await waitThreeReadyManagers(60);
        const me = (await nodes(leader)).find((n) => n[0] === target.name)!;
        assert.deepStrictEqual([me[1], me[2], me[3]], [targetNodeId, "Ready", "Reachable"]);
        assert.match(await sh(target, "docker service ls --format '{{.Name}}'"), new RegExp(`^${service}$`, "m"));
        assert.match(await sh(target, "docker network ls --filter driver=overlay --format '{{.Name}}'"), new RegExp(`^${network}$`, "m"));
    });
});

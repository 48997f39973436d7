/**
 * Swarm backups in the lab, for real: the SwarmBackup component (inline Automation API stack) backs up a non-leader
 * manager over SSH into MinIO, stopping and starting that host's own dockerd from inside the host
 * (lab/lib/engine-ctl.sh); then the manager loses its swarm directory and a SwarmRestore added to the same stack
 * brings it back (before-restore on the leader, the restore on the node, after-restore) as a Ready manager with the same
 * node id, still seeing a service and a network created before the backup. The leader is refused as a backup source,
 * and a backup is refused on another host. Leaves the lab as it found it (up, 3 Ready managers). Needs
 * `bash lab/lab.sh up` and the toolchain env.
 */
import * as assert from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { LabHost, labUp, sshPrivateKey } from "../../lab/lab";
import { labS3, listKeys } from "../../lab/s3";
import { SwarmBackup, SwarmRestore, swarmBackupScript, swarmRestoreScript } from "../../components/backup/swarm-backup";
import { SwarmLab } from "./swarm-lab";

const PREFIX = "swarm-test";
const CLUSTER = "swlab";

describe("Swarm backup and restore in the lab (real engines, SSH, MinIO)", function () {
    this.timeout(15 * 60 * 1000);
    let lab: SwarmLab;
    let leader: LabHost;
    let target: LabHost;
    let s3env: Record<string, string>;
    let stack: Stack | undefined;
    let manifestKey = "";
    let targetNodeId = "";
    let key = "";
    let stateDir = "";
    let restoreWith: { manifestKey: string; nodeId: string } | undefined;
    const tag = crypto.randomBytes(3).toString("hex");
    const service = `swtest-svc-${tag}`;
    const network = `swtest-net-${tag}`;
    const timings: Record<string, number> = {};

    /** The state as stored (exportStack would decrypt secrets): no S3 secret or SSH key in clear anywhere. */
    function noSecretInState(): void {
        const files = fs.readdirSync(path.join(stateDir, "backend"), { recursive: true, withFileTypes: true }).filter((f) => f.isFile());
        assert.ok(files.length > 0, "the backend holds the stack state");
        for (const f of files) {
            const text = fs.readFileSync(path.join(f.parentPath, f.name), "utf8");
            assert.ok(
                !text.includes(s3env.AWS_SECRET_ACCESS_KEY) && !text.includes(key.trim().split("\n")[1]),
                `secret in clear in ${f.name}`,
            );
        }
    }

    before(async () => {
        lab = new SwarmLab(await labUp(false));
        s3env = lab.s3env();
        leader = await lab.leader(lab.managers[0]);
        // mgr2 unless it leads.
        target = lab.managers.find((h) => h.name !== leader.name && h.name === "mgr2") ?? lab.managers.find((h) => h.name !== leader.name)!;
        await lab.waitReadyManagers(leader, 3, 60);
        await lab.sh(leader, `docker network create -d overlay ${network} >/dev/null`);
        await lab.sh(
            leader,
            `docker service create -d --no-resolve-image --name ${service} --replicas 0 --network ${network} ${lab.agentImage()} version >/dev/null`,
        );
        targetNodeId = await lab.sh(target, "docker info --format '{{.Swarm.NodeID}}'");
    });

    after(async () => {
        // The lab as found: the target's engine running, 3 Ready managers, no test service or network.
        if (target) {
            await lab.onHost(target, lab.engine(target).start);
            try {
                await lab.waitReadyManagers(leader, 3, 60);
            } catch (e) {
                // A failed run can leave the target outside the swarm, or crashing on a bad raft state: wipe its swarm
                // state and join it again (as a new node) so the lab keeps 3 managers. The token travels in SSH's env.
                console.error(`after: ${(e as Error).message}; rejoining ${target.name} as a new node`);
                try {
                    await lab.onHost(target, lab.engine(target).stop);
                    fs.rmSync(path.join(lab.hostDir(target), "docker", "swarm"), { recursive: true, force: true });
                    await lab.sh(target, lab.engine(target).start);
                    await lab.onHost(
                        leader,
                        `docker node demote ${targetNodeId} >/dev/null 2>&1; docker node rm --force ${targetNodeId} >/dev/null 2>&1; true`,
                    );
                    const token = await lab.sh(leader, "docker swarm join-token -q manager");
                    const j = await lab.onHost(target, `docker swarm join --token "$SWARM_JOIN_TOKEN" ${leader.address}:2377`, {
                        SWARM_JOIN_TOKEN: token,
                    });
                    if (j.code !== 0) throw new Error(`docker swarm join on ${target.name} failed (exit ${j.code})`, { cause: e });
                    await lab.waitReadyManagers(leader, 3, 120);
                } catch (e2) {
                    console.error(`after: the lab needs a hand: ${(e2 as Error).message}`);
                }
            }
        }
        if (target) {
            // What the restore set aside (the wiped node's empty state): the lab host as it was.
            const root = path.join(lab.hostDir(target), "docker");
            for (const d of fs.readdirSync(root).filter((n) => n.startsWith("swarm.before-restore.")))
                fs.rmSync(path.join(root, d), { recursive: true, force: true });
        }
        if (leader) {
            await lab.onHost(
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
        const pid = fs.readFileSync(path.join(lab.hostDir(leader), "dockerd.pid"), "utf8").trim();
        const script = swarmBackupScript({
            ...lab.on(leader),
            prefix: PREFIX,
            cluster: CLUSTER,
        });
        const r = await lab.onHost(leader, script, s3env);
        assert.strictEqual(r.code, 1, r.stderr);
        assert.match(r.stderr, /REFUSED: .* is the swarm leader/);
        assert.strictEqual(
            fs.readFileSync(path.join(lab.hostDir(leader), "dockerd.pid"), "utf8").trim(),
            pid,
            "the leader's dockerd was not restarted",
        );
    });

    it("the SwarmBackup component backs up a non-leader manager into the bucket, and the manager is Ready again", async () => {
        const dir = (stateDir = path.join(lab.status.stateDir, "pulumi-swarm"));
        fs.mkdirSync(path.join(dir, "backend"), { recursive: true, mode: 0o700 });
        const passFile = path.join(dir, "passphrase");
        if (!fs.existsSync(passFile)) fs.writeFileSync(passFile, crypto.randomBytes(18).toString("base64url"), { mode: 0o600 });
        const backend = `file://${path.join(dir, "backend")}`;
        key = sshPrivateKey(lab.status);
        const conn = (h: LabHost) => ({ host: h.address, port: h.sshPort, user: h.user, privateKey: pulumi.secret(key) });
        const s3 = {
            region: lab.status.s3.region,
            endpoint: lab.status.s3.endpoint,
            forcePathStyle: true,
            accessKey: pulumi.secret(s3env.AWS_ACCESS_KEY_ID),
            secretKey: pulumi.secret(s3env.AWS_SECRET_ACCESS_KEY),
        };
        // One stack: the backup first; the restore test then sets restoreWith and runs `up` again, as an operator
        // would add a SwarmRestore to the stack that took the backup (the unchanged backup does not run again).
        const program = async () => {
            const b = new SwarmBackup("swarm", {
                clusterName: CLUSTER,
                sourceStack: "swarm-test",
                connection: conn(target),
                target: { agentImage: lab.agentImage(), bucket: lab.status.s3.buckets.backups, prefix: PREFIX },
                s3,
                engine: lab.engine(target),
                dataRoot: path.join(lab.hostDir(target), "docker"),
                triggers: [tag],
            });
            if (!restoreWith) return { manifestKey: b.manifestKey, manifest: b.manifest };
            const r = new SwarmRestore("swarm-restore", {
                manifestKey: restoreWith.manifestKey,
                nodeId: restoreWith.nodeId,
                connection: conn(target),
                manager: conn(leader),
                target: { agentImage: lab.agentImage(), bucket: lab.status.s3.buckets.backups },
                s3,
                engine: lab.engine(target),
                dataRoot: path.join(lab.hostDir(target), "docker"),
                triggers: [tag],
            });
            return { manifestKey: b.manifestKey, manifest: b.manifest, mode: r.mode, restored: r.restored };
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
        const keys = await listKeys(labS3(lab.status), lab.status.s3.buckets.backups, `${PREFIX}/`);
        assert.ok(keys.includes(manifestKey), "the manifest is in the bucket");
        assert.ok(keys.includes(manifest.object.key), "the object is in the bucket");
        noSecretInState();
        await lab.waitReadyManagers(leader, 3, 30);
    });

    it("refuses to restore a node's backup onto another host, and leaves that host's engine running", async () => {
        assert.ok(manifestKey, "the backup test ran");
        const other = lab.managers.find((h) => h.name !== target.name)!;
        const pid = fs.readFileSync(path.join(lab.hostDir(other), "dockerd.pid"), "utf8").trim();
        const script = swarmRestoreScript({
            ...lab.on(other),
            manifestKey,
        });
        const r = await lab.onHost(other, script, s3env);
        assert.strictEqual(r.code, 1, r.stderr);
        assert.match(r.stderr, new RegExp(`REFUSED: the backup's node address ${target.address} is not an address of ${other.name}`));
        assert.strictEqual(
            fs.readFileSync(path.join(lab.hostDir(other), "dockerd.pid"), "utf8").trim(),
            pid,
            "its dockerd was not restarted",
        );
    });

    it("a Swarm backup restores a manager: same node id, Ready manager, service and network still listed", async () => {
        assert.ok(manifestKey, "the backup test ran");
        // Lose the manager's swarm state: engine stopped from inside the host, directory wiped from the root namespace.
        await lab.sh(target, lab.engine(target).stop);
        fs.rmSync(path.join(lab.hostDir(target), "docker", "swarm"), { recursive: true, force: true });
        // SwarmRestore in the stack that took the backup: before-restore on the leader (out of raft, promoted again),
        // the restore on the node (its identity, not the stale raft log), after-restore on the leader.
        restoreWith = { manifestKey, nodeId: targetNodeId };
        const t0 = Date.now();
        const res = await stack!.up({ color: "never" });
        timings.restoreUp = (Date.now() - t0) / 1000;
        assert.strictEqual(res.outputs.mode.value, "rejoin");
        assert.match(
            res.outputs.restored.value,
            new RegExp(`back in the swarm as node ${targetNodeId} \\(restored from ${manifestKey}, mode rejoin\\)`),
        );
        assert.deepStrictEqual(
            Object.fromEntries(Object.entries(res.summary.resourceChanges ?? {}).filter(([op]) => op !== "same")),
            { create: 4 },
            "the component and its three commands created; the backup did not run again",
        );
        noSecretInState();
        assert.strictEqual(await lab.sh(target, "docker info --format '{{.Swarm.NodeID}}'"), targetNodeId, "same node id");
        await lab.waitReadyManagers(leader, 3, 60);
        const me = (await lab.nodes(leader)).find((n) => n[0] === target.name)!;
        assert.deepStrictEqual([me[1], me[2], me[3]], [targetNodeId, "Ready", "Reachable"]);
        assert.match(await lab.sh(target, "docker service ls --format '{{.Name}}'"), new RegExp(`^${service}$`, "m"));
        assert.match(
            await lab.sh(target, "docker network ls --filter driver=overlay --format '{{.Name}}'"),
            new RegExp(`^${network}$`, "m"),
        );
    });
});

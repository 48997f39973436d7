/**
 * The whole Swarm lost, for real: a manager's swarm directory is backed up into MinIO (swarmBackupScript over SSH),
 * then every engine stops and every host loses its swarm directory. swarmRestoreScript in `force-new-cluster` mode
 * brings the backed-up manager back as the sole manager of the swarm it had (same node id, the service and overlay
 * network created before the backup), the two replacement hosts join it as managers again, and the lost nodes are
 * removed with swarmPeerScript("forget") (docker/docs back-up-swarm.md, "Recover from disaster"). The managers are mgr1..3; the
 * replica hosts are workers, whose engines keep running and which must be Ready again in the restored swarm.
 * Leaves the lab up with 3 Ready managers and 3 Ready workers.
 * Needs `bash lab/lab.sh up` and the toolchain env.
 */
import * as assert from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { LabHost, labDown, labUp } from "../../lab/lab";
import { parseBackupStdout } from "../../components/backup/dtr-backup";
import { swarmBackupScript, swarmPeerScript, swarmRestoreScript } from "../../components/backup/swarm-backup";
import { SwarmLab } from "./swarm-lab";

const PREFIX = "swarm-lost-test";
const CLUSTER = "swlost";

describe("the whole Swarm lost and restored from one manager's backup (force-new-cluster, real engines)", function () {
    this.timeout(15 * 60 * 1000);
    let lab: SwarmLab;
    let target: LabHost;
    let others: LabHost[];
    let targetNodeId = "";
    let manifestKey = "";
    const tag = crypto.randomBytes(3).toString("hex");
    const service = `swlost-svc-${tag}`;
    const network = `swlost-net-${tag}`;
    const timings: Record<string, number> = {};

    before(async () => {
        lab = new SwarmLab(await labUp(false));
        const leader = await lab.leader(lab.managers[0]);
        await lab.waitReadyManagers(leader, 3, 60);
        // The backup runs on a manager that does not lead: mgr2 unless it leads.
        target = lab.managers.find((h) => h.name !== leader.name && h.name === "mgr2") ?? lab.managers.find((h) => h.name !== leader.name)!;
        others = lab.managers.filter((h) => h.name !== target.name);
        await lab.sh(leader, `docker network create -d overlay ${network} >/dev/null`);
        await lab.sh(
            leader,
            `docker service create -d --no-resolve-image --name ${service} --replicas 0 --network ${network} ${lab.agentImage()} version >/dev/null`,
        );
        targetNodeId = await lab.sh(target, "docker info --format '{{.Swarm.NodeID}}'");
        const t0 = Date.now();
        const backup = await lab.onHost(
            target,
            swarmBackupScript({
                ...lab.on(target),
                prefix: PREFIX,
                cluster: CLUSTER,
            }),
            lab.s3env(),
        );
        timings.backup = (Date.now() - t0) / 1000;
        assert.strictEqual(backup.code, 0, backup.stderr);
        manifestKey = parseBackupStdout(backup.stdout).manifestKey;
        await lab.waitReadyManagers(leader, 3, 60);
    });

    after(async () => {
        if (!lab) return;
        // The lab as found: 3 Ready managers and no test service or network; when that cannot be had, a fresh lab.
        try {
            const via = await lab.leader(target);
            await lab.waitReadyManagers(via, 3, 30);
            await lab.onHost(
                via,
                `docker service rm ${service} >/dev/null 2>&1; sleep 1; docker network rm ${network} >/dev/null 2>&1; true`,
            );
        } catch (e) {
            console.error(`after: ${(e as Error).message}; recreating the lab`);
            await labDown(false);
            await labUp(false);
        }
        for (const h of lab.managers) {
            const root = path.join(lab.hostDir(h), "docker");
            for (const d of fs.readdirSync(root).filter((n) => n.startsWith("swarm.before-restore.")))
                fs.rmSync(path.join(root, d), { recursive: true, force: true });
        }
        console.log(`    timings (s): ${JSON.stringify(timings)}`);
    });

    it("force-new-cluster brings the backed-up manager back as the sole manager: same node id, service and network", async () => {
        assert.ok(manifestKey, "the backup ran");
        // Every manager lost: engines stopped from inside the hosts, swarm directories wiped from the root namespace.
        await Promise.all(lab.managers.map((h) => lab.sh(h, lab.engine(h).stop)));
        for (const h of lab.managers) fs.rmSync(path.join(lab.hostDir(h), "docker", "swarm"), { recursive: true, force: true });
        // The replacement hosts: engines up, in no swarm.
        await Promise.all(others.map((h) => lab.sh(h, lab.engine(h).start)));
        for (const h of others) assert.strictEqual(await lab.sh(h, "docker info --format '{{.Swarm.LocalNodeState}}'"), "inactive");

        const t0 = Date.now();
        const r = await lab.onHost(
            target,
            swarmRestoreScript({
                ...lab.on(target),
                manifestKey,
                mode: "force-new-cluster",
            }),
            lab.s3env(),
        );
        timings.restore = (Date.now() - t0) / 1000;
        assert.strictEqual(r.code, 0, r.stderr);
        assert.match(r.stderr, /the engine does not answer; starting it to run the agent/, "the restore started the stopped engine itself");
        assert.match(r.stdout, new RegExp(`back in the swarm as node ${targetNodeId} .*mode force-new-cluster`));
        assert.strictEqual(
            await lab.sh(target, "docker info --format '{{.Swarm.NodeID}} {{.Swarm.ControlAvailable}}'"),
            `${targetNodeId} true`,
        );
        const rows = await lab.nodes(target);
        const me = rows.find((n) => n[1] === targetNodeId);
        assert.deepStrictEqual(me && [me[0], me[2], me[3]], [target.name, "Ready", "Leader"], JSON.stringify(rows));
        assert.match(await lab.sh(target, "docker service ls --format '{{.Name}}'"), new RegExp(`^${service}$`, "m"));
        assert.match(
            await lab.sh(target, "docker network ls --filter driver=overlay --format '{{.Name}}'"),
            new RegExp(`^${network}$`, "m"),
        );
    });

    it("the replacement hosts join as managers and the lost ones are removed: 3 Ready managers, the service still there", async () => {
        assert.strictEqual(await lab.sh(target, "docker info --format '{{.Swarm.ControlAvailable}}'"), "true", "the restore ran");
        const t0 = Date.now();
        const token = await lab.sh(target, "docker swarm join-token -q manager");
        const before = new Set((await lab.nodes(target)).map((n) => n[1]));
        // One join at a time: each join changes raft membership and needs the quorum of the one before.
        for (const h of others) {
            await lab.sh(h, `docker swarm join --token "$SWARM_JOIN_TOKEN" ${target.address}:2377 >&2`, { SWARM_JOIN_TOKEN: token });
        }
        // The nodes the backup knew, whose hosts were replaced: forgotten once Down, so that only live managers count.
        // (The replica hosts are workers: they kept their swarm state and reconnect by themselves; they are not stale.)
        const managerNames = new Set(lab.managers.map((m) => m.name));
        const stale = (await lab.nodes(target)).filter((n) => before.has(n[1]) && n[1] !== targetNodeId && managerNames.has(n[0]));
        assert.strictEqual(stale.length, 2, `the two lost managers are still listed: ${JSON.stringify(stale)}`);
        for (const [, id] of stale) {
            const f = await lab.onHost(target, swarmPeerScript("forget", id));
            assert.strictEqual(f.code, 0, f.stderr);
            assert.match(f.stdout, new RegExp(`node ${id} of the lost swarm removed`));
        }
        // A live node is never forgotten.
        const live = await lab.onHost(target, swarmPeerScript("forget", targetNodeId));
        assert.strictEqual(live.code, 1);
        assert.match(live.stderr, /is Ready: it is not lost; not removing it/);
        const rows = await lab.waitReadyManagers(target, 3, 120);
        timings.rejoin = (Date.now() - t0) / 1000;
        assert.deepStrictEqual(rows.map((n) => n[0]).sort(), lab.managers.map((h) => h.name).sort());
        assert.ok(
            rows.some((n) => n[1] === targetNodeId),
            "the restored manager keeps its node id",
        );
        for (const h of others) {
            assert.match(
                await lab.sh(h, "docker service ls --format '{{.Name}}'"),
                new RegExp(`^${service}$`, "m"),
                `${h.name} sees the service`,
            );
        }
    });
});

/**
 * Backups and recovery in the lab, through the project's own stack program and the real engine: DTR metadata backups
 * streamed into MinIO with Object Lock, a whole-cluster loss rebuilt into a fresh stack, and the protections a restore
 * must keep (a corrupted backup, a version mismatch, an interrupted run). DTR is dtr-sim (dtr-sim/README.md).
 */
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as path from "path";
import { EngineEvent } from "@pulumi/pulumi/automation";
import { LabStatus, REPO_ROOT, killDocker, labUp, startDocker } from "../../lab/lab";
import { docker, dtrApi } from "../../lab/docker";
import {
    LabCluster,
    clusterHealth,
    grantTeam,
    labInventory,
    labPulumiDir,
    labStack,
    loseCluster,
    pullImage,
    pushImage,
    seedMetadata,
    takeBackup,
    trustedBy,
    waitHealthy,
} from "../../stacks/lab-cluster";
import { rebuild, timeline } from "../../stacks/rebuild";
import { agent, backupAccess, listBackups } from "../../stacks/catalog";
import { openStack } from "../../stacks/workspace";
import { deriveReplicaId } from "../../components/cluster/topology";

const STACK = "rtest";

/** A restore stack built from `rtest`'s config, pointed at `manifestKey` (and its backed-up replica), with destroyExisting on. */
async function restoreStack(status: LabStatus, name: string, manifestKey: string, imageVersion?: string) {
    const c = await labStack(status, name, imageVersion);
    const source = await openStack(STACK, { dir: labPulumiDir(status) });
    const cfg = await source.getAllConfig();
    const entry = (await listBackups(await backupAccess(source))).find((e) => e.manifestKey === manifestKey);
    // Same cluster name and backup location as the source; only the restore section is new.
    await c.stack.setConfig("dtr-ha:cluster", cfg["dtr-ha:cluster"]);
    await c.stack.setConfig("dtr-ha:backup", cfg["dtr-ha:backup"]);
    await c.stack.setConfig("dtr-ha:restore", {
        value: JSON.stringify({ manifestKey, destroyExisting: true, replicaId: entry?.manifest.meta.replicaId }),
    });
    return c;
}

describe("backups and recovery in the lab (real engine, SSH, Swarm, MinIO; DTR = dtr-sim)", function () {
    this.timeout(40 * 60 * 1000);
    let status: LabStatus;
    let cluster: LabCluster;
    let live: LabCluster; // the stack that manages the running cluster
    const ids = ["host1", "host2", "host3"].map((h) => deriveReplicaId(STACK, h));

    before(async () => {
        status = await labUp(false);
        // A second dtr-sim version for the upgrade and version-mismatch cases.
        execFileSync("bash", [path.join(REPO_ROOT, "dtr-sim", "build-image.sh")], {
            env: {
                ...process.env,
                DTR_SIM_VERSION: "2.9.17",
                DOCKER_HOST: `unix://${status.hosts[0].dockerSocket}`,
                REGISTRY: status.registry,
            },
            stdio: "ignore",
        });
        cluster = await labStack(status, STACK);
        await cluster.stack.up({ color: "never" });
        live = cluster;
        for (const [i, repo] of ["alpha", "beta"].entries()) {
            const h = status.hosts[i];
            await pushImage(cluster, h, h, repo, "1");
            await pushImage(cluster, h, h, repo, "2");
            await grantTeam(cluster, h, `admin/${repo}`, "team-" + repo, "read-write");
        }
        // The other kinds of metadata a DTR backup holds: settings (scanning on), scan results, Notary signatures.
        await seedMetadata(
            cluster,
            status.hosts[0],
            ["admin/alpha:1", "admin/alpha:2", "admin/beta:1", "admin/beta:2"],
            ["admin/alpha:1", "admin/beta:2"],
        );
    });

    after(async () => {
        await startDocker("host1").catch(() => undefined);
        const final = await openStack("rtest-interrupted", { dir: labPulumiDir(status) }).catch(() => undefined);
        await final?.destroy({ color: "never" }).catch(() => undefined);
        // The other stacks describe clusters the drills already lost; whatever is left goes, for the suites after us.
        await loseCluster(status);
    });

    it("a backup taken while one replica's host is down succeeds from a healthy one", async () => {
        await killDocker("host1");
        try {
            const key = await takeBackup(cluster, `host1-down-${Date.now()}`);
            const outputs = await cluster.stack.outputs();
            assert.notStrictEqual(outputs.lastBackupRanOn.value, "host1");
            const entry = (await listBackups(await backupAccess(cluster.stack))).find((e) => e.manifestKey === key)!;
            assert.ok(entry, `manifest ${key} is in the catalog`);
            assert.notStrictEqual(entry.manifest.meta.replicaId, ids[0], "not backed up from the dead replica");
            assert.ok([ids[1], ids[2]].includes(entry.manifest.meta.replicaId));
            assert.strictEqual(entry.manifest.meta.dtrVersion, "2.9.16");
            assert.strictEqual(entry.manifest.object.versionId !== null, true, "pinned to a version");
        } finally {
            await startDocker("host1");
        }
        await waitHealthy(cluster, 3);
    });

    it("backs up, loses the whole cluster, rebuilds into a fresh stack, and finds every repository, tag, grant and layer", async () => {
        const before = await labInventory(cluster, status.hosts[0]);
        assert.deepStrictEqual([before.signed.length, before.scans.length], [2, 4]);
        assert.ok(
            before.settings.includes("scanningEnabled=true") && before.settings.includes("jobHistoryToKeep=50"),
            before.settings.join(" "),
        );
        // The CA a client was given before the disaster (what `curl -k https://<dtr>/ca` saved into its trust store).
        const oldCa = String((await dtrApi(status.hosts[0].address, "GET", "/ca")).body);
        assert.deepStrictEqual([before.repositories.length, before.tags.length, before.teamAccess.length], [2, 4, 2]);
        // The backup comes from another replica than host1's (host1's engine is down while it runs), so the rebuild must
        // restore with that replica's id (DTR's restore guide), not host1's derived one.
        await killDocker("host1");
        let key: string;
        try {
            key = await takeBackup(cluster, `drill-${Date.now()}`);
        } finally {
            await startDocker("host1");
        }
        const backedUp = (await listBackups(await backupAccess(cluster.stack))).find((e) => e.manifestKey === key)!.manifest.meta.replicaId;
        assert.ok([ids[1], ids[2]].includes(backedUp), `backed up from host2 or host3: ${backedUp}`);
        const disasterAt = new Date();
        await loseCluster(status);
        assert.notStrictEqual((await clusterHealth(cluster)).healthy, 3, "the cluster is really gone");
        const report = await rebuild({
            from: key,
            stack: "rtest-rebuilt",
            sourceStack: STACK,
            stateDir: labPulumiDir(status),
            disasterTime: disasterAt,
            destroyExisting: false,
        });
        assert.ok(report.ok, JSON.stringify(report));
        assert.ok(report.rtoSeconds !== null && report.rtoSeconds > 0);
        assert.ok(report.rpoSeconds >= 0 && report.rpoSeconds < 120, `RPO ${report.rpoSeconds}`);
        process.stderr.write(`${timeline(report)}\n`);
        // host1 restored with the backed-up replica's id; the host that had that id takes host1's: the same id set.
        const restoredIds = ids.map((id) => (id === backedUp ? ids[0] : id));
        restoredIds[0] = backedUp;
        assert.deepStrictEqual(report.replicaIds, restoredIds, "host1 carries the backed-up replica's id");
        const onHost1 = await docker(status.hosts[0], ["ps", "--format", "{{.Names}}"]);
        assert.match(onHost1, new RegExp(`^dtr-api-${backedUp}$`, "m"), "host1 runs the backed-up replica's id");
        live = { ...cluster, stack: await openStack("rtest-rebuilt", { dir: labPulumiDir(status) }) };
        const restored = (await live.stack.outputs()).restored.value as string;
        // The drill's restore check names all six kinds of metadata, each the same before and after.
        for (const label of [
            "configuration settings",
            "repository definitions",
            "access control \\(team grants\\)",
            "image signing data \\(Notary\\)",
            "vulnerability scan results",
            "TLS certificates and CA",
        ])
            assert.match(restored, new RegExp(`restore check: ${label}: before \\d+ .*: same`), label);
        assert.match(
            restored,
            /metadata matches the backup in all six categories: 2 repositories, 4 tags, 2 team grants, \d+ settings, 2 signed tags, 4 scan results, 2 certificates/,
        );
        console.log(
            restored
                .split("\n")
                .filter((l) => l.includes("restore check"))
                .join("\n"),
        );
        const after = await labInventory(cluster, status.hosts[2]);
        assert.deepStrictEqual(after, before);
        for (const h of status.hosts) {
            const t = await trustedBy(h.address, oldCa);
            assert.ok(t.authorized, `a client holding the old CA trusts the rebuilt replica on ${h.name}: ${t.error}`);
        }
        const id = await pullImage(cluster, status.hosts[2], status.hosts[1], "admin/alpha", "1");
        assert.match(id, /^sha256:/);
    });

    it("after the rebuild the old stack's up stops, naming the new owner, and its destroy leaves the rebuilt cluster 3/3", async () => {
        const before = await labInventory(cluster, status.hosts[0]);
        // The routine `up` of the old stack: stopped by its ownership check before any step that changes the cluster.
        await assert.rejects(
            cluster.stack.up({ color: "never" }),
            /belongs to stack [^ ]*\/rtest-rebuilt since \S+ .*this stack \([^ ]*\/rtest\) no longer owns it/,
        );
        // The routine cleanup of the old stack: every delete runs, finds the new owner, and destroys nothing.
        let out = "";
        const res = await cluster.stack.destroy({ color: "never", onOutput: (o) => (out += o) });
        assert.ok((res.summary.resourceChanges?.delete ?? 0) >= 10, JSON.stringify(res.summary.resourceChanges));
        const left = (await cluster.stack.exportStack()).deployment.resources ?? [];
        assert.strictEqual(left.length, 0, "the old stack's state is empty");
        await waitHealthy(live, 3, 30);
        const health = await clusterHealth(live);
        assert.deepStrictEqual(Object.keys(health.replicaHealth).sort(), [...ids].sort());
        assert.deepStrictEqual(await labInventory(cluster, status.hosts[1]), before, "every repository, tag and grant is still there");
        const owners = ((await live.stack.outputs()).owners?.value ?? []) as string[];
        assert.strictEqual(owners.length, 3);
        for (const line of owners) assert.match(line, /belongs to [^ ]*\/rtest-rebuilt since /);
        assert.ok(out.length > 0);
    });

    it("a corrupted backup is refused and nothing is destroyed", async () => {
        const access = await backupAccess(live.stack);
        // A fresh backup whose manifest is then overwritten with a wrong checksum: put-manifest checks the object exists
        // at that version and size and that the key has the agent's shape; only the checksum is wrong.
        const badKey = await takeBackup(live, `to-corrupt-${Date.now()}`);
        const good = (await listBackups(access)).find((e) => e.manifestKey === badKey)!;
        const corrupt = { ...good.manifest, object: { ...good.manifest.object, sha256: "0".repeat(64) } };
        await agent(["put-manifest", "--bucket", access.bucket, "--key", badKey], access.env, JSON.stringify(corrupt));
        const before = await labInventory(cluster, status.hosts[0]);
        // The rebuild program refuses before creating anything.
        await assert.rejects(
            rebuild({ from: badKey, stack: "rtest-corrupt", sourceStack: STACK, stateDir: labPulumiDir(status), destroyExisting: true }),
            /failed verification; nothing was rebuilt/,
        );
        // And the stack itself, driven directly with destroyExisting, stops at its verify step.
        const direct = await restoreStack(status, "rtest-corrupt-direct", badKey);
        await assert.rejects(direct.stack.up({ color: "never" }), /does not match its manifest/);
        await direct.stack.destroy({ color: "never" }).catch(() => undefined);
        await waitHealthy(cluster, 3, 30);
        assert.deepStrictEqual(await labInventory(cluster, status.hosts[1]), before, "nothing was destroyed");
    });

    it("a backup of another DTR version is refused before anything is destroyed", async () => {
        const access = await backupAccess(live.stack);
        const key = (await listBackups(access)).find(
            (e) => e.manifest.kind === "dtr" && e.manifest.meta.dtrVersion === "2.9.16",
        )!.manifestKey;
        const c = await restoreStack(status, "rtest-mismatch", key, "2.9.17");
        await assert.rejects(c.stack.up({ color: "never" }), /the backup is of DTR 2\.9\.16, the configured image is 2\.9\.17/);
        await c.stack.destroy({ color: "never" }).catch(() => undefined);
        await waitHealthy(cluster, 3, 30);
    });

    it("changing the image version backs up the old version, then upgrades in place", async () => {
        const access = await backupAccess(live.stack);
        const before = await labInventory(cluster, status.hosts[0]);
        const backupsBefore = (await listBackups(access)).length;
        const image = JSON.parse((await live.stack.getConfig("dtr-ha:image")).value);
        await live.stack.setConfig("dtr-ha:image", { value: JSON.stringify({ ...image, version: "2.9.17" }) });
        await live.stack.up({ color: "never" });
        const status2 = await dtrApi(status.hosts[0].address, "GET", "/api/v0/meta/cluster_status", cluster.admin);
        assert.deepStrictEqual(Object.values(status2.body.replica_version).sort(), ["2.9.17", "2.9.17", "2.9.17"]);
        assert.deepStrictEqual(Object.keys(status2.body.replica_health).sort(), [...ids].sort(), "same replicas, not a reinstall");
        const after = await listBackups(access);
        assert.ok(after.length > backupsBefore, "a backup was taken before the upgrade");
        const pre = after.find(
            (e) => e.manifest.meta.dtrVersion === "2.9.16" && Date.parse(e.manifest.createdAt) > Date.now() - 10 * 60_000,
        )!;
        assert.ok(pre, "the pre-upgrade backup is of the old version");
        assert.deepStrictEqual(await labInventory(cluster, status.hosts[1]), before);
    });

    it("a restore interrupted midway converges when run again", async () => {
        const key = await takeBackup(live, `before-interrupt-${Date.now()}`);
        const before = await labInventory(cluster, status.hosts[0]);
        await loseCluster(status);
        const abort = new AbortController();
        const onEvent = (e: EngineEvent) => {
            if (e.resourcePreEvent?.metadata.urn.endsWith("::rtest-restore")) setTimeout(() => abort.abort(), 2500);
        };
        await assert.rejects(
            rebuild({
                from: key,
                stack: "rtest-interrupted",
                sourceStack: "rtest-rebuilt",
                stateDir: labPulumiDir(status),
                destroyExisting: false,
                signal: abort.signal,
                onEvent,
            }),
        );
        assert.ok(abort.signal.aborted, "the run was interrupted during the restore step");
        // The killed engine's remote command may still be finishing on host1: let it end before the second run.
        await new Promise((r) => setTimeout(r, 15_000));
        const report = await rebuild({
            from: key,
            stack: "rtest-interrupted",
            sourceStack: "rtest-rebuilt",
            stateDir: labPulumiDir(status),
            destroyExisting: false,
            resume: true,
        });
        assert.ok(report.ok, JSON.stringify(report));
        live = { ...cluster, stack: await openStack("rtest-interrupted", { dir: labPulumiDir(status) }) };
        assert.match((await live.stack.outputs()).restored.value, /metadata matches the backup/);
        assert.deepStrictEqual(await labInventory(cluster, status.hosts[2]), before);
    });
});

/**
 * Ownership: the record on each host and the guards in front of every destructive step, run for real by dash against a
 * fake `docker` that keeps volumes (with labels) and containers in a directory and logs every other call. Then the
 * DtrCluster graph: every delete that destroys, removes or upgrades is guarded, and running that very delete text
 * against another stack's record destroys nothing.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { Declared, captureDeclarations, settle, valueOf } from "./mocks";
import { ID, fakeHost } from "./fake-host";
import { DtrCluster, DtrClusterArgs } from "../../components/cluster/dtr-cluster";
import { guarded, ownershipScript, required } from "../../components/hosts/ownership";
import { existingHosts } from "../../components/hosts/existing-hosts";
import { BackupSchedule } from "../../components/backup/schedule";
import { deriveReplicaId } from "../../components/cluster/topology";

const A = "organization/dtr-ha/lab";
const B = "organization/dtr-ha/lab-rebuilt";

const env = (owner: string, extra: Record<string, string> = {}) => ({ DTR_HA_OWNER: owner, DTR_HA_REPLICA_ID: ID, ...extra });
/** The destructive stand-in: a docker call the fake logs, so a test sees whether it ran. */
const DESTROY = `docker run --rm dtr destroy --replica-id ${ID}`;
const destroyed = (calls: string[]) => calls.some((c) => c.includes(" destroy ") || c.includes(" remove ") || c.includes(" upgrade"));

describe("ownership record and guards (dash, fake engine)", function () {
    this.timeout(20_000);
    it("claim writes this stack's record on a free slot, keeps it on a re-run, and refuses another stack's", () => {
        const h = fakeHost();
        const first = h.run(ownershipScript("claim"), env(A));
        assert.strictEqual(first.code, 0, first.stderr);
        assert.strictEqual(h.record()!["dtr-ha.owner"], A);
        assert.match(first.stdout, new RegExp(`replica ${ID} on .* belongs to ${A} since \\d{4}-`));
        const since = h.record()!["dtr-ha.since"];
        assert.strictEqual(h.run(ownershipScript("claim"), env(A)).code, 0);
        assert.strictEqual(h.record()!["dtr-ha.since"], since, "a re-run keeps the original claim");
        const other = h.run(ownershipScript("claim"), env(B));
        assert.strictEqual(other.code, 1);
        assert.match(other.stderr, new RegExp(`belongs to stack ${A} since .*this stack \\(${B}\\) no longer owns it.*npm run retire`));
        assert.strictEqual(h.record()!["dtr-ha.owner"], A, "the refused claim changed nothing");
    });

    it("a guarded destroy runs for the owner and for a slot nobody owns, and is skipped (exit 0) for another stack's", () => {
        const h = fakeHost();
        const free = h.run(guarded(DESTROY), env(A));
        assert.strictEqual(free.code, 0);
        assert.ok(destroyed(free.calls), "no record: the destroy runs (stacks made before ownership existed)");
        h.setRecord({ "dtr-ha.owner": A, "dtr-ha.since": "2026-11-29T10:00:00Z" });
        const mine = h.run(guarded(DESTROY), env(A));
        assert.ok(destroyed(mine.calls), "owner: the destroy runs");
        h.setRecord({ "dtr-ha.owner": B, "dtr-ha.since": "2026-11-29T11:00:00Z", "dtr-ha.previous": A });
        const theirs = h.run(guarded(DESTROY), env(A));
        assert.strictEqual(theirs.code, 0, "the old stack's delete succeeds, so its destroy completes");
        assert.ok(!destroyed(theirs.calls), `nothing destroyed: ${theirs.calls.join(" | ")}`);
        assert.match(theirs.stderr, new RegExp(`belongs to stack ${B} since 2026-11-29T11:00:00Z .*Nothing was destroyed`));
        assert.match(theirs.stdout, /skipped \(owned by organization\/dtr-ha\/lab-rebuilt\)/);
    });

    it("an engine that does not answer fails the guarded step instead of reading as 'no owner'", () => {
        const h = fakeHost();
        fs.writeFileSync(path.join(h.dir, "down"), "");
        const r = h.run(guarded(DESTROY), env(A));
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /did not answer; nothing was changed/);
        assert.deepStrictEqual(
            r.calls.filter((c) => !c.startsWith("volume ls")),
            [],
            "nothing but the failed read ran",
        );
    });

    it("a later up's check passes with a warning when the host's engine is down (a degraded cluster still serves); a claim does not", () => {
        const h = fakeHost();
        fs.writeFileSync(path.join(h.dir, "down"), "");
        const checked = h.run(ownershipScript("check"), env(A));
        assert.strictEqual(checked.code, 0, checked.stderr);
        assert.match(checked.stderr, /WARNING: the Docker engine on .* did not answer; replica 0123456789ab's owner was not checked/);
        assert.match(checked.stdout, /engine not answering, owner unknown/);
        assert.strictEqual(h.run(ownershipScript("claim"), env(A)).code, 1, "nothing is installed where the owner cannot be read");
        assert.strictEqual(h.run(ownershipScript("take_over"), env(B)).code, 1);
    });

    it("require (upgrades) fails on another stack's replica instead of skipping", () => {
        const h = fakeHost();
        h.setRecord({ "dtr-ha.owner": B, "dtr-ha.since": "t" });
        const r = h.run(required(`docker run dtr upgrade --existing-replica-id ${ID}`), env(A));
        assert.strictEqual(r.code, 1);
        assert.ok(!destroyed(r.calls));
    });

    it("take-over moves the record to the restoring stack and remembers the previous owner, once", () => {
        const h = fakeHost();
        h.setRecord({ "dtr-ha.owner": A, "dtr-ha.since": "t" });
        const r = h.run(ownershipScript("take_over"), env(B));
        assert.strictEqual(r.code, 0, r.stderr);
        assert.strictEqual(h.record()!["dtr-ha.owner"], B);
        assert.strictEqual(h.record()!["dtr-ha.previous"], A);
        const rerun = h.run(ownershipScript("take_over"), env(B));
        assert.strictEqual(rerun.code, 0, "a re-run of an interrupted restore finds its own take-over");
        assert.strictEqual(h.record()!["dtr-ha.previous"], A);
        // The next up's check ends the restore: the slot becomes a plain claim, and a switch to restore is refused.
        assert.strictEqual(h.run(ownershipScript("check"), env(B)).code, 0);
        assert.strictEqual(h.record()!["dtr-ha.how"], "claim");
        const again = h.run(ownershipScript("take_over"), env(B));
        assert.strictEqual(again.code, 1, "a stack that owns the slot is not switched to restore in place");
        assert.match(again.stderr, /already owns replica .*Restore into a fresh stack: npm run rebuild/);
        assert.strictEqual(h.run(ownershipScript("check"), env(A)).code, 1, "the old owner's check stops its up");
    });

    it("a restore with the backed-up replica's id supersedes the old stack's record of another id on the host; its release removes both", () => {
        // The old stack (A) had replica ID on this host; the rebuild (B) restores here with the backed-up id OTHER.
        const OTHER = "bbbbbbbbbbbb";
        const h = fakeHost();
        h.setRecord({ "dtr-ha.owner": A, "dtr-ha.since": "t", "dtr-ha.how": "claim" });
        const take = h.run(ownershipScript("take_over"), { DTR_HA_OWNER: B, DTR_HA_REPLICA_ID: OTHER, DTR_HA_DESTROY_EXISTING: "true" });
        assert.strictEqual(take.code, 0, take.stderr);
        const old = h.record()!;
        assert.deepStrictEqual(
            [old["dtr-ha.owner"], old["dtr-ha.previous"], old["dtr-ha.how"], old["dtr-ha.by"]],
            [B, A, "superseded", OTHER],
            "the old stack's record of ID now names the restoring stack",
        );
        assert.ok(fs.existsSync(path.join(h.dir, "volumes", `dtrha_owner_${OTHER}`)), "the restored replica's own record");
        // The old stack's routine up stops, and its delete (destroy, network rm) skips, naming the new owner.
        const check = h.run(ownershipScript("check"), env(A));
        assert.strictEqual(check.code, 1);
        assert.match(check.stderr, new RegExp(`replica ${ID} on .* belongs to stack ${B} since .*this stack \\(${A}\\) no longer owns it`));
        const guard = h.run(guarded(DESTROY), env(A));
        assert.strictEqual(guard.code, 0);
        assert.ok(!destroyed(guard.calls), guard.calls.join(" | "));
        // The new stack's release of its replica takes the superseded record with it.
        const rel = h.run(ownershipScript("release"), { DTR_HA_OWNER: B, DTR_HA_REPLICA_ID: OTHER });
        assert.strictEqual(rel.code, 0, rel.stderr);
        assert.deepStrictEqual(fs.readdirSync(path.join(h.dir, "volumes")), []);
    });

    it("with its own record gone (host reinstalled), a replica of another stack running on the host still stops the old stack", () => {
        // The rebuild (B) restored replica OTHER on this host; the old stack's (A) record of ID went with the host.
        const OTHER = "bbbbbbbbbbbb";
        const h = fakeHost();
        const take = h.run(ownershipScript("take_over"), { DTR_HA_OWNER: B, DTR_HA_REPLICA_ID: OTHER });
        assert.strictEqual(take.code, 0, take.stderr);
        fs.writeFileSync(path.join(h.dir, "containers"), `dtr-api-${OTHER}\ndtr-registry-${OTHER}\n`);
        const guard = h.run(guarded(DESTROY), env(A));
        assert.strictEqual(guard.code, 0);
        assert.ok(!destroyed(guard.calls), guard.calls.join(" | "));
        assert.match(guard.stdout, /skipped \(owned by organization\/dtr-ha\/lab-rebuilt\)/);
        const check = h.run(ownershipScript("check"), env(A));
        assert.strictEqual(check.code, 1, "the old stack's up stops instead of claiming the host");
        assert.strictEqual(h.record(), undefined, "and writes no record of its own");
        // A left-over record whose replica no longer runs here names no owner: a fresh claim goes on.
        fs.writeFileSync(path.join(h.dir, "containers"), "");
        assert.strictEqual(h.run(ownershipScript("claim"), env(A)).code, 0);
    });

    it("take-over refuses while replicas exist unless destroyExisting, and then leaves the record as it was", () => {
        const h = fakeHost();
        h.setRecord({ "dtr-ha.owner": A, "dtr-ha.since": "t" });
        fs.writeFileSync(path.join(h.dir, "containers"), `dtr-api-${ID}\ndtr-registry-${ID}\nunrelated\n`);
        const r = h.run(ownershipScript("take_over"), env(B));
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, new RegExp(`replicas ${ID} still exist .*owned by stack ${A}.*restore.destroyExisting: true`));
        assert.strictEqual(h.record()!["dtr-ha.owner"], A);
        assert.strictEqual(h.run(ownershipScript("take_over"), env(B, { DTR_HA_DESTROY_EXISTING: "true" })).code, 0);
        assert.strictEqual(h.record()!["dtr-ha.owner"], B);
    });

    it("release removes only this stack's own record", () => {
        const h = fakeHost();
        h.setRecord({ "dtr-ha.owner": B, "dtr-ha.since": "t" });
        assert.strictEqual(h.run(ownershipScript("release"), env(A)).code, 0);
        assert.strictEqual(h.record()!["dtr-ha.owner"], B, "another stack's record stays");
        assert.strictEqual(h.run(ownershipScript("release"), env(B)).code, 0);
        assert.strictEqual(h.record(), undefined);
    });

    it("takes its data from the environment only: hostile values are refused, never run", () => {
        const h = fakeHost();
        const pwned = path.join(h.dir, "pwned");
        for (const e of [env(`x$(touch ${pwned})`), { DTR_HA_OWNER: A, DTR_HA_REPLICA_ID: `$(touch ${pwned})` }, { DTR_HA_OWNER: A }]) {
            const r = h.run(guarded(DESTROY), e);
            assert.strictEqual(r.code, 1, r.stderr);
            assert.ok(!destroyed(r.calls));
        }
        assert.ok(!fs.existsSync(pwned), "nothing from the environment ran as code");
        assert.strictEqual(ownershipScript("claim"), ownershipScript("claim"), "constant text");
        assert.ok(!ownershipScript("guard").includes(A));
    });
});

// ---- The component: which steps are guarded, and in what order ownership is taken.

const HOSTKEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHrvC8N7j";
function clusterArgs(extra: Partial<DtrClusterArgs> = {}): DtrClusterArgs {
    return {
        clusterName: "lab",
        hosts: existingHosts(
            [1, 2, 3].map((i) => ({ name: `host${i}`, address: `10.200.0.1${i}`, zone: `z${i}`, hostKey: HOSTKEY })),
            pulumi.secret("key"),
        ),
        image: { repository: "10.200.0.1:5000/dtr-sim", version: "2.9.16" },
        ucp: { url: "https://ucp.lab", username: "admin", insecureTls: true },
        ucpPassword: pulumi.secret("pw"),
        externalUrl: "https://10.200.0.11",
        overlaySubnet: "172.16.240.0/24",
        storage: { s3: { region: "us-east-1", bucket: "dtr-layers", accessKey: "a", secretKey: "s", secure: false } },
        owner: A,
        ...extra,
    };
}
function build(extra: Partial<DtrClusterArgs> = {}): { declared: Declared[]; cluster: DtrCluster } {
    const declared: Declared[] = [];
    const cluster = new DtrCluster(`o${Math.random().toString(36).slice(2, 8)}`, clusterArgs(extra), {
        transformations: [captureDeclarations(declared)],
    });
    return { declared, cluster };
}
const RESTORE = {
    mode: "restore" as const,
    agentImage: "10.200.0.1:5000/dtr-ha-backup:0.1.0",
    bucket: "dtr-backups",
    manifestKey: "dtr/manifests/lab/20261129T100000Z-dtr.manifest.json",
    s3: { region: "us-east-1" },
    replicaId: deriveReplicaId("lab", "host1"),
};

describe("DtrCluster ownership wiring (mocks)", function () {
    this.timeout(20_000);
    const ids = [1, 2, 3].map((i) => deriveReplicaId("lab", `host${i}`));

    it("every replica's delete is guarded: run against another stack's record, it destroys and removes nothing", async () => {
        const { declared } = build();
        await settle();
        // The first replica's delete (destroy, on its host) and each joined replica's removal (the leave step's script as
        // the host it goes through runs it: DTR_HA_REPLICA_ID is that host's replica, whose record is asked).
        const install = declared.find((d) => d.name.endsWith("-install"))!;
        const deletes = [
            {
                name: install.name,
                del: await valueOf<string>(install.props.delete),
                e: await valueOf<Record<string, string>>(install.props.environment),
                via: 0,
            },
        ];
        for (const h of ["host2", "host3"]) {
            const leave = declared.find((d) => d.name.endsWith(`-leave-${h}`))!;
            const e = await valueOf<Record<string, string>>(leave.props.environment);
            deletes.push({ name: leave.name, del: e.DTR_HA_REMOVE_SCRIPT, e: { ...e, DTR_HA_REPLICA_ID: ids[0] }, via: 0 });
        }
        assert.strictEqual(deletes.length, 3);
        for (const { name, del, e, via } of deletes) {
            assert.strictEqual(e.DTR_HA_OWNER, A);
            assert.strictEqual(e.DTR_HA_REPLICA_ID, ids[via], `${name} asks the record of the replica on the host it runs on`);
            const h = fakeHost();
            h.setStatus(Object.fromEntries(ids.map((id) => [id, "OK"])));
            // The fake records volumes under ID; point the record at this replica's id by running the scripts with it.
            const theirs = h.run(`${ownershipScript("claim")}`, { DTR_HA_OWNER: B, DTR_HA_REPLICA_ID: ids[via] });
            assert.strictEqual(theirs.code, 0);
            const r = h.run(del, e);
            assert.strictEqual(r.code, 0, r.stderr);
            assert.ok(!destroyed(r.calls) && !r.calls.some((c) => c.startsWith("network rm")), `${name}: ${r.calls.join(" | ")}`);
            // And with this stack's own record the same delete does run.
            const mine = fakeHost();
            mine.setStatus(Object.fromEntries(ids.map((id) => [id, "OK"])));
            mine.run(ownershipScript("claim"), { DTR_HA_OWNER: A, DTR_HA_REPLICA_ID: ids[via] });
            assert.ok(destroyed(mine.run(del, e).calls), `${name} runs for its owner`);
        }
    });

    it("the upgrade runs only on a replica this stack owns", async () => {
        const { declared } = build();
        await settle();
        const version = declared.find((d) => d.name.endsWith("-version"))!;
        const update = await valueOf<string>(version.props.update);
        const h = fakeHost();
        h.run(ownershipScript("claim"), { DTR_HA_OWNER: B, DTR_HA_REPLICA_ID: ids[0] });
        const r = h.run(update, { DTR_HA_OWNER: A, DTR_HA_REPLICA_ID: ids[0], PULUMI_COMMAND_STDOUT: "dtr-version: 2.9.15" });
        assert.strictEqual(r.code, 1);
        assert.ok(!destroyed(r.calls), r.calls.join(" | "));
    });

    it("install mode: each host's claim, then the owner check of every up, come before any install, join, storage or upgrade", async () => {
        const { declared, cluster } = build();
        await settle();
        const by = (s: string) => declared.find((d) => d.name.endsWith(s))!;
        const check = by("-owners");
        for (const [i, replica] of ["-install", "-join-host2", "-join-host3"].entries()) {
            const owner = by(`-owner-host${i + 1}`);
            assert.ok(by(replica).dependsOn.includes(owner.name), `${replica} after ${owner.name}`);
            assert.ok(check.dependsOn.includes(owner.name), `the check after ${owner.name}'s claim`);
            assert.ok(by("-storage").dependsOn.includes(owner.name));
            assert.ok(by("-version").dependsOn.includes(owner.name));
            for (const step of [replica, "-storage", "-version"])
                assert.ok(by(step).dependsOn.includes(check.name), `${step} after the check`);
            assert.strictEqual(await valueOf<string>(owner.props.create), ownershipScript("claim"));
        }
        const env = await valueOf<Record<string, string>>(check.props.environment);
        assert.strictEqual(env.DTR_HA_OWNER_SCRIPT, ownershipScript("check"), "the check is the owner rule, on each host");
        assert.ok(env.DTR_HA_RUN, "a per-run value makes it run on every up");
        const again = build();
        await settle();
        const run = async (b: { declared: Declared[] }) =>
            (await valueOf<Record<string, string>>(b.declared.find((d) => d.name.endsWith("-owners"))!.props.environment)).DTR_HA_RUN;
        assert.notStrictEqual(await run(again), await run({ declared }), "each program run has its own run id");
        assert.ok(cluster.owners);
    });

    it("restore mode: verify, then take-over of each host, then clear, then the restore; the first replica keeps one identity", async () => {
        const { declared } = build({ bootstrap: { ...RESTORE, destroyExisting: true } });
        await settle();
        const by = (s: string) => declared.find((d) => d.name.endsWith(s))!;
        const verify = by("-restore-verify");
        for (let i = 1; i <= 3; i++) {
            const take = by(`-restore-owner-host${i}`);
            assert.ok(take.dependsOn.includes(verify.name), "take-over only after the backup is verified");
            assert.ok(by(`-restore-clear-host${i}`).dependsOn.includes(take.name), "clear only after the take-over");
            const ownerStep = declared.find((d) => new RegExp(`^o[a-z0-9]+-owner-host${i}$`).test(d.name))!;
            assert.ok(ownerStep.dependsOn.includes(take.name), `${ownerStep.name} after ${take.name}`);
            const e = await valueOf<Record<string, string>>(take.props.environment);
            assert.strictEqual(e.DTR_HA_DESTROY_EXISTING, "true");
            assert.strictEqual(e.DTR_HA_OWNER, A);
        }
        const restore = declared.find((d) => d.name.endsWith("-restore") && d.type === "command:remote:Command")!;
        assert.ok(
            restore.dependsOn.some((n) => /^o[a-z0-9]+-owner-host1$/.test(n)),
            "the restore after host1's owner step",
        );
        // The every-up check of all hosts runs beside the restore (host1's own claim is before it), never after a join.
        const check = by("-owners");
        assert.ok(!restore.dependsOn.includes(check.name), "the restore does not wait for the check of every host");
        for (const j of ["-join-host2", "-join-host3", "-version"]) assert.ok(by(j).dependsOn.includes(check.name), `${j} after the check`);
    });

    it("switching bootstrap mode keeps the first replica's resource (each name aliases the other), so nothing deletes it", () => {
        const aliasesOf = (extra: Partial<DtrClusterArgs>) => {
            const seen: Record<string, string[]> = {};
            new DtrCluster("sw", clusterArgs(extra), {
                transformations: [
                    (a) => {
                        seen[a.name] = (a.opts.aliases ?? []).map((x) => (x as { name?: string }).name ?? "");
                        return undefined;
                    },
                ],
            });
            return seen;
        };
        assert.deepStrictEqual(aliasesOf({})["sw-install"], ["sw-restore"]);
        assert.deepStrictEqual(aliasesOf({ bootstrap: RESTORE })["sw-restore"], ["sw-install"]);
    });
});

describe("BackupSchedule ownership (mocks + dash)", function () {
    this.timeout(20_000);

    it("uninstalls only from hosts whose replica the owner holds: the old stack's destroy leaves the new stack's timer", async () => {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "dtr-ha-sched-owner-"));
        const paths = {
            installDir: `${root}/sbin`,
            unitDir: `${root}/units`,
            cronDir: `${root}/cron.d`,
            envDir: `${root}/etc`,
            logFile: `${root}/log`,
        };
        const declared: Declared[] = [];
        new BackupSchedule(
            "own",
            {
                clusterName: "lab",
                hosts: clusterArgs().hosts,
                replicaIds: [ID, "0123456789ac", "0123456789ad"],
                image: { repository: "mirantis/dtr", version: "2.9.16" },
                ucp: { url: "https://ucp.lab", username: "admin", insecureTls: true },
                ucpPassword: pulumi.secret("pw"),
                target: { agentImage: "reg/dtr-ha-backup:0.1.0", bucket: "backups-bucket", prefix: "dtr" },
                s3: { region: "eu-west-1" },
                schedule: { onCalendar: "*-*-* 02:30:00" },
                retentionDays: 1,
                paths,
                scheduler: "cron",
                owner: A,
            },
            { transformations: [captureDeclarations(declared)] },
        );
        await settle();
        const host1 = declared.find((d) => d.name === "own-host1")!;
        const e = await valueOf<Record<string, string>>(host1.props.environment);
        assert.deepStrictEqual([e.DTR_HA_OWNER, e.DTR_HA_REPLICA_ID], [A, ID]);
        const del = await valueOf<string>(host1.props.delete);
        const install = await valueOf<string>(host1.props.create);
        const files = ["sbin/dtr-ha-backup-lab", "sbin/dtr-ha-backup-lab-pipeline", "cron.d/dtr-ha-backup-lab"].map((f) =>
            path.join(root, f),
        );
        const plant = () => {
            for (const f of files) {
                fs.mkdirSync(path.dirname(f), { recursive: true });
                fs.writeFileSync(f, "the rebuilt stack's schedule");
            }
        };
        const h = fakeHost();
        h.setRecord({ "dtr-ha.owner": B, "dtr-ha.since": "t" });
        plant();
        const theirs = h.run(del, { DTR_HA_OWNER: A, DTR_HA_REPLICA_ID: ID });
        assert.strictEqual(theirs.code, 0, theirs.stderr);
        assert.ok(
            files.every((f) => fs.existsSync(f)),
            "another stack's schedule stays",
        );
        const reinstall = h.run(install, { DTR_HA_OWNER: A, DTR_HA_REPLICA_ID: ID });
        assert.strictEqual(reinstall.code, 1, "installing over another stack's host is refused");
        assert.match(reinstall.stderr, /belongs to stack organization\/dtr-ha\/lab-rebuilt .*Nothing was changed/);
        assert.strictEqual(fs.readFileSync(files[0], "utf8"), "the rebuilt stack's schedule");
        h.setRecord({ "dtr-ha.owner": A, "dtr-ha.since": "t" });
        assert.strictEqual(h.run(del, { DTR_HA_OWNER: A, DTR_HA_REPLICA_ID: ID }).code, 0);
        assert.ok(
            files.every((f) => !fs.existsSync(f)),
            "the owner's destroy removes its schedule",
        );
    });
});

import * as assert from "assert";
import { ReplicaProbe, dropHostResources, pinnedRestore, planRecovery } from "../../stacks/recover-plan";

const ok = (host: string, id: string, timestamp = "2026-11-29T10:00:00Z"): ReplicaProbe => ({
    host,
    replicaId: id,
    ssh: true,
    engine: true,
    running: true,
    ping: 200,
    status: "OK",
    timestamp,
});
const lostHost = (host: string, id: string): ReplicaProbe => ({
    host,
    replicaId: id,
    ssh: false,
    engine: false,
    running: false,
    ping: "unreachable",
});
const noQuorum = (p: ReplicaProbe): ReplicaProbe => ({ ...p, ping: 503, status: "rethinkdb: no quorum" });
const A = "aaaaaaaaaaa1";
const B = "aaaaaaaaaaa2";
const C = "aaaaaaaaaaa3";

describe("recovery plan (stacks/recover-plan.ts)", () => {
    it("nothing lost: class 0, no step", () => {
        const p = planRecovery([ok("host1", A), ok("host2", B), ok("host3", C)], [], null);
        assert.strictEqual(p.class, 0);
        assert.deepStrictEqual(p.steps, []);
        assert.match(p.summary, /healthy: 3 of 3/);
    });

    it("one host lost, quorum kept: class 1, remove through a healthy replica, then its spare joins; RPO 0", () => {
        const p = planRecovery([ok("host1", A), lostHost("host2", B), ok("host3", C)], ["host4"], 3600);
        assert.strictEqual(p.class, 1);
        assert.strictEqual(p.rpoSeconds, 0);
        assert.deepStrictEqual(p.lost, ["host2"]);
        assert.match(p.steps[0].step, new RegExp(`remove --existing-replica-id ${A} --replica-ids ${B} on host1`));
        assert.match(p.steps[1].step, /replace host2 by host4/);
        assert.deepStrictEqual(p.blockers, []);
        assert.match(p.summary, /host2 \(replica aaaaaaaaaaa2: host unreachable \(SSH\)\)/);
    });

    it("a stack that manages Swarm backups also plans each lost host's node out of the swarm, after DTR's step, before the joins", () => {
        const probes = [ok("host1", A), lostHost("host2", B), ok("host3", C)];
        const p = planRecovery(probes, ["host4"], null, "lab", true);
        assert.match(p.steps[0].step, /dtr remove/);
        assert.match(p.steps[1].step, /^swarm: once host2's node is Down, demote it out of raft and remove it/);
        assert.match(p.steps[1].destroys, /host2's node leaves the swarm \(already lost; a Ready node is refused\)/);
        assert.match(p.steps[2].step, /replace host2 by host4/);
        assert.ok(!planRecovery(probes, ["host4"], null, "lab").steps.some((s) => s.step.startsWith("swarm:")), "not without it");
        const two = planRecovery(
            [noQuorum(ok("host1", A)), lostHost("host2", B), lostHost("host3", C)],
            ["host4", "host5"],
            null,
            "lab",
            true,
        );
        assert.strictEqual(two.class, 2);
        assert.deepStrictEqual(
            two.steps.filter((s) => s.step.startsWith("swarm:")).map((s) => s.step.split("'")[0]),
            ["swarm: once host2", "swarm: once host3"],
        );
    });

    it("losing the install host is no different: the remove goes through another healthy replica", () => {
        const p = planRecovery([lostHost("host1", A), ok("host2", B), ok("host3", C)], ["host4"], null);
        assert.strictEqual(p.class, 1);
        assert.match(p.steps[0].step, new RegExp(`--existing-replica-id ${B} --replica-ids ${A} on host2`));
    });

    it("a lost host without a spare blocks the run and says how to give one", () => {
        const p = planRecovery([ok("host1", A), lostHost("host2", B), ok("host3", C)], [], null);
        assert.strictEqual(p.class, 1);
        assert.match(p.blockers[0], /no spare host for host2: give one with --spare/);
    });

    it("quorum lost, one survivor: class 2, emergency-repair on the most up-to-date survivor, RPO 0", () => {
        const p = planRecovery(
            [noQuorum(ok("host1", A, "2026-11-29T10:00:05Z")), lostHost("host2", B), lostHost("host3", C)],
            ["host4", "host5"],
            null,
        );
        assert.strictEqual(p.class, 2);
        assert.strictEqual(p.survivor, "host1");
        assert.match(p.steps[0].step, new RegExp(`emergency-repair --existing-replica-id ${A} --yes on host1`));
        assert.strictEqual(p.rpoSeconds, 0);
        assert.strictEqual(p.steps.filter((s) => /^replace /.test(s.step)).length, 2);
    });

    it("class 2 with two survivors (of five) picks the one with the newest replica timestamp", () => {
        const p = planRecovery(
            [
                noQuorum(ok("h1", A, "2026-11-29T10:00:01Z")),
                noQuorum(ok("h2", B, "2026-11-29T10:00:09Z")),
                lostHost("h3", C),
                lostHost("h4", "aaaaaaaaaaa4"),
                lostHost("h5", "aaaaaaaaaaa5"),
            ],
            [],
            null,
        );
        assert.strictEqual(p.class, 2);
        assert.strictEqual(p.survivor, "h2");
    });

    it("every replica lost: class 3, a rebuild from the newest backup, RPO its age", () => {
        const p = planRecovery(
            [lostHost("host1", A), lostHost("host2", B), { ...lostHost("host3", C), ssh: true, engine: true }],
            [],
            1800,
        );
        assert.strictEqual(p.class, 3);
        assert.strictEqual(p.rpoSeconds, 1800);
        assert.match(p.steps[0].step, /npm run rebuild -- --from latest/);
        assert.match(p.summary, /RPO 1800 s/);
    });

    it("a replica another stack owns blocks the run (a rebuild took it over): recover acts only on its own stack", () => {
        const probes = [ok("host1", A), lostHost("host2", B), ok("host3", C)].map((p) => ({ ...p, owner: "organization/dtr-ha/lab" }));
        assert.deepStrictEqual(planRecovery(probes, ["host4"], null, "lab").blockers, []);
        probes[2].owner = "organization/dtr-ha/lab-rebuilt";
        const p = planRecovery(probes, ["host4"], null, "lab");
        assert.match(p.blockers.join(" "), /host3's replica belongs to stack organization\/dtr-ha\/lab-rebuilt, not lab/);
        assert.deepStrictEqual(
            planRecovery(probes, ["host4"], null, "lab-rebuilt").blockers.length,
            2,
            "lab's records block lab-rebuilt too",
        );
    });

    it("the lost hosts' resources leave the state with every reference to them; nothing else is touched", () => {
        const urn = (n: string) => `urn:pulumi:lab::dtr-ha::command:remote:Command::${n}`;
        const state = [
            { urn: urn("lab-install") },
            { urn: urn("lab-join-host2"), dependencies: [urn("lab-install")] },
            { urn: urn("lab-owner-host2") },
            {
                urn: urn("lab-join-host3"),
                dependencies: [urn("lab-join-host2"), urn("lab-install")],
                propertyDependencies: { x: [urn("lab-owner-host2")] },
            },
            { urn: urn("other-join-host2") },
        ];
        const { kept, gone } = dropHostResources(state, ["host2"], "lab");
        assert.strictEqual(gone, 2);
        assert.deepStrictEqual(
            kept.map((r) => r.urn.split("::").pop()),
            ["lab-install", "lab-join-host3", "other-join-host2"],
        );
        assert.deepStrictEqual(kept[1].dependencies, [urn("lab-install")]);
        assert.deepStrictEqual(kept[1].propertyDependencies, { x: [] });
        assert.strictEqual(dropHostResources(state, ["host1"], "lab", ["lab-join-host3"]).gone, 1, "named extras go too");
    });
});

describe("recover keeps a rebuilt stack's restored replica id on its host (pinnedRestore)", () => {
    const restore = { manifestKey: "dtr/manifests/lab/x-dtr.manifest.json", replicaId: "0b0b0b0b0b02" };
    it("pins restore.host to the old first host when another host moves to the front", () => {
        assert.deepStrictEqual(pinnedRestore(restore, "host1", "host2"), { ...restore, host: "host1" });
    });
    it("changes nothing when the first host stays, restore.host is already set, or there is no restore", () => {
        assert.strictEqual(pinnedRestore(restore, "host1", "host1"), restore);
        const set = { ...restore, host: "host3" };
        assert.strictEqual(pinnedRestore(set, "host1", "host2"), set);
        assert.strictEqual(pinnedRestore(undefined, "host1", "host2"), undefined);
    });
});

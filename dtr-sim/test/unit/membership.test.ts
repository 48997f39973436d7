import assert from "node:assert/strict";
import { checkRemove, checkRepairSurvivor, ReplicaHealth } from "../../src/membership";

const A = "aaaaaaaaaaaa",
    B = "bbbbbbbbbbbb",
    C = "cccccccccccc";
const ok: ReplicaHealth = { Healthy: true };
const of =
    (m: Record<string, ReplicaHealth | undefined>) =>
    (id: string): ReplicaHealth | undefined =>
        m[id];

describe("remove's checks (reference/dtr/2.7/cli/remove.md: all other replicas must be healthy)", () => {
    it("removes an unreachable replica when every other one is healthy, and returns those that stay", () => {
        assert.deepEqual(checkRemove([A, B, C], A, [C], of({ [A]: ok, [B]: ok, [C]: undefined })), [A, B]);
    });

    it("never asks about the replicas being removed", () => {
        const asked: string[] = [];
        checkRemove([A, B, C], A, [B, C], (id) => (asked.push(id), ok));
        assert.deepEqual(asked, [A]);
    });

    it("refuses while another replica that stays is unhealthy or unreachable, naming it", () => {
        assert.throws(
            () => checkRemove([A, B, C], A, [C], of({ [A]: ok, [B]: { Healthy: false, Error: "registry: down" } })),
            /all other replicas must be healthy: replica bbbbbbbbbbbb is unhealthy \(registry: down\)[\s\S]*Nothing was changed/,
        );
        assert.throws(() => checkRemove([A, B, C], A, [C], of({ [A]: ok })), /replica bbbbbbbbbbbb is unreachable/);
    });

    it("refuses when the existing replica itself is unhealthy (it must be a healthy replica's database)", () => {
        assert.throws(
            () => checkRemove([A, B, C], A, [C], of({ [A]: { Healthy: false, Error: "rethinkdb: no quorum" }, [B]: ok })),
            /replica aaaaaaaaaaaa is unhealthy \(rethinkdb: no quorum\)/,
        );
    });

    it("refuses an existing replica or a replica to remove that is not a member", () => {
        assert.throws(() => checkRemove([B, C], A, [C], of({ [B]: ok })), /--existing-replica-id aaaaaaaaaaaa is not a member/);
        assert.throws(
            () => checkRemove([A, B], A, [C], of({ [A]: ok, [B]: ok })),
            /replica cccccccccccc is not a member of the replica set/,
        );
    });
});

describe("emergency-repair's survivor (ee/dtr/admin/disaster-recovery/repair-a-cluster.md)", () => {
    it("refuses a survivor that does not answer; an unhealthy one that answers is fine", () => {
        assert.throws(() => checkRepairSurvivor(A, undefined), /replica aaaaaaaaaaaa does not answer[\s\S]*Nothing was changed/);
        assert.doesNotThrow(() => checkRepairSurvivor(A, { Healthy: false, Error: "rethinkdb: no quorum" }));
    });
});

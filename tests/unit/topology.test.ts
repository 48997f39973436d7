import * as assert from "assert";
import {
    assertPlacement,
    assertReplicaCount,
    deriveReplicaId,
    faultTolerance,
    quorumSize,
    replicaCountProblem,
    replicaIds,
} from "../../components/cluster/topology";

describe("replica topology", () => {
    it("allows 3, 5 and 7 replicas only, saying why", () => {
        for (const n of [3, 5, 7]) assert.doesNotThrow(() => assertReplicaCount(n));
        assert.throws(
            () => assertReplicaCount(2),
            /replicas=2 is not allowed: an even count tolerates no more failures than 1 replicas.*Use 3, 5 or 7/,
        );
        assert.throws(() => assertReplicaCount(4), /replicas=4 .*even count/);
        assert.throws(() => assertReplicaCount(1), /fewer than 3 replicas/);
        assert.throws(() => assertReplicaCount(9), /up to 7/);
    });
    it("explains the majority rule for 2, 4 and 6 replicas: a majority of N must stay up", () => {
        assert.throws(() => assertReplicaCount(2), /a majority of 2 \(2\) must stay up, so 2 replicas survive 0 failure\(s\), as 1 do/);
        assert.throws(() => assertReplicaCount(4), /a majority of 4 \(3\) must stay up, so 4 replicas survive 1 failure\(s\), as 3 do/);
        assert.throws(() => assertReplicaCount(6), /a majority of 6 \(4\) must stay up, so 6 replicas survive 2 failure\(s\), as 5 do/);
        assert.throws(() => assertReplicaCount(1), /a majority of 1 \(1\) must stay up/);
        for (const n of [3, 5, 7]) assert.strictEqual(replicaCountProblem(n), undefined);
    });
    it("computes quorum as RethinkDB does", () => {
        assert.deepStrictEqual([3, 5, 7].map(quorumSize), [2, 3, 4]);
        assert.deepStrictEqual([3, 5, 7].map(faultTolerance), [1, 2, 3]);
    });
    it("wants one replica per zone unless sharing is allowed, and never a majority in one zone", () => {
        const spread = [
            { name: "a", zone: "z1" },
            { name: "b", zone: "z2" },
            { name: "c", zone: "z3" },
        ];
        assert.doesNotThrow(() => assertPlacement(spread, false));
        const shared = [...spread.slice(0, 2), { name: "c", zone: "z1" }];
        assert.throws(() => assertPlacement(shared, false), /share some \(z1: a, c\).*allowZoneSharing: true/);
        // 2 of 3 in one zone is a majority: refused even when sharing is allowed.
        assert.throws(() => assertPlacement(shared, true), /zone z1 holds 2 of 3 replicas, a majority/);
        const five = ["z1", "z1", "z2", "z2", "z3"].map((zone, i) => ({ name: `h${i}`, zone }));
        assert.doesNotThrow(() => assertPlacement(five, true));
        assert.throws(() => assertPlacement([...spread, { name: "a", zone: "z4" }], false), /"a" appears twice/);
    });
    it("derives stable 12-hex replica ids and validates given ones", () => {
        const id = deriveReplicaId("prod", "host1");
        assert.match(id, /^[0-9a-f]{12}$/);
        assert.strictEqual(deriveReplicaId("prod", "host1"), id);
        assert.notStrictEqual(deriveReplicaId("prod", "host2"), id);
        assert.notStrictEqual(deriveReplicaId("other", "host1"), id);
        const ids = replicaIds("prod", ["h1", "h2", "h3"], ["aaaaaaaaaaaa", undefined, undefined]);
        assert.strictEqual(ids[0], "aaaaaaaaaaaa");
        assert.strictEqual(ids[1], deriveReplicaId("prod", "h2"));
        assert.throws(() => replicaIds("prod", ["h1", "h2"], ["aaaaaaaaaaaa", "aaaaaaaaaaaa"]), /used twice/);
        assert.throws(() => replicaIds("prod", ["h1"], ["nothex"]), /replicaIds\[0\]/);
    });
});

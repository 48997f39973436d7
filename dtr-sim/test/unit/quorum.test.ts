import assert from "node:assert/strict";
import { committed, faultTolerance, hasQuorum, majority } from "../../src/quorum";

describe("quorum arithmetic", () => {
    it("majorities and tolerated failures match RethinkDB's (3->1, 5->2, 7->3)", () => {
        assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map(majority), [1, 2, 2, 3, 3, 4, 4]);
        assert.deepEqual([1, 2, 3, 5, 7].map(faultTolerance), [0, 0, 1, 2, 3]);
        assert.throws(() => majority(0), /positive integer/);
    });

    it("2 of 3 is a quorum, 1 of 3 is not", () => {
        assert.equal(hasQuorum(2, 3), true);
        assert.equal(hasQuorum(1, 3), false);
    });

    it("a membership change needs a majority of both the old and the new set", () => {
        const old = ["a", "b", "c"];
        const grown = ["a", "b", "c", "d"];
        assert.equal(committed(new Set(["a", "b"]), old, grown), false); // 2 of 4 in the new set
        assert.equal(committed(new Set(["a", "b", "d"]), old, grown), true);
        assert.equal(committed(new Set(["a", "d"]), old, grown), false); // 1 of 3 in the old set
    });
});

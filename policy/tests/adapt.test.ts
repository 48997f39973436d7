import * as assert from "node:assert/strict";
import { UNKNOWN } from "../rules";
import { UNKNOWN_SENTINELS, markUnknowns } from "../rules/adapt";
import { policies } from "../pack";

const sdkProxy = require("@pulumi/policy/proxy");

describe("policy SDK adapter", () => {
    it("knows exactly the SDK's unknown sentinels", () => {
        const sdk = Object.keys(sdkProxy)
            .filter((k) => /^unknown.*Value$/.test(k))
            .map((k) => sdkProxy[k]);
        assert.deepEqual(new Set(sdk), UNKNOWN_SENTINELS);
    });
    it("reads through the SDK's unknown-checking proxy and marks unknowns deep inside", () => {
        const raw = {
            replicaCount: 3,
            zones: ["a", sdkProxy.unknownStringValue],
            tags: { x: sdkProxy.unknownObjectValue },
        };
        const proxied = sdkProxy.unknownCheckingProxy(raw);
        assert.throws(() => proxied.zones[1], /can't be known during preview/);
        assert.deepEqual(markUnknowns(proxied), { replicaCount: 3, zones: ["a", UNKNOWN], tags: { x: UNKNOWN } });
    });
    it("declares every rule as a mandatory stack policy", () => {
        assert.deepEqual(
            policies.map((p) => [p.name, p.enforcementLevel]),
            [
                ["dtr-replica-count-odd-min-3", "mandatory"],
                ["dtr-one-replica-per-zone", "mandatory"],
                ["dtr-layer-bucket-protected", "mandatory"],
                ["dtr-backup-bucket-locked", "mandatory"],
                ["dtr-no-unsafe-flags-in-production", "mandatory"],
                ["dtr-backup-agent-pinned", "mandatory"],
                ["dtr-no-filesystem-storage-multi-replica", "mandatory"],
            ],
        );
    });
});

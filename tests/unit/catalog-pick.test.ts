/** Which backup `rebuild --from` takes, given the agent's catalog (intact entries newest first by store time, broken apart). */
import * as assert from "assert";
import { BrokenEntry, CatalogEntry, pickManifest } from "../../stacks/catalog";

const A = { bucket: "b", prefix: "p", cluster: "c1" };
const key = (n: string, kind = "dtr") => `p/manifests/c1/20260101T00000${n}000Z-0000000${n}-${kind}.manifest.json`;
const entry = (n: string, kind: string, createdAt: string, storedAt: string): CatalogEntry =>
    ({ manifestKey: key(n, kind), manifest: { kind, createdAt }, storedAt, objectStoredAt: storedAt }) as unknown as CatalogEntry;

describe("rebuild --from: picking from the catalog", () => {
    // Newest by store time first, as the agent lists them; host clocks claim otherwise.
    const entries = [
        entry("3", "ucp", "2026-01-01T00:00:00.000Z", "2026-03-03T00:00:00.000Z"),
        entry("2", "dtr", "2026-01-01T00:00:00.000Z", "2026-03-02T00:00:00.000Z"),
        entry("1", "dtr", "2099-01-01T00:00:00.000Z", "2026-03-01T00:00:00.000Z"),
    ];
    const broken: BrokenEntry[] = [
        { brokenManifestKey: key("4"), reason: "its object s3://b/x version v does not exist", storedAt: "2026-03-04T00:00:00.000Z" },
    ];

    it("latest is the first intact DTR entry in the agent's order, never a broken one, whatever createdAt says", () => {
        assert.strictEqual(pickManifest({ entries, broken }, "latest", A).manifestKey, key("2"));
    });
    it("an explicit key is found, and a broken one is refused with the agent's reason", () => {
        assert.strictEqual(pickManifest({ entries, broken }, key("1"), A).manifestKey, key("1"));
        assert.throws(() => pickManifest({ entries, broken }, key("4"), A), /is broken: its object .* does not exist/);
        assert.throws(() => pickManifest({ entries, broken }, key("3", "ucp"), A), /no DTR backup manifest/);
    });
    it("no intact DTR backup: says how many broken ones were skipped", () => {
        assert.throws(
            () => pickManifest({ entries: [entries[0]], broken }, "latest", A),
            /no intact DTR backup .*1 broken manifest\(s\) skipped/,
        );
    });
});

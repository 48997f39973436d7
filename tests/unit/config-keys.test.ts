/**
 * manifestKeyProblem: the manifest-key shape the backup agent writes, checked directly and against the agent's own
 * key builder (backup-agent/src/keys.ts), so the two cannot drift apart unnoticed.
 */
import * as assert from "assert";
import { manifestKeyProblem, parseManifestKey } from "../../components/backup/keys";
import { backupKeys } from "../../backup-agent/src/keys";

const GOOD = "dtr/manifests/prod-dtr/20261125T023000Z-dtr.manifest.json";

describe("config: manifest keys (components/backup/keys.ts)", () => {
    it("accepts every key the agent's backupKeys writes, for each kind, with and without a prefix", () => {
        for (const prefix of [undefined, "dtr", "backups/dtr-ha", "a_b/c.d/e-f"]) {
            for (const kind of ["dtr", "ucp", "swarm"] as const) {
                const { manifestKey } = backupKeys({ prefix, cluster: "prod-dtr", kind, createdAt: new Date(), encrypted: true });
                assert.strictEqual(manifestKeyProblem(manifestKey), undefined, manifestKey);
                assert.deepStrictEqual(parseManifestKey(manifestKey), {
                    prefix: prefix ?? "",
                    cluster: "prod-dtr",
                    stamp: manifestKey
                        .split("/")
                        .pop()!
                        .replace(/-(dtr|ucp|swarm)\.manifest\.json$/, ""),
                    kind,
                });
            }
        }
    });

    const refused: [string, RegExp][] = [
        ["dtr/manifests/prod/x$(id).manifest.json", /holds "\$", which no backup key has/],
        ["x$(id).manifest.json", /holds "\$"/],
        ["dtr/manifests/prod/20261125T023000Z-$(id -un>/tmp/p)-dtr.manifest.json", /holds "\$"/],
        ["dtr/manifests/prod/2026 1125T023000Z-dtr.manifest.json", /holds " "/],
        ["dtr/manifests/prod/20261125T023000Z-dtr'.manifest.json", /holds "'"/],
        ['dtr/manifests/prod/20261125T023000Z-dtr".manifest.json', /holds "\\""/],
        ["dtr/manifests/prod/20261125T023000Z-dtr\n.manifest.json", /holds "\\n"/],
        ["dtr/manifests/prod/20261125T023000Z-dtr`id`.manifest.json", /holds "`"/],
        ["dtr/../manifests/prod/20261125T023000Z-dtr.manifest.json", /has a '\.' or '\.\.' segment/],
        ["./manifests/prod/20261125T023000Z-dtr.manifest.json", /has a '\.' or '\.\.' segment/],
        ["/dtr/manifests/prod/20261125T023000Z-dtr.manifest.json", /starts with '\/'/],
        ["", /is empty/],
        ["dtr/objects/prod/dtr/20261125T023000Z.tar.gz", /is not of the shape/],
        ["dtr/manifests/prod/20261125T023000Z-dtr.json", /is not of the shape/],
        ["dtr/manifests/prod/extra/20261125T023000Z-dtr.manifest.json", /is not of the shape/],
        ["--flag/manifests/prod/20261125T023000Z-dtr.manifest.json", /has the prefix "--flag"/],
        ["dtr/manifests/Prod/20261125T023000Z-dtr.manifest.json", /names the cluster "Prod"/],
        ["dtr/manifests/prod/2026-11-25-dtr.manifest.json", /has the stamp "2026-11-25"/],
        ["dtr/manifests/prod/latest-dtr.manifest.json", /has the stamp "latest"/],
        ["dtr/manifests/prod/20261125T023000Z-dtr2.manifest.json", /is of kind "dtr2"/],
        ["dtr/manifests/prod/20261125T023000Z-" + "x".repeat(1100) + ".manifest.json", /bytes long/],
    ];
    for (const [key, why] of refused) {
        it(`refuses ${JSON.stringify(key).slice(0, 70)}, saying why and what a key looks like`, () => {
            const p = manifestKeyProblem(key);
            assert.ok(p, "refused");
            assert.match(p!, why);
            assert.ok(p!.includes("manifests/<cluster>/<YYYYMMDDTHHMMSSmmmZ-nonce>-<dtr|ucp|swarm>.manifest.json"), p);
            assert.throws(() => parseManifestKey(key), /manifest key/);
        });
    }

    it("accepts the older agents' second-resolution keys and refuses a stamp with a bad nonce", () => {
        assert.strictEqual(manifestKeyProblem(GOOD), undefined);
        assert.strictEqual(manifestKeyProblem("dtr/manifests/prod/20261125T023000123Z-1a2b3c4d-dtr.manifest.json"), undefined);
        assert.match(manifestKeyProblem("dtr/manifests/prod/20261125T023000123Z-XYZ-dtr.manifest.json")!, /has the stamp/);
    });

    it("checks the cluster and the kind when asked", () => {
        assert.strictEqual(manifestKeyProblem(GOOD, { cluster: "prod-dtr", kind: "dtr" }), undefined);
        assert.match(
            manifestKeyProblem(GOOD, { cluster: "staging" })!,
            /is a backup of cluster "prod-dtr", not of this stack's cluster.name "staging": .*set cluster.name to "prod-dtr"/,
        );
        assert.match(
            manifestKeyProblem(GOOD.replace("-dtr.manifest", "-ucp.manifest"), { kind: "dtr" })!,
            /is a ucp backup; a dtr backup is needed here/,
        );
    });
});

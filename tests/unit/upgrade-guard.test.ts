/**
 * "No backup, no upgrade": the version step's update script, run in dash with the real pre-upgrade backup pipeline
 * against a scripted docker. A failed backup must leave DTR un-upgraded.
 */
import * as assert from "assert";
import { PREVIOUS_VERSION, upgradeScript, withPreviousVersion } from "../../components/cluster/dtr-cluster";
import { upgradeCommand } from "../../components/dtr-cli/commands";
import { dtrBackupScript } from "../../components/backup/scripts";
import { FakeHost, INVENTORY_SHA, catalogEntry } from "./restore-fakes";

const ucp = { url: "https://ucp.example.com", username: "admin", insecureTls: true };
const KEY = "dtr/manifests/lab/20261125T120000Z-dtr.manifest.json";

function script(): string {
    const backup = dtrBackupScript({
        image: { repository: "reg/dtr", version: PREVIOUS_VERSION },
        ucp,
        candidates: [{ id: "aaaaaaaaaaa1", address: "10.0.0.1" }],
        cluster: "lab",
        target: { agentImage: "reg/dtr-ha-backup:0.1.0", bucket: "dtr-backups", prefix: "dtr" },
    });
    return upgradeScript(
        "2.9.17",
        upgradeCommand({ image: { repository: "reg/dtr", version: "2.9.17" }, ucp, existingReplicaId: "aaaaaaaaaaa1" }),
        withPreviousVersion(backup),
    );
}

function host(): FakeHost {
    return new FakeHost({
        inventory: { out: `{"repositories":3,"tags":7,"teamAccess":1,"sha256":"${INVENTORY_SHA}"}\n` },
        keys: { out: `{"objectKey":"dtr/objects/lab/x.tar.gz","manifestKey":"${KEY}"}\n` },
        backup: { out: "TAR-BYTES" },
        upload: { out: `${JSON.stringify(JSON.parse(catalogEntry({ manifestKey: KEY })).manifest)}\n` },
        "put-manifest": { out: `${KEY}\n` },
    });
}

describe("no backup, no upgrade (upgradeScript in dash)", function () {
    this.timeout(20_000);
    const env = { UCP_PASSWORD: "pw", UCP_USERNAME: "admin", PULUMI_COMMAND_STDOUT: "dtr-version: 2.9.16" };
    const hosts: FakeHost[] = [];
    afterEach(() => hosts.splice(0).forEach((h) => h.cleanup()));

    it("backs up with the running version, then upgrades", async () => {
        const h = host();
        hosts.push(h);
        const r = await h.run(script(), env);
        assert.strictEqual(r.code, 0, r.stderr);
        assert.deepStrictEqual(h.subs(), ["inventory", "keys", "backup", "upload", "put-manifest", "upgrade"]);
        assert.strictEqual(h.calls().find((c) => c.sub === "backup")!.image, "reg/dtr:2.9.16", "the backup runs the old version");
        assert.strictEqual(h.calls().find((c) => c.sub === "upgrade")!.image, "reg/dtr:2.9.17");
        assert.strictEqual(r.stdout.trim().split("\n").pop(), "dtr-version: 2.9.17");
    });

    it("never upgrades when the pre-upgrade backup fails", async () => {
        for (const failing of ["backup", "upload", "put-manifest", "keys"]) {
            const h = host();
            hosts.push(h);
            h.answer(failing, { rc: 1 });
            const r = await h.run(script(), env);
            assert.strictEqual(r.code, 1, `${failing} failed: exit ${r.code}`);
            assert.match(r.stderr, /the pre-upgrade backup failed; DTR was not upgraded/);
            assert.ok(!h.subs().includes("upgrade"), `${failing} failed, yet: ${h.subs().join(",")}`);
            assert.doesNotMatch(r.stdout, /dtr-version: 2\.9\.17/);
        }
    });

    it("refuses to upgrade when the installed version is unknown, and does nothing when it is unchanged", async () => {
        const h = host();
        hosts.push(h);
        const unknown = await h.run(script(), { ...env, PULUMI_COMMAND_STDOUT: "" });
        assert.strictEqual(unknown.code, 1);
        assert.match(unknown.stderr, /installed DTR version is unknown; refusing to upgrade without a backup/);
        const same = await h.run(script(), { ...env, PULUMI_COMMAND_STDOUT: "dtr-version: 2.9.17" });
        assert.strictEqual(same.code, 0);
        assert.deepStrictEqual(h.subs(), [], "nothing ran");
    });
});

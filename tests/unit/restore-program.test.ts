/**
 * The stack program (index.ts) with a `backup` section, and with `backup` + `restore`, evaluated under the mocks (whose
 * backup commands print a real catalog line).
 */
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { recorded, settle, valueOf } from "./mocks";
import dtrStack = require("../../index");

const KEY = "dtr/manifests/rst/20261125T120000Z-dtr.manifest.json";
const IDENTITY = "AGE-SECRET-KEY-1PROGRAMZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ";
const HOSTKEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHrvC8N7j host";
const RECIPIENT = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";

function setConfig(values: Record<string, unknown>, secrets: Record<string, string>) {
    const all: Record<string, string> = {};
    for (const [k, v] of Object.entries(values)) all[`dtr-ha:${k}`] = JSON.stringify(v);
    for (const [k, v] of Object.entries(secrets)) all[`dtr-ha:${k}`] = v;
    pulumi.runtime.setAllConfig(
        all,
        Object.keys(secrets).map((k) => `dtr-ha:${k}`),
    );
}

const base = {
    cluster: {
        name: "rst",
        replicas: 3,
        production: false,
        externalUrl: "https://10.200.0.11",
        overlaySubnet: "10.200.64.0/24",
        dockerAddressPools: ["10.200.128.0/17"],
        mountEngineSocket: true,
    },
    image: { repository: "10.200.0.1:5000/dtr-sim", version: "2.9.16" },
    ucp: { url: "https://10.200.0.11", username: "admin", insecureTls: true },
    hosts: {
        mode: "existing",
        networks: ["10.200.0.0/24"],
        existing: [1, 2, 3].map((i) => ({ name: `host${i}`, address: `10.200.0.1${i}`, zone: `z${i}`, hostKey: HOSTKEY })),
    },
    storage: { mode: "s3", s3: { region: "us-east-1", bucket: "dtr-layers", regionEndpoint: "http://10.200.0.1:9000" } },
    backup: {
        mode: "s3",
        bucket: "dtr-backups",
        prefix: "dtr",
        agentImage: "10.200.0.1:5000/dtr-ha-backup:0.1.0",
        recipients: [] as string[],
        s3: { region: "us-east-1", endpoint: "http://10.200.0.1:9000" },
    },
};
const secrets = {
    ucpPassword: "ucp-PASS-1",
    sshPrivateKey: "PRIVATE-SSH-KEY",
    storageAccessKey: "AK",
    storageSecretKey: "SK-secret-9",
    backupAccessKey: "BAK",
    backupSecretKey: "BSK-secret-7",
};

/** A mocked input, with the secret wrapper the mocks keep removed. */
function plain(v: any): any {
    if (v && typeof v === "object" && "4dabf18193072939515e22adb298388d" in v) return plain(v.value);
    if (Array.isArray(v)) return v.map(plain);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
    return v;
}

async function evaluate(values: Record<string, unknown>, secretValues: Record<string, string>) {
    setConfig(values, secretValues);
    const before = recorded.length;
    const out = dtrStack();
    const resolved: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(out)) resolved[k] = v === undefined ? undefined : await valueOf(v as pulumi.Output<unknown>);
    await settle();
    const mine = recorded.slice(before).filter((r) => r.name.startsWith("rst-"));
    const named = (n: string) => {
        const r = mine.find((x) => x.name === n);
        assert.ok(r, `${n} declared: ${mine.map((x) => x.name).join(",")}`);
        return r!;
    };
    return { resolved, mine, named };
}

describe("the stack program with backup and restore (index.ts, mocked)", () => {
    it("with a backup section: installs, then takes the backup, whose manifest key becomes an output", async () => {
        const { resolved, named, mine } = await evaluate(base, secrets);
        assert.strictEqual(resolved.lastBackup, "dtr/manifests/rst/20261125T120000Z-dtr.manifest.json");
        assert.strictEqual(resolved.backupBucket, "dtr-backups");
        named("rst-install");
        assert.ok(!mine.some((r) => r.name.startsWith("rst-restore")), "no restore step");
        const text = JSON.stringify(resolved);
        for (const s of Object.values(secrets)) assert.ok(!text.includes(s), `output leaks ${s}`);
    });

    it("with backup + restore: restores instead of installing, and passes the age identity whenever it is configured", async () => {
        // No recipients today (backups taken since are not encrypted), but the backup restored may be: the identity
        // must reach the verify and restore steps all the same.
        const { resolved, named, mine } = await evaluate(
            { ...base, restore: { manifestKey: KEY, destroyExisting: true, replicaId: "aaaaaaaaaaa1" } },
            { ...secrets, ageIdentity: IDENTITY },
        );
        assert.ok(!mine.some((r) => r.name === "rst-install"), "no install in restore mode");
        for (const n of ["rst-restore-verify", "rst-restore"]) {
            const env = plain(named(n).inputs.environment);
            assert.strictEqual(env.DTR_HA_AGE_IDENTITY, IDENTITY, `${n} gets the identity`);
            assert.ok(!JSON.stringify(plain(named(n).inputs.create)).includes(IDENTITY), `${n}: not in the script`);
        }
        named("rst-restore-clear-host1");
        named("rst-restore-check");
        assert.strictEqual(
            resolved.lastBackup,
            "dtr/manifests/rst/20261125T120000Z-dtr.manifest.json",
            "the chain runs after the restore check",
        );
        const text = JSON.stringify(resolved);
        assert.ok(!text.includes(IDENTITY), "the identity is no output");
    });

    it("with backup + restore: the configured storage reaches verify and restore as data, without its keys", async () => {
        const { named } = await evaluate({ ...base, restore: { manifestKey: KEY, replicaId: "aaaaaaaaaaa1" } }, secrets);
        for (const n of ["rst-restore-verify", "rst-restore"]) {
            const env = plain(named(n).inputs.environment);
            assert.deepStrictEqual(
                Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith("DTR_HA_STORAGE_"))),
                {
                    DTR_HA_STORAGE_DRIVER: "s3",
                    DTR_HA_STORAGE_BUCKET: "dtr-layers",
                    DTR_HA_STORAGE_REGION: "us-east-1",
                    DTR_HA_STORAGE_ROOTDIRECTORY: "",
                    DTR_HA_STORAGE_REGIONENDPOINT: "http://10.200.0.1:9000",
                },
                n,
            );
            assert.ok(!JSON.stringify(env).includes(secrets.storageSecretKey), `${n}: no layer storage key`);
        }
    });

    it("with recipients and the identity, and without any identity", async () => {
        const enc = await evaluate(
            { ...base, backup: { ...base.backup, recipients: [RECIPIENT] }, restore: { manifestKey: KEY, replicaId: "aaaaaaaaaaa1" } },
            { ...secrets, ageIdentity: IDENTITY },
        );
        assert.strictEqual(plain(enc.named("rst-restore-verify").inputs.environment).DTR_HA_AGE_IDENTITY, IDENTITY);
        const none = await evaluate({ ...base, restore: { manifestKey: KEY, replicaId: "aaaaaaaaaaa1" } }, secrets);
        assert.ok(
            !("DTR_HA_AGE_IDENTITY" in plain(none.named("rst-restore-verify").inputs.environment)),
            "no identity configured: none sent",
        );
    });
    it("restores with restore.replicaId (the backed-up replica's id) on restore.host, and refuses a missing or bad id naming the key", async () => {
        const { resolved, named } = await evaluate(
            { ...base, restore: { manifestKey: KEY, replicaId: "bbbbbbbbbbb2", host: "host1" } },
            secrets,
        );
        assert.strictEqual((resolved.replicaIds as string[])[0], "bbbbbbbbbbb2", "the first replica is the backed-up one");
        assert.strictEqual(plain(named("rst-restore").inputs.environment).DTR_HA_REPLICA_ID, "bbbbbbbbbbb2");
        assert.strictEqual(plain(named("rst-restore-verify").inputs.environment).DTR_HA_REPLICA_ID, "bbbbbbbbbbb2");
        const before = recorded.length;
        for (const [restore, shown] of [
            [{ manifestKey: KEY }, "(not set)"],
            [{ manifestKey: KEY, replicaId: "BBBBBBBBBBB2" }, '"BBBBBBBBBBB2"'],
            [{ manifestKey: KEY, replicaId: "bbbbbbbbbb2" }, '"bbbbbbbbbb2"'],
        ] as const) {
            setConfig({ ...base, restore }, secrets);
            assert.throws(
                () => dtrStack(),
                (e: Error) =>
                    e.message.includes(`dtr-ha:restore.replicaId = ${shown}: `) &&
                    e.message.includes("the id of the replica the backup was taken from") &&
                    e.message.includes("npm run rebuild sets it"),
            );
        }
        assert.strictEqual(recorded.slice(before).length, 0, "nothing declared");
    });
});

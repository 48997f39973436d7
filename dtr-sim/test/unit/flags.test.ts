import assert from "node:assert/strict";
import * as F from "../../src/flags";

const env = {};
const base = ["--ucp-url", "https://ucp.example:443", "--ucp-username", "admin", "--ucp-node", "host1"];

describe("flags", () => {
    it("parses --flag value, --flag=value and booleans, and takes the password from env UCP_PASSWORD", () => {
        const f = F.parseFlags("install", [...base, "--replica-id=0123456789ab", "--ucp-insecure-tls"], {
            env: { UCP_PASSWORD: "s3cret" },
            stdinIsTTY: false,
        });
        assert.equal(f["ucp-url"], "https://ucp.example:443");
        assert.equal(f["replica-id"], "0123456789ab");
        assert.equal(f["ucp-insecure-tls"], true);
        assert.equal(f["ucp-password"], "s3cret");
    });

    it("a command-line flag wins over its environment variable", () => {
        const f = F.parseFlags("install", [...base, "--ucp-password", "cli"], { env: { UCP_PASSWORD: "env" }, stdinIsTTY: false });
        assert.equal(f["ucp-password"], "cli");
    });

    it("a missing required flag without a TTY gives DTR's EOF error plus a hint naming the flag and its env", () => {
        assert.throws(
            () => F.parseFlags("install", base, { env, stdinIsTTY: false }),
            (e: Error) =>
                e.message.startsWith("EOF unexpected end of file") &&
                e.message.includes("--ucp-password") &&
                e.message.includes("UCP_PASSWORD"),
        );
    });

    it("a missing required flag with a TTY says dtr-sim does not prompt", () => {
        assert.throws(
            () => F.parseFlags("backup", ["--ucp-url", "https://u"], { env, stdinIsTTY: true }),
            /--ucp-username is required for 'backup'. dtr-sim does not prompt/,
        );
    });

    it("rejects unknown flags and commands, naming them", () => {
        assert.throws(
            () => F.parseFlags("install", [...base, "--replica-idd", "x"], { env, stdinIsTTY: false }),
            /flag provided but not defined: -replica-idd\ndtr-sim hint: .*reference\/dtr\/2\.7\/cli\/install\.md/,
        );
        assert.throws(() => F.parseFlags("instal", [], { env, stdinIsTTY: false }), /unknown command 'instal'/);
        assert.throws(() => F.parseFlags("install", ["--ucp-url"], { env, stdinIsTTY: false }), /--ucp-url needs a value/);
        assert.throws(() => F.parseFlags("install", ["--debug=yes"], { env, stdinIsTTY: false }), /--debug takes true or false, got 'yes'/);
    });

    it("replica ids are exactly 12 lowercase hex characters", () => {
        assert.equal(F.validateReplicaId("replica-id", "abcdef012345"), "abcdef012345");
        for (const bad of ["abcdef01234", "abcdef0123456", "ABCDEF012345", "abcdefg12345"]) {
            assert.throws(() => F.validateReplicaId("replica-id", bad), new RegExp(`--replica-id '${bad}' is not a replica id`));
        }
    });

    it("fails fast when --replica-https-port differs from the port of --dtr-external-url, naming both", () => {
        assert.doesNotThrow(() => F.checkExternalUrlPort("https://dtr.example", 443));
        assert.doesNotThrow(() => F.checkExternalUrlPort("https://dtr.example:4443", 4443));
        assert.throws(
            () => F.checkExternalUrlPort("https://dtr.example:4443", 443),
            (e: Error) => /port 4443 but --replica-https-port is 443/.test(e.message) && /hangs/.test(e.message),
        );
        assert.throws(() => F.externalUrlPort("http://dtr.example"), /must use https/);
        assert.throws(() => F.externalUrlPort("https://dtr.example/path"), /must not have a path/);
    });

    it("restore needs exactly one storage flag", () => {
        assert.deepEqual(F.restoreStorageChoice({ "dtr-use-default-storage": true }), { kind: "default" });
        assert.deepEqual(F.restoreStorageChoice({ "dtr-storage-volume": "vol" }), { kind: "volume", volume: "vol" });
        assert.deepEqual(F.restoreStorageChoice({ "nfs-storage-url": "nfs://nas/export" }), { kind: "nfs", url: "nfs://nas/export" });
        assert.throws(() => F.restoreStorageChoice({}), /exactly one storage flag, got none/);
        assert.throws(
            () => F.restoreStorageChoice({ "dtr-use-default-storage": true, "dtr-storage-volume": "v" }),
            /got --dtr-use-default-storage and --dtr-storage-volume/,
        );
        assert.throws(() => F.restoreStorageChoice({ "nfs-storage-url": "nas:/export" }), /must look like nfs:\/\/host\/path/);
    });

    it("needs --ucp-ca or --ucp-insecure-tls, as real DTR does to trust UCP", () => {
        assert.throws(() => F.checkUcpTrust({}), /--ucp-ca/);
        assert.doesNotThrow(() => F.checkUcpTrust({ "ucp-insecure-tls": true }));
        assert.throws(() => F.checkUcpUrl("ucp.example"), /--ucp-url 'ucp.example' is not a URL/);
    });

    it("every command lists the common UCP flags", () => {
        for (const [name, c] of Object.entries(F.commands)) {
            for (const f of ["ucp-url", "ucp-username", "ucp-password", "ucp-ca", "ucp-insecure-tls", "debug"]) {
                assert.ok(
                    c.flags.some((x) => x.name === f),
                    `${name} lacks --${f}`,
                );
            }
        }
    });

    describe("remove (reference/dtr/2.7/cli/remove.md)", () => {
        const ucp = ["--ucp-url", "https://ucp.example", "--ucp-username", "admin", "--ucp-insecure-tls"];
        const parse = (args: string[], e: Record<string, string> = {}) =>
            F.parseFlags("remove", [...ucp, ...args], { env: { UCP_PASSWORD: "pw", ...e }, stdinIsTTY: false });
        const A = "aaaaaaaaaaaa",
            B = "bbbbbbbbbbbb",
            C = "cccccccccccc";

        it("refuses --force-remove, which DTR 2.6/2.7's remove does not define", () => {
            assert.throws(
                () => parse(["--existing-replica-id", A, "--replica-ids", B, "--force-remove"]),
                /flag provided but not defined: -force-remove\n/,
            );
        });

        it("--replica-ids is a comma list; --existing-replica-id stays and comes from $DTR_REPLICA_ID", () => {
            assert.deepEqual(F.removeTargets(parse(["--replica-ids", `${B}, ${C}`], { DTR_REPLICA_ID: A }), false), {
                existing: A,
                ids: [B, C],
            });
        });

        it("--replica-id and $DTR_REMOVE_REPLICA_ID are the deprecated alias of the replica to REMOVE", () => {
            assert.deepEqual(F.removeTargets(parse(["--existing-replica-id", A, "--replica-id", B]), false), { existing: A, ids: [B] });
            assert.deepEqual(F.removeTargets(parse(["--existing-replica-id", A], { DTR_REMOVE_REPLICA_ID: B }), false), {
                existing: A,
                ids: [B],
            });
            // The old sim read $DTR_REMOVE_REPLICA_ID as the replica that stays: it is not that.
            assert.throws(() => parse([], { DTR_REMOVE_REPLICA_ID: A }), /EOF unexpected end of file[\s\S]*--existing-replica-id/);
        });

        it("refuses when --replica-ids and its alias disagree", () => {
            assert.throws(
                () => F.removeTargets(parse(["--existing-replica-id", A, "--replica-ids", B, "--replica-id", C]), false),
                /--replica-ids 'bbbbbbbbbbbb' and --replica-id 'cccccccccccc' .* disagree/,
            );
        });

        it("refuses an --existing-replica-id that is among the replicas removed", () => {
            assert.throws(
                () => F.removeTargets(parse(["--existing-replica-id", A, "--replica-ids", `${B},${A}`]), false),
                /--existing-replica-id aaaaaaaaaaaa is also among the replicas to remove/,
            );
        });

        it("without replicas to remove and without a TTY gives DTR's EOF error naming --replica-ids", () => {
            assert.throws(
                () => F.removeTargets(parse(["--existing-replica-id", A]), false),
                /EOF unexpected end of file[\s\S]*--replica-ids \(or env DTR_REMOVE_REPLICA_IDS\)/,
            );
            assert.throws(
                () => F.removeTargets(parse(["--existing-replica-id", A, "--replica-ids", `${B},`]), false),
                /is not a replica id/,
            );
        });
    });

    describe("emergency-repair (reference/dtr/2.7/cli/emergency-repair.md)", () => {
        const args = [
            "--ucp-url",
            "https://ucp.example",
            "--ucp-username",
            "admin",
            "--ucp-insecure-tls",
            "--existing-replica-id",
            "aaaaaaaaaaaa",
        ];
        const parse = (more: string[], e: Record<string, string> = {}) =>
            F.parseFlags("emergency-repair", [...args, ...more], { env: { UCP_PASSWORD: "pw", ...e }, stdinIsTTY: false });

        it("accepts the documented flags: --overlay-subnet, --prune/$PRUNE, --yes, --y and $YES", () => {
            const f = parse(["--overlay-subnet", "10.1.0.0/24", "--prune", "--y"]);
            assert.deepEqual([f["overlay-subnet"], f.prune, f.yes], ["10.1.0.0/24", true, true]);
            assert.equal(parse(["--yes"]).yes, true);
            assert.deepEqual([parse([], { YES: "true", PRUNE: "1" }).yes, parse([], { YES: "true", PRUNE: "1" }).prune], [true, true]);
            assert.throws(() => parse(["--force"]), /flag provided but not defined: -force\n/);
        });

        it("without --yes it refuses, with or without a terminal, before changing anything", () => {
            assert.throws(
                () => F.requireConfirmation("emergency-repair", parse([]), false),
                /emergency-repair: this command needs confirmation; pass --yes \(or env YES=true\): there is no terminal/,
            );
            assert.throws(
                () => F.requireConfirmation("emergency-repair", parse([]), true),
                /needs confirmation; pass --yes.*does not prompt/,
            );
            assert.throws(() => F.requireConfirmation("emergency-repair", parse(["--yes=false"]), false), /needs confirmation/);
            assert.doesNotThrow(() => F.requireConfirmation("emergency-repair", parse(["--yes"]), false));
            assert.doesNotThrow(() => F.requireConfirmation("emergency-repair", parse([], { YES: "1" }), false));
        });
    });

    it("accepts --help-extended, listed on every 2.7 reference page", () => {
        for (const c of Object.keys(F.commands))
            assert.ok(
                F.commands[c].flags.some((f) => f.name === "help-extended"),
                c,
            );
    });
});

import assert from "node:assert/strict";
import * as F from "../../src/flags";
import { TEST_CA_PEM } from "./pem";

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
        assert.throws(() => F.parseFlags("install", ["--ucp-url"], { env, stdinIsTTY: false }), /flag needs an argument: -ucp-url\n/);
        assert.throws(() => F.parseFlags("install", ["--debug=yes"], { env, stdinIsTTY: false }), /invalid boolean value "yes" for -debug/);
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

    // Go's flag package (golang/go src/flag/flag.go, "Command line flag syntax"), which DTR's urfave/cli bootstrapper
    // parses with; the reference documents `--ucp-ca "$(cat ca.pem)"` (reference/dtr/2.7/cli/*.md, every page).
    describe("Go flag syntax (golang/go src/flag/flag.go; reference/dtr/2.7/cli/*.md)", () => {
        const ucp = ["--ucp-url", "https://ucp.example", "--ucp-username", "admin"];
        const opts = { env: { UCP_PASSWORD: "pw" }, stdinIsTTY: false };

        it('takes the next argument as a string flag\'s value even when it starts with "-": --ucp-ca "$(cat ca.pem)" on every command', () => {
            const more: Record<string, string[]> = {
                install: ["--ucp-node", "n1"],
                join: ["--ucp-node", "n1", "--existing-replica-id", "aaaaaaaaaaaa"],
                backup: ["--existing-replica-id", "aaaaaaaaaaaa"],
                restore: ["--ucp-node", "n1"],
                destroy: ["--replica-id", "aaaaaaaaaaaa"],
                remove: ["--existing-replica-id", "aaaaaaaaaaaa"],
                upgrade: ["--existing-replica-id", "aaaaaaaaaaaa"],
                reconfigure: ["--existing-replica-id", "aaaaaaaaaaaa"],
                "emergency-repair": ["--existing-replica-id", "aaaaaaaaaaaa"],
            };
            assert.deepEqual(Object.keys(more).sort(), Object.keys(F.commands).sort());
            for (const [cmd, args] of Object.entries(more)) {
                const f = F.parseFlags(cmd, [...ucp, "--ucp-ca", TEST_CA_PEM, ...args], opts);
                assert.equal(f["ucp-ca"], TEST_CA_PEM, cmd);
                assert.doesNotThrow(() => F.checkUcpTrust(f), cmd);
            }
        });

        it("install and restore take --dtr-ca, --dtr-cert and --dtr-key PEM text as separate arguments", () => {
            const key = "-----BEGIN PRIVATE KEY-----\nMIG...\n-----END PRIVATE KEY-----\n";
            for (const cmd of ["install", "restore"]) {
                const f = F.parseFlags(
                    cmd,
                    [...ucp, "--ucp-node", "n1", "--dtr-ca", TEST_CA_PEM, "--dtr-cert", TEST_CA_PEM, "--dtr-key", key, "--debug"],
                    opts,
                );
                assert.deepEqual([f["dtr-ca"], f["dtr-cert"], f["dtr-key"], f.debug], [TEST_CA_PEM, TEST_CA_PEM, key, true], cmd);
            }
            // Any string flag: the value "-x" or "--debug" is the value, not a flag.
            const f = F.parseFlags("install", ["--ucp-url", "https://u", "--ucp-username", "--debug", "--ucp-node", "-n1"], opts);
            assert.deepEqual([f["ucp-username"], f["ucp-node"], f.debug], ["--debug", "-n1", undefined]);
        });

        it("refuses a --ucp-ca that holds no parsable certificate", () => {
            assert.throws(() => F.checkUcpTrust({ "ucp-ca": "/etc/ucp/ca.pem" }), /--ucp-ca holds no PEM certificate/);
            assert.throws(
                () => F.checkUcpTrust({ "ucp-ca": "-----BEGIN CERTIFICATE-----\nnot base64 der\n-----END CERTIFICATE-----" }),
                /--ucp-ca: a certificate in it does not parse/,
            );
        });

        it("one or two minus signs are equivalent, for string and boolean flags and aliases", () => {
            const f = F.parseFlags(
                "emergency-repair",
                ["-ucp-url", "https://u", "-ucp-username=admin", "-existing-replica-id", "aaaaaaaaaaaa", "-y", "-ucp-insecure-tls"],
                opts,
            );
            assert.deepEqual(
                [f["ucp-url"], f["ucp-username"], f["existing-replica-id"], f.yes, f["ucp-insecure-tls"]],
                ["https://u", "admin", "aaaaaaaaaaaa", true, true],
            );
            assert.throws(() => F.parseFlags("install", ["-replica-idd", "x"], opts), /flag provided but not defined: -replica-idd\n/);
        });

        it("booleans take Go's forms 1 0 t f T F true false TRUE FALSE True False as --flag=x and in their env variable", () => {
            const forms: [string, boolean][] = [
                ["1", true],
                ["t", true],
                ["T", true],
                ["true", true],
                ["TRUE", true],
                ["True", true],
                ["0", false],
                ["f", false],
                ["F", false],
                ["false", false],
                ["FALSE", false],
                ["False", false],
            ];
            for (const [v, want] of forms) {
                assert.equal(
                    F.parseFlags("install", [...ucp, "--ucp-node", "n", `--ucp-insecure-tls=${v}`], opts)["ucp-insecure-tls"],
                    want,
                    v,
                );
                const e = { env: { UCP_PASSWORD: "pw", UCP_INSECURE_TLS: v }, stdinIsTTY: false };
                assert.equal(F.parseFlags("install", [...ucp, "--ucp-node", "n"], e)["ucp-insecure-tls"], want, `env ${v}`);
            }
            for (const bad of ["yes", "on", "tRUE", "2"]) {
                assert.throws(
                    () => F.parseFlags("install", [...ucp, `--debug=${bad}`], opts),
                    new RegExp(`invalid boolean value "${bad}" for -debug`),
                );
                assert.throws(
                    () =>
                        F.parseFlags("install", [...ucp, "--ucp-node", "n"], {
                            env: { UCP_PASSWORD: "pw", DEBUG: bad },
                            stdinIsTTY: false,
                        }),
                    new RegExp(`could not parse ${bad} as bool value for flag debug`),
                );
            }
            // A boolean never takes the next argument: "true" is then an argument, which DTR's commands do not take.
            assert.throws(() => F.parseFlags("install", [...ucp, "--ucp-insecure-tls", "true"], opts), /unexpected argument 'true'/);
        });

        it('"--" ends the flags; "---x" and "-=x" are bad syntax; --help, -h and -help ask for help', () => {
            assert.equal(F.scanFlags("install", ["--debug", "--"]).flags.debug, true);
            assert.throws(() => F.scanFlags("install", ["--", "--debug"]), /unexpected argument '--debug'/);
            assert.throws(() => F.scanFlags("install", ["---debug"]), /bad flag syntax: ---debug$/);
            assert.throws(() => F.scanFlags("install", ["-=x"]), /bad flag syntax: -=x$/);
            for (const h of ["--help", "-h", "-help", "--h"]) assert.equal(F.scanFlags("backup", [h]).help, true, h);
            assert.equal(F.scanFlags("backup", ["--debug"]).help, false);
            assert.equal(F.scanFlags("backup", ["-help-extended"]).flags["help-extended"], true);
        });
    });
});

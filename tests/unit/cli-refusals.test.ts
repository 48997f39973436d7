/**
 * The rebuild and backups CLIs, run as compiled (node bin/stacks/{rebuild,backups}.js) with DTR_HA_STATE_DIR in a
 * temp dir: bad input is refused with exit 2 and one clear message BEFORE anything is written (the state dir is not
 * created, or left byte-identical), runtime failures exit 1. None of these paths needs the pulumi CLI.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { missingValueProblem, parseDisasterTime, rebuildInputProblems } from "../../stacks/rebuild";
import { fromProblem, keyPlacementProblem } from "../../stacks/catalog";
import { listStackNames, passphraseProblem, stackExists } from "../../stacks/workspace";

const BIN = path.join(__dirname, "..", "..", "stacks");
const KEY = "manifests/c1/20260131T120000123Z-1a2b3c4d-dtr.manifest.json";

interface Run {
    code: number | null;
    stdout: string;
    stderr: string;
}

/** A PATH with node's own directory only: no pulumi, unless a fake one is put first. */
function run(cli: "rebuild" | "backups", args: string[], stateDir: string, extraPath?: string): Run {
    const r = spawnSync(process.execPath, [path.join(BIN, `${cli}.js`), ...args], {
        env: { PATH: [extraPath, "/usr/bin", "/bin"].filter(Boolean).join(":"), DTR_HA_STATE_DIR: stateDir },
        encoding: "utf8",
        timeout: 60_000,
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every file and directory under `dir` with its mode and content hash; null when `dir` does not exist. */
function snapshot(dir: string): Record<string, string> | null {
    if (!fs.existsSync(dir)) return null;
    const out: Record<string, string> = {};
    const walk = (d: string) => {
        for (const name of fs.readdirSync(d).sort()) {
            const p = path.join(d, name);
            const st = fs.lstatSync(p);
            const rel = path.relative(dir, p);
            if (st.isDirectory()) {
                out[rel] = `dir ${st.mode.toString(8)}`;
                walk(p);
            } else out[rel] = `file ${st.mode.toString(8)} ${crypto.createHash("sha256").update(fs.readFileSync(p)).digest("hex")}`;
        }
    };
    walk(dir);
    return out;
}

describe("rebuild and backups CLIs refuse bad input before anything is written", function () {
    this.timeout(120_000);
    let tmp: string;
    /** A state dir that does not exist. */
    let absent: string;
    /** A state dir with stacks lab and prod in the backend and a passphrase. */
    let existing: string;
    /** The same without the passphrase file. */
    let noPassphrase: string;
    /** A `pulumi` that answers `pulumi version` and nothing else: any other call would show in the state dir. */
    let fakePulumi: string;

    const makeState = (dir: string, withPassphrase: boolean) => {
        const stacks = path.join(dir, "backend", ".pulumi", "stacks", "dtr-ha");
        fs.mkdirSync(stacks, { recursive: true });
        for (const s of ["lab", "prod"]) fs.writeFileSync(path.join(stacks, `${s}.json`), JSON.stringify({ version: 3, checkpoint: {} }));
        if (withPassphrase) fs.writeFileSync(path.join(dir, "passphrase"), "the-old-passphrase", { mode: 0o600 });
    };

    before(() => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dtr-ha-cli-"));
        absent = path.join(tmp, "absent");
        existing = path.join(tmp, "existing");
        noPassphrase = path.join(tmp, "no-passphrase");
        makeState(existing, true);
        makeState(noPassphrase, false);
        fakePulumi = path.join(tmp, "fakebin");
        fs.mkdirSync(fakePulumi);
        fs.writeFileSync(path.join(fakePulumi, "pulumi"), '#!/bin/sh\n[ "$1" = version ] && { echo v3.248.0; exit 0; }\nexit 99\n', {
            mode: 0o755,
        });
        assert.notStrictEqual(
            spawnSync("sh", ["-c", "command -v pulumi"], { env: { PATH: "/usr/bin:/bin" } }).status,
            0,
            "the tests assume no pulumi in /usr/bin:/bin",
        );
    });
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    /** Runs, asserts exit code and message, and that the state dir is exactly as before (absent stays absent). */
    function refuses(cli: "rebuild" | "backups", args: string[], dir: string, code: number, message: RegExp, extraPath?: string): Run {
        const before = snapshot(dir);
        const r = run(cli, args, dir, extraPath);
        assert.strictEqual(r.code, code, `${cli} ${JSON.stringify(args)}: exit ${r.code}, stderr: ${r.stderr}`);
        assert.match(r.stderr, message, `${cli} ${JSON.stringify(args)}`);
        assert.deepStrictEqual(snapshot(dir), before, `${cli} ${JSON.stringify(args)} changed the state dir`);
        assert.doesNotMatch(r.stderr, /ENOENT|spawn pulumi/);
        return r;
    }

    const ok = ["--from", "latest", "--stack", "new"];

    it("rebuild: usage errors exit 2, not commander's 1", () => {
        refuses("rebuild", [], absent, 2, /required option '--from <manifest>'/);
        refuses("rebuild", ["--from", "latest"], absent, 2, /required option '--stack <name>'/);
        refuses("rebuild", [...ok, "--bogus"], absent, 2, /unknown option '--bogus'/);
        refuses("rebuild", [...ok, "extra"], absent, 2, /too many arguments/);
        refuses("rebuild", ["--from", "--stack", "new"], absent, 2, /--from needs a value, but --stack follows it/);
    });

    it("rebuild: empty names, a malformed --from, the source as target are refused", () => {
        refuses("rebuild", ["--from", "", "--stack", "new"], absent, 2, /--from is empty/);
        refuses("rebuild", ["--from", "latest", "--stack", ""], absent, 2, /--stack is empty/);
        refuses("rebuild", [...ok, "--source-stack", ""], absent, 2, /--source-stack is empty/);
        refuses(
            "rebuild",
            ["--from", "x$(id).manifest.json", "--stack", "new"],
            absent,
            2,
            /--from: manifest key "x\$\(id\)\.manifest\.json" is not of the shape/,
        );
        refuses("rebuild", ["--from", `${KEY}; id`, "--stack", "new"], absent, 2, /not of the shape the agent writes/);
        refuses("rebuild", ["--from", "LATEST", "--stack", "new"], absent, 2, /not of the shape/);
        refuses("rebuild", ["--from", "latest", "--stack", "../x"], absent, 2, /--stack "\.\.\/x" is not a stack name/);
        refuses("rebuild", ["--from", "latest", "--stack", "new", "--source-stack", "new"], absent, 2, /--stack new is the source stack/);
        refuses("rebuild", ["--from", "latest", "--stack", "lab"], existing, 2, /--stack lab is the source stack/);
    });

    it("rebuild: --disaster-time must be a full ISO 8601 instant in the past", () => {
        for (const [t, why] of [
            ["1", /not a full ISO 8601 instant/],
            ["yesterday", /not a full ISO 8601 instant/],
            ["2026-11-25", /not a full ISO 8601 instant/],
            ["2026-11-25T13:00:00", /not a full ISO 8601 instant/],
            ["2026-02-30T13:00:00Z", /not a real date and time/],
            ["2999-01-01T00:00:00Z", /is in the future/],
        ] as const)
            refuses("rebuild", [...ok, "--disaster-time", t], absent, 2, why);
    });

    it("rebuild: an existing target stack is refused, and the state dir stays byte-identical", () => {
        // With a pulumi on PATH, so the refusal is not the missing CLI's.
        refuses(
            "rebuild",
            ["--from", "latest", "--stack", "prod"],
            existing,
            2,
            /stack prod already exists.*run it again with --resume/,
            fakePulumi,
        );
        refuses(
            "rebuild",
            ["--from", KEY, "--stack", "prod", "--source-stack", "lab"],
            existing,
            2,
            /stack prod already exists/,
            fakePulumi,
        );
    });

    it("rebuild: a missing source stack is named, and no backend, work dir or passphrase is created", () => {
        refuses("rebuild", ok, absent, 2, /source stack lab does not exist/);
        refuses("rebuild", [...ok, "--source-stack", "gone"], existing, 2, /source stack gone does not exist/);
    });

    it("rebuild: a missing pulumi CLI is one clear line and exit 1", () => {
        const r = refuses("rebuild", ok, existing, 1, /^rebuild: error: the pulumi CLI is not on PATH/);
        assert.strictEqual(r.stderr.trim().split("\n").length, 1, r.stderr);
    });

    it("rebuild: never writes a new passphrase next to stacks made with another one", () => {
        refuses("rebuild", ok, noPassphrase, 1, /passphrase is missing but .* already holds stacks \(lab, prod\)/, fakePulumi);
        assert.ok(!fs.existsSync(path.join(noPassphrase, "passphrase")));
    });

    it("backups: usage errors exit 2; a missing stack is named and never created", () => {
        refuses("backups", [], absent, 2, /Usage: npm run backups/);
        refuses("backups", ["foo"], absent, 2, /unknown command 'foo'/);
        refuses("backups", ["verify"], absent, 2, /missing required argument 'manifestKey'/);
        refuses("backups", ["list", "--bogus"], absent, 2, /unknown option '--bogus'/);
        refuses("backups", ["--stack", "--json", "list"], absent, 2, /--stack needs a value/);
        refuses("backups", ["--stack", "", "list"], absent, 2, /--stack is empty/);
        refuses("backups", ["--stack", "typo", "list"], absent, 2, /stack typo does not exist/);
        refuses("backups", ["--stack", "typo", "list"], existing, 2, /stack typo does not exist/);
        refuses("backups", ["--stack", "typo", "verify", KEY], existing, 2, /stack typo does not exist/);
    });

    it("backups verify: the key's shape is checked before anything else", () => {
        for (const key of ["x; rm -rf /.manifest.json", "", "manifests/c1/x.manifest.json", `${KEY}\n`, `../${KEY}`])
            refuses(
                "backups",
                ["--stack", "prod", "verify", key],
                existing,
                2,
                /manifest key .*(not of the shape|is empty|segment|control)/,
            );
    });

    it("backups create, describe, logs: bad values and a missing stack are refused before the stack is opened", () => {
        refuses("backups", ["create"], absent, 2, /--stack is required: name the stack/);
        refuses("backups", ["logs"], absent, 2, /--stack is required: name the stack/);
        refuses(
            "backups",
            ["--stack", "prod", "describe", "x.manifest.json"],
            existing,
            2,
            /manifest key "x.manifest.json" is not of the shape/,
        );
        refuses("backups", ["--stack", "prod", "logs", "--tail", "0"], existing, 2, /--tail "0": give a whole number of lines/);
        refuses("backups", ["--stack", "prod", "logs", "--tail", "--all"], existing, 2, /--tail needs a value/);
        refuses("backups", ["--stack", "prod", "create", "--timeout", "soon"], existing, 2, /--timeout "soon": give whole seconds/);
        refuses("backups", ["--stack", "typo", "create", "--wait"], existing, 2, /stack typo does not exist/);
        refuses("backups", ["--stack", "typo", "logs"], existing, 2, /stack typo does not exist/);
        refuses("backups", ["--stack", "typo", "describe", KEY], existing, 2, /stack typo does not exist/);
    });

    it("backups: a missing pulumi CLI is one clear line and exit 1 (a runtime failure, not usage)", () => {
        const r = refuses("backups", ["--stack", "prod", "list"], existing, 1, /^backups: error: the pulumi CLI is not on PATH/);
        assert.strictEqual(r.stderr.trim().split("\n").length, 1, r.stderr);
        refuses("backups", ["--stack", "prod", "list"], noPassphrase, 1, /passphrase is missing/, fakePulumi);
    });

    it("--help exits 0", () => {
        assert.strictEqual(run("rebuild", ["--help"], absent).code, 0);
        assert.strictEqual(run("backups", ["--help"], absent).code, 0);
        assert.ok(!fs.existsSync(absent));
    });
});

describe("rebuild input checks (pure)", () => {
    it("parseDisasterTime takes full instants with Z or an offset, in the past", () => {
        const now = new Date("2026-11-29T12:00:00Z");
        for (const [t, iso] of [
            ["2026-11-25T13:00:00Z", "2026-11-25T13:00:00.000Z"],
            ["2026-11-25T13:00Z", "2026-11-25T13:00:00.000Z"],
            ["2026-11-25T14:00:00.5+01:00", "2026-11-25T13:00:00.500Z"],
            ["2026-11-29T12:00:00Z", "2026-11-29T12:00:00.000Z"],
        ])
            assert.strictEqual((parseDisasterTime(t, now) as Date).toISOString(), iso, t);
        for (const t of [
            "",
            "1",
            "2026",
            "2026-11-25",
            "2026-11-25 13:00:00Z",
            "2026-11-25T13:00:00",
            "2026-11-25t13:00:00z",
            "2026-11-31T00:00:00Z",
            "2026-11-25T24:00:00Z",
            "2026-11-25T13:00:00+25:00",
            "2026-11-29T12:00:01Z",
            "+02026-11-25T13:00:00Z",
        ])
            assert.strictEqual(typeof parseDisasterTime(t, now), "string", t);
    });
    it("rebuildInputProblems lists every problem at once", () => {
        const p = rebuildInputProblems({ from: "", stack: "", sourceStack: "", stateDir: "" });
        assert.strictEqual(p.length, 4, p.join("\n"));
        assert.deepStrictEqual(rebuildInputProblems({ from: KEY, stack: "new", sourceStack: "lab", stateDir: "/x" }), []);
        assert.match(rebuildInputProblems({ from: "latest", stack: "a", sourceStack: "a", stateDir: "/x" }).join(), /is the source stack/);
        assert.match(
            rebuildInputProblems({
                from: "latest",
                stack: "a",
                sourceStack: "b",
                stateDir: "/x",
                disasterTime: new Date(Date.now() + 60_000),
            }).join(),
            /in the future/,
        );
    });
    it("fromProblem and keyPlacementProblem: latest, or a key of this stack's prefix and cluster", () => {
        assert.strictEqual(fromProblem("latest"), null);
        assert.strictEqual(
            fromProblem("manifests/c1/20260131T120000Z-dtr.manifest.json"),
            null,
            "keys written before the nonce are still read",
        );
        assert.match(fromProblem("--stack")!, /needs a value/);
        const a = { prefix: "dtr-ha", cluster: "c1", bucket: "b" };
        assert.strictEqual(keyPlacementProblem(a, `dtr-ha/${KEY}`), null);
        assert.match(keyPlacementProblem(a, KEY)!, /not in this stack's catalog/);
        assert.match(keyPlacementProblem(a, `dtr-ha/${KEY.replace("/c1/", "/c2/")}`)!, /not in this stack's catalog/);
    });
    it("missingValueProblem spots an option taken as another option's value", () => {
        assert.match(missingValueProblem(["--from", "--stack", "x"], ["--from", "--stack"])!, /--from needs a value/);
        assert.strictEqual(missingValueProblem(["--from", "latest", "--stack", "x"], ["--from", "--stack"]), null);
        assert.strictEqual(missingValueProblem(["--from=--x"], ["--from"]), null);
    });
    it("stack existence and the passphrase guard read the backend without creating it", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dtr-ha-ws-"));
        try {
            const place = { dir: path.join(dir, "state") };
            assert.strictEqual(stackExists("lab", place), false);
            assert.deepStrictEqual(listStackNames(place), []);
            assert.strictEqual(passphraseProblem(place), null, "an empty backend may get a new passphrase");
            assert.ok(!fs.existsSync(place.dir), "looking created nothing");
            const legacy = path.join(place.dir, "backend", ".pulumi", "stacks");
            fs.mkdirSync(legacy, { recursive: true });
            fs.writeFileSync(path.join(legacy, "old.json.gz"), "");
            assert.strictEqual(stackExists("old", place), true, "the legacy (non project-scoped) layout counts");
            assert.match(passphraseProblem(place)!, /already holds stacks \(old\)/);
            assert.throws(() => stackExists("../old", place), /not a stack name/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

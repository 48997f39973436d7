/**
 * recover and retire refuse bad input before they open anything: the compiled CLIs, a state dir that does not exist
 * (it must still not exist afterwards), exit 2 and a message naming the flag.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const BIN = path.join(__dirname, "..", "..", "stacks");
const run = (cli: string, args: string[]) => {
    const r = spawnSync(process.execPath, [path.join(BIN, cli), ...args], { encoding: "utf8", env: { PATH: process.env.PATH } });
    return { code: r.status, stderr: r.stderr };
};

describe("recover and retire: bad input refused before anything", function () {
    // Each case starts a node process: seconds on a loaded 2-core machine, not mocha's default 2.
    this.timeout(30_000);
    const dir = path.join(os.tmpdir(), `dtr-ha-cli-${process.pid}-${Date.now()}`);
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    for (const cli of ["recover.js", "retire.js"]) {
        it(`${cli}: an empty, a malformed or a missing --stack exits 2 naming it, and creates no state`, () => {
            const empty = run(cli, ["--stack", "", "--state-dir", dir]);
            assert.strictEqual(empty.code, 2, empty.stderr);
            assert.match(empty.stderr, /--stack is empty: give a stack name/);
            const bad = run(cli, ["--stack", "../x", "--state-dir", dir]);
            assert.strictEqual(bad.code, 2);
            assert.match(bad.stderr, /--stack "\.\.\/x" is not a stack name/);
            const missing = run(cli, ["--stack", "nosuch", "--state-dir", dir]);
            assert.strictEqual(missing.code, 2);
            assert.match(missing.stderr, /--stack nosuch: no such stack in .*; nothing was changed/);
            assert.ok(!fs.existsSync(dir), "nothing was created");
        });
    }

    it("recover.js: a --spare that is not JSON is named with an example", () => {
        const r = run("recover.js", ["--stack", "lab", "--state-dir", dir, "--spare", "host4"]);
        assert.notStrictEqual(r.code, 0);
        assert.match(r.stderr, /--spare "host4" is not JSON: give a hosts.existing entry/);
        assert.ok(!fs.existsSync(dir));
    });
});

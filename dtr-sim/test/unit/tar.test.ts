import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pack, unpack } from "../../src/tar";

describe("tar", () => {
    it("round-trips files and directories", () => {
        const data = Buffer.from("x".repeat(1000));
        const out = unpack(
            pack([
                { name: "d", data: Buffer.alloc(0), type: "dir" },
                { name: "d/f.json", data },
                { name: "empty", data: Buffer.alloc(0) },
            ]),
        );
        assert.deepEqual(
            out.map((e) => [e.name, e.type, e.data.length]),
            [
                ["d/", "dir", 0],
                ["d/f.json", "file", 1000],
                ["empty", "file", 0],
            ],
        );
        assert.deepEqual(out[1].data, data);
    });

    it("writes archives GNU tar lists and extracts", () => {
        const dir = mkdtempSync(join(tmpdir(), "dtr-sim-tar-"));
        writeFileSync(
            join(dir, "a.tar"),
            pack([
                { name: "dir", data: Buffer.alloc(0), type: "dir" },
                { name: "dir/hello.txt", data: Buffer.from("hello\n") },
            ]),
        );
        const list = execFileSync("tar", ["-tf", join(dir, "a.tar")])
            .toString()
            .trim()
            .split("\n");
        assert.deepEqual(list, ["dir/", "dir/hello.txt"]);
        execFileSync("tar", ["-xf", join(dir, "a.tar"), "-C", dir]);
        assert.equal(readFileSync(join(dir, "dir/hello.txt"), "utf8"), "hello\n");
    });

    it("reads archives GNU tar writes, including long names", () => {
        const dir = mkdtempSync(join(tmpdir(), "dtr-sim-tar-"));
        const long = "l".repeat(120);
        mkdirSync(join(dir, "src"));
        writeFileSync(join(dir, "src", long), "long\n");
        writeFileSync(join(dir, "src", "short"), "short\n");
        execFileSync("tar", ["-cf", join(dir, "b.tar"), "-C", dir, "src"]);
        const files = unpack(readFileSync(join(dir, "b.tar"))).filter((e) => e.type === "file");
        assert.deepEqual(files.map((f) => [f.name, f.data.toString()]).sort(), [
            [`src/${long}`, "long\n"],
            ["src/short", "short\n"],
        ]);
    });

    it("rejects something that is not a tar", () => {
        assert.throws(() => unpack(Buffer.alloc(1024, 65)), /bad header checksum/);
    });
});

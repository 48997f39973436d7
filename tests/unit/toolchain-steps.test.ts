/**
 * A cold toolchain install says what it builds, that it is still building, and how long each part took
 * (scripts/lib/toolchain-steps.sh, run by bash with a fake build of about a second and a heartbeat every 0.2 s: the lib
 * passes DTR_HA_TOOLCHAIN_HEARTBEAT to sleep, which takes fractions), and `npm run demo`/`lab`/`test`
 * show those lines as they happen (scripts/with-toolchain.sh, with a stand-in install script).
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";

const REPO = path.join(__dirname, "..", "..", "..");
const LIB = path.join(REPO, "scripts", "lib", "toolchain-steps.sh");

function bash(script: string, env: Record<string, string> = {}): { status: number; stdout: string; stderr: string } {
    const r = spawnSync("bash", ["-c", script], { env: { ...process.env, ...env }, encoding: "utf8", timeout: 60_000 });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe("toolchain progress", function () {
    this.timeout(60_000);
    let dir: string;
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "dtr-ha-toolchain-"))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    const harness = (build: string) => `
        set -euo pipefail
        T0=$(date +%s); SUMMARY=()
        . ${JSON.stringify(LIB)}
        build_fake() { ${build}; }
        verify_fake() { [[ -f $1/tool ]] && echo "fake v1"; }
        step_start fake; build_cached fake ${JSON.stringify(path.join("DIR", "fake-v1"))} build_fake
        step_start fake; build_cached fake ${JSON.stringify(path.join("DIR", "fake-v1"))} build_fake
        printf '%s\\n' "\${SUMMARY[@]}"`;

    it("a cold build says what it builds, that it is still building, and how long it took; a warm one that it is cached", () => {
        // 1.1 s: whole seconds by `date +%s`, so the step reports 1 or 2 s, never 0; beats every 0.2 s, about five.
        const r = bash(harness('sleep 1.1; echo hi > "$1/tool"').replace(/DIR/g, dir), { DTR_HA_TOOLCHAIN_HEARTBEAT: "0.2" });
        assert.strictEqual(r.status, 0, r.stderr);
        const lines = r.stdout.trim().split("\n");
        assert.match(lines[0], /^\[toolchain\] fake +\.\.\. \(at \d+s\)$/);
        assert.strictEqual(
            lines[1],
            `[toolchain] fake: building into ${dir}/fake-v1 (a cold Go build of pulumi or minio takes minutes on 2 cores)`,
        );
        const beats = lines.filter((l) => /^\[toolchain\] fake: still building \(\d+s so far\)$/.test(l));
        assert.ok(beats.length >= 2, r.stdout);
        assert.ok(
            lines.some((l) => /^\[toolchain\] fake +built in [12]s: fake v1$/.test(l)),
            r.stdout,
        );
        assert.ok(
            lines.some((l) => /^\[toolchain\] fake +cached in 0s: fake v1$/.test(l)),
            r.stdout,
        );
        assert.match(r.stdout, /fake +built +[12]s {2}fake v1\nfake +cached +0s {2}fake v1\n$/);
        // No heartbeat after the build finished.
        const built = lines.findIndex((l) => / built in /.test(l));
        assert.ok(!lines.slice(built).some((l) => /still building/.test(l)), r.stdout);
    });

    it("a failed build stops the install with its status, leaves nothing in the cache, and its heartbeat stops", () => {
        const t0 = Date.now();
        const r = bash(harness("sleep 0.5; exit 7").replace(/DIR/g, dir), { DTR_HA_TOOLCHAIN_HEARTBEAT: "0.2" });
        assert.strictEqual(r.status, 7, r.stdout + r.stderr);
        assert.ok(!fs.existsSync(path.join(dir, "fake-v1")));
        assert.ok(Date.now() - t0 < 10_000, "the heartbeat kept the install running");
    });

    it("with-toolchain.sh shows a cold install's progress on stderr as it happens, a warm one not at all", () => {
        const fake = path.join(dir, "toolchain.sh");
        fs.writeFileSync(
            fake,
            [
                "case $1 in",
                "install)",
                `  if [ -f ${JSON.stringify(path.join(dir, "warm"))} ]; then echo '[toolchain] pulumi             cached in 0s: v3'; exit 0; fi`,
                "  echo '[toolchain] pulumi             ... (at 0s)'",
                "  echo '[toolchain] pulumi: building into /c/pulumi (a cold Go build of pulumi or minio takes minutes on 2 cores)'",
                "  echo '[toolchain] pulumi: still building (30s so far)'",
                "  echo '[toolchain] pulumi             built in 412s: v3'",
                "  echo 'STEP STATUS TIME VERSION'",
                `  touch ${JSON.stringify(path.join(dir, "warm"))} ;;`,
                "env) echo 'export DTR_HA_FAKE_ENV=on' ;;",
                "esac",
            ].join("\n"),
        );
        const run = () =>
            bash(`bash ${JSON.stringify(path.join(REPO, "scripts", "with-toolchain.sh"))} bash -c 'echo "ran with $DTR_HA_FAKE_ENV"'`, {
                DTR_HA_TOOLCHAIN_SCRIPT: fake,
            });
        const cold = run();
        assert.strictEqual(cold.status, 0, cold.stderr);
        assert.strictEqual(cold.stdout, "ran with on\n");
        assert.deepStrictEqual(cold.stderr.trim().split("\n"), [
            "[toolchain] pulumi: building into /c/pulumi (a cold Go build of pulumi or minio takes minutes on 2 cores)",
            "[toolchain] pulumi: still building (30s so far)",
            "[toolchain] pulumi             built in 412s: v3",
        ]);
        const warm = run();
        assert.strictEqual(warm.status, 0, warm.stderr);
        assert.strictEqual(warm.stderr, "");
        fs.writeFileSync(fake, "echo 'go: build failed: no space left'; exit 3\n");
        const failed = run();
        assert.strictEqual(failed.status, 1);
        assert.match(failed.stderr, /go: build failed: no space left\nwith-toolchain\.sh: installing the toolchain failed \(above\)/);
        assert.strictEqual(failed.stdout, "");
    });
});

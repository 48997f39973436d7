/**
 * The AWS Swarm join, run in dash against a fake `docker` and a fake `curl` that record their argv and stdin: the join
 * token reaches the engine API on curl's stdin and is never an argument of any process.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { swarmJoinScript } from "../../components/hosts/aws-bootstrap";

const TOKEN = "SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl-1awxwuwd3z9j1z3puu7rcgdbx";

describe("AWS swarm join, run in dash (fake docker and curl)", function () {
    this.timeout(20000);
    let dir: string;
    const fake = (name: string, body: string) => fs.writeFileSync(path.join(dir, "bin", name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    const read = (f: string) => (fs.existsSync(path.join(dir, f)) ? fs.readFileSync(path.join(dir, f), "utf8") : "");

    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "swarm-join-"));
        fs.mkdirSync(path.join(dir, "bin"));
        fs.writeFileSync(path.join(dir, "bootstrapped"), "");
        fs.writeFileSync(path.join(dir, "state"), "inactive");
        fs.writeFileSync(path.join(dir, "code"), "200");
        fs.writeFileSync(path.join(dir, "body"), "");
        const d = dir;
        fake("docker", `printf '%s\\n' "docker $*" >> ${d}/argv; cat ${d}/state`);
        // Records each argument on its own line and stdin; answers like the engine API (-o body, -w code).
        fake(
            "curl",
            `printf 'curl' >> ${d}/argv; for a; do printf ' %s' "$a" >> ${d}/argv; done; echo >> ${d}/argv
cat > ${d}/stdin
out=''; prev=''
for a; do [ "$prev" = -o ] && out=$a; prev=$a; done
cat ${d}/body > "$out"
cat ${d}/code`,
        );
        // Were printf not a shell builtin, this one would run with the token in its argv.
        fake("printf", `echo "printf $*" >> ${d}/argv; exit 1`);
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    function run(token = TOKEN, timeout = 60) {
        const script = swarmJoinScript("10.0.1.10:2377", timeout, {
            marker: path.join(dir, "bootstrapped"),
            dockerSocket: "/run/test/docker.sock",
        });
        return spawnSync("dash", ["-c", script], {
            env: { PATH: `${path.join(dir, "bin")}:${process.env.PATH}`, SWARM_JOIN_TOKEN: token },
            encoding: "utf8",
        });
    }

    it("joins through the engine API: the token on curl's stdin, in no process's argv", () => {
        const r = run();
        assert.strictEqual(r.status, 0, r.stderr);
        assert.match(r.stdout, /joined the swarm through 10\.0\.1\.10:2377/);
        const argv = read("argv");
        assert.ok(!argv.includes(TOKEN), `the token is in an argv:\n${argv}`);
        assert.ok(!argv.includes("printf "), "printf ran as a process");
        const curl = argv.split("\n").find((l) => l.startsWith("curl "))!;
        assert.match(curl, / --unix-socket \/run\/test\/docker\.sock /);
        assert.match(curl, / --data-binary @- http:\/\/localhost\/swarm\/join$/);
        assert.deepStrictEqual(JSON.parse(read("stdin")), {
            JoinToken: TOKEN,
            RemoteAddrs: ["10.0.1.10:2377"],
            ListenAddr: "0.0.0.0:2377",
        });
    });

    it("a node already in the swarm is left alone", () => {
        fs.writeFileSync(path.join(dir, "state"), "active");
        const r = run();
        assert.strictEqual(r.status, 0, r.stderr);
        assert.match(r.stdout, /already in the swarm/);
        assert.ok(!read("argv").includes("curl"));
    });

    it("an API error fails the join with the engine's message", () => {
        fs.writeFileSync(path.join(dir, "code"), "503");
        fs.writeFileSync(path.join(dir, "body"), '{"message":"rpc error: code = Unavailable desc = connection error"}');
        const r = run();
        assert.strictEqual(r.status, 1);
        assert.match(r.stderr, /swarm join through \/run\/test\/docker\.sock failed \(HTTP 503\): \{"message":"rpc error/);
        assert.ok(!r.stderr.includes(TOKEN));
    });

    for (const [what, token, status, msg] of [
        [
            "a token that would break out of the JSON string",
            `${TOKEN}","RemoteAddrs":["203.0.113.9:2377`,
            1,
            /characters a join token never has/,
        ],
        ["something else than a join token", "hunter2", 1, /not a swarm join token/],
        ["an empty token", "", 2, /SWARM_JOIN_TOKEN must be set/],
    ] as [string, string, number, RegExp][]) {
        it(`refuses ${what}, before any call`, () => {
            const r = run(token);
            assert.strictEqual(r.status, status, r.stderr);
            assert.match(r.stderr, msg);
            assert.strictEqual(read("argv"), "");
        });
    }

    it("waits for the engine install, bounded", () => {
        fs.rmSync(path.join(dir, "bootstrapped"));
        const r = run(TOKEN, 0);
        assert.strictEqual(r.status, 1);
        assert.match(r.stderr, /engine install did not finish in 0s/);
        assert.ok(!read("argv").includes("curl"));
    });
});

/**
 * The gate in front of `docker swarm init --force-new-cluster`: the restore runs in dash against a scripted node (a fake
 * `docker`, engine stop/start and `curl`, the probe), and once against real sockets with the real curl. A live old manager
 * must stop the restore before the engine is stopped, and be named.
 */
import * as assert from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { Declared, captureDeclarations, settle, valueOf } from "./mocks";
import { SwarmRestore, SwarmRestoreScriptArgs, managerProbeAddress, swarmRestoreScript } from "../../components/backup/swarm-backup";

const AGENT = "10.200.0.1:5000/dtr-ha-backup:0.1.0";
const KEY = "swarm/manifests/prod/20260131T120000Z-swarm.manifest.json";
const NODE = "ppoo3lc4i737h0n9xsgf9n2x6";
const ENGINE = { stop: "engine-stop", start: "engine-start" };
/** swarmkit's remotes as the backed-up node saved them: itself and two other managers. */
const STATE = JSON.stringify([
    { node_id: NODE, addr: "10.0.0.2:2377" },
    { node_id: "a".repeat(25), addr: "10.0.0.12:2377" },
    { node_id: "b".repeat(25), addr: "10.0.0.13:2377" },
]);

describe("force-new-cluster only when no old manager answers (dash, scripted node)", function () {
    this.timeout(30000);
    let dir: string;
    const root = () => path.join(dir, "root");
    const fake = (name: string, body: string) => fs.writeFileSync(path.join(dir, "bin", name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });

    /** A backup archive whose swarm/state.json is `state` (none when undefined). */
    function backup(state: string | undefined): void {
        const src = path.join(dir, "src");
        fs.rmSync(src, { recursive: true, force: true });
        fs.mkdirSync(path.join(src, "swarm", "certificates"), { recursive: true });
        fs.mkdirSync(path.join(src, "swarm", "raft"), { recursive: true });
        fs.writeFileSync(path.join(src, "swarm", "certificates", "swarm-node.key"), "KEY");
        fs.writeFileSync(path.join(src, "swarm", "raft", "0.wal"), "WAL");
        if (state !== undefined) fs.writeFileSync(path.join(src, "swarm", "state.json"), state);
        spawnSync("tar", ["-C", src, "-cf", path.join(dir, "backup.tar"), "swarm"]);
    }

    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "swarm-lost-"));
        fs.mkdirSync(path.join(dir, "bin"));
        backup(STATE);
        fs.mkdirSync(path.join(root(), "swarm"), { recursive: true });
        fs.writeFileSync(path.join(root(), "swarm", "current"), "now");
        fs.writeFileSync(path.join(dir, "up"), "");
        fs.writeFileSync(path.join(dir, "live"), "");
        const d = dir;
        fake("engine-stop", `echo stop >> ${d}/calls; rm -f ${d}/up`);
        fake("engine-start", `echo start >> ${d}/calls; touch ${d}/up`);
        fake("ip", `echo "2: eth0    inet 10.0.0.2/24 brd 10.0.0.255 scope global eth0"`);
        // The probe: connected (num_connects 1) for the addresses in $d/live, refused (0, exit 7) for the rest.
        fake(
            "curl",
            `echo "curl $*" >> ${d}/calls
# Like a curl built without telnet: no connection made, exit 1 (unsupported protocol).
[ -e ${d}/curl-mute ] && { printf 0; exit 1; }
for a; do t=$a; done
if grep -qxF "\${t#telnet://}" ${d}/live; then printf 1; exit 28; fi
printf 0; exit 7`,
        );
        const entry = JSON.stringify({
            manifestKey: KEY,
            manifest: { kind: "swarm", meta: { nodeId: NODE, engineVersion: "20.10.24", nodeAddr: "10.0.0.2", autolock: "false" } },
        });
        fake(
            "docker",
            `echo "docker $*" >> ${d}/calls
[ -e ${d}/up ] || exit 1
case "$*" in
  "version --format {{.Server.Version}}") echo 20.10.24 ;;
  "info --format {{.Swarm.LocalNodeState}}") if [ -e ${d}/initialized ]; then echo active; else echo inactive; fi ;;
  "info --format {{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}")
    if [ -e ${d}/initialized ] || [ -e ${d}/local-manager ]; then echo "active true"; else echo "inactive false"; fi ;;
  "node ls -q") [ -e ${d}/local-manager ] && echo ${NODE} ;;
  "node inspect self --format {{.Status.State}} {{.ManagerStatus.Reachability}}") echo "ready reachable" ;;
  "swarm init --force-new-cluster") touch ${d}/initialized ;;
  *" list "*) echo '${entry}' ;;
  *" verify "*) echo '{"ok":true}' ;;
  *" download "*) cat ${d}/backup.tar ;;
  *) echo "unexpected docker $*" >&2; exit 9 ;;
esac`,
        );
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    function script(extra: Partial<SwarmRestoreScriptArgs>): string {
        return swarmRestoreScript({
            agentImage: AGENT,
            bucket: "dtr-backups",
            manifestKey: KEY,
            engine: ENGINE,
            dataRoot: root(),
            readyTimeout: 10,
            mode: "force-new-cluster",
            ...extra,
        });
    }
    const env = () => ({ PATH: `${path.join(dir, "bin")}:${process.env.PATH}` });
    function run(extra: Partial<SwarmRestoreScriptArgs> = {}) {
        return outcome(spawnSync("dash", ["-c", script(extra)], { env: env(), encoding: "utf8" }));
    }
    /**
     * The same, without blocking this process: a socket server in it then answers while the script runs (under
     * spawnSync its connection is accepted by the kernel but never served, and curl waits out its --max-time).
     */
    function runAsync(extra: Partial<SwarmRestoreScriptArgs> = {}) {
        return new Promise<ReturnType<typeof run>>((resolve) => {
            const p = spawn("dash", ["-c", script(extra)], { env: env() });
            let stdout = "";
            let stderr = "";
            p.stdout.on("data", (d) => (stdout += d));
            p.stderr.on("data", (d) => (stderr += d));
            p.on("close", (status) => resolve(outcome({ status, stdout, stderr })));
        });
    }
    function outcome(r: { status: number | null; stdout: string; stderr: string }) {
        const calls = fs.existsSync(path.join(dir, "calls"))
            ? fs.readFileSync(path.join(dir, "calls"), "utf8").split("\n").filter(Boolean)
            : [];
        return {
            status: r.status,
            stdout: r.stdout,
            stderr: r.stderr,
            calls,
            engineCalls: calls.filter((c) => c === "stop" || c === "start"),
            probed: calls.filter((c) => c.startsWith("curl ")).map((c) => c.split(" ").pop()!),
            inits: calls.filter((c) => c.includes("swarm init")),
        };
    }
    const untouched = () => {
        assert.strictEqual(fs.readFileSync(path.join(root(), "swarm", "current"), "utf8"), "now");
        assert.ok(!fs.readdirSync(root()).some((n) => n.startsWith("swarm.before-restore.")), "nothing set aside");
    };

    it("every old manager silent: probes each on its swarm port (not itself), then restores and inits a new cluster", () => {
        const r = run({ oldManagers: ["10.0.0.14"] });
        assert.strictEqual(r.status, 0, r.stderr);
        assert.deepStrictEqual(r.probed.sort(), ["telnet://10.0.0.12:2377", "telnet://10.0.0.13:2377", "telnet://10.0.0.14:2377"]);
        assert.match(r.stderr, /none of the 3 other managers of the old swarm answers/);
        assert.deepStrictEqual(r.engineCalls, ["stop", "start"]);
        assert.deepStrictEqual(r.inits, ["docker swarm init --force-new-cluster"]);
        // Every probe came before the engine stopped.
        assert.ok(r.calls.lastIndexOf(r.calls.filter((c) => c.startsWith("curl "))[2]) < r.calls.indexOf("stop"));
        assert.strictEqual(fs.readFileSync(path.join(root(), "swarm", "certificates", "swarm-node.key"), "utf8"), "KEY");
        assert.match(r.stdout, /mode force-new-cluster/);
    });

    for (const [what, setup, extra, msg] of [
        [
            "a manager named by the backup answers",
            () => fs.writeFileSync(path.join(dir, "live"), "10.0.0.13:2377\n"),
            {},
            /REFUSED: manager 10\.0\.0\.13:2377 still answers: the swarm is not lost; restore one manager with 'manager' set \(rejoin mode\) instead; nothing was changed/,
        ],
        [
            "a manager listed in oldManagers answers",
            () => fs.writeFileSync(path.join(dir, "live"), "10.0.0.99:2400\n"),
            { oldManagers: ["10.0.0.99:2400"] },
            /REFUSED: manager 10\.0\.0\.99:2400 still answers/,
        ],
        [
            "the probe cannot tell",
            () => fs.writeFileSync(path.join(dir, "curl-mute"), ""),
            {},
            /REFUSED: manager 10\.0\.0\.1[23]:2377 could not be probed/,
        ],
        [
            "this node is a manager of a swarm with quorum",
            () => fs.writeFileSync(path.join(dir, "local-manager"), ""),
            {},
            /REFUSED: .* is a manager of a swarm that has quorum: the swarm is not lost/,
        ],
        [
            "a backup that names no managers, without oldManagers",
            () => backup(undefined),
            {},
            /REFUSED: the backup has no swarm\/state\.json, so the old managers are unknown: list them in oldManagers/,
        ],
        [
            "an address in the backup that is not an address",
            () => backup(JSON.stringify([{ addr: `$(touch ${dir}/pwned):2377` }])),
            {},
            /REFUSED: cannot probe the old manager address \$\(touch .*pwned\):2377/,
        ],
    ] as [string, () => void, Partial<SwarmRestoreScriptArgs>, RegExp][]) {
        it(`refuses when ${what}: before any engine stop, directory untouched, no init`, () => {
            setup();
            const r = run(extra);
            assert.strictEqual(r.status, 1, r.stderr);
            assert.match(r.stderr, msg);
            assert.deepStrictEqual(r.engineCalls, []);
            assert.deepStrictEqual(r.inits, []);
            assert.ok(!fs.existsSync(path.join(dir, "pwned")), "backup data never runs as shell");
            untouched();
        });
    }

    it("refuses without curl on the host (no probe, no restore): before any engine stop", () => {
        // A PATH with every system tool but curl.
        fs.rmSync(path.join(dir, "bin", "curl"));
        const sys = path.join(dir, "sys");
        fs.mkdirSync(sys);
        for (const d of ["/usr/local/bin", "/usr/bin", "/bin"]) {
            if (!fs.existsSync(d)) continue;
            for (const n of fs.readdirSync(d)) {
                if (n !== "curl" && !fs.existsSync(path.join(sys, n))) fs.symlinkSync(path.join(d, n), path.join(sys, n));
            }
        }
        const script = swarmRestoreScript({
            agentImage: AGENT,
            bucket: "dtr-backups",
            manifestKey: KEY,
            engine: ENGINE,
            dataRoot: root(),
            readyTimeout: 10,
            mode: "force-new-cluster",
        });
        const r = spawnSync("dash", ["-c", script], { env: { PATH: `${path.join(dir, "bin")}:${sys}` }, encoding: "utf8" });
        assert.strictEqual(r.status, 1, r.stderr);
        assert.match(r.stderr, /REFUSED: curl is needed to probe the old managers on their swarm port; nothing was changed/);
        assert.ok(!fs.readFileSync(path.join(dir, "calls"), "utf8").includes("stop"), "the engine was not stopped");
        untouched();
    });

    it("a backup without state.json proceeds when the caller lists the old managers and none answers", () => {
        backup(undefined);
        const r = run({ oldManagers: ["10.0.0.12", "10.0.0.13:2377"] });
        assert.strictEqual(r.status, 0, r.stderr);
        assert.deepStrictEqual(r.probed.sort(), ["telnet://10.0.0.12:2377", "telnet://10.0.0.13:2377"]);
    });

    it("the probe is curl's TCP connect, really: a listening port refuses the restore, a closed one does not", async () => {
        // The real curl this time: only docker, the engine and ip are scripted.
        fs.rmSync(path.join(dir, "bin", "curl"));
        backup("[]");
        const server = net.createServer((s) => s.destroy());
        await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
        const port = (server.address() as net.AddressInfo).port;
        const live = await runAsync({ oldManagers: [`127.0.0.1:${port}`] });
        await new Promise<void>((ok) => server.close(() => ok()));
        assert.strictEqual(live.status, 1, live.stderr);
        assert.match(live.stderr, new RegExp(`REFUSED: manager 127\\.0\\.0\\.1:${port} still answers`));
        assert.deepStrictEqual(live.engineCalls, []);
        untouched();
        const gone = run({ oldManagers: [`127.0.0.1:${port}`] });
        assert.strictEqual(gone.status, 0, gone.stderr);
        assert.match(gone.stderr, /none of the 1 other managers of the old swarm answers/);
    });
});

describe("old manager addresses", () => {
    it("default to the swarm port, and anything but host[:port] is refused by name", () => {
        assert.strictEqual(managerProbeAddress("10.0.0.12"), "10.0.0.12:2377");
        assert.strictEqual(managerProbeAddress("mgr-1.example.com:2400"), "mgr-1.example.com:2400");
        assert.strictEqual(managerProbeAddress("[fd00::12]:2377"), "[fd00::12]:2377");
        for (const bad of ["", "10.0.0.12:0", "10.0.0.12:70000", "a b", "$(id)", "-x:2377", "10.0.0.12:2377;reboot"]) {
            assert.throws(() => managerProbeAddress(bad), /swarmRestore\.oldManagers: .* is not a manager address/, bad);
        }
        assert.throws(
            () => swarmRestoreScript({ agentImage: AGENT, bucket: "dtr-backups", manifestKey: KEY, oldManagers: ["10.0.0.12"] }),
            /only force-new-cluster probes the old managers/,
        );
    });

    it("SwarmRestore passes oldManagers to the force-new-cluster script, and refuses them with a manager", async () => {
        const connection = { host: "10.0.0.2", user: "root", privateKey: pulumi.secret("K"), hostKey: "ssh-ed25519 AAAA" };
        const s3 = { region: "eu-west-1" };
        const declared: Declared[] = [];
        new SwarmRestore(
            "swg",
            {
                manifestKey: KEY,
                nodeId: NODE,
                connection,
                oldManagers: ["10.0.0.14"],
                target: { agentImage: AGENT, bucket: "backups-bucket" },
                s3,
                triggers: [1],
            },
            { transformations: [captureDeclarations(declared)] },
        );
        await settle();
        const restore = declared.find((d) => d.name === "swg-restore")!;
        const create = await valueOf(pulumi.output(restore.props.create as pulumi.Input<string>));
        assert.match(create, /listed=10\.0\.0\.14:2377\n/);
        assert.ok(create.indexOf("still answers") < create.indexOf("stop_engine || exit 1"), "the gate comes before the stop");
        const base = { manifestKey: KEY, nodeId: NODE, connection, target: { agentImage: AGENT, bucket: "b-bucket" }, s3, triggers: [] };
        assert.throws(
            () => new SwarmRestore("swh", { ...base, manager: connection, oldManagers: ["10.0.0.14"] }),
            /oldManagers is for a lost swarm/,
        );
        assert.throws(
            () => new SwarmRestore("swi", { ...base, oldManagers: ["10.0.0.14;reboot"] }),
            /SwarmRestore\.oldManagers: "10\.0\.0\.14;reboot"/,
        );
    });
});

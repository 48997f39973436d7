/**
 * dtr-ha as an installable package: `npm pack` of the project, the tarball installed into a fresh temporary project
 * beside the Pulumi packages it names as peers (from the npm cache when it has them), the README's example compiled
 * there against the package's types and run under Pulumi mocks, and the `dtr-ha` bin started from the install. The
 * tarball must hold what runs and nothing else (no tests, no Go tools, no lab, no TypeScript sources).
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync, SpawnSyncReturns } from "child_process";
import { REPO_ROOT } from "../../lab/lab";

/** The peers at the versions the project's lockfile has (so the npm cache has them), as a user would add them. */
function lockedVersion(name: string): string {
    const lock = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package-lock.json"), "utf8"));
    const v = lock.packages[`node_modules/${name}`]?.version;
    assert.ok(v, `${name} is not in package-lock.json`);
    return v;
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): SpawnSyncReturns<string> {
    const r = spawnSync(cmd, args, { cwd, env, encoding: "utf8", timeout: 600_000 });
    if (r.error) throw r.error;
    return r;
}
function ok(cmd: string, args: string[], cwd: string): string {
    const r = run(cmd, args, cwd);
    assert.strictEqual(r.status, 0, `${cmd} ${args.join(" ")} (in ${cwd}): exit ${r.status}\n${r.stderr}\n${r.stdout}`);
    return r.stdout;
}

/** The code block after the `<!-- package-example -->` marker in the README. */
function readmeExample(): string {
    const readme = fs.readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
    const m = /<!-- package-example -->\s*```ts\n([\s\S]*?)```/.exec(readme);
    assert.ok(m, "README.md has no ```ts block after <!-- package-example -->");
    return m[1];
}

/** Loads the example under mocks that record every resource, and prints what it declared and its outputs. */
const RUNNER = `
process.env.PULUMI_CONFIG = JSON.stringify({
    "example:dtr1HostKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOVQkKyvFjJ7pbI1tKq4rVMeFpXNSrRAkb0hYuxd0dOd dtr1",
    "example:dtr2HostKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOVQkKyvFjJ7pbI1tKq4rVMeFpXNSrRAkb0hYuxd0dOd dtr2",
    "example:dtr3HostKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOVQkKyvFjJ7pbI1tKq4rVMeFpXNSrRAkb0hYuxd0dOd dtr3",
    "example:sshPrivateKey": "-----BEGIN OPENSSH PRIVATE KEY-----\\nnot-a-key\\n-----END OPENSSH PRIVATE KEY-----\\n",
    "example:ucpCaPem": "-----BEGIN CERTIFICATE-----\\nnot-a-cert\\n-----END CERTIFICATE-----\\n",
    "example:ucpPassword": "the-ucp-password-4711",
    "example:s3AccessKey": "AKIAEXAMPLE",
    "example:s3SecretKey": "the-s3-secret-4711",
});
const pulumi = require("@pulumi/pulumi");
const recorded = [];
(async () => {
    await pulumi.runtime.setMocks(
        {
            newResource(a) {
                recorded.push({ type: a.type, name: a.name, inputs: a.inputs });
                const state = { ...a.inputs };
                if (a.type.startsWith("command:")) {
                    state.stdout = a.name.endsWith("-health")
                        ? "dtr-ha health: healthy: 3 replicas OK after 1 attempt(s), 0s"
                        : a.name.includes("-overlay-") ? "overlay true 172.16.240.0/24" : "";
                    state.stderr = "";
                }
                return { id: a.name + "-id", state };
            },
            call(a) { return a.inputs; },
        },
        "example", "dev", false,
    );
    const example = require("./example");
    const value = (o) => new Promise((resolve) => o.apply(resolve));
    const [replicaIds, health] = await Promise.all([value(example.replicaIds), value(example.health)]);
    process.stdout.write(JSON.stringify({ replicaIds, health, recorded }));
})().catch((e) => { console.error(e); process.exit(1); });
`;

describe("the package: npm pack, install into a fresh project, the README example under mocks", function () {
    this.timeout(900_000);
    let tmp: string;
    let project: string;
    let files: string[];

    before(() => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dtr-ha-pack-"));
        // The project is built already (the tests run compiled): skip prepack's rebuild.
        const packed = JSON.parse(ok("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", tmp], REPO_ROOT)) as {
            filename: string;
            files: { path: string }[];
        }[];
        files = packed[0].files.map((f) => f.path).sort();
        const tarball = path.join(tmp, packed[0].filename);
        project = path.join(tmp, "project");
        fs.mkdirSync(project);
        fs.writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "example", version: "1.0.0", private: true }));
        const peers = ["@pulumi/pulumi", "@pulumi/command", "@pulumi/aws", "typescript", "@types/node"].map(
            (n) => `${n}@${lockedVersion(n)}`,
        );
        // Install scripts off: @pulumi/command's would fetch its plugin, which no mock needs.
        ok("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts", tarball, ...peers], project);
    });
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it("ships what runs: compiled components with types, their host scripts, the operator tools; no tests, Go tools, lab or sources", () => {
        for (const f of [
            "package.json",
            "bin/components/index.js",
            "bin/components/index.d.ts",
            "bin/components/helpers.d.ts",
            "components/hosts/sh/ownership.sh",
            "components/backup/sh/dtr-restore.sh",
            "bin/index.js",
            "bin/stacks/dtr-ha.js",
            "bin/stacks/rebuild.js",
            "bin/stacks/recover.js",
        ])
            assert.ok(files.includes(f), `${f} is not in the tarball`);
        const unwanted = files.filter(
            (f) =>
                /^(bin\/)?(tests|lab|tools|dtr-sim|policy|bench|scripts|\.github)\//.test(f) ||
                /(^|\/)[^/]+\.test\.js$/.test(f) ||
                (f.endsWith(".ts") && !f.endsWith(".d.ts")) ||
                f.endsWith(".go") ||
                f.endsWith(".map"),
        );
        assert.deepStrictEqual(unwanted, []);
    });

    it("every relative require of a shipped module resolves inside the installed package (nothing left out of files)", () => {
        const root = path.join(project, "node_modules", "dtr-ha");
        const missing: string[] = [];
        for (const f of files.filter((x) => x.endsWith(".js"))) {
            const text = fs.readFileSync(path.join(root, f), "utf8");
            for (const m of text.matchAll(/require\("(\.{1,2}\/[^"]+)"\)/g)) {
                try {
                    require.resolve(m[1], { paths: [path.dirname(path.join(root, f))] });
                } catch {
                    missing.push(`${f} -> ${m[1]}`);
                }
            }
        }
        assert.deepStrictEqual(missing, []);
    });

    it("installs as one SDK: @pulumi/* come from the project (peers), not a second copy inside dtr-ha", () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(project, "node_modules", "dtr-ha", "package.json"), "utf8"));
        assert.deepStrictEqual(Object.keys(pkg.peerDependencies ?? {}).sort(), [
            "@pulumi/aws",
            "@pulumi/command",
            "@pulumi/docker",
            "@pulumi/pulumi",
        ]);
        // Only stacks that build the agent image need @pulumi/docker (loaded when AgentImage is constructed).
        assert.deepStrictEqual(pkg.peerDependenciesMeta, { "@pulumi/docker": { optional: true } });
        assert.ok(!fs.existsSync(path.join(project, "node_modules", "@pulumi", "docker")), "an optional peer was installed");
        assert.ok(!fs.existsSync(path.join(project, "node_modules", "dtr-ha", "node_modules", "@pulumi")), "a nested @pulumi");
        const sdks = run("npm", ["ls", "@pulumi/pulumi", "--all", "--parseable"], project).stdout.trim().split("\n").filter(Boolean);
        assert.deepStrictEqual(sdks, [path.join(project, "node_modules", "@pulumi", "pulumi")]);
    });

    it("compiles the README's example against the package's types (node16 and node10 resolution) and runs it under mocks", () => {
        fs.writeFileSync(path.join(project, "example.ts"), readmeExample());
        const tsc = path.join(project, "node_modules", "typescript", "bin", "tsc");
        const common = ["--strict", "--target", "ES2022", "--skipLibCheck", "--esModuleInterop", "example.ts"];
        // node10 (the Pulumi templates' "node") reads typesVersions; node16 reads the exports map. Type-check both, emit once.
        ok(process.execPath, [tsc, ...common, "--module", "commonjs", "--moduleResolution", "node10", "--noEmit"], project);
        ok(process.execPath, [tsc, ...common, "--module", "node16", "--moduleResolution", "node16"], project);
        fs.writeFileSync(path.join(project, "run.js"), RUNNER);
        const r = run(process.execPath, ["run.js"], project);
        assert.strictEqual(r.status, 0, r.stderr);
        const out = JSON.parse(r.stdout) as {
            replicaIds: string[];
            health: string;
            recorded: { type: string; name: string; inputs: Record<string, unknown> }[];
        };
        assert.strictEqual(out.replicaIds.length, 3);
        for (const id of out.replicaIds) assert.match(id, /^[0-9a-f]{12}$/);
        assert.match(out.health, /healthy: 3 replicas OK/);
        const names = out.recorded.map((x) => `${x.type}::${x.name}`);
        for (const n of [
            "dtr-ha:index:DtrCluster::prod",
            "command:remote:Command::prod-install",
            "command:remote:Command::prod-join-dtr2",
            "command:remote:Command::prod-join-dtr3",
            "command:local:Command::prod-health",
        ])
            assert.ok(names.includes(n), `${n} not declared: ${names.join(", ")}`);
        // The secrets reach no command line.
        for (const x of out.recorded)
            assert.doesNotMatch(JSON.stringify(x.inputs.create ?? ""), /the-ucp-password-4711|the-s3-secret-4711/);
    });

    it("the dtr-ha bin starts the installed operator tools; the drill says it needs a clone", () => {
        const bin = path.join(project, "node_modules", ".bin", "dtr-ha");
        const help = run(bin, ["--help"], project);
        assert.strictEqual(help.status, 0, help.stderr);
        for (const c of ["rebuild", "recover", "backups", "retire", "drill"]) assert.match(help.stdout, new RegExp(`^  ${c} `, "m"));
        for (const c of ["rebuild", "recover", "backups", "retire"]) {
            const r = run(bin, [c, "--help"], project);
            assert.strictEqual(r.status, 0, `dtr-ha ${c} --help: ${r.stderr}`);
            assert.match(r.stdout, /Usage:/);
        }
        const bad = run(bin, ["rebuild", "--from", "latest"], project);
        assert.strictEqual(bad.status, 2, bad.stderr);
        assert.match(bad.stderr, /required option '--stack <name>'/);
        const drill = run(bin, ["drill"], project);
        assert.strictEqual(drill.status, 2);
        assert.match(drill.stderr, /drill is not in this installation.*npm run demo/);
        const unknown = run(bin, ["bogus"], project);
        assert.strictEqual(unknown.status, 2);
        assert.match(unknown.stderr, /unknown command "bogus"/);
    });
});

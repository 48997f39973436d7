/**
 * `pulumi up` and `pulumi destroy` of the project FROM ITS OWN FOLDER WITH THE CLI against the lab, exactly as the
 * README tells users to run it: the stack made with `pulumi stack init` and `pulumi config set` (secrets with
 * `--secret`, values on stdin), the CLI starting the Node.js language host, which runs the compiled program
 * (Pulumi.yaml `main: bin/`). No Automation API. DTR is dtr-sim, the stand-in; hosts, SSH, Swarm and S3 are real.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { execFileSync } from "child_process";
import { LabStatus, REPO_ROOT, labDown, labUp, s3Keys, sshPrivateKey } from "../../lab/lab";
import { agentVersion, clusterHealth, dtrLeftovers, labAdminPassword } from "../../stacks/lab-cluster";
import { LAB_ADMIN, labStackConfig } from "../../stacks/lab-config";
import { labS3, listKeys } from "../../lab/s3";
import { CliStack, cliStack } from "../cli-project";

const STACK = "cli";

describe("pulumi up and destroy from the project folder with the CLI (lab; DTR = dtr-sim)", function () {
    this.timeout(20 * 60 * 1000);
    let status: LabStatus;
    let tmp: string;
    let cli: CliStack;
    let secrets: Record<string, string>;
    let gitBefore: string;
    const admin = () => ({ user: LAB_ADMIN, password: labAdminPassword(status) });
    // Where the CLI would write a stack's files into the project: its config dir and the project root.
    const git = () =>
        execFileSync("git", ["status", "--porcelain", "--untracked-files=all", "--", "stacks", "Pulumi.*.yaml"], {
            cwd: REPO_ROOT,
            encoding: "utf8",
        });

    before(async () => {
        status = await labUp();
        gitBefore = git();
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dtr-ha-cli-"));
        const c = labStackConfig(status, {
            clusterName: STACK,
            adminPassword: labAdminPassword(status),
            sshPrivateKey: sshPrivateKey(status),
            s3: s3Keys(status),
            agentVersion: agentVersion(),
        });
        secrets = c.secrets;
        cli = cliStack(tmp, STACK, c.config, c.secrets);
    });
    after(async () => {
        // A failed test leaves no cluster behind for the next suite: destroy again (a no-op once destroyed).
        if (cli)
            cli.pulumi(
                REPO_ROOT,
                ["destroy", "--yes", "--skip-preview", "--stack", STACK, "--config-file", cli.configFile],
                undefined,
                600_000,
            );
        if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
        if (!process.env.DTR_HA_KEEP_LAB) await labDown();
    });

    it("the stack's config file holds every secret encrypted, none in plain text", () => {
        const file = fs.readFileSync(cli.configFile, "utf8");
        for (const [k, v] of Object.entries(secrets)) {
            assert.match(file, new RegExp(`dtr-ha:${k}:\\s*\\n\\s*secure: `), `${k} is not a secure value`);
            for (const line of v.split("\n").filter((l) => l.length >= 8)) assert.ok(!file.includes(line), `${k} in plain text`);
        }
    });

    it("pulumi up builds the 3-replica cluster and its first backup; the outputs omit nothing-values", () => {
        const t0 = Date.now();
        const r = cli.ok(
            REPO_ROOT,
            ["up", "--yes", "--skip-preview", "--stack", STACK, "--config-file", cli.configFile],
            undefined,
            900_000,
        );
        console.log(`      pulumi up (CLI): ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        const out = `${r.stdout}\n${r.stderr}`;
        assert.doesNotMatch(out, /Undefined value|will not show as a stack output/);
        assert.match(r.stdout, /Resources:\n\s+\+ \d+ created/);
        const outputs = JSON.parse(cli.ok(REPO_ROOT, ["stack", "output", "--json", "--stack", STACK]).stdout);
        assert.strictEqual(outputs.replicaCount, 3);
        assert.deepStrictEqual(outputs.hostNames, ["host1", "host2", "host3"]);
        assert.match(outputs.lastBackup, new RegExp(`^dtr/manifests/${STACK}/`));
        // No output holds a secret.
        const shown = JSON.stringify(outputs);
        for (const [k, v] of Object.entries(secrets)) assert.ok(!shown.includes(v), `output shows ${k}`);
    });

    it("the cluster it built is 3/3 OK, and the backup's manifest is in the bucket", async () => {
        const h = await clusterHealth({ status, admin: admin() });
        assert.strictEqual(h.healthy, 3, JSON.stringify(h));
        const outputs = JSON.parse(cli.ok(REPO_ROOT, ["stack", "output", "--json", "--stack", STACK]).stdout);
        const keys = await listKeys(labS3(status), status.s3.buckets.backups, `dtr/manifests/${STACK}/`);
        assert.ok(keys.includes(outputs.lastBackup), `${outputs.lastBackup} not in ${keys.join(", ")}`);
    });

    it("pulumi destroy removes every replica and leaves the hosts clean; the project folder is untouched", () => {
        const t0 = Date.now();
        cli.ok(REPO_ROOT, ["destroy", "--yes", "--skip-preview", "--stack", STACK, "--config-file", cli.configFile], undefined, 600_000);
        console.log(`      pulumi destroy (CLI): ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        return Promise.all(status.hosts.map(async (h) => assert.deepStrictEqual(await dtrLeftovers(h), [], `${h.name} is not clean`))).then(
            () => assert.strictEqual(git(), gitBefore),
        );
    });
});

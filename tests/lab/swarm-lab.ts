/**
 * What the Swarm lab tests share: the swarm's managers (mgr1..3, apart from the replica hosts, which are workers),
 * running scripts on a lab host over SSH (stdin, S3 settings only in SSH's environment), reading `docker node ls`,
 * waiting for N Ready managers, and the in-host engine control of
 * lab/lib/engine-ctl.sh. Not a test file (no `.test`): mocha does not run it.
 */
import { spawn } from "child_process";
import * as path from "path";
import { LabHost, LabStatus, REPO_ROOT, s3Keys } from "../../lab/lab";
import { agentVersion } from "../../stacks/lab-cluster";
import { EngineControl } from "../../components/backup/swarm-backup";

export interface Ran {
    code: number | null;
    stdout: string;
    stderr: string;
}

/** One row of `docker node ls`: hostname, node id, status, manager status ("" for a worker). */
export type NodeRow = [string, string, string, string];

export class SwarmLab {
    constructor(readonly status: LabStatus) {}

    /** The swarm's managers (mgr1..3), apart from the replica hosts, which are workers: Swarm operations run here. */
    get managers(): LabHost[] {
        const m = this.status.managers;
        if (!m?.length) throw new Error("the lab status lists no managers (managers[]): bring the lab up with `bash lab/lab.sh up`");
        return m;
    }

    hostDir(h: LabHost): string {
        return path.join(this.status.stateDir, "hosts", h.name);
    }

    /** Stops and starts the host's own dockerd from inside the host, as `systemctl stop|start docker` would. */
    engine(h: LabHost): EngineControl {
        const ctl = path.join(REPO_ROOT, "lab", "lib", "engine-ctl.sh");
        return { stop: `sh ${ctl} stop ${this.hostDir(h)}`, start: `sh ${ctl} start ${this.hostDir(h)}` };
    }

    agentImage(): string {
        return `${this.status.registry}/dtr-ha-backup:${agentVersion()}`;
    }

    /** What every Swarm backup and restore script needs to run on host `h` of the lab. */
    on(h: LabHost): { agentImage: string; bucket: string; engine: EngineControl; dataRoot: string } {
        return {
            agentImage: this.agentImage(),
            bucket: this.status.s3.buckets.backups,
            engine: this.engine(h),
            dataRoot: path.join(this.hostDir(h), "docker"),
        };
    }

    /** The lab's S3 settings for the backup agent, passed to hosts in SSH's environment only. */
    s3env(): Record<string, string> {
        const { accessKey, secretKey } = s3Keys(this.status);
        return {
            AWS_ACCESS_KEY_ID: accessKey,
            AWS_SECRET_ACCESS_KEY: secretKey,
            AWS_REGION: this.status.s3.region,
            S3_ENDPOINT: this.status.s3.endpoint,
            S3_FORCE_PATH_STYLE: "true",
        };
    }

    /** Runs a script on a lab host over SSH (stdin), with `env` in SSH's environment only. */
    onHost(h: LabHost, script: string, env: Record<string, string> = {}): Promise<Ran> {
        return new Promise((resolve, reject) => {
            const p = spawn(
                "ssh",
                ["-F", path.join(this.status.stateDir, "ssh", "config"), "-o", "SendEnv=AWS_* S3_* SWARM_JOIN_TOKEN", h.name, "sh", "-s"],
                { env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "pipe"] },
            );
            let stdout = "";
            let stderr = "";
            p.stdout.on("data", (d) => (stdout += d));
            p.stderr.on("data", (d) => (stderr += d));
            p.on("error", reject);
            p.on("close", (code) => resolve({ code, stdout, stderr }));
            p.stdin.end(script);
        });
    }

    /** Like onHost, but throws on a non-zero exit and returns the trimmed stdout. */
    async sh(h: LabHost, script: string, env: Record<string, string> = {}): Promise<string> {
        const r = await this.onHost(h, script, env);
        if (r.code !== 0) throw new Error(`${h.name}: ${script} -> exit ${r.code}: ${r.stderr.trim()}`);
        return r.stdout.trim();
    }

    async nodes(via: LabHost): Promise<NodeRow[]> {
        return (await this.sh(via, "docker node ls --format '{{.Hostname}} {{.ID}} {{.Status}} {{.ManagerStatus}}'"))
            .split("\n")
            .map((l) => {
                const [host, id, st, ms] = l.split(" ");
                return [host, id, st, ms ?? ""];
            });
    }

    /**
     * Waits until `via` lists exactly `count` managers, every one Ready (Leader or Reachable), and every worker (the
     * replica hosts) Ready; returns the managers' rows.
     */
    async waitReadyManagers(via: LabHost, count: number, seconds: number): Promise<NodeRow[]> {
        const deadline = Date.now() + seconds * 1000;
        let last: NodeRow[] | string = "";
        while (Date.now() < deadline) {
            last = await this.nodes(via).catch((e) => (e as Error).message);
            if (Array.isArray(last)) {
                const managers = last.filter((n) => n[3] !== "");
                const workers = last.filter((n) => n[3] === "");
                if (
                    managers.length === count &&
                    managers.every((n) => n[2] === "Ready" && (n[3] === "Leader" || n[3] === "Reachable")) &&
                    workers.every((n) => n[2] === "Ready")
                )
                    return managers;
            }
            await new Promise((r) => setTimeout(r, 2000));
        }
        throw new Error(`not ${count} Ready managers (and every worker Ready) within ${seconds}s: ${JSON.stringify(last)}`);
    }

    /** The host that leads the swarm, asked of `via`. */
    async leader(via: LabHost): Promise<LabHost> {
        const name = (await this.nodes(via)).find((n) => n[3] === "Leader")?.[0];
        const h = this.managers.find((x) => x.name === name);
        if (!h) throw new Error(`no leader in the swarm as seen by ${via.name}`);
        return h;
    }
}

/**
 * The lab from TypeScript: drives lab/lab.sh (three namespace hosts, Swarm, a spare host, registry, S3) and reads its status.
 * Everything here talks to real processes on this machine; nothing is simulated except DTR itself (dtr-sim).
 */
import { execFile, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { promisify } from "util";

const run = promisify(execFile);
export const REPO_ROOT = path.resolve(__dirname, "..", "..");
const LAB_SH = path.join(REPO_ROOT, "lab", "lab.sh");

export interface LabHost {
    name: string;
    address: string;
    sshPort: number;
    user: string;
    privateKeyPath: string;
    hostPublicKey: string;
    ucpNode: string;
    dockerSocket: string;
    dockerdPid: number | null;
    healthy: boolean;
    /** Lost on purpose (loseHost) and not revived yet. Always set by lab.sh status. */
    lost?: boolean;
}

/** A spare host: a host of the same kind as the replica hosts, to replace a lost one. */
export interface LabSpare extends LabHost {
    /** Its swarm role: "worker" after joinSpare, null while it is in no swarm (as after labUp). */
    swarmRole: "worker" | "manager" | null;
}

export interface LabStatus {
    /** "partial" while a host is lost (loseHost) or its engine killed (killDocker); labUp would rebuild the lab. */
    state: "up" | "down" | "partial";
    stateDir: string;
    /**
     * The swarm's three managers (mgr1..3: UCP's managers in production; ucp-sim on mgr1). Always set by lab.sh status;
     * optional so hand-made statuses of the old layout still type-check.
     */
    managers?: LabHost[];
    /** The three replica hosts (host1..3, swarm workers as DTR hosts are UCP workers); never a spare or a manager. */
    hosts: LabHost[];
    /** The spare hosts (host4). Always set by lab.sh status; optional so hand-made statuses need not list any. */
    spares?: LabSpare[];
    /** Names of the hosts (replica or spare) lost with loseHost and not revived. Always set by lab.sh status. */
    lost?: string[];
    swarm: { defaultAddrPool: string; reservedForDtrOl: string; managers: number; ready: number; workers?: number };
    registry: string;
    s3: {
        endpoint: string;
        region: string;
        accessKeyPath: string;
        secretKeyPath: string;
        buckets: { layers: string; backups: string };
    };
    /**
     * UCP as the lab has it: ucp-sim (a stand-in for UCP's API) on `host` (mgr1) at `url`, its server certificate issued
     * by `ca` (PEM, pinned by lab stacks as `ucp.ca`), its admin `username` and the 0600 file holding its password.
     * url, passwordPath and ca are null while the lab is down.
     */
    ucp?: {
        ca: string | null;
        url?: string | null;
        host?: string;
        username?: string;
        passwordPath?: string | null;
        healthy?: boolean;
    };
}

/** Runs lab.sh, streaming its progress (stderr) to ours when `echo` is set. Rejects with its last lines on failure. */
export function labSh(args: string[], echo = true): Promise<string> {
    return new Promise((resolve, reject) => {
        const p = spawn("bash", [LAB_SH, ...args], { stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        let err = "";
        p.stdout.on("data", (d) => (out += d));
        p.stderr.on("data", (d) => {
            err += d;
            if (echo) process.stderr.write(d);
        });
        p.on("close", (code) =>
            code === 0
                ? resolve(out)
                : reject(new Error(`lab.sh ${args.join(" ")} failed (exit ${code}):\n${err.split("\n").slice(-15).join("\n")}`)),
        );
    });
}

export async function labStatus(): Promise<LabStatus> {
    const { stdout } = await run("bash", [LAB_SH, "status"], { maxBuffer: 10 * 1024 * 1024 });
    return JSON.parse(stdout) as LabStatus;
}

export async function labUp(echo = true): Promise<LabStatus> {
    await labSh(["up"], echo);
    const status = await labStatus();
    if (status.state !== "up") throw new Error(`lab.sh up finished but the lab is ${status.state}`);
    return status;
}

export const labDown = (echo = true) => labSh(["down"], echo);
export const killDocker = (host: string) => labSh(["kill-docker", host], false);
export const startDocker = (host: string) => labSh(["start-docker", host], false);
/** The whole host gone, as a dead machine: sshd (SSH refused), dockerd, containerd and its containers killed; its disk kept. */
export const loseHost = (host: string) => labSh(["lose-host", host], false);
/** The lost host back: same dockerd, data-root and host key; resolves once its swarm node (if any) is Ready again. */
export const reviveHost = (host: string) => labSh(["revive-host", host], false);
/** The spare joins the swarm as a worker (a DTR host is a UCP worker); resolves once it is a Ready node. */
export const joinSpare = (host: string) => labSh(["join-spare", host], false);
/** The spare leaves the swarm and its node is removed, so the swarm lists the replica hosts only again. */
export const leaveSpare = (host: string) => labSh(["leave-spare", host], false);

/** The lab's S3 keys, read from its state files (mode 600); never printed. */
export function s3Keys(status: LabStatus): { accessKey: string; secretKey: string } {
    return {
        accessKey: fs.readFileSync(status.s3.accessKeyPath, "utf8").trim(),
        secretKey: fs.readFileSync(status.s3.secretKeyPath, "utf8").trim(),
    };
}

/** UCP's admin password (ucp-sim's), read from the lab's 0600 file; never printed. */
export function ucpPassword(status: LabStatus): string {
    const file = status.ucp?.passwordPath;
    if (!file) throw new Error("the lab status has no UCP password file (ucp.passwordPath): bring the lab up with `npm run lab -- up`");
    const pw = fs.readFileSync(file, "utf8").trim();
    if (!pw) throw new Error(`${file} (ucp.passwordPath) is empty: bring the lab up again`);
    return pw;
}

export function sshPrivateKey(status: LabStatus): string {
    return fs.readFileSync(status.hosts[0].privateKeyPath, "utf8");
}

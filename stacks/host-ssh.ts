/**
 * Running constant scripts on a stack's hosts from the operator's machine, with the stack's own SSH key and each host's
 * pinned host key (no trust on first use). Data goes in through stdin or named environment variables (SendEnv, which
 * the hosts' sshd accepts for UCP_* and DTR_*), never into the command text.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export interface SshHost {
    name: string;
    address: string;
    port?: number;
    user?: string;
    /** `ssh-ed25519 AAAA...` */
    hostKey: string;
}

export interface SshResult {
    code: number;
    stdout: string;
    stderr: string;
}

export class HostShell {
    private readonly dir: string;

    constructor(privateKey: string) {
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "dtr-ha-ssh-"));
        fs.writeFileSync(path.join(this.dir, "key"), privateKey.endsWith("\n") ? privateKey : `${privateKey}\n`, { mode: 0o600 });
    }

    /** Runs `script` (constant text) on `h` with `sh -s`; `env` names are sent with SendEnv, `stdin` follows the script. */
    run(h: SshHost, script: string, o: { env?: Record<string, string>; timeoutSeconds?: number } = {}): Promise<SshResult> {
        const port = h.port ?? 22;
        const kh = path.join(this.dir, `known_hosts_${h.name}`);
        fs.writeFileSync(
            kh,
            `${port === 22 ? h.address : `[${h.address}]:${port}`} ${h.hostKey.trim().split(/\s+/).slice(0, 2).join(" ")}\n`,
        );
        const env = o.env ?? {};
        const args = [
            "-F",
            "/dev/null",
            "-i",
            path.join(this.dir, "key"),
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            `UserKnownHostsFile=${kh}`,
            "-o",
            "ConnectTimeout=5",
            "-o",
            "ServerAliveInterval=5",
            "-o",
            "ServerAliveCountMax=2",
            ...Object.keys(env).flatMap((k) => ["-o", `SendEnv=${k}`]),
            "-p",
            String(port),
            `${h.user ?? "root"}@${h.address}`,
            "sh -s",
        ];
        return new Promise((resolve) => {
            const p = spawn("ssh", args, { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env }, stdio: ["pipe", "pipe", "pipe"] });
            let stdout = "";
            let stderr = "";
            const timer = setTimeout(() => p.kill("SIGKILL"), (o.timeoutSeconds ?? 600) * 1000);
            p.stdout.on("data", (d) => (stdout += d));
            p.stderr.on("data", (d) => (stderr += d));
            p.on("error", (e) => {
                clearTimeout(timer);
                resolve({ code: 255, stdout, stderr: `${stderr}${e.message}` });
            });
            p.on("close", (code) => {
                clearTimeout(timer);
                resolve({ code: code ?? 255, stdout, stderr });
            });
            p.stdin.end(script);
        });
    }

    close(): void {
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

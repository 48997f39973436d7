// A real MinIO server for the tests: started on 127.0.0.1:<free port> with its data in a temp dir.
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { CreateBucketCommand, PutBucketVersioningCommand, S3Client } from "@aws-sdk/client-s3";
import { makeS3Client } from "../src/s3";

// The pinned SDK supports Node 20; keep its "future versions need Node 22" notice out of test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

export function findMinio(): string {
    if (process.env.MINIO_BIN) return process.env.MINIO_BIN;
    const repo = resolve(__dirname, "..", "..", "..", "..", ".."); // dist/test-build/backup-agent/test -> repo root
    const script = join(repo, "scripts", "toolchain.sh");
    try {
        return execFileSync("bash", ["-c", 'eval "$(bash "$1" env)" && command -v minio', "_", script], { encoding: "utf8" }).trim();
    } catch {
        throw new Error(`minio not found: run 'bash ${script} install' (or set MINIO_BIN)`);
    }
}

export async function freePort(): Promise<number> {
    return new Promise((ok, fail) => {
        const s = createServer();
        s.once("error", fail);
        s.listen(0, "127.0.0.1", () => {
            const port = (s.address() as { port: number }).port;
            s.close(() => ok(port));
        });
    });
}

export class Minio {
    readonly endpoint: string;
    readonly env: Record<string, string>;
    private constructor(
        private readonly proc: ChildProcess,
        private readonly dir: string,
        port: number,
        user: string,
        password: string,
    ) {
        this.endpoint = `http://127.0.0.1:${port}`;
        this.env = {
            AWS_ACCESS_KEY_ID: user,
            AWS_SECRET_ACCESS_KEY: password,
            AWS_REGION: "us-east-1",
            S3_ENDPOINT: this.endpoint,
            S3_FORCE_PATH_STYLE: "true",
        };
    }

    static async start(): Promise<Minio> {
        const bin = findMinio();
        const dir = mkdtempSync(join(tmpdir(), "backup-agent-minio-"));
        const port = await freePort();
        const user = "agenttest";
        const password = execFileSync("head", ["-c", "12", "/dev/urandom"]).toString("hex");
        const proc = spawn(bin, ["server", "--quiet", "--address", `127.0.0.1:${port}`, join(dir, "data")], {
            env: {
                PATH: process.env.PATH,
                HOME: dir,
                MINIO_ROOT_USER: user,
                MINIO_ROOT_PASSWORD: password,
                MINIO_BROWSER: "off",
                MINIO_UPDATE: "off",
            },
            stdio: ["ignore", "ignore", "pipe"],
        });
        let stderr = "";
        proc.stderr!.on("data", (d) => (stderr += d));
        const m = new Minio(proc, dir, port, user, password);
        const deadline = Date.now() + 30_000;
        for (;;) {
            if (proc.exitCode !== null) throw new Error(`minio exited (${proc.exitCode}): ${stderr}`);
            try {
                const r = await fetch(`${m.endpoint}/minio/health/live`);
                if (r.ok) break;
            } catch {
                /* not listening yet */
            }
            if (Date.now() > deadline) throw new Error(`minio did not become ready in 30 s: ${stderr}`);
            await new Promise((r) => setTimeout(r, 100));
        }
        return m;
    }

    /** The server's process id (the bench reads its CPU time from /proc). */
    get pid(): number {
        return this.proc.pid!;
    }

    client(): S3Client {
        return makeS3Client({
            region: "us-east-1",
            endpoint: this.endpoint,
            forcePathStyle: true,
            credentials: { accessKeyId: this.env.AWS_ACCESS_KEY_ID, secretAccessKey: this.env.AWS_SECRET_ACCESS_KEY },
        });
    }

    /** A bucket with Object Lock (which turns versioning on), as the backup bucket is built. */
    async lockedBucket(name: string): Promise<string> {
        const s3 = this.client();
        await s3.send(new CreateBucketCommand({ Bucket: name, ObjectLockEnabledForBucket: true }));
        await s3.send(new PutBucketVersioningCommand({ Bucket: name, VersioningConfiguration: { Status: "Enabled" } }));
        return name;
    }

    async plainBucket(name: string): Promise<string> {
        await this.client().send(new CreateBucketCommand({ Bucket: name }));
        return name;
    }

    async stop(): Promise<void> {
        if (this.proc.exitCode === null) {
            const exited = new Promise((r) => this.proc.once("exit", r));
            this.proc.kill("SIGTERM");
            await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
            if (this.proc.exitCode === null) this.proc.kill("SIGKILL");
        }
        rmSync(this.dir, { recursive: true, force: true });
    }
}

// Runs the compiled CLI as a separate process, the way the container runs it.
import { spawn } from "node:child_process";
import { join } from "node:path";

export const MAIN = join(__dirname, "..", "..", "..", "main.js"); // dist/test-build/backup-agent/test -> dist/main.js

export interface Run {
    code: number;
    stdout: Buffer;
    stderr: string;
}

export function runNode(
    script: string,
    args: string[],
    opts: { env: Record<string, string>; input?: Buffer | NodeJS.ReadableStream },
): Promise<Run> {
    return new Promise((ok, fail) => {
        const p = spawn(process.execPath, [script, ...args], {
            env: { PATH: process.env.PATH ?? "", ...opts.env },
            stdio: ["pipe", "pipe", "pipe"],
        });
        const out: Buffer[] = [];
        let err = "";
        p.stdout.on("data", (d: Buffer) => out.push(d));
        p.stderr.on("data", (d) => (err += d));
        p.on("error", fail);
        p.on("close", (code) => ok({ code: code ?? -1, stdout: Buffer.concat(out), stderr: err }));
        p.stdin.on("error", () => undefined); // the agent may stop reading early on bad input
        if (opts.input === undefined) p.stdin.end();
        else if (Buffer.isBuffer(opts.input)) p.stdin.end(opts.input);
        else opts.input.pipe(p.stdin);
    });
}

export const agent = (args: string[], opts: { env: Record<string, string>; input?: Buffer | NodeJS.ReadableStream }): Promise<Run> =>
    runNode(MAIN, args, opts);

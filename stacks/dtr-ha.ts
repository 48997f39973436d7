#!/usr/bin/env node
/**
 * `dtr-ha <command> [options]` (the package's bin; `npx dtr-ha rebuild ...` in a project that installed it): runs the
 * operator tool of that name, each the same program as `npm run <command>` in a clone, in a child process with the
 * caller's arguments, stdio and environment; its exit code (or signal) is this one's.
 */
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";

/** Command -> the entry point in this folder (compiled stacks/*.js). */
export const COMMANDS: Record<string, { script: string; what: string }> = {
    rebuild: { script: "rebuild.js", what: "rebuild a lost cluster from a backup into a new stack" },
    recover: { script: "recover.js", what: "diagnose a stack's cluster and run the least-lossy recovery" },
    backups: { script: "backups.js", what: "create, list, describe and verify a stack's backups; its scheduled runs' logs" },
    retire: { script: "retire.js", what: "drop an old stack's state without running any delete" },
    drill: { script: "demo.js", what: "the disaster-recovery drill on the local lab (a clone of dtr-ha only)" },
};

export function usage(): string {
    const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
    return [
        "Usage: dtr-ha <command> [options]   (dtr-ha <command> --help for a command's options)",
        "",
        "Commands:",
        ...Object.entries(COMMANDS).map(([c, { what }]) => `  ${c.padEnd(width)}  ${what}`),
        "",
    ].join("\n");
}

function main(argv: string[]): number {
    const [command, ...rest] = argv;
    if (command === undefined || command === "--help" || command === "-h" || command === "help") {
        (command === undefined ? process.stderr : process.stdout).write(usage());
        return command === undefined ? 2 : 0;
    }
    const entry = Object.prototype.hasOwnProperty.call(COMMANDS, command) ? COMMANDS[command] : undefined;
    if (!entry) {
        process.stderr.write(`dtr-ha: unknown command ${JSON.stringify(command)}\n${usage()}`);
        return 2;
    }
    const script = path.join(__dirname, entry.script);
    if (!fs.existsSync(script)) {
        // The package ships no lab: the drill runs only in a clone (npm ci && npm run demo).
        process.stderr.write(
            `dtr-ha: ${command} is not in this installation (${script} is missing): it runs the project's local lab, which the package does not ship; run it from a clone of dtr-ha with npm run demo\n`,
        );
        return 2;
    }
    const r = spawnSync(process.execPath, [script, ...rest], { stdio: "inherit" });
    if (r.error) {
        process.stderr.write(`dtr-ha: could not run ${script}: ${r.error.message}\n`);
        return 1;
    }
    if (r.signal) {
        process.kill(process.pid, r.signal);
        return 1;
    }
    return r.status ?? 1;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));

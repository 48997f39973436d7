// Entry point: DTR subcommands, plus the internal ones the image runs as (serve-api, helpers).
import * as F from "./flags";
import * as cli from "./cli";
import { fatal, info, setDebug, UserError } from "./log";
import { serveApi, cleanupReplica } from "./api";
import { Engine } from "./engine";
import { apiSpec, names, selfImage } from "./replica";
import { dtrVersion } from "./version";
import { sleep } from "./peer";

const run: Record<string, (f: F.Flags) => Promise<void>> = {
    install: cli.install,
    join: cli.join,
    backup: cli.backup,
    restore: cli.restore,
    destroy: cli.destroy,
    remove: cli.remove,
    upgrade: cli.upgrade,
    reconfigure: cli.reconfigure,
    "emergency-repair": cli.emergencyRepair,
};

/** Upgrade helper: replaces dtr-api-<id> with this image, keeping its metadata volume. */
async function recreateApi(id: string, http: string, https: string, clusterId: string): Promise<void> {
    await sleep(1000);
    const engine = new Engine();
    const self = await selfImage(engine);
    await engine.removeContainer(names.api(id));
    const cid = await engine.createContainer(names.api(id), apiSpec(id, clusterId, self, Number(http), Number(https)));
    await engine.start(cid);
    info(`replica ${id} now runs ${self.image}`);
}

async function main(argv: string[]): Promise<void> {
    const [cmd, ...rest] = argv;
    if (!cmd || cmd === "--help" || cmd === "help") {
        process.stderr.write(F.usage() + "\n");
        if (!cmd) throw new UserError("no command given");
        return;
    }
    if (cmd === "--version" || cmd === "version") {
        process.stdout.write(`${dtrVersion()}\n`);
        return;
    }
    if (cmd === "serve-api") return serveApi();
    if (cmd === "cleanup-replica") return cleanupReplica(F.validateReplicaId("replica-id", rest[0] ?? ""));
    if (cmd === "recreate-api") return recreateApi(F.validateReplicaId("replica-id", rest[0] ?? ""), rest[1], rest[2], rest[3]);
    // `--help`/`-h` (urfave/cli's, on every command) and `--help-extended` ($DTR_EXTENDED_HELP, every 2.7 reference page).
    const scanned = F.scanFlags(cmd, rest);
    const extended = scanned.flags["help-extended"] ?? F.parseGoBool(process.env.DTR_EXTENDED_HELP ?? "");
    if (scanned.help || extended === true) {
        process.stderr.write(F.commandUsage(cmd) + "\n");
        return;
    }
    const flags = F.parseFlags(cmd, rest, { env: process.env, stdinIsTTY: !!process.stdin.isTTY });
    setDebug(F.bool(flags, "debug"));
    await run[cmd](flags);
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        () => {
            if (process.argv[2] !== "serve-api") process.exit(0);
        },
        (e: Error) => {
            fatal(e instanceof UserError ? e.message : (e.stack ?? String(e)));
            process.exit(1);
        },
    );
}

export { main };

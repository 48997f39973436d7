/**
 * `npm run backups -- list | verify <manifest key>`: the backup catalog of a stack's cluster, read from its manifests,
 * and a verification that re-reads a backup object and checks its size and SHA-256 against the manifest.
 *
 * Exit codes: 0 fine, 1 a runtime failure (or a backup that failed verification), 2 bad usage or input. The stack is
 * only ever selected, never created, and the key is checked before anything is called. `--stack` has no default; the
 * stack is looked up where pulumi would (see workspace.ts), or in the lab's state dir with --state-dir.
 */
import { Command, CommanderError } from "commander";
import { passphraseProblem, placeName, placeOf, requirePulumiCli, selectStack, stackExists, stackNameProblem } from "./workspace";
import { missingValueProblem } from "./rebuild";
import { backupAccess, keyPlacementProblem, readBackupCatalog, verifyBackup } from "./catalog";
import { manifestKeyProblem } from "../backup-agent/src/keys";

class UsageError extends Error {}

const program = new Command()
    .name("npm run backups --")
    .description("List and verify a stack's DTR backups.")
    .option("--stack <name>", "the stack whose backups to read (required: no default)")
    .option(
        "--state-dir <dir>",
        "the lab's settings: its file backend and passphrase in <dir> (default: $DTR_HA_STATE_DIR; without either, the backend and secrets pulumi uses)",
        process.env.DTR_HA_STATE_DIR || undefined,
    )
    .option("--json", "print JSON lines instead of a table", false)
    // Usage errors exit 2 like bad input, not commander's 1 (1 is a runtime failure).
    .exitOverride();

/** Checks the stack name and that the stack exists (reading the backend's files only), then selects it. */
async function access(o: { stack?: string; stateDir?: string }) {
    if (o.stack === undefined) throw new UsageError("--stack is required: name the stack whose backups to read (there is no default)");
    const bad = stackNameProblem("--stack", o.stack) ?? (o.stateDir === "" ? "--state-dir is empty" : null);
    if (bad) throw new UsageError(bad);
    const place = placeOf(o.stateDir);
    if (!stackExists(o.stack, place)) throw new UsageError(`stack ${o.stack} does not exist in ${placeName(place)}`);
    requirePulumiCli();
    const passphrase = passphraseProblem(place);
    if (passphrase) throw new Error(passphrase);
    return backupAccess(await selectStack(o.stack, place));
}

program
    .command("list")
    .description("every backup of the cluster, newest first (by the store's time); refused manifests after them")
    .action(async () => {
        const o = program.opts<{ stack?: string; stateDir?: string; json: boolean }>();
        const a = await access(o);
        const { entries, broken } = await readBackupCatalog(a);
        if (o.json) {
            for (const e of [...entries, ...broken]) process.stdout.write(`${JSON.stringify(e)}\n`);
            return;
        }
        process.stdout.write(`${entries.length} backup(s) of cluster ${a.cluster} in s3://${a.bucket}/${a.prefix}\n`);
        for (const e of entries) {
            const m = e.manifest;
            process.stdout.write(
                `${e.storedAt}  ${m.kind.padEnd(5)} ${String(m.object.bytes).padStart(10)} B  DTR ${m.meta.dtrVersion ?? "-"}  replica ${m.meta.replicaId ?? "-"}  ${m.content.encryption ? "age" : "plain"}  ${e.manifestKey}\n`,
            );
        }
        if (broken.length > 0) {
            process.stdout.write(`${broken.length} manifest(s) refused (never used by --from latest):\n`);
            for (const b of broken) process.stdout.write(`BROKEN  ${b.brokenManifestKey}: ${b.reason}\n`);
        }
    });

program
    .command("verify <manifestKey>")
    .description("re-read the backup object and check it against its manifest")
    .action(async (key: string) => {
        const o = program.opts<{ stack?: string; stateDir?: string; json: boolean }>();
        const shape = manifestKeyProblem(key);
        if (shape) throw new UsageError(shape);
        const a = await access(o);
        const misplaced = keyPlacementProblem(a, key);
        if (misplaced) throw new UsageError(misplaced);
        const { ok, verdict } = await verifyBackup(a, key);
        process.stdout.write(`${o.json ? JSON.stringify(verdict) : JSON.stringify(verdict, null, 2)}\n`);
        process.stderr.write(ok ? `backup ${key} is whole: size and SHA-256 match its manifest\n` : `backup ${key} FAILED verification\n`);
        process.exitCode = ok ? 0 : 1;
    });

const early = missingValueProblem(process.argv.slice(2), ["--stack", "--state-dir"]);
(early ? Promise.reject(new UsageError(early)) : program.parseAsync()).catch((e) => {
    if (e instanceof CommanderError) {
        process.exitCode = e.exitCode === 0 ? 0 : 2; // commander already printed the message
        return;
    }
    process.stderr.write(`backups: ${e instanceof UsageError ? "refused" : "error"}: ${(e as Error).message}\n`);
    process.exitCode = e instanceof UsageError ? 2 : 1;
});

/**
 * `npm run backups -- list | verify <manifest key>`: the backup catalog of a stack's cluster, read from its manifests,
 * and a verification that re-reads a backup object and checks its size and SHA-256 against the manifest.
 */
import { Command } from "commander";
import { openStack } from "./workspace";
import { backupAccess, listBackups, verifyBackup } from "./catalog";

const program = new Command()
    .name("npm run backups --")
    .description("List and verify a stack's DTR backups.")
    .option("--stack <name>", "the stack whose backups to read", "lab")
    .option(
        "--state-dir <dir>",
        "where the stacks' state lives (file backend)",
        process.env.DTR_HA_STATE_DIR ?? "/var/tmp/dtr-ha-lab/pulumi",
    )
    .option("--json", "print JSON lines instead of a table", false);

program
    .command("list")
    .description("every backup of the cluster, newest first")
    .action(async () => {
        const o = program.opts();
        const access = await backupAccess(await openStack(o.stack, { dir: o.stateDir }));
        const entries = await listBackups(access);
        if (o.json) {
            for (const e of entries) process.stdout.write(`${JSON.stringify(e)}\n`);
            return;
        }
        process.stdout.write(`${entries.length} backup(s) of cluster ${access.cluster} in s3://${access.bucket}/${access.prefix}\n`);
        for (const e of entries) {
            const m = e.manifest;
            process.stdout.write(
                `${m.createdAt}  ${m.kind.padEnd(5)} ${String(m.object.bytes).padStart(10)} B  DTR ${m.meta.dtrVersion ?? "-"}  replica ${m.meta.replicaId ?? "-"}  ${m.content.encryption ? "age" : "plain"}  ${e.manifestKey}\n`,
            );
        }
    });

program
    .command("verify <manifestKey>")
    .description("re-read the backup object and check it against its manifest")
    .action(async (key: string) => {
        const o = program.opts();
        const access = await backupAccess(await openStack(o.stack, { dir: o.stateDir }));
        const { ok, verdict } = await verifyBackup(access, key);
        process.stdout.write(`${o.json ? JSON.stringify(verdict) : JSON.stringify(verdict, null, 2)}\n`);
        process.stderr.write(ok ? `backup ${key} is whole: size and SHA-256 match its manifest\n` : `backup ${key} FAILED verification\n`);
        process.exitCode = ok ? 0 : 1;
    });

program.parseAsync().catch((e) => {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exitCode = 2;
});

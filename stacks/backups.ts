/**
 * `npm run backups -- --stack <stack> <command>`: a stack's DTR backups, the way Velero's `backup` commands work.
 *
 * - `create [--wait]`: a backup now, through the stack: a new `backup.trigger` and `pulumi up --target` of the stack's
 *   ownership check, health check and backup chain only (the same checks and pipeline a full up runs; nothing else of
 *   the stack changes). `--wait` then waits until its manifest is listed intact in the bucket, and ends with a summary.
 * - `list`: every backup, newest first, with size, age, Object Lock retain-until and the last recorded verification.
 * - `describe <manifest>`: one backup, every field.
 * - `logs [--all]`: the scheduled runs' OK / FAILED lines from each replica host's log, read over SSH.
 * - `verify <manifest>`: re-reads the object and checks size and SHA-256 (and the tar), and records the verdict beside
 *   the manifest (`--no-record`: nothing written).
 *
 * `list`, `describe` and `logs` only read: the stack is selected, never created or changed. Exit codes: 0 fine, 1 a
 * runtime failure (or a backup that failed verification), 2 bad usage or input. `--stack` has no default; the stack is
 * looked up where pulumi would (see workspace.ts), or in the lab's state dir with --state-dir.
 */
import { spawnSync } from "child_process";
import { Command, CommanderError } from "commander";
import type { EngineEvent, LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { passphraseProblem, placeName, placeOf, requirePulumiCli, selectStack, stackExists, stackNameProblem } from "./workspace";
import { missingValueProblem } from "./rebuild";
import { BackupAccess, CatalogEntry, backupAccess, keyPlacementProblem, readBackupCatalog, verifyBackup } from "./catalog";
import { manifestKeyProblem } from "../backup-agent/src/keys";
import { Steps } from "./progress";
import {
    HostLog,
    StateResource,
    createTargets,
    createTrigger,
    describeLines,
    engineErrorLines,
    humanBytes,
    listLines,
    logTargets,
    logsLines,
    newBackup,
    parseRunLine,
    retentionText,
} from "./backups-view";

class UsageError extends Error {}

const program = new Command()
    .name("npm run backups --")
    .description("Create, list, describe, verify a stack's DTR backups, and read its scheduled runs' logs.")
    .option("--stack <name>", "the stack whose backups to read (required: no default)")
    .option(
        "--state-dir <dir>",
        "the lab's settings: its file backend and passphrase in <dir> (default: $DTR_HA_STATE_DIR; without either, the backend and secrets pulumi uses)",
        process.env.DTR_HA_STATE_DIR || undefined,
    )
    .option("--json", "print JSON lines instead of a table", false)
    // Usage errors exit 2 like bad input, not commander's 1 (1 is a runtime failure).
    .exitOverride();

type Opts = { stack?: string; stateDir?: string; json: boolean };
const opts = () => program.opts<Opts>();
const say = (line: string) => process.stdout.write(`${line}\n`);

/** Checks the stack name and that the stack exists (reading the backend's files only), then selects it. */
async function open(o: Opts): Promise<Stack> {
    if (o.stack === undefined) throw new UsageError("--stack is required: name the stack whose backups to read (there is no default)");
    const bad = stackNameProblem("--stack", o.stack) ?? (o.stateDir === "" ? "--state-dir is empty" : null);
    if (bad) throw new UsageError(bad);
    const place = placeOf(o.stateDir);
    if (!stackExists(o.stack, place)) throw new UsageError(`stack ${o.stack} does not exist in ${placeName(place)}`);
    requirePulumiCli();
    const passphrase = passphraseProblem(place);
    if (passphrase) throw new Error(passphrase);
    return selectStack(o.stack, place);
}

const access = async (o: Opts): Promise<BackupAccess> => backupAccess(await open(o));

/** A manifest key argument: its shape first (before anything is opened), then that it is this stack's. */
function keyShape(key: string): void {
    const shape = manifestKeyProblem(key);
    if (shape) throw new UsageError(shape);
}
function keyPlaced(a: BackupAccess, key: string): void {
    const misplaced = keyPlacementProblem(a, key);
    if (misplaced) throw new UsageError(misplaced);
}

program
    .command("list")
    .description("every backup of the cluster, newest first (by the store's time), with size, age, retain-until and verification")
    .action(async () => {
        const o = opts();
        const a = await access(o);
        const c = await readBackupCatalog(a, { verifications: true });
        if (o.json) {
            for (const e of [...c.entries, ...c.broken]) say(JSON.stringify(e));
            return;
        }
        for (const l of listLines(c, a, new Date())) say(l);
    });

program
    .command("describe <manifestKey>")
    .description("one backup: time, source replica, DTR version, sizes, checksums, encryption, retention, verification")
    .action(async (key: string) => {
        const o = opts();
        keyShape(key);
        const a = await access(o);
        keyPlaced(a, key);
        const c = await readBackupCatalog(a, { verifications: true });
        const broken = c.broken.find((b) => b.brokenManifestKey === key);
        if (broken) {
            say(o.json ? JSON.stringify(broken) : `Backup ${key}\n  BROKEN: ${broken.reason}\n  (never used by rebuild --from latest)`);
            process.exitCode = 1;
            return;
        }
        const e = c.entries.find((x) => x.manifestKey === key);
        if (!e)
            throw new Error(`no backup manifest ${key} in s3://${a.bucket}: npm run backups -- --stack ${o.stack} list shows the catalog`);
        say(o.json ? JSON.stringify(e) : describeLines(e, new Date()).join("\n"));
    });

program
    .command("verify <manifestKey>")
    .description("re-read the backup object, check it against its manifest, and record the verdict beside it")
    .option("--no-record", "write nothing: do not keep the verdict in the bucket (list then shows no verification)")
    .action(async (key: string, v: { record: boolean }) => {
        const o = opts();
        keyShape(key);
        const a = await access(o);
        keyPlaced(a, key);
        const { ok, verdict } = await verifyBackup(a, key, { record: v.record });
        say(o.json ? JSON.stringify(verdict) : JSON.stringify(verdict, null, 2));
        process.stderr.write(ok ? `backup ${key} is whole: size and SHA-256 match its manifest\n` : `backup ${key} FAILED verification\n`);
        process.exitCode = ok ? 0 : 1;
    });

// Constant: the log file's name and the line count arrive as DTR_HA_* variables (sshd accepts DTR_*), never as text.
const LOG_READER = ["set -u", 'if [ ! -e "$DTR_HA_LOG_FILE" ]; then exit 3; fi', 'tail -n "$DTR_HA_LOG_LINES" -- "$DTR_HA_LOG_FILE"'].join(
    "\n",
);

program
    .command("logs")
    .description("the scheduled runs' OK / FAILED lines from every replica host's log (over SSH, read only)")
    .option("--all", "also the runs that skipped (not this host's turn)", false)
    .option("--tail <n>", "lines read from each host's log", "200")
    .action(async (l: { all: boolean; tail: string }) => {
        const o = opts();
        if (!/^[1-9][0-9]{0,5}$/.test(l.tail))
            throw new UsageError(`--tail ${JSON.stringify(l.tail)}: give a whole number of lines from 1 to 999999`);
        const stack = await open(o);
        const { parseStackConfig, SECRET_KEYS } = await import("../components/config/stack-config");
        const { HostShell } = await import("./host-ssh");
        const all = await stack.getAllConfig();
        const raw: Record<string, unknown> = {};
        const secrets = new Set<(typeof SECRET_KEYS)[number]>();
        for (const [k, v] of Object.entries(all)) {
            if (!k.startsWith("dtr-ha:")) continue;
            const name = k.slice("dtr-ha:".length);
            if ((SECRET_KEYS as readonly string[]).includes(name)) secrets.add(name as (typeof SECRET_KEYS)[number]);
            else raw[name] = JSON.parse(v.value);
        }
        let targets;
        try {
            targets = logTargets(parseStackConfig(raw, secrets), stack.name);
        } catch (e) {
            throw new UsageError((e as Error).message);
        }
        const key = all["dtr-ha:sshPrivateKey"]?.value;
        if (!key)
            throw new UsageError(
                `stack ${stack.name}: dtr-ha:sshPrivateKey is not set: pulumi config set --secret dtr-ha:sshPrivateKey < key`,
            );
        const sh = new HostShell(key);
        let logs: HostLog[];
        try {
            logs = await Promise.all(
                targets.map(async ({ host, logFile }): Promise<HostLog> => {
                    const r = await sh.run(host, LOG_READER, {
                        env: { DTR_HA_LOG_FILE: logFile, DTR_HA_LOG_LINES: l.tail },
                        timeoutSeconds: 30,
                    });
                    if (r.code === 0) return { host: host.name, lines: r.stdout.split("\n") };
                    if (r.code === 3) return { host: host.name, missing: true };
                    return {
                        host: host.name,
                        error: `${r.code === 255 ? "ssh" : `exit ${r.code}`}: ${r.stderr.trim().split("\n").pop() ?? ""}`,
                    };
                }),
            );
        } finally {
            sh.close();
        }
        const view = logsLines(logs, { all: l.all, now: new Date() });
        if (o.json) {
            for (const h of logs)
                for (const line of h.lines ?? []) {
                    const r = parseRunLine(line);
                    if (r && (l.all || r.status !== "SKIPPED")) say(JSON.stringify({ host: h.host, ...r }));
                }
            for (const u of view.unreadable) process.stderr.write(`${u}\n`);
        } else for (const line of view.lines) say(line);
        // A host whose log could not be read is said, and the exit status says it too.
        if (view.unreadable.length > 0) process.exitCode = 1;
    });

/**
 * The resources of the stack's state, read with `pulumi stack export` as pulumi stores them: secrets stay encrypted
 * (the Automation API's exportStack decrypts every secret, which a create does not need).
 */
function stateResources(stack: Stack): StateResource[] {
    const ws = stack.workspace as LocalWorkspace;
    const r = spawnSync("pulumi", ["stack", "export", "--stack", stack.name, "--non-interactive"], {
        cwd: ws.workDir,
        env: { ...process.env, ...ws.envVars },
        encoding: "utf8",
        maxBuffer: 512 * 1024 * 1024,
        timeout: 120_000,
    });
    if (r.status !== 0) throw new Error(`pulumi stack export --stack ${stack.name} failed: ${(r.stderr || String(r.error ?? "")).trim()}`);
    return (JSON.parse(r.stdout).deployment?.resources ?? []) as StateResource[];
}

/** Engine events of the targeted resources, one line each, and a line every 10 s while any is still running. */
function engineProgress(steps: Steps, targets: Set<string>) {
    const running = new Map<string, number>();
    const name = (urn: string) => urn.slice(urn.lastIndexOf("::") + 2);
    const stamp = () => `[${steps.elapsed().toFixed(1).padStart(6)}s]`;
    const timer = setInterval(() => {
        if (running.size > 0)
            process.stderr.write(
                `${stamp()}   … still running: ${[...running].map(([u, t]) => `${name(u)} (${((Date.now() - t) / 1000).toFixed(0)}s)`).join(", ")}\n`,
            );
    }, 10_000);
    return {
        onEvent(e: EngineEvent) {
            const pre = e.resourcePreEvent?.metadata;
            if (pre && targets.has(pre.urn) && pre.op !== "same") {
                running.set(pre.urn, Date.now());
                process.stderr.write(`${stamp()}   ▶ ${name(pre.urn)} (${pre.op})\n`);
            }
            const done = e.resOutputsEvent?.metadata;
            if (done && running.has(done.urn)) {
                process.stderr.write(`${stamp()}   ✔ ${name(done.urn)} (${((Date.now() - running.get(done.urn)!) / 1000).toFixed(1)}s)\n`);
                running.delete(done.urn);
            }
            const failed = e.resOpFailedEvent?.metadata;
            if (failed && running.has(failed.urn)) {
                process.stderr.write(`${stamp()}   ✘ ${name(failed.urn)}\n`);
                running.delete(failed.urn);
            }
            const d = e.diagnosticEvent;
            if (d && d.severity === "error" && d.urn && targets.has(d.urn))
                process.stderr.write(`${stamp()}   ${d.message.trim().split("\n").slice(-3).join(" | ").slice(0, 400)}\n`);
        },
        stop: () => clearInterval(timer),
    };
}

program
    .command("create")
    .description(
        "a backup now, through the stack: a new backup.trigger and pulumi up of the ownership check, the health check and the backup only",
    )
    .option("--wait", "wait until the new manifest is listed intact in the bucket, then print a summary", false)
    .option("--timeout <seconds>", "with --wait: how long to wait for the manifest after the up", "300")
    .action(async (c: { wait: boolean; timeout: string }) => {
        const o = opts();
        if (!/^[1-9][0-9]{0,4}$/.test(c.timeout))
            throw new UsageError(`--timeout ${JSON.stringify(c.timeout)}: give whole seconds from 1 to 99999`);
        const steps = new Steps();
        const stack = await steps.run(`open stack ${o.stack}`, () => open(o));
        const a = await steps.run("read the backup settings", () => backupAccess(stack));
        const before = await steps.run(
            "read the catalog (the backups already there)",
            async () => new Set((await readBackupCatalog(a)).entries.map((e) => e.manifestKey)),
            (b) => `${b.size} backup(s)`,
        );
        const { targets } = await steps.run(
            "find the stack's ownership check, health check and backup chain",
            async () => createTargets(stateResources(stack), stack.name),
            (t) => `${t.targets.length} resources: ${t.targets.map((u) => u.slice(u.lastIndexOf("::") + 2)).join(", ")}`,
        );
        const trigger = createTrigger(new Date());
        await steps.run(`set dtr-ha:backup.trigger = ${trigger}`, async () => {
            const cur = (await stack.getAllConfig())["dtr-ha:backup"];
            if (!cur) throw new UsageError(`stack ${stack.name} has no dtr-ha:backup configuration`);
            await stack.setConfig("dtr-ha:backup", { value: JSON.stringify({ ...JSON.parse(cur.value), trigger }) });
        });
        const progress = engineProgress(steps, new Set(targets));
        try {
            await steps.run("pulumi up --target: ownership check, health check, backup (Swarm, UCP, DTR as configured)", () =>
                stack.up({ target: targets, color: "never", onEvent: progress.onEvent }),
            );
        } catch (e) {
            // The engine's whole output echoes every script a provider ran: only its error lines, then what to do.
            const why = engineErrorLines((e as Error).message);
            throw new Error(
                [
                    "the backup did not complete:",
                    ...(why.length ? why : [(e as Error).message.split("\n")[0]]).map((l) => `  ${l}`),
                    `dtr-ha:backup.trigger stays ${trigger}, so the next pulumi up (or backups create) takes the backup again`,
                ].join("\n"),
                { cause: e },
            );
        } finally {
            progress.stop();
        }
        // The stack's own name as its program records it in the manifest (pulumi.getStack(): no org/project part).
        const sourceStack = stack.name.split("/").pop()!;
        const find = async () => newBackup((await readBackupCatalog(a, { verifications: true })).entries, { before, sourceStack });
        let made: CatalogEntry | null;
        if (c.wait) {
            const deadline = Date.now() + Number(c.timeout) * 1000;
            made = await steps.run(
                "wait for the new manifest in the catalog (listed intact: manifest checked, object version there with its size)",
                async () => {
                    for (;;) {
                        const got = await find();
                        if (got) return got;
                        if (Date.now() > deadline) throw new Error(`no new DTR backup of stack ${sourceStack} listed within ${c.timeout}s`);
                        process.stderr.write(`[${steps.elapsed().toFixed(1).padStart(6)}s]   … not listed yet\n`);
                        await new Promise((r) => setTimeout(r, 3000));
                    }
                },
                (e) => e.manifestKey,
            );
        } else made = await find();
        const now = new Date();
        const lines = [steps.summary("backups create")];
        if (made) {
            const m = made.manifest;
            lines.push(
                `backup ${made.manifestKey}`,
                `  ${humanBytes(m.object.bytes)} stored (${humanBytes(m.content.tarBytes)} tar), DTR ${m.meta.dtrVersion ?? "-"}, replica ${m.meta.replicaId ?? "-"}, ${m.content.encryption ? "encrypted (age)" : "not encrypted client-side"}`,
                `  retention: ${retentionText(made.objectLock, now)}`,
                `  next: npm run backups -- --stack ${o.stack} describe ${made.manifestKey}   (verify ${made.manifestKey} to read it back)`,
            );
        } else
            lines.push(
                `the up finished; the new manifest is not listed yet: npm run backups -- --stack ${o.stack} list (or create --wait)`,
            );
        process.stderr.write(`${lines.join("\n")}\n`);
        if (o.json) say(JSON.stringify({ manifestKey: made?.manifestKey ?? null, seconds: steps.elapsed(), steps: steps.records }));
        else if (made) say(made.manifestKey);
    });

const early = missingValueProblem(process.argv.slice(2), ["--stack", "--state-dir", "--tail", "--timeout"]);
(early ? Promise.reject(new UsageError(early)) : program.parseAsync()).catch((e) => {
    if (e instanceof CommanderError) {
        process.exitCode = e.exitCode === 0 ? 0 : 2; // commander already printed the message
        return;
    }
    process.stderr.write(`backups: ${e instanceof UsageError ? "refused" : "error"}: ${(e as Error).message}\n`);
    process.exitCode = e instanceof UsageError ? 2 : 1;
});

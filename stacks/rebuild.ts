/**
 * `npm run rebuild -- --from <manifest key | latest> --stack <new stack> [--source-stack <stack>]`: rebuilds a lost
 * cluster from a backup into a fresh stack through the Automation API, verifies it, and reports the measured RTO
 * (disaster declared -> cluster healthy) and RPO (disaster time - backup time).
 */
import { Command, CommanderError } from "commander";
import { ConfigMap, EngineEvent, Stack } from "@pulumi/pulumi/automation";
import { parseHealthLine } from "../components/cluster/health-gate";
import {
    createStack,
    passphraseProblem,
    placeName,
    placeOf,
    requirePulumiCli,
    selectStack,
    stackExists,
    stackNameProblem,
    StackPlace,
} from "./workspace";
import { Steps } from "./progress";
import { RtoBreakdown, StepClock, rtoBreakdown, rtoBreakdownLines } from "./rto-breakdown";
import {
    MIGRATION_DOC,
    StorageIdentity,
    backupStorageIdentity,
    configuredStorageIdentity,
    describeStorage,
    storageCheckSkipped,
    storagePreflight,
} from "../components/storage/identity";
import { BackupAccess, backupAccess, fromProblem, resolveManifest, verifyBackup } from "./catalog";
import {
    BackupStore,
    accessFromStore,
    configFromDoc,
    gatherSecrets,
    parseBackupStore,
    readSecretsFile,
    readStoredConfig,
} from "./from-backup";

/** Bad input: the CLI exits 2 (runtime failures exit 1). Always raised before anything is written. */
export class UsageError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "UsageError";
    }
}

const INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|([+-])(\d{2}):(\d{2}))$/;

/**
 * A full ISO 8601 instant: a calendar date AND a time, with Z or an offset (2026-11-25T13:00:00Z,
 * 2026-11-25T14:00+01:00), not after `now`. Returns the date, or why it is refused.
 */
export function parseDisasterTime(text: string, now: Date = new Date()): Date | string {
    const example = "use an ISO 8601 instant with a time zone, e.g. 2026-11-25T13:00:00Z";
    const m = INSTANT.exec(text);
    if (!m) return `--disaster-time=${JSON.stringify(text)} is not a full ISO 8601 instant (date, time and Z or offset): ${example}`;
    const [y, mo, d, h, mi, sec = "0"] = m.slice(1, 7).map((x) => (x === undefined ? undefined : Number(x))) as number[];
    const daysInMonth = mo >= 1 && mo <= 12 ? new Date(Date.UTC(y, mo, 0)).getUTCDate() : 0;
    const offOk = m[7] === "Z" || (Number(m[9]) <= 23 && Number(m[10]) <= 59);
    if (d < 1 || d > daysInMonth || h > 23 || mi > 59 || Number(sec) > 59 || !offOk)
        return `--disaster-time=${JSON.stringify(text)} is not a real date and time: ${example}`;
    const t = new Date(text);
    if (Number.isNaN(t.getTime())) return `--disaster-time=${JSON.stringify(text)} is not a date: ${example}`;
    if (t.getTime() > now.getTime())
        return `--disaster-time=${t.toISOString()} is in the future (now ${now.toISOString()}): give when the cluster was lost`;
    return t;
}

/**
 * An option that takes a value followed directly by another option (`--from --stack new`): commander would take
 * "--stack" as the value and then complain about the wrong option. Null when there is none.
 */
export function missingValueProblem(argv: string[], valueFlags: string[]): string | null {
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === "--") break;
        const next = argv[i + 1];
        if (valueFlags.includes(argv[i]) && next !== undefined && /^--[a-z]/.test(next))
            return `${argv[i]} needs a value, but ${next} follows it: ${argv[i]} <value>`;
    }
    return null;
}

/** Every reason to refuse the inputs, without touching anything. */
export function rebuildInputProblems(o: {
    from: string;
    stack: string;
    /** Required (no default that could name the wrong cluster); the CLI fills in `lab` only with the lab's state dir. */
    sourceStack?: string;
    /** The lab's state dir; undefined: the backend and secrets pulumi uses. */
    stateDir?: string;
    disasterTime?: Date;
    /** The source stack is gone: its configuration comes from the backup (see stacks/from-backup.ts). */
    configFromBackup?: ConfigFromBackup;
}): string[] {
    const p: string[] = [];
    const from = fromProblem(o.from);
    if (from) p.push(from);
    const n = stackNameProblem("--stack", o.stack);
    if (n) p.push(n);
    if (o.configFromBackup) {
        if (o.from === "latest")
            p.push(
                "--from latest needs the source stack; with --config-from-backup give the manifest key ([<prefix>/]manifests/<cluster>/<stamp>-dtr.manifest.json in the backup bucket)",
            );
        if (o.sourceStack !== undefined)
            p.push(`--source-stack ${o.sourceStack} and --config-from-backup exclude each other: the configuration comes from one of them`);
        const store = parseBackupStore("--backup-bucket", o.configFromBackup.backupBucket ?? "");
        if (o.configFromBackup.backupBucket === undefined)
            p.push(`--config-from-backup needs --backup-bucket s3://<bucket>?region=... (the bucket the backup is in)`);
        else if (typeof store === "string") p.push(store);
    } else if (o.sourceStack === undefined)
        p.push("--source-stack is required: name the stack whose configuration and backups to use (there is no default)");
    else {
        const s = stackNameProblem("--source-stack", o.sourceStack);
        if (s) p.push(s);
    }
    if (o.stack !== "" && o.stack === o.sourceStack)
        p.push(
            `--stack ${o.stack} is the source stack: rebuild into a new stack, never into the one that holds the backups' configuration`,
        );
    if (o.stateDir === "") p.push("--state-dir is empty");
    if (o.disasterTime !== undefined) {
        if (Number.isNaN(o.disasterTime.getTime())) p.push("the disaster time is not a date");
        else if (o.disasterTime.getTime() > Date.now()) p.push(`the disaster time ${o.disasterTime.toISOString()} is in the future`);
    }
    return p;
}

/**
 * Everything that can be checked before a single write: the inputs, the target stack not existing (read from the
 * backend's files: a backend that does not exist holds none, and is not created by looking), the source stack
 * existing, and the pulumi CLI being there.
 */
export function rebuildPreflight(o: {
    from: string;
    stack: string;
    sourceStack?: string;
    stateDir?: string;
    secretsProvider?: string;
    disasterTime?: Date;
    resume?: boolean;
    configFromBackup?: ConfigFromBackup;
}): void {
    const problems = rebuildInputProblems(o);
    if (problems.length > 0) throw new UsageError(problems.join("\n"));
    const place = placeOf(o.stateDir, o.secretsProvider);
    if (!o.resume && stackExists(o.stack, place))
        throw new UsageError(
            `stack ${o.stack} already exists in ${placeName(place)}: rebuild only into a new stack (a restore over an existing one would let Pulumi delete what it restores); to finish a rebuild into ${o.stack} that was interrupted, run it again with --resume`,
        );
    if (!o.configFromBackup && !stackExists(o.sourceStack!, place))
        throw new UsageError(
            `source stack ${o.sourceStack} does not exist in ${placeName(place)} (if its state is lost, rebuild with --config-from-backup)`,
        );
    requirePulumiCli();
    const passphrase = passphraseProblem(place);
    if (passphrase) throw new Error(passphrase);
}

/** `--config-from-backup`: where the backup is, and where the secrets come from besides DTR_HA_SECRET_* variables. */
export interface ConfigFromBackup {
    /** `s3://<bucket>?region=…&endpoint=…&s3ForcePathStyle=…` */
    backupBucket?: string;
    secretsFile?: string;
    /** Where DTR_HA_SECRET_* (and AWS_*) are read; default process.env. */
    env?: NodeJS.ProcessEnv;
}

export interface RebuildOptions {
    from: string;
    stack: string;
    /** Required unless `configFromBackup`. */
    sourceStack?: string;
    configFromBackup?: ConfigFromBackup;
    /** The lab's state dir (its file backend and passphrase); undefined: the backend and secrets pulumi uses. */
    stateDir?: string;
    /** Pulumi's way only: the new stack's secrets provider; default: the backend's. */
    secretsProvider?: string;
    /** When the disaster happened (for the RPO); default: when the rebuild was declared. */
    disasterTime?: Date;
    /** When the disaster was declared (RTO starts here); default: now. */
    declaredAt?: Date;
    destroyExisting: boolean;
    /**
     * Finish a rebuild that was interrupted: the target may exist, but only as a rebuild stack (dtr-ha:restore set)
     * of the same backup; it is then reused as it is. Without it an existing target is refused.
     */
    resume?: boolean;
    log?: (line: string) => void;
    /** Aborts the `up` (for drills that interrupt a restore). */
    signal?: AbortSignal;
    /** Sees every engine event of the `up`. */
    onEvent?: (e: EngineEvent) => void;
}

export interface RebuildReport {
    ok: boolean;
    stack: string;
    manifestKey: string;
    /** As the backup host's clock said (not trusted for ordering or RPO). */
    backupCreatedAt: string;
    /** As the store's clock said: what the RPO is measured from. */
    backupStoredAt: string;
    declaredAt: string;
    healthyAt: string | null;
    /** Seconds from declaration to the health gate passing. */
    rtoSeconds: number | null;
    /** Seconds of changes lost: disaster time minus backup time. */
    rpoSeconds: number;
    /** Each restore step's duration in seconds, in the order they finished, with when it ran (ms since the epoch). */
    steps: { step: string; seconds: number; startedAt: number; finishedAt: number }[];
    /** Where the RTO went: DTR's own steps, other steps, the tool and the engine (null when never healthy). */
    breakdown: RtoBreakdown | null;
    health: string | null;
    replicaIds: string[];
}

export async function rebuild(o: RebuildOptions, steps = new Steps()): Promise<RebuildReport> {
    rebuildPreflight(o);
    const declaredAt = o.declaredAt ?? new Date();
    const disasterTime = o.disasterTime ?? declaredAt;
    const place = placeOf(o.stateDir, o.secretsProvider);
    // Where the configuration comes from: the source stack, or (its state lost) the document beside the manifest.
    let access: BackupAccess;
    let sourceConfig: () => Promise<ConfigMap>;
    let sourceName: string;
    if (o.configFromBackup) {
        const c = o.configFromBackup;
        const env = c.env ?? process.env;
        const file = c.secretsFile !== undefined ? readSecretsFile(c.secretsFile) : undefined;
        access = accessFromStore(o.from, parseBackupStore("--backup-bucket", c.backupBucket!) as BackupStore, env, file);
        const doc = await steps.run(
            `read the configuration stored with ${o.from}`,
            () => readStoredConfig(access, o.from),
            (d) => `stack ${d.sourceStack ?? "?"}: ${Object.keys(d.config).length} values, secrets ${d.secrets.join(", ") || "none"}`,
        );
        const secrets = gatherSecrets(doc.secrets, env, file, o.from);
        if (secrets.problems.length > 0)
            throw new UsageError(`nothing was created; the backup's configuration needs these secrets:\n${secrets.problems.join("\n")}`);
        sourceConfig = async () => configFromDoc(doc, secrets.values);
        sourceName = `${doc.sourceStack ?? "the source stack"} (from the backup)`;
    } else {
        const source: Stack = await steps.run(`open the source stack ${o.sourceStack}`, () => selectStack(o.sourceStack!, place));
        access = await backupAccess(source);
        sourceConfig = () => source.getAllConfig();
        sourceName = o.sourceStack!;
    }
    const entry = await steps.run(
        `find backup ${o.from}`,
        () => resolveManifest(access, o.from),
        (e) => `${e.manifestKey} (${e.manifest.createdAt})`,
    );
    // Every refusal the manifest and the configuration alone can justify, before anything is verified or written: the
    // backed-up replica's id, and the backup's storage against the configured one.
    const config = await sourceConfig();
    const plan = await steps.run(
        "check the backup against the configuration (replica id, storage)",
        async () => rebuildPlan(entry.manifestKey, entry.manifest.meta, config),
        (p) => p.storageNote,
    );
    const verdict = await steps.run("verify it (size and SHA-256 at its pinned version)", () => verifyBackup(access, entry.manifestKey));
    if (!verdict.ok)
        throw new Error(`backup ${entry.manifestKey} failed verification; nothing was rebuilt: ${JSON.stringify(verdict.verdict)}`);

    const resuming = o.resume === true && stackExists(o.stack, place);
    const target = resuming
        ? await steps.run(`resume stack ${o.stack}, an interrupted rebuild from this backup`, () =>
              resumable(o.stack, place, entry.manifestKey),
          )
        : await steps.run(`create stack ${o.stack} with ${sourceName}'s configuration`, async () => {
              const s = await createStack(o.stack, place);
              const backup = JSON.parse(config["dtr-ha:backup"].value);
              // One `config set-all` (each call is a CLI run: a second or so inside the RTO).
              await s.setAllConfig({
                  ...config,
                  "dtr-ha:restore": {
                      value: JSON.stringify(
                          restoreConfig(entry.manifestKey, plan.replicaId, o.destroyExisting, config["dtr-ha:hosts"]?.value),
                      ),
                  },
                  "dtr-ha:backup": { value: JSON.stringify({ ...backup, trigger: `rebuilt-${declaredAt.toISOString()}` }) },
              });
              return s;
          });
    // A rebuild run again after an interruption: operations left pending by the killed run are dropped first (a stack
    // created just now has none, and the refresh would only add its second to the RTO).
    if (resuming)
        await steps.run("clear operations an interrupted run left pending", () =>
            target.refresh({ color: "never", clearPendingCreates: true }),
        );
    const clock = new StepClock();
    const progress = steps.engineEvents();
    const engineStartedAt = Date.now();
    const up = await steps.run("pulumi up in restore mode: verify, clear, restore, join, join, health gate, new backup", () =>
        target.up({
            color: "never",
            signal: o.signal,
            onEvent: (e) => {
                clock.onEvent(e);
                progress(e);
                o.onEvent?.(e);
            },
            onOutput: (l) => o.log?.(l.trimEnd()),
        }),
    );
    const outputs = Object.fromEntries(Object.entries(up.outputs).map(([k, v]) => [k, v.value]));
    const healthStep = clock.finished.find((f) => f.step.endsWith("-health"));
    const gate = parseHealthLine(String(outputs.health ?? ""));
    const report: RebuildReport = {
        ok: gate.healthy && gate.replicas === outputs.replicaCount,
        stack: o.stack,
        manifestKey: entry.manifestKey,
        backupCreatedAt: entry.manifest.createdAt,
        backupStoredAt: entry.objectStoredAt ?? entry.storedAt,
        declaredAt: declaredAt.toISOString(),
        healthyAt: healthStep ? new Date(healthStep.at).toISOString() : null,
        rtoSeconds: healthStep ? Number(((healthStep.at - declaredAt.getTime()) / 1000).toFixed(1)) : null,
        // From the store's clock, not the backup host's: when the backup object's version was written (for a
        // multipart upload, when it started).
        rpoSeconds: Number(((disasterTime.getTime() - Date.parse(entry.objectStoredAt ?? entry.storedAt)) / 1000).toFixed(1)),
        steps: clock.finished.map((f) => ({
            step: f.step,
            seconds: Number(f.seconds.toFixed(1)),
            startedAt: f.startedAt,
            finishedAt: f.at,
        })),
        breakdown: healthStep
            ? rtoBreakdown(
                  declaredAt.getTime(),
                  healthStep.at,
                  clock.finished.map((f) => ({ step: f.step, startedAt: f.startedAt, finishedAt: f.at })),
                  engineStartedAt,
              )
            : null,
        health: outputs.health ?? null,
        replicaIds: outputs.replicaIds ?? [],
    };
    return report;
}

/**
 * The id of the replica a backup was taken from, as its manifest records it. DTR restores with "the id of the replica
 * you backed up" (docker/docs ee/admin/restore/restore-dtr.md), so a manifest without a valid one cannot be restored.
 */
export function backedUpReplicaId(manifestKey: string, meta: Record<string, string> | undefined): string {
    const id = meta?.replicaId;
    if (typeof id !== "string" || !/^[0-9a-f]{12}$/.test(id))
        throw new UsageError(
            `backup ${manifestKey}: its manifest's replicaId=${JSON.stringify(id ?? null)} is not a DTR replica id (12 lower-case hex); DTR restores with the backed-up replica's id, so this backup cannot be restored as it is: pick another one (npm run backups -- list); nothing was written`,
        );
    return id;
}

/**
 * The storage a stack with this configuration will give DTR, as the restore compares it: storage.mode s3 names its
 * bucket; storage.mode aws creates a new layer bucket whose name is not known before it exists (`aws`); none or
 * unreadable: `undefined` (the program's own validation refuses such a configuration).
 */
export function configuredStorageOf(config: ConfigMap): StorageIdentity | "aws" | undefined {
    const raw = config["dtr-ha:storage"]?.value;
    let storage: { mode?: unknown; s3?: Record<string, unknown> } | undefined;
    try {
        storage = raw === undefined ? undefined : JSON.parse(raw);
    } catch {
        return undefined;
    }
    if (storage?.mode === "aws") return "aws";
    const s3 = storage?.mode === "s3" ? storage.s3 : undefined;
    if (!s3 || typeof s3.bucket !== "string" || typeof s3.region !== "string") return undefined;
    const opt = (v: unknown) => (typeof v === "string" ? v : undefined);
    return configuredStorageIdentity({
        bucket: s3.bucket,
        region: s3.region,
        rootDirectory: opt(s3.rootDirectory),
        regionEndpoint: opt(s3.regionEndpoint),
    });
}

/**
 * What the manifest and the configuration decide before anything is written: the backed-up replica's id (DTR restores
 * with it), and whether the backup's storage (as DTR reported it when the backup was taken) is the configured one. A
 * difference is refused here, naming both values, the keys to change and DTR's storage-backend-migration guide, since
 * restoring would bring back settings the new stack then contradicts (a backend switch erases every tag). A backup that
 * records no storage passes with a note: the storage step's post-restore read-back still compares before sending.
 */
export function rebuildPlan(
    manifestKey: string,
    meta: Record<string, string> | undefined,
    config: ConfigMap,
): { replicaId: string; storageNote: string } {
    const replicaId = backedUpReplicaId(manifestKey, meta);
    const configured = configuredStorageOf(config);
    let check: { refused?: string; note: string };
    try {
        if (configured === "aws") {
            // storage.mode aws makes the new stack create its own layer bucket (named when it is created): it can never
            // be the one the backup's registry used.
            const backup = backupStorageIdentity(manifestKey, meta);
            check =
                backup === null
                    ? { note: storageCheckSkipped(manifestKey) }
                    : {
                          refused:
                              `the backup ${manifestKey} was taken with storage ${describeStorage(backup)}, but storage.mode is aws: ` +
                              `the new stack would create a new, empty layer bucket, and DTR's restore would bring back settings ` +
                              `pointing at the backup's bucket; sending the new bucket would switch storage backends, which in DTR 2.6+ ` +
                              `erases every tag (${MIGRATION_DOC}). Set dtr-ha:storage to mode s3 with storage.s3.bucket "${backup.bucket}", ` +
                              `storage.s3.region "${backup.region}", storage.s3.rootDirectory "${backup.rootdirectory}", storage.s3.regionEndpoint ` +
                              `"${backup.regionendpoint}" (and the secrets dtr-ha:storageAccessKey/storageSecretKey) and run again`,
                          note: "",
                      };
        } else check = storagePreflight(manifestKey, meta, configured);
    } catch (e) {
        throw new UsageError(`${(e as Error).message}; nothing was written`);
    }
    if (check.refused) throw new UsageError(`refused: ${check.refused}; nothing was written`);
    return { replicaId, storageNote: check.note };
}

/**
 * The new stack's `dtr-ha:restore`: the backup, and the backed-up replica's id on the first host (by name, so recover may
 * later move another host to the front). `hostsJson` is the source stack's `dtr-ha:hosts`.
 */
export function restoreConfig(
    manifestKey: string,
    replicaId: string,
    destroyExisting: boolean,
    hostsJson: string | undefined,
): { manifestKey: string; destroyExisting: boolean; replicaId: string; host?: string } {
    let first: unknown;
    try {
        const hosts = hostsJson === undefined ? undefined : JSON.parse(hostsJson);
        first = hosts?.mode === "existing" ? hosts.existing?.[0]?.name : undefined;
    } catch {
        first = undefined;
    }
    return { manifestKey, destroyExisting, replicaId, ...(typeof first === "string" ? { host: first } : {}) };
}

/** An existing stack may be resumed only when it is a rebuild (restore mode) from the same backup. */
export async function resumable(name: string, place: StackPlace, manifestKey: string): Promise<Stack> {
    const s = await selectStack(name, place);
    const raw = (await s.getAllConfig())["dtr-ha:restore"]?.value;
    let recorded: unknown;
    try {
        recorded = raw === undefined ? undefined : JSON.parse(raw).manifestKey;
    } catch {
        recorded = undefined;
    }
    if (typeof recorded !== "string")
        throw new UsageError(
            `stack ${name} exists but is not a rebuild (no dtr-ha:restore.manifestKey): refusing to reuse it, even with --resume`,
        );
    if (recorded !== manifestKey)
        throw new UsageError(`stack ${name} is a rebuild from ${recorded}, not from ${manifestKey}: resume it with --from ${recorded}`);
    // A stack that once installed a cluster would delete that install (and the replica ids it restores) at the end
    // of a restore-mode up: never resume one, whatever its config says now.
    const urns: string[] = ((await s.exportStack()).deployment?.resources ?? []).map((r: { urn: string }) => r.urn);
    const install = urns.find((u) => u.endsWith("-install"));
    if (install) throw new UsageError(`stack ${name} holds an install (${install}): refusing to run a restore in it, even with --resume`);
    return s;
}

export function timeline(r: RebuildReport): string {
    return [
        `rebuild of ${r.stack} from ${r.manifestKey}: ${r.ok ? "HEALTHY" : "NOT HEALTHY"}`,
        `  backup stored     ${r.backupStoredAt} (host clock said ${r.backupCreatedAt})`,
        `  disaster declared ${r.declaredAt}`,
        `  cluster healthy   ${r.healthyAt ?? "never"}`,
        `  RTO ${r.rtoSeconds ?? "n/a"} s (declared -> healthy), RPO ${r.rpoSeconds} s (disaster - backup)`,
        ...(r.breakdown ? rtoBreakdownLines(r.breakdown) : []),
        "  restore steps:",
        ...r.steps.map((s) => `    ${s.step.padEnd(36)} ${s.seconds.toFixed(1).padStart(7)} s`),
    ].join("\n");
}

if (require.main === module) {
    const program = new Command()
        .name("npm run rebuild --")
        .description("Rebuild a lost DTR cluster from a backup into a fresh stack, verify it, and report RTO and RPO.")
        .requiredOption("--from <manifest>", 'a backup manifest key, or "latest"')
        .requiredOption("--stack <name>", "the new stack to create")
        .option("--source-stack <name>", "the stack whose configuration and backups to use (required; with the lab's --state-dir: lab)")
        .option(
            "--state-dir <dir>",
            "the lab's settings: its file backend and passphrase in <dir> (default: $DTR_HA_STATE_DIR; without either, the backend and secrets pulumi uses)",
            process.env.DTR_HA_STATE_DIR || undefined,
        )
        .option("--secrets-provider <provider>", "the new stack's secrets provider, as pulumi stack init takes it (default: the backend's)")
        .option("--disaster-time <iso>", "when the cluster was lost (RPO), e.g. 2026-11-25T13:00:00Z; default: now")
        .option(
            "--config-from-backup",
            "the source stack's state is lost: take its configuration from the backup (needs --backup-bucket)",
            false,
        )
        .option(
            "--backup-bucket <url>",
            "with --config-from-backup: the backup's bucket, s3://<bucket>?region=R[&endpoint=URL&s3ForcePathStyle=true]",
        )
        .option(
            "--secrets-file <file>",
            'with --config-from-backup: a mode-600 JSON object {"dtr-ha:ucpPassword": "..."} (else each from DTR_HA_SECRET_<NAME>)',
        )
        .option("--destroy-existing", "destroy replicas still found on the hosts instead of refusing", false)
        .option("--resume", "finish an interrupted rebuild into --stack (the same backup); an existing stack is refused otherwise", false)
        .option("--json", "end with one JSON line", false)
        .option("--verbose", "show the engine's output", false)
        // Usage errors exit 2 like bad input, not commander's 1 (1 is a runtime failure).
        .exitOverride()
        .action(async (opts) => {
            let disasterTime: Date | undefined;
            if (opts.disasterTime !== undefined) {
                const t = parseDisasterTime(opts.disasterTime);
                if (typeof t === "string") throw new UsageError(t);
                disasterTime = t;
            }
            if (!opts.configFromBackup && (opts.backupBucket !== undefined || opts.secretsFile !== undefined))
                throw new UsageError("--backup-bucket and --secrets-file are for --config-from-backup: add it, or drop them");
            const o: RebuildOptions = {
                from: opts.from,
                stack: opts.stack,
                // The lab's own source stack is its default only there; elsewhere it must be named.
                sourceStack: opts.sourceStack ?? (opts.stateDir !== undefined && !opts.configFromBackup ? "lab" : undefined),
                configFromBackup: opts.configFromBackup ? { backupBucket: opts.backupBucket, secretsFile: opts.secretsFile } : undefined,
                stateDir: opts.stateDir,
                secretsProvider: opts.secretsProvider,
                disasterTime,
                destroyExisting: opts.destroyExisting,
                resume: opts.resume,
                log: opts.verbose ? (l) => process.stderr.write(`    ${l}\n`) : undefined,
            };
            // Refusals come first and alone, as one message: nothing has been written yet.
            rebuildPreflight(o);
            const steps = new Steps();
            try {
                const report = await rebuild(o, steps);
                process.stderr.write(`\n${timeline(report)}\n\n${steps.summary("rebuild")}\n`);
                if (opts.json) process.stdout.write(`${JSON.stringify(report)}\n`);
                process.exitCode = report.ok ? 0 : 1;
            } catch (e) {
                process.stderr.write(`\n${steps.summary(`rebuild FAILED: ${(e as Error).message}`)}\n`);
                process.exitCode = e instanceof UsageError ? 2 : 1;
            }
        });
    const early = missingValueProblem(process.argv.slice(2), [
        "--from",
        "--stack",
        "--source-stack",
        "--state-dir",
        "--secrets-provider",
        "--disaster-time",
        "--backup-bucket",
        "--secrets-file",
    ]);
    (early ? Promise.reject(new UsageError(early)) : program.parseAsync()).catch((e) => {
        if (e instanceof CommanderError) {
            process.exitCode = e.exitCode === 0 ? 0 : 2; // commander already printed the message
            return;
        }
        process.stderr.write(`rebuild: ${e instanceof UsageError ? "refused" : "error"}: ${(e as Error).message}\n`);
        process.exitCode = e instanceof UsageError ? 2 : 1;
    });
}

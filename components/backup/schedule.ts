/**
 * Scheduled DTR backups on the replica hosts: every host gets a systemd timer (or a cron.d entry where systemd does not
 * run) that runs the very pipeline `dtrBackupScript` builds. A run backs up only on the host whose replica is the first
 * healthy one in preference order, so exactly one host takes each scheduled backup and another takes over when it is
 * down. Secrets reach the host through SSH's environment and are kept in a root-only env file, never in command text.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { SECRET_ENV } from "../dtr-cli/commands";
import { USERNAME_ENV } from "../dtr-cli/api";
import { shellJoin, shellQuote } from "../dtr-cli/shell";
import { AGENT_ENV, BackupTarget, STACK_CONFIG_ENV, agentRun, dtrBackupScript } from "./scripts";
import { agentEnvironment } from "./agent-env";
import { DtrBackupSource } from "./dtr-backup";
import { OWNER_ENV, assertOwner, currentOwner, guarded, required } from "../hosts/ownership";
import { DEFAULT_PATHS, ResolvedSchedule, ScheduleSpec, SchedulePaths, resolvePaths, resolveSchedule } from "./schedule-spec";

// The configuration side, where it has always been importable from.
export * from "./schedule-spec";

/** The environment the runs need, written to the root-only env file at install time. */
export const SCHEDULE_ENV = [USERNAME_ENV, SECRET_ENV.ucpPassword, ...AGENT_ENV, STACK_CONFIG_ENV];

export interface ScheduleHost {
    name: string;
    /** Address the `/_ping` check reaches this host's replica on. */
    address: string;
    replicaId: string;
}

export interface ScheduleScriptArgs {
    /** Unit, cron and file names: `dtr-ha-backup-<unitName>`. */
    unitName: string;
    /** This host. */
    self: string;
    /** Every replica host, in order of preference. */
    hosts: ScheduleHost[];
    httpsPort?: number;
    paths: SchedulePaths;
    schedule: ResolvedSchedule;
    /** `auto`: systemd when it runs on the host (`/run/systemd/system`), else cron. */
    scheduler?: "auto" | "systemd" | "cron";
    /** The pipeline, exactly as `dtrBackupScript` builds it. */
    pipeline: string;
    /**
     * How a host that is not taking the run confirms that the taker did: `listCommand` prints the agent's `list` of this
     * cluster's backups (JSON lines, newest first; `agentListCommand` builds it), polled every `intervalSeconds` until a
     * DTR backup stamped no earlier than this run's start (less `skewSeconds` for clocks that differ) appears, for at
     * most `timeoutSeconds` (keep it below the schedule's period: the run holds the lock meanwhile).
     */
    confirm: { listCommand: string; timeoutSeconds: number; intervalSeconds: number; skewSeconds?: number };
}

/** The agent's `list` of one cluster's backups, as the runner's confirmation polls it (values quoted, from config). */
export function agentListCommand(t: { agentImage: string; bucket: string; prefix?: string; cluster: string }): string {
    return shellJoin([
        ...agentRun(t.agentImage, false, false),
        "list",
        "--bucket",
        t.bucket,
        ...(t.prefix ? ["--prefix", t.prefix] : []),
        "--cluster",
        t.cluster,
    ]);
}

/** Exit status of a run that found another run of the same schedule still going (EX_TEMPFAIL): no backup this time. */
export const EXIT_ALREADY_RUNNING = 75;

export function fileNames(a: { unitName: string; paths: SchedulePaths }) {
    const base = `dtr-ha-backup-${a.unitName}`;
    return {
        base,
        runner: `${a.paths.installDir}/${base}`,
        pipeline: `${a.paths.installDir}/${base}-pipeline`,
        env: `${a.paths.envDir}/${base}.env`,
        service: `${a.paths.unitDir}/${base}.service`,
        timer: `${a.paths.unitDir}/${base}.timer`,
        cron: `${a.paths.cronDir}/${base}`,
    };
}

function assertUnitName(n: string): void {
    // cron.d ignores file names with dots; systemd unit names must be plain.
    if (!/^[A-Za-z0-9_-]{1,60}$/.test(n))
        throw new Error(`schedule unit name ${JSON.stringify(n)}: use letters, digits, _ and - (it names the timer and the cron.d file)`);
}

/** A whole number of seconds within [lo, hi], or a clear error naming the setting. */
function seconds(name: string, v: number | undefined, lo: number, hi: number): number {
    if (v === undefined || !Number.isInteger(v) || v < lo || v > hi)
        throw new Error(`schedule ${name}=${JSON.stringify(v)}: give whole seconds from ${lo} to ${hi}`);
    return v;
}

/**
 * What the timer runs: the lock, the turn check, the pipeline (or the confirmation that the taker backed up), one
 * outcome line.
 *
 * - The lock (`flock -n` on `<log dir>/<base>.lock`) keeps two runs on one host from overlapping (a slow backup and the
 *   next cron slot, or a manual run). The second run logs `SKIPPED already running` and exits 75: it took no backup,
 *   and a non-zero status makes a run stuck for several periods visible (systemd marks the unit failed) instead of
 *   every later slot quietly succeeding.
 * - A host that is not the taker (the first healthy replica in preference order) does not just exit 0: every host could
 *   decide so (a flapping replica seen differently, a taker whose timer never fires), and then no backup is taken and
 *   nothing fails. It polls the bucket until a DTR backup of this cluster stamped at or after this run's start (less the
 *   allowed clock skew) is listed, then logs `SKIPPED not my turn`; otherwise it logs FAILED naming the taker and exits
 *   1. So a slot in which no host backed up is reported by every host that deferred and can read the bucket. A host
 *   whose listing fails (no S3 access, no engine) logs a WARNING line and skips: it could not have backed up either,
 *   and the taker's run reports its own outcome.
 */
export function runnerScript(a: ScheduleScriptArgs): string {
    assertUnitName(a.unitName);
    if (!a.hosts.some((h) => h.name === a.self)) throw new Error(`schedule: host ${a.self} is not among the replica hosts`);
    const f = fileNames(a);
    const port = a.httpsPort ?? 443;
    for (const h of a.hosts)
        if (!/^[A-Za-z0-9_.-]+$/.test(h.name) || !/^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(h.address))
            throw new Error(
                `schedule: host ${JSON.stringify(h.name)} at ${JSON.stringify(h.address)}: give a plain name and an IP or DNS name`,
            );
    const entries = a.hosts.map((h) => shellQuote(`${h.name} ${h.address}`)).join(" ");
    const timeout = seconds("confirm.timeoutSeconds", a.confirm?.timeoutSeconds, 1, 86400);
    const interval = seconds("confirm.intervalSeconds", a.confirm?.intervalSeconds, 1, 3600);
    const skew = seconds("confirm.skewSeconds", a.confirm?.skewSeconds ?? 600, 0, 86400);
    if (!a.confirm.listCommand || a.confirm.listCommand.includes("\n"))
        throw new Error("schedule confirm.listCommand: give one command line (agentListCommand builds it)");
    return [
        "#!/bin/sh",
        `# dtr-ha scheduled DTR backup (${f.base}) on ${a.self}. Installed by Pulumi: local edits are overwritten.`,
        // No pathname expansion: the host entries below are split into words on purpose, never globbed.
        "set -u -f",
        "umask 077",
        `log=${shellQuote(a.paths.logFile)}`,
        `lock=${shellQuote(lockFile(a))}`,
        `envfile=${shellQuote(f.env)}`,
        `pipeline=${shellQuote(f.pipeline)}`,
        `self=${shellQuote(a.self)}`,
        // One line per run, in the log file and (where present) syslog.
        'note() { line="dtr-ha-backup $(date -u +%Y-%m-%dT%H:%M:%SZ) $*"; echo "$line" >> "$log"; echo "$line" >&2; if command -v logger >/dev/null 2>&1; then logger -t dtr-ha-backup -- "$line" || true; fi; }',
        // One run at a time on this host: the lock is held by fd 9 until this shell exits (children get it closed).
        'command -v flock >/dev/null 2>&1 || { note "FAILED flock (util-linux) is not installed: runs could overlap; install util-linux"; exit 1; }',
        'exec 9>>"$lock" || { note "FAILED cannot open the lock file $lock"; exit 1; }',
        `flock -n 9 || { note "SKIPPED already running: another run holds $lock; no backup by this run"; exit ${EXIT_ALREADY_RUNNING}; }`,
        "started=$(date -u +%s)",
        '[ -r "$envfile" ] || { note "FAILED the environment file $envfile is missing (run pulumi up to reinstall)"; exit 1; }',
        "set -a",
        "# shellcheck source=/dev/null",
        '. "$envfile"',
        "set +a",
        // The first healthy replica in preference order takes the backup; every host decides the same way.
        "taker=''",
        "# shellcheck disable=SC2041,SC2086 # each entry is one quoted word 'name address', split on purpose",
        `for entry in ${entries}; do`,
        "  set -- $entry",
        `  code=$(curl -sS --insecure --max-time 10 -o /dev/null -w '%{http_code}' "https://$2:${port}/_ping" 2>/dev/null 9>&-) || code=unreachable`,
        '  if [ "$code" = 200 ]; then taker=$1; break; fi',
        '  echo "dtr-ha-backup: replica on $1 ($2) is not healthy (/_ping: $code)" >&2',
        "done",
        'if [ -z "$taker" ]; then note "FAILED no healthy replica to back up from"; exit 1; fi',
        "errf=$(mktemp); trap 'rm -f \"$errf\"' EXIT",
        'if [ "$taker" != "$self" ]; then',
        // Stamps, to the second (YYYYMMDDTHHMMSS), compare as numbers once the T is dropped.
        `  since=$(date -u -d "@$((started - ${skew}))" +%Y%m%d%H%M%S) || { note "FAILED date -d @seconds is not supported here"; exit 1; }`,
        `  deadline=$((started + ${timeout}))`,
        "  newest=''",
        "  while :; do",
        `    listed=$( (${a.confirm.listCommand}) 2>"$errf" 9>&-); lrc=$?`,
        // A listing that fails cannot confirm anything (this host cannot reach the bucket or run the agent, so it
        // could not back up either): said in the log, then the skip; the taker's own run reports its outcome.
        '    if [ "$lrc" != 0 ]; then',
        '      note "WARNING cannot confirm that $taker backed up: listing the bucket failed (exit $lrc): $(tail -n 1 "$errf")"',
        '      note "SKIPPED not my turn: $taker is healthy"; exit 0',
        "    fi",
        // The agent's stamp is YYYYMMDDTHHMMSSmmmZ-<nonce> (older agents: YYYYMMDDTHHMMSSZ); the first 15 characters
        // (to the second) are what is compared.
        `    newest=$(printf '%s\\n' "$listed" | sed -n 's/^{"manifestKey":"[^"]*\\/\\([0-9]\\{8\\}T[0-9]\\{6\\}\\)[0-9]\\{0,3\\}Z\\(-[0-9a-f]\\{8\\}\\)\\{0,1\\}-dtr\\.manifest\\.json".*/\\1/p' | head -n 1)`,
        `    n=$(printf '%s' "$newest" | tr -d TZ)`,
        '    if [ -n "$n" ] && [ "$n" -ge "$since" ]; then',
        '      echo "dtr-ha-backup: $taker took DTR backup $newest" >&2',
        '      note "SKIPPED not my turn: $taker is healthy"; exit 0',
        "    fi",
        '    [ "$(date -u +%s)" -lt "$deadline" ] || break',
        `    sleep ${interval}`,
        "  done",
        `  note "FAILED not my turn, but $taker (healthy) took no DTR backup within ${timeout}s: the newest listed is \${newest:-none}"`,
        "  exit 1",
        "fi",
        'out=$(sh "$pipeline" 2>"$errf" 9>&-); rc=$?',
        'cat "$errf" >&2',
        `key=$(printf '%s\\n' "$out" | sed -n 's/^{"manifestKey":"\\([^"]*\\)".*/\\1/p' | tail -n 1)`,
        'if [ "$rc" = 0 ] && [ -n "$key" ]; then note "OK $key"; exit 0; fi',
        `reason=$(grep FAILED "$errf" | tail -n 1 | sed 's/^.*FAILED:\\{0,1\\} *//')`,
        'note "FAILED ${reason:-the backup pipeline printed no manifest} (exit $rc)"',
        "exit 1",
    ].join("\n");
}

/** The run lock: beside the log file, one per schedule. */
export function lockFile(a: { unitName: string; paths: SchedulePaths }): string {
    return `${a.paths.logFile.replace(/\/[^/]*$/, "") || ""}/${fileNames(a).base}.lock`;
}

export function serviceUnit(a: ScheduleScriptArgs): string {
    const f = fileNames(a);
    return [
        "[Unit]",
        `Description=dtr-ha DTR backup ${a.unitName} (runs on the first healthy replica's host)`,
        "Wants=network-online.target",
        "After=network-online.target docker.service",
        "",
        "[Service]",
        "Type=oneshot",
        `ExecStart=${f.runner}`,
        "",
    ].join("\n");
}

export function timerUnit(a: ScheduleScriptArgs): string {
    if (!a.schedule.onCalendar) throw new Error(`schedule ${a.unitName}: no OnCalendar form of cron ${JSON.stringify(a.schedule.cron)}`);
    return [
        "[Unit]",
        `Description=dtr-ha DTR backup ${a.unitName} schedule`,
        "",
        "[Timer]",
        `OnCalendar=${a.schedule.onCalendar}`,
        // A run missed while the host was off happens at boot.
        "Persistent=true",
        "",
        "[Install]",
        "WantedBy=timers.target",
        "",
    ].join("\n");
}

export function cronFile(a: ScheduleScriptArgs): string {
    if (!a.schedule.cron) throw new Error(`schedule ${a.unitName}: no cron form of OnCalendar ${JSON.stringify(a.schedule.onCalendar)}`);
    const f = fileNames(a);
    return [
        `# dtr-ha scheduled DTR backup ${a.unitName}. Installed by Pulumi: local edits are overwritten.`,
        "SHELL=/bin/sh",
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        // The one-line outcome is in the log file; the pipeline's detail goes beside it.
        `${a.schedule.cron} root ${f.runner} >/dev/null 2>>${a.paths.logFile}.detail`,
        "",
    ].join("\n");
}

const EOF = "DTR_HA_SCHEDULE_EOF";

function writeFile(path: string, text: string, mode: string): string[] {
    if (text.split("\n").includes(EOF)) throw new Error(`internal: ${path} contains the here-document delimiter`);
    // The here-document adds the final newline itself.
    return [
        `cat > ${shellQuote(path + ".tmp")} <<'${EOF}'`,
        text.replace(/\n$/, ""),
        EOF,
        `chmod ${mode} ${shellQuote(path + ".tmp")} && mv -f ${shellQuote(path + ".tmp")} ${shellQuote(path)} || exit 1`,
    ];
}

/**
 * Installs the env file (from this shell's environment), the pipeline, the runner, and a timer or a cron entry.
 * Secrets are read from the environment by the shell itself (builtins), never put in any argv.
 */
export function installScript(a: ScheduleScriptArgs): string {
    const f = fileNames(a);
    const scheduler = a.scheduler ?? "auto";
    const useSystemd = scheduler === "systemd" ? "true" : scheduler === "cron" ? "false" : "[ -d /run/systemd/system ]";
    const d = a.paths;
    const systemdDefault = d.unitDir === DEFAULT_PATHS.unitDir;
    const unitRefs = systemdDefault ? `${f.base}.timer` : shellQuote(f.timer);
    const noCron = `OnCalendar=${a.schedule.onCalendar} has no cron equivalent (cron has no time zone, year, seconds or ~ day) and systemd does not run on $(hostname); set backup.schedule.cron instead`;
    const noTimer = `cron ${a.schedule.cron} has no systemd OnCalendar equivalent; set backup.schedule.onCalendar instead`;
    return [
        "set -u",
        "umask 077",
        // The scheduler this host will use must be able to say the schedule: checked before anything is written.
        ...(a.schedule.onCalendar && a.schedule.cron
            ? []
            : [
                  `if ${useSystemd}; then`,
                  a.schedule.onCalendar ? "  :" : `  echo "dtr-ha schedule FAILED: ${noTimer}; nothing installed" >&2; exit 1`,
                  "else",
                  a.schedule.cron ? "  :" : `  echo "dtr-ha schedule FAILED: ${noCron}; nothing installed" >&2; exit 1`,
                  "fi",
              ]),
        `for v in ${USERNAME_ENV} ${SECRET_ENV.ucpPassword} AWS_REGION; do`,
        '  eval "isset=\\${$v+x}"',
        '  [ -n "$isset" ] || { echo "dtr-ha schedule FAILED: $v is not in the environment (does sshd AcceptEnv it?); nothing installed" >&2; exit 1; }',
        "done",
        `mkdir -p ${[d.installDir, d.envDir, d.logFile.replace(/\/[^/]*$/, "") || "/"].map(shellQuote).join(" ")} || exit 1`,
        `tmp=${shellQuote(f.env + ".tmp")}`,
        ': > "$tmp" || exit 1',
        "val=''",
        `for v in ${SCHEDULE_ENV.join(" ")}; do`,
        '  eval "isset=\\${$v+x}"',
        '  [ -n "$isset" ] || continue',
        '  eval "val=\\$$v"',
        // printf is a builtin in every shell we target: the value never becomes a process argument.
        `  printf "%s='%s'\\n" "$v" "$(printf '%s' "$val" | sed "s/'/'\\\\\\\\''/g")" >> "$tmp" || exit 1`,
        "done",
        `chmod 600 "$tmp" && mv -f "$tmp" ${shellQuote(f.env)} || exit 1`,
        ...writeFile(f.pipeline, a.pipeline, "700"),
        ...writeFile(f.runner, runnerScript(a), "700"),
        `if ${useSystemd}; then`,
        ...(a.schedule.onCalendar
            ? [
                  `  mkdir -p ${shellQuote(d.unitDir)} || exit 1`,
                  ...writeFile(f.service, serviceUnit(a), "644"),
                  ...writeFile(f.timer, timerUnit(a), "644"),
                  `  rm -f ${shellQuote(f.cron)}`,
                  ...(systemdDefault ? [] : [`  systemctl link ${shellQuote(f.service)} ${shellQuote(f.timer)} >/dev/null || exit 1`]),
                  "  systemctl daemon-reload || exit 1",
                  `  systemctl enable --now ${unitRefs} || exit 1`,
                  `  echo "dtr-ha schedule: systemd timer ${f.base}.timer installed on $(hostname) (OnCalendar=${a.schedule.onCalendar})"`,
              ]
            : [`  echo "dtr-ha schedule FAILED: ${noTimer}" >&2; exit 1`]),
        "else",
        ...(a.schedule.cron
            ? [
                  `  mkdir -p ${shellQuote(d.cronDir)} || exit 1`,
                  ...writeFile(f.cron, cronFile(a), "644"),
                  `  rm -f ${shellQuote(f.service)} ${shellQuote(f.timer)}`,
                  `  echo "dtr-ha schedule: cron entry ${f.cron} installed on $(hostname) (${a.schedule.cron})"`,
              ]
            : [`  echo "dtr-ha schedule FAILED: ${noCron}" >&2; exit 1`]),
        "fi",
    ].join("\n");
}

/** Removes the timer or cron entry, the scripts and the env file (the log file stays: it is the history). */
export function uninstallScript(a: Pick<ScheduleScriptArgs, "unitName" | "paths">): string {
    assertUnitName(a.unitName);
    const f = fileNames(a);
    return [
        "set -u",
        `if [ -e ${shellQuote(f.timer)} ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then`,
        `  systemctl disable --now ${f.base}.timer >/dev/null 2>&1 || true`,
        "fi",
        `rm -f ${[f.timer, f.service, f.cron, f.runner, f.pipeline, f.env, f.env + ".tmp"].map(shellQuote).join(" ")} || exit 1`,
        `if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then systemctl daemon-reload || true; fi`,
        `echo "dtr-ha schedule: ${f.base} removed from $(hostname)"`,
    ].join("\n");
}

export interface BackupScheduleArgs extends DtrBackupSource {
    /** Their replica ids, in the same order as `hosts`. */
    replicaIds: pulumi.Input<pulumi.Input<string>[]>;
    schedule: ScheduleSpec;
    /** How long scheduled backups are kept (Object Lock days); the policy pack checks the bucket against it. */
    retentionDays: number;
    paths?: Partial<SchedulePaths>;
    scheduler?: "auto" | "systemd" | "cron";
    /** How long a host that defers waits for the taker's backup to be listed (default 3600; below the period). */
    confirmTimeoutSeconds?: number;
    /** How often it lists the bucket meanwhile (default 60). */
    confirmIntervalSeconds?: number;
    /**
     * The stack that owns the cluster's replicas (default: this program's stack). The schedule is installed only on
     * hosts whose replica that stack owns, and uninstalled only from those: after a rebuild, the old stack's destroy
     * leaves the new stack's timers alone (components/hosts/sh/ownership.sh).
     */
    owner?: string;
}

/** A backup timer on every replica host, running the same pipeline as `DtrBackup`. */
export class BackupSchedule extends pulumi.ComponentResource {
    public readonly schedule: ResolvedSchedule;
    public readonly retentionDays: number;
    public readonly hosts: string[];
    public readonly commands: command.remote.Command[];

    constructor(name: string, args: BackupScheduleArgs, opts?: pulumi.ComponentResourceOptions) {
        const schedule = resolveSchedule(args.schedule);
        if (!Number.isInteger(args.retentionDays) || args.retentionDays < 1) {
            throw new Error(`backup.retentionDays=${JSON.stringify(args.retentionDays)} must be a whole number of days >= 1`);
        }
        assertUnitName(args.clusterName);
        const hostNames = args.hosts.map((h) => h.name);
        super("dtr-ha:index:DtrBackupSchedule", name, { retentionDays: args.retentionDays, schedule, hosts: hostNames }, opts);
        const paths = args.hosts.map((h) => resolvePaths(h.name, args.paths));
        const entries = pulumi
            .all([pulumi.output(args.replicaIds), pulumi.all(args.hosts.map((h) => h.privateAddress))])
            .apply(([ids, addresses]) => {
                if (ids.length !== args.hosts.length) throw new Error("BackupSchedule: hosts and replicaIds must pair up");
                return args.hosts.map((h, i) => ({ name: h.name, address: addresses[i], replicaId: ids[i] }));
            });
        const pipeline = pulumi.all([entries, pulumi.output(args.target) as pulumi.Output<BackupTarget>]).apply(([e, target]) =>
            dtrBackupScript({
                image: args.image,
                ucp: args.ucp,
                run: args.run,
                candidates: e.map((x) => ({ id: x.replicaId, address: x.address })),
                httpsPort: args.httpsPort,
                cluster: args.clusterName,
                sourceStack: args.sourceStack,
                target,
            }),
        );
        const environment = {
            ...agentEnvironment(args.s3),
            [SECRET_ENV.ucpPassword]: pulumi.secret(args.ucpPassword),
            [USERNAME_ENV]: args.ucp.username,
            ...(args.stackConfig !== undefined ? { [STACK_CONFIG_ENV]: args.stackConfig } : {}),
        };
        const owner = assertOwner(args.owner ?? currentOwner());
        this.commands = args.hosts.map((h, i) => {
            const target = pulumi.output(args.target) as pulumi.Output<BackupTarget>;
            const scriptArgs = pulumi.all([entries, pipeline, target]).apply(([e, p, t]): ScheduleScriptArgs => ({
                unitName: args.clusterName,
                self: h.name,
                hosts: e,
                httpsPort: args.httpsPort,
                paths: paths[i],
                schedule,
                scheduler: args.scheduler,
                pipeline: p,
                confirm: {
                    listCommand: agentListCommand({ ...t, cluster: args.clusterName }),
                    timeoutSeconds: args.confirmTimeoutSeconds ?? 3600,
                    intervalSeconds: args.confirmIntervalSeconds ?? 60,
                },
            }));
            return new command.remote.Command(
                `${name}-${h.name}`,
                {
                    connection: h.connection,
                    environment: {
                        ...environment,
                        [OWNER_ENV.owner]: owner,
                        [OWNER_ENV.replicaId]: entries.apply((e) => e[i].replicaId),
                    },
                    create: scriptArgs.apply((a) => required(installScript(a))),
                    // Any change to what is installed reinstalls it (create runs again on update).
                    update: scriptArgs.apply((a) => required(installScript(a))),
                    delete: guarded(uninstallScript({ unitName: args.clusterName, paths: paths[i] })),
                    addPreviousOutputInEnv: false,
                },
                { parent: this, dependsOn: h.ready },
            );
        });
        this.schedule = schedule;
        this.retentionDays = args.retentionDays;
        this.hosts = hostNames;
        this.registerOutputs({ retentionDays: this.retentionDays, schedule: this.schedule, hosts: this.hosts });
    }
}

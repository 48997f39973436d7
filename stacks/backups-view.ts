/**
 * What `npm run backups` shows, as plain functions (no I/O): sizes and ages a person reads at a glance, the catalog
 * table, one backup described field by field, the scheduled runs' log lines from the hosts, which new manifest a
 * `create` made, and which resources of a stack's state a `create` runs. Tested directly (tests/unit/backups-view.test.ts).
 */
import type { BrokenEntry, CatalogEntry } from "./catalog";
import type { StackConfig } from "../components/config/stack-config";
import { resolvePaths } from "../components/backup/schedule-spec";
import type { SshHost } from "./host-ssh";

/** 0 B, 999 B, 1.0 KiB, 12.3 MiB, 1.20 GiB: binary units, three significant figures. */
export function humanBytes(n: number): string {
    if (!Number.isFinite(n) || n < 0) return "?";
    const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let i = 0;
    let v = n;
    while (v >= 1024 && i < units.length - 1) {
        v /= 1024;
        i++;
    }
    if (i === 0) return `${n} B`;
    return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${units[i]}`;
}

/** A duration as a person says it: 42s, 7m05s, 3h12m, 2d04h. Negative durations read as 0s. */
export function humanDuration(ms: number): string {
    const s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) return `${s}s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
    const h = Math.floor(m / 60);
    if (h < 24) return `${h}h${String(m % 60).padStart(2, "0")}m`;
    return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, "0")}h`;
}

/** `2026-11-30 04:01:02Z`: an instant without the milliseconds, readable in a table. */
export function shortTime(iso: string): string {
    const t = Date.parse(iso);
    return Number.isNaN(t)
        ? iso
        : new Date(t)
              .toISOString()
              .replace("T", " ")
              .replace(/\.\d{3}Z$/, "Z");
}

/** How old `iso` is at `now`. */
export function age(iso: string | null | undefined, now: Date): string {
    if (!iso || Number.isNaN(Date.parse(iso))) return "-";
    return humanDuration(now.getTime() - Date.parse(iso));
}

/** Object Lock retention: `GOVERNANCE until 2026-12-01 04:00:00Z (in 23h59m)`, `... (expired 2h00m ago)`, or why none. */
export function retentionText(lock: CatalogEntry["objectLock"], now: Date): string {
    if (lock === undefined) return "unknown (the backup agent reports no lock: update it)";
    if (lock === null) return "none reported (no retention on the object, or no s3:GetObjectRetention to read it)";
    const until = Date.parse(lock.retainUntil);
    const rel =
        until > now.getTime() ? `in ${humanDuration(until - now.getTime())}` : `expired ${humanDuration(now.getTime() - until)} ago`;
    return `${lock.mode} until ${shortTime(lock.retainUntil)} (${rel})`;
}

/** The table's short form of the retention: `in 23h59m`, `expired`, `-`. */
function retentionCell(lock: CatalogEntry["objectLock"], now: Date): string {
    if (!lock) return "-";
    const until = Date.parse(lock.retainUntil);
    return until > now.getTime() ? `${shortTime(lock.retainUntil).slice(0, 16)}Z` : "expired";
}

/** The last recorded verification: `OK 3m05s ago`, `FAILED 1h02m ago`, `never`, `-` (not read). */
export function verifiedText(v: CatalogEntry["verification"], now: Date, long = false): string {
    if (v === undefined) return "-";
    if (v === null) return long ? "never recorded (npm run backups -- --stack <stack> verify <manifest> records it)" : "never";
    const what = v.ok ? (v.contentChecked ? "OK" : "OK (stored bytes only)") : "FAILED";
    const when = `${age(v.verifiedAt, now)} ago`;
    if (!long) return `${what} ${when}`;
    return `${what} at ${shortTime(v.verifiedAt)} (${when})${v.ok ? "" : `: ${v.error ?? "no reason recorded"}`}`;
}

/** The catalog as a table, newest first (the agent's order), then the refused manifests with the reason. */
export function listLines(
    c: { entries: CatalogEntry[]; broken: BrokenEntry[] },
    where: { cluster: string; bucket: string; prefix: string },
    now: Date,
): string[] {
    const rows = c.entries.map((e) => [
        shortTime(e.storedAt),
        age(e.storedAt, now),
        e.manifest.kind,
        humanBytes(e.manifest.object.bytes),
        retentionCell(e.objectLock, now),
        verifiedText(e.verification, now),
        e.manifest.meta.replicaId ?? "-",
        e.manifest.meta.dtrVersion ?? "-",
        e.manifest.content.encryption ? "age" : "no",
        e.manifestKey,
    ]);
    const head = ["STORED", "AGE", "KIND", "SIZE", "RETAIN UNTIL", "VERIFIED", "REPLICA", "DTR", "ENCRYPTED", "MANIFEST"];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (r: string[]) =>
        r
            .map((x, i) => (i === r.length - 1 ? x : i === 3 ? x.padStart(widths[i]) : x.padEnd(widths[i])))
            .join("  ")
            .trimEnd();
    const out = [`${c.entries.length} backup(s) of cluster ${where.cluster} in s3://${where.bucket}/${where.prefix}`];
    if (c.entries.length > 0) out.push(line(head), ...rows.map(line));
    if (c.broken.length > 0) {
        out.push(`${c.broken.length} manifest(s) refused (never used by rebuild --from latest):`);
        for (const b of c.broken) out.push(`BROKEN  ${b.brokenManifestKey}: ${b.reason}`);
    }
    return out;
}

/** Every field of one backup a person needs before trusting or restoring it. */
export function describeLines(e: CatalogEntry, now: Date): string[] {
    const m = e.manifest;
    const meta = m.meta;
    const field = (k: string, v: string) => `  ${k.padEnd(18)} ${v}`;
    const inventory =
        meta.inventoryRepositories !== undefined
            ? `${meta.inventoryRepositories} repositories, ${meta.inventoryTags} tags, ${meta.inventoryTeamAccess} team grants (SHA-256 ${meta.inventorySha256 ?? "-"})`
            : "none recorded (the backup could not read DTR's API; a restore cannot prove its inventory)";
    const content = m.content;
    const extraMeta = Object.entries(meta).filter(
        ([k]) =>
            !["dtrVersion", "replicaId", "inventoryRepositories", "inventoryTags", "inventoryTeamAccess", "inventorySha256"].includes(k),
    );
    const enc = m.content.encryption as { scheme: string; recipients: string[] } | null;
    return [
        `Backup ${e.manifestKey}`,
        field("kind", m.kind),
        field("cluster", m.cluster),
        field("source stack", m.sourceStack ?? "-"),
        field("created", `${shortTime(m.createdAt)} (host clock; ${age(m.createdAt, now)} ago)`),
        field("stored", `${shortTime(e.storedAt)} (the store's clock; ${age(e.storedAt, now)} ago: the catalog's order)`),
        field("source replica", meta.replicaId ?? "-"),
        field("DTR version", meta.dtrVersion ?? "-"),
        field("object", `s3://${m.object.bucket ?? "?"}/${m.object.key}`),
        field("object version", m.object.versionId ?? "none (unversioned bucket: nothing pins these bytes)"),
        field("stored size", `${humanBytes(m.object.bytes)} (${m.object.bytes} bytes)`),
        field("stored SHA-256", m.object.sha256),
        field("tar size", `${humanBytes(m.content.tarBytes)} (${m.content.tarBytes} bytes, ${m.content.entries} entries)`),
        field("tar SHA-256", content.tarSha256 ?? "-"),
        field("compression", content.compression ?? "-"),
        field(
            "encryption",
            enc ? `${enc.scheme} to ${enc.recipients.join(", ")}` : "none (client-side); the bucket's own encryption applies",
        ),
        field("retention", retentionText(e.objectLock, now)),
        field("verified", verifiedText(e.verification, now, true)),
        field("inventory", inventory),
        ...extraMeta.map(([k, v]) => field(`meta ${k}`, v)),
        ...(content.files && content.files.length > 0
            ? [field("first entries", content.files.slice(0, 5).join(", ") + (content.files.length > 5 ? ", ..." : ""))]
            : []),
    ];
}

/** One outcome line a scheduled run appends on a host (`note` in components/backup/schedule.ts). */
export interface RunLine {
    at: string;
    status: "OK" | "FAILED" | "SKIPPED" | "WARNING";
    /** The rest of the line: the manifest key for OK, the reason otherwise. */
    text: string;
}

const RUN_LINE = /^dtr-ha-backup (\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z) (OK|FAILED|SKIPPED|WARNING) ?(.*)$/;

/** A log line of a scheduled run, or null for anything else (the `.detail` file's pipeline chatter, blank lines). */
export function parseRunLine(line: string): RunLine | null {
    const m = RUN_LINE.exec(line.trim());
    return m ? { at: m[1], status: m[2] as RunLine["status"], text: m[3] } : null;
}

/** What reading one host's log gave: its lines, or why it could not be read. */
export interface HostLog {
    host: string;
    lines?: string[];
    /** The log file does not exist yet (no run on that host so far). */
    missing?: boolean;
    error?: string;
}

/**
 * The runs of every host, oldest first, each line prefixed by its host; by default the outcomes that matter (OK,
 * FAILED, WARNING), with `all` also the hosts that skipped their turn. Ends with a summary: the last OK and the last
 * FAILED, and the hosts that could not be read.
 */
export function logsLines(logs: HostLog[], o: { all: boolean; now: Date; tail?: number }): { lines: string[]; unreadable: string[] } {
    const runs: (RunLine & { host: string })[] = [];
    for (const l of logs)
        for (const line of l.lines ?? []) {
            const r = parseRunLine(line);
            if (r && (o.all || r.status !== "SKIPPED")) runs.push({ ...r, host: l.host });
        }
    runs.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.host < b.host ? -1 : 1));
    const shown = o.tail !== undefined ? runs.slice(-o.tail) : runs;
    const width = Math.max(4, ...logs.map((l) => l.host.length));
    const lines = shown.map((r) => `${shortTime(r.at)}  ${r.host.padEnd(width)}  ${r.status.padEnd(7)}  ${r.text}`.trimEnd());
    const last = (s: RunLine["status"]) => [...runs].reverse().find((r) => r.status === s);
    const ok = last("OK");
    const failed = last("FAILED");
    lines.push(
        "",
        `${shown.length} run line(s) from ${logs.length - logs.filter((l) => l.error).length} of ${logs.length} host(s)${o.all ? "" : " (not-my-turn skips hidden: --all shows them)"}`,
        ok ? `last OK:     ${shortTime(ok.at)} on ${ok.host} (${age(ok.at, o.now)} ago): ${ok.text}` : "last OK:     none in these logs",
        failed
            ? `last FAILED: ${shortTime(failed.at)} on ${failed.host} (${age(failed.at, o.now)} ago): ${failed.text}`
            : "last FAILED: none in these logs",
    );
    for (const l of logs) if (l.missing) lines.push(`${l.host}: no log yet (no scheduled run on this host so far)`);
    const unreadable = logs.filter((l) => l.error).map((l) => `${l.host}: could not read its log: ${l.error}`);
    lines.push(...unreadable);
    return { lines, unreadable };
}

/**
 * The backup a `create` made: the newest DTR manifest of this stack that was not in the catalog before the create
 * (`before`: its manifest keys then). Null while there is none. Keys, not clocks: a store whose clock differs from this
 * machine's cannot make an older backup look new.
 */
export function newBackup(entries: CatalogEntry[], o: { before: ReadonlySet<string>; sourceStack: string }): CatalogEntry | null {
    return (
        entries.find((e) => e.manifest.kind === "dtr" && e.manifest.sourceStack === o.sourceStack && !o.before.has(e.manifestKey)) ?? null
    );
}

/** The `backup.trigger` a create sets: unique, and saying what set it and when. */
export function createTrigger(now: Date): string {
    return `backups-create-${now.toISOString()}`;
}

/** A resource of an exported stack state (`stack.exportStack()`), as far as `create` reads it. */
export interface StateResource {
    urn: string;
    type: string;
    parent?: string;
}

const nameOf = (urn: string) => urn.slice(urn.lastIndexOf("::") + 2);
const BACKUP_COMPONENTS = ["dtr-ha:index:DtrBackup", "dtr-ha:index:SwarmBackup", "dtr-ha:index:UcpBackup"];

/**
 * The resources a `create` runs, by `pulumi up --target`: the stack's ownership check and health check (so a backup is
 * taken only by the stack that owns the replicas, after the same checks a full up makes), and the commands of its
 * backup chain (Swarm, UCP, DTR). Nothing else is touched: pending changes elsewhere wait for the operator's own up.
 * Throws, naming what is missing and the fix, when the state has no such resources.
 */
export function createTargets(resources: StateResource[], stack: string): { targets: string[]; backups: string[] } {
    const typeOf = new Map(resources.map((r) => [r.urn, r.type]));
    const childOf = (r: StateResource, t: string) => r.parent !== undefined && typeOf.get(r.parent) === t;
    const checks = resources.filter(
        (r) => r.type === "command:local:Command" && childOf(r, "dtr-ha:index:DtrCluster") && /-(owners|health)$/.test(nameOf(r.urn)),
    );
    const backups = resources.filter((r) => {
        if (r.type !== "command:remote:Command" || r.parent === undefined) return false;
        const parent = resources.find((p) => p.urn === r.parent);
        return parent !== undefined && BACKUP_COMPONENTS.includes(parent.type) && childOf(parent, "dtr-ha:index:BackupChain");
    });
    const dtr = backups.filter((r) => typeOf.get(r.parent!) === "dtr-ha:index:DtrBackup");
    if (dtr.length !== 1)
        throw new Error(
            dtr.length === 0
                ? `stack ${stack} has no DTR backup in its state: set dtr-ha:backup (bucket, agent image) and run pulumi up once, then backups create`
                : `stack ${stack} has ${dtr.length} DTR backup chains in its state; expected one`,
        );
    for (const suffix of ["owners", "health"])
        if (!checks.some((r) => nameOf(r.urn).endsWith(`-${suffix}`)))
            throw new Error(
                `stack ${stack} has no ${suffix === "owners" ? "ownership check" : "health check"} (<cluster>-${suffix}) in its state: run pulumi up once with this version of dtr-ha, then backups create`,
            );
    return { targets: [...checks, ...backups].map((r) => r.urn), backups: backups.map((r) => r.urn) };
}

/**
 * Where `logs` reads: each replica host (SSH address, pinned host key) and its schedule log file. Throws, naming the
 * key and the fix, when the stack has no schedule (there are no scheduled runs to read) or its hosts are not listed in
 * the configuration.
 */
export function logTargets(c: StackConfig, stack: string): { host: SshHost; logFile: string }[] {
    if (!c.backup?.schedule)
        throw new Error(
            `stack ${stack}: dtr-ha:backup.schedule is not set, so its hosts run no scheduled backups and keep no run log; set it (e.g. {"onCalendar":"daily"}) and run pulumi up, or use backups create for a backup now`,
        );
    if (c.hosts.mode !== "existing")
        throw new Error(
            `stack ${stack}: dtr-ha:hosts.mode = ${JSON.stringify(c.hosts.mode)}: logs reads the hosts listed in hosts.existing; on AWS hosts read ${resolvePaths("host", c.backup.schedulePaths).logFile} (or journalctl -t dtr-ha-backup) on each instance`,
        );
    return c.hosts.existing.map((h) => ({
        host: { name: h.name, address: h.address, port: h.port, user: h.user, hostKey: h.hostKey },
        logFile: resolvePaths(h.name, c.backup!.schedulePaths).logFile,
    }));
}

/**
 * The lines of a failed `pulumi up` a person needs: its error lines (the engine's and the backup script's FAILED
 * lines), each cut short, at most `max` of them; not the whole output, where a provider echoes every script it ran.
 */
export function engineErrorLines(message: string, max = 6): string[] {
    const lines = message
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => /\berror\b|FAILED|refused|belongs to stack/i.test(l));
    const unique = [...new Set(lines)].map((l) => (l.length > 300 ? `${l.slice(0, 300)}…` : l));
    return unique.length > max ? [...unique.slice(0, max), `… (${unique.length - max} more; run pulumi up for the whole output)`] : unique;
}

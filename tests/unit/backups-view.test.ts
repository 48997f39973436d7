/** What `npm run backups` shows and picks, as plain functions (stacks/backups-view.ts). */
import * as assert from "assert";
import type { CatalogEntry } from "../../stacks/catalog";
import type { StackConfig } from "../../components/config/stack-config";
import {
    HostLog,
    StateResource,
    createTargets,
    createTrigger,
    describeLines,
    engineErrorLines,
    humanBytes,
    humanDuration,
    listLines,
    logTargets,
    logsLines,
    newBackup,
    parseRunLine,
    retentionText,
    verifiedText,
} from "../../stacks/backups-view";

const NOW = new Date("2026-11-30T12:00:00.000Z");
const key = (n: string, kind = "dtr") => `dtr/manifests/c1/20261130T10000${n}000Z-0000000${n}-${kind}.manifest.json`;

function entry(
    n: string,
    o: { kind?: string; stack?: string; storedAt?: string; bytes?: number; extra?: Partial<CatalogEntry> } = {},
): CatalogEntry {
    const kind = o.kind ?? "dtr";
    return {
        manifestKey: key(n, kind),
        manifest: {
            createdAt: "2026-11-30T09:59:58.000Z",
            cluster: "c1",
            kind,
            sourceStack: o.stack ?? "prod",
            object: {
                bucket: "dtr-backups",
                key: `dtr/objects/c1/${kind}/x${n}.tar.zst`,
                bytes: o.bytes ?? 3_145_728,
                sha256: "a".repeat(64),
                versionId: `v${n}`,
            },
            content: {
                encryption: { scheme: "age", recipients: ["age1qqqqqqqqqqqqqqqqqqqqqqqqqq"] },
                entries: 12,
                tarBytes: 10_485_760,
                compression: "zstd",
                tarSha256: "b".repeat(64),
                files: ["dtr-backup/manifest.json"],
            },
            meta: {
                dtrVersion: "2.9.16",
                replicaId: "0123456789ab",
                inventoryRepositories: "4",
                inventoryTags: "7",
                inventoryTeamAccess: "3",
                inventorySha256: "c".repeat(64),
            },
        },
        storedAt: o.storedAt ?? "2026-11-30T10:00:00.000Z",
        objectStoredAt: "2026-11-30T09:59:59.000Z",
        objectLock: { mode: "GOVERNANCE", retainUntil: "2026-12-01T10:00:00.000Z" },
        ...o.extra,
    };
}

describe("backups: sizes, ages, retention and verification as a person reads them", () => {
    it("sizes in binary units with three significant figures", () => {
        assert.deepStrictEqual([0, 1023, 1024, 1536, 10 * 2 ** 20, 150 * 2 ** 20, 1.2 * 2 ** 30].map(humanBytes), [
            "0 B",
            "1023 B",
            "1.00 KiB",
            "1.50 KiB",
            "10.0 MiB",
            "150 MiB",
            "1.20 GiB",
        ]);
        assert.strictEqual(humanBytes(-1), "?");
    });
    it("durations: seconds, minutes, hours, days; never negative", () => {
        assert.deepStrictEqual([42_000, 425_000, 3 * 3600_000 + 12 * 60_000, 52 * 3600_000, -5000].map(humanDuration), [
            "42s",
            "7m05s",
            "3h12m",
            "2d04h",
            "0s",
        ]);
    });
    it("retention: mode, until and how long from now; expired; none reported; an agent that reports none", () => {
        assert.strictEqual(
            retentionText({ mode: "GOVERNANCE", retainUntil: "2026-12-01T10:00:00.000Z" }, NOW),
            "GOVERNANCE until 2026-12-01 10:00:00Z (in 22h00m)",
        );
        assert.strictEqual(
            retentionText({ mode: "COMPLIANCE", retainUntil: "2026-11-30T10:00:00.000Z" }, NOW),
            "COMPLIANCE until 2026-11-30 10:00:00Z (expired 2h00m ago)",
        );
        assert.match(retentionText(null, NOW), /^none reported .*GetObjectRetention/);
        assert.match(retentionText(undefined, NOW), /^unknown .*update it/);
    });
    it("verification: never, OK, OK on stored bytes only, FAILED with the reason", () => {
        assert.strictEqual(verifiedText(undefined, NOW), "-");
        assert.strictEqual(verifiedText(null, NOW), "never");
        assert.match(verifiedText(null, NOW, true), /never recorded .*verify <manifest> records it/);
        const at = "2026-11-30T11:56:55.000Z";
        assert.strictEqual(verifiedText({ ok: true, contentChecked: true, verifiedAt: at, error: null }, NOW), "OK 3m05s ago");
        assert.strictEqual(
            verifiedText({ ok: true, contentChecked: false, verifiedAt: at, error: null }, NOW),
            "OK (stored bytes only) 3m05s ago",
        );
        assert.strictEqual(
            verifiedText({ ok: false, contentChecked: true, verifiedAt: at, error: "the stored object has 5 bytes" }, NOW, true),
            "FAILED at 2026-11-30 11:56:55Z (3m05s ago): the stored object has 5 bytes",
        );
    });
});

describe("backups list", () => {
    const where = { cluster: "c1", bucket: "dtr-backups", prefix: "dtr" };
    it("one row per backup in the catalog's order: stored, age, kind, size, retain-until, verified, replica, DTR, encryption, key", () => {
        const a = entry("2", {
            extra: { verification: { ok: true, contentChecked: true, verifiedAt: "2026-11-30T11:00:00.000Z", error: null } },
        });
        const b = entry("1", { bytes: 512, storedAt: "2026-11-29T10:00:00.000Z", extra: { verification: null, objectLock: null } });
        const lines = listLines({ entries: [a, b], broken: [] }, where, NOW);
        assert.strictEqual(lines[0], "2 backup(s) of cluster c1 in s3://dtr-backups/dtr");
        assert.match(lines[1], /^STORED +AGE +KIND +SIZE +RETAIN UNTIL +VERIFIED +REPLICA +DTR +ENCRYPTED +MANIFEST$/);
        assert.match(
            lines[2],
            /^2026-11-30 10:00:00Z +2h00m +dtr +3\.00 MiB +2026-12-01 10:00Z +OK 1h00m ago +0123456789ab +2\.9\.16 +age +dtr\/manifests\/c1\/20261130T100002000Z/,
        );
        assert.match(lines[3], /^2026-11-29 10:00:00Z +1d02h +dtr +512 B +- +never +/);
        // Sizes line up on the right.
        assert.strictEqual(lines[2].indexOf("MiB") + 3, lines[3].indexOf(" B") + 2);
    });
    it("an expired lock reads expired; refused manifests come after, with the reason; an empty catalog has no table", () => {
        const e = entry("1", { extra: { objectLock: { mode: "GOVERNANCE", retainUntil: "2026-11-30T11:00:00.000Z" } } });
        const lines = listLines(
            { entries: [e], broken: [{ brokenManifestKey: key("9"), reason: "its object does not exist", storedAt: null }] },
            where,
            NOW,
        );
        assert.match(lines[2], / expired /);
        assert.deepStrictEqual(lines.slice(3), [
            "1 manifest(s) refused (never used by rebuild --from latest):",
            `BROKEN  ${key("9")}: its object does not exist`,
        ]);
        assert.deepStrictEqual(listLines({ entries: [], broken: [] }, where, NOW), ["0 backup(s) of cluster c1 in s3://dtr-backups/dtr"]);
    });
});

describe("backups describe", () => {
    it("every field a person needs before trusting or restoring a backup", () => {
        const e = entry("3", {
            extra: { verification: { ok: false, contentChecked: true, verifiedAt: "2026-11-30T11:00:00.000Z", error: "sha differs" } },
        });
        const text = describeLines(e, NOW).join("\n");
        for (const [field, value] of [
            ["kind", "dtr"],
            ["source stack", "prod"],
            ["created", "2026-11-30 09:59:58Z (host clock; 2h00m ago)"],
            ["stored", "2026-11-30 10:00:00Z (the store's clock; 2h00m ago"],
            ["source replica", "0123456789ab"],
            ["DTR version", "2.9.16"],
            ["object", "s3://dtr-backups/dtr/objects/c1/dtr/x3.tar.zst"],
            ["object version", "v3"],
            ["stored size", "3.00 MiB (3145728 bytes)"],
            ["stored SHA-256", "a".repeat(64)],
            ["tar size", "10.0 MiB (10485760 bytes, 12 entries)"],
            ["tar SHA-256", "b".repeat(64)],
            ["compression", "zstd"],
            ["encryption", "age to age1qqqqqqqqqqqqqqqqqqqqqqqqqq"],
            ["retention", "GOVERNANCE until 2026-12-01 10:00:00Z (in 22h00m)"],
            ["verified", "FAILED at 2026-11-30 11:00:00Z (1h00m ago): sha differs"],
            ["inventory", `4 repositories, 7 tags, 3 team grants (SHA-256 ${"c".repeat(64)})`],
        ])
            assert.ok(text.includes(`  ${field.padEnd(18)} ${value}`), `${field}: ${value}\n${text}`);
    });
    it("says plainly what is missing: no encryption, no version pin, no inventory", () => {
        const e = entry("4");
        e.manifest.content.encryption = null;
        e.manifest.object.versionId = null;
        e.manifest.meta = { dtrVersion: "2.9.16", replicaId: "0123456789ab", note: "x" };
        const text = describeLines(e, NOW).join("\n");
        assert.match(text, /encryption +none \(client-side\)/);
        assert.match(text, /object version +none \(unversioned bucket: nothing pins these bytes\)/);
        assert.match(text, /inventory +none recorded/);
        assert.match(text, /meta note +x/);
    });
});

describe("backups logs", function () {
    // logTargets loads the schedule module (and with it the Pulumi SDK) on first use: seconds on a busy machine.
    this.timeout(30_000);
    it("reads the runner's outcome lines and nothing else", () => {
        assert.deepStrictEqual(parseRunLine("dtr-ha-backup 2026-11-30T02:30:01Z OK dtr/manifests/c1/x-dtr.manifest.json"), {
            at: "2026-11-30T02:30:01Z",
            status: "OK",
            text: "dtr/manifests/c1/x-dtr.manifest.json",
        });
        assert.deepStrictEqual(parseRunLine("dtr-ha-backup 2026-11-30T02:30:01Z FAILED no healthy replica to back up from"), {
            at: "2026-11-30T02:30:01Z",
            status: "FAILED",
            text: "no healthy replica to back up from",
        });
        assert.strictEqual(parseRunLine("dtr-ha-backup 2026-11-30T02:30:01Z SKIPPED not my turn: host1 is healthy")?.status, "SKIPPED");
        assert.strictEqual(parseRunLine("dtr-ha backup: backing up replica 0123456789ab"), null);
        assert.strictEqual(parseRunLine(""), null);
    });
    it("merges the hosts oldest first, hides skips unless --all, and sums up the last OK and the last FAILED", () => {
        const logs: HostLog[] = [
            {
                host: "host1",
                lines: [
                    "dtr-ha-backup 2026-11-29T02:30:01Z OK dtr/manifests/c1/a-dtr.manifest.json",
                    "dtr-ha-backup 2026-11-30T02:30:01Z FAILED the backup pipeline printed no manifest (exit 1)",
                    "some detail",
                ],
            },
            { host: "host2", lines: ["dtr-ha-backup 2026-11-29T02:30:02Z SKIPPED not my turn: host1 is healthy"] },
            { host: "host3", missing: true },
            { host: "host4", error: "ssh: connect to host 10.0.0.4 port 22: No route to host" },
        ];
        const v = logsLines(logs, { all: false, now: NOW });
        assert.deepStrictEqual(v.lines.slice(0, 2), [
            "2026-11-29 02:30:01Z  host1  OK       dtr/manifests/c1/a-dtr.manifest.json",
            "2026-11-30 02:30:01Z  host1  FAILED   the backup pipeline printed no manifest (exit 1)",
        ]);
        assert.ok(v.lines.includes("2 run line(s) from 3 of 4 host(s) (not-my-turn skips hidden: --all shows them)"), v.lines.join("\n"));
        assert.ok(v.lines.includes("last OK:     2026-11-29 02:30:01Z on host1 (1d09h ago): dtr/manifests/c1/a-dtr.manifest.json"));
        assert.ok(
            v.lines.includes("last FAILED: 2026-11-30 02:30:01Z on host1 (9h29m ago): the backup pipeline printed no manifest (exit 1)"),
        );
        assert.ok(v.lines.includes("host3: no log yet (no scheduled run on this host so far)"));
        assert.deepStrictEqual(v.unreadable, ["host4: could not read its log: ssh: connect to host 10.0.0.4 port 22: No route to host"]);
        const all = logsLines(logs, { all: true, now: NOW });
        assert.strictEqual(all.lines[1], "2026-11-29 02:30:02Z  host2  SKIPPED  not my turn: host1 is healthy");
    });
    it("reads each replica host's own log file over SSH with its pinned key; refuses a stack without a schedule", () => {
        const c = {
            hosts: {
                mode: "existing",
                existing: [
                    { name: "h1", address: "10.0.0.1", port: 2222, user: "ops", zone: "a", hostKey: "ssh-ed25519 AAAA1" },
                    { name: "h2", address: "10.0.0.2", zone: "b", hostKey: "ssh-ed25519 AAAA2" },
                ],
            },
            backup: { schedule: { onCalendar: "daily" }, schedulePaths: { logFile: "/var/tmp/{host}/backup.log" } },
        } as unknown as StackConfig;
        assert.deepStrictEqual(logTargets(c, "prod"), [
            {
                host: { name: "h1", address: "10.0.0.1", port: 2222, user: "ops", hostKey: "ssh-ed25519 AAAA1" },
                logFile: "/var/tmp/h1/backup.log",
            },
            {
                host: { name: "h2", address: "10.0.0.2", port: undefined, user: undefined, hostKey: "ssh-ed25519 AAAA2" },
                logFile: "/var/tmp/h2/backup.log",
            },
        ]);
        const noPaths = { ...c, backup: { schedule: { cron: "30 2 * * *" } } } as unknown as StackConfig;
        assert.strictEqual(logTargets(noPaths, "prod")[0].logFile, "/var/log/dtr-ha-backup.log");
        assert.throws(
            () => logTargets({ ...c, backup: { mode: "s3" } } as unknown as StackConfig, "prod"),
            /stack prod: dtr-ha:backup.schedule is not set, .* set it \(e\.g\. \{"onCalendar":"daily"\}\) and run pulumi up/,
        );
        assert.throws(
            () => logTargets({ ...c, hosts: { mode: "aws" } } as unknown as StackConfig, "prod"),
            /dtr-ha:hosts.mode = "aws": logs reads the hosts listed in hosts.existing/,
        );
    });
});

describe("backups create", () => {
    it("the new backup is the newest DTR manifest of this stack that was not listed before", () => {
        const before = new Set([key("1")]);
        const entries = [entry("4", { kind: "ucp" }), entry("3", { stack: "other" }), entry("2"), entry("1")];
        assert.strictEqual(newBackup(entries, { before, sourceStack: "prod" })?.manifestKey, key("2"));
        assert.strictEqual(newBackup(entries, { before: new Set([key("1"), key("2")]), sourceStack: "prod" }), null);
    });
    it("a trigger that is new each time and says what set it", () => {
        assert.strictEqual(createTrigger(NOW), "backups-create-2026-11-30T12:00:00.000Z");
    });

    const S = "urn:pulumi:prod::dtr-ha::";
    const state: StateResource[] = [
        { urn: `${S}pulumi:pulumi:Stack::dtr-ha-prod`, type: "pulumi:pulumi:Stack" },
        { urn: `${S}dtr-ha:index:DtrCluster::c1`, type: "dtr-ha:index:DtrCluster", parent: `${S}pulumi:pulumi:Stack::dtr-ha-prod` },
        {
            urn: `${S}dtr-ha:index:DtrCluster$command:local:Command::c1-owners`,
            type: "command:local:Command",
            parent: `${S}dtr-ha:index:DtrCluster::c1`,
        },
        {
            urn: `${S}dtr-ha:index:DtrCluster$command:local:Command::c1-health`,
            type: "command:local:Command",
            parent: `${S}dtr-ha:index:DtrCluster::c1`,
        },
        {
            urn: `${S}dtr-ha:index:DtrCluster$command:local:Command::c1-join-host2`,
            type: "command:local:Command",
            parent: `${S}dtr-ha:index:DtrCluster::c1`,
        },
        {
            urn: `${S}dtr-ha:index:DtrCluster$command:remote:Command::c1-install`,
            type: "command:remote:Command",
            parent: `${S}dtr-ha:index:DtrCluster::c1`,
        },
        // The upgrade's own backup lives under the cluster: not a create's business.
        {
            urn: `${S}dtr-ha:index:DtrCluster$dtr-ha:index:DtrBackup::c1-pre-upgrade`,
            type: "dtr-ha:index:DtrBackup",
            parent: `${S}dtr-ha:index:DtrCluster::c1`,
        },
        {
            urn: `${S}dtr-ha:index:DtrCluster$dtr-ha:index:DtrBackup$command:remote:Command::c1-pre-upgrade-dtr`,
            type: "command:remote:Command",
            parent: `${S}dtr-ha:index:DtrCluster$dtr-ha:index:DtrBackup::c1-pre-upgrade`,
        },
        {
            urn: `${S}dtr-ha:index:BackupChain::c1-backup`,
            type: "dtr-ha:index:BackupChain",
            parent: `${S}pulumi:pulumi:Stack::dtr-ha-prod`,
        },
        {
            urn: `${S}dtr-ha:index:BackupChain$dtr-ha:index:SwarmBackup::c1-backup-swarm`,
            type: "dtr-ha:index:SwarmBackup",
            parent: `${S}dtr-ha:index:BackupChain::c1-backup`,
        },
        {
            urn: `${S}dtr-ha:index:BackupChain$dtr-ha:index:SwarmBackup$command:remote:Command::c1-backup-swarm-swarm`,
            type: "command:remote:Command",
            parent: `${S}dtr-ha:index:BackupChain$dtr-ha:index:SwarmBackup::c1-backup-swarm`,
        },
        {
            urn: `${S}dtr-ha:index:BackupChain$dtr-ha:index:DtrBackup::c1-backup-dtr`,
            type: "dtr-ha:index:DtrBackup",
            parent: `${S}dtr-ha:index:BackupChain::c1-backup`,
        },
        {
            urn: `${S}dtr-ha:index:BackupChain$dtr-ha:index:DtrBackup$command:remote:Command::c1-backup-dtr-dtr`,
            type: "command:remote:Command",
            parent: `${S}dtr-ha:index:BackupChain$dtr-ha:index:DtrBackup::c1-backup-dtr`,
        },
        // The schedule's install steps are not run by a create either.
        {
            urn: `${S}dtr-ha:index:DtrBackupSchedule::c1-schedule`,
            type: "dtr-ha:index:DtrBackupSchedule",
            parent: `${S}pulumi:pulumi:Stack::dtr-ha-prod`,
        },
        {
            urn: `${S}dtr-ha:index:DtrBackupSchedule$command:remote:Command::c1-schedule-host1`,
            type: "command:remote:Command",
            parent: `${S}dtr-ha:index:DtrBackupSchedule::c1-schedule`,
        },
    ];
    const names = (urns: string[]) => urns.map((u) => u.slice(u.lastIndexOf("::") + 2));

    it("runs exactly the ownership check, the health check and the backup chain's commands", () => {
        const t = createTargets(state, "prod");
        assert.deepStrictEqual(names(t.targets), ["c1-owners", "c1-health", "c1-backup-swarm-swarm", "c1-backup-dtr-dtr"]);
        assert.deepStrictEqual(names(t.backups), ["c1-backup-swarm-swarm", "c1-backup-dtr-dtr"]);
    });
    it("refuses a state without a DTR backup, or without the checks, naming the fix", () => {
        assert.throws(
            () =>
                createTargets(
                    state.filter((r) => !r.urn.endsWith("c1-backup-dtr-dtr")),
                    "prod",
                ),
            /stack prod has no DTR backup in its state: set dtr-ha:backup .* and run pulumi up once/,
        );
        assert.throws(
            () =>
                createTargets(
                    state.filter((r) => !r.urn.endsWith("c1-owners")),
                    "prod",
                ),
            /stack prod has no ownership check \(<cluster>-owners\) in its state: run pulumi up once/,
        );
        assert.throws(
            () =>
                createTargets(
                    state.filter((r) => !r.urn.endsWith("c1-health")),
                    "prod",
                ),
            /has no health check \(<cluster>-health\)/,
        );
    });
});

describe("backups create: a failed up said in a few lines", () => {
    it("keeps the error and FAILED lines, once each, cut short; never the scripts the provider echoed", () => {
        const script = "set -u\n" + "echo x\n".repeat(500);
        const msg = [
            "code: 255",
            `stdout: Updating (vtest):\n${script}`,
            "    error: update failed",
            "  command:remote:Command (vtest-backup-dtr-dtr):",
            '    error: Process exited with status 1: running "' + "y".repeat(400) + '"',
            "dtr-ha backup FAILED: no healthy replica to back up from",
            "    error: update failed",
        ].join("\n");
        const lines = engineErrorLines(msg);
        assert.deepStrictEqual(lines.slice(0, 1), ["error: update failed"]);
        assert.ok(lines[1].startsWith("error: Process exited with status 1") && lines[1].endsWith("…") && lines[1].length === 301);
        assert.strictEqual(lines[2], "dtr-ha backup FAILED: no healthy replica to back up from");
        assert.strictEqual(lines.length, 3);
        assert.ok(!lines.some((l) => l.includes("echo x")));
    });
    it("at most six lines, then how many more", () => {
        const lines = engineErrorLines(Array.from({ length: 9 }, (_, i) => `error: ${i}`).join("\n"));
        assert.strictEqual(lines.length, 7);
        assert.strictEqual(lines[6], "… (3 more; run pulumi up for the whole output)");
    });
});

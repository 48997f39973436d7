/**
 * A scripted host for running the generated backup and restore scripts in dash: a fake `docker` (and `curl`) first on
 * PATH that logs every call's argv to a file and answers each subcommand (agent list/verify/download/..., DTR
 * restore/destroy/backup/upgrade, `docker ps`) from per-scenario files. Tests then assert what ran and what did not.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawn } from "child_process";

/** One `docker` call as the fake saw it. */
export interface Call {
    /** `ps`, `network`, or the subcommand after the image of `docker run` (`list`, `verify`, `restore`, ...). */
    sub: string;
    image: string;
    argv: string[];
    /** DTR_HA_AGE_IDENTITY was set in the caller's environment (so `-e DTR_HA_AGE_IDENTITY` would pass it). */
    identity: boolean;
    /** Bytes the call read on stdin (restore, upload, put-manifest). */
    stdin?: string;
}

export interface Answer {
    out?: string;
    rc?: number;
}

const FAKE_DOCKER = `#!/bin/sh
# Fake docker: log argv (unit-separated), then answer from $FAKE_DIR/<sub>.out and <sub>.rc.
# One write per call: the two sides of a pipe log at the same time.
line=$(printf 'id=%s\\037%s' "\${DTR_HA_AGE_IDENTITY:+set}" "$$"; for a in "$@"; do printf '\\037%s' "$a"; done)
printf '%s\\n' "$line" >> "$FAKE_DIR/calls"
answer() {
  [ -f "$FAKE_DIR/$1.out" ] && cat "$FAKE_DIR/$1.out"
  [ -f "$FAKE_DIR/$1.rc" ] && exit "$(cat "$FAKE_DIR/$1.rc")"
  exit 0
}
case $1 in
  ps) answer ps ;;
  network) answer network ;;
  run) shift ;;
  *) exit 0 ;;
esac
while [ $# -gt 0 ]; do
  case $1 in
    --rm|-i) shift ;;
    --log-driver|-e|-v|--network) shift 2 ;;
    *) break ;;
  esac
done
sub=$2
case $sub in
  restore|upload|put-manifest|put-stack-config) cat > "$FAKE_DIR/stdin.$$" ;;
esac
answer "$sub"
`;

const FAKE_CURL = `#!/bin/sh
# Fake curl: every call answers the code in $FAKE_DIR/curl.code (default 200); with -o FILE, the body in
# $FAKE_DIR/curl.body (when there is one) goes to FILE. The URL of each call is logged to $FAKE_DIR/curl.urls.
out=''
for a in "$@"; do
  [ "$prev" = -o ] && out=$a
  case $a in https://*) printf '%s\\n' "$a" >> "$FAKE_DIR/curl.urls" ;; esac
  prev=$a
done
[ -n "$out" ] && [ -f "$FAKE_DIR/curl.body" ] && cat "$FAKE_DIR/curl.body" > "$out"
printf '%s' "$(cat "$FAKE_DIR/curl.code" 2>/dev/null || echo 200)"
`;

export class FakeHost {
    readonly dir: string;
    readonly bin: string;

    constructor(answers: Record<string, Answer> = {}) {
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "dtr-ha-fake-"));
        this.bin = path.join(this.dir, "bin");
        fs.mkdirSync(this.bin);
        fs.writeFileSync(path.join(this.bin, "docker"), FAKE_DOCKER, { mode: 0o755 });
        fs.writeFileSync(path.join(this.bin, "curl"), FAKE_CURL, { mode: 0o755 });
        for (const [sub, a] of Object.entries(answers)) this.answer(sub, a);
    }

    /** What `docker ... <sub>` prints and its exit status. */
    answer(sub: string, a: Answer): this {
        if (a.out !== undefined) fs.writeFileSync(path.join(this.dir, `${sub}.out`), a.out);
        if (a.rc !== undefined) fs.writeFileSync(path.join(this.dir, `${sub}.rc`), String(a.rc));
        return this;
    }

    /** Containers `docker ps -a --format {{.Names}}` lists. */
    containers(names: string[]): this {
        return this.answer("ps", { out: names.map((n) => `${n}\n`).join("") });
    }

    calls(): Call[] {
        const file = path.join(this.dir, "calls");
        if (!fs.existsSync(file)) return [];
        return fs
            .readFileSync(file, "utf8")
            .split("\n")
            .filter(Boolean)
            .map((line) => {
                const [head, pid, ...argv] = line.split("\x1f");
                const call: Call = { sub: argv[0], image: "", argv, identity: head === "id=set" };
                if (argv[0] === "run") {
                    let j = 1;
                    while (j < argv.length) {
                        if (argv[j] === "--rm" || argv[j] === "-i") j++;
                        else if (["--log-driver", "-e", "-v", "--network"].includes(argv[j])) j += 2;
                        else break;
                    }
                    call.image = argv[j];
                    call.sub = argv[j + 1];
                }
                const stdin = path.join(this.dir, `stdin.${pid}`);
                if (fs.existsSync(stdin)) call.stdin = fs.readFileSync(stdin, "utf8");
                return call;
            });
    }

    /**
     * The subcommands that ran, in order; the two sides of a pipe run at once, so a pair given in `together` is logged
     * in a fixed order (the pair's) whatever order they started in.
     */
    subs(
        together: [string, string][] = [
            ["download", "restore"],
            ["backup", "upload"],
        ],
    ): string[] {
        const subs = this.calls().map((c) => c.sub);
        for (const [a, b] of together) {
            const i = subs.indexOf(b);
            if (i >= 0 && subs[i + 1] === a) [subs[i], subs[i + 1]] = [a, b];
        }
        return subs;
    }

    /** Runs `script` in dash with this host's fakes first on PATH and `env` (nothing else) in the environment. */
    run(script: string, env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
        return new Promise((resolve) => {
            const p = spawn("dash", ["-c", script], {
                env: { PATH: `${this.bin}:${process.env.PATH}`, FAKE_DIR: this.dir, ...env },
                cwd: this.dir,
            });
            let stdout = "";
            let stderr = "";
            p.stdout.on("data", (d) => (stdout += d));
            p.stderr.on("data", (d) => (stderr += d));
            p.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
        });
    }

    cleanup(): void {
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

export const RECIPIENT = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";
export const INVENTORY_SHA = "a".repeat(64);

/** The six categories' manifest keys (after `inventory`), as the agent names them (backup-agent/src/inventory.ts). */
export const SIX = ["Configuration", "RepositoryDefs", "Access", "Signing", "Scans", "Tls"] as const;
export type Six = (typeof SIX)[number];

/** `count:sha256` per category for a healthy cluster; a test overrides the ones a restore lost. */
export function sixValues(o: Partial<Record<Six, string>> = {}): Record<Six, string> {
    const base: Record<Six, string> = {
        Configuration: `24:${"1".repeat(64)}`,
        RepositoryDefs: `3:${"2".repeat(64)}`,
        Access: `1:${"3".repeat(64)}`,
        Signing: `2:${"4".repeat(64)}`,
        Scans: `7:${"5".repeat(64)}`,
        Tls: `2:${"6".repeat(64)}`,
    };
    return { ...base, ...o };
}

/** The agent's `inventory` output (one JSON line) for a cluster with these category values. */
export function agentInventory(
    o: { six?: Partial<Record<Six, string>>; sha256?: string; sha256v1?: string; metaArgs?: boolean } = {},
): string {
    const v = sixValues(o.six);
    const sha = o.sha256 ?? INVENTORY_SHA;
    const meta = [
        "inventoryRepositories=3",
        "inventoryTags=7",
        "inventoryTeamAccess=1",
        `inventorySha256=${sha}`,
        "inventoryFormat=2",
        ...SIX.map((c) => `inventory${c}=${v[c]}`),
    ];
    const categories = Object.fromEntries(SIX.map((c) => [c, { count: Number(v[c].split(":")[0]), sha256: v[c].split(":")[1] }]));
    return JSON.stringify({
        repositories: 3,
        tags: 7,
        teamAccess: 1,
        sha256: sha,
        format: 2,
        categories,
        sha256v1: o.sha256v1 ?? "f".repeat(64),
        ...(o.metaArgs === false ? {} : { metaArgs: meta.map((m) => `--meta ${m}`).join(" ") }),
    });
}

/** A catalog entry as the agent's `list` (and a backup script's last line) prints it: one JSON line. */
export function catalogEntry(
    o: {
        manifestKey?: string;
        kind?: "dtr" | "ucp" | "swarm";
        bucket?: string;
        cluster?: string;
        dtrVersion?: string;
        encrypted?: boolean;
        /** The six categories' fingerprints (a backup made by an agent that reads them). */
        six?: Partial<Record<Six, string>>;
        inventorySha256?: string | null;
        /** The backed-up replica's id the manifest records (default aaaaaaaaaaa1). */
        replicaId?: string;
        /** More meta, e.g. the backup's storage (storageDriver, storageBucket, ...). */
        meta?: Record<string, string>;
    } = {},
): string {
    const kind = o.kind ?? "dtr";
    const cluster = o.cluster ?? "lab";
    const manifestKey = o.manifestKey ?? `dtr/manifests/${cluster}/20261125T120000Z-${kind}.manifest.json`;
    const meta: Record<string, string> = {};
    if (kind === "dtr") {
        meta.dtrVersion = o.dtrVersion ?? "2.9.16";
        meta.replicaId = o.replicaId ?? "aaaaaaaaaaa1";
        if (o.inventorySha256 !== null) {
            meta.inventoryRepositories = "3";
            meta.inventoryTags = "7";
            meta.inventoryTeamAccess = "1";
            meta.inventorySha256 = o.inventorySha256 ?? INVENTORY_SHA;
        }
        if (o.six) {
            meta.inventoryFormat = "2";
            for (const [c, v] of Object.entries(sixValues(o.six))) meta[`inventory${c}`] = v;
        }
    }
    Object.assign(meta, o.meta ?? {});
    const manifest = {
        format: "dtr-ha-backup/1",
        kind,
        cluster,
        sourceStack: "lab",
        createdAt: "2026-11-25T12:00:00.000Z",
        object: {
            bucket: o.bucket ?? "dtr-backups",
            key: manifestKey.replace("/manifests/", "/objects/").replace(/\.manifest\.json$/, o.encrypted ? ".tar.gz.age" : ".tar.gz"),
            versionId: "v1",
            bytes: 4096,
            sha256: "b".repeat(64),
        },
        content: {
            compression: "gzip",
            encryption: o.encrypted ? { scheme: "age", recipients: [RECIPIENT] } : null,
            tarBytes: 10240,
            tarSha256: "c".repeat(64),
            entries: 12,
            files: ["dtr-backup-v2.9.16/meta.json", 'odd "encryption":null name'],
        },
        meta,
    };
    return JSON.stringify({ manifestKey, manifest });
}

/** The agent's verify verdict line. */
export function verdict(ok: boolean, contentChecked: boolean): string {
    return JSON.stringify({
        ok,
        manifestKey: "k",
        object: {},
        expected: {},
        actual: null,
        contentChecked,
        error: ok ? null : "the stored object has SHA-256 0000, the manifest says bbbb",
    });
}

// Benchmark: the backup pipeline and its restore side against plain S3 transfers of the same bytes, all to a MinIO
// started here on 127.0.0.1 (its own port and temp dir), with the same S3 client settings. Each transfer is its own
// child process, so its peak memory is its own. Variants run interleaved, round after round, so drift on this
// shared machine (page cache, MinIO, the neighbours' builds) hits them all alike; medians are printed as ratios.
//
//   backup:  plain        lib-storage Upload of the tar file (the reference)
//            pipeline     the agent's upload: tar on a pipe -> tar check -> SHA-256 -> zstd -> SHA-256 -> multipart
//            pipeline+age the same with age encryption
//            shell        what an operator would write: zstd -T0 -1 < tar | tee (a FIFO to sha256sum) | mc pipe
//   restore: plain        GetObject of the plain object into a sink (the reference)
//            restore      the agent's download: GET -> size/SHA-256 -> zstd -d -> tar check -> SHA-256 -> sink
//            restore+age  the same with age decryption
//   CPU:     each variant's CPU seconds (its own, every thread; its main thread's; MinIO's meanwhile) and the seconds its
//            threads waited for a CPU (schedstat run delay), so every target not met states the limit this run measured.
//   memory:  the pipeline+age's peak RSS for each of --rss-mib (default 256, 1024, 4096 MiB), the tar generated on
//            the fly into its stdin: flat means the same peak whatever the size.
//
//   npm --prefix backup-agent run bench [-- --runs N] [--gib G] [--rss-mib 256,1024,4096|none] [--gzip] [--restore-only]
//   (defaults: 3 runs of 1 GiB, then the memory runs: ~5 min on 2 cores; --gzip adds the old gzip pipeline;
//   --restore-only makes the backups once and repeats only the restores, for tuning the restore side; --inline adds
//   the restore's stages as they were before the steady minor collections (commit 7d149b8), for comparison)
import { execFileSync, spawn } from "node:child_process";
import { createReadStream, createWriteStream, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Transform, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ChecksumAlgorithm, DeleteObjectCommand, GetObjectCommand } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { generateX25519Identity, identityToRecipient } from "age-encryption";
import { makeDecrypter } from "../src/age";
import { AgeDecrypt } from "../src/age-stream";
import { createDecompress } from "../src/compress";
import { DEFAULTS } from "../src/defaults";
import { CheckedDigest } from "../src/digest";
import { TarCheck } from "../src/tar-check";
import { Manifest } from "../src/manifest";
import { PackWriter } from "../src/offload";
import { readBackup } from "../src/read";
import { makeS3Client, s3SettingsFromEnv } from "../src/s3";
import { uploadBackup } from "../src/upload";
import { Minio } from "../test/minio";
import { peakRssBytes } from "../test/peak-rss";
import { synthTar } from "../test/synth-tar";

const BUCKET = "bench";
const MiB = 1024 * 1024;

interface RunResult {
    variant: string;
    seconds: number;
    /** The tar's bytes (what a MiB/s is of, for every variant). */
    tarBytes: number;
    storedBytes: number;
    /** null for the shell variant (several processes). */
    peakRssBytes: number | null;
    /** CPU seconds (user + system) of the transfer: the child's own, every thread (process.cpuUsage() over the run);
     * for the shell variant, its processes' (bash's `times`). */
    cpuSeconds: number;
    /** Of those, the child's main thread's alone (/proc/self/task/<pid>/stat); null for the shell variant. */
    mainThreadCpuSeconds: number | null;
    /** Seconds the child's threads spent runnable but waiting for a CPU (schedstat run delay, summed over threads
     * alive at the end: the main thread, libuv's pool, V8's helpers); null for the shell variant. */
    runQueueSeconds: number | null;
    /** MinIO's CPU seconds over the same run (/proc/<minio pid>/stat utime + stime). */
    minioCpuSeconds: number;
    manifest?: Manifest;
}

/** Run-queue delay (schedstat's second field) of every thread of this process, by thread id, in seconds. */
function runDelays(): Map<string, number> {
    const m = new Map<string, number>();
    for (const tid of readdirSync("/proc/self/task")) {
        try {
            m.set(tid, Number(readFileSync(`/proc/self/task/${tid}/schedstat`, "utf8").split(" ")[1]) / 1e9);
        } catch {
            /* the thread ended meanwhile */
        }
    }
    return m;
}

const TICKS = ((): number => {
    try {
        return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
        return 100;
    }
})();

/** utime + stime of a process or thread, in seconds, from its /proc stat file. */
function statCpuSeconds(path: string): number {
    const s = readFileSync(path, "utf8");
    const f = s.slice(s.lastIndexOf(")") + 2).split(" "); // fields from 3 (state) on: the comm may hold spaces
    return (Number(f[11]) + Number(f[12])) / TICKS;
}

// ---- child side: one transfer, then one JSON line on stdout

function sink(): Writable {
    return new Writable({ highWaterMark: 1024 * 1024, write: (_c, _e, cb) => cb() });
}

async function child(mode: string, key: string, arg: string): Promise<void> {
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
    const s3 = makeS3Client(s3SettingsFromEnv(process.env));
    const mainThreadStat = `/proc/self/task/${process.pid}/stat`;
    const cpu0 = process.cpuUsage();
    const main0 = statCpuSeconds(mainThreadStat);
    const delay0 = runDelays();
    const t0 = process.hrtime.bigint();
    let r: Omit<
        RunResult,
        "seconds" | "peakRssBytes" | "variant" | "cpuSeconds" | "mainThreadCpuSeconds" | "runQueueSeconds" | "minioCpuSeconds"
    >;
    if (mode === "plain-up") {
        const tarBytes = statSync(arg).size;
        await new Upload({
            client: s3,
            partSize: DEFAULTS.partSizeMiB * MiB,
            queueSize: DEFAULTS.queueSize,
            params: { Bucket: BUCKET, Key: key, Body: createReadStream(arg), ChecksumAlgorithm: ChecksumAlgorithm.CRC32 },
        }).done();
        r = { tarBytes, storedBytes: tarBytes };
    } else if (mode === "pipe-up") {
        // Reads stdin, as the agent does at the right of `docker run ... backup |`.
        const m = await uploadBackup(process.stdin, s3, {
            bucket: BUCKET,
            key,
            kind: "dtr",
            cluster: "bench",
            sourceStack: null,
            meta: {},
            recipients: process.env.BENCH_RECIPIENT ? [process.env.BENCH_RECIPIENT] : [],
            lock: null,
            ...(process.env.BENCH_COMPRESSION ? { compression: process.env.BENCH_COMPRESSION as "gzip" | "zstd" } : {}),
            // For tuning runs by hand (BENCH_TUNE="level,parallel,blockMiB,partSizeMiB,queueSize"); the bench itself
            // measures the defaults.
            ...tune(process.env.BENCH_TUNE),
        });
        r = { tarBytes: m.content.tarBytes, storedBytes: m.object.bytes, manifest: m };
    } else if (mode === "plain-down") {
        const o = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
        let n = 0;
        await pipeline(
            o.Body as Readable,
            new Writable({ highWaterMark: 1024 * 1024, write: (c: Buffer, _e, cb) => ((n += c.length), cb()) }),
        );
        r = { tarBytes: n, storedBytes: n };
    } else if (mode === "restore") {
        const m = JSON.parse(readFileSync(arg, "utf8")) as Manifest;
        const identity = process.env.BENCH_IDENTITY ?? null;
        const got = await readBackup(s3, m, { decode: true, identity, identityWhere: "BENCH_IDENTITY", sink: sink() });
        r = { tarBytes: got.content!.tarBytes, storedBytes: got.stored.bytes };
    } else if (mode === "restore-inline") {
        // The restore's stages as they were before the steady minor collections of commit 7d149b8 (one GET, every stage
        // on the main thread, V8 left to collect), for comparison; the stages themselves are today's.
        const m = JSON.parse(readFileSync(arg, "utf8")) as Manifest;
        const identity = process.env.BENCH_IDENTITY ?? null;
        const o = m.object;
        const got = await s3.send(
            new GetObjectCommand({ Bucket: o.bucket, Key: o.key, ...(o.versionId ? { VersionId: o.versionId } : {}) }),
        );
        const stored = new CheckedDigest("the stored object", { bytes: o.bytes, sha256: o.sha256 });
        const tarDigest = new CheckedDigest("the tar inside", { bytes: m.content.tarBytes, sha256: m.content.tarSha256 });
        const stages: Transform[] = [stored];
        if (identity) stages.push(new AgeDecrypt(makeDecrypter(identity, "BENCH_IDENTITY")));
        stages.push(createDecompress(m.content.compression), new TarCheck(), tarDigest);
        await pipeline(got.Body as Readable, ...(stages as [Transform, ...Transform[]]), sink());
        r = { tarBytes: tarDigest.bytes, storedBytes: stored.bytes };
    } else if (mode === "idle") {
        // The baseline: node with the SDK loaded and a client made, no transfer.
        r = { tarBytes: 0, storedBytes: 0 };
    } else if (mode === "idle-worker") {
        // The baseline plus the upload's worker thread, started, given nothing and ended (its modules loaded).
        const pack: PackWriter = new PackWriter({ codec: "zstd", level: 1, age: null }, 1024, 1, 1024, 1, (slot) => pack.freePart(slot));
        await pipeline(Readable.from([]), pack);
        r = { tarBytes: 0, storedBytes: 0 };
    } else throw new Error(`unknown child mode ${mode}`);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const mainThreadCpuSeconds = statCpuSeconds(mainThreadStat) - main0;
    let runQueueSeconds = 0;
    for (const [tid, d] of runDelays()) runQueueSeconds += d - (delay0.get(tid) ?? 0);
    s3.destroy();
    process.stdout.write(
        JSON.stringify({ variant: mode, seconds, cpuSeconds, mainThreadCpuSeconds, runQueueSeconds, peakRssBytes: peakRssBytes(), ...r }) +
            "\n",
    );
}

function tune(spec: string | undefined): Partial<Parameters<typeof uploadBackup>[2]> {
    if (!spec) return {};
    const [level, parallel, blockMiB, partSizeMiB, queueSize] = spec.split(",").map(Number);
    return { level, parallel, blockMiB, partSizeMiB, queueSize };
}

// ---- parent side

function runChild(mode: string, key: string, arg: string, env: Record<string, string>, stdin: Readable | null): Promise<RunResult> {
    return new Promise((ok, fail) => {
        // The hand-tuning knobs pass through from the bench's environment.
        const knobs = Object.fromEntries(["BENCH_TUNE"].filter((n) => process.env[n]).map((n) => [n, process.env[n]!]));
        const p = spawn(process.execPath, [__filename, "--child", mode, key, arg], {
            env: { PATH: process.env.PATH ?? "", ...knobs, ...env },
            stdio: [stdin ? "pipe" : "ignore", "pipe", "pipe"],
        });
        let out = "";
        let err = "";
        p.stdout!.on("data", (d) => (out += d));
        p.stderr!.on("data", (d) => (err += d));
        // The producer: the tar through a pipe (as cheap a producer as there is, so the pipeline's own cost is measured).
        if (stdin) pipeline(stdin, p.stdin!).catch((e) => (err += `producer: ${(e as Error).message}\n`));
        p.on("error", fail);
        p.on("close", (code) => {
            if (code !== 0) return fail(new Error(`${mode} run failed (exit ${code}): ${err}`));
            ok(JSON.parse(out.trim().split("\n").pop()!) as RunResult);
        });
    });
}

/** zstd -T0 -1 < tar | tee (a FIFO to sha256sum) | mc pipe: wall time and CPU time of the whole shell pipeline. */
function runShell(minio: Minio, dir: string, key: string, file: string): Promise<RunResult> {
    const u = new URL(minio.endpoint);
    const host = `${u.protocol}//${minio.env.AWS_ACCESS_KEY_ID}:${minio.env.AWS_SECRET_ACCESS_KEY}@${u.host}`;
    const sumFile = join(dir, "shell.sha256");
    const timesFile = join(dir, "shell.times");
    const fifo = join(dir, "shell.fifo");
    // The tee to sha256sum goes through a FIFO rather than a process substitution, so sha256sum is the shell's own
    // child: `wait` reaps it, and `times` (the shell's and its reaped children's user and system time) covers every
    // process of the pipeline.
    const script = `set -euo pipefail; rm -f "$6"; mkfifo "$6"; sha256sum < "$6" > "$2" & zstd -q -T0 -1 -c < "$1" | tee "$6" | mc --config-dir "$3" --quiet pipe "bench/${BUCKET}/$4" > /dev/null; wait; times > "$5"`;
    return new Promise((ok, fail) => {
        const t0 = process.hrtime.bigint();
        const p = spawn("bash", ["-c", script, "_", file, sumFile, join(dir, "mc"), key, timesFile, fifo], {
            env: { PATH: process.env.PATH ?? "", MC_HOST_bench: host, HOME: dir },
            stdio: ["ignore", "ignore", "pipe"],
        });
        let err = "";
        p.stderr!.on("data", (d) => (err += d));
        p.on("error", fail);
        p.on("close", (code) => {
            const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
            if (code !== 0) return fail(new Error(`shell run failed (exit ${code}): ${err}`));
            // Two lines, "XmY.YYYs XmY.YYYs": the shell's user and system time, then its children's.
            const cpuSeconds = [...readFileSync(timesFile, "utf8").matchAll(/(\d+)m([\d.]+)s/g)].reduce(
                (sum, m) => sum + Number(m[1]) * 60 + Number(m[2]),
                0,
            );
            ok({
                variant: "shell",
                seconds,
                cpuSeconds,
                mainThreadCpuSeconds: null,
                runQueueSeconds: null,
                minioCpuSeconds: 0,
                tarBytes: statSync(file).size,
                storedBytes: 0,
                peakRssBytes: null,
            });
        });
    });
}

/** The machine's total CPU pressure stall time ("some": at least one task waited for a CPU), in seconds. */
function cpuPressureSeconds(): number | null {
    try {
        const m = /^some .* total=(\d+)$/m.exec(readFileSync("/proc/pressure/cpu", "utf8"));
        return m ? Number(m[1]) / 1e6 : null;
    } catch {
        return null;
    }
}

/** Runs one transfer and adds MinIO's CPU seconds over it. */
async function withMinioCpu(minio: Minio, run: () => Promise<RunResult>): Promise<RunResult> {
    const stat = `/proc/${minio.pid}/stat`;
    const before = statCpuSeconds(stat);
    const r = await run();
    r.minioCpuSeconds = statCpuSeconds(stat) - before;
    return r;
}

const median = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function flag(argv: string[], name: string, def: number): number {
    const i = argv.indexOf(`--${name}`);
    if (i < 0) return def;
    const v = Number(argv[i + 1]);
    if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} '${argv[i + 1]}' must be a positive number`);
    return v;
}

function listFlag(argv: string[], name: string, def: number[]): number[] {
    const i = argv.indexOf(`--${name}`);
    if (i < 0) return def;
    if (argv[i + 1] === "none") return [];
    const v = (argv[i + 1] ?? "").split(",").map(Number);
    if (v.length === 0 || v.some((x) => !Number.isFinite(x) || x <= 0))
        throw new Error(`--${name} '${argv[i + 1]}' must be a comma-separated list of positive numbers (or none)`);
    return v;
}

const log = (s: string): boolean => process.stderr.write(`bench: ${s}\n`);

async function main(argv: string[]): Promise<void> {
    if (argv[0] === "--child") return child(argv[1], argv[2], argv[3]);
    const runs = flag(argv, "runs", 3);
    const gib = flag(argv, "gib", 1);
    const rssMiB = listFlag(argv, "rss-mib", [256, 1024, 4096]);
    const withGzip = argv.includes("--gzip");
    const restoreOnly = argv.includes("--restore-only");
    const withInline = argv.includes("--inline");
    const started = Date.now();
    const psi0 = cpuPressureSeconds();
    const dir = mkdtempSync(join(tmpdir(), "dtr-ha-bench-"));
    const minio = await Minio.start();
    try {
        await minio.plainBucket(BUCKET);
        const file = join(dir, "backup.tar");
        log(`writing a ${gib} GiB synthetic backup tar (half JSON text, half random) to ${file}`);
        await pipeline(synthTar({ totalBytes: Math.round(gib * 1024) * MiB, entryBytes: 8 * MiB, seed: "bench" }), createWriteStream(file));
        const tarBytes = statSync(file).size;
        const identity = await generateX25519Identity();
        const recipient = await identityToRecipient(identity);
        const s3 = minio.client();
        const results: RunResult[] = [];
        const keep = (v: string, r: RunResult): RunResult => {
            r.variant = v;
            results.push(r);
            const rss = r.peakRssBytes === null ? "n/a" : `${(r.peakRssBytes / MiB).toFixed(0)} MiB`;
            log(`  ${v}: ${r.seconds.toFixed(2)} s, ${(r.tarBytes / MiB / r.seconds).toFixed(1)} MiB/s of tar, peak RSS ${rss}`);
            return r;
        };
        // --restore-only (for tuning the restore): the backups are made once, first, and only the restores repeat.
        let up: { plain: string; zst: RunResult; age: RunResult; gz: RunResult | null } | null = null;
        for (let i = 0; i < runs; i++) {
            log(`round ${i + 1}/${runs}`);
            const k = (v: string): string => `bench/${v}-${restoreOnly ? 0 : i}`;
            const tar = (): Readable => createReadStream(file);
            if (!restoreOnly || up === null) {
                const plain = await withMinioCpu(minio, () => runChild("plain-up", k("plain"), file, minio.env, null));
                const zst = await withMinioCpu(minio, () => runChild("pipe-up", k("zst"), "-", minio.env, tar()));
                const age = await withMinioCpu(minio, () =>
                    runChild("pipe-up", k("age"), "-", { ...minio.env, BENCH_RECIPIENT: recipient }, tar()),
                );
                const gz = withGzip
                    ? await withMinioCpu(minio, () => runChild("pipe-up", k("gz"), "-", { ...minio.env, BENCH_COMPRESSION: "gzip" }, tar()))
                    : null;
                up = { plain: k("plain"), zst, age, gz };
                if (!restoreOnly) {
                    keep("backup plain", plain);
                    keep("backup pipeline", zst);
                    keep("backup pipeline+age", age);
                    if (gz) keep("backup pipeline gzip", gz);
                    keep("backup shell zstd|mc", await withMinioCpu(minio, () => runShell(minio, dir, k("shell"), file)));
                }
            }
            const made = up!;
            keep("restore plain", await withMinioCpu(minio, () => runChild("plain-down", made.plain, "-", minio.env, null)));
            for (const [v, backup, env] of [
                ["restore pipeline", made.zst, {}],
                ["restore pipeline+age", made.age, { BENCH_IDENTITY: identity }],
                ...(made.gz ? [["restore pipeline gzip", made.gz, {}] as const] : []),
            ] as const) {
                const mf = join(dir, "manifest.json");
                writeFileSync(mf, JSON.stringify(backup.manifest));
                keep(v, await withMinioCpu(minio, () => runChild("restore", "-", mf, { ...minio.env, ...env }, null)));
                if (withInline)
                    keep(
                        `${v} (inline)`,
                        await withMinioCpu(minio, () => runChild("restore-inline", "-", mf, { ...minio.env, ...env }, null)),
                    );
            }
            if (!restoreOnly || i === runs - 1)
                for (const v of ["plain", "zst", "age", "gz", "shell"])
                    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: k(v) }));
        }
        rmSync(file, { force: true });
        const memory: RunResult[] = [];
        for (const mib of rssMiB) {
            log(`memory: pipeline+age on ${mib} MiB generated on the fly`);
            const gen = synthTar({ totalBytes: mib * MiB, entryBytes: 8 * MiB, seed: `rss-${mib}` });
            const r = await withMinioCpu(minio, () =>
                runChild("pipe-up", `bench/rss-${mib}`, "-", { ...minio.env, BENCH_RECIPIENT: recipient }, gen),
            );
            r.variant = `${mib} MiB`;
            memory.push(r);
            log(`  ${mib} MiB: peak RSS ${(r.peakRssBytes! / MiB).toFixed(0)} MiB, ${r.seconds.toFixed(1)} s`);
            await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: `bench/rss-${mib}` }));
        }
        // What a process costs before any transfer, without and with the upload's worker thread (one run each).
        const baseline = {
            idle: (await runChild("idle", "-", "-", minio.env, null)).peakRssBytes! / MiB,
            worker: (await runChild("idle-worker", "-", "-", minio.env, null)).peakRssBytes! / MiB,
        };
        log(`baseline peak RSS: idle ${baseline.idle.toFixed(0)} MiB, idle with the worker thread ${baseline.worker.toFixed(0)} MiB`);
        s3.destroy();
        const psi1 = cpuPressureSeconds();
        const pressure = psi0 === null || psi1 === null ? null : (psi1 - psi0) / ((Date.now() - started) / 1000);
        report(results, memory, baseline, { tarBytes, runs, started, pressure });
    } finally {
        await minio.stop();
        rmSync(dir, { recursive: true, force: true });
    }
}

function report(
    results: RunResult[],
    memory: RunResult[],
    baseline: { idle: number; worker: number },
    o: { tarBytes: number; runs: number; started: number; pressure: number | null },
): void {
    const variants = [...new Set(results.map((r) => r.variant))];
    const summary = variants.map((v) => {
        const rs = results.filter((r) => r.variant === v);
        const seconds = median(rs.map((r) => r.seconds));
        const rss = rs.map((r) => r.peakRssBytes).filter((x): x is number => x !== null);
        return {
            variant: v,
            runs: rs.length,
            medianSeconds: +seconds.toFixed(3),
            medianMiBps: +(o.tarBytes / MiB / seconds).toFixed(1),
            medianPeakRssMiB: rss.length ? +(median(rss) / MiB).toFixed(1) : null,
            maxPeakRssMiB: rss.length ? +(Math.max(...rss) / MiB).toFixed(1) : null,
            storedMiB: +(median(rs.map((r) => r.storedBytes)) / MiB).toFixed(1),
            // Medians over the runs: the transfer's own CPU (all its threads), its main thread's, MinIO's meanwhile.
            cpuSeconds: {
                ours: +median(rs.map((r) => r.cpuSeconds)).toFixed(3),
                mainThread: rs[0].mainThreadCpuSeconds === null ? null : +median(rs.map((r) => r.mainThreadCpuSeconds!)).toFixed(3),
                minio: +median(rs.map((r) => r.minioCpuSeconds)).toFixed(3),
                total: +median(rs.map((r) => r.cpuSeconds + r.minioCpuSeconds)).toFixed(3),
            },
            // Median seconds its threads were runnable but had no CPU (the machine is shared): time the CPU figures
            // above do not show.
            runQueueSeconds: rs[0].runQueueSeconds === null ? null : +median(rs.map((r) => r.runQueueSeconds!)).toFixed(3),
        };
    });
    const get = (v: string): (typeof summary)[number] => summary.find((s) => s.variant === v)!;
    const ratio = (v: string, ref: string): number => +(get(v).medianMiBps / get(ref).medianMiBps).toFixed(3);
    const refOf = (v: string): string => (v.startsWith("backup") ? "backup plain" : "restore plain");
    const node = process.version;
    console.log(
        `\nbackup and restore vs plain S3 transfers: ${(o.tarBytes / MiB).toFixed(0)} MiB tar, median of ${o.runs} runs, ${DEFAULTS.partSizeMiB} MiB parts x ${DEFAULTS.queueSize} in flight, ` +
            `MinIO on 127.0.0.1, node ${node}, ${cpus().length} cores` +
            (o.pressure === null
                ? ""
                : `; CPU pressure over the bench (PSI "some"): ${(o.pressure * 100).toFixed(0)}% of the time a task waited for a CPU`),
    );
    console.log(
        "variant                     median s   MiB/s   ratio   peak RSS MiB (median/max)   stored MiB   CPU-s: ours (main) + MinIO = total   run-queue s",
    );
    for (const s of summary) {
        const rss = s.medianPeakRssMiB === null ? "n/a" : `${s.medianPeakRssMiB.toFixed(0)} / ${s.maxPeakRssMiB!.toFixed(0)}`;
        const c = s.cpuSeconds;
        const cpu = `${c.ours.toFixed(2)} (${c.mainThread === null ? "n/a" : c.mainThread.toFixed(2)}) + ${c.minio.toFixed(2)} = ${c.total.toFixed(2)}`;
        console.log(
            `${s.variant.padEnd(27)} ${s.medianSeconds.toFixed(2).padStart(8)} ${s.medianMiBps.toFixed(1).padStart(7)} ${ratio(s.variant, refOf(s.variant)).toFixed(3).padStart(7)}   ${rss.padStart(25)} ${s.storedMiB.toFixed(0).padStart(12)}   ${cpu.padEnd(34)} ${s.runQueueSeconds === null ? "n/a" : s.runQueueSeconds.toFixed(2)}`,
        );
    }
    const cores = cpus().length;
    /**
     * What the CPU time measured in this run allows: `v` cannot take less than its CPU seconds (its own and MinIO's)
     * spread over every core, nor less than its main thread's CPU seconds (work that thread does one after the other);
     * against `ref`'s measured wall time, that bounds the ratio.
     */
    const cpuLimit = (v: string, ref: string, target: number): string => {
        const a = get(v);
        const b = get(ref);
        const spread = a.cpuSeconds.total / cores;
        const serial = a.cpuSeconds.mainThread ?? 0;
        const floor = Math.max(spread, serial);
        const ceiling = b.medianSeconds / floor;
        const main = a.cpuSeconds.mainThread === null ? "" : `, its main thread ${a.cpuSeconds.mainThread.toFixed(2)}`;
        const refMain = b.cpuSeconds.mainThread === null ? "" : ` (main thread ${b.cpuSeconds.mainThread.toFixed(2)})`;
        return (
            `${v} needs ${a.cpuSeconds.total.toFixed(2)} CPU-s (ours ${a.cpuSeconds.ours.toFixed(2)}${main}; MinIO ${a.cpuSeconds.minio.toFixed(2)}) ` +
            `vs ${ref} ${b.cpuSeconds.total.toFixed(2)} CPU-s (${b.cpuSeconds.ours.toFixed(2)}${refMain}; MinIO ${b.cpuSeconds.minio.toFixed(2)}) in ${b.medianSeconds.toFixed(2)} s; ` +
            `on ${cores} cores it cannot take less than ${floor.toFixed(2)} s (${spread >= serial ? `${a.cpuSeconds.total.toFixed(2)} CPU-s / ${cores}` : "its main thread's CPU-s"}): ` +
            `ceiling ratio ${ceiling.toFixed(3)}, measured ${(b.medianSeconds / a.medianSeconds).toFixed(3)}` +
            (ceiling >= target
                ? ` (the CPU time allows the target: the rest of the gap, ${(a.medianSeconds - floor).toFixed(2)} s over that floor, is waiting, not CPU` +
                  (a.runQueueSeconds === null
                      ? ")"
                      : `; meanwhile its threads were runnable without a CPU for ${a.runQueueSeconds.toFixed(2)} s in all, ${ref}'s ${b.runQueueSeconds === null ? "n/a" : `${b.runQueueSeconds.toFixed(2)} s`}: the machine is shared)`)
                : ` (below the target ${target} on this machine's CPU alone)`)
        );
    };
    const has = (v: string): boolean => summary.some((s) => s.variant === v);
    const plainRss = has("backup plain") ? get("backup plain").medianPeakRssMiB! : NaN;
    const targets: Record<string, { value: number; target: string; met: boolean; limit?: string }> = {};
    /** `limit` (what this run measured that stands in the way) is kept only when the target is not met. */
    const t = (name: string, value: number, target: string, met: boolean, limit?: string): void => {
        targets[name] = { value, target, met, ...(met || limit === undefined ? {} : { limit }) };
    };
    /** A throughput target: `v`'s MiB/s over `ref`'s; when not met, the CPU limit measured in this run. */
    const speed = (name: string, v: string, ref: string, min: number): void => {
        if (!has(v) || !has(ref)) return;
        const r = ratio(v, ref);
        t(name, r, `>= ${min}`, r >= min, cpuLimit(v, ref, min));
    };
    speed("backup pipeline / plain upload", "backup pipeline", "backup plain", 0.95);
    speed("backup pipeline+age / plain upload", "backup pipeline+age", "backup plain", 0.95);
    speed("backup pipeline / shell zstd|mc", "backup pipeline", "backup shell zstd|mc", 1);
    speed("restore pipeline / plain download", "restore pipeline", "restore plain", 0.95);
    speed("restore pipeline+age / plain download", "restore pipeline+age", "restore plain", 0.95);
    // The pipeline's fixed buffers: the S3 part ring ((queueSize + 1) parts) and the input ring ((parallel + 1) blocks).
    const ringsMiB = (DEFAULTS.queueSize + 1) * DEFAULTS.partSizeMiB + (DEFAULTS.parallel + 1) * DEFAULTS.blockMiB;
    const workerMiB = baseline.worker - baseline.idle;
    for (const v of ["backup pipeline", "backup pipeline+age"].filter(has)) {
        const peak = get(v).medianPeakRssMiB!;
        const r = +(peak / plainRss).toFixed(3);
        const limit =
            `${v} peaks at ${peak.toFixed(0)} MiB vs plain upload's ${plainRss.toFixed(0)} MiB (+${(peak - plainRss).toFixed(0)}); ` +
            `an idle child peaks at ${baseline.idle.toFixed(0)} MiB, ${baseline.worker.toFixed(0)} MiB with the upload's worker thread started ` +
            `(+${workerMiB.toFixed(0)} MiB, measured), and its rings hold ${ringsMiB} MiB ((${DEFAULTS.queueSize} + 1) x ${DEFAULTS.partSizeMiB} MiB parts + ` +
            `(${DEFAULTS.parallel} + 1) x ${DEFAULTS.blockMiB} MiB blocks, from the settings): plain's transfer above idle is ` +
            `${(plainRss - baseline.idle).toFixed(0)} MiB, the pipeline's above idle with its worker ${(peak - baseline.worker).toFixed(0)} MiB; ` +
            `with the worker's fixed ${workerMiB.toFixed(0)} MiB the ratio cannot go below ${((plainRss + workerMiB) / plainRss).toFixed(3)} unless the transfer itself holds less than plain's`;
        t(`${v} peak RSS / plain upload's`, r, "<= 1", r <= 1, limit);
    }
    if (memory.length > 1) {
        const peaks = memory.map((m) => m.peakRssBytes! / MiB);
        const spread = +(Math.max(...peaks) / Math.min(...peaks)).toFixed(3);
        console.log(
            `\npeak RSS of pipeline+age by size (one run each): ${memory.map((m, i) => `${m.variant} ${peaks[i].toFixed(0)} MiB`).join(", ")}`,
        );
        t(
            "peak RSS max/min over sizes",
            spread,
            "<= 1.10 (flat within ±10%)",
            spread <= 1.1,
            `peak RSS grows with the size: ${memory.map((m, i) => `${m.variant} ${peaks[i].toFixed(0)} MiB`).join(", ")} (something holds bytes per byte of input)`,
        );
    }
    console.log("\ntargets (ratios of medians):");
    for (const [name, x] of Object.entries(targets)) {
        console.log(`  ${x.met ? "met    " : "NOT MET"}  ${name.padEnd(44)} ${x.value.toFixed(3).padStart(7)}  (target ${x.target})`);
        if (x.limit) console.log(`           limit: ${x.limit}`);
    }
    console.log(
        JSON.stringify({
            bench: "backup-pipeline",
            node,
            cpus: cpus().length,
            tarBytes: o.tarBytes,
            runs: o.runs,
            defaults: DEFAULTS,
            variants: summary,
            memory: memory.map((m) => ({
                tarMiB: m.tarBytes / MiB,
                peakRssMiB: +(m.peakRssBytes! / MiB).toFixed(1),
                seconds: +m.seconds.toFixed(2),
            })),
            targets,
            cpuPressure: o.pressure === null ? null : +o.pressure.toFixed(3),
            baselinePeakRssMiB: { idle: +baseline.idle.toFixed(1), idleWithWorker: +baseline.worker.toFixed(1) },
            wallSeconds: Math.round((Date.now() - o.started) / 1000),
        }),
    );
}

main(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`bench: error: ${(e as Error).message}\n`);
    process.exitCode = 1;
});

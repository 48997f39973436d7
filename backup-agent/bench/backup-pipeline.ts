// Benchmark: the backup pipeline and its restore side against plain S3 transfers of the same bytes, all to a MinIO
// started here on 127.0.0.1 (its own port and temp dir), with the same S3 client settings. Each transfer is its own
// child process, so its peak memory is its own. Variants run interleaved, round after round, so drift on this
// shared machine (page cache, MinIO, the neighbours' builds) hits them all alike; medians are printed as ratios.
//
//   backup:  plain        lib-storage Upload of the tar file (the reference)
//            pipeline     the agent's upload: tar on a pipe -> tar check -> SHA-256 -> zstd -> SHA-256 -> multipart
//            pipeline+age the same with age encryption
//            shell        what an operator would write: zstd -T0 -1 < tar | tee >(sha256sum) | mc pipe
//   restore: plain        GetObject of the plain object into a sink (the reference)
//            restore      the agent's download: GET -> size/SHA-256 -> zstd -d -> tar check -> SHA-256 -> sink
//            restore+age  the same with age decryption
//   memory:  the pipeline+age's peak RSS for each of --rss-mib (default 256, 1024, 4096 MiB), the tar generated on
//            the fly into its stdin: flat means the same peak whatever the size.
//
//   npm --prefix backup-agent run bench [-- --runs N] [--gib G] [--rss-mib 256,1024,4096] [--gzip]
//   (defaults: 3 runs of 1 GiB, then the memory runs: ~5 min on 2 cores; --gzip adds the old gzip pipeline)
import { spawn } from "node:child_process";
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ChecksumAlgorithm, DeleteObjectCommand, GetObjectCommand } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { generateX25519Identity, identityToRecipient } from "age-encryption";
import { DEFAULTS } from "../src/defaults";
import { Manifest } from "../src/manifest";
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
    manifest?: Manifest;
}

// ---- child side: one transfer, then one JSON line on stdout

function sink(): Writable {
    return new Writable({ highWaterMark: 1024 * 1024, write: (_c, _e, cb) => cb() });
}

async function child(mode: string, key: string, arg: string): Promise<void> {
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
    const s3 = makeS3Client(s3SettingsFromEnv(process.env));
    const t0 = process.hrtime.bigint();
    let r: Omit<RunResult, "seconds" | "peakRssBytes" | "variant">;
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
    } else throw new Error(`unknown child mode ${mode}`);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    s3.destroy();
    process.stdout.write(JSON.stringify({ variant: mode, seconds, peakRssBytes: peakRssBytes(), ...r }) + "\n");
}

function tune(spec: string | undefined): Partial<Parameters<typeof uploadBackup>[2]> {
    if (!spec) return {};
    const [level, parallel, blockMiB, partSizeMiB, queueSize] = spec.split(",").map(Number);
    return { level, parallel, blockMiB, partSizeMiB, queueSize };
}

// ---- parent side

function runChild(mode: string, key: string, arg: string, env: Record<string, string>, stdin: Readable | null): Promise<RunResult> {
    return new Promise((ok, fail) => {
        const p = spawn(process.execPath, [__filename, "--child", mode, key, arg], {
            env: { PATH: process.env.PATH ?? "", ...env },
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

/** zstd -T0 -1 < tar | tee >(sha256sum) | mc pipe: wall time of the whole shell pipeline. */
function runShell(minio: Minio, dir: string, key: string, file: string): Promise<RunResult> {
    const u = new URL(minio.endpoint);
    const host = `${u.protocol}//${minio.env.AWS_ACCESS_KEY_ID}:${minio.env.AWS_SECRET_ACCESS_KEY}@${u.host}`;
    const sumFile = join(dir, "shell.sha256");
    const script = `set -euo pipefail; zstd -q -T0 -1 -c < "$1" | tee >(sha256sum > "$2") | mc --config-dir "$3" --quiet pipe "bench/${BUCKET}/$4" > /dev/null`;
    return new Promise((ok, fail) => {
        const t0 = process.hrtime.bigint();
        const p = spawn("bash", ["-c", script, "_", file, sumFile, join(dir, "mc"), key], {
            env: { PATH: process.env.PATH ?? "", MC_HOST_bench: host, HOME: dir },
            stdio: ["ignore", "ignore", "pipe"],
        });
        let err = "";
        p.stderr!.on("data", (d) => (err += d));
        p.on("error", fail);
        p.on("close", (code) => {
            const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
            if (code !== 0) return fail(new Error(`shell run failed (exit ${code}): ${err}`));
            ok({ variant: "shell", seconds, tarBytes: statSync(file).size, storedBytes: 0, peakRssBytes: null });
        });
    });
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
    const started = Date.now();
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
        for (let i = 0; i < runs; i++) {
            log(`round ${i + 1}/${runs}`);
            const k = (v: string): string => `bench/${v}-${i}`;
            const tar = (): Readable => createReadStream(file);
            keep("backup plain", await runChild("plain-up", k("plain"), file, minio.env, null));
            const zst = keep("backup pipeline", await runChild("pipe-up", k("zst"), "-", minio.env, tar()));
            const age = keep(
                "backup pipeline+age",
                await runChild("pipe-up", k("age"), "-", { ...minio.env, BENCH_RECIPIENT: recipient }, tar()),
            );
            const gz = withGzip
                ? keep("backup pipeline gzip", await runChild("pipe-up", k("gz"), "-", { ...minio.env, BENCH_COMPRESSION: "gzip" }, tar()))
                : null;
            keep("backup shell zstd|mc", await runShell(minio, dir, k("shell"), file));
            keep("restore plain", await runChild("plain-down", k("plain"), "-", minio.env, null));
            for (const [v, up, env] of [
                ["restore pipeline", zst, {}],
                ["restore pipeline+age", age, { BENCH_IDENTITY: identity }],
                ...(gz ? [["restore pipeline gzip", gz, {}] as const] : []),
            ] as const) {
                const mf = join(dir, "manifest.json");
                writeFileSync(mf, JSON.stringify(up!.manifest));
                keep(v, await runChild("restore", "-", mf, { ...minio.env, ...env }, null));
            }
            for (const v of ["plain", "zst", "age", "gz", "shell"]) await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: k(v) }));
        }
        rmSync(file, { force: true });
        const memory: RunResult[] = [];
        for (const mib of rssMiB) {
            log(`memory: pipeline+age on ${mib} MiB generated on the fly`);
            const gen = synthTar({ totalBytes: mib * MiB, entryBytes: 8 * MiB, seed: `rss-${mib}` });
            const r = await runChild("pipe-up", `bench/rss-${mib}`, "-", { ...minio.env, BENCH_RECIPIENT: recipient }, gen);
            r.variant = `${mib} MiB`;
            memory.push(r);
            log(`  ${mib} MiB: peak RSS ${(r.peakRssBytes! / MiB).toFixed(0)} MiB, ${r.seconds.toFixed(1)} s`);
            await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: `bench/rss-${mib}` }));
        }
        s3.destroy();
        report(results, memory, { tarBytes, runs, started });
    } finally {
        await minio.stop();
        rmSync(dir, { recursive: true, force: true });
    }
}

function report(results: RunResult[], memory: RunResult[], o: { tarBytes: number; runs: number; started: number }): void {
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
        };
    });
    const get = (v: string): (typeof summary)[number] => summary.find((s) => s.variant === v)!;
    const ratio = (v: string, ref: string): number => +(get(v).medianMiBps / get(ref).medianMiBps).toFixed(3);
    const refOf = (v: string): string => (v.startsWith("backup") ? "backup plain" : "restore plain");
    const node = process.version;
    console.log(
        `\nbackup and restore vs plain S3 transfers: ${(o.tarBytes / MiB).toFixed(0)} MiB tar, median of ${o.runs} runs, ${DEFAULTS.partSizeMiB} MiB parts x ${DEFAULTS.queueSize} in flight, ` +
            `MinIO on 127.0.0.1, node ${node}, ${cpus().length} cores`,
    );
    console.log("variant                     median s   MiB/s   ratio   peak RSS MiB (median/max)   stored MiB");
    for (const s of summary) {
        const rss = s.medianPeakRssMiB === null ? "n/a" : `${s.medianPeakRssMiB.toFixed(0)} / ${s.maxPeakRssMiB!.toFixed(0)}`;
        console.log(
            `${s.variant.padEnd(27)} ${s.medianSeconds.toFixed(2).padStart(8)} ${s.medianMiBps.toFixed(1).padStart(7)} ${ratio(s.variant, refOf(s.variant)).toFixed(3).padStart(7)}   ${rss.padStart(25)} ${s.storedMiB.toFixed(0).padStart(12)}`,
        );
    }
    const plainRss = get("backup plain").medianPeakRssMiB!;
    const targets: Record<string, { value: number; target: string; met: boolean }> = {};
    const t = (name: string, value: number, target: string, met: boolean): void => {
        targets[name] = { value, target, met };
    };
    t(
        "backup pipeline / plain upload",
        ratio("backup pipeline", "backup plain"),
        ">= 0.95",
        ratio("backup pipeline", "backup plain") >= 0.95,
    );
    t(
        "backup pipeline+age / plain upload",
        ratio("backup pipeline+age", "backup plain"),
        ">= 0.95",
        ratio("backup pipeline+age", "backup plain") >= 0.95,
    );
    t(
        "backup pipeline / shell zstd|mc",
        ratio("backup pipeline", "backup shell zstd|mc"),
        ">= 1",
        ratio("backup pipeline", "backup shell zstd|mc") >= 1,
    );
    t(
        "restore pipeline / plain download",
        ratio("restore pipeline", "restore plain"),
        ">= 0.95",
        ratio("restore pipeline", "restore plain") >= 0.95,
    );
    t(
        "restore pipeline+age / plain download",
        ratio("restore pipeline+age", "restore plain"),
        ">= 0.95",
        ratio("restore pipeline+age", "restore plain") >= 0.95,
    );
    for (const v of ["backup pipeline", "backup pipeline+age"]) {
        const r = +(get(v).medianPeakRssMiB! / plainRss).toFixed(3);
        t(`${v} peak RSS / plain upload's`, r, "<= 1", r <= 1);
    }
    if (memory.length > 1) {
        const peaks = memory.map((m) => m.peakRssBytes! / MiB);
        const spread = +(Math.max(...peaks) / Math.min(...peaks)).toFixed(3);
        console.log(
            `\npeak RSS of pipeline+age by size (one run each): ${memory.map((m, i) => `${m.variant} ${peaks[i].toFixed(0)} MiB`).join(", ")}`,
        );
        t("peak RSS max/min over sizes", spread, "<= 1.10 (flat within ±10%)", spread <= 1.1);
    }
    console.log("\ntargets (ratios of medians):");
    for (const [name, x] of Object.entries(targets))
        console.log(`  ${x.met ? "met    " : "NOT MET"}  ${name.padEnd(44)} ${x.value.toFixed(3).padStart(7)}  (target ${x.target})`);
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
            wallSeconds: Math.round((Date.now() - o.started) / 1000),
        }),
    );
}

main(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`bench: error: ${(e as Error).message}\n`);
    process.exitCode = 1;
});

// Benchmark: the backup pipeline (tar check + gzip [+ age] + SHA-256 + multipart upload, reading a pipe) versus
// a plain lib-storage upload of the same bytes from a file, both to a MinIO started here on 127.0.0.1 with the
// same S3 client settings (8 MiB parts, 2 in flight, CRC32). Each run is its own child process so peak memory
// is per run. Prints a table and one JSON line.
//   npm --prefix backup-agent run bench [-- --runs N] [--gib G] [--no-age]   (defaults: 3 runs, 1 GiB: ~5 min on 2 cores)
import { spawn } from "node:child_process";
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { ChecksumAlgorithm, DeleteObjectCommand, generateX25519Identity, identityToRecipient, Upload } from "../backup-agent/test/deps";
import { makeS3Client, s3SettingsFromEnv } from "../backup-agent/src/s3";
import { uploadBackup } from "../backup-agent/src/upload";
import { Minio } from "../backup-agent/test/minio";
import { peakRssBytes } from "../backup-agent/test/peak-rss";
import { synthTar } from "../backup-agent/test/synth-tar";

const PART_MIB = 8;
const QUEUE = 2;
const BUCKET = "bench";

interface RunResult {
    variant: string;
    seconds: number;
    inputBytes: number;
    storedBytes: number;
    peakRssBytes: number;
}

// ---- child side: one upload, then one JSON line on stdout

async function child(variant: string, key: string, file: string): Promise<void> {
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
    const s3 = makeS3Client(s3SettingsFromEnv(process.env));
    const t0 = process.hrtime.bigint();
    let storedBytes: number;
    const inputBytes = statSync(file).size;
    if (variant === "plain") {
        const up = new Upload({
            client: s3,
            partSize: PART_MIB * 1024 * 1024,
            queueSize: QUEUE,
            params: { Bucket: BUCKET, Key: key, Body: createReadStream(file), ChecksumAlgorithm: ChecksumAlgorithm.CRC32 },
        });
        await up.done();
        storedBytes = inputBytes;
    } else {
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
            partSizeMiB: PART_MIB,
            queueSize: QUEUE,
            gzipLevel: Number(process.env.BENCH_GZIP_LEVEL ?? "6"),
            gzipParallel: Number(process.env.BENCH_GZIP_PARALLEL ?? "3"),
        });
        if (m.content.tarBytes !== inputBytes) throw new Error(`pipeline saw ${m.content.tarBytes} tar bytes, the file has ${inputBytes}`);
        storedBytes = m.object.bytes;
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const r: RunResult = { variant, seconds, inputBytes, storedBytes, peakRssBytes: peakRssBytes() };
    process.stdout.write(JSON.stringify(r) + "\n");
}

// ---- parent side

function runChild(variant: string, key: string, file: string, env: Record<string, string>): Promise<RunResult> {
    return new Promise((ok, fail) => {
        const p = spawn(process.execPath, [__filename, "--child", variant, key, file], {
            env: { PATH: process.env.PATH ?? "", ...env },
            stdio: [variant === "plain" ? "ignore" : "pipe", "pipe", "pipe"],
        });
        let out = "";
        let err = "";
        p.stdout!.on("data", (d) => (out += d));
        p.stderr!.on("data", (d) => (err += d));
        // The producer: the same file's bytes through a pipe (cheapest possible producer, so the pipeline's own
        // cost is what is measured).
        if (p.stdin) pipeline(createReadStream(file), p.stdin).catch((e) => (err += `producer: ${(e as Error).message}\n`));
        p.on("error", fail);
        p.on("close", (code) => {
            if (code !== 0) return fail(new Error(`${variant} run failed (exit ${code}): ${err}`));
            ok(JSON.parse(out.trim().split("\n").pop()!) as RunResult);
        });
    });
}

const median = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const MiB = 1024 * 1024;

function flag(argv: string[], name: string, def: number): number {
    const i = argv.indexOf(`--${name}`);
    if (i < 0) return def;
    const v = Number(argv[i + 1]);
    if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} '${argv[i + 1]}' must be a positive number`);
    return v;
}

async function main(argv: string[]): Promise<void> {
    if (argv[0] === "--child") return child(argv[1], argv[2], argv[3]);
    const runs = flag(argv, "runs", 3);
    const gib = flag(argv, "gib", 1);
    const withAge = !argv.includes("--no-age");
    const started = Date.now();
    const dir = mkdtempSync(join(tmpdir(), "dtr-ha-bench-"));
    const minio = await Minio.start();
    try {
        await minio.plainBucket(BUCKET);
        const file = join(dir, "backup.tar");
        process.stderr.write(`bench: writing a ${gib} GiB synthetic backup tar (half JSON text, half random) to ${file}\n`);
        await pipeline(synthTar({ totalBytes: gib * 1024 * MiB, entryBytes: 8 * MiB, seed: "bench" }), createWriteStream(file));
        const inputBytes = statSync(file).size;
        // "pipeline" is the agent's default (gzip -6, 3 blocks at once); the others show what --gzip-parallel 1
        // (one core) and --gzip-level 1 change, and what age costs.
        const variants = ["plain", "pipeline", "pipeline gzip-serial", "pipeline gzip-1", ...(withAge ? ["pipeline+age"] : [])];
        const recipient = await identityToRecipient(await generateX25519Identity());
        const results: RunResult[] = [];
        const s3 = minio.client();
        for (let i = 0; i < runs; i++) {
            // Interleaved, so drift (page cache, MinIO warm-up) hits every variant alike.
            for (const v of variants) {
                const key = `bench/${v.replace(/\W+/g, "-")}-${i}`;
                const env = {
                    ...minio.env,
                    ...(v === "pipeline+age" ? { BENCH_RECIPIENT: recipient } : {}),
                    ...(v === "pipeline gzip-1" ? { BENCH_GZIP_LEVEL: "1" } : {}),
                    ...(v === "pipeline gzip-serial" ? { BENCH_GZIP_PARALLEL: "1" } : {}),
                };
                const r = await runChild(v === "plain" ? "plain" : "pipeline", key, file, env);
                r.variant = v;
                results.push(r);
                process.stderr.write(
                    `bench: run ${i + 1}/${runs} ${v}: ${r.seconds.toFixed(2)} s, ${(r.inputBytes / MiB / r.seconds).toFixed(1)} MiB/s, peak RSS ${(r.peakRssBytes / MiB).toFixed(0)} MiB\n`,
                );
                await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
            }
        }
        s3.destroy();
        const summary = variants.map((v) => {
            const rs = results.filter((r) => r.variant === v);
            const seconds = median(rs.map((r) => r.seconds));
            return {
                variant: v,
                runs: rs.length,
                medianSeconds: +seconds.toFixed(3),
                medianMiBps: +(inputBytes / MiB / seconds).toFixed(1),
                medianPeakRssMiB: +(median(rs.map((r) => r.peakRssBytes)) / MiB).toFixed(1),
                maxPeakRssMiB: +(Math.max(...rs.map((r) => r.peakRssBytes)) / MiB).toFixed(1),
                storedMiB: +(median(rs.map((r) => r.storedBytes)) / MiB).toFixed(1),
            };
        });
        const plain = summary[0];
        const ratio = (v: string): number => +(summary.find((s) => s.variant === v)!.medianMiBps / plain.medianMiBps).toFixed(3);
        console.log(
            `\nbackup pipeline vs plain upload: ${(inputBytes / MiB).toFixed(0)} MiB tar, ${runs} runs each, ${PART_MIB} MiB parts x ${QUEUE} in flight, MinIO on 127.0.0.1`,
        );
        console.log("variant               median s   MiB/s   ratio   peak RSS MiB (median/max)   stored MiB");
        for (const s of summary) {
            console.log(
                `${s.variant.padEnd(21)} ${s.medianSeconds.toFixed(2).padStart(8)} ${s.medianMiBps.toFixed(1).padStart(7)} ${ratio(s.variant).toFixed(3).padStart(7)}   ${`${s.medianPeakRssMiB.toFixed(0)} / ${s.maxPeakRssMiB.toFixed(0)}`.padStart(25)} ${s.storedMiB.toFixed(0).padStart(12)}`,
            );
        }
        console.log(
            JSON.stringify({
                bench: "backup-pipeline",
                inputBytes,
                runs,
                partSizeMiB: PART_MIB,
                queueSize: QUEUE,
                gzipLevel: 6,
                gzipParallel: 3,
                throughputRatio: ratio("pipeline"),
                throughputRatioGzipSerial: ratio("pipeline gzip-serial"),
                throughputRatioGzip1: ratio("pipeline gzip-1"),
                ...(withAge ? { throughputRatioAge: ratio("pipeline+age") } : {}),
                variants: summary,
                cpus: (await import("node:os")).cpus().length,
                wallSeconds: Math.round((Date.now() - started) / 1000),
            }),
        );
    } finally {
        await minio.stop();
        rmSync(dir, { recursive: true, force: true });
    }
}

main(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`bench: error: ${(e as Error).message}\n`);
    process.exitCode = 1;
});

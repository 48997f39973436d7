// Runs the upload pipeline on stdin in its own process and prints {manifest, maxRssBytes}: the memory test
// and the benchmark read the peak RSS of exactly this process. S3 settings come from env, as in the CLI.
import { makeS3Client, s3SettingsFromEnv } from "../src/s3";
import { uploadBackup } from "../src/upload";
import { peakRssBytes } from "./peak-rss";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

async function main(): Promise<void> {
    const [bucket, key] = process.argv.slice(2);
    const s3 = makeS3Client(s3SettingsFromEnv(process.env));
    const t0 = process.hrtime.bigint();
    const manifest = await uploadBackup(process.stdin, s3, {
        bucket,
        key,
        kind: "dtr",
        cluster: "rss",
        sourceStack: null,
        meta: {},
        recipients: process.env.RSS_RECIPIENT ? [process.env.RSS_RECIPIENT] : [],
        lock: null,
        ...(process.env.RSS_PARALLEL ? { parallel: Number(process.env.RSS_PARALLEL) } : {}),
        ...(process.env.RSS_PART_MIB ? { partSizeMiB: Number(process.env.RSS_PART_MIB) } : {}),
    });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    process.stdout.write(
        JSON.stringify({ manifest, seconds, maxRssBytes: peakRssBytes(), ruMaxRssBytes: process.resourceUsage().maxRSS * 1024 }) + "\n",
    );
}

main().catch((e) => {
    process.stderr.write(`rss-child: ${(e as Error).message}\n`);
    process.exitCode = 1;
});

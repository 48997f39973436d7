// The upload pipeline's defaults, chosen by measurement: see the README's benchmark (bench/backup-pipeline.ts).
import type { ManifestCompression } from "./manifest";

export const DEFAULTS = {
    compression: "zstd" as ManifestCompression,
    level: { gzip: 6, zstd: 1 } as Record<ManifestCompression, number>,
    parallel: 3,
    blockMiB: 1,
    partSizeMiB: 8,
    queueSize: 2,
};

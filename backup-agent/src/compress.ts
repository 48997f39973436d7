// Parallel block compression: the stream is cut into blocks, each compressed as its own gzip member or zstd frame
// on the libuv thread pool, several at once, and written out in order. Concatenated members (RFC 1952, 2.2) and
// concatenated frames (RFC 8878, 3) are each one valid file: gunzip/zcat and zstd -d, and Node's decompressors,
// read them as one stream. One zlib stream runs on one core at a time, so this is where a second core helps.
// Memory: about parallel x blockBytes in, as much out, whatever the backup's size.
import { Transform, TransformCallback } from "node:stream";
import * as zlib from "node:zlib";

import { ManifestCompression } from "./manifest";

export type Compression = ManifestCompression;

/** zstd is in zlib from Node 22.15 / 23.8; the agent's image carries a Node that has it (see build-image.sh). */
export function zstdAvailable(): boolean {
    return typeof (zlib as { zstdCompress?: unknown }).zstdCompress === "function";
}

export function needZstd(): void {
    if (!zstdAvailable())
        throw new Error(`zstd needs Node >= 22.15 (this is ${process.version}): run the agent's image, or use --compression gzip`);
}

export function compressBlock(codec: Compression, block: Buffer, level: number): Promise<Buffer> {
    return new Promise((ok, fail) => {
        const done = (err: Error | null, out: Buffer): void => (err ? fail(err) : ok(out));
        // One output chunk as big as the block (plus what incompressible data grows by): one trip to the thread
        // pool per block, instead of one per 16 KiB of output (zlib's default chunkSize).
        const chunkSize = block.length + (block.length >> 7) + 1024;
        if (codec === "gzip") return zlib.gzip(block, { level, chunkSize }, done);
        needZstd();
        const c = zlib.constants;
        zlib.zstdCompress(
            block,
            { chunkSize, params: { [c.ZSTD_c_compressionLevel]: level, [c.ZSTD_c_checksumFlag]: 1, [c.ZSTD_c_contentSizeFlag]: 1 } },
            done,
        );
    });
}

/** The same as compressBlock, on the calling thread (the upload's worker thread, which has nothing else to do). */
export function compressBlockSync(codec: Compression, block: Buffer, level: number): Buffer {
    const chunkSize = block.length + (block.length >> 7) + 1024;
    if (codec === "gzip") return zlib.gzipSync(block, { level, chunkSize });
    needZstd();
    const c = zlib.constants;
    return zlib.zstdCompressSync(block, {
        chunkSize,
        params: { [c.ZSTD_c_compressionLevel]: level, [c.ZSTD_c_checksumFlag]: 1, [c.ZSTD_c_contentSizeFlag]: 1 },
    });
}

/** The streaming decompressor for a stored object's compression (old backups are gzip). */
export function createDecompress(codec: Compression): Transform {
    // 1 MiB of output per trip to the thread pool (the default, 16 KiB, makes the trips the cost).
    const chunkSize = 1024 * 1024;
    if (codec === "gzip") return zlib.createGunzip({ chunkSize });
    needZstd();
    return zlib.createZstdDecompress({ chunkSize });
}

/**
 * The same frames as a stream stage on the libuv pool. The upload now compresses on its worker thread
 * (src/offload-worker.ts: the same compressBlock/compressBlockSync, the same frames); this stays as the reference
 * the format tests run against.
 */
export class ParallelCompress extends Transform {
    private pending: Buffer[] = [];
    private pendingBytes = 0;
    private readonly inFlight: Promise<Buffer>[] = [];

    /**
     * @param codec gzip members or zstd frames
     * @param level gzip 1-9, zstd 1-19
     * @param blockBytes each member's or frame's input
     * @param parallel blocks compressed at once
     */
    constructor(
        private readonly codec: Compression,
        private readonly level: number,
        private readonly blockBytes = 1024 * 1024,
        private readonly parallel = 3,
    ) {
        super();
        if (codec === "zstd") needZstd();
    }

    override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
        this.pending.push(chunk);
        this.pendingBytes += chunk.length;
        this.drainFull().then(() => cb(), cb);
    }

    override _flush(cb: TransformCallback): void {
        if (this.pendingBytes > 0) this.start(Buffer.concat(this.pending));
        this.pending = [];
        this.pendingBytes = 0;
        this.emitWhile(0).then(() => cb(), cb);
    }

    private async drainFull(): Promise<void> {
        while (this.pendingBytes >= this.blockBytes) {
            const all = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
            this.start(all.subarray(0, this.blockBytes));
            const rest = all.subarray(this.blockBytes);
            this.pending = rest.length > 0 ? [rest] : [];
            this.pendingBytes = rest.length;
            await this.emitWhile(this.parallel - 1);
        }
    }

    private start(block: Buffer): void {
        const p = compressBlock(this.codec, block, this.level);
        p.catch(() => undefined); // awaited in order by emitWhile; this keeps a failure from being "unhandled"
        this.inFlight.push(p);
    }

    /** Waits for the oldest blocks, in order, until at most `keep` are still compressing. */
    private async emitWhile(keep: number): Promise<void> {
        while (this.inFlight.length > keep) this.push(await this.inFlight.shift()!);
    }
}

// Parallel gzip: the stream is cut into blocks, each compressed as its own gzip member on the libuv thread pool,
// several at once, and written out in order. Concatenated members are one valid gzip file (RFC 1952, 2.2):
// gunzip, zcat and Node's gunzip read them as one stream. One zlib stream runs on one core at a time, and gzip is
// the pipeline's bottleneck (see the benchmark), so this is where a second core helps.
import { Transform, TransformCallback } from "node:stream";
import { gzip } from "node:zlib";

function gzipBlock(block: Buffer, level: number): Promise<Buffer> {
    return new Promise((ok, fail) => gzip(block, { level }, (err, out) => (err ? fail(err) : ok(out))));
}

export class ParallelGzip extends Transform {
    private pending: Buffer[] = [];
    private pendingBytes = 0;
    private readonly inFlight: Promise<Buffer>[] = [];

    /**
     * @param level zlib level 1-9
     * @param blockBytes size of each member's input; 1 MiB loses almost nothing against one long stream
     * @param parallel blocks compressed at once (memory: about parallel x blockBytes)
     */
    constructor(
        private readonly level: number,
        private readonly blockBytes = 1024 * 1024,
        private readonly parallel = 3,
    ) {
        super();
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
        const p = gzipBlock(block, this.level);
        p.catch(() => undefined); // awaited in order by emitWhile; this keeps a failure from being "unhandled"
        this.inFlight.push(p);
    }

    /** Waits for the oldest blocks, in order, until at most `keep` are still compressing. */
    private async emitWhile(keep: number): Promise<void> {
        while (this.inFlight.length > keep) this.push(await this.inFlight.shift()!);
    }
}

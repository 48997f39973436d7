// Checks, while the bytes pass, that the stream is one complete tar archive: every header parses and has a
// good checksum (tar-stream), every entry's data is all there, at least one entry exists, and the archive
// ends with the end-of-archive marker (two zero blocks). tar-stream alone accepts a stream that stops exactly
// between two entries, which is what a producer killed mid-backup can leave, so the marker is checked here.
import { Transform, TransformCallback } from "node:stream";
import { extract, Extract, Header } from "tar-stream";
import { MAX_LISTED_FILES } from "./manifest";

export class TarError extends Error {
    constructor(message: string) {
        super(`not a complete tar archive: ${message}`);
        this.name = "TarError";
    }
}

export class TarCheck extends Transform {
    entries = 0;
    readonly files: string[] = [];
    private readonly x: Extract = extract();
    private total = 0;
    /** Offset just past the last entry's (padded) data: the end-of-archive marker must start here. */
    private dataEnd = 0;
    /** Absolute offset of the last non-zero byte seen, -1 if none. */
    private lastNonZero = -1;
    private failure: Error | null = null;

    constructor() {
        super();
        this.x.on("entry", (h: Header & { byteOffset?: number }, stream, next) => {
            this.entries++;
            if (this.files.length < MAX_LISTED_FILES) this.files.push(h.name);
            const size = h.type === "directory" ? 0 : (h.size ?? 0);
            this.dataEnd = (h.byteOffset ?? 0) + Math.ceil(size / 512) * 512;
            stream.on("end", () => next());
            stream.on("error", () => undefined); // the same failure arrives on the parser's "error"
            stream.resume();
        });
        this.x.on("error", (e: Error) => {
            this.failure ??= new TarError(e.message);
        });
    }

    override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
        if (this.failure) return cb(this.failure);
        for (let i = chunk.length - 1; i >= 0; i--) {
            if (chunk[i] !== 0) {
                this.lastNonZero = this.total + i;
                break;
            }
        }
        this.total += chunk.length;
        // Hold the chunk until the parser has room again, so memory stays bounded; any parse error is caught
        // at the latest in _flush, before the stream ends, so nothing downstream sees a clean end.
        if (this.x.write(chunk)) return this.failure ? cb(this.failure) : cb(null, chunk);
        const onDrain = (): void => {
            this.x.off("close", onDrain);
            this.x.off("drain", onDrain);
            if (this.failure) return cb(this.failure);
            if (this.x.destroyed) return cb(new TarError("the parser stopped"));
            cb(null, chunk);
        };
        this.x.on("drain", onDrain);
        this.x.on("close", onDrain);
    }

    override _flush(cb: TransformCallback): void {
        if (this.failure) return cb(this.failure);
        let done = false;
        const finish = (err: Error | null): void => {
            if (done) return;
            done = true;
            cb(err ?? this.endProblem());
        };
        this.x.once("error", (e: Error) => finish(new TarError(e.message)));
        this.x.once("finish", () => setImmediate(() => finish(this.failure)));
        (this.x as unknown as { end(): void }).end();
    }

    private endProblem(): Error | null {
        if (this.total === 0) return new TarError("the input was empty (did the producer on the left of the pipe fail?)");
        if (this.entries === 0) return new TarError("it has no entries");
        if (this.total - this.dataEnd < 1024) {
            return new TarError(
                `it stops after ${this.total} bytes without the end-of-archive marker (truncated: did the producer stop early?)`,
            );
        }
        if (this.lastNonZero >= this.dataEnd) return new TarError(`unexpected data after the last entry at byte ${this.dataEnd}`);
        return null;
    }
}

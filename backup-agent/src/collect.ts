// A full garbage collection on demand, for the upload's two threads. Each pass of the pipeline leaves buffers behind
// (stdin's chunks and the SDK's on the main thread; the compressor's output and the sealed pieces on the worker)
// that V8 collects only once tens of MiB of them piled up (its external-memory soft limit is 64 MiB): RSS for
// nothing. Collecting at a steady pace instead (a minor collection per S3 part on the main thread, a full one every
// few blocks on the worker, whose heap is tiny) measured ~40 MiB less peak RSS at the same throughput (512 MiB with
// age: ~204 instead of ~230-250 MiB; see the README's benchmark).
import { Transform, TransformCallback } from "node:stream";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let gc: ((o?: { type: "major" | "minor" }) => void) | null | undefined;

/** Collects now; a no-op where the runtime does not allow it. */
export function collectGarbage(type: "major" | "minor" = "major"): void {
    if (gc === undefined) {
        try {
            setFlagsFromString("--expose-gc");
            gc = runInNewContext("gc") as typeof gc;
        } catch {
            gc = null;
        }
    }
    gc?.({ type });
}

/**
 * A pass-through that runs a minor collection every `everyBytes` that flow through it. The restore's main thread
 * makes ~2 bytes of short-lived buffers per byte of tar (the HTTP chunks, the decompressor's output); left to V8, they
 * pile up until the external-memory limit forces full collections of a heap that holds the SDK. Measured on 512 MiB
 * (zstd, one child, same object): 2.0-2.5 CPU-s and ~165 MiB peak RSS without, ~1.45 CPU-s and ~137 MiB with a minor
 * collection every 16 MiB of tar (every 4 MiB: ~1.8 CPU-s; every 32 or 64 MiB: back to ~2.2-2.5 in most runs).
 */
export class CollectEvery extends Transform {
    private since = 0;

    constructor(private readonly everyBytes: number) {
        super();
    }

    override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
        this.since += chunk.length;
        if (this.since >= this.everyBytes) {
            this.since = 0;
            collectGarbage("minor");
        }
        cb(null, chunk);
    }
}

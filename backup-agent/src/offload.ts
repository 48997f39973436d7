// The byte work of a backup (SHA-256 of the tar, compression, age sealing, SHA-256 of the stored bytes) on a worker
// thread (src/offload-worker.ts), so the main thread keeps only stdin, the tar check and S3's HTTP: measured, the
// main thread was the limit, and most of it was garbage collection of the buffers a stream pipeline allocates per
// chunk (see the README's benchmark). The threads share two fixed rings instead: tar blocks in, S3 parts out.
//
//   PackWriter (a Writable): the tar goes in; each full part slot comes out through `onPart(slot, bytes)`, and the
//   slot is reused once `freePart(slot)` says it was uploaded. `result` has the sizes and SHA-256s at the end.
import { join } from "node:path";
import { Writable } from "node:stream";
import { Worker } from "node:worker_threads";
import { Compression } from "./compress";

export interface PackInit {
    codec: Compression;
    level: number;
    age: { prefix: Uint8Array; key: Uint8Array } | null;
    inRing: SharedArrayBuffer;
    blockBytes: number;
    partRing: SharedArrayBuffer;
    partBytes: number;
    partSlots: number;
}

export type ToWorker = { t: "block"; slot: number; len: number } | { t: "end" } | { t: "freePart"; slot: number };
export type FromWorker =
    | { t: "freeIn"; slot: number }
    | { t: "part"; slot: number; len: number }
    | { t: "done"; tarBytes: number; tarSha256: string; storedBytes: number; storedSha256: string }
    | { t: "error"; name: string; message: string };

export interface PackResult {
    tarBytes: number;
    tarSha256: string;
    storedBytes: number;
    storedSha256: string;
}

const WORKER = join(__dirname, "offload-worker.js");

export class PackWriter extends Writable {
    result: PackResult | null = null;
    private readonly w: Worker;
    private readonly inRing: Buffer;
    private readonly partRing: Buffer;
    private readonly freeIn: number[];
    private slot: number | null = null;
    private fill = 0;
    private room: (() => void) | null = null;
    private finalCb: ((e?: Error | null) => void) | null = null;

    /**
     * @param blockBytes each compressed block's (zstd frame's, gzip member's) input
     * @param inSlots tar blocks in flight between the threads (at least the gzip `parallel`)
     * @param partBytes S3 part size
     * @param partSlots parts being filled or uploaded
     * @param onPart called with each full part, in order (the last may be short)
     */
    constructor(
        o: { codec: Compression; level: number; age: { prefix: Uint8Array; key: Uint8Array } | null },
        private readonly blockBytes: number,
        inSlots: number,
        private readonly partBytes: number,
        partSlots: number,
        private readonly onPart: (slot: number, bytes: Buffer) => void,
    ) {
        super({ highWaterMark: 64 * 1024 });
        const inRing = new SharedArrayBuffer(blockBytes * inSlots);
        const partRing = new SharedArrayBuffer(partBytes * partSlots);
        this.inRing = Buffer.from(inRing);
        this.partRing = Buffer.from(partRing);
        this.freeIn = Array.from({ length: inSlots }, (_, i) => i);
        const init: PackInit = { ...o, inRing, blockBytes, partRing, partBytes, partSlots };
        this.w = new Worker(WORKER, { workerData: init });
        this.w.on("message", (m: FromWorker) => this.onMessage(m));
        this.w.on("error", (e) => this.destroy(e));
        this.w.on("exit", (code) => {
            if (this.result === null && !this.destroyed) this.destroy(new Error(`the pack worker exited (${code}) before the end`));
        });
    }

    /** The part in `slot` is uploaded: the worker may fill it again. */
    freePart(slot: number): void {
        if (!this.destroyed) this.w.postMessage({ t: "freePart", slot } satisfies ToWorker);
    }

    private onMessage(m: FromWorker): void {
        if (this.destroyed) return;
        switch (m.t) {
            case "freeIn": {
                this.freeIn.push(m.slot);
                const r = this.room;
                this.room = null;
                return r?.();
            }
            case "part":
                return this.onPart(m.slot, this.partRing.subarray(m.slot * this.partBytes, m.slot * this.partBytes + m.len));
            case "done": {
                this.result = { tarBytes: m.tarBytes, tarSha256: m.tarSha256, storedBytes: m.storedBytes, storedSha256: m.storedSha256 };
                void this.w.terminate();
                const cb = this.finalCb;
                this.finalCb = null;
                return cb?.();
            }
            case "error": {
                const e = new Error(m.message);
                e.name = m.name;
                this.destroy(e);
            }
        }
    }

    override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
        this.feed(chunk, 0, cb);
    }

    private feed(chunk: Buffer, at: number, cb: (e?: Error | null) => void): void {
        while (at < chunk.length) {
            if (this.slot === null) {
                if (this.freeIn.length === 0) {
                    this.room = () => this.feed(chunk, at, cb);
                    return;
                }
                this.slot = this.freeIn.shift()!;
                this.fill = 0;
            }
            const base = this.slot * this.blockBytes;
            const n = chunk.copy(this.inRing, base + this.fill, at, at + Math.min(chunk.length - at, this.blockBytes - this.fill));
            at += n;
            this.fill += n;
            if (this.fill === this.blockBytes) this.send();
        }
        cb();
    }

    private send(): void {
        this.w.postMessage({ t: "block", slot: this.slot!, len: this.fill } satisfies ToWorker);
        this.slot = null;
        this.fill = 0;
    }

    override _final(cb: (e?: Error | null) => void): void {
        if (this.slot !== null && this.fill > 0) this.send();
        this.finalCb = cb;
        this.w.postMessage({ t: "end" } satisfies ToWorker);
    }

    override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
        this.room = null;
        const f = this.finalCb;
        this.finalCb = null;
        f?.(err ?? new Error("stopped"));
        void this.w.terminate();
        cb(err);
    }
}

// The worker thread behind src/offload.ts: the byte work of a backup, off the main thread (which keeps stdin, the tar
// check and S3's HTTP). Blocks of the tar arrive in slots of a shared input ring; the stored bytes leave in slots of a
// shared ring of S3 parts, which the main thread uploads as they fill. Nothing is allocated per block on either side
// but the compressor's output, and nothing is copied between the threads but into those rings.
//
//   block -> SHA-256 of the tar -> zstd (here, synchronously) or gzip (on the libuv pool, `parallel` at once)
//         -> age sealing (when a key is given) -> SHA-256 of the stored bytes -> part slots
//
// An input slot is handed back once its block's stored bytes are all in part slots, so memory is the two rings plus
// a few blocks, whatever the backup's size.
import { createHash } from "node:crypto";
import { parentPort, workerData } from "node:worker_threads";
import { AgeSealer } from "./age-stream";
import { collectGarbage } from "./collect";
import { compressBlock, compressBlockSync } from "./compress";
import type { FromWorker, PackInit, ToWorker } from "./offload";

const port = parentPort!;

// Every block leaves garbage here (the compressor's output, the sealed pieces), ~2 bytes per byte of tar: a full
// collection every 8 blocks (src/collect.ts). Measured: every 2 blocks halved this thread's speed; minor collections
// left ~20 MiB more (the outputs outlive a scavenge or two while they wait in the queue).
const COLLECT_EVERY = 8;
let blocks = 0;
const post = (m: FromWorker): void => port.postMessage(m);

const o = workerData as PackInit;
const tarHash = createHash("sha256");
const storedHash = createHash("sha256");
let tarBytes = 0;
let storedBytes = 0;
const sealer = o.age ? new AgeSealer(Buffer.from(o.age.prefix), Buffer.from(o.age.key)) : null;
const inRing = Buffer.from(o.inRing);
const partRing = Buffer.from(o.partRing);

// Stored bytes waiting for room in a part slot, with the input slot to hand back once they are all placed.
const waiting: { b: Buffer; inSlot: number }[] = [];
const freeParts: number[] = Array.from({ length: o.partSlots }, (_, i) => i);
let part: number | null = null;
let partFill = 0;
let ended = false;
let failed = false;
let chain: Promise<void> = Promise.resolve();

function fail(e: unknown): void {
    if (failed) return;
    failed = true;
    const err = e as Error;
    post({ t: "error", name: err?.name ?? "Error", message: err?.message ?? String(e) });
}

/** The stored bytes of one block (or of the end: inSlot -1), hashed and queued for the part slots. */
function stored(pieces: Buffer[], inSlot: number): void {
    for (const b of pieces) {
        storedHash.update(b);
        storedBytes += b.length;
        waiting.push({ b, inSlot: -1 });
    }
    // The input slot goes back with the last piece (an empty marker when there is none).
    waiting.push({ b: Buffer.alloc(0), inSlot });
    place();
}

/** Copies waiting stored bytes into part slots while there are slots; posts each part when full. */
function place(): void {
    while (waiting.length > 0) {
        if (part === null) {
            if (freeParts.length === 0) return;
            part = freeParts.shift()!;
            partFill = 0;
        }
        const w = waiting[0];
        const n = w.b.copy(partRing, part * o.partBytes + partFill, 0, Math.min(w.b.length, o.partBytes - partFill));
        partFill += n;
        w.b = w.b.subarray(n);
        if (partFill === o.partBytes) {
            post({ t: "part", slot: part, len: partFill });
            part = null;
        }
        if (w.b.length === 0) {
            waiting.shift();
            if (w.inSlot >= 0) post({ t: "freeIn", slot: w.inSlot });
        }
    }
    if (ended && waiting.length === 0) finish();
}

let finished = false;
function finish(): void {
    if (finished || failed) return;
    // The last part, possibly short; an empty one only when nothing at all was stored (S3 wants one part).
    if (part === null && storedBytes === 0) {
        if (freeParts.length === 0) return;
        part = freeParts.shift()!;
        partFill = 0;
    }
    finished = true;
    if (part !== null) post({ t: "part", slot: part, len: partFill });
    part = null;
    post({ t: "done", tarBytes, tarSha256: tarHash.digest("hex"), storedBytes, storedSha256: storedHash.digest("hex") });
}

port.on("message", (m: ToWorker) => {
    if (failed) return;
    if (m.t === "freePart") {
        freeParts.push(m.slot);
        return place();
    }
    if (m.t === "end") {
        chain = chain.then(() => {
            ended = true;
            if (sealer) stored(sealer.end(), -1);
            else place();
        });
        chain.catch(fail);
        return;
    }
    if (++blocks % COLLECT_EVERY === 0) collectGarbage("major");
    const block = inRing.subarray(m.slot * o.blockBytes, m.slot * o.blockBytes + m.len);
    tarHash.update(block);
    tarBytes += block.length;
    // zstd -1 compresses a 1 MiB block in about what a trip to the libuv pool and back costs: here, synchronously.
    // gzip (slower per byte) goes to the pool, `parallel` blocks at once, from a copy (the slot is handed back later).
    let out: Promise<Buffer>;
    try {
        out =
            o.codec === "zstd"
                ? Promise.resolve(compressBlockSync(o.codec, block, o.level))
                : compressBlock(o.codec, Buffer.from(block), o.level);
    } catch (e) {
        return fail(e);
    }
    out.catch(() => undefined); // awaited in order below; this keeps a failure from being "unhandled"
    chain = chain.then(() => out).then((b) => stored(sealer ? sealer.push(b) : [b], m.slot));
    chain.catch(fail);
});

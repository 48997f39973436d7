// A full garbage collection on demand, for the upload's two threads. Each pass of the pipeline leaves buffers behind
// (stdin's chunks and the SDK's on the main thread; the compressor's output and the sealed pieces on the worker)
// that V8 collects only once tens of MiB of them piled up (its external-memory soft limit is 64 MiB): RSS for
// nothing. Collecting at a steady pace instead (a minor collection per S3 part on the main thread, a full one every
// few blocks on the worker, whose heap is tiny) measured ~40 MiB less peak RSS at the same throughput (512 MiB with
// age: ~204 instead of ~230-250 MiB; see the README's benchmark).
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

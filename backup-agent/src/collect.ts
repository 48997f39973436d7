// A full garbage collection on demand, for the upload's two threads. Each pass of the pipeline leaves buffers behind
// (stdin's chunks and the SDK's on the main thread; the compressor's output and the sealed pieces on the worker)
// that V8 collects only once tens of MiB of them piled up (its external-memory soft limit is 64 MiB): RSS for
// nothing. Collecting at a steady pace instead (every S3 part on the main thread, every few blocks on the worker,
// both heaps are small) measured ~40 MiB less peak RSS at the same throughput (see the README's benchmark).
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let gc: (() => void) | null | undefined;

/** Collects now; a no-op where the runtime does not allow it. */
export function collectGarbage(): void {
    if (gc === undefined) {
        try {
            setFlagsFromString("--expose-gc");
            gc = runInNewContext("gc") as () => void;
        } catch {
            gc = null;
        }
    }
    gc?.();
}

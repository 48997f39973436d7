// Tar archives made in the test itself: small ones in memory, and big synthetic ones generated on the fly
// (deterministic for a seed, half compressible text, half incompressible AES-CTR keystream).
import { createCipheriv, createHash } from "node:crypto";
import { Readable } from "node:stream";

function octal(n: number, width: number): string {
    return n.toString(8).padStart(width - 1, "0") + "\0";
}

/** A ustar header block for a regular file. */
export function tarHeader(name: string, size: number, mtime = 1_700_000_000): Buffer {
    if (Buffer.byteLength(name) > 100) throw new Error(`tar name too long for this test helper: ${name}`);
    const h = Buffer.alloc(512);
    h.write(name, 0, 100, "utf8");
    h.write(octal(0o644, 8), 100);
    h.write(octal(0, 8), 108);
    h.write(octal(0, 8), 116);
    h.write(octal(size, 12), 124);
    h.write(octal(mtime, 12), 136);
    h.write("        ", 148); // checksum is computed with this field as spaces
    h.write("0", 156);
    h.write("ustar\0", 257);
    h.write("00", 263);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(octal(sum, 7) + " ", 148);
    return h;
}

const pad = (n: number): Buffer => Buffer.alloc((512 - (n % 512)) % 512);
export const END_OF_ARCHIVE = Buffer.alloc(1024);

export function tarOf(files: { name: string; data: Buffer | string }[]): Buffer {
    const parts: Buffer[] = [];
    for (const f of files) {
        const d = Buffer.isBuffer(f.data) ? f.data : Buffer.from(f.data);
        parts.push(tarHeader(f.name, d.length), d, pad(d.length));
    }
    parts.push(END_OF_ARCHIVE);
    return Buffer.concat(parts);
}

export interface SynthOptions {
    totalBytes: number;
    entryBytes?: number;
    seed?: string;
}

/** Generates a tar of about totalBytes (entries of entryBytes) without holding more than one 1 MiB chunk. */
export function synthTar(o: SynthOptions): Readable {
    const entryBytes = o.entryBytes ?? 8 * 1024 * 1024;
    const entries = Math.max(1, Math.ceil(o.totalBytes / entryBytes));
    const key = createHash("sha256")
        .update(o.seed ?? "dtr-ha")
        .digest()
        .subarray(0, 16);
    const keystream = createCipheriv("aes-128-ctr", key, Buffer.alloc(16));
    const zeros = Buffer.alloc(1024 * 1024);
    let entry = 0;
    let left = 0; // bytes of the current entry still to emit
    let line = 0;
    const text = (n: number): Buffer => {
        const lines: string[] = [];
        let len = 0;
        while (len < n) {
            const l = `{"repository":"team-${line % 97}/app-${line % 1013}","tag":"v${line % 31}.${line % 7}","layers":${line % 17},"pushedAt":${1_700_000_000 + line}}\n`;
            lines.push(l);
            len += l.length;
            line++;
        }
        return Buffer.from(lines.join("")).subarray(0, n);
    };
    return new Readable({
        highWaterMark: 1024 * 1024,
        read() {
            if (left === 0) {
                if (entry === entries) {
                    this.push(END_OF_ARCHIVE);
                    this.push(null);
                    return;
                }
                const name = `dtr-backup/${entry % 2 === 0 ? "metadata" : "blobs"}/part-${String(entry).padStart(5, "0")}.${entry % 2 === 0 ? "json" : "bin"}`;
                this.push(tarHeader(name, entryBytes));
                left = entryBytes;
                entry++;
                return;
            }
            const n = Math.min(left, zeros.length);
            left -= n;
            const chunk = (entry - 1) % 2 === 0 ? text(n) : keystream.update(zeros.subarray(0, n));
            // entryBytes is a multiple of 512 in every caller, so no padding is needed here.
            this.push(chunk);
        },
    });
}

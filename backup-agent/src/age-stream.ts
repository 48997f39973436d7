// age's payload (the STREAM construction: ChaCha20-Poly1305 over 64 KiB chunks) with Node's own crypto (OpenSSL),
// instead of the age-encryption package's pure-JS cipher, which ran ~100 MiB/s on one core and held the whole
// pipeline to that. The header (recipient stanzas, the file key's wrapping, the header MAC) is still written and read
// by the age-encryption package, so every recipient type it knows (X25519, hybrid post-quantum) works unchanged,
// and the output is a standard age file (spec: age-encryption.org/v1, "Payload").
//
//   payload = nonce(16) || chunk_0 || ... || chunk_n
//   key     = HKDF-SHA-256(ikm = file key, salt = nonce, info = "payload"), 32 bytes
//   chunk_i = ChaCha20-Poly1305(key, nonce = 11-byte big-endian i || (i == n ? 0x01 : 0x00), plaintext 64 KiB)
// Every chunk but the last holds exactly 64 KiB of plaintext; the last holds 1..64 KiB (0 only when it is the first).
import { createCipheriv, createDecipheriv, hkdfSync } from "node:crypto";
import { Transform, TransformCallback } from "node:stream";
import { Decrypter, Encrypter } from "age-encryption";
import { AgeError } from "./age";

export const CHUNK = 64 * 1024;
const TAG = 16;
const SEALED = CHUNK + TAG;
const NONCE = 16;
/** A header with many post-quantum stanzas is a few KiB; anything this long without its MAC line is not age. */
const MAX_HEADER = 1024 * 1024;

function chunkNonce(counter: number, last: boolean): Buffer {
    const n = Buffer.alloc(12);
    n.writeUIntBE(counter, 5, 6); // the 11-byte counter, of which 6 bytes (2^48 chunks = 16 EiB) are ever non-zero
    n[11] = last ? 1 : 0;
    return n;
}

function streamKey(fileKey: Uint8Array, nonce: Uint8Array): Buffer {
    return Buffer.from(hkdfSync("sha256", fileKey, nonce, "payload", 32));
}

/**
 * The header and payload nonce of a new age file for the encrypter's recipients, and the payload key. The header is the
 * library's own: it encrypts an empty file, while a recipient added first (writing no stanza) sees the file key.
 */
export async function newAgeFile(recipients: string[]): Promise<{ prefix: Buffer; key: Buffer }> {
    let fileKey: Uint8Array | null = null;
    const e = new Encrypter();
    e.addRecipient({ wrapFileKey: (k: Uint8Array) => ((fileKey = Uint8Array.from(k)), []) });
    for (const r of recipients) e.addRecipient(r); // already checked by makeEncrypter
    const empty = Buffer.from(await e.encrypt(new Uint8Array(0)));
    // An empty file is header || nonce || the one (empty, final) chunk's tag.
    const end = headerEnd(empty);
    if (fileKey === null || end < 0 || empty.length !== end + NONCE + TAG)
        throw new AgeError("age-encryption wrote an unexpected empty file: cannot derive the payload key");
    const prefix = empty.subarray(0, end + NONCE);
    return { prefix, key: streamKey(fileKey, prefix.subarray(end)) };
}

/** Length of the header (through the newline after the MAC line), or -1 when it is not all in `b` yet. */
function headerEnd(b: Buffer): number {
    const mac = b.indexOf("\n--- ");
    if (mac < 0) return -1;
    const nl = b.indexOf(0x0a, mac + 5);
    return nl < 0 ? -1 : nl + 1;
}

/** Plaintext in, age file out: the given prefix (header || nonce), then the sealed chunks. */
export class AgeEncrypt extends Transform {
    private pending: Buffer[] = [];
    private pendingBytes = 0;
    private counter = 0;
    private started = false;

    constructor(
        private readonly prefix: Buffer,
        private readonly key: Buffer,
    ) {
        super({ readableHighWaterMark: 1024 * 1024 });
    }

    override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
        this.pending.push(chunk);
        this.pendingBytes += chunk.length;
        // Keep at least one byte back: only the end of the input tells which chunk is the last.
        if (this.pendingBytes <= CHUNK) return cb();
        const all = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes);
        const n = Math.floor((all.length - 1) / CHUNK);
        const out: Buffer[] = this.start();
        for (let i = 0; i < n; i++) this.seal(all.subarray(i * CHUNK, (i + 1) * CHUNK), false, out);
        const rest = all.subarray(n * CHUNK);
        this.pending = [rest];
        this.pendingBytes = rest.length;
        cb(null, Buffer.concat(out));
    }

    override _flush(cb: TransformCallback): void {
        const out: Buffer[] = this.start();
        this.seal(Buffer.concat(this.pending, this.pendingBytes), true, out);
        this.pending = [];
        cb(null, Buffer.concat(out));
    }

    private start(): Buffer[] {
        if (this.started) return [];
        this.started = true;
        return [this.prefix];
    }

    private seal(plain: Buffer, last: boolean, out: Buffer[]): void {
        const c = createCipheriv("chacha20-poly1305", this.key, chunkNonce(this.counter++, last), { authTagLength: TAG });
        out.push(c.update(plain), c.final(), c.getAuthTag());
    }
}

/** Age file in, plaintext out; fails on a bad header, a wrong identity, a tampered, truncated or extended payload. */
export class AgeDecrypt extends Transform {
    private pending: Buffer[] = [];
    private pendingBytes = 0;
    private key: Buffer | null = null;
    private counter = 0;

    constructor(private readonly d: Decrypter) {
        super({ readableHighWaterMark: 1024 * 1024 });
    }

    override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
        this.pending.push(chunk);
        this.pendingBytes += chunk.length;
        if (this.key === null) {
            this.readHeader().then((ready) => (ready ? this.open(false, cb) : cb()), cb);
            return;
        }
        this.open(false, cb);
    }

    override _flush(cb: TransformCallback): void {
        if (this.key === null) {
            this.readHeader().then((ready) => (ready ? this.open(true, cb) : cb(new AgeError("the age file ends inside its header"))), cb);
            return;
        }
        this.open(true, cb);
    }

    /** Reads the header and nonce once they are all in; resolves true when the payload key is known. */
    private async readHeader(): Promise<boolean> {
        const all = Buffer.concat(this.pending, this.pendingBytes);
        this.pending = [all];
        const end = headerEnd(all);
        if (end < 0) {
            if (all.length > MAX_HEADER) throw new AgeError(`no age header in the first ${MAX_HEADER} bytes`);
            return false;
        }
        if (all.length < end + NONCE) return false;
        let fileKey: Uint8Array;
        try {
            fileKey = await this.d.decryptHeader(all.subarray(0, end));
        } catch (err) {
            throw new AgeError(`cannot decrypt: ${(err as Error).message} (is it the identity matching the manifest's recipients?)`);
        }
        this.key = streamKey(fileKey, all.subarray(end, end + NONCE));
        const rest = all.subarray(end + NONCE);
        this.pending = [rest];
        this.pendingBytes = rest.length;
        return true;
    }

    /** Opens every sealed chunk known not to be the last (or, at the end, all of them). */
    private open(atEnd: boolean, cb: TransformCallback): void {
        if (!atEnd && this.pendingBytes <= SEALED) return cb();
        const all = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes);
        const out: Buffer[] = [];
        let at = 0;
        try {
            while (all.length - at > SEALED) {
                out.push(this.openOne(all.subarray(at, at + SEALED), false));
                at += SEALED;
            }
            if (atEnd) {
                const last = all.subarray(at);
                if (last.length < TAG || (last.length === TAG && this.counter > 0))
                    throw new AgeError("the age payload is truncated (its last chunk is missing or incomplete)");
                out.push(this.openOne(last, true));
                at = all.length;
            }
        } catch (err) {
            return cb(err as Error);
        }
        const rest = all.subarray(at);
        this.pending = [rest];
        this.pendingBytes = rest.length;
        cb(null, out.length === 1 ? out[0] : Buffer.concat(out));
    }

    private openOne(sealed: Buffer, last: boolean): Buffer {
        const i = this.counter++;
        const d = createDecipheriv("chacha20-poly1305", this.key!, chunkNonce(i, last), { authTagLength: TAG });
        d.setAuthTag(sealed.subarray(sealed.length - TAG));
        const plain = d.update(sealed.subarray(0, sealed.length - TAG));
        try {
            d.final();
        } catch {
            throw new AgeError(
                last
                    ? `age chunk ${i} (the last) fails authentication: the object is tampered with or truncated`
                    : `age chunk ${i} fails authentication: the object is tampered with`,
            );
        }
        return plain;
    }
}

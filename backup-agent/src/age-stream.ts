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

/**
 * age's STREAM sealing, without a stream around it (the upload's worker thread uses it directly): plaintext in any
 * cut, the sealed bytes out as a list of pieces (no copy into one buffer: the caller copies them where they go).
 * `push` keeps at least one byte back, as only the end of the input tells which chunk is the last; `end` seals what
 * is left as the last chunk.
 */
export class AgeSealer {
    /** Plaintext of a chunk not known yet not to be the last: 0..CHUNK bytes. */
    private readonly held = Buffer.allocUnsafeSlow(CHUNK);
    private heldBytes = 0;
    private counter = 0;
    private started = false;

    constructor(
        private readonly prefix: Buffer,
        private readonly key: Buffer,
    ) {}

    /** The sealed bytes `chunk` completes (possibly none). */
    push(chunk: Buffer): Buffer[] {
        const out = this.start();
        let at = 0;
        for (;;) {
            // A full chunk held is not the last once any byte follows it.
            if (this.heldBytes === CHUNK && at < chunk.length) {
                this.seal(this.held, false, out);
                this.heldBytes = 0;
            }
            if (at >= chunk.length) return out;
            if (this.heldBytes === 0 && chunk.length - at > CHUNK) {
                this.seal(chunk.subarray(at, at + CHUNK), false, out); // sealed in place, no copy
                at += CHUNK;
                continue;
            }
            const n = chunk.copy(this.held, this.heldBytes, at, at + Math.min(chunk.length - at, CHUNK - this.heldBytes));
            this.heldBytes += n;
            at += n;
        }
    }

    /** The last chunk (all that is held), sealed. */
    end(): Buffer[] {
        const out = this.start();
        this.seal(this.held.subarray(0, this.heldBytes), true, out);
        this.heldBytes = 0;
        return out;
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

/** Plaintext in, age file out: the given prefix (header || nonce), then the sealed chunks. */
export class AgeEncrypt extends Transform {
    private readonly s: AgeSealer;

    constructor(prefix: Buffer, key: Buffer) {
        super({ readableHighWaterMark: 1024 * 1024 });
        this.s = new AgeSealer(prefix, key);
    }

    override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
        for (const b of this.s.push(chunk)) if (b.length > 0) this.push(b);
        cb();
    }

    override _flush(cb: TransformCallback): void {
        for (const b of this.s.end()) if (b.length > 0) this.push(b);
        cb();
    }
}

/**
 * Reads an age file's header and payload nonce from its first bytes; null while they are not all in `b` yet. Resolves
 * the payload key and where the sealed chunks start; rejects on a bad header or a wrong identity.
 */
export async function readAgeHeader(b: Buffer, d: Decrypter): Promise<{ key: Buffer; payloadAt: number } | null> {
    const end = headerEnd(b);
    if (end < 0) {
        if (b.length > MAX_HEADER) throw new AgeError(`no age header in the first ${MAX_HEADER} bytes`);
        return null;
    }
    if (b.length < end + NONCE) return null;
    let fileKey: Uint8Array;
    try {
        fileKey = await d.decryptHeader(b.subarray(0, end));
    } catch (err) {
        throw new AgeError(`cannot decrypt: ${(err as Error).message} (is it the identity matching the manifest's recipients?)`);
    }
    return { key: streamKey(fileKey, b.subarray(end, end + NONCE)), payloadAt: end + NONCE };
}

/**
 * age's STREAM opening without a stream around it: the sealed chunks (the payload after the nonce) in any cut,
 * plaintext out. Throws on a tampered, truncated or extended payload. Whole sealed chunks are opened where they lie in
 * the input; only a chunk cut across two inputs is copied (into one fixed buffer), and each chunk's plaintext is the
 * cipher's own output, passed on without another copy when an input completes one chunk (the usual case: HTTP reads
 * are about one chunk long). Measured: the restore with age made ~4 buffers per 64 KiB chunk before (a concatenation,
 * the cut-off rest, the cipher's output, and one output buffer it was copied into), and the garbage was the cost.
 */
export class AgeOpener {
    /** A sealed chunk cut across inputs, or the last 1..SEALED bytes (not known yet not to be the last chunk). */
    private readonly held = Buffer.allocUnsafeSlow(SEALED);
    private heldBytes = 0;
    private counter = 0;

    constructor(private readonly key: Buffer) {}

    /** The plaintext of every sealed chunk `chunk` completes and that is known not to be the last. */
    push(chunk: Buffer): Buffer {
        const pieces: Buffer[] = [];
        let at = 0;
        if (this.heldBytes > 0) {
            at = chunk.copy(this.held, this.heldBytes, 0, Math.min(SEALED - this.heldBytes, chunk.length));
            this.heldBytes += at;
            // A full chunk held is not the last once any byte follows it.
            if (this.heldBytes < SEALED || at === chunk.length) return EMPTY;
            pieces.push(this.openOne(this.held, false));
            this.heldBytes = 0;
        }
        while (chunk.length - at > SEALED) {
            pieces.push(this.openOne(chunk.subarray(at, at + SEALED), false));
            at += SEALED;
        }
        this.heldBytes = chunk.copy(this.held, 0, at);
        return pieces.length === 0 ? EMPTY : pieces.length === 1 ? pieces[0] : Buffer.concat(pieces);
    }

    /** The rest, whose last chunk must be the final one. */
    end(): Buffer {
        // The last chunk holds 1..CHUNK bytes of plaintext, 0 only when it is the first.
        if (this.heldBytes < TAG || (this.heldBytes === TAG && this.counter > 0))
            throw new AgeError("the age payload is truncated (its last chunk is missing or incomplete)");
        const out = this.openOne(this.held.subarray(0, this.heldBytes), true);
        this.heldBytes = 0;
        return out;
    }

    private openOne(sealed: Buffer, last: boolean): Buffer {
        const i = this.counter++;
        const d = createDecipheriv("chacha20-poly1305", this.key, chunkNonce(i, last), { authTagLength: TAG });
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

const EMPTY = Buffer.alloc(0);

/** Age file in, plaintext out; fails on a bad header, a wrong identity, a tampered, truncated or extended payload. */
export class AgeDecrypt extends Transform {
    private head: Buffer[] = [];
    private headBytes = 0;
    private o: AgeOpener | null = null;

    constructor(private readonly d: Decrypter) {
        super({ readableHighWaterMark: 1024 * 1024 });
    }

    override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
        if (this.o) return this.pass(() => this.o!.push(chunk), cb);
        this.head.push(chunk);
        this.headBytes += chunk.length;
        this.readHeader().then((rest) => (rest ? this.pass(() => this.o!.push(rest), cb) : cb()), cb);
    }

    override _flush(cb: TransformCallback): void {
        if (this.o) return this.pass(() => this.o!.end(), cb);
        this.readHeader().then(
            (rest) =>
                rest
                    ? this.pass(() => Buffer.concat([this.o!.push(rest), this.o!.end()]), cb)
                    : cb(new AgeError("the age file ends inside its header")),
            cb,
        );
    }

    private pass(f: () => Buffer, cb: TransformCallback): void {
        let out: Buffer;
        try {
            out = f();
        } catch (err) {
            return cb(err as Error);
        }
        cb(null, out.length > 0 ? out : undefined);
    }

    /** Reads the header and nonce once they are all in: resolves the payload bytes so far, or null before that. */
    private async readHeader(): Promise<Buffer | null> {
        const all = Buffer.concat(this.head, this.headBytes);
        this.head = [all];
        const h = await readAgeHeader(all, this.d);
        if (h === null) return null;
        this.o = new AgeOpener(h.key);
        this.head = [];
        this.headBytes = 0;
        return all.subarray(h.payloadAt);
    }
}

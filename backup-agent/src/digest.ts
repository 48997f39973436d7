// A pass-through that counts bytes and hashes them with SHA-256 as they flow.
import { createHash, Hash } from "node:crypto";
import { Transform, TransformCallback } from "node:stream";

export class Digest extends Transform {
    bytes = 0;
    private readonly hash: Hash = createHash("sha256");
    private hex: string | null = null;

    override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
        this.bytes += chunk.length;
        this.hash.update(chunk);
        cb(null, chunk);
    }

    override _flush(cb: TransformCallback): void {
        this.hex = this.hash.digest("hex");
        cb();
    }

    /** The hex SHA-256, available once the stream has ended. */
    get sha256(): string {
        if (this.hex === null) throw new Error("Digest.sha256 read before the stream ended");
        return this.hex;
    }
}

/**
 * A Digest that knows what it should see: it fails as soon as more bytes arrive than expected, and at the end
 * (before passing the end on) when the size or SHA-256 differs, so a consumer downstream never sees a clean end
 * of a corrupted object.
 */
export class CheckedDigest extends Digest {
    constructor(
        private readonly what: string,
        private readonly expected: { bytes: number; sha256: string },
    ) {
        super();
    }

    override _transform(chunk: Buffer, enc: BufferEncoding, cb: TransformCallback): void {
        if (this.bytes + chunk.length > this.expected.bytes) {
            return cb(new ChecksumError(`${this.what} is longer than the manifest's ${this.expected.bytes} bytes`));
        }
        super._transform(chunk, enc, cb);
    }

    override _flush(cb: TransformCallback): void {
        super._flush((err) => {
            if (err) return cb(err);
            if (this.bytes !== this.expected.bytes)
                return cb(new ChecksumError(`${this.what} has ${this.bytes} bytes, the manifest says ${this.expected.bytes}`));
            if (this.sha256 !== this.expected.sha256)
                return cb(new ChecksumError(`${this.what} has SHA-256 ${this.sha256}, the manifest says ${this.expected.sha256}`));
            cb();
        });
    }
}

export class ChecksumError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "ChecksumError";
    }
}

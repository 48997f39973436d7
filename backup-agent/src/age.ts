// age (age-encryption.org/v1) on Node streams. The library streams on WHATWG streams in 64 KiB chunks; these
// wrappers bridge to Node streams. It is ESM-only: this CommonJS build loads it with require(esm) (Node >= 20.19).
import { Readable } from "node:stream";
import { ReadableStream } from "node:stream/web";
import { Decrypter, Encrypter } from "age-encryption";

export class AgeError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "AgeError";
    }
}

/** Fails before any data flows when a recipient is malformed (bad bech32 checksum, wrong type). */
export function makeEncrypter(recipients: string[]): Encrypter {
    const e = new Encrypter();
    for (const r of recipients) {
        try {
            e.addRecipient(r);
        } catch (err) {
            throw new AgeError(
                `--recipient '${r}' is not a valid age public key (${(err as Error).message}): copy it again from 'age-keygen -y'`,
            );
        }
    }
    return e;
}

export async function encryptStream(input: Readable, e: Encrypter): Promise<Readable> {
    const web = Readable.toWeb(input) as unknown as globalThis.ReadableStream<Uint8Array>;
    const out = await e.encrypt(web);
    return Readable.fromWeb(out as unknown as ReadableStream<Uint8Array>, { highWaterMark: 256 * 1024 });
}

export function makeDecrypter(identity: string, where: string): Decrypter {
    const d = new Decrypter();
    if (!identity.startsWith("AGE-SECRET-KEY-"))
        throw new AgeError(`${where} does not hold an age identity: expected AGE-SECRET-KEY-1... (from age-keygen)`);
    try {
        d.addIdentity(identity.trim());
    } catch (err) {
        throw new AgeError(`${where} holds an invalid age identity (${(err as Error).message})`);
    }
    return d;
}

export async function decryptStream(input: Readable, d: Decrypter): Promise<Readable> {
    const web = Readable.toWeb(input) as unknown as globalThis.ReadableStream<Uint8Array>;
    let out: globalThis.ReadableStream<Uint8Array>;
    try {
        out = await d.decrypt(web);
    } catch (err) {
        input.destroy();
        throw new AgeError(`cannot decrypt: ${(err as Error).message} (is it the identity matching the manifest's recipients?)`);
    }
    return Readable.fromWeb(out as unknown as ReadableStream<Uint8Array>, { highWaterMark: 256 * 1024 });
}

// age (age-encryption.org/v1) keys: recipients and identities, checked before any data flows. The age-encryption
// library writes and reads the header; the payload is sealed and opened by src/age-stream.ts with Node's crypto.
// The library is ESM-only: this CommonJS build loads it with require(esm) (Node >= 20.19).
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

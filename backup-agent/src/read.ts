// Reading a backup back: the manifest, then the object at the version the manifest pins, checked against the
// manifest's size and SHA-256, then (with the identity) decrypted, decompressed (gzip or zstd, as the manifest says)
// and re-validated as a tar.
import { pipeline } from "node:stream/promises";
import { Readable, Transform, Writable } from "node:stream";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { makeDecrypter } from "./age";
import { AgeDecrypt } from "./age-stream";
import { CollectEvery } from "./collect";
import { createDecompress } from "./compress";
import { CheckedDigest } from "./digest";
import { Manifest, parseManifest } from "./manifest";
import { TarCheck } from "./tar-check";

/** A minor garbage collection per this many bytes of tar on the main thread (src/collect.ts, CollectEvery). */
const COLLECT_EVERY_BYTES = 16 * 1024 * 1024;

export class ReadError extends Error {
    constructor(message: string, options?: { cause?: unknown }) {
        super(message, options);
        this.name = "ReadError";
    }
}

async function bodyText(body: unknown): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of body as Readable) chunks.push(Buffer.from(c as Uint8Array));
    return Buffer.concat(chunks).toString("utf8");
}

export async function getManifest(
    s3: S3Client,
    bucket: string,
    key: string,
): Promise<{ manifest: Manifest; versionId: string | null; lastModified: Date | null }> {
    let r;
    try {
        r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    } catch (e) {
        const name = (e as { name?: string }).name;
        if (name === "NoSuchKey")
            throw new ReadError(`manifest s3://${bucket}/${key} does not exist: see 'list --bucket ${bucket}' for the catalog`);
        throw new ReadError(`cannot read manifest s3://${bucket}/${key}: ${(e as Error).message}`, { cause: e });
    }
    const manifest = parseManifest(await bodyText(r.Body), `s3://${bucket}/${key}`);
    return { manifest, versionId: r.VersionId ?? null, lastModified: r.LastModified ?? null };
}

export async function openObject(s3: S3Client, m: Manifest): Promise<Readable> {
    const o = m.object;
    const where = `s3://${o.bucket}/${o.key}${o.versionId ? ` version ${o.versionId}` : ""}`;
    try {
        const r = await s3.send(new GetObjectCommand({ Bucket: o.bucket, Key: o.key, ...(o.versionId ? { VersionId: o.versionId } : {}) }));
        return r.Body as Readable;
    } catch (e) {
        const name = (e as { name?: string }).name;
        if (name === "NoSuchKey" || name === "NoSuchVersion") throw new ReadError(`backup object ${where} does not exist (${name})`);
        throw new ReadError(`cannot read backup object ${where}: ${(e as Error).message}`, { cause: e });
    }
}

export interface ReadResult {
    stored: { bytes: number; sha256: string };
    content: { tarBytes: number; tarSha256: string; entries: number } | null;
}

/**
 * Streams the object through the checks into `sink` (the tar when an identity or no encryption allows it, else
 * nothing). With `decode` false only the stored bytes are checked. Rejects on the first mismatch.
 */
export async function readBackup(
    s3: S3Client,
    m: Manifest,
    opts: { decode: boolean; identity: string | null; identityWhere: string; sink: Writable | null },
): Promise<ReadResult> {
    const enc = m.content.encryption;
    if (opts.decode && enc && opts.identity === null) {
        throw new ReadError(
            `the backup is encrypted to ${enc.recipients.join(", ")}: pass --identity-env NAME with the matching AGE-SECRET-KEY-1... in env NAME`,
        );
    }
    const decrypter = opts.decode && enc ? makeDecrypter(opts.identity!, opts.identityWhere) : null;
    const body = await openObject(s3, m);
    const stored = new CheckedDigest("the stored object", { bytes: m.object.bytes, sha256: m.object.sha256 });
    const sink = opts.sink ?? discard();
    if (!opts.decode) {
        await pipeline(body, stored, new CollectEvery(COLLECT_EVERY_BYTES), sink);
        return { stored: { bytes: stored.bytes, sha256: stored.sha256 }, content: null };
    }
    const tar = new TarCheck();
    const tarDigest = new CheckedDigest("the tar inside", { bytes: m.content.tarBytes, sha256: m.content.tarSha256 });
    const stages: Transform[] = [stored];
    if (decrypter) stages.push(new AgeDecrypt(decrypter));
    // The entry count is checked before the end is passed on, like every other check: a consumer never sees a clean
    // end of a tar that is not the manifest's.
    const entries = new Transform({
        transform: (c, _e, cb) => cb(null, c),
        flush: (cb) =>
            cb(
                tar.entries === m.content.entries
                    ? null
                    : new ReadError(`the tar has ${tar.entries} entries, the manifest says ${m.content.entries}`),
            ),
    });
    stages.push(createDecompress(m.content.compression), tar, tarDigest, entries, new CollectEvery(COLLECT_EVERY_BYTES));
    await pipeline(body, ...(stages as [Transform, ...Transform[]]), sink);
    return {
        stored: { bytes: stored.bytes, sha256: stored.sha256 },
        content: { tarBytes: tarDigest.bytes, tarSha256: tarDigest.sha256, entries: tar.entries },
    };
}

function discard(): Writable {
    return new Writable({ write: (_c, _e, cb) => cb() });
}

export interface Verdict {
    ok: boolean;
    manifestKey: string;
    object: { bucket: string; key: string; versionId: string | null };
    expected: { bytes: number; sha256: string; tarBytes: number; tarSha256: string; entries: number };
    actual: ReadResult | null;
    contentChecked: boolean;
    error: string | null;
}

export async function verifyBackup(
    s3: S3Client,
    bucket: string,
    manifestKey: string,
    identity: string | null,
    identityWhere: string,
    storedOnly = false,
): Promise<Verdict> {
    const { manifest: m } = await getManifest(s3, bucket, manifestKey);
    const decode = identity !== null || m.content.encryption === null;
    const verdict: Verdict = {
        ok: false,
        manifestKey,
        object: { bucket: m.object.bucket, key: m.object.key, versionId: m.object.versionId },
        expected: {
            bytes: m.object.bytes,
            sha256: m.object.sha256,
            tarBytes: m.content.tarBytes,
            tarSha256: m.content.tarSha256,
            entries: m.content.entries,
        },
        actual: null,
        contentChecked: decode,
        error: null,
    };
    // A restore must decrypt: proving only the stored bytes of an encrypted backup is asked for by name, never implied.
    if (!decode && !storedOnly) {
        verdict.error =
            "the backup is encrypted: pass --identity-env NAME with its age identity (the stack's dtr-ha:ageIdentity) to prove it decrypts and its tar is whole, or --stored-only to check the stored bytes alone";
        return verdict;
    }
    try {
        verdict.actual = await readBackup(s3, m, { decode, identity, identityWhere, sink: null });
        verdict.ok = true;
    } catch (e) {
        verdict.error = (e as Error).message;
    }
    return verdict;
}

// The backup pipeline: tar in -> tar check -> zstd or gzip (parallel frames) -> optional age -> SHA-256/bytes -> S3 multipart upload.
// Nothing touches disk; memory is about (queueSize + 1) x partSize. The manifest is returned, not written:
// the caller writes it only when the whole shell pipeline (the producer included) succeeded.
import { pipeline } from "node:stream/promises";
import { Readable, Transform } from "node:stream";
import { AbortMultipartUploadCommand, ChecksumAlgorithm, S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { makeEncrypter } from "./age";
import { AgeEncrypt, newAgeFile } from "./age-stream";
import { Compression, ParallelCompress } from "./compress";
import { DEFAULTS } from "./defaults";
import { Digest } from "./digest";
import { buildManifest, BackupKind, Manifest } from "./manifest";
import { TarCheck } from "./tar-check";

export interface UploadOptions {
    bucket: string;
    key: string;
    kind: BackupKind;
    cluster: string;
    sourceStack: string | null;
    meta: Record<string, string>;
    recipients: string[];
    lock: { mode: "GOVERNANCE" | "COMPLIANCE"; retainDays: number } | null;
    partSizeMiB?: number;
    queueSize?: number;
    /** zstd (the default) or gzip (what backups before zstd used). */
    compression?: Compression;
    /** The compression level: gzip 1-9, zstd 1-19. */
    level?: number;
    /** Blocks compressed at once (1 = one core). */
    parallel?: number;
    /** Each block's input, MiB. */
    blockMiB?: number;
    /** For tests: the clock. */
    now?: () => Date;
}

export class UploadError extends Error {
    constructor(message: string, options?: { cause?: unknown }) {
        super(message, options);
        this.name = "UploadError";
    }
}

export async function uploadBackup(input: Readable, s3: S3Client, o: UploadOptions): Promise<Manifest> {
    const createdAt = (o.now ?? (() => new Date()))();
    const encrypter = o.recipients.length > 0 ? makeEncrypter(o.recipients) : null; // bad keys fail before reading
    const compression = o.compression ?? DEFAULTS.compression;
    const tar = new TarCheck();
    const tarDigest = new Digest();
    const compress = new ParallelCompress(
        compression,
        o.level ?? DEFAULTS.level[compression],
        (o.blockMiB ?? DEFAULTS.blockMiB) * 1024 * 1024,
        o.parallel ?? DEFAULTS.parallel,
    );
    const stored = new Digest();
    // Node parts in one pipeline; its promise settles on the first error anywhere and destroys the rest.
    const stages: NodeJS.ReadWriteStream[] = [tar, tarDigest, compress];
    if (encrypter) {
        const f = await newAgeFile(o.recipients);
        stages.push(new AgeEncrypt(f.prefix, f.key));
    }
    const front = pipeline(input, ...(stages as [Transform, ...Transform[]]), stored);
    front.catch(() => undefined); // awaited below; this keeps an early failure from being "unhandled"
    const upload = new Upload({
        client: s3,
        queueSize: o.queueSize ?? DEFAULTS.queueSize,
        partSize: (o.partSizeMiB ?? DEFAULTS.partSizeMiB) * 1024 * 1024,
        leavePartsOnError: false, // lib-storage aborts the multipart upload when the body or a part fails
        params: {
            Bucket: o.bucket,
            Key: o.key,
            Body: stored,
            ContentType: encrypter ? "application/octet-stream" : compression === "zstd" ? "application/zstd" : "application/gzip",
            // Object Lock buckets refuse uploads without an integrity checksum; CRC32 is what the SDK sends by default.
            ChecksumAlgorithm: ChecksumAlgorithm.CRC32,
            Metadata: { "dtr-ha-kind": o.kind, "dtr-ha-cluster": o.cluster },
            ...(o.lock
                ? { ObjectLockMode: o.lock.mode, ObjectLockRetainUntilDate: new Date(createdAt.getTime() + o.lock.retainDays * 86_400_000) }
                : {}),
        },
    });
    const done = upload.done();
    let result;
    try {
        [, result] = await Promise.all([
            // A failure on either side stops the other: a body that errors makes lib-storage abort the multipart
            // upload, and a failed upload stops reading stdin.
            front.catch((e) => {
                stored.destroy(e);
                throw e;
            }),
            done.catch((e) => {
                tar.destroy(e);
                throw e;
            }),
        ]);
    } catch (e) {
        await Promise.allSettled([front, done]);
        await abortLeftover(s3, o.bucket, o.key, upload.uploadId);
        throw new UploadError(`upload of s3://${o.bucket}/${o.key} failed, nothing was kept: ${(e as Error).message}`, { cause: e });
    }
    return buildManifest({
        kind: o.kind,
        cluster: o.cluster,
        sourceStack: o.sourceStack,
        createdAt,
        object: { bucket: o.bucket, key: o.key, versionId: result.VersionId ?? null, bytes: stored.bytes, sha256: stored.sha256 },
        compression,
        recipients: o.recipients,
        tarBytes: tarDigest.bytes,
        tarSha256: tarDigest.sha256,
        entries: tar.entries,
        files: tar.files,
        meta: o.meta,
    });
}

/** Belt and braces: make sure no multipart upload is left behind (its parts would cost money and never expire). */
async function abortLeftover(s3: S3Client, bucket: string, key: string, uploadId: string | undefined): Promise<void> {
    if (!uploadId) return;
    try {
        await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }));
    } catch (e) {
        const name = (e as { name?: string }).name;
        if (name !== "NoSuchUpload")
            process.stderr.write(`backup-agent: warning: could not abort multipart upload ${uploadId}: ${(e as Error).message}\n`);
    }
}

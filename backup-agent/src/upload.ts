// The backup pipeline: tar in -> tar check (main thread) -> [worker thread: SHA-256 -> zstd or gzip frames -> optional
// age -> SHA-256/bytes -> S3 parts] -> S3 multipart upload (main thread). Nothing touches disk; memory is about
// (queueSize + 1) x partSize plus (parallel + 1) blocks, shared by the two threads. The manifest is returned, not written:
// the caller writes it only when the whole shell pipeline (the producer included) succeeded.
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import {
    AbortMultipartUploadCommand,
    ChecksumAlgorithm,
    CompletedPart,
    CompleteMultipartUploadCommand,
    CompleteMultipartUploadCommandOutput,
    CreateMultipartUploadCommand,
    CreateMultipartUploadCommandInput,
    S3Client,
    UploadPartCommand,
} from "@aws-sdk/client-s3";
import { makeEncrypter } from "./age";
import { newAgeFile } from "./age-stream";
import { collectGarbage } from "./collect";
import { Compression, needZstd } from "./compress";
import { DEFAULTS } from "./defaults";
import { buildManifest, BackupKind, Manifest } from "./manifest";
import { PackWriter } from "./offload";
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
    if (compression === "zstd") needZstd();
    const tar = new TarCheck();
    const age = encrypter ? await newAgeFile(o.recipients) : null;
    const partBytes = (o.partSizeMiB ?? DEFAULTS.partSizeMiB) * 1024 * 1024;
    const queueSize = o.queueSize ?? DEFAULTS.queueSize;
    const parts = new MultipartUpload(
        s3,
        {
            Bucket: o.bucket,
            Key: o.key,
            ContentType: encrypter ? "application/octet-stream" : compression === "zstd" ? "application/zstd" : "application/gzip",
            // Object Lock buckets refuse uploads without an integrity checksum; CRC32 is what the SDK sends by default.
            ChecksumAlgorithm: ChecksumAlgorithm.CRC32,
            Metadata: { "dtr-ha-kind": o.kind, "dtr-ha-cluster": o.cluster },
            ...(o.lock
                ? { ObjectLockMode: o.lock.mode, ObjectLockRetainUntilDate: new Date(createdAt.getTime() + o.lock.retainDays * 86_400_000) }
                : {}),
        },
        queueSize,
    );
    // SHA-256 of the tar, compression, age and SHA-256 of the stored bytes on a worker thread (src/offload.ts), which
    // fills S3 parts in place: queueSize being uploaded and one being filled, as lib-storage would hold.
    const parallel = o.parallel ?? DEFAULTS.parallel;
    const pack: PackWriter = new PackWriter(
        { codec: compression, level: o.level ?? DEFAULTS.level[compression], age },
        (o.blockMiB ?? DEFAULTS.blockMiB) * 1024 * 1024,
        parallel + 1,
        partBytes,
        queueSize + 1,
        (slot, bytes) => {
            // A minor collection per part frees the young buffers stdin and the SDK left (src/collect.ts); a full one
            // measured ~15 MiB less again but cost throughput (the main thread's heap holds the SDK).
            collectGarbage("minor");
            parts.add(bytes, () => pack.freePart(slot));
        },
    );
    // Node parts in one pipeline; its promise settles on the first error anywhere and destroys the rest.
    const front = pipeline(input, tar, pack);
    front.catch(() => undefined); // awaited below; this keeps an early failure from being "unhandled"
    let result;
    try {
        // A failure on either side stops the other: a failed part stops reading stdin, and a failed input aborts
        // the multipart upload (below).
        const failed = parts.failed.then((e) => {
            tar.destroy(e);
            throw e;
        });
        failed.catch(() => undefined);
        await Promise.race([front, failed]);
        result = await Promise.race([parts.complete(), failed]);
    } catch (e) {
        await front.catch(() => undefined);
        await parts.abort();
        throw new UploadError(`upload of s3://${o.bucket}/${o.key} failed, nothing was kept: ${(e as Error).message}`, { cause: e });
    }
    const r = pack.result;
    if (r === null) throw new UploadError(`upload of s3://${o.bucket}/${o.key}: the pipeline ended without its checksums`);
    return buildManifest({
        kind: o.kind,
        cluster: o.cluster,
        sourceStack: o.sourceStack,
        createdAt,
        object: { bucket: o.bucket, key: o.key, versionId: result.VersionId ?? null, bytes: r.storedBytes, sha256: r.storedSha256 },
        compression,
        recipients: o.recipients,
        tarBytes: r.tarBytes,
        tarSha256: r.tarSha256,
        entries: tar.entries,
        files: tar.files,
        meta: o.meta,
    });
}

/**
 * An S3 multipart upload fed with whole parts, in order, each uploaded as it comes (at most `queueSize` at once; the
 * caller's slot is handed back by `release` once S3 has it). What lib-storage does, minus its copying of the body into
 * parts: here the worker fills the parts in place. CRC32 per part (Object Lock buckets require a checksum); the
 * upload is created with the first part, so a backup that fails before any data leaves nothing to abort.
 */
class MultipartUpload {
    /** Resolves with the first failure of a part (never rejects). */
    readonly failed: Promise<Error>;
    private fail!: (e: Error) => void;
    private created: Promise<string> | null = null;
    private uploadId: string | undefined;
    private readonly done: CompletedPart[] = [];
    private readonly running = new Set<Promise<void>>();
    private readonly queued: (() => void)[] = [];
    private active = 0;
    private next = 1;

    constructor(
        private readonly s3: S3Client,
        private readonly params: CreateMultipartUploadCommandInput,
        private readonly queueSize: number,
    ) {
        this.failed = new Promise((ok) => (this.fail = ok));
    }

    add(body: Buffer, release: () => void): void {
        const partNumber = this.next++;
        const p = this.upload(partNumber, body).then(release, (e) => this.fail(e as Error));
        this.running.add(p);
        void p.finally(() => this.running.delete(p));
    }

    private async upload(partNumber: number, body: Buffer): Promise<void> {
        if (partNumber > 10_000)
            throw new Error(`more than 10,000 parts of ${body.length} bytes: raise --part-size-mib (S3 allows 10,000 parts per object)`);
        this.created ??= this.s3.send(new CreateMultipartUploadCommand(this.params)).then((r) => (this.uploadId = r.UploadId!));
        const uploadId = await this.created;
        if (this.active >= this.queueSize) await new Promise<void>((go) => this.queued.push(go));
        this.active++;
        try {
            const r = await this.s3.send(
                new UploadPartCommand({
                    Bucket: this.params.Bucket,
                    Key: this.params.Key,
                    UploadId: uploadId,
                    PartNumber: partNumber,
                    Body: body,
                    ChecksumAlgorithm: this.params.ChecksumAlgorithm,
                }),
            );
            if (!r.ETag) throw new Error(`part ${partNumber} came back without an ETag`);
            this.done.push({ PartNumber: partNumber, ETag: r.ETag, ...(r.ChecksumCRC32 ? { ChecksumCRC32: r.ChecksumCRC32 } : {}) });
        } finally {
            this.active--;
            this.queued.shift()?.();
        }
    }

    /** Once every part is added: waits for them and completes the upload. */
    async complete(): Promise<CompleteMultipartUploadCommandOutput> {
        while (this.running.size > 0) await Promise.all(this.running);
        const parts = [...this.done].sort((a, b) => a.PartNumber! - b.PartNumber!);
        if (parts.length !== this.next - 1 || parts.length === 0)
            throw new Error(`only ${parts.length} of ${this.next - 1} parts were uploaded`);
        return this.s3.send(
            new CompleteMultipartUploadCommand({
                Bucket: this.params.Bucket,
                Key: this.params.Key,
                UploadId: this.uploadId!,
                MultipartUpload: { Parts: parts },
            }),
        );
    }

    /** Makes sure no multipart upload is left behind (its parts would cost money and never expire). */
    async abort(): Promise<void> {
        if (!this.created) return;
        await this.created.catch(() => undefined);
        await Promise.allSettled([...this.running]);
        const uploadId = this.uploadId;
        if (!uploadId) return;
        try {
            await this.s3.send(new AbortMultipartUploadCommand({ Bucket: this.params.Bucket, Key: this.params.Key, UploadId: uploadId }));
        } catch (e) {
            const name = (e as { name?: string }).name;
            if (name !== "NoSuchUpload")
                process.stderr.write(`backup-agent: warning: could not abort multipart upload ${uploadId}: ${(e as Error).message}\n`);
        }
    }
}

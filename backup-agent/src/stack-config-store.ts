// Writing and reading the stack configuration document beside a manifest (the document itself: stack-config.ts).
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { ChecksumAlgorithm, GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { getManifest, ReadError } from "./read";
import { canonicalBytes, MAX_STACK_CONFIG_BYTES, META, parseStackConfig, stackConfigKey, StackConfigDoc } from "./stack-config";

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** Writes the document beside the (future) manifest `manifestKey`; resolves with what the manifest will pin. */
export async function putStackConfig(
    s3: S3Client,
    bucket: string,
    manifestKey: string,
    text: string,
): Promise<{ key: string; sha256: string; versionId: string | null }> {
    const key = stackConfigKey(manifestKey);
    const body = canonicalBytes(parseStackConfig(text, "the stack configuration on stdin"));
    const put = await s3.send(
        new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: body,
            ContentType: "application/json",
            ChecksumAlgorithm: ChecksumAlgorithm.CRC32,
        }),
    );
    return { key, sha256: sha256(body), versionId: put.VersionId ?? null };
}

async function bodyBytes(body: unknown): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of body as Readable) {
        n += (c as Uint8Array).length;
        if (n > MAX_STACK_CONFIG_BYTES)
            throw new ReadError(`the stored stack configuration is larger than ${MAX_STACK_CONFIG_BYTES} bytes`);
        chunks.push(Buffer.from(c as Uint8Array));
    }
    return Buffer.concat(chunks);
}

/**
 * The document of the backup `manifestKey`, at the version its manifest pins and with the SHA-256 it records. A backup
 * whose manifest pins none was taken without it (before this existed, or the pre-upgrade backup).
 */
export async function getStackConfig(s3: S3Client, bucket: string, manifestKey: string): Promise<StackConfigDoc> {
    const { manifest } = await getManifest(s3, bucket, manifestKey);
    const want = manifest.meta[META.sha256];
    if (!want)
        throw new ReadError(
            `backup ${manifestKey} carries no stack configuration (taken before backups stored it, or the backup an upgrade takes): rebuild from another backup, or from its source stack with --source-stack`,
        );
    const key = stackConfigKey(manifestKey);
    const versionId = manifest.meta[META.versionId];
    const where = `s3://${bucket}/${key}${versionId ? ` version ${versionId}` : ""}`;
    let r;
    try {
        r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...(versionId ? { VersionId: versionId } : {}) }));
    } catch (e) {
        throw new ReadError(`cannot read the stack configuration ${where}: ${(e as Error).message}`, { cause: e });
    }
    const body = await bodyBytes(r.Body);
    const got = sha256(body);
    if (got !== want) throw new ReadError(`the stack configuration ${where} has SHA-256 ${got}, its manifest says ${want}: refusing it`);
    return parseStackConfig(body.toString("utf8"), where);
}

// Verification records: what the last `verify --record` of a backup found, kept beside its manifest so the catalog can
// say whether (and when) a backup was last read back whole. One key per backup, overwritten by each verify (a versioned
// bucket keeps the older verdicts as versions). The store's LastModified is the record's time, as for manifests.
//
// A record is advice, never proof: `rebuild` and the restore verify again before anything destructive. It applies only
// to the object it names (manifest key, pinned version and SHA-256), so a record of another object is not shown.
import { GetObjectCommand, PutObjectCommand, S3Client, ChecksumAlgorithm } from "@aws-sdk/client-s3";
import { Readable } from "node:stream";
import { parseManifestKey } from "./keys";
import { Manifest } from "./manifest";
import { ReadError, Verdict } from "./read";

export const VERIFICATION_FORMAT = "dtr-ha-verification/1";
export const VERIFICATION_SUFFIX = ".verification.json";

export interface VerificationRecord {
    format: typeof VERIFICATION_FORMAT;
    manifestKey: string;
    ok: boolean;
    /** false: only the stored bytes were read (an encrypted backup without its identity). */
    contentChecked: boolean;
    /** The object the verdict is about: the manifest's pinned version and SHA-256. */
    object: { key: string; versionId: string | null; sha256: string };
    error: string | null;
}

/** What `list --verifications` shows for a backup: the record that applies, with the store's time for it. */
export interface VerificationStatus {
    ok: boolean;
    contentChecked: boolean;
    verifiedAt: string;
    error: string | null;
}

/** `<prefix>/verifications/<cluster>/<stamp>-<kind>.verification.json` for a manifest key of the shape `keys` names. */
export function verificationKey(manifestKey: string): string {
    const k = parseManifestKey(manifestKey);
    if (k === null) throw new ReadError(`no verification key for ${JSON.stringify(manifestKey)}: it is not a manifest key`);
    return `${k.prefix ? `${k.prefix}/` : ""}verifications/${k.cluster}/${k.stamp}-${k.kind}${VERIFICATION_SUFFIX}`;
}

export function verificationRecord(v: Verdict, m: Manifest): VerificationRecord {
    return {
        format: VERIFICATION_FORMAT,
        manifestKey: v.manifestKey,
        ok: v.ok,
        contentChecked: v.contentChecked,
        object: { key: m.object.key, versionId: m.object.versionId, sha256: m.object.sha256 },
        // A failure's reason, cut short: it is shown in a list, the full verdict is verify's output.
        error: v.error === null ? null : v.error.slice(0, 500),
    };
}

/** Why `value` is not a record about this manifest's object (null when it applies). */
export function verificationProblem(value: unknown, manifestKey: string, m: Manifest): string | null {
    const r = value as Partial<VerificationRecord> | null;
    if (typeof r !== "object" || r === null || r.format !== VERIFICATION_FORMAT) return `it is not a ${VERIFICATION_FORMAT} record`;
    if (r.manifestKey !== manifestKey) return `it is about ${JSON.stringify(r.manifestKey)}`;
    if (typeof r.ok !== "boolean" || typeof r.contentChecked !== "boolean") return "ok and contentChecked must be true or false";
    const o = r.object;
    if (!o || o.key !== m.object.key || o.versionId !== m.object.versionId || o.sha256 !== m.object.sha256)
        return "it names another object (key, version or SHA-256) than the manifest";
    if (r.error !== null && typeof r.error !== "string") return "error must be a string or null";
    return null;
}

export async function putVerification(s3: S3Client, bucket: string, record: VerificationRecord): Promise<string> {
    const key = verificationKey(record.manifestKey);
    await s3.send(
        new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: JSON.stringify(record, null, 2) + "\n",
            ContentType: "application/json",
            ChecksumAlgorithm: ChecksumAlgorithm.CRC32,
        }),
    );
    return key;
}

/**
 * The latest record about this backup's object, or null when it was never verified with --record (or the record is
 * about something else). A store that cannot answer rejects: "cannot tell" is never shown as "never verified".
 */
export async function getVerification(s3: S3Client, bucket: string, manifestKey: string, m: Manifest): Promise<VerificationStatus | null> {
    const key = verificationKey(manifestKey);
    let r;
    try {
        r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    } catch (e) {
        const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
        if (err.name === "NoSuchKey" || err.name === "NotFound" || err.$metadata?.httpStatusCode === 404) return null;
        throw new ReadError(`cannot read verification record s3://${bucket}/${key}: ${(e as Error).message}`, { cause: e });
    }
    const chunks: Buffer[] = [];
    for await (const c of r.Body as Readable) chunks.push(Buffer.from(c as Uint8Array));
    let value: unknown;
    try {
        value = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
        return null;
    }
    if (verificationProblem(value, manifestKey, m) !== null || !r.LastModified) return null;
    const v = value as VerificationRecord;
    return { ok: v.ok, contentChecked: v.contentChecked, verifiedAt: r.LastModified.toISOString(), error: v.error };
}

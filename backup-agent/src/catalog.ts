// The catalog: writing a manifest once its object is proven whole, and listing manifests newest first.
import { HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, ChecksumAlgorithm } from "@aws-sdk/client-s3";
import { MANIFEST_SUFFIX } from "./keys";
import { Manifest, validateManifest } from "./manifest";
import { getManifest, ReadError } from "./read";

export async function putManifest(
    s3: S3Client,
    bucket: string,
    key: string,
    value: unknown,
): Promise<{ key: string; versionId: string | null }> {
    const m = validateManifest(value);
    const o = m.object;
    if (o.bucket !== bucket)
        throw new ReadError(`the manifest names bucket '${o.bucket}' but --bucket is '${bucket}': keep a manifest in its backup's bucket`);
    if (!key.endsWith(MANIFEST_SUFFIX)) throw new ReadError(`manifest key '${key}' must end in ${MANIFEST_SUFFIX}`);
    const where = `s3://${o.bucket}/${o.key}${o.versionId ? ` version ${o.versionId}` : ""}`;
    let head;
    try {
        head = await s3.send(new HeadObjectCommand({ Bucket: o.bucket, Key: o.key, ...(o.versionId ? { VersionId: o.versionId } : {}) }));
    } catch (e) {
        const name = (e as { name?: string }).name;
        if (
            name === "NotFound" ||
            name === "NoSuchKey" ||
            name === "NoSuchVersion" ||
            (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404
        ) {
            throw new ReadError(`refusing to write the manifest: its object ${where} does not exist`);
        }
        if ((e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 400 && o.versionId) {
            throw new ReadError(`refusing to write the manifest: its object ${where} does not exist (bad version id)`);
        }
        throw new ReadError(`cannot check the manifest's object ${where}: ${(e as Error).message}`, { cause: e });
    }
    const problems: string[] = [];
    if (head.ContentLength !== o.bytes) problems.push(`it has ${head.ContentLength} bytes, the manifest says ${o.bytes}`);
    const gotVersion = head.VersionId && head.VersionId !== "null" ? head.VersionId : null;
    if (gotVersion !== o.versionId) problems.push(`its version is ${gotVersion}, the manifest says ${o.versionId}`);
    if (head.DeleteMarker) problems.push("it is a delete marker");
    const md = head.Metadata ?? {};
    if (md["dtr-ha-kind"] !== undefined && md["dtr-ha-kind"] !== m.kind)
        problems.push(`it was uploaded as kind ${md["dtr-ha-kind"]}, the manifest says ${m.kind}`);
    if (md["dtr-ha-cluster"] !== undefined && md["dtr-ha-cluster"] !== m.cluster)
        problems.push(`it was uploaded for cluster ${md["dtr-ha-cluster"]}, the manifest says ${m.cluster}`);
    if (problems.length > 0) throw new ReadError(`refusing to write the manifest: object ${where} differs: ${problems.join("; ")}`);
    const put = await s3.send(
        new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: JSON.stringify(m, null, 2) + "\n",
            ContentType: "application/json",
            ChecksumAlgorithm: ChecksumAlgorithm.CRC32,
        }),
    );
    return { key, versionId: put.VersionId ?? null };
}

export interface CatalogEntry {
    manifestKey: string;
    manifest: Manifest;
}

export async function listManifests(
    s3: S3Client,
    bucket: string,
    opts: { prefix: string; cluster: string | null; warn?: (line: string) => void },
): Promise<CatalogEntry[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
        const page = await s3.send(
            new ListObjectsV2Command({ Bucket: bucket, Prefix: opts.prefix || undefined, ContinuationToken: token }),
        );
        for (const o of page.Contents ?? []) if (o.Key?.endsWith(MANIFEST_SUFFIX)) keys.push(o.Key);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    const out: CatalogEntry[] = [];
    // A few reads at a time: manifests are small, a catalog may hold thousands.
    for (let i = 0; i < keys.length; i += 8) {
        const batch = await Promise.allSettled(keys.slice(i, i + 8).map((k) => getManifest(s3, bucket, k)));
        batch.forEach((r, j) => {
            const k = keys[i + j];
            if (r.status === "rejected") return opts.warn?.(`skipping ${k}: ${(r.reason as Error).message}`);
            if (opts.cluster === null || r.value.manifest.cluster === opts.cluster)
                out.push({ manifestKey: k, manifest: r.value.manifest });
        });
    }
    out.sort((a, b) => Date.parse(b.manifest.createdAt) - Date.parse(a.manifest.createdAt) || b.manifestKey.localeCompare(a.manifestKey));
    return out;
}

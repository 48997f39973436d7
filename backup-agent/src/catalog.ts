// The catalog: writing a manifest once its object is proven whole, and listing manifests newest first.
//
// What the catalog trusts: the key shapes `keys` names, the manifest's strict checks, the object version the manifest
// pins (it must still be there, with the size the manifest says), and the store's own clock. "Newest" is the
// LastModified the store gave the manifest when it was written, never the createdAt a host wrote into it: a host
// whose clock runs ahead (or a planted manifest) cannot make an older backup the latest.
import {
    GetObjectCommand,
    HeadObjectCommand,
    HeadObjectCommandOutput,
    ListObjectsV2Command,
    PutObjectCommand,
    S3Client,
    ChecksumAlgorithm,
} from "@aws-sdk/client-s3";
import { Readable } from "node:stream";
import { MANIFEST_SUFFIX, manifestKeyProblem, parseManifestKey, parseObjectKey } from "./keys";
import { Manifest, ManifestError, parseManifest, validateManifest } from "./manifest";
import { ReadError } from "./read";
import { VerificationStatus, getVerification } from "./verification";

type S3Error = { name?: string; $metadata?: { httpStatusCode?: number } };

function isNotFound(e: unknown, versioned: boolean): boolean {
    const err = e as S3Error;
    const status = err.$metadata?.httpStatusCode;
    // A HEAD with an unknown (malformed) version id answers 400 on some servers.
    return (
        err.name === "NotFound" ||
        err.name === "NoSuchKey" ||
        err.name === "NoSuchVersion" ||
        status === 404 ||
        (versioned && status === 400)
    );
}

/**
 * What ties a manifest to its place in the catalog, without a network call: the manifest key has the exact shape
 * `keys` names (under `expect.prefix`, for `expect.cluster` when given), and the manifest's own fields agree with it:
 * same cluster and kind, its object in this bucket under the matching objects/ key with the same stamp, encrypted
 * exactly when the key ends in .age.
 */
export function placementProblems(
    bucket: string,
    key: string,
    m: Manifest,
    expect: { prefix: string | null; cluster: string | null },
): string[] {
    const shape = manifestKeyProblem(key);
    if (shape) return [shape];
    const k = parseManifestKey(key)!;
    const p: string[] = [];
    if (expect.prefix !== null && k.prefix !== expect.prefix)
        p.push(`the key is under prefix '${k.prefix}', the catalog is under '${expect.prefix}'`);
    if (expect.cluster !== null && k.cluster !== expect.cluster) p.push(`the key is under cluster '${k.cluster}', not '${expect.cluster}'`);
    if (m.cluster !== k.cluster) p.push(`the manifest says cluster '${m.cluster}' but its key is under cluster '${k.cluster}'`);
    if (m.kind !== k.kind) p.push(`the manifest says kind ${m.kind} but its key names kind ${k.kind}`);
    if (m.object.bucket !== bucket) p.push(`its object is in bucket '${m.object.bucket}', not in '${bucket}'`);
    const o = parseObjectKey(m.object.key);
    if (o === null) p.push(`its object key ${JSON.stringify(m.object.key)} is not of the shape the agent writes`);
    else {
        if (o.prefix !== k.prefix || o.cluster !== k.cluster || o.kind !== k.kind || o.stamp !== k.stamp)
            p.push(`its object key ${m.object.key} does not match the manifest key (prefix, cluster, kind and stamp must agree)`);
        if (o.encrypted !== (m.content.encryption !== null))
            p.push(
                m.content.encryption
                    ? `the manifest says encrypted but its object key ${m.object.key} has no .age`
                    : `its object key ${m.object.key} ends in .age but the manifest says not encrypted`,
            );
        if (o.compression !== m.content.compression)
            p.push(`its object key ${m.object.key} names ${o.compression} but the manifest says ${m.content.compression}`);
    }
    return p;
}

/**
 * HEADs the object at the version the manifest pins. Resolves with what is wrong (empty: it is there, whole in size)
 * and the store's time for that version; rejects only when the store could not answer (a network or permission error
 * is not proof that a backup is gone).
 */
export async function checkObject(
    s3: S3Client,
    m: Manifest,
): Promise<{ where: string; missing: boolean; problems: string[]; storedAt: Date | null; lock: ObjectLock | null }> {
    const o = m.object;
    const where = `s3://${o.bucket}/${o.key}${o.versionId ? ` version ${o.versionId}` : ""}`;
    let head: HeadObjectCommandOutput;
    try {
        head = await s3.send(new HeadObjectCommand({ Bucket: o.bucket, Key: o.key, ...(o.versionId ? { VersionId: o.versionId } : {}) }));
    } catch (e) {
        if (isNotFound(e, o.versionId !== null))
            return { where, missing: true, problems: ["it does not exist"], storedAt: null, lock: null };
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
    // The store answers with the lock only to a caller allowed to read it (s3:GetObjectRetention): null is "not shown".
    const lock =
        head.ObjectLockMode && head.ObjectLockRetainUntilDate
            ? { mode: String(head.ObjectLockMode), retainUntil: head.ObjectLockRetainUntilDate.toISOString() }
            : null;
    return { where, missing: false, problems, storedAt: head.LastModified ?? null, lock };
}

/** The Object Lock retention of a backup object's pinned version, as the store reports it. */
export interface ObjectLock {
    mode: string;
    retainUntil: string;
}

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
    // Written only where `list` will accept it: the key shape `keys` names, agreeing with the manifest.
    const placement = placementProblems(bucket, key, m, { prefix: null, cluster: null });
    if (placement.length > 0)
        throw new ReadError(`refusing to write the manifest at ${key}: ${placement.join("; ")} (use the keys 'keys' names)`);
    const { where, missing, problems } = await checkObject(s3, m);
    if (missing) throw new ReadError(`refusing to write the manifest: its object ${where} does not exist`);
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

/**
 * One intact backup. `list` prints it as one JSON line; the host scripts find a line with grep -F on
 * `"manifestKey":"<key>"` and read meta fields with sed, so the first two fields keep their names and order and the
 * store's facts come after them.
 */
export interface CatalogEntry {
    manifestKey: string;
    manifest: Manifest;
    /** When the store wrote the manifest (its LastModified): the catalog's order. */
    storedAt: string;
    /** When the store wrote the backup object's pinned version (for a multipart upload: when it started). */
    objectStoredAt: string | null;
    /** The object version's Object Lock retention (null: none, or not readable with these credentials). */
    objectLock: ObjectLock | null;
    /** With `list --verifications`: the last `verify --record` verdict on this object (null: never recorded). */
    verification?: VerificationStatus | null;
}

/** A manifest the catalog refuses, with why. Printed by `list --include-broken` only (never as a "manifestKey" line). */
export interface BrokenEntry {
    brokenManifestKey: string;
    reason: string;
    storedAt: string | null;
}

export interface Catalog {
    entries: CatalogEntry[];
    broken: BrokenEntry[];
}

async function bodyText(body: unknown): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of body as Readable) chunks.push(Buffer.from(c as Uint8Array));
    return Buffer.concat(chunks).toString("utf8");
}

type Checked = { ok: CatalogEntry } | { broken: BrokenEntry } | { gone: true };

async function checkOne(
    s3: S3Client,
    bucket: string,
    key: string,
    expect: { prefix: string; cluster: string | null; verifications?: boolean },
): Promise<Checked> {
    const broken = (reason: string, storedAt: Date | null = null): Checked => ({
        broken: { brokenManifestKey: key, reason, storedAt: storedAt?.toISOString() ?? null },
    });
    const shape = manifestKeyProblem(key);
    if (shape) return broken(shape);
    let r;
    try {
        r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    } catch (e) {
        if (isNotFound(e, false)) return { gone: true }; // deleted between the listing and the read
        throw new ReadError(`cannot read manifest s3://${bucket}/${key}: ${(e as Error).message}`, { cause: e });
    }
    const storedAt = r.LastModified ?? null;
    let m: Manifest;
    try {
        m = parseManifest(await bodyText(r.Body), `s3://${bucket}/${key}`);
    } catch (e) {
        if (e instanceof ManifestError) return broken(e.message, storedAt);
        throw e;
    }
    if (storedAt === null) return broken("the store gave no LastModified for it", null);
    const placement = placementProblems(bucket, key, m, expect);
    if (placement.length > 0) return broken(placement.join("; "), storedAt);
    const object = await checkObject(s3, m);
    if (object.missing) return broken(`its object ${object.where} does not exist`, storedAt);
    if (object.problems.length > 0) return broken(`its object ${object.where} differs: ${object.problems.join("; ")}`, storedAt);
    const entry: CatalogEntry = {
        manifestKey: key,
        manifest: m,
        storedAt: storedAt.toISOString(),
        objectStoredAt: object.storedAt?.toISOString() ?? null,
        objectLock: object.lock,
    };
    if (expect.verifications) entry.verification = await getVerification(s3, bucket, key, m);
    return { ok: entry };
}

/** Store time first; equal store times (one-second resolution on some stores) fall back to the object's, then the key. */
export function newestFirst(a: CatalogEntry, b: CatalogEntry): number {
    const t = (s: string | null) => (s === null ? 0 : Date.parse(s));
    return (
        t(b.storedAt) - t(a.storedAt) ||
        t(b.objectStoredAt) - t(a.objectStoredAt) ||
        (b.manifestKey < a.manifestKey ? -1 : b.manifestKey > a.manifestKey ? 1 : 0)
    );
}

/**
 * Every manifest under `<prefix>/manifests/[<cluster>/]`: the intact ones newest first (by store time), and the
 * broken ones (bad key, invalid manifest, wrong cluster or bucket, object version gone or of another size) apart.
 * A store that cannot answer makes the whole listing fail: an error is never taken as "this backup is broken".
 */
export async function readCatalog(
    s3: S3Client,
    bucket: string,
    opts: { prefix: string; cluster: string | null; verifications?: boolean },
): Promise<Catalog> {
    const under = `${opts.prefix ? `${opts.prefix}/` : ""}manifests/${opts.cluster !== null ? `${opts.cluster}/` : ""}`;
    const keys: string[] = [];
    let token: string | undefined;
    do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: under, ContinuationToken: token }));
        for (const o of page.Contents ?? []) if (o.Key?.endsWith(MANIFEST_SUFFIX)) keys.push(o.Key);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    const catalog: Catalog = { entries: [], broken: [] };
    // A few reads at a time: manifests are small, a catalog may hold thousands.
    for (let i = 0; i < keys.length; i += 8) {
        const batch = await Promise.all(keys.slice(i, i + 8).map((k) => checkOne(s3, bucket, k, opts)));
        for (const c of batch) {
            if ("ok" in c) catalog.entries.push(c.ok);
            else if ("broken" in c) catalog.broken.push(c.broken);
        }
    }
    catalog.entries.sort(newestFirst);
    return catalog;
}

/** The intact entries, newest first; each broken one is reported through `warn`. */
export async function listManifests(
    s3: S3Client,
    bucket: string,
    opts: { prefix: string; cluster: string | null; warn?: (line: string) => void },
): Promise<CatalogEntry[]> {
    const c = await readCatalog(s3, bucket, opts);
    for (const b of c.broken) opts.warn?.(`skipping ${b.brokenManifestKey}: ${b.reason}`);
    return c.entries;
}

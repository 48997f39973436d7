/**
 * DTR's storage settings document (`PUT /api/v0/admin/settings/registry/simple`) and the script that applies it.
 * Driver keys follow the registry's S3 driver (docker/docs registry/storage-drivers/s3.md).
 */
import { curlCall, authConfigFunction } from "../dtr-cli/api";

export interface S3Settings {
    /** Required by the driver even for S3-compatible servers. */
    region: string;
    /** Must already exist. */
    bucket: string;
    /** Only for S3-compatible servers (MinIO, Ceph...): `http(s)://host:port`. Empty for AWS. */
    regionEndpoint?: string;
    /** Omit both keys to use the instance role (AWS hosts). */
    accessKey?: string;
    secretKey?: string;
    /** Server-side encryption; with `keyId` it is SSE-KMS with that key. */
    encrypt?: boolean;
    keyId?: string;
    /** TLS to the storage endpoint. Default true; false only for a lab endpoint on plain HTTP. */
    secure?: boolean;
    /** Path-style addressing, needed by most S3-compatible servers. */
    forcePathStyle?: boolean;
    /** Prefix inside the bucket. */
    rootDirectory?: string;
    /** Multipart chunk size in bytes, at least 5 MiB. */
    chunkSize?: number;
}

export const MIN_CHUNK_SIZE = 5 * 1024 * 1024;

/** The JSON body DTR's settings API takes. Credentials are included only when both keys are given. */
export function dtrStorageSettings(s: S3Settings): Record<string, unknown> {
    if (!s.region)
        throw new Error(
            'storage.region is empty: the S3 driver requires a region (any value, e.g. "us-east-1", for S3-compatible servers)',
        );
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(s.bucket)) {
        throw new Error(`storage.bucket=${JSON.stringify(s.bucket)} is not a valid S3 bucket name (3-63 of a-z 0-9 . -)`);
    }
    if ((s.accessKey === undefined) !== (s.secretKey === undefined)) {
        throw new Error("storage access key and secret key: give both, or neither to use the instance role");
    }
    if (s.chunkSize !== undefined && s.chunkSize < MIN_CHUNK_SIZE) {
        throw new Error(`storage.chunkSize=${s.chunkSize} is below the S3 minimum part size; use at least ${MIN_CHUNK_SIZE}`);
    }
    const s3: Record<string, unknown> = {
        rootdirectory: s.rootDirectory ?? "",
        region: s.region,
        regionendpoint: s.regionEndpoint ?? "",
        bucket: s.bucket,
        secure: s.secure ?? true,
        v4auth: true,
    };
    if (s.accessKey !== undefined) {
        s3.accesskey = s.accessKey;
        s3.secretkey = s.secretKey;
    }
    if (s.encrypt) s3.encrypt = true;
    if (s.keyId) s3.keyid = s.keyId;
    if (s.forcePathStyle) s3.forcepathstyle = true;
    if (s.chunkSize !== undefined) s3.chunksize = s.chunkSize;
    return {
        storage: {
            delete: { enabled: true },
            maintenance: { readonly: { enabled: false } },
            s3,
        },
    };
}

export const STORAGE_SETTINGS_ENV = "DTR_STORAGE_SETTINGS";

/**
 * A script run on the first replica's host that PUTs the settings (from `$DTR_STORAGE_SETTINGS`) and fails with the
 * status and the start of DTR's answer when DTR refuses them.
 */
export function applyStorageSettingsScript(target: { externalUrl: string; httpsPort?: number }): string {
    const call = curlCall({
        ...target,
        method: "PUT",
        path: "/api/v0/admin/settings/registry/simple",
        auth: true,
        bodyEnv: STORAGE_SETTINGS_ENV,
        outFile: '"$body"',
    });
    return [
        "set -eu",
        authConfigFunction(),
        `: "\${${STORAGE_SETTINGS_ENV}:?${STORAGE_SETTINGS_ENV} must be set}"`,
        "body=$(mktemp); trap 'rm -f \"$body\"' EXIT",
        `code=$(${call})`,
        'case "$code" in 2??) echo "storage settings applied (HTTP $code)";;',
        '  *) echo "DTR refused the storage settings: HTTP $code: $(head -c 400 "$body")" >&2; exit 1;; esac',
    ].join("\n");
}

/**
 * DTR's storage settings document (`PUT /api/v0/admin/settings/registry/simple`) and the script that applies it.
 * Driver keys follow the registry's S3 driver (docker/docs registry/storage-drivers/s3.md).
 */
import { USERNAME_ENV, curlCall, authConfigFunction } from "../dtr-cli/api";
import { SECRET_ENV } from "../dtr-cli/commands";
import { shFile } from "../dtr-cli/sh-file";
import { shellQuote } from "../dtr-cli/shell";

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
 * The one place that knows the settings document's shape. `PUT /api/v0/admin/settings/registry/simple` is not in DTR's
 * published API reference (docker/docs reference/dtr/2.7/api/main.js has no /api/v0/admin path), and the evidence on its
 * body conflicts: Docker's own DDC-for-AWS bootstrap script PUTs `{"storage":{"s3":{...}}}` (what `dtrStorageSettings`
 * builds, and what real automation sends), while a copy of DTR's handler test (dhe-deploy adminserver,
 * TestUpdateRegistrySettingsViaFormHandler) PUTs a bare `{"s3":{...}}` and reads the result back from the settings store.
 * So what is written is the wrapped shape, and what is read back (GET of the same path, whose shape is documented
 * nowhere) is looked for under `storage` first, then at the top level; a document with neither reads as "no driver" and
 * fails the comparison instead of passing it (shared/reviews/dtr-contract-check.md, section 2).
 */
export const STORAGE_READ_PLACES = ["storage", ""] as const;

/** The fields that name a storage backend (secrets are never compared or shown). */
export const STORAGE_BACKEND_FIELDS = ["driver", "bucket", "region", "rootdirectory", "regionendpoint"] as const;

const SETTINGS_PATH = "/api/v0/admin/settings/registry/simple";

function settingsCall(target: { externalUrl: string; httpsPort?: number }, method: "PUT" | "GET", outFile: string): string {
    return curlCall({
        ...target,
        method,
        path: SETTINGS_PATH,
        auth: true,
        ...(method === "PUT" ? { bodyEnv: STORAGE_SETTINGS_ENV } : {}),
        outFile,
    });
}

/** The reading functions, then `want` (the fields of the document in `$DTR_STORAGE_SETTINGS`) and `readBack` (a GET). */
function prelude(target: { externalUrl: string; httpsPort?: number }): string[] {
    const places = STORAGE_READ_PLACES.map((p) => shellQuote(p)).join(" ");
    return [
        "set -u",
        authConfigFunction(),
        shFile(__dirname, "storage-settings.sh"),
        `: "\${${STORAGE_SETTINGS_ENV}:?${STORAGE_SETTINGS_ENV} must be set}"`,
        "body=$(mktemp) || exit 1",
        "got=$(mktemp) || exit 1",
        `trap 'rm -f "$body" "$got"' EXIT`,
        // The configured values, read from the very document sent (through stdin: it holds the keys).
        `want=$(printf '%s' "$${STORAGE_SETTINGS_ENV}" | storage_fields ${places}) || { echo "dtr-ha storage: ${STORAGE_SETTINGS_ENV} is not JSON" >&2; exit 1; }`,
        "read_back() {",
        `  gcode=$(${settingsCall(target, "GET", '"$got"')}) || gcode="no answer"`,
        '  case "$gcode" in 2??) ;; *) return 1 ;; esac',
        `  found=$(storage_fields ${places} <"$got") || return 1`,
        "}",
    ];
}

/**
 * A script run on the first replica's host that PUTs the settings (from `$DTR_STORAGE_SETTINGS`), then reads them back
 * and compares driver, bucket, region and root directory: any 2xx alone is not taken as success, since a body in a shape
 * DTR does not expect could be accepted and ignored (see STORAGE_READ_PLACES). Fails with the status and the start of
 * DTR's answer when DTR refuses them, and names each field that reads back differently.
 */
export function applyStorageSettingsScript(target: { externalUrl: string; httpsPort?: number }): string {
    return [
        ...prelude(target),
        `code=$(${settingsCall(target, "PUT", '"$body"')}) || code="no answer"`,
        'case "$code" in 2??) ;;',
        '  *) echo "DTR refused the storage settings: HTTP $code: $(head -c 400 "$body")" >&2; exit 1;; esac',
        "if ! read_back; then",
        '  echo "DTR answered HTTP $code to the storage settings, but reading them back failed (HTTP $gcode: $(head -c 300 "$got")); not taken as applied" >&2; exit 1',
        "fi",
        'diff=$(storage_differ "$want" "$found" driver bucket region rootdirectory)',
        'if [ -n "$diff" ]; then',
        '  echo "DTR answered HTTP $code to the storage settings, but they read back differently ($diff): sent $(storage_describe "$want"), DTR has $(storage_describe "$found"). DTR may have ignored the document (its shape is not in the DTR API reference: components/storage/settings.ts)" >&2; exit 1',
        "fi",
        'echo "storage settings applied (HTTP $code) and read back: $(storage_describe "$found")"',
    ].join("\n");
}

/**
 * After a restore, before the joins: DTR's restore brings back the storage settings the backup was taken with
 * (`--dtr-use-default-storage`: "the default storage on restore is cloud storage" configured at backup time,
 * reference/dtr/2.7/cli/restore.md). Re-sending different ones would switch backends, and "starting in DTR 2.6,
 * switching storage backends initializes a new metadata store and erases your existing tags"
 * (ee/dtr/admin/configure/external-storage/storage-backend-migration.md; MSR 2.9 wants an exact copy of the data or
 * `--reinitialize-storage`). So: read the restored settings; when driver, bucket, region, root directory and endpoint
 * match the configuration, send nothing; when they differ, refuse, naming both and the fix.
 */
export function restoredStorageSettingsScript(target: { externalUrl: string; httpsPort?: number }): string {
    return [
        ...prelude(target),
        "if ! read_back; then",
        '  echo "dtr-ha restore: could not read the restored storage settings (HTTP $gcode: $(head -c 300 "$got")); nothing was sent" >&2; exit 1',
        "fi",
        'diff=$(storage_differ "$want" "$found" driver bucket region rootdirectory regionendpoint)',
        'if [ -n "$diff" ]; then',
        '  echo "dtr-ha restore REFUSED: the restored storage settings differ from the configured ones ($diff): the backup was taken with $(storage_describe "$found"), the configuration says $(storage_describe "$want"). Sending them would switch storage backends, which in DTR 2.6+ initializes a new metadata store and erases every tag (storage-backend-migration.md). Set storage.s3 (bucket, region, rootDirectory, regionEndpoint) to the values of the backup and run up again; to move to another backend, copy the layers there first and follow the DTR storage-backend-migration guide. Nothing was sent." >&2; exit 1',
        "fi",
        'echo "storage settings restored from the backup match the configuration ($(storage_describe "$found")): not sent again"',
    ].join("\n");
}

/**
 * For the backup script: shell lines defining `storage_identity_read`, which reads DTR's storage settings (the same GET
 * and the same reading as the storage step's read-back, on this host's replica over loopback) and sets `st_driver`,
 * `st_bucket`, `st_region`, `st_root` and `st_endpoint`; on failure it returns 1 with the reason in `st_why`. Values with
 * characters the manifest does not keep (STORAGE_META_VALUE in backup-agent/src/manifest.ts) count as a failure.
 *
 * Why DTR's answer and not the stack's configuration: the backup holds DTR's settings and the restore brings back exactly
 * those (`--dtr-use-default-storage`), so they are what a restore must be compared with. The configuration can say
 * otherwise (settings changed in DTR's UI, a storage step that failed or never ran, an older configuration).
 */
export function storageIdentityReadScript(httpsPort: number): string {
    if (!Number.isInteger(httpsPort) || httpsPort < 1 || httpsPort > 65535) throw new Error(`httpsPort=${httpsPort} is not a TCP port`);
    const places = STORAGE_READ_PLACES.map((p) => shellQuote(p)).join(" ");
    const get = curlCall({
        externalUrl: `https://127.0.0.1:${httpsPort}`,
        httpsPort,
        method: "GET",
        path: SETTINGS_PATH,
        auth: true,
        outFile: '"$st_got"',
    });
    return [
        authConfigFunction({ required: false }),
        shFile(__dirname, "storage-settings.sh"),
        "storage_identity_read() {",
        `  if [ -z "\${${USERNAME_ENV}:-}" ] || [ -z "\${${SECRET_ENV.ucpPassword}:-}" ]; then st_why="no UCP credentials in the environment"; return 1; fi`,
        '  st_got=$(mktemp) || { st_why="no temporary file"; return 1; }',
        `  st_code=$(${get} 2>/dev/null) || st_code="no answer"`,
        '  case "$st_code" in 2??) ;; *) st_why="GET of the settings: HTTP $st_code"; rm -f "$st_got"; return 1 ;; esac',
        `  st_fields=$(storage_fields ${places} <"$st_got") || { st_why="DTR's answer is not JSON"; rm -f "$st_got"; return 1; }`,
        '  rm -f "$st_got"',
        '  st_driver=$(field driver "$st_fields"); st_bucket=$(field bucket "$st_fields"); st_region=$(field region "$st_fields")',
        '  st_root=$(field rootdirectory "$st_fields"); st_endpoint=$(field regionendpoint "$st_fields")',
        '  [ -n "$st_driver" ] || { st_why="no storage driver in the answer"; return 1; }',
        '  for st_v in "$st_driver" "$st_bucket" "$st_region" "$st_root" "$st_endpoint"; do',
        `    case $st_v in *[!A-Za-z0-9._~:/@%+=,-]*) st_why="a value with characters the manifest does not keep"; return 1 ;; esac`,
        "  done",
        "}",
    ].join("\n");
}

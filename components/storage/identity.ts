/**
 * Which storage backend a DTR backup's registry used, and whether a restore's configuration names the same one.
 *
 * DTR's restore brings back the storage settings the backup was taken with (`--dtr-use-default-storage`,
 * reference/dtr/2.7/cli/restore.md), and "starting in DTR 2.6, switching storage backends initializes a new metadata
 * store and erases your existing tags" (storage-backend-migration.md). So a restore whose configuration names another
 * backend must stop before anything changes. The fields are the ones the post-restore read-back compares
 * (STORAGE_BACKEND_FIELDS in ./settings.ts), compared the same way: exact strings, an absent value read as "".
 */
import { STORAGE_META, STORAGE_META_VALUE, storageMetaProblems } from "../../backup-agent/src/manifest";
import { S3Settings, STORAGE_BACKEND_FIELDS } from "./settings";

export type StorageField = (typeof STORAGE_BACKEND_FIELDS)[number];
export type StorageIdentity = Record<StorageField, string>;

export { STORAGE_META, STORAGE_META_VALUE };

/** The stack configuration key that sets each field (what to change when they differ). */
export const STORAGE_CONFIG_KEY: Record<StorageField, string> = {
    driver: "storage.mode",
    bucket: "storage.s3.bucket",
    region: "storage.s3.region",
    rootdirectory: "storage.s3.rootDirectory",
    regionendpoint: "storage.s3.regionEndpoint",
};

export const MIGRATION_DOC = "storage-backend-migration.md (docker/docs ee/dtr/admin/configure/external-storage/)";

/**
 * What the configuration would make DTR hold: exactly what `storage_fields` reads from `dtrStorageSettings(s)` (driver
 * "s3", an absent root directory or endpoint as ""), so this and the post-restore check agree on every value.
 */
export function configuredStorageIdentity(s: Pick<S3Settings, "bucket" | "region" | "rootDirectory" | "regionEndpoint">): StorageIdentity {
    return {
        driver: "s3",
        bucket: s.bucket,
        region: s.region,
        rootdirectory: s.rootDirectory ?? "",
        regionendpoint: s.regionEndpoint ?? "",
    };
}

/**
 * The identity a manifest records (`meta.storage*`), or null when it records none (a backup made before they were, or
 * when DTR's settings could not be read at backup time). A partial or malformed one is an error naming the keys.
 */
export function backupStorageIdentity(manifestKey: string, meta: Record<string, string> | undefined): StorageIdentity | null {
    const m = meta ?? {};
    const problems = storageMetaProblems(m);
    if (problems.length)
        throw new Error(`backup ${manifestKey}: its manifest's storage record is not usable (${problems.join("; ")}); pick another backup`);
    if (!(STORAGE_META.driver in m)) return null;
    return Object.fromEntries(STORAGE_BACKEND_FIELDS.map((f) => [f, m[STORAGE_META[f]]])) as StorageIdentity;
}

/** The fields whose values differ, in STORAGE_BACKEND_FIELDS order (empty: the same backend). */
export function storageDifferences(backup: StorageIdentity, configured: StorageIdentity): StorageField[] {
    return STORAGE_BACKEND_FIELDS.filter((f) => backup[f] !== configured[f]);
}

/** `s3 bucket="..." region="..." rootdirectory="..." regionendpoint="..."`, as the host scripts print it. */
export function describeStorage(i: StorageIdentity): string {
    return `${i.driver} bucket="${i.bucket}" region="${i.region}" rootdirectory="${i.rootdirectory}" regionendpoint="${i.regionendpoint}"`;
}

/** The refusal: both values, each key to change, and the document that says why. */
export function storageMismatchMessage(manifestKey: string, backup: StorageIdentity, configured: StorageIdentity): string {
    const diff = storageDifferences(backup, configured);
    const keys = diff.map((f) => `${STORAGE_CONFIG_KEY[f]}: "${configured[f]}" -> "${backup[f]}"`).join(", ");
    return (
        `the backup ${manifestKey} was taken with storage ${describeStorage(backup)}, the configuration says ${describeStorage(configured)} ` +
        `(they differ in ${diff.join(" ")}). DTR's restore brings the backup's storage settings back, and sending others would ` +
        `switch storage backends, which in DTR 2.6+ initializes a new metadata store and erases every tag (${MIGRATION_DOC}). ` +
        `Set ${keys} in dtr-ha:storage and run again; to move to another backend, copy the layers there first and follow ` +
        `DTR's storage-backend-migration guide`
    );
}

/** Why an older backup passes the early check: what still guards it. */
export function storageCheckSkipped(manifestKey: string): string {
    return (
        `the manifest of ${manifestKey} does not record the backup's storage (an older backup, or DTR's settings were not readable ` +
        `when it was taken): the early storage check was skipped; the storage step compares DTR's restored settings with the ` +
        `configuration after replica 1 is restored, before anything is sent`
    );
}

/**
 * The early check, before anything changes: `refused` holds the message when the backup's storage and the configured
 * one differ; `note` says what was checked, or that the check was skipped for a backup that records no storage (the
 * post-restore read-back still compares, after replica 1 is restored and before anything is sent).
 */
export function storagePreflight(
    manifestKey: string,
    meta: Record<string, string> | undefined,
    configured: StorageIdentity | undefined,
): { refused?: string; note: string } {
    if (configured === undefined) return { note: "no storage configured: nothing to compare with the backup's storage" };
    const backup = backupStorageIdentity(manifestKey, meta);
    if (backup === null) return { note: storageCheckSkipped(manifestKey) };
    if (storageDifferences(backup, configured).length)
        return { refused: storageMismatchMessage(manifestKey, backup, configured), note: "" };
    return { note: `the backup's storage matches the configuration (${describeStorage(backup)})` };
}

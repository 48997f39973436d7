// Storage settings (PUT /api/v0/admin/settings/registry/simple) and the registry config made from them.
import { UserError } from "./log";

export type StorageSettings = Record<string, unknown>;

// Keys docker-registry 2.8's s3-aws driver understands (registry/storage-drivers/s3.md).
const s3Keys = new Set([
    "region",
    "bucket",
    "regionendpoint",
    "accesskey",
    "secretkey",
    "encrypt",
    "keyid",
    "secure",
    "skipverify",
    "v4auth",
    "chunksize",
    "multipartcopychunksize",
    "multipartcopymaxconcurrency",
    "multipartcopythresholdsize",
    "rootdirectory",
    "storageclass",
    "forcepathstyle",
    "useragent",
    "usedualstack",
    "accelerate",
    "objectacl",
    "sessiontoken",
]);
const filesystemKeys = new Set(["rootdirectory", "maxthreads"]);
// Not drivers: general storage options the registry accepts next to the driver.
const generalKeys = new Set(["delete", "maintenance", "redirect", "cache"]);
const drivers = new Set(["filesystem", "s3"]);

export const SECRET_PLACEHOLDER = "********";

export function defaultStorage(): StorageSettings {
    return { delete: { enabled: true }, maintenance: { readonly: { enabled: false } }, filesystem: { rootdirectory: "/storage" } };
}

export function driverOf(storage: StorageSettings): string {
    const ds = Object.keys(storage).filter((k) => !generalKeys.has(k));
    return ds[0];
}

/** Validates the body of PUT .../registry/simple; returns the storage object to store. */
export function validateStorageBody(body: unknown, previous?: StorageSettings): StorageSettings {
    if (!body || typeof body !== "object" || Array.isArray(body)) {
        throw new UserError(`body must be a JSON object like {"storage":{"s3":{...}}}`);
    }
    const storage = (body as Record<string, unknown>).storage;
    if (!storage || typeof storage !== "object" || Array.isArray(storage)) {
        throw new UserError(`body.storage is missing or not an object: send {"storage":{"filesystem":{...}}} or {"storage":{"s3":{...}}}`);
    }
    const st = JSON.parse(JSON.stringify(storage)) as Record<string, unknown>;
    const named = Object.keys(st).filter((k) => !generalKeys.has(k));
    const unknown = named.filter((k) => !drivers.has(k));
    if (unknown.length) {
        throw new UserError(`storage.${unknown[0]} is not supported by dtr-sim's registry: use storage.filesystem or storage.s3`);
    }
    if (named.length !== 1) {
        throw new UserError(`storage must name exactly one driver (filesystem or s3), got ${named.length ? named.join(", ") : "none"}`);
    }
    const d = named[0];
    const cfg = st[d];
    if (!cfg || typeof cfg !== "object" || Array.isArray(cfg)) throw new UserError(`storage.${d} must be an object`);
    const c = cfg as Record<string, unknown>;
    const allowed = d === "s3" ? s3Keys : filesystemKeys;
    for (const k of Object.keys(c)) {
        if (!allowed.has(k))
            throw new UserError(`storage.${d}.${k} is not a key of the ${d} driver; known keys: ${[...allowed].join(", ")}`);
    }
    if (d === "s3") {
        for (const k of ["region", "bucket"]) {
            if (typeof c[k] !== "string" || c[k] === "") throw new UserError(`storage.s3.${k} is required (a non-empty string)`);
        }
        if (c.chunksize !== undefined && (typeof c.chunksize !== "number" || c.chunksize < 5 * 1024 * 1024)) {
            throw new UserError(`storage.s3.chunksize ${JSON.stringify(c.chunksize)} must be a number >= 5242880 (5 MiB)`);
        }
        if (c.regionendpoint !== undefined && c.regionendpoint !== "") {
            try {
                new URL(String(c.regionendpoint));
            } catch {
                throw new UserError(`storage.s3.regionendpoint '${c.regionendpoint}' is not a URL (e.g. http://10.200.0.1:9000)`);
            }
        }
        for (const k of ["secure", "encrypt", "v4auth", "forcepathstyle", "skipverify"]) {
            if (c[k] !== undefined && typeof c[k] !== "boolean")
                throw new UserError(`storage.s3.${k} must be true or false, got ${JSON.stringify(c[k])}`);
        }
        // GET hides the secret key; a PUT that sends the placeholder back keeps the stored one.
        if (c.secretkey === SECRET_PLACEHOLDER) {
            const prev = previous && (previous.s3 as Record<string, unknown> | undefined);
            if (!prev || typeof prev.secretkey !== "string")
                throw new UserError(
                    `storage.s3.secretkey is the placeholder ${SECRET_PLACEHOLDER} but no secret key is stored: send the real key`,
                );
            c.secretkey = prev.secretkey;
        }
    }
    if (d === "filesystem" && c.rootdirectory === undefined) c.rootdirectory = "/storage";
    return st;
}

/**
 * Where the layers live: the driver and the keys that locate its data (bucket, region, endpoint, root directory), or the
 * volume / NFS URL. Credentials and tuning are not part of it. A change of it is a switch of storage backends.
 */
export function backendIdentity(storage: StorageSettings, storageVolume?: string, nfsUrl?: string): string {
    const d = driverOf(storage);
    const c = (storage[d] ?? {}) as Record<string, unknown>;
    const s = (k: string) => (typeof c[k] === "string" ? (c[k] as string) : "");
    return JSON.stringify([d, s("bucket"), s("region"), s("regionendpoint"), s("rootdirectory"), storageVolume ?? "", nfsUrl ?? ""]);
}

export function redactStorage(storage: StorageSettings): StorageSettings {
    const st = JSON.parse(JSON.stringify(storage)) as Record<string, Record<string, unknown>>;
    if (st.s3 && typeof st.s3.secretkey === "string" && st.s3.secretkey) st.s3.secretkey = SECRET_PLACEHOLDER;
    return st;
}

/** docker-registry config (JSON is valid YAML). */
export function registryConfig(storage: StorageSettings, httpSecret: string): Record<string, unknown> {
    const st = JSON.parse(JSON.stringify(storage)) as Record<string, unknown>;
    // GET returns what was stored, as sent; the registry takes no endpoint rather than an empty one.
    const s3 = st.s3 as Record<string, unknown> | undefined;
    if (s3 && s3.regionendpoint === "") delete s3.regionendpoint;
    if (st.filesystem) {
        // The volume is always mounted at /storage; a rootdirectory elsewhere would write into the container.
        st.filesystem = { ...(st.filesystem as object), rootdirectory: "/storage" };
    }
    return {
        version: 0.1,
        log: { level: "info", fields: { service: "registry" } },
        storage: st,
        http: {
            addr: ":5000",
            secret: httpSecret, // the same on every replica so uploads survive a load balancer switching replicas
            relativeurls: true,
            debug: { addr: ":5001" },
            headers: { "X-Content-Type-Options": ["nosniff"] },
        },
        health: { storagedriver: { enabled: true, interval: "10s", threshold: 3 } },
    };
}

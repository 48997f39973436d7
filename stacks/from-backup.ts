/**
 * `rebuild --config-from-backup`: the source stack's state is gone (its backend lost with the cluster), so the new
 * stack's configuration comes from the document the backup stored beside its manifest (plain values and the names of
 * the secrets), and the secrets from the operator: each from `DTR_HA_SECRET_<NAME>` or a `--secrets-file` JSON
 * object. The backup bucket is named on the command line (`--backup-bucket s3://<bucket>?region=…&endpoint=…`).
 * Everything here is checked before a stack is created; no secret value is ever printed.
 */
import * as fs from "fs";
import type { ConfigMap } from "@pulumi/pulumi/automation";
import { parseManifestKey } from "../backup-agent/src/keys";
import { CONFIG_KEY, StackConfigDoc, parseStackConfig } from "../backup-agent/src/stack-config";
import { agent, BackupAccess } from "./catalog";
import { PROJECT } from "./workspace";

/** Where the backups are: an S3 bucket URL as Pulumi's DIY backends spell it. */
export interface BackupStore {
    bucket: string;
    region: string;
    endpoint?: string;
    forcePathStyle?: boolean;
}

const STORE_EXAMPLE = "s3://dtr-backups?region=eu-west-1, or s3://dtr-backups?endpoint=http://10.200.0.1:9000&s3ForcePathStyle=true";

/** `s3://<bucket>[?region=R][&endpoint=URL][&s3ForcePathStyle=true|false]`, or why it is refused. */
export function parseBackupStore(flag: string, text: string): BackupStore | string {
    let u: URL;
    try {
        u = new URL(text);
    } catch {
        return `${flag} ${JSON.stringify(text)} is not a URL: e.g. ${STORE_EXAMPLE}`;
    }
    if (u.protocol !== "s3:") return `${flag} ${JSON.stringify(text)} must be an s3:// URL: e.g. ${STORE_EXAMPLE}`;
    if (u.username || u.password) return `${flag} must not carry credentials: give the bucket keys as secrets (dtr-ha:backupAccessKey...)`;
    if (u.pathname !== "" && u.pathname !== "/") return `${flag} ${JSON.stringify(text)}: name the bucket only (the prefix is in --from)`;
    const bucket = u.hostname;
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || bucket.includes(".."))
        return `${flag}: ${JSON.stringify(bucket)} is not an S3 bucket name (3-63 of a-z 0-9 . -)`;
    const known = ["region", "endpoint", "s3ForcePathStyle"];
    for (const k of u.searchParams.keys())
        if (!known.includes(k)) return `${flag}: unknown parameter ${JSON.stringify(k)} (known: ${known.join(", ")})`;
    const store: BackupStore = { bucket, region: u.searchParams.get("region") ?? "us-east-1" };
    const endpoint = u.searchParams.get("endpoint");
    if (endpoint !== null) {
        if (!/^https?:\/\/[^/@\s]+\/?$/.test(endpoint))
            return `${flag}: endpoint=${JSON.stringify(endpoint)} must be http(s)://host[:port], e.g. http://10.200.0.1:9000`;
        store.endpoint = endpoint.replace(/\/$/, "");
    }
    const fps = u.searchParams.get("s3ForcePathStyle");
    if (fps !== null) {
        if (fps !== "true" && fps !== "false") return `${flag}: s3ForcePathStyle=${JSON.stringify(fps)} must be true or false`;
        store.forcePathStyle = fps === "true";
    }
    return store;
}

/** The environment variable a secret is read from: `dtr-ha:ucpPassword` -> DTR_HA_SECRET_UCP_PASSWORD, `aws:secretKey` -> DTR_HA_SECRET_AWS_SECRET_KEY. */
export function secretEnvName(key: string): string {
    const [ns, name] = [key.slice(0, key.indexOf(":")), key.slice(key.indexOf(":") + 1)];
    const snake = (s: string) =>
        s
            .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
            .replace(/[^A-Za-z0-9]+/g, "_")
            .toUpperCase();
    return `DTR_HA_SECRET_${ns === PROJECT ? "" : `${snake(ns)}_`}${snake(name)}`;
}

/** A `--secrets-file`: a JSON object of `"ns:key": "value"`, readable by its owner only (it holds secrets). */
export function readSecretsFile(file: string): Record<string, string> {
    let st: fs.Stats;
    try {
        st = fs.statSync(file);
    } catch {
        throw new Error(`--secrets-file ${file} does not exist`);
    }
    if ((st.mode & 0o077) !== 0)
        throw new Error(`--secrets-file ${file} is readable by others (mode ${(st.mode & 0o777).toString(8)}): chmod 600 ${file}`);
    let value: unknown;
    try {
        value = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch {
        // The parser's message may quote the file's text: never show it (nor keep it as a cause).
        throw new Error(`--secrets-file ${file} is not JSON: give an object such as {"dtr-ha:ucpPassword": "..."}`);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value))
        throw new Error(`--secrets-file ${file} must be a JSON object such as {"dtr-ha:ucpPassword": "..."}`);
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(value)) {
        if (!CONFIG_KEY.test(k))
            throw new Error(`--secrets-file ${file}: ${JSON.stringify(k)} is not a namespace:key name such as dtr-ha:ucpPassword`);
        if (typeof v !== "string" || v === "") throw new Error(`--secrets-file ${file}: ${k} must be a non-empty string (value not shown)`);
        out[k] = v;
    }
    return out;
}

/**
 * Exactly the secrets `names`, each from env or the file: every missing one, one given twice, or one the backup does
 * not need is a problem naming the key and how to give it (never a value).
 */
export function gatherSecrets(
    names: string[],
    env: NodeJS.ProcessEnv,
    file: Record<string, string> | undefined,
    backup: string,
): { values: Record<string, string>; problems: string[] } {
    const values: Record<string, string> = {};
    const problems: string[] = [];
    for (const name of names) {
        const envName = secretEnvName(name);
        const fromEnv = env[envName] || undefined;
        const fromFile = file?.[name];
        if (fromEnv !== undefined && fromFile !== undefined)
            problems.push(`secret ${name} is given twice (env ${envName} and --secrets-file): give it once`);
        else if (fromEnv === undefined && fromFile === undefined)
            problems.push(`secret ${name} is missing: set ${envName}, or put "${name}" in the --secrets-file JSON`);
        else values[name] = (fromEnv ?? fromFile)!;
    }
    for (const k of Object.keys(file ?? {}))
        if (!names.includes(k))
            problems.push(`--secrets-file gives ${k}, which backup ${backup} does not need: remove it (a misspelt name?)`);
    return { values, problems };
}

/**
 * Access to the backup bucket before the document is read: prefix and cluster from the manifest key, keys from the
 * backup's own secret names if given (env or file), else the AWS environment (or instance role) as the SDK finds it.
 */
export function accessFromStore(
    manifestKey: string,
    store: BackupStore,
    env: NodeJS.ProcessEnv,
    file: Record<string, string> | undefined,
): BackupAccess {
    const k = parseManifestKey(manifestKey);
    if (!k) throw new Error(`--from ${manifestKey} is not a manifest key`);
    const pick = (name: string) => env[secretEnvName(name)] || file?.[name];
    const a: Record<string, string> = { AWS_REGION: store.region };
    if (store.endpoint) a.S3_ENDPOINT = store.endpoint;
    if (store.forcePathStyle !== undefined) a.S3_FORCE_PATH_STYLE = String(store.forcePathStyle);
    const id = pick("dtr-ha:backupAccessKey");
    const secret = pick("dtr-ha:backupSecretKey");
    if (id && secret) Object.assign(a, { AWS_ACCESS_KEY_ID: id, AWS_SECRET_ACCESS_KEY: secret });
    else
        for (const v of [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_PROFILE",
            "AWS_CONFIG_FILE",
            "AWS_SHARED_CREDENTIALS_FILE",
            "HOME",
        ])
            if (env[v]) a[v] = env[v]!;
    const identity = pick("dtr-ha:ageIdentity");
    if (identity) a.DTR_HA_AGE_IDENTITY = identity;
    return { bucket: store.bucket, prefix: k.prefix, cluster: k.cluster, env: a };
}

/** The document stored beside `manifestKey`, read by the agent (pinned version, SHA-256 checked). */
export async function readStoredConfig(a: BackupAccess, manifestKey: string): Promise<StackConfigDoc> {
    const out = await agent(["get-stack-config", "--bucket", a.bucket, "--manifest-key", manifestKey], a.env);
    const doc = parseStackConfig(out.trim(), `the stack configuration of ${manifestKey}`);
    if (doc.project !== PROJECT) throw new Error(`backup ${manifestKey} is of project ${doc.project}, not ${PROJECT}`);
    return doc;
}

/** The new stack's config: the stored plain values, and the secrets as secrets. */
export function configFromDoc(doc: StackConfigDoc, secrets: Record<string, string>): ConfigMap {
    const map: ConfigMap = {};
    for (const [k, value] of Object.entries(doc.config)) map[k] = { value };
    for (const [k, value] of Object.entries(secrets)) map[k] = { value, secret: true };
    return map;
}

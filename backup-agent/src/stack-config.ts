// The source stack's configuration, stored beside a backup's manifest so the cluster can be rebuilt when the Pulumi
// state backend is lost with it. Only non-secret values and the NAMES of the secrets: the document is checked here
// (shape, size), and what goes in is decided by the stack program (components/backup/stack-config.ts), which alone
// knows which values are secret. The manifest records the stored bytes' SHA-256 and version, so a document written
// later at the same key (or a planted one) is refused on read.
// Pure (no S3, no Node-24-only modules): the stack program imports it too. Reading and writing: stack-config-store.ts.
import { MANIFEST_SUFFIX, manifestKeyProblem } from "./keys";

/** A document or key that is not what it must be. */
export class StackConfigError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "StackConfigError";
    }
}

export const STACK_CONFIG_FORMAT = "dtr-ha-stack-config/1";
export const STACK_CONFIG_SUFFIX = ".stack-config.json";
/** A stack's config is a few KiB; this bounds what a host pipes in and what a rebuild reads. */
export const MAX_STACK_CONFIG_BYTES = 256 * 1024;
/** The manifest meta keys that pin the stored document. */
export const META = { sha256: "stackConfigSha256", versionId: "stackConfigVersionId" } as const;

export interface StackConfigDoc {
    format: typeof STACK_CONFIG_FORMAT;
    project: string;
    sourceStack: string | null;
    /** Plain values as Pulumi keeps them (`ns:key` -> string; objects as JSON text). */
    config: Record<string, string>;
    /** The names (`ns:key`) of the secrets the stack had; never their values. */
    secrets: string[];
}

/** `namespace:key` as Pulumi names config keys. */
export const CONFIG_KEY = /^[A-Za-z0-9_.-]{1,100}:[A-Za-z0-9_.:/-]{1,200}$/;

/** Where the document of the backup whose manifest is `manifestKey` lives: beside it, same stamp. */
export function stackConfigKey(manifestKey: string): string {
    const p = manifestKeyProblem(manifestKey);
    if (p) throw new StackConfigError(p);
    return manifestKey.slice(0, -MANIFEST_SUFFIX.length) + STACK_CONFIG_SUFFIX;
}

function isObject(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Every problem of a document, so a bad one is fixed in one pass. */
export function stackConfigProblems(value: unknown): string[] {
    if (!isObject(value)) return ["the stack configuration must be a JSON object"];
    const p: string[] = [];
    const known = ["format", "project", "sourceStack", "config", "secrets"];
    for (const k of Object.keys(value)) if (!known.includes(k)) p.push(`unknown key "${k}" (allowed: ${known.join(", ")})`);
    if (value.format !== STACK_CONFIG_FORMAT) p.push(`format must be "${STACK_CONFIG_FORMAT}", got ${JSON.stringify(value.format)}`);
    if (typeof value.project !== "string" || value.project === "") p.push(`project must be a non-empty string`);
    if (value.sourceStack !== null && (typeof value.sourceStack !== "string" || value.sourceStack === ""))
        p.push(`sourceStack must be a non-empty string or null, got ${JSON.stringify(value.sourceStack)}`);
    if (!isObject(value.config)) p.push("config must be an object of ns:key -> string");
    else
        for (const [k, v] of Object.entries(value.config)) {
            if (!CONFIG_KEY.test(k)) p.push(`config key ${JSON.stringify(k)} is not a namespace:key config key`);
            if (typeof v !== "string") p.push(`config ${k} must be a string (objects as JSON text), got ${typeof v}`);
        }
    if (!Array.isArray(value.secrets) || !value.secrets.every((s) => typeof s === "string" && CONFIG_KEY.test(s)))
        p.push("secrets must be a list of namespace:key names");
    else {
        if (new Set(value.secrets).size !== value.secrets.length) p.push("secrets lists a name twice");
        if (isObject(value.config))
            for (const s of value.secrets as string[])
                if (s in value.config) p.push(`${s} is both a plain value and a secret: a secret's value is never stored`);
    }
    return p;
}

export function parseStackConfig(text: string, where: string): StackConfigDoc {
    if (Buffer.byteLength(text) > MAX_STACK_CONFIG_BYTES)
        throw new StackConfigError(`${where} is larger than ${MAX_STACK_CONFIG_BYTES} bytes: not a stack configuration`);
    let value: unknown;
    try {
        value = JSON.parse(text);
    } catch (e) {
        throw new StackConfigError(`${where} is not JSON: ${(e as Error).message}`);
    }
    const problems = stackConfigProblems(value);
    if (problems.length > 0) throw new StackConfigError(`${where} is not a stack configuration: ${problems.join("; ")}`);
    return value as StackConfigDoc;
}

/** The bytes stored: one canonical line, keys sorted, so the same configuration always has the same SHA-256. */
export function canonicalBytes(d: StackConfigDoc): Buffer {
    const config = Object.fromEntries(
        Object.keys(d.config)
            .sort()
            .map((k) => [k, d.config[k]]),
    );
    const doc = { format: d.format, project: d.project, sourceStack: d.sourceStack, config, secrets: [...d.secrets].sort() };
    return Buffer.from(JSON.stringify(doc) + "\n");
}

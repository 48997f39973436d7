// Flag parsing for every command. Each error names the flag, the bad value and the fix.
import { BACKUP_KINDS, BackupKind, CLUSTER_NAME, COMPRESSIONS, ManifestCompression as Compression, META_KEY } from "./manifest";
import { DEFAULTS } from "./defaults";
import { checkKey, checkPrefix, MANIFEST_SUFFIX, parseObjectKey } from "./keys";
import type { UploadOptions } from "./upload";

export class UsageError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "UsageError";
    }
}

interface FlagSpec {
    repeat?: boolean;
    required?: boolean;
    /** A boolean switch takes no value. */
    bool?: boolean;
    help: string;
}

type Specs = Record<string, FlagSpec>;
type Raw = Map<string, string[]>;

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
// Shape only (X25519 age1..., hybrid age1pq1...); the age library checks the bech32 checksum before any byte is read.
const RECIPIENT = /^age1[a-z0-9]{20,}$/;

function parseRaw(cmd: string, argv: string[], specs: Specs): Raw {
    const raw: Raw = new Map();
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (!arg.startsWith("--"))
            throw new UsageError(`${cmd}: unexpected argument '${arg}': every option is a --flag (see '${cmd} --help')`);
        const eq = arg.indexOf("=");
        const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
        const spec = specs[name];
        if (!spec) {
            throw new UsageError(
                `${cmd}: unknown flag --${name}: allowed flags are ${Object.keys(specs)
                    .map((f) => `--${f}`)
                    .join(", ")}`,
            );
        }
        let value: string;
        if (spec.bool) {
            if (eq >= 0) throw new UsageError(`${cmd}: --${name} takes no value, got '${arg.slice(eq + 1)}': write just --${name}`);
            value = "true";
        } else if (eq >= 0) value = arg.slice(eq + 1);
        else {
            if (i + 1 >= argv.length || argv[i + 1].startsWith("--"))
                throw new UsageError(`${cmd}: --${name} needs a value: --${name} <${spec.help}>`);
            value = argv[++i];
        }
        const seen = raw.get(name) ?? [];
        if (seen.length > 0 && !spec.repeat)
            throw new UsageError(`${cmd}: --${name} given twice ('${seen[0]}' and '${value}'): give it once`);
        raw.set(name, [...seen, value]);
    }
    for (const [name, spec] of Object.entries(specs)) {
        if (spec.required && !raw.has(name)) throw new UsageError(`${cmd}: --${name} is required: --${name} <${spec.help}>`);
    }
    return raw;
}

function one(raw: Raw, name: string): string | undefined {
    return raw.get(name)?.[0];
}

function bucket(cmd: string, v: string): string {
    if (!BUCKET.test(v) || v.includes(".."))
        throw new UsageError(
            `${cmd}: --bucket '${v}' is not a valid S3 bucket name: 3-63 of a-z 0-9 . -, starting and ending with a letter or digit`,
        );
    return v;
}

function key(cmd: string, flag: string, v: string): string {
    const problem = checkKey(`--${flag}`, v);
    if (problem) throw new UsageError(`${cmd}: ${problem}`);
    return v;
}

function manifestKey(cmd: string, flag: string, v: string): string {
    key(cmd, flag, v);
    if (!v.endsWith(MANIFEST_SUFFIX))
        throw new UsageError(
            `${cmd}: --${flag} '${v}' must end in ${MANIFEST_SUFFIX} (the catalog finds manifests by that suffix): e.g. ${v.replace(/\.json$/, "")}${MANIFEST_SUFFIX}`,
        );
    return v;
}

function envName(cmd: string, flag: string, v: string): string {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(v))
        throw new UsageError(
            `${cmd}: --${flag} '${v}' is not an environment variable name: give the NAME of the variable that holds the secret, e.g. AGE_IDENTITY`,
        );
    return v;
}

function cluster(cmd: string, v: string): string {
    if (!CLUSTER_NAME.test(v))
        throw new UsageError(`${cmd}: --cluster '${v}' must be 1-63 of A-Z a-z 0-9 . _ -, starting with a letter or digit`);
    return v;
}

function kind(cmd: string, v: string): BackupKind {
    if (!BACKUP_KINDS.includes(v as BackupKind))
        throw new UsageError(
            `${cmd}: --kind '${v}' is not one of ${BACKUP_KINDS.join("|")}: pass --kind ${BACKUP_KINDS.join(", --kind ")}`,
        );
    return v as BackupKind;
}

function int(cmd: string, flag: string, v: string, min: number, max: number): number {
    const n = /^\d+$/.test(v) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max)
        throw new UsageError(`${cmd}: --${flag} '${v}' must be a whole number from ${min} to ${max}`);
    return n;
}

function helpText(cmd: string, specs: Specs): string {
    const lines = Object.entries(specs).map(
        ([n, s]) => `  --${n}${s.bool ? "" : ` <${s.help}>`}${s.required ? " (required)" : ""}${s.repeat ? " (repeatable)" : ""}`,
    );
    return `usage: ${cmd}\n${lines.join("\n")}`;
}

export class HelpRequested extends Error {
    constructor(readonly text: string) {
        super(text);
    }
}

function parse(cmd: string, argv: string[], specs: Specs): Raw {
    if (argv.includes("--help") || argv.includes("-h")) throw new HelpRequested(helpText(cmd, specs));
    return parseRaw(cmd, argv, specs);
}

// ---- upload

/** What `upload` takes on its command line: the pipeline's options, every one given (defaults filled in). */
export type UploadFlags = Required<Omit<UploadOptions, "now">>;

const uploadSpecs: Specs = {
    bucket: { required: true, help: "bucket" },
    key: { required: true, help: "object key" },
    kind: { required: true, help: BACKUP_KINDS.join("|") },
    cluster: { required: true, help: "cluster name" },
    "source-stack": { help: "Pulumi stack name" },
    meta: { repeat: true, help: "key=value" },
    recipient: { repeat: true, help: "age1... public key" },
    "lock-mode": { help: "GOVERNANCE|COMPLIANCE" },
    "retain-days": { help: "days" },
    "part-size-mib": { help: "MiB, 5-64, default 8" },
    "queue-size": { help: "parts in flight, 1-4, default 2" },
    compression: { help: `zstd|gzip, default ${DEFAULTS.compression} (gzip: as backups before zstd)` },
    "zstd-level": { help: `1-19, default ${DEFAULTS.level.zstd}` },
    "gzip-level": { help: `1-9, default ${DEFAULTS.level.gzip}` },
    "compress-parallel": {
        help: `gzip blocks compressed at once, 1-8, default ${DEFAULTS.parallel} (zstd -1 runs on the upload's worker thread; blocks in flight are this + 1)`,
    },
    "gzip-parallel": { help: "the old name of --compress-parallel" },
    "block-mib": { help: `MiB of tar per compressed block, 1-16, default ${DEFAULTS.blockMiB}` },
};

export function parseUpload(argv: string[]): UploadFlags {
    const cmd = "upload";
    const raw = parse(cmd, argv, uploadSpecs);
    const meta: Record<string, string> = {};
    for (const pair of raw.get("meta") ?? []) {
        const eq = pair.indexOf("=");
        const k = eq > 0 ? pair.slice(0, eq) : "";
        if (!META_KEY.test(k))
            throw new UsageError(
                `${cmd}: --meta '${pair}' must be key=value with a key matching ${META_KEY}, e.g. --meta dtrVersion=2.7.8`,
            );
        if (k in meta) throw new UsageError(`${cmd}: --meta key '${k}' given twice: give each key once`);
        meta[k] = pair.slice(eq + 1);
    }
    const recipients = raw.get("recipient") ?? [];
    for (const r of recipients) {
        if (r.startsWith("AGE-SECRET-KEY"))
            throw new UsageError(
                `${cmd}: --recipient is an age SECRET key: pass the public key (age1..., from 'age-keygen -y'), and keep the secret key off this host`,
            );
        if (!RECIPIENT.test(r))
            throw new UsageError(
                `${cmd}: --recipient '${r}' is not an age public key: expected age1... in lowercase (from 'age-keygen -y')`,
            );
    }
    if (new Set(recipients).size !== recipients.length)
        throw new UsageError(`${cmd}: --recipient lists the same key twice: give each once`);
    const mode = one(raw, "lock-mode");
    const days = one(raw, "retain-days");
    let lock: UploadFlags["lock"] = null;
    if (mode !== undefined || days !== undefined) {
        if (mode === undefined) throw new UsageError(`${cmd}: --retain-days needs --lock-mode GOVERNANCE|COMPLIANCE`);
        if (days === undefined) throw new UsageError(`${cmd}: --lock-mode needs --retain-days <days>`);
        if (mode !== "GOVERNANCE" && mode !== "COMPLIANCE")
            throw new UsageError(`${cmd}: --lock-mode '${mode}' must be GOVERNANCE or COMPLIANCE (uppercase, as S3 spells it)`);
        lock = { mode, retainDays: int(cmd, "retain-days", days, 1, 36500) };
    }
    const compression = compressionFlag(cmd, raw);
    const named = parseObjectKey(one(raw, "key")!);
    if (named && named.compression !== compression)
        throw new UsageError(
            `${cmd}: --key ${one(raw, "key")} names ${named.compression} but the upload compresses with ${compression}: give --compression ${named.compression}, or a key from 'keys --compression ${compression}'`,
        );
    const other = compression === "zstd" ? "gzip-level" : "zstd-level";
    if (one(raw, other) !== undefined)
        throw new UsageError(`${cmd}: --${other} does not apply to --compression ${compression}: drop it or change --compression`);
    if (one(raw, "compress-parallel") !== undefined && one(raw, "gzip-parallel") !== undefined)
        throw new UsageError(`${cmd}: --gzip-parallel is the old name of --compress-parallel: give only one`);
    const parallel = one(raw, "compress-parallel") ?? one(raw, "gzip-parallel");
    const stack = one(raw, "source-stack");
    if (stack === "") throw new UsageError(`${cmd}: --source-stack is empty: give the stack name or leave the flag out`);
    return {
        bucket: bucket(cmd, one(raw, "bucket")!),
        key: key(cmd, "key", one(raw, "key")!),
        kind: kind(cmd, one(raw, "kind")!),
        cluster: cluster(cmd, one(raw, "cluster")!),
        sourceStack: stack ?? null,
        meta,
        recipients,
        lock,
        partSizeMiB: int(cmd, "part-size-mib", one(raw, "part-size-mib") ?? String(DEFAULTS.partSizeMiB), 5, 64),
        queueSize: int(cmd, "queue-size", one(raw, "queue-size") ?? String(DEFAULTS.queueSize), 1, 8),
        compression,
        level:
            compression === "zstd"
                ? int(cmd, "zstd-level", one(raw, "zstd-level") ?? String(DEFAULTS.level.zstd), 1, 19)
                : int(cmd, "gzip-level", one(raw, "gzip-level") ?? String(DEFAULTS.level.gzip), 1, 9),
        parallel: int(cmd, "compress-parallel", parallel ?? String(DEFAULTS.parallel), 1, 8),
        blockMiB: int(cmd, "block-mib", one(raw, "block-mib") ?? String(DEFAULTS.blockMiB), 1, 16),
    };
}

// ---- put-manifest, verify, download, list, keys

export function parsePutManifest(argv: string[]): { bucket: string; key: string } {
    const cmd = "put-manifest";
    const raw = parse(cmd, argv, {
        bucket: { required: true, help: "bucket" },
        key: { required: true, help: `manifest key ending in ${MANIFEST_SUFFIX}` },
    });
    return { bucket: bucket(cmd, one(raw, "bucket")!), key: manifestKey(cmd, "key", one(raw, "key")!) };
}

/** `put-stack-config` and `get-stack-config`: the backup's bucket and its manifest key (the document sits beside it). */
export function parseStackConfigFlags(cmd: string, argv: string[]): { bucket: string; manifestKey: string } {
    const raw = parse(cmd, argv, {
        bucket: { required: true, help: "bucket" },
        "manifest-key": { required: true, help: `the backup's manifest key, ending in ${MANIFEST_SUFFIX}` },
    });
    return { bucket: bucket(cmd, one(raw, "bucket")!), manifestKey: manifestKey(cmd, "manifest-key", one(raw, "manifest-key")!) };
}

export interface ReadFlags {
    bucket: string;
    manifestKey: string;
    identityEnv: string | null;
    /** verify only: an encrypted backup without an identity is checked on its stored bytes alone (not a restore proof). */
    storedOnly: boolean;
    /** verify only: keep the verdict as a verification record beside the manifest. */
    record: boolean;
}

function parseRead(cmd: string, argv: string[], extra: Record<string, { bool?: boolean; help: string }> = {}): ReadFlags {
    const raw = parse(cmd, argv, {
        bucket: { required: true, help: "bucket" },
        "manifest-key": { required: true, help: `key ending in ${MANIFEST_SUFFIX}` },
        "identity-env": { help: "NAME of the env var holding the AGE-SECRET-KEY-1..." },
        ...extra,
    });
    const idEnv = one(raw, "identity-env");
    return {
        bucket: bucket(cmd, one(raw, "bucket")!),
        manifestKey: manifestKey(cmd, "manifest-key", one(raw, "manifest-key")!),
        identityEnv: idEnv === undefined ? null : envName(cmd, "identity-env", idEnv),
        storedOnly: raw.has("stored-only"),
        record: raw.has("record"),
    };
}

export const parseVerify = (argv: string[]): ReadFlags =>
    parseRead("verify", argv, {
        "stored-only": { bool: true, help: "check an encrypted backup's stored bytes without decrypting it" },
        record: { bool: true, help: "keep the verdict beside the manifest (list --verifications shows it)" },
    });
export const parseDownload = (argv: string[]): ReadFlags => parseRead("download", argv);

export function parseList(argv: string[]): {
    bucket: string;
    prefix: string;
    cluster: string | null;
    includeBroken: boolean;
    verifications: boolean;
} {
    const cmd = "list";
    const raw = parse(cmd, argv, {
        bucket: { required: true, help: "bucket" },
        prefix: { help: "key prefix" },
        cluster: { help: "cluster name" },
        "include-broken": { bool: true, help: "" },
        verifications: { bool: true, help: "" },
    });
    const prefix = one(raw, "prefix") ?? "";
    const problem = checkPrefix("--prefix", prefix);
    if (problem) throw new UsageError(`${cmd}: ${problem}`);
    const c = one(raw, "cluster");
    return {
        bucket: bucket(cmd, one(raw, "bucket")!),
        prefix,
        cluster: c === undefined ? null : cluster(cmd, c),
        includeBroken: raw.has("include-broken"),
        verifications: raw.has("verifications"),
    };
}

function compressionFlag(cmd: string, raw: Raw): Compression {
    const c = (one(raw, "compression") ?? DEFAULTS.compression) as Compression;
    if (!COMPRESSIONS.includes(c)) throw new UsageError(`${cmd}: --compression '${c}' must be one of ${COMPRESSIONS.join("|")}`);
    return c;
}

export function parseKeys(argv: string[]): {
    prefix: string;
    cluster: string;
    kind: BackupKind;
    encrypted: boolean;
    compression: Compression;
} {
    const cmd = "keys";
    const raw = parse(cmd, argv, {
        prefix: { help: "key prefix" },
        cluster: { required: true, help: "cluster name" },
        kind: { required: true, help: BACKUP_KINDS.join("|") },
        encrypted: { bool: true, help: "" },
        compression: { help: `zstd|gzip, default ${DEFAULTS.compression}: as given to upload` },
    });
    const prefix = one(raw, "prefix") ?? "";
    const problem = checkPrefix("--prefix", prefix);
    if (problem) throw new UsageError(`${cmd}: ${problem}`);
    return {
        prefix,
        cluster: cluster(cmd, one(raw, "cluster")!),
        kind: kind(cmd, one(raw, "kind")!),
        encrypted: raw.has("encrypted"),
        compression: compressionFlag(cmd, raw),
    };
}

export function parseInventory(argv: string[]): { url: URL; insecure: boolean; lines: boolean } {
    const cmd = "inventory";
    const raw = parse(cmd, argv, {
        "dtr-url": { required: true, help: "https://host:port of a DTR replica" },
        insecure: { bool: true, help: "" },
        lines: { bool: true, help: "" },
    });
    const text = one(raw, "dtr-url")!;
    let url: URL;
    try {
        url = new URL(text);
    } catch {
        throw new UsageError(`${cmd}: --dtr-url '${text}' is not a URL: use https://host:port`);
    }
    if (url.protocol !== "https:" && url.protocol !== "http:")
        throw new UsageError(`${cmd}: --dtr-url '${text}' must be http(s)://host:port`);
    return { url, insecure: raw.has("insecure"), lines: raw.has("lines") };
}

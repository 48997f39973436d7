// The DTR metadata a backup carries besides repositories and team grants (docker/docs ee/admin/backup/back-up-dtr.md,
// "DTR backup contents": configurations, Notary data, scan results, certificates and keys), shaped as DTR 2.7's API
// shows it (reference/dtr/2.7/api/main.js, the swagger). Pure functions; the routes are in api-metadata.ts.
import { createHash } from "node:crypto";
import { UserError } from "./log";

/**
 * The cluster-wide settings of `forms.Settings` (POST /api/v0/meta/settings) that dtr-sim keeps. `dtrHost` comes from
 * the external URL and the `webTLS*` fields from the replica's certificate, as `responses.Settings` reports them.
 */
export interface DtrSettings {
    sso: boolean;
    createRepositoryOnPush: boolean;
    disableUpgrades: boolean;
    reportAnalytics: boolean;
    anonymizeAnalytics: boolean;
    disableBackupWarning: boolean;
    clientCertAuthEnabled: boolean;
    scanningEnabled: boolean;
    scanningSyncOnline: boolean;
    scanningDeadline: number;
    scanningEnableAutoRecheck: boolean;
    jobHistoryCompactionEnabled: boolean;
    jobHistoryToKeep: number;
    jobHistoryMaxAge: string;
    repoEventHistoryCompactionEnabled: boolean;
    repoEventHistoryToKeep: number;
    repoEventHistoryMaxAge: string;
    readOnlyRegistry: boolean;
    disablePersistentCookies: boolean;
}

// DTR's defaults are not documented: these are dtr-sim's (scanning off, as on a fresh DTR without a scanning license).
export function defaultSettings(): DtrSettings {
    return {
        sso: false,
        createRepositoryOnPush: false,
        disableUpgrades: false,
        reportAnalytics: false,
        anonymizeAnalytics: false,
        disableBackupWarning: false,
        clientCertAuthEnabled: false,
        scanningEnabled: false,
        scanningSyncOnline: false,
        scanningDeadline: 0,
        scanningEnableAutoRecheck: false,
        jobHistoryCompactionEnabled: false,
        jobHistoryToKeep: 0,
        jobHistoryMaxAge: "",
        repoEventHistoryCompactionEnabled: false,
        repoEventHistoryToKeep: 0,
        repoEventHistoryMaxAge: "",
        readOnlyRegistry: false,
        disablePersistentCookies: false,
    };
}

/** The kind of each `forms.Settings` property (swagger: boolean, integer/int64, string). */
const FORM_KINDS: Record<string, "boolean" | "integer" | "string"> = {
    ...Object.fromEntries(
        Object.entries(defaultSettings()).map(([k, v]) => [
            k,
            typeof v === "boolean" ? "boolean" : typeof v === "number" ? "integer" : "string",
        ]),
    ),
    dtrHost: "string",
    webTLSCert: "string",
    webTLSKey: "string",
    webTLSCA: "string",
    webTLSClientCA: "string",
};

/** What dtr-sim cannot do, refused rather than stored and ignored (a stand-in is never more lenient than DTR). */
const NOT_MODELLED: Record<string, string> = {
    createRepositoryOnPush: "dtr-sim pushes need an existing repository (DTR's default)",
    clientCertAuthEnabled: "client certificate authentication is not modelled",
    readOnlyRegistry: "read-only mode is not modelled",
};

export class InvalidSettings extends UserError {}

/**
 * Validates a POST /api/v0/meta/settings body (`forms.Settings`) against the current settings and returns the new ones.
 * A partial body updates only the fields it names (DTR's UI sends single fields; the swagger marks every field
 * required, so a client sending them all is also accepted). Unknown keys are refused (Go would drop them silently: a
 * typo would then look applied). `dtrHost` and the TLS fields are the install's/reconfigure's: accepted only unchanged.
 */
export function applySettingsForm(
    body: unknown,
    current: DtrSettings,
    fixed: { dtrHost: string; webTLSCert: string; webTLSCA: string; webTLSKey: string },
): DtrSettings {
    if (!body || typeof body !== "object" || Array.isArray(body))
        throw new InvalidSettings(`body must be a JSON object of forms.Settings fields, e.g. {"scanningEnabled":true}`);
    const next = { ...current } as Record<string, unknown>;
    for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
        const kind = FORM_KINDS[k];
        if (!kind) throw new InvalidSettings(`settings.${k} is not a field of forms.Settings (reference/dtr/2.7/api): check the spelling`);
        const ok =
            kind === "boolean"
                ? typeof v === "boolean"
                : kind === "integer"
                  ? Number.isInteger(v) && (v as number) >= 0
                  : typeof v === "string";
        if (!ok)
            throw new InvalidSettings(
                `settings.${k} must be ${kind === "integer" ? "a non-negative integer" : `a ${kind}`}, got ${JSON.stringify(v)}`,
            );
        if (k in fixed) {
            if (v !== "" && v !== fixed[k as keyof typeof fixed])
                throw new InvalidSettings(
                    `settings.${k} cannot be changed through dtr-sim's settings API: ${k === "dtrHost" ? "use reconfigure --dtr-external-url" : "the TLS certificate is set at install (--dtr-cert/--dtr-key/--dtr-ca)"}`,
                );
            continue;
        }
        if (k in NOT_MODELLED && v !== (defaultSettings() as unknown as Record<string, unknown>)[k])
            throw new InvalidSettings(`settings.${k}=${JSON.stringify(v)} is refused: ${NOT_MODELLED[k]}`);
        next[k] = v;
    }
    return next as unknown as DtrSettings;
}

/** The host part of the external URL: `responses.Settings.dtrHost`, and the registry name in a Notary GUN. */
export function dtrHostOf(externalUrl: string): string {
    return new URL(externalUrl).host;
}

/** One scan result (`schema.ScannedImage` in the swagger), kept per tag and manifest digest. */
export interface ScanRecord {
    namespace: string;
    repository: string;
    tag: string;
    manifestDigest: string;
    os: string;
    arch: string;
    critical: number;
    major: number;
    minor: number;
    checkCompletedAt: string;
}

/**
 * dtr-sim has no scanner and no vulnerability database: a "scan" yields counts that are a fixed function of the
 * manifest digest, so they are stable across replicas and restores and differ between images.
 */
export function standInScan(manifestDigest: string): { critical: number; major: number; minor: number } {
    const h = createHash("sha256").update(manifestDigest).digest();
    return { critical: h[0] % 3, major: h[1] % 5, minor: h[2] % 7 };
}

/** `responses.ScanSummary` items for a tag whose current manifest is `digest` (empty when never scanned). */
export function scanSummaries(scans: ScanRecord[], ns: string, repo: string, tag: string, digest: string) {
    return scans
        .filter((s) => s.namespace === ns && s.repository === repo && s.tag === tag)
        .map((s) => ({
            // A scan of an older manifest of this tag is reported, but as needing a rescan.
            shouldRescan: s.manifestDigest !== digest,
            scannedImage: {
                pk: createHash("sha256").update(`${ns}/${repo}:${tag}@${s.manifestDigest}`).digest("hex").slice(0, 32),
                namespace: ns,
                repository: repo,
                tag,
                manifestDigest: s.manifestDigest,
                totalVulnCount: { critical: s.critical, major: s.major, minor: s.minor },
                licenses: [],
                layers: [],
                components: [],
                cves: [],
                maxCVSSValue: 0,
                scannerFingerprint: { scannerType: 0, version: ["dtr-sim stand-in, no vulnerability database"] },
                vulnOverrides: [],
            },
        }));
}

/**
 * Notary trust data for one tag: the digest its signer signed, in the trust collection of a GUN (Global Unique Name,
 * `<registry host>/<namespace>/<repository>`: the name docker content trust signs under).
 */
export interface TrustRecord {
    gun: string;
    tag: string;
    digest: string;
    signedAt: string;
}

export function gunOf(domain: string, ns: string, repo: string): string {
    return `${domain}/${ns}/${repo}`;
}

/**
 * `inNotary` / `hashMismatch` of a tag (swagger `responses.ListTag`). Without `domain` DTR cannot name the GUN
 * ("The domain used to push tags to DTR. Must be set to obtain/manipulate Notary related information"), so the tag is
 * reported as not in Notary.
 */
export function notaryView(trust: TrustRecord[], domain: string | null, ns: string, repo: string, tag: string, digest: string | undefined) {
    if (!domain) return { inNotary: false, hashMismatch: false };
    const t = trust.find((x) => x.gun === gunOf(domain, ns, repo) && x.tag === tag);
    return { inNotary: !!t, hashMismatch: !!t && t.digest !== digest };
}

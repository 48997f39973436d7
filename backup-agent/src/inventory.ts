// What a restore must give back, read from DTR's documented API (reference/dtr/2.7/api/main.js), in the six kinds of
// metadata a DTR backup holds (docker/docs ee/admin/backup/back-up-dtr.md, "DTR backup contents"):
//   configuration  GET /api/v0/meta/settings (responses.Settings, less what names the answering replica and the TLS
//                  fields) and the storage settings (GET /api/v0/admin/settings/registry/simple, less its keys)
//   repositories   GET /api/v0/repositories, …/{ns}/{repo}/tags (name, digest)
//   access         GET …/{ns}/{repo}/teamAccess (team grants; users, orgs, teams and LDAP are UCP's: its backup)
//   signing        the tag list with ?domain=<dtrHost> (responses.ListTag inNotary, hashMismatch)
//   scans          GET /api/v0/imagescan/scansummary/repositories/{ns}/{repo}/{tag} when scanning is enabled
//   tls            the certificate chain the replica serves and the CA it publishes at /ca, and whether that chain
//                  verifies against that CA (a client holding the old CA trusts the restored registry)
// One canonical line per item, sorted; a SHA-256 over each category's lines and over all of them, so a backup's
// manifest can carry fingerprints that the restored cluster must reproduce exactly.
import { createHash, X509Certificate } from "node:crypto";
import * as http from "node:http";
import * as https from "node:https";
import * as tls from "node:tls";

export interface CategoryDigest {
    count: number;
    sha256: string;
}

export const CATEGORIES = [
    { key: "configuration", meta: "inventoryConfiguration", prefixes: ["setting"] },
    { key: "repositories", meta: "inventoryRepositoryDefs", prefixes: ["repo", "tag"] },
    { key: "access", meta: "inventoryAccess", prefixes: ["team"] },
    { key: "signing", meta: "inventorySigning", prefixes: ["signed"] },
    { key: "scans", meta: "inventoryScans", prefixes: ["scan"] },
    { key: "tls", meta: "inventoryTls", prefixes: ["tls"] },
] as const;
export type CategoryKey = (typeof CATEGORIES)[number]["key"];

export interface Inventory {
    repositories: number;
    tags: number;
    teamAccess: number;
    /** Over every line of every category. */
    sha256: string;
    format: 2;
    categories: Record<CategoryKey, CategoryDigest>;
    /** Over repository, tag and team lines only: what backups made before the six categories recorded. */
    sha256v1: string;
    /** `--meta` arguments for the backup's manifest (keys fixed here, values counts and hex digests only). */
    metaArgs: string;
}

export interface ApiAuth {
    user: string;
    password: string;
}

interface Answer {
    status: number;
    text: string;
    next: string | null;
}

function get(base: URL, path: string, auth: ApiAuth | null, insecure: boolean): Promise<Answer> {
    const url = new URL(path, base);
    const lib = url.protocol === "https:" ? https : http;
    return new Promise((resolve, reject) => {
        const req = lib.get(
            url,
            {
                headers: {
                    ...(auth ? { authorization: `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString("base64")}` } : {}),
                    accept: "application/json",
                },
                rejectUnauthorized: !insecure,
                timeout: 30_000,
            },
            (res) => {
                const chunks: Buffer[] = [];
                res.on("data", (c: Buffer) => chunks.push(c));
                res.on("end", () => {
                    const next = res.headers["x-next-page-start"];
                    resolve({
                        status: res.statusCode ?? 0,
                        text: Buffer.concat(chunks).toString("utf8"),
                        next: typeof next === "string" && next !== "" ? next : null,
                    });
                });
            },
        );
        req.on("timeout", () => req.destroy(new Error(`GET ${url.pathname} timed out`)));
        req.on("error", reject);
    });
}

async function getJson(base: URL, path: string, auth: ApiAuth, insecure: boolean): Promise<{ body: unknown; next: string | null }> {
    const r = await get(base, path, auth, insecure);
    const pathname = new URL(path, base).pathname;
    if (r.status !== 200) throw new Error(`GET ${pathname} answered ${r.status}: ${r.text.slice(0, 200)}`);
    try {
        return { body: JSON.parse(r.text), next: r.next };
    } catch {
        throw new Error(`GET ${pathname} did not answer JSON`);
    }
}

/** Follows DTR's paging (`pageStart`, answered by `X-Next-Page-Start`). */
async function allPages<T>(base: URL, path: string, auth: ApiAuth, insecure: boolean, pick: (body: unknown) => T[]): Promise<T[]> {
    const out: T[] = [];
    let start: string | null = "";
    for (let page = 0; start !== null && page < 10_000; page++) {
        const sep = path.includes("?") ? "&" : "?";
        const r = await getJson(base, `${path}${sep}pageSize=100${start ? `&pageStart=${encodeURIComponent(start)}` : ""}`, auth, insecure);
        out.push(...pick(r.body));
        start = r.next;
    }
    return out;
}

interface Repo {
    namespace: string;
    name: string;
    visibility?: string;
}

interface ListTag {
    name: string;
    digest?: string;
    inNotary?: boolean;
    hashMismatch?: boolean;
}

interface ScanSummary {
    shouldRescan?: boolean;
    scannedImage?: { manifestDigest?: string; totalVulnCount?: { critical?: number; major?: number; minor?: number } };
}

/** Settings that describe the replica answering or belong to another category, not the cluster's configuration. */
const NOT_CONFIGURATION = new Set(["replicaID", "replicaSettings", "webTLSCert", "webTLSCA", "webTLSClientCA", "webTLSKey"]);
/** Storage keys that are credentials: never in a line (lines are printed with --lines). */
const STORAGE_SECRETS = new Set(["accesskey", "secretkey", "sessiontoken", "accountkey", "password"]);

/** `setting …` lines: the cluster-wide settings, one per key, values as JSON. Pure: tested directly. */
export function settingLines(settings: Record<string, unknown>, storage: Record<string, unknown> | null): string[] {
    const lines = Object.entries(settings)
        .filter(([k]) => !NOT_CONFIGURATION.has(k))
        .map(([k, v]) => `setting ${k} ${JSON.stringify(v)}`);
    const walk = (prefix: string, v: unknown): void => {
        if (v && typeof v === "object" && !Array.isArray(v)) {
            for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (!STORAGE_SECRETS.has(k)) walk(`${prefix}.${k}`, x);
        } else lines.push(`setting ${prefix} ${JSON.stringify(v)}`);
    };
    if (storage) walk("storage", storage);
    else lines.push("setting storage unreadable");
    return lines;
}

/** The `tls …` lines for an https replica: the chain it serves, the CA it publishes, and whether one verifies the other. */
async function tlsLines(base: URL, insecure: boolean): Promise<string[]> {
    if (base.protocol !== "https:") return ["tls none plain-http"];
    const port = Number(base.port || 443);
    const host = base.hostname.replace(/^\[|\]$/g, "");
    const connect = (ca?: string) =>
        new Promise<tls.TLSSocket>((resolve, reject) => {
            const s = tls.connect({
                host,
                port,
                ...(/^[0-9.:]+$/.test(host) ? {} : { servername: host }),
                rejectUnauthorized: false,
                ...(ca ? { ca } : {}),
                // Only the chain is judged here: the name a client checks is in the certificate, which is compared whole.
                checkServerIdentity: () => undefined,
            });
            s.once("secureConnect", () => resolve(s));
            s.once("error", reject);
            s.setTimeout(30_000, () => s.destroy(new Error(`TLS to ${host}:${port} timed out`)));
        });
    const lines: string[] = [];
    const served = await connect();
    let cert = served.getPeerCertificate(true);
    for (let i = 0; cert && cert.raw && i < 10; i++) {
        lines.push(`tls served-${i === 0 ? "leaf" : "chain"} ${createHash("sha256").update(cert.raw).digest("hex")}`);
        if (!cert.issuerCertificate || cert.issuerCertificate === cert || cert.issuerCertificate.raw.equals(cert.raw)) break;
        cert = cert.issuerCertificate;
    }
    served.destroy();
    const ca = await get(base, "/ca", null, insecure);
    const pems = ca.status === 200 ? (ca.text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []) : [];
    if (!pems.length) {
        lines.push(`tls ca unavailable-${ca.status}`);
        return lines;
    }
    for (const pem of pems) lines.push(`tls ca ${createHash("sha256").update(new X509Certificate(pem).raw).digest("hex")}`);
    const check = await connect(pems.join("\n"));
    lines.push(`tls chain-verifies-against-ca ${check.authorized ? "yes" : `no (${String(check.authorizationError)})`}`);
    check.destroy();
    return lines;
}

/** The canonical, sorted inventory lines of every category. */
export async function inventoryLines(base: URL, auth: ApiAuth, insecure: boolean): Promise<string[]> {
    const settings = (await getJson(base, "/api/v0/meta/settings", auth, insecure)).body as Record<string, unknown>;
    // Not in the published API reference (DTR-FACTS.md): read when it answers, else marked unreadable on both sides.
    const st = await get(base, "/api/v0/admin/settings/registry/simple", auth, insecure);
    let storage: Record<string, unknown> | null = null;
    if (st.status === 200) {
        try {
            storage = (JSON.parse(st.text) as { storage?: Record<string, unknown> }).storage ?? null;
        } catch {
            storage = null;
        }
    }
    const lines = settingLines(settings, storage);
    const dtrHost = typeof settings.dtrHost === "string" ? settings.dtrHost : "";
    if (!dtrHost) throw new Error("GET /api/v0/meta/settings gave no dtrHost: Notary data cannot be read without the domain");
    const scanning = settings.scanningEnabled === true;
    const repos = await allPages<Repo>(
        base,
        "/api/v0/repositories",
        auth,
        insecure,
        (b) => (b as { repositories?: Repo[] }).repositories ?? [],
    );
    for (const r of repos) {
        const full = `${r.namespace}/${r.name}`;
        const p = `/api/v0/repositories/${encodeURIComponent(r.namespace)}/${encodeURIComponent(r.name)}`;
        lines.push(`repo ${full} ${r.visibility ?? "-"}`);
        // swagger ListRepoTags: "domain … Must be set to obtain/manipulate Notary related information".
        const tags = await allPages<ListTag>(base, `${p}/tags?domain=${encodeURIComponent(dtrHost)}`, auth, insecure, (b) =>
            Array.isArray(b) ? b : [],
        );
        for (const t of tags) {
            lines.push(`tag ${full}:${t.name} ${t.digest ?? "-"}`);
            if (t.inNotary) lines.push(`signed ${full}:${t.name} ${t.digest ?? "-"} ${t.hashMismatch ? "hash-mismatch" : "hash-match"}`);
            if (scanning) {
                const path = `/api/v0/imagescan/scansummary/repositories/${encodeURIComponent(r.namespace)}/${encodeURIComponent(r.name)}/${encodeURIComponent(t.name)}`;
                const s = (await getJson(base, path, auth, insecure)).body;
                for (const x of (Array.isArray(s) ? s : []) as ScanSummary[]) {
                    const v = x.scannedImage?.totalVulnCount ?? {};
                    lines.push(
                        `scan ${full}:${t.name} ${x.scannedImage?.manifestDigest ?? "-"} critical=${v.critical ?? "-"} major=${v.major ?? "-"} minor=${v.minor ?? "-"}${x.shouldRescan ? " should-rescan" : ""}`,
                    );
                }
            }
        }
        const access = await getJson(base, `${p}/teamAccess`, auth, insecure);
        const list =
            (access.body as { teamAccessList?: { team: { name?: string; id?: string }; accessLevel: string }[] }).teamAccessList ?? [];
        for (const a of list) lines.push(`team ${full} ${a.team.name ?? a.team.id} ${a.accessLevel}`);
    }
    lines.push(...(await tlsLines(base, insecure)));
    return lines.sort();
}

const sha = (lines: string[]) => createHash("sha256").update(lines.join("\n")).digest("hex");
const kindOf = (line: string) => line.slice(0, line.indexOf(" "));

export function summarize(lines: string[]): Inventory {
    const count = (kind: string) => lines.filter((l) => kindOf(l) === kind).length;
    const categories = {} as Record<CategoryKey, CategoryDigest>;
    for (const c of CATEGORIES) {
        const mine = lines.filter((l) => (c.prefixes as readonly string[]).includes(kindOf(l)));
        // A category's count: repositories for repository definitions, certificates for TLS, lines otherwise.
        const n =
            c.key === "repositories"
                ? count("repo")
                : c.key === "tls"
                  ? mine.filter((l) => /^tls (served-leaf|served-chain|ca) [0-9a-f]{64}$/.test(l)).length
                  : mine.length;
        categories[c.key] = { count: n, sha256: sha(mine) };
    }
    const inv: Omit<Inventory, "metaArgs"> = {
        repositories: count("repo"),
        tags: count("tag"),
        teamAccess: count("team"),
        sha256: sha(lines),
        format: 2,
        categories,
        sha256v1: sha(lines.filter((l) => ["repo", "tag", "team"].includes(kindOf(l)))),
    };
    return {
        ...inv,
        metaArgs: inventoryMeta(inv)
            .map((m) => `--meta ${m}`)
            .join(" "),
    };
}

/** `key=value` pairs for a backup manifest. */
export function inventoryMeta(i: Omit<Inventory, "metaArgs">): string[] {
    return [
        `inventoryRepositories=${i.repositories}`,
        `inventoryTags=${i.tags}`,
        `inventoryTeamAccess=${i.teamAccess}`,
        `inventorySha256=${i.sha256}`,
        `inventoryFormat=${i.format}`,
        ...CATEGORIES.map((c) => `${c.meta}=${i.categories[c.key].count}:${i.categories[c.key].sha256}`),
    ];
}

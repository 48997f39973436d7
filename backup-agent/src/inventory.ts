// What a restore must give back, read from DTR's documented API: repositories (with visibility), their tags (with
// digests) and team access grants. One canonical line per item, sorted, and a SHA-256 over them, so a backup's
// manifest can carry a fingerprint that the restored cluster must reproduce exactly.
import { createHash } from "node:crypto";
import * as http from "node:http";
import * as https from "node:https";

export interface Inventory {
    repositories: number;
    tags: number;
    teamAccess: number;
    sha256: string;
}

export interface ApiAuth {
    user: string;
    password: string;
}

function getJson(base: URL, path: string, auth: ApiAuth, insecure: boolean): Promise<{ body: unknown; next: string | null }> {
    const url = new URL(path, base);
    const lib = url.protocol === "https:" ? https : http;
    return new Promise((resolve, reject) => {
        const req = lib.get(
            url,
            {
                headers: {
                    authorization: `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString("base64")}`,
                    accept: "application/json",
                },
                rejectUnauthorized: !insecure,
                timeout: 30_000,
            },
            (res) => {
                const chunks: Buffer[] = [];
                res.on("data", (c: Buffer) => chunks.push(c));
                res.on("end", () => {
                    const text = Buffer.concat(chunks).toString("utf8");
                    if (res.statusCode !== 200)
                        return reject(new Error(`GET ${url.pathname} answered ${res.statusCode}: ${text.slice(0, 200)}`));
                    try {
                        const next = res.headers["x-next-page-start"];
                        resolve({ body: JSON.parse(text), next: typeof next === "string" && next !== "" ? next : null });
                    } catch {
                        reject(new Error(`GET ${url.pathname} did not answer JSON`));
                    }
                });
            },
        );
        req.on("timeout", () => req.destroy(new Error(`GET ${url.pathname} timed out`)));
        req.on("error", reject);
    });
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

/** The canonical, sorted inventory lines. */
export async function inventoryLines(base: URL, auth: ApiAuth, insecure: boolean): Promise<string[]> {
    const repos = await allPages<Repo>(
        base,
        "/api/v0/repositories",
        auth,
        insecure,
        (b) => (b as { repositories?: Repo[] }).repositories ?? [],
    );
    const lines: string[] = [];
    for (const r of repos) {
        const full = `${r.namespace}/${r.name}`;
        const p = `/api/v0/repositories/${encodeURIComponent(r.namespace)}/${encodeURIComponent(r.name)}`;
        lines.push(`repo ${full} ${r.visibility ?? "-"}`);
        const tags = await allPages<{ name: string; digest?: string }>(base, `${p}/tags`, auth, insecure, (b) =>
            Array.isArray(b) ? b : [],
        );
        for (const t of tags) lines.push(`tag ${full}:${t.name} ${t.digest ?? "-"}`);
        const access = await getJson(base, `${p}/teamAccess`, auth, insecure);
        const list = (access.body as { teamAccessList?: { team: { name: string }; accessLevel: string }[] }).teamAccessList ?? [];
        for (const a of list) lines.push(`team ${full} ${a.team.name} ${a.accessLevel}`);
    }
    return lines.sort();
}

export function summarize(lines: string[]): Inventory {
    const count = (kind: string) => lines.filter((l) => l.startsWith(`${kind} `)).length;
    return {
        repositories: count("repo"),
        tags: count("tag"),
        teamAccess: count("team"),
        sha256: createHash("sha256").update(lines.join("\n")).digest("hex"),
    };
}

/** `--meta` pairs for a backup manifest. */
export function inventoryMeta(i: Inventory): string[] {
    return [
        `inventoryRepositories=${i.repositories}`,
        `inventoryTags=${i.tags}`,
        `inventoryTeamAccess=${i.teamAccess}`,
        `inventorySha256=${i.sha256}`,
    ];
}

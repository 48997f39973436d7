import * as assert from "node:assert/strict";
import * as http from "node:http";
import { AddressInfo } from "node:net";
import { inventoryLines, inventoryMeta, summarize } from "../src/inventory";

// A server with DTR's documented API shapes, paging repositories two at a time as DTR does (X-Next-Page-Start).
function fakeDtr(
    repos: { namespace: string; name: string; visibility: string }[],
    tags: Record<string, string[]>,
    teams: Record<string, [string, string][]>,
) {
    const seen: string[] = [];
    const server = http.createServer((req, res) => {
        seen.push(req.headers.authorization ?? "");
        const url = new URL(req.url!, "http://x");
        const send = (body: unknown, headers: Record<string, string> = {}) => {
            res.writeHead(200, { "content-type": "application/json", ...headers });
            res.end(JSON.stringify(body));
        };
        if (req.headers.authorization !== `Basic ${Buffer.from("admin:pw").toString("base64")}`) {
            res.writeHead(401);
            return res.end("no");
        }
        if (url.pathname === "/api/v0/repositories") {
            const start = Number(url.searchParams.get("pageStart") ?? 0);
            const page = repos.slice(start, start + 2);
            return send({ repositories: page }, start + 2 < repos.length ? { "X-Next-Page-Start": String(start + 2) } : {});
        }
        const m = /^\/api\/v0\/repositories\/([^/]+)\/([^/]+)\/(tags|teamAccess)$/.exec(url.pathname);
        if (m) {
            const full = `${m[1]}/${m[2]}`;
            if (m[3] === "tags") return send((tags[full] ?? []).map((t) => ({ name: t, digest: `sha256:${t}` })));
            return send({ teamAccessList: (teams[full] ?? []).map(([team, accessLevel]) => ({ team: { name: team }, accessLevel })) });
        }
        res.writeHead(404);
        res.end();
    });
    return { server, seen };
}

describe("inventory from DTR's API", () => {
    const repos = ["a", "b", "c"].map((n) => ({ namespace: "org", name: n, visibility: n === "a" ? "public" : "private" }));
    const { server } = fakeDtr(repos, { "org/a": ["1", "2"], "org/c": ["latest"] }, { "org/b": [["devs", "read-write"]] });
    let base: URL;
    before(async () => {
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
        base = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    });
    after(() => server.close());

    it("follows paging and lists repositories, tags and team access, sorted", async () => {
        const lines = await inventoryLines(base, { user: "admin", password: "pw" }, false);
        assert.deepEqual(lines, [
            "repo org/a public",
            "repo org/b private",
            "repo org/c private",
            "tag org/a:1 sha256:1",
            "tag org/a:2 sha256:2",
            "tag org/c:latest sha256:latest",
            "team org/b devs read-write",
        ]);
        const s = summarize(lines);
        assert.deepEqual([s.repositories, s.tags, s.teamAccess], [3, 3, 1]);
        assert.match(s.sha256, /^[0-9a-f]{64}$/);
        assert.deepEqual(inventoryMeta(s).slice(0, 3), ["inventoryRepositories=3", "inventoryTags=3", "inventoryTeamAccess=1"]);
    });

    it("changes its fingerprint when a tag or a grant is lost", () => {
        const full = ["repo org/a public", "tag org/a:1 sha256:1", "team org/a devs admin"];
        const a = summarize(full).sha256;
        assert.notEqual(summarize(full.slice(0, 2)).sha256, a);
        assert.notEqual(summarize([full[0], full[2]]).sha256, a);
        assert.equal(summarize([...full].reverse().sort()).sha256, a);
    });

    it("fails clearly on wrong credentials", async () => {
        await assert.rejects(inventoryLines(base, { user: "admin", password: "bad" }, false), /GET \/api\/v0\/repositories answered 401/);
    });
});

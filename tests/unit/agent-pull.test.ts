/**
 * The agent pull step (components/backup/sh/agent-pull.sh), run for real by dash against a fake Docker engine on a
 * unix socket: the engine API calls it makes, the credential as the X-Registry-Auth header only, and its refusals.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { spawn } from "child_process";
import { registryAuthHeader, agentImageTag, contextFiles } from "../../components/backup/agent-image";
import { shFile } from "../../components/backup/scripts";

const REF = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/prod/dtr-ha-backup@sha256:${"ab".repeat(32)}`;
const AUTH = registryAuthHeader({ username: "AWS", password: "ECR-TOKEN-7", server: "123456789012.dkr.ecr.eu-west-1.amazonaws.com" });

interface Engine {
    socket: string;
    requests: { method: string; url: string; auth?: string }[];
    /** What the pull answers: 200 with this stream body, or an HTTP error; `lands: false`: the image never shows up. */
    pull: { status: number; body: string; lands?: boolean };
    images: Set<string>;
    close(): Promise<void>;
}

async function fakeEngine(): Promise<Engine> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dtr-ha-engine-"));
    const e: Engine = {
        socket: path.join(dir, "docker.sock"),
        requests: [],
        pull: { status: 200, body: '{"status":"Pulling from prod/dtr-ha-backup"}\n{"status":"Digest: sha256:abab"}\n' },
        images: new Set(),
        close: () => new Promise((r) => server.close(() => (fs.rmSync(dir, { recursive: true, force: true }), r()))),
    };
    const server = http.createServer((req, res) => {
        const auth = req.headers["x-registry-auth"];
        e.requests.push({ method: req.method!, url: req.url!, auth: typeof auth === "string" ? auth : undefined });
        const u = new URL(req.url!, "http://localhost");
        if (req.method === "POST" && u.pathname === "/images/create") {
            if (e.pull.status === 200 && !e.pull.body.includes('"error"') && e.pull.lands !== false)
                e.images.add(`${u.searchParams.get("fromImage")}@${u.searchParams.get("tag")}`);
            res.writeHead(e.pull.status).end(e.pull.body);
        } else if (req.method === "GET" && u.pathname.startsWith("/images/") && u.pathname.endsWith("/json")) {
            const name = decodeURIComponent(u.pathname.slice("/images/".length, -"/json".length));
            res.writeHead(e.images.has(name) ? 200 : 404).end("{}");
        } else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(e.socket, r));
    return e;
}

function runPull(env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
        const p = spawn("dash", ["-c", shFile("agent-pull.sh")], { env: { PATH: process.env.PATH!, ...env } });
        let stdout = "";
        let stderr = "";
        p.stdout.on("data", (d) => (stdout += d));
        p.stderr.on("data", (d) => (stderr += d));
        p.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
}

describe("agent pull step (dash, fake engine on a unix socket)", function () {
    this.timeout(20_000);
    let e: Engine;
    beforeEach(async () => (e = await fakeEngine()));
    afterEach(() => e.close());
    const env = (more: Record<string, string> = {}) => ({
        DTR_HA_AGENT_IMAGE: REF,
        DTR_HA_REGISTRY_AUTH: AUTH,
        DTR_HA_DOCKER_SOCKET: e.socket,
        ...more,
    });

    it("pulls by digest through the engine API with the credential as X-Registry-Auth, then checks the image is there", async () => {
        const r = await runPull(env());
        assert.strictEqual(r.code, 0, r.stderr);
        assert.match(r.stdout, /dtr-ha agent: .*@sha256:(ab){32} present on /);
        const pull = e.requests.find((q) => q.method === "POST")!;
        const u = new URL(pull.url, "http://localhost");
        assert.strictEqual(u.pathname, "/images/create");
        assert.strictEqual(u.searchParams.get("fromImage"), REF.split("@")[0]);
        assert.strictEqual(u.searchParams.get("tag"), `sha256:${"ab".repeat(32)}`);
        assert.strictEqual(pull.auth, AUTH);
        assert.deepStrictEqual(JSON.parse(Buffer.from(pull.auth!, "base64url").toString()), {
            username: "AWS",
            password: "ECR-TOKEN-7",
            serveraddress: "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
        });
        assert.ok(
            e.requests.some((q) => q.method === "GET" && q.url.endsWith("/json")),
            "no check that the image is there",
        );
        assert.ok(!(r.stdout + r.stderr).includes("ECR-TOKEN") && !(r.stdout + r.stderr).includes(AUTH), "the credential was printed");
    });

    it("fails on an error inside the engine's 200 stream, and on an HTTP error, naming the image", async () => {
        e.pull = { status: 200, body: '{"status":"Pulling"}\n{"errorDetail":{"message":"denied"},"error":"denied: not authorized"}\n' };
        let r = await runPull(env());
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /pulling .*dtr-ha-backup@sha256:.* failed \(HTTP 200\): [\s\S]*denied: not authorized/);
        e.pull = { status: 500, body: '{"message":"boom"}' };
        r = await runPull(env());
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /failed \(HTTP 500\)/);
        // A pull the engine reports as fine, yet the image by that digest is not there: still a failure.
        e.pull = { status: 200, body: '{"status":"Pulling"}\n', lands: false };
        r = await runPull(env());
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /dtr-ha-backup@sha256:(ab){32} is not on this host after the pull \(HTTP 404\)/);
    });

    it("refuses a reference not pinned by digest, and a credential that is not base64url, before calling the engine", async () => {
        let r = await runPull(env({ DTR_HA_AGENT_IMAGE: "registry.example.com/dtr-ha-backup:0.1.0" }));
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /is not pinned by digest/);
        r = await runPull(env({ DTR_HA_REGISTRY_AUTH: 'a"b\nheader = "X-Other: 1' }));
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /not base64url/);
        assert.deepStrictEqual(e.requests, []);
    });
});

describe("registry auth header (pure)", () => {
    it("is base64url with padding, as Go's base64.URLEncoding (the engine's decoder) reads it", () => {
        // 2 bytes over a multiple of 3: one '=' of padding; and bytes that standard base64 would write as + and /.
        const h = registryAuthHeader({ username: "u", password: "\u00fb\u00ff?>", server: "r.example.com:5000" });
        assert.match(h, /^[A-Za-z0-9_-]+=*$/);
        assert.strictEqual(h.length % 4, 0);
        assert.ok(/[-_]/.test(h), h);
        assert.deepStrictEqual(JSON.parse(Buffer.from(h.replace(/-/g, "+").replace(/_/g, "/"), "base64").toString()), {
            username: "u",
            password: "\u00fb\u00ff?>",
            serveraddress: "r.example.com:5000",
        });
    });
});

describe("agent image tag (pure)", () => {
    it("changes with any file of the build context and only with them", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dtr-ha-ctx-"));
        try {
            fs.mkdirSync(path.join(dir, "src"));
            fs.mkdirSync(path.join(dir, "node_modules"));
            fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ version: "1.2.3" }));
            fs.writeFileSync(path.join(dir, "Dockerfile"), "FROM scratch\n");
            fs.writeFileSync(path.join(dir, "src", "main.ts"), "export {};\n");
            fs.writeFileSync(path.join(dir, "README.md"), "docs\n");
            fs.writeFileSync(path.join(dir, "node_modules", "x.js"), "1\n");
            assert.deepStrictEqual(contextFiles(dir), ["Dockerfile", "package.json", "src/main.ts"]);
            const t0 = agentImageTag(dir);
            assert.match(t0, /^1\.2\.3-[0-9a-f]{12}$/);
            fs.writeFileSync(path.join(dir, "README.md"), "other docs\n");
            fs.writeFileSync(path.join(dir, "node_modules", "x.js"), "2\n");
            assert.strictEqual(agentImageTag(dir), t0, "files outside the image changed the tag");
            fs.writeFileSync(path.join(dir, "src", "main.ts"), "export const x = 1;\n");
            const t1 = agentImageTag(dir);
            assert.notStrictEqual(t1, t0);
            fs.writeFileSync(path.join(dir, "Dockerfile"), "FROM scratch\nENV A=1\n");
            assert.notStrictEqual(agentImageTag(dir), t1);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

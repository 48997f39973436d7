// End-to-end on the lab's real dockerds: install + joins on three hosts, S3 storage, push/pull,
// quorum loss, backup, destroy, restore, remove. Needs `bash lab/lab.sh up` (see dtr-sim/README.md).
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { call, docker, dtr, Lab, LabHost, loadLab, PASSWORD, until, version } from "./lab";
import { pack, unpack } from "../../src/tar";

const A = "0a0a0a0a0a01",
    B = "0b0b0b0b0b02",
    C = "0c0c0c0c0c03",
    R = "0d0d0d0d0d04";
const WRITE_SCRIPT = `
const b = process.argv[1];
const auth = "Basic " + Buffer.from("admin:" + process.env.UCP_PASSWORD).toString("base64");
const r = require("http").request({ host: "127.0.0.1", port: 8080, method: "POST", path: "/internal/write",
  headers: { authorization: auth, "content-type": "application/json", "content-length": Buffer.byteLength(b) } }, (res) => {
  let d = ""; res.on("data", (c) => (d += c)); res.on("end", () => { console.error(res.statusCode, d.slice(0, 300)); process.exit(res.statusCode === 200 ? 0 : 1); });
});
r.end(b);`;
const HTTP = Number(process.env.DTR_SIM_TEST_HTTP_PORT ?? 80);
const HTTPS = Number(process.env.DTR_SIM_TEST_HTTPS_PORT ?? 443);

/** `join` of replica `id` on host `h` through replica `existing`, on the test's ports. */
const joinArgs = (h: LabHost, existing: string, id: string) => [
    "join",
    "--ucp-node",
    h.ucpNode,
    "--existing-replica-id",
    existing,
    "--replica-id",
    id,
    "--replica-http-port",
    String(HTTP),
    "--replica-https-port",
    String(HTTPS),
];

describe("dtr-sim on the lab's dockerds", function () {
    this.timeout(600000);
    let lab: Lab;
    let h1: LabHost, h2: LabHost, h3: LabHost;
    let image: string;
    const cfg = mkdtempSync(join(tmpdir(), "dtr-sim-docker-config-"));
    const ok = (r: { code: number; stderr: string }, what: string) => assert.equal(r.code, 0, `${what} failed:\n${r.stderr}`);

    const destroyAll = async () => {
        for (const h of [h1, h2, h3]) for (const id of [A, B, C, R]) await dtr(h, image, ["destroy", "--replica-id", id]);
    };
    // The lab is shared: another suite's replica would hold ports 80/443 (one replica per node). Never
    // destroy it from here: fail and name it.
    const foreignReplicas = async () => {
        const found: string[] = [];
        for (const h of [h1, h2, h3]) {
            const ps = await docker(h, [
                "ps",
                "-a",
                "--filter",
                "label=org.dtr-ha.dtr-sim.role=api",
                "--format",
                '{{.Label "org.dtr-ha.dtr-sim.replica-id"}}',
            ]);
            for (const id of ps.stdout.toString().split("\n").filter(Boolean))
                if (![A, B, C, R].includes(id)) found.push(`${id} on ${h.name}`);
        }
        return found;
    };
    // POST /internal/write on a replica's own API (port 8080 is not published): node in its container.
    const internalWrite = (h: LabHost, id: string, op: unknown) =>
        docker(h, ["exec", "-e", "UCP_PASSWORD", `dtr-api-${id}`, "/usr/bin/node", "-e", WRITE_SCRIPT, JSON.stringify(op)], {
            env: { UCP_PASSWORD: PASSWORD },
        });
    const ping = (h: LabHost) => call(h.address, HTTPS, "GET", "/_ping", { auth: false });
    const healthy = (h: LabHost) =>
        until(`/_ping 200 on ${h.name}`, 60000, async () => ((await ping(h)).status === 200 ? true : undefined));
    const login = async (h: LabHost) =>
        ok(
            await docker(h, ["--config", cfg, "login", "-u", "admin", "--password-stdin", `${h.address}:${HTTPS}`], {
                stdin: Buffer.from(PASSWORD),
            }),
            `docker login on ${h.name}`,
        );

    before(async () => {
        lab = loadLab();
        [h1, h2, h3] = lab.hosts;
        image = process.env.DTR_SIM_TEST_IMAGE ?? `${lab.registry}/dtr-sim:${version}`;
        // A rebuilt tag does not reach hosts that pulled it before (--pull never): refresh it everywhere.
        for (const h of [h1, h2, h3]) ok(await docker(h, ["pull", "-q", image]), `docker pull ${image} on ${h.name}`);
        const foreign = await foreignReplicas();
        if (foreign.length) {
            throw new Error(
                `the lab runs other DTR replicas (${foreign.join(", ")}): this suite needs the hosts to itself; destroy them or run it on a fresh lab`,
            );
        }
        await destroyAll();
    });
    after(async () => {
        rmSync(cfg, { recursive: true, force: true }); // docker login wrote the test password there
        if (image && !process.env.DTR_SIM_TEST_KEEP) await destroyAll(); // only once before() got the lab
    });

    it("refuses a --ucp-node that is not the local engine and a mismatched external URL port", async () => {
        let r = await dtr(h1, image, ["install", "--ucp-node", h2.ucpNode, "--replica-id", A]);
        assert.notEqual(r.code, 0);
        assert.match(r.stderr, new RegExp(`--ucp-node '${h2.ucpNode}' is not this engine's node \\('${h1.ucpNode}'\\)`));
        r = await dtr(h1, image, ["install", "--ucp-node", h1.ucpNode, "--dtr-external-url", "https://dtr.lab:4443"]);
        assert.match(r.stderr, /port 4443 but --replica-https-port is 443/);
        r = await dtr(h1, image, ["install", "--ucp-node", h1.ucpNode, "--replica-id", "xyz"]);
        assert.match(r.stderr, /--replica-id 'xyz' is not a replica id/);
    });

    it("installs replica 1 on host1 and serves /_ping", async () => {
        const t = Date.now();
        const r = await dtr(h1, image, [
            "install",
            "--ucp-node",
            h1.ucpNode,
            "--replica-id",
            A,
            "--replica-http-port",
            String(HTTP),
            "--replica-https-port",
            String(HTTPS),
            "--overlay-subnet",
            "10.200.64.0/24",
            "--dtr-external-url",
            `https://${h1.address}${HTTPS === 443 ? "" : ":" + HTTPS}`,
        ]);
        ok(r, "install");
        console.log(`      install took ${((Date.now() - t) / 1000).toFixed(1)} s`);
        assert.deepEqual((await ping(h1)).body, { Healthy: true });
    });

    it("joins host2 and host3 one at a time; a join while another holds the lock fails", async () => {
        // Hold the join lock as a join in progress would (through replica 1's internal API), so the
        // refusal does not depend on timing; then release it.
        ok(
            await internalWrite(h1, A, { op: "beginJoin", replicaId: "0e0e0e0e0e05", node: h2.ucpNode, now: new Date().toISOString() }),
            "take lock",
        );
        const second = await dtr(h3, image, joinArgs(h3, A, C));
        assert.notEqual(second.code, 0, "a join during another join must fail");
        assert.match(second.stderr, /another join is in progress \(replica 0e0e0e0e0e05 on host2/);
        ok(await internalWrite(h1, A, { op: "abortJoin", replicaId: "0e0e0e0e0e05" }), "release lock");
        const t = Date.now();
        ok(await dtr(h2, image, joinArgs(h2, A, B)), "join B");
        console.log(`      join took ${((Date.now() - t) / 1000).toFixed(1)} s`);
        ok(await dtr(h3, image, joinArgs(h3, B, C)), "join C");
        const st = await until("all three replicas OK", 30000, async () => {
            const s = await call(h3.address, HTTPS, "GET", "/api/v0/meta/cluster_status");
            return Object.values(s.body.replica_health).filter((v) => v === "OK").length === 3 ? s.body : undefined;
        });
        assert.deepEqual(Object.keys(st.replica_health).sort(), [A, B, C]);
        assert.deepEqual(st.current_issues, []);
        assert.equal((await call(h1.address, HTTPS, "GET", "/api/v0/meta/cluster_status", { password: "wrong" })).status, 401);
    });

    it("stores layers in S3 via the settings API; a push through replica 1 pulls through replica 3", async () => {
        const s3 = {
            region: lab.s3.region,
            bucket: lab.s3.buckets.layers,
            regionendpoint: lab.s3.endpoint,
            accesskey: readFileSync(lab.s3.accessKeyPath, "utf8").trim(),
            secretkey: readFileSync(lab.s3.secretKeyPath, "utf8").trim(),
            secure: false,
            forcepathstyle: true,
            rootdirectory: `/dtr-sim-test-${Date.now()}`,
        };
        const put = await call(h2.address, HTTPS, "PUT", "/api/v0/admin/settings/registry/simple", {
            body: { storage: { delete: { enabled: true }, maintenance: { readonly: { enabled: false } }, s3 } },
        });
        assert.equal(put.status, 202, JSON.stringify(put.body));
        const got = await call(h1.address, HTTPS, "GET", "/api/v0/admin/settings/registry/simple");
        assert.equal(got.body.storage.s3.secretkey, "********");
        for (const h of [h1, h2, h3]) await healthy(h);
        assert.equal(
            (await call(h1.address, HTTPS, "POST", "/api/v0/repositories/team", { body: { name: "app", visibility: "private" } })).status,
            201,
        );
        assert.equal(
            (await call(h1.address, HTTPS, "PUT", "/api/v0/repositories/team/app/teamAccess/devs", { body: { accessLevel: "read-write" } }))
                .status,
            200,
        );
        // An image with a unique layer, so the pull on host3 must fetch it from storage.
        const rootfs = pack([{ name: "hello.txt", data: Buffer.from(`dtr-sim ${randomBytes(16).toString("hex")}\n`) }]);
        const tag = `${h1.address}:${HTTPS}/team/app:1`;
        ok(await docker(h1, ["import", "-", tag], { stdin: rootfs }), "docker import");
        await login(h1);
        ok(await docker(h1, ["tag", tag, `${h1.address}:${HTTPS}/team/nope:1`]), "tag");
        const r = await docker(h1, ["--config", cfg, "push", `${h1.address}:${HTTPS}/team/nope:1`]);
        assert.notEqual(r.code, 0, "push to a repository that does not exist must fail");
        ok(await docker(h1, ["--config", cfg, "push", tag]), "docker push");
        const tags = await call(h2.address, HTTPS, "GET", "/api/v0/repositories/team/app/tags");
        assert.deepEqual(
            tags.body.map((t: { name: string }) => t.name),
            ["1"],
        );
        await login(h3);
        const t = Date.now();
        ok(await docker(h3, ["--config", cfg, "pull", `${h3.address}:${HTTPS}/team/app:1`]), "docker pull via replica 3");
        console.log(`      pull via replica 3 took ${((Date.now() - t) / 1000).toFixed(1)} s`);
        assert.equal(
            (await docker(h3, ["pull", `${h3.address}:${HTTPS}/team/app:1`])).code === 0,
            false,
            "anonymous pull of a private repository must fail",
        );
    });

    it("with 2 of 3 replicas down, /_ping names rethinkdb and writes fail; they recover", async () => {
        ok(await docker(h2, ["stop", `dtr-api-${B}`]), "stop B");
        ok(await docker(h3, ["stop", `dtr-api-${C}`]), "stop C");
        const p = await until("/_ping 503 on host1", 30000, async () => {
            const r = await ping(h1);
            return r.status === 503 ? r.body : undefined;
        });
        assert.match(p.Error, /^rethinkdb: no quorum: 1 of 3 replicas reachable, need 2/);
        const w = await call(h1.address, HTTPS, "POST", "/api/v0/repositories/team", { body: { name: "lost" } });
        assert.equal(w.status, 503);
        assert.match(w.body.errors[0].message, /no quorum/);
        const st = (await call(h1.address, HTTPS, "GET", "/api/v0/meta/cluster_status")).body;
        assert.match(st.replica_health[B], /^unreachable: /);
        assert.match(st.replica_health[C], /^unreachable: /);
        assert.match(st.replica_health[A], /^rethinkdb: no quorum/);
        assert.deepEqual([st.replica_readonly[A], st.replica_readonly[B]], [true, true]);
        ok(await docker(h2, ["start", `dtr-api-${B}`]), "start B");
        ok(await docker(h3, ["start", `dtr-api-${C}`]), "start C");
        for (const h of [h1, h2, h3]) await healthy(h);
    });

    let backup: Buffer;
    it("backup streams a tar to stdout and refuses a TTY", async () => {
        const r = await dtr(h2, image, ["backup", "--existing-replica-id", B]);
        ok(r, "backup");
        backup = r.stdout;
        const names = unpack(backup).map((e) => e.name);
        assert.ok(names.includes("dtr-backup/manifest.json"));
        const m = JSON.parse(
            unpack(backup)
                .find((e) => e.name === "dtr-backup/manifest.json")!
                .data.toString(),
        );
        assert.deepEqual([m.dtrVersion, m.replicaId], [version, B]);
        const tty = await docker(h2, [
            "run",
            "-t",
            "--rm",
            "--pull",
            "never",
            "-e",
            "UCP_PASSWORD=x",
            "-v",
            "/var/run/docker.sock:/var/run/docker.sock",
            image,
            "backup",
            "--existing-replica-id",
            B,
            "--ucp-url",
            "https://u",
            "--ucp-username",
            "admin",
            "--ucp-insecure-tls",
        ]);
        assert.notEqual(tty.code, 0);
        assert.match(tty.stdout.toString() + tty.stderr, /Terminal mode detected/);
    });

    it("restore refuses while replicas exist, a wrong version, and a missing storage flag", async () => {
        const args = [
            "restore",
            "--ucp-node",
            h1.ucpNode,
            "--replica-id",
            B,
            "--dtr-use-default-storage",
            "--replica-http-port",
            String(HTTP),
            "--replica-https-port",
            String(HTTPS),
        ];
        let r = await dtr(h1, image, args, { stdin: backup });
        assert.match(r.stderr, new RegExp(`replica ${A} still exists on this engine`));
        const entries = unpack(backup).map((e) =>
            e.name === "dtr-backup/manifest.json"
                ? { ...e, data: Buffer.from(e.data.toString().replace(`"dtrVersion": "${version}"`, '"dtrVersion": "2.8.0"')) }
                : e,
        );
        r = await dtr(h3, image, ["destroy", "--replica-id", C]);
        ok(r, "destroy C");
        r = await dtr(h3, image, [...args.slice(0, 1), "--ucp-node", h3.ucpNode, ...args.slice(3)], { stdin: pack(entries) });
        assert.match(r.stderr, new RegExp(`the backup is from DTR 2.8.0 but this image is ${version}`));
        // DTR's restore guide (ee/admin/restore/restore-dtr.md): restore with the id of the replica backed up.
        r = await dtr(h3, image, [...args.slice(0, 1), "--ucp-node", h3.ucpNode, "--replica-id", R, ...args.slice(5)], { stdin: backup });
        assert.match(r.stderr, new RegExp(`--replica-id ${R} is not the replica this backup was taken from \\(${B}\\)`));
        r = await dtr(h3, image, ["restore", "--ucp-node", h3.ucpNode, "--replica-id", B], { stdin: backup });
        assert.match(r.stderr, /restore needs exactly one storage flag, got none/);
        r = await dtr(h3, image, ["restore", "--replica-id", B, "--dtr-use-default-storage"], { stdin: backup });
        assert.match(r.stderr, /EOF unexpected end of file[\s\S]*--ucp-node/);
        r = await dtr(h3, image, ["restore", "--ucp-node", h3.ucpNode, "--replica-id", B, "--dtr-use-default-storage"], { stdin: backup });
        assert.match(r.stderr, new RegExp(`replica ${A}, ${B} still answers on dtr-ol`));
    });

    it("after destroying every replica, restore + join bring back metadata and the image (layers in S3)", async () => {
        ok(await dtr(h1, image, ["destroy", "--replica-id", A]), "destroy A");
        ok(await dtr(h2, image, ["destroy", "--replica-id", B]), "destroy B");
        const t = Date.now();
        const r = await dtr(
            h1,
            image,
            [
                "restore",
                "--ucp-node",
                h1.ucpNode,
                "--replica-id",
                B,
                "--dtr-use-default-storage",
                "--replica-http-port",
                String(HTTP),
                "--replica-https-port",
                String(HTTPS),
            ],
            { stdin: backup },
        );
        ok(r, "restore");
        console.log(`      restore took ${((Date.now() - t) / 1000).toFixed(1)} s`);
        const repos = await call(h1.address, HTTPS, "GET", "/api/v0/repositories/team");
        assert.deepEqual(
            repos.body.repositories.map((x: { name: string }) => x.name),
            ["app"],
        );
        const ta = await call(h1.address, HTTPS, "GET", "/api/v0/repositories/team/app/teamAccess/devs");
        assert.equal(ta.body.accessLevel, "read-write");
        ok(await dtr(h2, image, joinArgs(h2, B, R)), "join after restore");
        await docker(h2, ["rmi", `${h3.address}:${HTTPS}/team/app:1`, `${h2.address}:${HTTPS}/team/app:1`]);
        await login(h2);
        ok(await docker(h2, ["--config", cfg, "pull", `${h2.address}:${HTTPS}/team/app:1`]), "pull after restore");
    });

    it("remove takes a replica out cleanly and its containers go away", async () => {
        ok(await dtr(h1, image, ["remove", "--existing-replica-id", B, "--replica-ids", R]), "remove R");
        const st = (await call(h1.address, HTTPS, "GET", "/api/v0/meta/cluster_status")).body;
        assert.deepEqual(Object.keys(st.replica_health), [B]);
        await until("R's containers gone on host2", 30000, async () => {
            const r = await docker(h2, ["ps", "-a", "-q", "--filter", `label=org.dtr-ha.dtr-sim.replica-id=${R}`]);
            return r.stdout.toString().trim() === "" ? true : undefined;
        });
        await healthy(h1);
    });

    it("upgrade replaces every replica's containers with the next patch version, host by host; its restore refuses the old backup", async () => {
        ok(await dtr(h3, image, joinArgs(h3, B, C)), "join C");
        ok(await dtr(h2, image, joinArgs(h2, C, R)), "join R");
        const [maj, min, patch] = version.split(".").map(Number);
        const next = `${maj}.${min}.${patch + 1}`;
        execFileSync("bash", [join(__dirname, "..", "..", "..", "build-image.sh")], {
            env: { ...process.env, DOCKER_HOST: `unix://${h1.dockerSocket}`, REGISTRY: lab.registry, DTR_SIM_VERSION: next },
            stdio: ["ignore", "ignore", "pipe"],
        });
        const newImage = `${lab.registry}/dtr-sim:${next}`;
        const t = Date.now();
        ok(await dtr(h1, newImage, ["upgrade", "--existing-replica-id", B]), "upgrade");
        console.log(`      upgrade of 3 replicas took ${((Date.now() - t) / 1000).toFixed(1)} s`);
        const st = (await call(h2.address, HTTPS, "GET", "/api/v0/meta/cluster_status")).body;
        assert.equal(st.dtr_version, next);
        assert.deepEqual(Object.values(st.replica_version), [next, next, next]);
        for (const [h, id] of [
            [h1, B],
            [h2, R],
            [h3, C],
        ] as const) {
            const img = await docker(h, ["inspect", "-f", "{{.Config.Image}}", `dtr-api-${id}`, `dtr-registry-${id}`]);
            assert.deepEqual(img.stdout.toString().trim().split("\n"), [newImage, `${lab.registry}/dtr-sim-registry:${next}`]);
        }
        assert.deepEqual((await call(h3.address, HTTPS, "GET", "/api/v0/repositories/team/app")).body.name, "app");
        const r = await dtr(h3, newImage, ["restore", "--ucp-node", h3.ucpNode, "--replica-id", A, "--dtr-use-default-storage"], {
            stdin: backup,
        });
        assert.match(r.stderr, new RegExp(`the backup is from DTR ${version} but this image is ${next}`));
    });

    it("emergency-repair makes the surviving replica a cluster of one after 2 of 3 are lost", async () => {
        const [maj, min, patch] = version.split(".").map(Number);
        const newImage = `${lab.registry}/dtr-sim:${maj}.${min}.${patch + 1}`;
        ok(await docker(h2, ["stop", `dtr-api-${R}`]), "stop R");
        ok(await docker(h3, ["stop", `dtr-api-${C}`]), "stop C");
        await until("/_ping 503 on host1", 30000, async () => ((await ping(h1)).status === 503 ? true : undefined));
        const refused = await dtr(h1, newImage, ["emergency-repair", "--existing-replica-id", B]);
        assert.notEqual(refused.code, 0);
        assert.match(refused.stderr, /this command needs confirmation; pass --yes/);
        const r = await dtr(h1, newImage, ["emergency-repair", "--existing-replica-id", B, "--yes"]);
        ok(r, "emergency-repair");
        assert.match(r.stderr, new RegExp(`Replica set is now ${B}; dropped (${R}, ${C}|${C}, ${R})\\n`));
        await healthy(h1);
        assert.equal((await call(h1.address, HTTPS, "POST", "/api/v0/repositories/team", { body: { name: "after-repair" } })).status, 201);
    });
});

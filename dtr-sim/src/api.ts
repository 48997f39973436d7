// The dtr-api-<replicaId> container: /_ping, cluster status, repositories, team access, storage settings,
// the /v2/ proxy to this replica's registry, and the internal API peers and the CLI use over dtr-ol.
import http from "node:http";
import https from "node:https";
import { readFileSync } from "node:fs";
import { createHmac, timingSafeEqual } from "node:crypto";
import { Engine } from "./engine";
import { Store, NoQuorumError, SECRET_HEADER } from "./store";
import { Identity, reconcileRegistry, removeLocalReplica, runHelper, selfImage, SelfImage, names } from "./replica";
import { CredentialCache, parseBasic } from "./auth";
import { findRepo, Op, Stored, tagKnown } from "./state";
import { redactStorage, validateStorageBody, driverOf } from "./settings";
import { clusterStatus } from "./status";
import { s3TestWrite } from "./s3check";
import { API_INTERNAL_PORT, overlayLookup, peerRequest, registryHost, sleep } from "./peer";
import { info, warn, UserError } from "./log";
import { MetadataContext, metadataApi, standInSign } from "./api-metadata";
import { notaryView } from "./metadata";

type Res = http.ServerResponse;
type Req = http.IncomingMessage;

const DATA = "/data";
const MANIFEST_TYPES =
    "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.index.v1+json";

export function send(res: Res, status: number, body?: unknown, headers: Record<string, string> = {}): void {
    const data = body === undefined ? "" : JSON.stringify(body);
    res.writeHead(status, { ...(body === undefined ? {} : { "Content-Type": "application/json" }), ...headers });
    res.end(data);
}

export function apiError(res: Res, status: number, code: string, message: string): void {
    send(res, status, { errors: [{ code, message }] });
}

export function readBody(req: Req, limit = 1 << 20): Promise<unknown> {
    return new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        let n = 0;
        req.on("data", (c: Buffer) => {
            n += c.length;
            if (n > limit) reject(new UserError(`request body over ${limit} bytes`));
            else chunks.push(c);
        });
        req.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            if (!text) return resolve(undefined);
            try {
                resolve(JSON.parse(text));
            } catch {
                reject(new UserError(`request body is not valid JSON`));
            }
        });
        req.on("error", reject);
    });
}

export class ApiServer {
    private creds = new CredentialCache();
    registry: { ok: boolean; error?: string } = { ok: false, error: "registry: not checked yet" };
    private reconciling = false;
    private reconcileAgain = false;
    private registryGen = 0; // bumps when the registry container is replaced, so stale checks are ignored
    appliedRev = 0; // the metadata revision whose registry settings are running here

    constructor(
        private engine: Engine,
        private ident: Identity,
        public store: Store,
        private self: SelfImage,
    ) {
        store.onChange = () => void this.reconcile();
    }

    get id(): string {
        return this.ident.replicaId;
    }

    health(): { Healthy: boolean; Error?: string } {
        if (!this.registry.ok) return { Healthy: false, Error: this.registry.error };
        if (!this.store.isMember())
            return { Healthy: false, Error: `rethinkdb: replica ${this.id} is not a member of the replica set (joining, or removed)` };
        const q = this.store.quorum();
        if (!q.ok)
            return { Healthy: false, Error: `rethinkdb: no quorum: ${q.reachable} of ${q.members} replicas reachable, need ${q.majority}` };
        return { Healthy: true };
    }

    detail() {
        return {
            replicaId: this.id,
            version: this.self.version,
            member: this.store.isMember(),
            registry: this.registry,
            quorum: this.store.quorum(),
            rev: this.store.stored.rev,
            appliedRev: this.appliedRev,
            ...this.health(),
        };
    }

    async reconcile(): Promise<void> {
        if (this.reconciling) {
            this.reconcileAgain = true;
            return;
        }
        this.reconciling = true;
        try {
            do {
                this.reconcileAgain = false;
                const rev = this.store.stored.rev;
                const r = await reconcileRegistry(this.engine, this.id, this.store.doc, this.self.registryImage, () => {
                    this.registryGen++;
                    this.registry = { ok: false, error: "registry: restarting with new settings" };
                });
                if (r !== "unchanged") {
                    info(`registry container ${names.registry(this.id)} ${r} (storage driver ${driverOf(this.store.doc.storage)})`);
                    this.registryGen++;
                    this.registry = { ok: false, error: "registry: starting" };
                    void this.checkRegistry();
                }
                this.appliedRev = Math.max(this.appliedRev, rev);
            } while (this.reconcileAgain);
        } catch (e) {
            this.registry = { ok: false, error: `registry: cannot (re)create ${names.registry(this.id)}: ${(e as Error).message}` };
            warn(this.registry.error!);
        } finally {
            this.reconciling = false;
        }
    }

    async checkRegistry(): Promise<void> {
        const gen = this.registryGen;
        let result: { ok: boolean; error?: string };
        try {
            const r = await peerRequest(registryHost(this.id), 5001, "GET", "/debug/health", { timeoutMs: 3000 });
            if (r.status === 200) result = { ok: true };
            else result = { ok: false, error: `registry: health check failed: ${r.body.toString().trim().slice(0, 300)}` };
        } catch (e) {
            result = { ok: false, error: `registry: ${registryHost(this.id)} unreachable: ${(e as Error).message}` };
        }
        if (gen === this.registryGen) this.registry = result;
    }

    /** Waits (bounded) until every reachable member runs the registry settings of revision rev. */
    private async waitApplied(rev: number, ms = 90000): Promise<{ applied: string[]; pending: string[] }> {
        const until = Date.now() + ms;
        for (;;) {
            const applied: string[] = [],
                pending: string[] = [];
            for (const r of this.store.members()) {
                if (r === this.id) (this.appliedRev >= rev && this.registry.ok ? applied : pending).push(r);
                else {
                    const got = await this.store.fetchPeer(r);
                    (got?.health && (got.health.appliedRev ?? 0) >= rev && got.health.registryOk ? applied : pending).push(r);
                }
            }
            if (!pending.length || Date.now() > until) return { applied, pending };
            await sleep(1000);
        }
    }

    isAdmin(req: Req): boolean {
        const c = parseBasic(req.headers.authorization);
        return !!c && this.creds.check(this.store.doc.admin, c.username, c.password);
    }

    private isPeer(req: Req): boolean {
        return req.headers[SECRET_HEADER] === this.store.doc.secret;
    }

    handler(internal: boolean) {
        return (req: Req, res: Res) => {
            this.route(req, res, internal).catch((e: Error & { status?: number }) => {
                if (res.headersSent) return res.destroy();
                if (e instanceof NoQuorumError) return apiError(res, 503, "NO_QUORUM", e.message);
                if (e instanceof UserError)
                    return apiError(
                        res,
                        e.status ?? 400,
                        e.status === 404 ? "NOT_FOUND" : e.status === 409 ? "CONFLICT" : "INVALID_INPUT",
                        e.message,
                    );
                warn(`${req.method} ${req.url}: ${e.stack ?? e.message}`);
                apiError(res, 500, "INTERNAL_ERROR", e.message);
            });
        };
    }

    private async route(req: Req, res: Res, internal: boolean): Promise<void> {
        const url = new URL(req.url ?? "/", "http://x");
        const p = url.pathname;
        const m = req.method ?? "GET";
        if (p === "/_ping" || p === "/health") {
            const h = this.health();
            return send(res, h.Healthy ? 200 : 503, h);
        }
        if (p.startsWith("/v2")) return this.proxyV2(req, res, url);
        // DTR serves its CA's PEM at /ca, unauthenticated (DTR's own API client GetCA; "curl -k https://<dtr>/ca" in
        // ee/dtr/user/access-dtr): what a client adds to its trust store.
        if (p === "/ca" && m === "GET") {
            res.writeHead(200, { "Content-Type": "text/plain" });
            return void res.end(this.store.doc.tls.ca);
        }
        if (p.startsWith("/dtr-sim/notary/") && m === "PUT") {
            if (!this.isAdmin(req)) return apiError(res, 401, "UNAUTHORIZED", "admin basic auth required");
            const parts = p.split("/").filter(Boolean).slice(2);
            if (parts.length === 3) return standInSign(this.metadataContext(), req, res, parts);
        }
        if (p === "/auth/token" && m === "GET") return this.issueToken(req, res);
        if (internal && p.startsWith("/internal/")) return this.internal(req, res, p, m);
        if (p.startsWith("/api/v0/")) {
            if (!this.isAdmin(req)) {
                return send(
                    res,
                    401,
                    {
                        errors: [
                            {
                                code: "UNAUTHORIZED",
                                message: "basic auth as the admin given at install (--ucp-username/--ucp-password) is required",
                            },
                        ],
                    },
                    { "WWW-Authenticate": 'Basic realm="dtr-sim"' },
                );
            }
            return this.api(req, res, p, m);
        }
        apiError(res, 404, "NOT_FOUND", `no route ${m} ${p}`);
    }

    private async write(op: Op): Promise<Stored> {
        return this.store.write(op);
    }

    private async api(req: Req, res: Res, p: string, m: string): Promise<void> {
        const doc = () => this.store.doc;
        const seg = p.split("/").filter(Boolean).slice(2); // after api/v0
        if (seg[0] === "meta" && seg[1] === "cluster_status" && m === "GET") return send(res, 200, this.clusterStatus());
        if (seg.join("/") === "admin/settings/registry/simple") {
            if (m === "GET") return send(res, 200, { storage: redactStorage(doc().storage) });
            if (m === "PUT" || m === "POST") {
                const storage = validateStorageBody(await readBody(req), doc().storage);
                // DTR test-writes with the new settings and answers 400 when it cannot, changing nothing (dtr-sim/src/s3check.ts).
                if (storage.s3) {
                    const t = await s3TestWrite(storage.s3 as Record<string, unknown>);
                    if (!t.ok)
                        return apiError(res, 400, "INVALID_STORAGE_SETTINGS", `storage test failed, settings not changed: ${t.error}`);
                }
                const s = await this.write({
                    op: "setStorage",
                    storage,
                    now: new Date().toISOString(),
                    ...(storage.s3 ? { storageVolume: null, nfsUrl: null } : {}),
                });
                // Answers once the replicas run the new settings (or after 90 s), so callers can push right away.
                const w = await this.waitApplied(s.rev);
                return send(res, 202, { storage: redactStorage(s.doc.storage), appliedOn: w.applied, pendingOn: w.pending });
            }
        }
        if (await metadataApi(this.metadataContext(), req, res, seg, m)) return;
        if (seg[0] === "repositories") {
            const [, ns, name, sub, team] = seg;
            const view = (r: ReturnType<typeof findRepo>) => r && { ...r, namespaceType: "organization", status: "ok" };
            if (!ns && m === "GET") return send(res, 200, { repositories: doc().repositories.map(view) });
            if (ns && !name) {
                if (m === "GET")
                    return send(res, 200, {
                        repositories: doc()
                            .repositories.filter((r) => r.namespace === ns)
                            .map(view),
                    });
                if (m === "POST") {
                    const body = ((await readBody(req)) ?? {}) as Record<string, unknown>;
                    const s = await this.write({ op: "createRepo", namespace: ns, body });
                    return send(res, 201, view(findRepo(s.doc, ns, String(body.name))));
                }
            }
            if (ns && name && !sub) {
                const r = findRepo(doc(), ns, name);
                if (m === "GET")
                    return r
                        ? send(res, 200, view(r))
                        : apiError(res, 404, "NO_SUCH_REPOSITORY", `repository ${ns}/${name} does not exist`);
                if (m === "DELETE") {
                    await this.write({ op: "deleteRepo", namespace: ns, name });
                    return send(res, 204);
                }
            }
            if (ns && name && sub === "tags" && m === "GET" && !team)
                return this.tags(res, ns, name, new URL(req.url ?? "/", "http://x").searchParams.get("domain"));
            if (ns && name && sub === "teamAccess") {
                if (!findRepo(doc(), ns, name)) return apiError(res, 404, "NO_SUCH_REPOSITORY", `repository ${ns}/${name} does not exist`);
                const list = () => doc().teamAccess.filter((t) => t.namespace === ns && t.repository === name);
                if (!team && m === "GET")
                    return send(res, 200, {
                        teamAccessList: list().map((t) => ({ team: { name: t.team }, accessLevel: t.accessLevel })),
                        repository: view(findRepo(doc(), ns, name)),
                    });
                if (team && m === "GET") {
                    const t = list().find((x) => x.team === team);
                    return t
                        ? send(res, 200, { team: { name: team }, accessLevel: t.accessLevel })
                        : apiError(res, 404, "NO_SUCH_TEAM_ACCESS", `team ${team} has no access to ${ns}/${name}`);
                }
                if (team && m === "PUT") {
                    const body = ((await readBody(req)) ?? {}) as Record<string, unknown>;
                    await this.write({ op: "setTeamAccess", namespace: ns, name, team, accessLevel: body.accessLevel });
                    return send(res, 200, { team: { name: team }, accessLevel: body.accessLevel });
                }
                if (team && m === "DELETE") {
                    await this.write({ op: "deleteTeamAccess", namespace: ns, name, team });
                    return send(res, 204);
                }
            }
        }
        apiError(res, 404, "NOT_FOUND", `no route ${m} ${p} in dtr-sim's API subset (see dtr-sim/README.md)`);
    }

    private clusterStatus() {
        const doc = this.store.doc;
        const q = this.store.quorum();
        const v = clusterStatus(
            doc,
            {
                id: this.id,
                version: this.self.version,
                health: this.health(),
                stored: { rev: this.store.stored.rev, at: this.store.stored.at },
                canWrite: q.ok,
            },
            this.store.peers,
        );
        const issues = v.issues;
        if (!q.ok)
            issues.push({
                critical: true,
                description: `rethinkdb: no quorum: ${q.reachable} of ${q.members} replicas reachable, need ${q.majority}`,
            });
        if (doc.joinLock)
            issues.push({
                critical: false,
                description: `join of replica ${doc.joinLock.replicaId} in progress since ${doc.joinLock.since}`,
            });
        return {
            rethink_system_tables: v.rethink_system_tables,
            replica_health: v.replica_health,
            replica_timestamp: v.replica_timestamp,
            replica_readonly: v.replica_readonly,
            replica_version: v.replica_version,
            current_issues: issues,
            replicas: doc.replicas,
            quorum: q,
            dtr_version: doc.dtrVersion,
            external_url: doc.externalUrl,
            gc_lock_holder: "",
            metadata_revision: this.store.stored.rev,
            answered_by: this.id,
        };
    }

    metadataContext(): MetadataContext {
        return {
            doc: () => this.store.doc,
            replicaId: this.id,
            write: (op) => this.write(op),
            tagDigest: (ns, repo, tag) => this.tagDigest(ns, repo, tag),
            readBody: (req) => readBody(req),
            send,
            apiError,
        };
    }

    /** The manifest digest of ns/repo:tag in this replica's registry (HEAD, as docker pull resolves it). */
    async tagDigest(ns: string, repo: string, tag: string): Promise<string | undefined> {
        const h = await peerRequest(registryHost(this.id), 5000, "HEAD", `/v2/${ns}/${repo}/manifests/${encodeURIComponent(tag)}`, {
            headers: { Accept: MANIFEST_TYPES },
            timeoutMs: 10000,
        });
        const d = h.headers["docker-content-digest"];
        return h.status === 200 && typeof d === "string" ? d : undefined;
    }

    /** `responses.ListTag` items; `domain` names the Notary GUN (swagger ListRepoTags: inNotary needs it). */
    private async tags(res: Res, ns: string, name: string, domain: string | null = null): Promise<void> {
        if (!findRepo(this.store.doc, ns, name)) return apiError(res, 404, "NO_SUCH_REPOSITORY", `repository ${ns}/${name} does not exist`);
        const r = await peerRequest(registryHost(this.id), 5000, "GET", `/v2/${ns}/${name}/tags/list`, { timeoutMs: 10000 });
        if (r.status === 404) return send(res, 200, []);
        if (r.status !== 200)
            return apiError(res, 502, "REGISTRY_ERROR", `registry answered ${r.status}: ${r.body.toString().slice(0, 300)}`);
        // After a backend switch DTR's metadata has only the tags pushed since (storage-backend-migration.md).
        const tags: string[] = (r.json<{ tags: string[] | null }>().tags ?? []).filter((t) => tagKnown(this.store.doc, `${ns}/${name}`, t));
        const out = [];
        for (const t of tags) {
            const h = await peerRequest(registryHost(this.id), 5000, "HEAD", `/v2/${ns}/${name}/manifests/${t}`, {
                headers: { Accept: MANIFEST_TYPES },
                timeoutMs: 10000,
            });
            const digest = h.headers["docker-content-digest"] as string | undefined;
            const doc = this.store.doc;
            out.push({
                name: t,
                digest,
                inRegistry: h.status === 200,
                ...notaryView(doc.trust ?? [], domain, ns, name, t, digest),
            });
        }
        send(res, 200, out);
    }

    /** Registry token (as DTR's garant issues): HMAC-signed subject and expiry, nothing else. */
    private token(sub: string): string {
        const body = Buffer.from(JSON.stringify({ sub, exp: Date.now() + 300000 })).toString("base64url");
        return `${body}.${createHmac("sha256", this.store.doc.secret).update(body).digest("base64url")}`;
    }

    private tokenSubject(t: string): string | undefined {
        const [body, mac] = t.split(".");
        if (!body || !mac) return undefined;
        const want = createHmac("sha256", this.store.doc.secret).update(body).digest("base64url");
        if (mac.length !== want.length || !timingSafeEqual(Buffer.from(mac), Buffer.from(want))) return undefined;
        const { sub, exp } = JSON.parse(Buffer.from(body, "base64url").toString()) as { sub: string; exp: number };
        return exp > Date.now() ? sub : undefined;
    }

    /** GET /auth/token: docker login/pull/push fetch a bearer token here, with Basic credentials or anonymously. */
    private issueToken(req: Req, res: Res): void {
        const c = parseBasic(req.headers.authorization);
        if (c && !this.creds.check(this.store.doc.admin, c.username, c.password)) {
            return send(res, 401, { errors: [{ code: "UNAUTHORIZED", message: "wrong username or password" }] });
        }
        const t = this.token(c ? c.username : "");
        send(res, 200, { token: t, access_token: t, expires_in: 300, issued_at: new Date().toISOString() });
    }

    /** /v2/ reaches this replica's registry. Pushes need the admin and an existing repository, as in DTR. */
    private async proxyV2(req: Req, res: Res, url: URL): Promise<void> {
        const proto = (req.socket as { encrypted?: boolean }).encrypted ? "https" : "http";
        const challenge = {
            "WWW-Authenticate": `Bearer realm="${proto}://${req.headers.host}/auth/token",service="dtr-sim"`,
            "Docker-Distribution-API-Version": "registry/2.0",
        };
        const authz = req.headers.authorization ?? "";
        let admin = false;
        if (authz.startsWith("Bearer ")) {
            const sub = this.tokenSubject(authz.slice(7));
            if (sub === undefined)
                return send(res, 401, { errors: [{ code: "UNAUTHORIZED", message: "invalid or expired token" }] }, challenge);
            admin = sub === this.store.doc.admin.username;
        } else if (authz.startsWith("Basic ")) {
            const c = parseBasic(authz);
            admin = !!c && this.creds.check(this.store.doc.admin, c.username, c.password);
            if (!admin) return send(res, 401, { errors: [{ code: "UNAUTHORIZED", message: "wrong username or password" }] }, challenge);
        }
        const p = url.pathname;
        const read = req.method === "GET" || req.method === "HEAD";
        if (p === "/v2" || p === "/v2/" || p === "/v2/_catalog") {
            if (!authz || (p === "/v2/_catalog" && !admin))
                return send(res, 401, { errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }, challenge);
            if (p !== "/v2/_catalog") return send(res, 200, {}, { "Docker-Distribution-API-Version": "registry/2.0" });
        } else {
            const mm = /^\/v2\/(.+?)\/(manifests|blobs|tags)(\/.*)?$/.exec(p);
            if (!mm) return send(res, 404, { errors: [{ code: "NOT_FOUND", message: `no route ${p}` }] });
            const parts = mm[1].split("/");
            if (parts.length !== 2)
                return send(res, 400, { errors: [{ code: "NAME_INVALID", message: `DTR repositories are namespace/name, got ${mm[1]}` }] });
            const repo = findRepo(this.store.doc, parts[0], parts[1]);
            if (!admin && (!read || !repo || repo.visibility !== "public")) {
                return send(res, 401, { errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }, challenge);
            }
            if (!repo) {
                return send(res, 404, {
                    errors: [
                        {
                            code: "NAME_UNKNOWN",
                            message: `repository ${mm[1]} does not exist in DTR: create it first (POST /api/v0/repositories/${parts[0]} {"name":"${parts[1]}"})`,
                            detail: { name: mm[1] },
                        },
                    ],
                });
            }
        }
        // A tag erased by a backend switch is unknown to DTR even though its manifest is still in the storage.
        const tagRef = /^\/v2\/([^/]+\/[^/]+)\/manifests\/([^/:@]+)$/.exec(p);
        if (tagRef && read && !tagKnown(this.store.doc, tagRef[1], tagRef[2]))
            return send(res, 404, {
                errors: [
                    { code: "MANIFEST_UNKNOWN", message: `tag ${tagRef[2]} of ${tagRef[1]} was erased by a switch of storage backends` },
                ],
            });
        const headers = { ...req.headers };
        delete headers.authorization;
        delete headers.connection;
        headers["x-forwarded-proto"] = proto;
        const preq = http.request(
            {
                host: registryHost(this.id),
                port: 5000,
                method: req.method,
                path: url.pathname + url.search,
                headers,
                lookup: overlayLookup,
            },
            (pres) => {
                const forward = () => {
                    res.writeHead(pres.statusCode ?? 502, pres.headers);
                    pres.pipe(res);
                };
                // A pushed tag enters DTR's tag metadata before the push is reported done (only kept apart after a switch).
                const code = pres.statusCode ?? 0;
                if (tagRef && req.method === "PUT" && code >= 200 && code < 300 && !tagKnown(this.store.doc, tagRef[1], tagRef[2])) {
                    this.write({ op: "recordTag", repository: tagRef[1], tag: tagRef[2] }).then(forward, (e: Error) => {
                        pres.resume();
                        send(res, 503, { errors: [{ code: "UNAVAILABLE", message: `tag metadata not written: ${e.message}` }] });
                    });
                    return;
                }
                forward();
            },
        );
        preq.on("error", (e) => {
            if (!res.headersSent)
                send(res, 503, {
                    errors: [{ code: "UNAVAILABLE", message: `registry ${registryHost(this.id)} unreachable: ${e.message}` }],
                });
            else res.destroy();
        });
        req.pipe(preq);
    }

    private async internal(req: Req, res: Res, p: string, m: string): Promise<void> {
        if (p === "/internal/health" && m === "GET") return send(res, 200, this.detail());
        const peer = this.isPeer(req);
        const admin = !peer && this.isAdmin(req);
        if (!peer && !admin) {
            return send(res, 401, {
                errors: [{ code: "UNAUTHORIZED", message: "the admin credentials do not match those given at install" }],
            });
        }
        if (p === "/internal/state" && m === "GET") {
            return send(res, 200, {
                stored: this.store.stored,
                health: { ...this.health(), version: this.self.version, appliedRev: this.appliedRev, registryOk: this.registry.ok },
            });
        }
        if (p === "/internal/state" && m === "PUT" && peer) {
            const s = (await readBody(req, 16 << 20)) as Stored;
            return this.store.accept(s)
                ? send(res, 200, { accepted: true })
                : send(res, 409, { accepted: false, rev: this.store.stored.rev });
        }
        if (!admin) return send(res, 403, { errors: [{ code: "DENIED", message: "admin only" }] });
        if (p === "/internal/write" && m === "POST") {
            const op = (await readBody(req)) as Op;
            return send(res, 200, await this.write(op));
        }
        if (p === "/internal/emergency-repair" && m === "POST") return send(res, 200, await this.store.forceMembership());
        if (p === "/internal/decommission" && m === "POST") {
            // A helper removes this replica's containers and volumes, this container last.
            await runHelper(this.engine, this.self.image, `dtr-sim-decommission-${this.id}`, ["cleanup-replica", this.id]);
            return send(res, 202, { decommissioning: this.id });
        }
        if (p === "/internal/upgrade" && m === "POST") {
            const { image } = ((await readBody(req)) ?? {}) as { image?: string };
            if (!image) throw new UserError("body.image is required");
            await this.engine.ensureImage(image);
            await runHelper(this.engine, image, `dtr-sim-upgrade-${this.id}`, [
                "recreate-api",
                this.id,
                String(this.ident.httpPort),
                String(this.ident.httpsPort),
                this.store.doc.clusterId,
            ]);
            return send(res, 202, { upgrading: this.id, image });
        }
        apiError(res, 404, "NOT_FOUND", `no route ${m} ${p}`);
    }
}

export async function serveApi(): Promise<void> {
    const engine = new Engine();
    const ident = JSON.parse(readFileSync(`${DATA}/replica.json`, "utf8")) as Identity;
    const store = new Store(ident.replicaId, `${DATA}/state.json`);
    const self = await selfImage(engine);
    const api = new ApiServer(engine, ident, store, self);
    info(`dtr-sim ${self.version} replica ${ident.replicaId} on ${ident.node} (a stand-in for DTR, not DTR)`);
    http.createServer(api.handler(true)).listen(API_INTERNAL_PORT);
    http.createServer(api.handler(false)).listen(80);
    https.createServer({ cert: store.doc.tls.cert, key: store.doc.tls.key }, api.handler(false)).listen(443);
    await api.reconcile();
    const loop = async (ms: number, fn: () => Promise<void>) => {
        for (;;) {
            await fn().catch((e) => warn(String(e)));
            await sleep(ms);
        }
    };
    void loop(2000, () => store.sync());
    void loop(2000, () => api.checkRegistry());
    void loop(15000, () => api.reconcile());
}

/** Helper container: removes a replica's containers and volumes (remove, emergency-repair). */
export async function cleanupReplica(id: string): Promise<void> {
    await sleep(1000); // let the API container that started us answer its request first
    const removed = await removeLocalReplica(new Engine(), id);
    info(`replica ${id} decommissioned: ${removed.join(", ") || "nothing left"}`);
}

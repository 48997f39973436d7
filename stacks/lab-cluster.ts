/**
 * Driving a DTR cluster in the lab: deploy the project's stack through the Automation API, then use the cluster as a
 * user would (create a repository, push, pull, read its health). Shared by the demo and the lab tests.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { EngineEvent, Stack, UpResult } from "@pulumi/pulumi/automation";
import { LabHost, LabStatus, REPO_ROOT, s3Keys, sshPrivateKey, ucpPassword } from "../lab/lab";
import { docker, dockerLogin, dtrApi, makeTestImage } from "../lab/docker";
import { labS3, listKeys } from "../lab/s3";
import { LAB_ADMIN, labStackConfig } from "./lab-config";
import { openStack, setStackConfig } from "./workspace";
import * as tls from "tls";

export interface LabCluster {
    stack: Stack;
    status: LabStatus;
    admin: { user: string; password: string };
}

/** Where the lab's stacks keep state: beside the lab's own state, so `lab down` context is obvious. */
export function labPulumiDir(status: LabStatus): string {
    return path.join(status.stateDir, "pulumi");
}

/**
 * The lab DTR admin password: UCP's admin password (DTR authenticates against UCP), which `lab.sh up` generated for
 * ucp-sim into a mode-600 file; never printed.
 */
export function labAdminPassword(status: LabStatus): string {
    return ucpPassword(status);
}

/** The backup agent's version, as its package says (the lab builds and pushes that tag). */
export function agentVersion(): string {
    return JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "backup-agent", "package.json"), "utf8")).version;
}

export async function labStack(status: LabStatus, stackName = "lab", imageVersion?: string): Promise<LabCluster> {
    const admin = { user: LAB_ADMIN, password: labAdminPassword(status) };
    const stack = await openStack(stackName, { dir: labPulumiDir(status) });
    const { config, secrets } = labStackConfig(status, {
        clusterName: stackName,
        imageVersion,
        adminPassword: admin.password,
        sshPrivateKey: sshPrivateKey(status),
        s3: s3Keys(status),
        agentVersion: agentVersion(),
    });
    await setStackConfig(stack, config, secrets);
    return { stack, status, admin };
}

/** `pulumi up`, with the engine's own output passed to `log` line by line and its events to `onEvent`. */
export async function up(c: LabCluster, log?: (line: string) => void, onEvent?: (e: EngineEvent) => void): Promise<UpResult> {
    return c.stack.up({ onOutput: (o) => log?.(o.trimEnd()), onEvent, color: "never" });
}

export interface PushResult {
    repository: string;
    tag: string;
    /** Blob digests (config and layers) of the pushed manifest, as stored in the registry. */
    blobs: string[];
}

/** Creates `admin/<repo>` (public), pushes a fresh image to it through `via` from `host`, and reads its manifest. */
export async function pushImage(c: LabCluster, host: LabHost, via: LabHost, repo: string, tag: string): Promise<PushResult> {
    const created = await dtrApi(via.address, "POST", `/api/v0/repositories/${LAB_ADMIN}`, c.admin, { name: repo, visibility: "public" });
    if (created.status !== 201 && created.status !== 200 && created.status !== 409) {
        throw new Error(
            `creating repository ${LAB_ADMIN}/${repo} on ${via.name} answered ${created.status}: ${JSON.stringify(created.body)}`,
        );
    }
    const registry = `${via.address}:443`;
    const ref = `${registry}/${LAB_ADMIN}/${repo}:${tag}`;
    await makeTestImage(host, ref);
    await dockerLogin(host, registry, c.admin.user, c.admin.password);
    await docker(host, ["push", ref]);
    const manifest = await dtrApi(via.address, "GET", `/v2/${LAB_ADMIN}/${repo}/manifests/${tag}`, c.admin, undefined, {
        accept: "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json",
    });
    if (manifest.status !== 200) throw new Error(`manifest of ${ref} answered ${manifest.status}`);
    const m = typeof manifest.body === "string" ? JSON.parse(manifest.body) : manifest.body;
    const blobs = [m.config?.digest, ...(m.layers ?? []).map((l: { digest: string }) => l.digest)].filter(Boolean);
    if (blobs.length < 2)
        throw new Error(
            `the manifest of ${ref} names ${blobs.length} blobs; expected its config and layers: ${JSON.stringify(m).slice(0, 300)}`,
        );
    return { repository: `${LAB_ADMIN}/${repo}`, tag, blobs };
}

/** Pulls `admin/<repo>:<tag>` on `host` through replica `via`, after removing any local copy; returns the image id. */
export async function pullImage(c: LabCluster, host: LabHost, via: LabHost, repository: string, tag: string): Promise<string> {
    const ref = `${via.address}:443/${repository}:${tag}`;
    await docker(host, ["image", "rm", "-f", ref]).catch(() => undefined);
    await dockerLogin(host, `${via.address}:443`, c.admin.user, c.admin.password);
    await docker(host, ["pull", ref]);
    return docker(host, ["image", "inspect", "--format", "{{.Id}}", ref]);
}

/** Which of `digests` are stored as blobs in the layer bucket (the registry's S3 layout). */
export async function blobsInBucket(status: LabStatus, digests: string[]): Promise<{ found: string[]; missing: string[] }> {
    const keys = new Set(await listKeys(labS3(status), status.s3.buckets.layers, "docker/registry/v2/blobs/"));
    const found: string[] = [];
    const missing: string[] = [];
    for (const d of digests) {
        const hex = d.replace(/^sha256:/, "");
        (keys.has(`docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`) ? found : missing).push(d);
    }
    return { found, missing };
}

export interface ClusterHealth {
    /** Replica id -> state, as DTR's cluster status reports it. */
    replicaHealth: Record<string, string>;
    healthy: number;
    /** Host name -> HTTP status of its `/_ping`. */
    pings: Record<string, number | string>;
}

/** Cluster status from the first replica that answers, and every replica's `/_ping`. */
export async function clusterHealth(c: Pick<LabCluster, "status" | "admin">): Promise<ClusterHealth> {
    const pings: Record<string, number | string> = {};
    let replicaHealth: Record<string, string> | undefined;
    for (const h of c.status.hosts) {
        pings[h.name] = await dtrApi(h.address, "GET", "/_ping").then(
            (r) => r.status,
            (e: Error) => `unreachable (${e.message.split("\n")[0]})`,
        );
        if (!replicaHealth && pings[h.name] === 200) {
            const s = await dtrApi(h.address, "GET", "/api/v0/meta/cluster_status", c.admin);
            if (s.status === 200) replicaHealth = s.body.replica_health;
        }
    }
    replicaHealth ??= {};
    return { replicaHealth, healthy: Object.values(replicaHealth).filter((v) => v === "OK").length, pings };
}

/** Waits until `n` replicas report OK (bounded by `seconds`); the error says what was last seen. */
export async function waitHealthy(c: Pick<LabCluster, "status" | "admin">, n: number, seconds = 180): Promise<void> {
    const deadline = Date.now() + seconds * 1000;
    let last: unknown;
    while (Date.now() < deadline) {
        last = await clusterHealth(c).catch((e) => (e as Error).message);
        if (typeof last === "object" && (last as { healthy: number }).healthy === n) return;
        await new Promise((r) => setTimeout(r, 2000));
    }
    throw new Error(`cluster not ${n}/3 healthy within ${seconds}s: ${JSON.stringify(last)}`);
}

/** What DTR left on a host: `dtr-*` containers and volumes, and the dtr-ol network (empty once destroy is done). */
export async function dtrLeftovers(h: LabHost): Promise<string[]> {
    const containers = (await docker(h, ["ps", "-a", "--format", "{{.Names}}"])).split("\n").filter((n) => n.startsWith("dtr-"));
    const volumes = (await docker(h, ["volume", "ls", "--format", "{{.Name}}"])).split("\n").filter((n) => n.startsWith("dtr-"));
    const networks = (await docker(h, ["network", "ls", "--format", "{{.Name}}"])).split("\n").filter((n) => n === "dtr-ol");
    return [...containers.map((n) => `container ${n}`), ...volumes.map((n) => `volume ${n}`), ...networks.map((n) => `network ${n}`)];
}

export interface LabInventory {
    repositories: string[];
    /** `ns/repo:tag` */
    tags: string[];
    /** `ns/repo team level` */
    teamAccess: string[];
    /** Configuration settings `key=json`, less what names the replica answering (replicaID, replicaSettings). */
    settings: string[];
    /** Tags DTR reports in Notary (`inNotary`, with `?domain=<dtrHost>`): `ns/repo:tag digest`. */
    signed: string[];
    /** Scan results: `ns/repo:tag digest critical/major/minor`. */
    scans: string[];
    /** SHA-256 of the CA DTR publishes at /ca, and of the certificate the replica serves. */
    tls: { ca: string; served: string };
}

/** The certificate a replica serves on 443 (DER, SHA-256 hex). */
export function servedCertificate(address: string): Promise<string> {
    return new Promise((resolve, reject) => {
        const s = tls.connect({ host: address, port: 443, rejectUnauthorized: false }, () => {
            const c = s.getPeerCertificate();
            s.destroy();
            resolve(crypto.createHash("sha256").update(c.raw).digest("hex"));
        });
        s.on("error", reject);
    });
}

/**
 * Whether a client that trusts only `caPem` accepts the chain the replica at `address` serves (the name is not judged:
 * lab replicas are reached by address, and the certificate is compared whole by `labInventory`).
 */
export function trustedBy(address: string, caPem: string): Promise<{ authorized: boolean; error: string | null }> {
    return new Promise((resolve, reject) => {
        const s = tls.connect(
            { host: address, port: 443, ca: caPem, rejectUnauthorized: false, checkServerIdentity: () => undefined },
            () => {
                const r = { authorized: s.authorized, error: s.authorizationError ? String(s.authorizationError) : null };
                s.destroy();
                resolve(r);
            },
        );
        s.on("error", reject);
    });
}

/** What a user would check after a restore, read through DTR's API on one replica: the six kinds of metadata. */
export async function labInventory(c: LabCluster, via: LabHost): Promise<LabInventory> {
    const settings = await dtrApi(via.address, "GET", "/api/v0/meta/settings", c.admin);
    if (settings.status !== 200) throw new Error(`reading settings on ${via.name} answered ${settings.status}`);
    const st = settings.body as Record<string, unknown>;
    const repos = await dtrApi(via.address, "GET", "/api/v0/repositories", c.admin);
    if (repos.status !== 200) throw new Error(`listing repositories on ${via.name} answered ${repos.status}`);
    const ca = await dtrApi(via.address, "GET", "/ca");
    const inv: LabInventory = {
        repositories: [],
        tags: [],
        teamAccess: [],
        settings: Object.entries(st)
            .filter(([k]) => !["replicaID", "replicaSettings"].includes(k))
            .map(([k, v]) => `${k}=${JSON.stringify(v)}`),
        signed: [],
        scans: [],
        tls: { ca: crypto.createHash("sha256").update(String(ca.body)).digest("hex"), served: await servedCertificate(via.address) },
    };
    const domain = encodeURIComponent(String(st.dtrHost));
    for (const r of repos.body.repositories as { namespace: string; name: string }[]) {
        const full = `${r.namespace}/${r.name}`;
        inv.repositories.push(full);
        const tags = await dtrApi(via.address, "GET", `/api/v0/repositories/${full}/tags?domain=${domain}`, c.admin);
        for (const t of (tags.body ?? []) as { name: string; digest: string; inNotary?: boolean }[]) {
            inv.tags.push(`${full}:${t.name}`);
            if (t.inNotary) inv.signed.push(`${full}:${t.name} ${t.digest}`);
            if (st.scanningEnabled) {
                const s = await dtrApi(via.address, "GET", `/api/v0/imagescan/scansummary/repositories/${full}/${t.name}`, c.admin);
                if (s.status !== 200) throw new Error(`scan summary of ${full}:${t.name} on ${via.name} answered ${s.status}`);
                for (const x of s.body as { scannedImage: { manifestDigest: string; totalVulnCount: Record<string, number> } }[]) {
                    const v = x.scannedImage.totalVulnCount;
                    inv.scans.push(`${full}:${t.name} ${x.scannedImage.manifestDigest} ${v.critical}/${v.major}/${v.minor}`);
                }
            }
        }
        const access = await dtrApi(via.address, "GET", `/api/v0/repositories/${full}/teamAccess`, c.admin);
        for (const a of (access.body?.teamAccessList ?? []) as { team: { name: string }; accessLevel: string }[]) {
            inv.teamAccess.push(`${full} ${a.team.name} ${a.accessLevel}`);
        }
    }
    for (const k of ["repositories", "tags", "teamAccess", "settings", "signed", "scans"] as const) inv[k].sort();
    return inv;
}

/** One line per category, for logs: `4 repositories, 7 tags, 3 grants, 24 settings, 2 signed, 7 scans, TLS ab12cd34ef56`. */
export function describeInventory(i: LabInventory): string {
    return (
        `${i.repositories.length} repositories, ${i.tags.length} tags, ${i.teamAccess.length} grants, ${i.settings.length} settings, ` +
        `${i.signed.length} signed tags, ${i.scans.length} scan results, TLS certificate ${i.tls.served.slice(0, 12)} (CA ${i.tls.ca.slice(0, 12)})`
    );
}

/**
 * The rest of a registry's metadata, as an operator would have it: settings changed from their defaults (scanning on),
 * every tag in `scan` scanned, and every tag in `sign` signed. dtr-sim stands in for Notary: its PUT /dtr-sim/notary
 * replaces `docker trust sign` (dtr-sim/README.md); against DTR, sign with docker content trust instead.
 */
export async function seedMetadata(c: LabCluster, via: LabHost, scan: string[], sign: string[]): Promise<void> {
    const set = await dtrApi(via.address, "POST", "/api/v0/meta/settings", c.admin, {
        scanningEnabled: true,
        jobHistoryCompactionEnabled: true,
        jobHistoryToKeep: 50,
        repoEventHistoryMaxAge: "720h",
    });
    if (set.status !== 202) throw new Error(`settings on ${via.name} answered ${set.status}: ${JSON.stringify(set.body)}`);
    const dtrHost = (await dtrApi(via.address, "GET", "/api/v0/meta/settings", c.admin)).body.dtrHost as string;
    for (const ref of scan) {
        const [repo, tag] = ref.split(":");
        const r = await dtrApi(via.address, "POST", `/api/v0/imagescan/scan/${repo}/${tag}/linux/amd64`, c.admin);
        if (r.status !== 200) throw new Error(`scanning ${ref} on ${via.name} answered ${r.status}: ${JSON.stringify(r.body)}`);
    }
    for (const ref of sign) {
        const [repo, tag] = ref.split(":");
        const r = await dtrApi(via.address, "PUT", `/dtr-sim/notary/${repo}/${tag}`, c.admin, { domain: dtrHost });
        if (r.status !== 200) throw new Error(`signing ${ref} on ${via.name} answered ${r.status}: ${JSON.stringify(r.body)}`);
    }
}

/** Grants a team access to a repository (stored and backed up by DTR). */
export async function grantTeam(c: LabCluster, via: LabHost, repository: string, team: string, accessLevel: string): Promise<void> {
    const r = await dtrApi(via.address, "PUT", `/api/v0/repositories/${repository}/teamAccess/${team}`, c.admin, { accessLevel });
    if (r.status !== 200)
        throw new Error(`granting ${team} ${accessLevel} on ${repository} answered ${r.status}: ${JSON.stringify(r.body)}`);
}

/** The disaster: every DTR container, volume and the dtr-ol network gone from every host. Hosts and S3 survive. */
export async function loseCluster(status: LabStatus): Promise<void> {
    for (const h of status.hosts) await wipeDtr(h);
    // A swarm network is removed on a manager (the replica hosts are workers).
    await docker((status.managers ?? status.hosts)[0], ["network", "rm", "dtr-ol"]).catch(() => undefined);
}

/**
 * What a wiped (or reinstalled) machine has of DTR: nothing. Without `ids`, every `dtr-*` container and volume goes;
 * with them, everything named for those replicas (their containers, volumes and ownership records).
 */
export async function wipeDtr(h: LabHost, ids?: string[]): Promise<void> {
    const mine = (n: string) => (ids ? ids.some((id) => n.endsWith(id)) : n.startsWith("dtr-"));
    const names = (await docker(h, ["ps", "-a", "--format", "{{.Names}}"])).split("\n").filter(mine);
    if (names.length) await docker(h, ["rm", "-f", ...names]);
    const volumes = (await docker(h, ["volume", "ls", "--format", "{{.Name}}"])).split("\n").filter(mine);
    if (volumes.length) await docker(h, ["volume", "rm", "-f", ...volumes]);
}

/** Takes a new backup through the stack (a new `backup.trigger`), returns the manifest key. */
export async function takeBackup(c: LabCluster, trigger: string): Promise<string> {
    const all = await c.stack.getAllConfig();
    const backup = JSON.parse(all["dtr-ha:backup"].value);
    await c.stack.setConfig("dtr-ha:backup", { value: JSON.stringify({ ...backup, trigger }) });
    const res = await c.stack.up({ color: "never" });
    const key = res.outputs.lastBackup?.value;
    if (!key) throw new Error("the stack reported no lastBackup after the backup");
    return key;
}

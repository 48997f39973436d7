// Routes for the metadata categories of metadata.ts: settings, image scanning, Notary trust data, the CA.
// Each route follows DTR 2.7's swagger (reference/dtr/2.7/api/main.js); status codes and error codes are its.
import http from "node:http";
import { ClusterDoc, findRepo, Op, Stored } from "./state";
import { applySettingsForm, defaultSettings, dtrHostOf, gunOf, InvalidSettings, scanSummaries, standInScan } from "./metadata";
import { UserError } from "./log";

type Res = http.ServerResponse;
type Req = http.IncomingMessage;

export interface MetadataContext {
    doc(): ClusterDoc;
    replicaId: string;
    write(op: Op): Promise<Stored>;
    /** The manifest digest a tag points to in the registry, undefined when the tag does not exist. */
    tagDigest(ns: string, repo: string, tag: string): Promise<string | undefined>;
    readBody(req: Req): Promise<unknown>;
    send(res: Res, status: number, body?: unknown): void;
    apiError(res: Res, status: number, code: string, message: string): void;
}

/** `responses.Settings` (GET /api/v0/meta/settings): never the TLS key (the response schema has no webTLSKey). */
export function settingsView(doc: ClusterDoc, replicaId: string) {
    return {
        ...(doc.settings ?? defaultSettings()),
        dtrHost: dtrHostOf(doc.externalUrl),
        replicaSettings: Object.fromEntries(
            doc.replicas.map((r) => [r.id, { HTTPPort: r.httpPort, HTTPSPort: r.httpsPort, node: r.node }]),
        ),
        // dtr-sim accepts and ignores install's proxy and log flags, so it reports them empty.
        httpProxy: "",
        httpsProxy: "",
        noProxy: "",
        logProtocol: "",
        logHost: "",
        logLevel: "",
        webTLSCert: doc.tls.cert,
        webTLSCA: doc.tls.ca,
        webTLSClientCA: "",
        replicaID: replicaId,
        storageVolume: doc.storageVolume ?? "",
        nfsHost: doc.nfsUrl ? new URL(doc.nfsUrl).host : "",
        nfsPath: doc.nfsUrl ? new URL(doc.nfsUrl).pathname : "",
    };
}

const OS_ARCH = /^[a-z0-9][a-z0-9._-]{0,31}$/;

/** Handles `seg` (the path after /api/v0) when it is one of these routes; false when it is not. */
export async function metadataApi(ctx: MetadataContext, req: Req, res: Res, seg: string[], m: string): Promise<boolean> {
    const doc = ctx.doc();
    const settings = doc.settings ?? defaultSettings();
    if (seg[0] === "meta" && seg[1] === "settings" && seg.length === 2) {
        // swagger GetSettings / UpdateSettings: admin; POST answers 202, or 400 INVALID_SETTINGS.
        if (m === "GET") {
            ctx.send(res, 200, settingsView(doc, ctx.replicaId));
            return true;
        }
        if (m === "POST") {
            let next;
            try {
                next = applySettingsForm(await ctx.readBody(req), settings, {
                    dtrHost: dtrHostOf(doc.externalUrl),
                    webTLSCert: doc.tls.cert,
                    webTLSCA: doc.tls.ca,
                    webTLSKey: doc.tls.key,
                });
            } catch (e) {
                if (e instanceof InvalidSettings) {
                    ctx.apiError(res, 400, "INVALID_SETTINGS", e.message);
                    return true;
                }
                throw e;
            }
            await ctx.write({ op: "setSettings", settings: next });
            ctx.send(res, 202);
            return true;
        }
    }
    if (seg[0] === "imagescan") {
        const scan = seg[1] === "scan" && seg.length === 7 && m === "POST";
        const summary = seg[1] === "scansummary" && seg[2] === "repositories" && seg.length === 6 && m === "GET";
        if (!scan && !summary) return false;
        // Both answer 400 SCANNING_NOT_ENABLED while scanning is off (swagger ScanImage, GetScanSummary).
        if (!settings.scanningEnabled) {
            ctx.apiError(res, 400, "SCANNING_NOT_ENABLED", "Scanning is not enabled (settings.scanningEnabled)");
            return true;
        }
        const [ns, repo, ref] = scan ? seg.slice(2, 5) : seg.slice(3, 6);
        const notFound = scan ? "NO_SUCH_TAG" : "NO_SUCH_REF";
        const digest = findRepo(doc, ns, repo) ? await ctx.tagDigest(ns, repo, ref) : undefined;
        if (!digest) {
            ctx.apiError(res, 404, notFound, `${ns}/${repo}:${ref} does not exist`);
            return true;
        }
        if (scan) {
            const [os, arch] = seg.slice(5, 7);
            if (!OS_ARCH.test(os) || !OS_ARCH.test(arch))
                throw new UserError(`os '${os}' and arch '${arch}' must be names like linux and amd64`);
            // DTR queues a scan job (jobrunner); dtr-sim records the stand-in result at once (metadata.ts standInScan).
            await ctx.write({
                op: "recordScan",
                scan: {
                    namespace: ns,
                    repository: repo,
                    tag: ref,
                    manifestDigest: digest,
                    os,
                    arch,
                    ...standInScan(digest),
                    checkCompletedAt: new Date().toISOString(),
                },
            });
            ctx.send(res, 200);
            return true;
        }
        // Unscanned tags: DTR's answer is not documented; dtr-sim answers an empty list.
        ctx.send(res, 200, scanSummaries(doc.scans ?? [], ns, repo, ref, digest));
        return true;
    }
    return false;
}

/**
 * dtr-sim only, in place of `docker trust sign` (DTR's Notary server is not modelled): records that the tag's current
 * manifest is signed in the trust collection `<domain>/<ns>/<repo>`. `domain` must be this DTR's host, as a GUN names
 * the registry the tag was pushed to. PUT /dtr-sim/notary/{ns}/{repo}/{tag} {"domain": "<dtrHost>"}, admin.
 */
export async function standInSign(ctx: MetadataContext, req: Req, res: Res, parts: string[]): Promise<void> {
    const [ns, repo, tag] = parts;
    const doc = ctx.doc();
    const body = ((await ctx.readBody(req)) ?? {}) as { domain?: unknown };
    const host = dtrHostOf(doc.externalUrl);
    if (body.domain !== host)
        throw new UserError(`body.domain must be this DTR's host ${host} (the GUN's registry), got ${JSON.stringify(body.domain)}`);
    const digest = findRepo(doc, ns, repo) ? await ctx.tagDigest(ns, repo, tag) : undefined;
    if (!digest) return ctx.apiError(res, 404, "NO_SUCH_TAG", `${ns}/${repo}:${tag} does not exist`);
    await ctx.write({ op: "signTag", trust: { gun: gunOf(host, ns, repo), tag, digest, signedAt: new Date().toISOString() } });
    ctx.send(res, 200, { gun: gunOf(host, ns, repo), tag, digest });
}

// The storage test DTR runs before it accepts S3 settings: a write, read and delete with the given credentials.
// Evidence: DTR's own handler test (dhe-deploy adminserver, TestUpdateRegistrySettingsViaFormHandler: "we should get
// invalid access key when we test write/read"; 400 with "InvalidAccessKeyId" in the body) and
// ee/dtr/admin/configure/external-storage/s3.md ("Once you click Save, DTR validates the configurations").
// Signed with AWS Signature Version 4 (node:crypto only: the image carries no SDK).
import http from "node:http";
import https from "node:https";
import { createHash, createHmac, randomBytes } from "node:crypto";

const sha256 = (b: string | Buffer) => createHash("sha256").update(b).digest("hex");
const hmac = (k: string | Buffer, s: string) => createHmac("sha256", k).update(s).digest();

/** RFC 3986 encoding of one path segment, as SigV4's canonical URI wants it. */
export function encodeSegment(s: string): string {
    return encodeURIComponent(s).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}

export interface SignInput {
    method: string;
    /** Canonical (already encoded) path, e.g. /bucket/key. */
    path: string;
    /** Header names in any case; host and x-amz-date must be among them. */
    headers: Record<string, string>;
    payloadHash: string;
    region: string;
    accessKey: string;
    secretKey: string;
}

/** The Authorization header value (AWS Signature Version 4, service s3, no query string). */
export function signV4(i: SignInput): string {
    const h = Object.fromEntries(Object.entries(i.headers).map(([k, v]) => [k.toLowerCase(), v.trim().replace(/\s+/g, " ")]));
    h["x-amz-content-sha256"] = i.payloadHash;
    const names = Object.keys(h).sort();
    const amzDate = h["x-amz-date"];
    const day = amzDate.slice(0, 8);
    const canonical = [i.method, i.path, "", ...names.map((n) => `${n}:${h[n]}`), "", names.join(";"), i.payloadHash].join("\n");
    const scope = `${day}/${i.region}/s3/aws4_request`;
    const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonical)].join("\n");
    const key = hmac(hmac(hmac(hmac("AWS4" + i.secretKey, day), i.region), "s3"), "aws4_request");
    const sig = createHmac("sha256", key).update(toSign).digest("hex");
    return `AWS4-HMAC-SHA256 Credential=${i.accessKey}/${scope},SignedHeaders=${names.join(";")},Signature=${sig}`;
}

export type S3Config = Record<string, unknown>;

export interface CheckResult {
    ok: boolean;
    /** What failed, e.g. `PUT .../dtr-sim-storage-check/x: 403 InvalidAccessKeyId: The Access Key Id ... does not exist`. */
    error?: string;
}

interface Reply {
    status: number;
    body: Buffer;
}

function send(url: URL, method: string, headers: Record<string, string>, body: Buffer, skipVerify: boolean): Promise<Reply> {
    return new Promise((resolve, reject) => {
        const mod = url.protocol === "https:" ? https : http;
        const req = mod.request(
            url,
            { method, headers, timeout: 10000, agent: false, ...(url.protocol === "https:" ? { rejectUnauthorized: !skipVerify } : {}) },
            (res) => {
                const chunks: Buffer[] = [];
                res.on("data", (c: Buffer) => chunks.push(c));
                res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
            },
        );
        req.on("timeout", () => req.destroy(new Error("timed out after 10 s")));
        req.on("error", reject);
        req.end(body);
    });
}

function s3Error(r: Reply): string {
    const text = r.body.toString("utf8");
    const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
    const msg = /<Message>([^<]*)<\/Message>/.exec(text)?.[1];
    return `${r.status}${code ? " " + code : ""}${msg ? ": " + msg : text && !code ? ": " + text.slice(0, 200) : ""}`;
}

/**
 * Writes, reads back and deletes a small object under the settings' root directory, as the registry's s3 driver
 * would address it: path style when `regionendpoint` is set or `forcepathstyle` is true (registry/storage-drivers/s3.md),
 * else virtual-host style at s3.<region>.amazonaws.com; http when `secure` is false. Without keys the requests go
 * unsigned (dtr-sim has no instance role to fall back on), which a real bucket refuses.
 */
export async function s3TestWrite(c: S3Config, now = new Date()): Promise<CheckResult> {
    const region = String(c.region);
    const bucket = String(c.bucket);
    const secure = c.secure !== false;
    const endpoint = typeof c.regionendpoint === "string" && c.regionendpoint ? c.regionendpoint : undefined;
    const pathStyle = !!endpoint || c.forcepathstyle === true;
    const base = new URL(endpoint ?? `${secure ? "https" : "http"}://${pathStyle ? "" : bucket + "."}s3.${region}.amazonaws.com`);
    const root = String(c.rootdirectory ?? "").replace(/^\/+|\/+$/g, "");
    const key = [root, "dtr-sim-storage-check", randomBytes(8).toString("hex")].filter(Boolean).join("/");
    const objPath = (pathStyle ? [bucket, ...key.split("/")] : key.split("/")).map(encodeSegment).join("/");
    const basePath = base.pathname.replace(/\/+$/, "");
    const url = new URL(base.origin + basePath + "/" + objPath);
    const payload = Buffer.from(`dtr-sim storage check ${now.toISOString()}\n`);
    const call = async (method: string, body: Buffer): Promise<Reply> => {
        const amzDate = now
            .toISOString()
            .replace(/[-:]/g, "")
            .replace(/\.\d{3}/, "");
        const headers: Record<string, string> = { host: url.host, "x-amz-date": amzDate };
        if (typeof c.sessiontoken === "string" && c.sessiontoken) headers["x-amz-security-token"] = c.sessiontoken;
        const payloadHash = sha256(body);
        if (typeof c.accesskey === "string" && c.accesskey && typeof c.secretkey === "string" && c.secretkey) {
            headers.authorization = signV4({
                method,
                path: url.pathname,
                headers: { ...headers },
                payloadHash,
                region,
                accessKey: c.accesskey,
                secretKey: c.secretkey,
            });
        }
        headers["x-amz-content-sha256"] = payloadHash;
        if (body.length) headers["content-length"] = String(body.length);
        return send(url, method, headers, body, c.skipverify === true);
    };
    const where = `s3://${bucket}/${key} via ${base.origin}`;
    try {
        const put = await call("PUT", payload);
        if (put.status !== 200) return { ok: false, error: `PUT ${where}: ${s3Error(put)}` };
        const get = await call("GET", Buffer.alloc(0));
        if (get.status !== 200) return { ok: false, error: `GET ${where}: ${s3Error(get)}` };
        if (!get.body.equals(payload)) return { ok: false, error: `GET ${where}: read back other content than was written` };
        const del = await call("DELETE", Buffer.alloc(0));
        if (del.status !== 204 && del.status !== 200) return { ok: false, error: `DELETE ${where}: ${s3Error(del)}` };
        return { ok: true };
    } catch (e) {
        return { ok: false, error: `${where}: ${(e as Error).message}` };
    }
}

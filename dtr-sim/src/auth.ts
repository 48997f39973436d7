// Admin credentials: there is no UCP, so the ones given at install become the simulated API's admin.
// Only a scrypt hash is stored, never the password.
import { randomBytes, scryptSync, timingSafeEqual, createHmac } from "node:crypto";

export interface AdminCredential {
    username: string;
    salt: string; // base64
    hash: string; // base64
    N: number;
    r: number;
    p: number;
}

export function hashAdmin(username: string, password: string): AdminCredential {
    const salt = randomBytes(16);
    const N = 16384,
        r = 8,
        p = 1;
    const hash = scryptSync(password, salt, 32, { N, r, p });
    return { username, salt: salt.toString("base64"), hash: hash.toString("base64"), N, r, p };
}

export function verifyAdmin(cred: AdminCredential, username: string, password: string): boolean {
    if (username !== cred.username) return false;
    const h = scryptSync(password, Buffer.from(cred.salt, "base64"), 32, { N: cred.N, r: cred.r, p: cred.p });
    return timingSafeEqual(h, Buffer.from(cred.hash, "base64"));
}

/** Caches successful checks (keyed by an HMAC with a per-process key) so a docker push is not 100 scrypts. */
export class CredentialCache {
    private key = randomBytes(32);
    private ok = new Map<string, string>();
    check(cred: AdminCredential, username: string, password: string): boolean {
        const k = createHmac("sha256", this.key).update(`${username}\0${password}`).digest("base64");
        if (this.ok.get(k) === cred.hash) return true;
        const good = verifyAdmin(cred, username, password);
        if (good) this.ok.set(k, cred.hash);
        return good;
    }
}

export function parseBasic(header: string | undefined): { username: string; password: string } | undefined {
    if (!header || !header.startsWith("Basic ")) return undefined;
    const raw = Buffer.from(header.slice(6), "base64").toString("utf8");
    const i = raw.indexOf(":");
    if (i < 0) return undefined;
    return { username: raw.slice(0, i), password: raw.slice(i + 1) };
}

export function basicHeader(username: string, password: string): string {
    return "Basic " + Buffer.from(`${username}:${password}`).toString("base64");
}

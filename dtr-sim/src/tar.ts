// Minimal POSIX ustar writer/reader: enough for backups and for docker's archive API, without a dependency.

export interface TarEntry {
    name: string;
    data: Buffer;
    mode?: number;
    type?: "file" | "dir";
}

function writeString(buf: Buffer, off: number, len: number, s: string): void {
    const b = Buffer.from(s, "utf8");
    if (b.length > len) throw new Error(`tar: field too long: ${s}`);
    b.copy(buf, off);
}

function writeOctal(buf: Buffer, off: number, len: number, n: number): void {
    writeString(buf, off, len, n.toString(8).padStart(len - 1, "0") + "\0");
}

function splitName(name: string): { name: string; prefix: string } {
    if (Buffer.byteLength(name) <= 100) return { name, prefix: "" };
    const cut = name.lastIndexOf("/", 155);
    if (cut <= 0 || Buffer.byteLength(name.slice(cut + 1)) > 100) throw new Error(`tar: name too long: ${name}`);
    return { name: name.slice(cut + 1), prefix: name.slice(0, cut) };
}

export function header(e: TarEntry, mtime: number): Buffer {
    const h = Buffer.alloc(512);
    const isDir = e.type === "dir";
    const { name, prefix } = splitName(isDir && !e.name.endsWith("/") ? e.name + "/" : e.name);
    writeString(h, 0, 100, name);
    writeOctal(h, 100, 8, e.mode ?? (isDir ? 0o755 : 0o644));
    writeOctal(h, 108, 8, 0);
    writeOctal(h, 116, 8, 0);
    writeOctal(h, 124, 12, isDir ? 0 : e.data.length);
    writeOctal(h, 136, 12, mtime);
    h.fill(" ", 148, 156); // checksum is computed with its own field as spaces
    h[156] = isDir ? "5".charCodeAt(0) : "0".charCodeAt(0);
    writeString(h, 257, 6, "ustar\0");
    writeString(h, 263, 2, "00");
    writeString(h, 265, 32, "root");
    writeString(h, 297, 32, "root");
    writeString(h, 345, 155, prefix);
    let sum = 0;
    for (const byte of h) sum += byte;
    writeString(h, 148, 8, sum.toString(8).padStart(6, "0") + "\0 ");
    return h;
}

export function pack(entries: TarEntry[], mtime = Math.floor(Date.now() / 1000)): Buffer {
    const parts: Buffer[] = [];
    for (const e of entries) {
        parts.push(header(e, mtime));
        if (e.type !== "dir") {
            parts.push(e.data);
            const pad = (512 - (e.data.length % 512)) % 512;
            if (pad) parts.push(Buffer.alloc(pad));
        }
    }
    parts.push(Buffer.alloc(1024));
    return Buffer.concat(parts);
}

function readString(buf: Buffer, off: number, len: number): string {
    const slice = buf.subarray(off, off + len);
    const nul = slice.indexOf(0);
    return slice.subarray(0, nul >= 0 ? nul : len).toString("utf8");
}

function readOctal(buf: Buffer, off: number, len: number): number {
    const s = readString(buf, off, len).trim();
    return s ? parseInt(s, 8) : 0;
}

export function unpack(buf: Buffer): TarEntry[] {
    const out: TarEntry[] = [];
    let off = 0;
    let longName: string | undefined;
    while (off + 512 <= buf.length) {
        const h = buf.subarray(off, off + 512);
        if (h.every((b) => b === 0)) break;
        let sum = 0;
        for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i];
        const stored = readOctal(h, 148, 8);
        if (stored !== sum) throw new Error(`tar: bad header checksum at offset ${off} (not a tar archive?)`);
        const size = readOctal(h, 124, 12);
        const type = String.fromCharCode(h[156] || 48);
        const prefix = readString(h, 345, 155);
        let name = prefix ? `${prefix}/${readString(h, 0, 100)}` : readString(h, 0, 100);
        const dataStart = off + 512;
        if (dataStart + size > buf.length) throw new Error(`tar: truncated archive (entry ${name} needs ${size} bytes)`);
        const data = Buffer.from(buf.subarray(dataStart, dataStart + size));
        off = dataStart + Math.ceil(size / 512) * 512;
        if (type === "L") {
            longName = readString(data, 0, data.length);
            continue;
        }
        if (type === "x") {
            const m = /\d+ path=([^\n]*)\n/.exec(data.toString("utf8"));
            if (m) longName = m[1];
            continue;
        }
        if (type === "g") continue;
        if (longName) {
            name = longName;
            longName = undefined;
        }
        if (type === "5") out.push({ name, data: Buffer.alloc(0), type: "dir", mode: readOctal(h, 100, 8) });
        else if (type === "0" || type === "7") out.push({ name, data, type: "file", mode: readOctal(h, 100, 8) });
    }
    return out;
}

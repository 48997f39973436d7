// The DTR version this build claims. The image build writes /app/version.json from dtr-sim/VERSION
// (or env DTR_SIM_VERSION); running from the source tree falls back to that file.
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";

let cached: string | undefined;
export function dtrVersion(): string {
    if (cached) return cached;
    const candidates = [join(__dirname, "..", "version.json"), join(__dirname, "..", "..", "version.json")];
    for (const c of candidates) {
        if (existsSync(c)) return (cached = (JSON.parse(readFileSync(c, "utf8")) as { version: string }).version);
    }
    for (const c of [join(__dirname, "..", "VERSION"), join(__dirname, "..", "..", "VERSION")]) {
        if (existsSync(c)) return (cached = readFileSync(c, "utf8").trim());
    }
    throw new Error("dtr-sim: no version.json or VERSION file next to the program");
}

export function parseSemver(v: string): [number, number, number] {
    const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v);
    if (!m) throw new Error(`not a version: '${v}' (want MAJOR.MINOR.PATCH)`);
    return [Number(m[1]), Number(m[2]), Number(m[3])];
}

export function compareSemver(a: string, b: string): number {
    const x = parseSemver(a),
        y = parseSemver(b);
    for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] - y[i];
    return 0;
}

/** DTR upgrades one minor version at a time and never downgrades (upgrade docs). */
export function checkUpgrade(from: string, to: string): string | undefined {
    const [fM, fm] = parseSemver(from);
    const [tM, tm] = parseSemver(to);
    if (compareSemver(to, from) < 0) return `cannot downgrade from ${from} to ${to}`;
    if (tM !== fM || tm > fm + 1) return `cannot upgrade from ${from} to ${to}: DTR upgrades one minor version at a time`;
    return undefined;
}

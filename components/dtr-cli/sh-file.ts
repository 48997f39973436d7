/**
 * The host scripts kept as real `.sh` files beside their builders (`components/<layer>/sh/`, shellchecked by
 * `npm run lint:sh`, run by dash in the tests). tsc does not copy them into bin/, so a compiled module finds them at the
 * package root; run from the sources, beside itself.
 */
import * as fs from "fs";
import * as path from "path";

const cache = new Map<string, string>();

/** The text of `components/<layer>/sh/<name>`, for a module in `components/<layer>/` (its `__dirname` as `moduleDir`). */
export function shFile(moduleDir: string, name: string): string {
    const layer = path.basename(moduleDir);
    const candidates = [path.join(moduleDir, "sh", name), path.join(moduleDir, "..", "..", "..", "components", layer, "sh", name)];
    for (const file of candidates) {
        const cached = cache.get(file);
        if (cached !== undefined) return cached;
        if (fs.existsSync(file)) {
            const text = fs.readFileSync(file, "utf8");
            cache.set(file, text);
            return text;
        }
    }
    throw new Error(`internal: ${name} not found in ${candidates.join(" or ")}: the package's components/${layer}/sh is missing`);
}

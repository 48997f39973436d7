// Turns the policy SDK's view of a resource into the plain StackResource the rules take.
// The SDK hands properties behind a proxy that throws on the first unknown value it meets, which
// would skip a whole stack check (downgraded to advisory) because of one unknown field. Reading the
// proxy's target and marking unknowns ourselves lets each rule skip only the check that needs them.
import { PolicyResource } from "@pulumi/policy";
import { StackResource, UNKNOWN } from "./model";

/** Property name the SDK's proxy answers with its raw target (@pulumi/policy proxy.ts). */
const PROXY_TARGET = "__getSpecialProxyTarget";

/** The engine's sentinels for unknown values, one per type (@pulumi/policy proxy.ts). */
export const UNKNOWN_SENTINELS = new Set([
    "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7", // boolean
    "3eeb2bf0-c639-47a8-9e75-3b44932eb421", // number
    "04da6b54-80e4-46f7-96ec-b56ff0331ba9", // string (also the generic unknown)
    "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2", // array
    "030794c1-ac77-496b-92df-f27374a8bd58", // asset
    "e48ece36-62e2-4504-bad9-02848725956a", // archive
    "dd056dcd-154b-4c76-9bd3-c8f88648b5ff", // object
]);

export function unwrap(value: unknown): unknown {
    if (value !== null && typeof value === "object") {
        const target = (value as Record<string, unknown>)[PROXY_TARGET];
        if (target !== undefined) return unwrap(target);
    }
    return value;
}

/** Deep copy with every unknown sentinel replaced by UNKNOWN. */
export function markUnknowns(value: unknown): unknown {
    value = unwrap(value);
    if (typeof value === "string") return UNKNOWN_SENTINELS.has(value) ? UNKNOWN : value;
    if (Array.isArray(value)) return value.map(markUnknowns);
    if (value !== null && typeof value === "object") {
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(value)) out[k] = markUnknowns(v);
        return out;
    }
    return value;
}

export function toStackResource(r: PolicyResource): StackResource {
    const propertyDependencies: Record<string, string[]> = {};
    for (const [k, deps] of Object.entries(r.propertyDependencies ?? {})) {
        propertyDependencies[k] = deps.map((d) => d.urn);
    }
    return {
        urn: r.urn,
        type: r.type,
        name: r.name,
        props: markUnknowns(r.props) as Record<string, unknown>,
        parent: r.parent?.urn,
        dependencies: (r.dependencies ?? []).map((d) => d.urn),
        propertyDependencies,
    };
}

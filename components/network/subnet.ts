/**
 * IPv4 CIDR arithmetic for choosing the `dtr-ol` subnet. DTR's installer creates `dtr-ol` with `--overlay-subnet`;
 * a subnet that overlaps the VPC, the hosts' own networks or a Docker address pool gives routes that silently
 * shadow each other, so it is checked before anything is declared.
 */

export interface Cidr {
    /** The network address as an unsigned 32-bit number. */
    network: number;
    prefix: number;
    /** The CIDR as written, normalised (`10.1.0.0/24`). */
    text: string;
}

/** Docker's built-in pools: bridge networks (`default-address-pools`) and swarm overlays (`--default-addr-pool`). */
export const DOCKER_DEFAULT_POOLS: readonly string[] = [
    "172.17.0.0/16",
    "172.18.0.0/15",
    "172.20.0.0/14",
    "172.24.0.0/13",
    "192.168.0.0/16",
    "10.0.0.0/8",
];

/** RFC 1918 private ranges. */
export const PRIVATE_RANGES: readonly string[] = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];

function ipToNumber(ip: string): number | undefined {
    const parts = ip.split(".");
    if (parts.length !== 4) return undefined;
    let n = 0;
    for (const p of parts) {
        if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) return undefined;
        n = n * 256 + Number(p);
    }
    return n;
}

function numberToIp(n: number): string {
    return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

/** Parses `a.b.c.d/n`; returns an error string instead when it is not a valid network address. */
export function parseCidr(text: string): Cidr | string {
    const m = /^([0-9.]+)\/([0-9]{1,2})$/.exec(text.trim());
    if (!m) return `"${text}" is not an IPv4 CIDR such as 10.1.0.0/24`;
    const ip = ipToNumber(m[1]);
    const prefix = Number(m[2]);
    if (ip === undefined) return `"${m[1]}" is not an IPv4 address`;
    if (prefix > 32) return `prefix /${prefix} is longer than 32`;
    const size = 2 ** (32 - prefix);
    if (ip % size !== 0) {
        const network = ip - (ip % size);
        return `"${text}" has host bits set; the network is ${numberToIp(network)}/${prefix}`;
    }
    return { network: ip, prefix, text: `${numberToIp(ip)}/${prefix}` };
}

export function mustParseCidr(text: string): Cidr {
    const c = parseCidr(text);
    if (typeof c === "string") throw new Error(c);
    return c;
}

function lastAddress(c: Cidr): number {
    return c.network + 2 ** (32 - c.prefix) - 1;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
    return a.network <= lastAddress(b) && b.network <= lastAddress(a);
}

export function cidrContains(outer: Cidr, inner: Cidr): boolean {
    return outer.network <= inner.network && lastAddress(inner) <= lastAddress(outer);
}

export function isPrivateCidr(c: Cidr): boolean {
    return PRIVATE_RANGES.map(mustParseCidr).some((r) => cidrContains(r, c));
}

export interface OverlaySubnetContext {
    /** The VPC's CIDR blocks (AWS hosts). */
    vpcCidrs?: string[];
    /** Networks the hosts sit on (existing hosts), e.g. `10.200.0.0/24`. */
    hostNetworks?: string[];
    /** The Docker address pools in force on the hosts; defaults to Docker's built-in ones. */
    dockerPools?: readonly string[];
}

/**
 * Every reason `subnet` is not a safe `dtr-ol` subnet, as sentences naming the clash and the fix; empty when it is.
 * The context's own CIDRs are checked too, since a typo there would make the check meaningless.
 */
export function overlaySubnetProblems(subnet: string, ctx: OverlaySubnetContext): string[] {
    const parsed = parseCidr(subnet);
    if (typeof parsed === "string") return [parsed];
    const problems: string[] = [];
    if (!isPrivateCidr(parsed)) {
        problems.push(`${parsed.text} is not in a private range (${PRIVATE_RANGES.join(", ")})`);
    }
    if (parsed.prefix > 27) {
        problems.push(`${parsed.text} leaves too few addresses for DTR's containers; use a /27 or larger (e.g. /24)`);
    }
    const groups: [string, readonly string[]][] = [
        ["the VPC", ctx.vpcCidrs ?? []],
        ["a host network", ctx.hostNetworks ?? []],
        ["a Docker address pool", ctx.dockerPools ?? DOCKER_DEFAULT_POOLS],
    ];
    for (const [what, cidrs] of groups) {
        for (const text of cidrs) {
            const other = parseCidr(text);
            if (typeof other === "string") {
                problems.push(`${what} is given as ${JSON.stringify(text)}: ${other}`);
            } else if (cidrsOverlap(parsed, other)) {
                problems.push(`${parsed.text} overlaps ${what} ${other.text}`);
            }
        }
    }
    return problems;
}

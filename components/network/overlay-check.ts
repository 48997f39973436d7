/**
 * Who owns `dtr-ol`: DTR does. Its installer creates the network from `--overlay-subnet` and joins attach to it
 * (docker/docs dtr architecture and install reference); whether install accepts a network that already exists is not
 * documented, and `destroy` leaves it behind. So the library does not declare it as a `@pulumi/docker` Network: that
 * would either race the installer or, on `pulumi destroy`, delete a network live replicas use. It only reads it back,
 * over the same SSH connection the commands use (a docker provider per host would need its own SSH setup and trust),
 * and the install resource's delete removes it after `destroy`, as Mirantis Launchpad does.
 *
 * The check run on every replica after install: `dtr-ol` exists there as an attachable overlay with the declared
 * subnet. The script exits non-zero with a readable reason, so the deployment stops at the replica that is wrong.
 */
import { shellQuote } from "../dtr-cli/shell";
import { mustParseCidr } from "./subnet";

export const OVERLAY_NETWORK_NAME = "dtr-ol";

const FORMAT = "{{.Driver}} {{.Attachable}} {{range .IPAM.Config}}{{.Subnet}} {{end}}";

export interface OverlayFacts {
    driver: string;
    attachable: boolean;
    subnets: string[];
}

/** Parses the one line the check script prints (`overlay true 10.1.0.0/24`). */
export function parseOverlayFacts(line: string): OverlayFacts {
    const [driver = "", attachable = "", ...subnets] = line.trim().split(/\s+/);
    return { driver, attachable: attachable === "true", subnets: subnets.filter((s) => s.length > 0) };
}

/** What is wrong with `dtr-ol` as seen on one host; empty when it is as declared. */
export function overlayProblems(facts: OverlayFacts, expectedSubnet?: string): string[] {
    const problems: string[] = [];
    if (facts.driver !== "overlay") problems.push(`driver is "${facts.driver}", expected "overlay"`);
    if (!facts.attachable) problems.push("it is not attachable; DTR's containers attach to it directly");
    if (expectedSubnet) {
        const want = mustParseCidr(expectedSubnet).text;
        if (!facts.subnets.includes(want)) {
            problems.push(`subnet is ${facts.subnets.join(",") || "(none)"}, expected ${want} (--overlay-subnet)`);
        }
    }
    return problems;
}

/** A POSIX sh script that prints the facts line and fails with the reason when `dtr-ol` is not as declared. */
export function overlayCheckScript(expectedSubnet?: string): string {
    const want = expectedSubnet ? mustParseCidr(expectedSubnet).text : "";
    return [
        "set -eu",
        `facts=$(docker network inspect ${OVERLAY_NETWORK_NAME} --format ${shellQuote(FORMAT)}) || {`,
        `  echo "${OVERLAY_NETWORK_NAME} is missing on $(hostname): DTR install/join did not create or attach it" >&2; exit 1; }`,
        'echo "$facts"',
        "set -- $facts",
        `[ "$1" = overlay ] || { echo "${OVERLAY_NETWORK_NAME} on $(hostname): driver is $1, expected overlay" >&2; exit 1; }`,
        `[ "$2" = true ] || { echo "${OVERLAY_NETWORK_NAME} on $(hostname): not attachable" >&2; exit 1; }`,
        want
            ? `case " $facts " in *" ${want} "*) ;; *) echo "${OVERLAY_NETWORK_NAME} on $(hostname): subnet is not ${want}: $facts" >&2; exit 1;; esac`
            : ":",
    ].join("\n");
}

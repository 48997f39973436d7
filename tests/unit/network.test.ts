import * as assert from "assert";
import { cidrsOverlap, mustParseCidr, overlaySubnetProblems, parseCidr } from "../../components/network/subnet";
import { overlayCheckScript, overlayProblems, parseOverlayFacts } from "../../components/network/overlay-check";

describe("CIDR arithmetic", () => {
    it("parses and normalises, and explains bad input", () => {
        assert.deepStrictEqual(mustParseCidr("10.1.0.0/24"), { network: 10 * 2 ** 24 + 65536, prefix: 24, text: "10.1.0.0/24" });
        assert.match(parseCidr("10.1.0.5/24") as string, /host bits set; the network is 10\.1\.0\.0\/24/);
        assert.match(parseCidr("10.1.0/24") as string, /not an IPv4 address/);
        assert.match(parseCidr("10.1.0.0/33") as string, /longer than 32/);
        assert.match(parseCidr("hello") as string, /not an IPv4 CIDR/);
    });
    it("detects overlap both ways", () => {
        const a = mustParseCidr("10.0.0.0/16");
        assert.ok(cidrsOverlap(a, mustParseCidr("10.0.5.0/24")));
        assert.ok(cidrsOverlap(mustParseCidr("10.0.5.0/24"), a));
        assert.ok(!cidrsOverlap(a, mustParseCidr("10.1.0.0/24")));
    });
});

describe("dtr-ol subnet choice", () => {
    it("accepts a private subnet clear of the VPC, hosts and Docker's default pools", () => {
        assert.deepStrictEqual(overlaySubnetProblems("172.16.240.0/24", { vpcCidrs: ["10.0.0.0/16"] }), []);
    });
    it("names each clash", () => {
        const p = overlaySubnetProblems("10.0.3.0/24", { vpcCidrs: ["10.0.0.0/16"], hostNetworks: ["10.0.3.0/25"] });
        assert.ok(p.some((x) => /overlaps the VPC 10\.0\.0\.0\/16/.test(x)));
        assert.ok(p.some((x) => /overlaps a host network 10\.0\.3\.0\/25/.test(x)));
        assert.ok(p.some((x) => /overlaps a Docker address pool 10\.0\.0\.0\/8/.test(x)));
        assert.ok(overlaySubnetProblems("172.17.5.0/24", {}).some((x) => /Docker address pool 172\.17\.0\.0\/16/.test(x)));
        assert.ok(overlaySubnetProblems("8.8.8.0/24", {}).some((x) => /not in a private range/.test(x)));
        assert.ok(overlaySubnetProblems("172.16.0.0/29", {}).some((x) => /too few addresses/.test(x)));
    });
    it("uses the pools the hosts really have when given", () => {
        assert.deepStrictEqual(
            overlaySubnetProblems("10.200.64.0/24", { dockerPools: ["10.200.128.0/17"], hostNetworks: ["10.200.0.0/24"] }),
            [],
        );
    });
});

describe("dtr-ol check on a replica", () => {
    it("parses docker's answer and finds what differs", () => {
        const facts = parseOverlayFacts("overlay true 172.16.240.0/24 \n");
        assert.deepStrictEqual(facts, { driver: "overlay", attachable: true, subnets: ["172.16.240.0/24"] });
        assert.deepStrictEqual(overlayProblems(facts, "172.16.240.0/24"), []);
        const bad = overlayProblems(parseOverlayFacts("bridge false 10.9.0.0/24"), "172.16.240.0/24");
        assert.strictEqual(bad.length, 3);
        assert.match(bad[2], /subnet is 10\.9\.0\.0\/24, expected 172\.16\.240\.0\/24/);
    });
    it("builds a script that checks driver, attachable and subnet", () => {
        const s = overlayCheckScript("172.16.240.0/24");
        assert.match(s, /docker network inspect dtr-ol --format '\{\{\.Driver\}\} \{\{\.Attachable\}\}/);
        assert.match(s, /\*" 172\.16\.240\.0\/24 "\*/);
    });
});

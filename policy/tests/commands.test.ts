import * as assert from "node:assert/strict";
import { TYPES, UNKNOWN, checkUnsafeFlags, isProductionStack, unsafeFlagsIn } from "../rules";
import { cluster, res } from "./fixtures";

const JOIN = "docker run -i --rm mirantis/dtr:2.9.16 join --ucp-node dtr-2 --existing-replica-id a1b2c3d4e5f6";
const cmd = (stack: string, props: Record<string, unknown>, name = "join-2") => res(TYPES.remoteCommand, name, props, {}, stack);

describe("dtr-no-unsafe-flags-in-production", () => {
    it("passes safe commands on a production stack", () => {
        const v = checkUnsafeFlags([cmd("prod", { create: `${JOIN} --ucp-ca "$UCP_CA"`, delete: "true" })], {});
        assert.deepEqual(v, []);
    });
    it("fails each unsafe flag in a production stack's commands, naming the command, field and fix", () => {
        const c = cmd("prod", {
            create: `${JOIN} --ucp-insecure-tls --skip-network-test`,
            update: `${JOIN} '--unsafe-join'`,
        });
        const v = checkUnsafeFlags([c], {});
        assert.equal(v.length, 3);
        assert.ok(v.every((x) => x.urn === c.urn));
        assert.match(
            v[0].message,
            /Command "join-2" \(urn:pulumi:prod::.*\) passes --ucp-insecure-tls in its create command on production stack "prod"/,
        );
        assert.match(v[0].message, /pass UCP's CA with --ucp-ca instead; remove --ucp-insecure-tls/);
        assert.match(v[1].message, /--skip-network-test in its create command/);
        assert.match(v[2].message, /--unsafe-join in its update command/);
    });
    it("names every command line of one resource that carries a flag in one violation", () => {
        const v = checkUnsafeFlags([cmd("prod", { create: `${JOIN} --ucp-insecure-tls`, delete: `x --ucp-insecure-tls` })], {});
        assert.equal(v.length, 1);
        assert.match(v[0].message, /passes --ucp-insecure-tls in its create and delete commands/);
    });
    it("allows the flags on stacks that are not production", () => {
        assert.deepEqual(checkUnsafeFlags([cmd("lab", { create: `${JOIN} --ucp-insecure-tls` })], {}), []);
    });
    it("uses the production flag and productionStacks patterns from policy config", () => {
        const labBad = [cmd("lab", { create: `${JOIN} --ucp-insecure-tls` })];
        assert.equal(checkUnsafeFlags(labBad, { production: true }).length, 1);
        assert.equal(checkUnsafeFlags(labBad, { productionStacks: ["la*"] }).length, 1);
        const prodBad = [cmd("prod", { create: `${JOIN} --ucp-insecure-tls` })];
        assert.equal(checkUnsafeFlags(prodBad, { production: false }).length, 0);
        assert.equal(isProductionStack("eu-prod", {}), true);
        assert.equal(isProductionStack("product-demo", {}), false);
    });
    it("treats a stack as production when its DtrCluster registers production: true", () => {
        const bad = cmd("eu-west", { create: `${JOIN} --skip-network-test` });
        assert.equal(checkUnsafeFlags([bad], {}).length, 0);
        const v = checkUnsafeFlags([cluster({ production: true }), bad], {});
        assert.equal(v.length, 1);
        assert.match(v[0].message, /on production stack "eu-west"/);
        assert.equal(checkUnsafeFlags([cluster({ production: true }), bad], { production: false }).length, 0);
    });
    it("skips only the unknown command line, still failing a known bad one", () => {
        const v = checkUnsafeFlags([cmd("prod", { create: UNKNOWN, delete: `${JOIN} --unsafe-join` })], {});
        assert.equal(v.length, 1);
        assert.match(v[0].message, /--unsafe-join in its delete command/);
    });
    it("finds flags bare, quoted and with a value, not as part of longer flags", () => {
        assert.deepEqual(unsafeFlagsIn("x --ucp-insecure-tls=true"), ["--ucp-insecure-tls"]);
        assert.deepEqual(unsafeFlagsIn(`x "--skip-network-test"`), ["--skip-network-test"]);
        assert.deepEqual(unsafeFlagsIn("x --unsafe-join-later --no-skip-network-test"), []);
    });
});

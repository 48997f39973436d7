/** recover's pre-pull on the replacement hosts (beside DTR's remove or repair): constant text, the image as data. */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PRE_PULL_SCRIPT } from "../../stacks/recover";
import { fakeHost } from "./fake-host";

describe("recover's pre-pull of DTR's image on a replacement host", () => {
    it("pulls exactly the reference it is given, as one value: shell text in it is never run", () => {
        const h = fakeHost();
        const marker = path.join(os.tmpdir(), `dtr-ha-pre-pull-${process.pid}`);
        try {
            const ref = `registry.example/docker/dtr:2.9.15; touch ${marker}`;
            const r = h.run(PRE_PULL_SCRIPT, { DTR_HA_IMAGE: ref });
            assert.strictEqual(r.code, 0, r.stderr);
            assert.deepStrictEqual(r.calls, [`pull ${ref}`]);
            assert.ok(!fs.existsSync(marker), "the value was not run as shell");
            const missing = h.run(PRE_PULL_SCRIPT, {});
            assert.notStrictEqual(missing.code, 0, "no reference: it fails instead of pulling something else");
            assert.deepStrictEqual(missing.calls, []);
        } finally {
            fs.rmSync(h.dir, { recursive: true, force: true });
            fs.rmSync(marker, { force: true });
        }
    });
});

/**
 * The AWS SDK's Node-version notice does not reach the terminal of the demo and the lab tools (lab/s3.ts mutes it
 * where the lab creates its S3 client), while other warnings still do. Run in child processes: a process warns once.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";

const REPO = path.join(__dirname, "..", "..", "..");
const OLD_NOTICE = "NodeDeprecationWarning: The AWS SDK for JavaScript (v3) will no longer support Node.js 16.x on January 6, 2025.";

function child(script: string): string {
    const env = { ...process.env };
    delete env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
    const r = spawnSync(process.execPath, ["-e", script], { cwd: REPO, env, encoding: "utf8" });
    assert.strictEqual(r.status, 0, r.stderr);
    return r.stderr;
}

describe("the AWS SDK's Node-version warning", () => {
    let dir: string;
    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "dtr-ha-sdkwarn-"));
        fs.writeFileSync(path.join(dir, "ak"), "AK\n");
        fs.writeFileSync(path.join(dir, "sk"), "SK\n");
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const status = () =>
        JSON.stringify({
            s3: {
                endpoint: "http://127.0.0.1:9",
                region: "us-east-1",
                accessKeyPath: path.join(dir, "ak"),
                secretKeyPath: path.join(dir, "sk"),
            },
        });

    it("is printed by the SDK on this Node without the lab's client (the check can see it)", () => {
        const err = child(`require("@aws-sdk/core").emitWarningIfUnsupportedVersion("v20.0.0")`);
        assert.match(err, /The AWS SDK for JavaScript \(v3\)/);
    });

    it("is not printed once the lab's S3 client exists (current and older SDK wording); other warnings are", () => {
        const err = child(
            [
                `require("./bin/lab/s3").labS3(${status()});`,
                `require("@aws-sdk/core").emitWarningIfUnsupportedVersion("v20.0.0");`,
                `process.emitWarning(${JSON.stringify(OLD_NOTICE)});`,
                `process.emitWarning("an unrelated warning stays visible");`,
                // Child processes (lab scripts, the tools the demo starts) get the SDK's own switch.
                `console.error("child env: " + process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED);`,
            ].join("\n"),
        );
        assert.doesNotMatch(err, /AWS SDK for JavaScript/);
        assert.match(err, /an unrelated warning stays visible/);
        assert.match(err, /child env: true/);
    });
});

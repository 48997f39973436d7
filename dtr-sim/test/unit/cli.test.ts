// The CLI refusals that come before any engine or replica is touched (so they run here without Docker).
import assert from "node:assert/strict";
import * as cli from "../../src/cli";
import { parseFlags } from "../../src/flags";

const ucp = ["--ucp-url", "https://ucp.example", "--ucp-username", "admin", "--ucp-insecure-tls"];
const env = { UCP_PASSWORD: "pw" };

describe("CLI refusals before any change", () => {
    // Should a refusal go missing, the command must still not reach a real engine from a unit test.
    let saved: string | undefined;
    before(() => {
        saved = process.env.DOCKER_HOST;
        process.env.DOCKER_HOST = "unix:///nonexistent/docker.sock";
    });
    after(() => {
        if (saved === undefined) delete process.env.DOCKER_HOST;
        else process.env.DOCKER_HOST = saved;
    });

    it("emergency-repair without --yes refuses before contacting anything (reference/dtr/2.7/cli/emergency-repair.md)", async () => {
        const f = parseFlags("emergency-repair", [...ucp, "--existing-replica-id", "aaaaaaaaaaaa"], { env, stdinIsTTY: false });
        await assert.rejects(cli.emergencyRepair(f), /emergency-repair: this command needs confirmation; pass --yes/);
    });

    it("remove refuses an --existing-replica-id among the removed before contacting anything (reference/dtr/2.7/cli/remove.md)", async () => {
        const f = parseFlags("remove", [...ucp, "--existing-replica-id", "aaaaaaaaaaaa", "--replica-ids", "aaaaaaaaaaaa"], {
            env,
            stdinIsTTY: false,
        });
        await assert.rejects(cli.remove(f), /is also among the replicas to remove/);
    });

    it("reconfigure refuses documented flags dtr-sim does not model instead of ignoring them (reference/dtr/2.7/cli/reconfigure.md)", async () => {
        const f = parseFlags("reconfigure", [...ucp, "--existing-replica-id", "aaaaaaaaaaaa", "--replica-https-port", "4443"], {
            env,
            stdinIsTTY: false,
        });
        await assert.rejects(
            cli.reconfigure(f),
            /dtr-sim's reconfigure does not implement --replica-https-port \(DTR's does\): nothing was changed/,
        );
    });
});

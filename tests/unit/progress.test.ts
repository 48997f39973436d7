/**
 * The progress lines of `up`/`destroy` (stacks/progress.ts), over engine events recorded from the real engine
 * (tests/unit/fixtures/engine-events.json: a program of command:local:Command resources through the command provider
 * stand-in; up with a warning and a failing step, up again with an update, destroy; debug diagnostics dropped).
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { Steps, engineEventLine, progressState } from "../../stacks/progress";

const recorded = JSON.parse(
    fs.readFileSync(path.join(__dirname, "..", "..", "..", "tests", "unit", "fixtures", "engine-events.json"), "utf8"),
) as Record<"up-1" | "up-2" | "destroy", EngineEvent[]>;

/** The lines for one run, with the events' own clock (whole seconds) as "now". */
function linesOf(events: EngineEvent[]): string[] {
    const state = progressState(events[0].timestamp * 1000);
    return events.map((e) => engineEventLine(e, state, e.timestamp * 1000)).filter((l): l is string => l !== undefined);
}

describe("progress: one line per resource from the engine's events", () => {
    it("up: each step as it starts and as it finishes or fails, with elapsed and step time; warnings and errors; nothing else", () => {
        assert.deepStrictEqual(linesOf(recorded["up-1"]), [
            "[   0.0s]   ▶ create  prog-install (local:Command)",
            "[   1.0s]   ✔ created prog-install (local:Command) in 1.0s",
            "[   1.0s]   ▶ create  prog-health (local:Command)",
            "[   1.0s]   ▶ create  prog-join-host2 (local:Command)",
            "[   1.0s]   ! warning prog-install: replica 8f18515a9de2 on host2 does not answer /_ping from here\n" +
                "              second line",
            `[   1.0s]   ! error prog-health: exit status 1: running "echo 'gate: 1 of 3 OK' >&2; exit 1":\n` +
                "              gate: 1 of 3 OK",
            "[   1.0s]   ✘ create FAILED prog-health (local:Command) in 0.0s",
            "[   2.0s]   ✔ created prog-join-host2 (local:Command) in 1.0s",
            "[   2.0s]   ! error: update failed",
        ]);
    });

    it("a later up shows only what changes; destroy shows each delete", () => {
        assert.deepStrictEqual(linesOf(recorded["up-2"]), [
            "[   0.0s]   ▶ update  prog-join-host2 (local:Command)",
            "[   0.0s]   ! warning prog-install: replica 8f18515a9de2 on host2 does not answer /_ping from here\n" +
                "              second line",
            "[   1.0s]   ✔ updated prog-join-host2 (local:Command) in 1.0s",
        ]);
        assert.deepStrictEqual(linesOf(recorded.destroy), [
            "[   0.0s]   ▶ delete  prog-join-host2 (local:Command)",
            "[   0.0s]   ✔ deleted prog-join-host2 (local:Command) in 0.0s",
            "[   0.0s]   ▶ delete  prog-install (local:Command)",
            "[   0.0s]   ✔ deleted prog-install (local:Command) in 0.0s",
        ]);
    });

    it("shortens a failed command's long first line (its whole script) and keeps the output's last lines", () => {
        const script = `set -eu\n${"x".repeat(400)}`;
        const e = {
            sequence: 1,
            timestamp: 0,
            diagnosticEvent: {
                urn: "urn:pulumi:lab::dtr-ha::command:remote:Command::lab-health",
                message: `exit status 1: running "${script.replace("\n", " ")}":\nline 1\nline 2\nline 3\nline 4\n`,
                color: "never",
                severity: "error",
            },
        } as EngineEvent;
        const l = engineEventLine(e, progressState(0), 0)!.split("\n");
        assert.strictEqual(l.length, 4);
        assert.ok(l[0].endsWith("..."), l[0]);
        assert.ok(l[0].length < 200, l[0]);
        assert.deepStrictEqual(
            l.slice(1).map((x) => x.trim()),
            ["line 2", "line 3", "line 4"],
        );
    });

    it("Steps.engineEvents prints through the steps' own output", () => {
        const out: string[] = [];
        const hook = new Steps((l) => out.push(l)).engineEvents();
        for (const e of recorded.destroy) hook(e);
        assert.strictEqual(out.length, 4);
        assert.match(out[1], /^\[\s+\d+\.\ds\] {3}✔ deleted prog-join-host2 \(local:Command\) in \d+\.\ds$/);
    });
});

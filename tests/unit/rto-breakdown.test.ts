/** Where a rebuild's RTO went (stacks/rto-breakdown.ts), on hand-made timelines in seconds. */
import * as assert from "assert";
import { isDtrStep, rtoBreakdown, rtoBreakdownLines } from "../../stacks/rto-breakdown";

const s = (step: string, from: number, to: number) => ({ step, startedAt: from * 1000, finishedAt: to * 1000 });

describe("rtoBreakdown", () => {
    it("names DTR's own steps: the restore, the install, each join, a removal and an emergency repair, nothing else", () => {
        for (const step of ["lab-restore", "lab-install", "lab-join-host2", "lab-remove-host2", "lab-emergency-repair"])
            assert.strictEqual(isDtrStep(step), true, step);
        for (const step of [
            "lab-restore-verify",
            "lab-restore-clear-host1",
            "lab-restore-check",
            "lab-storage",
            "lab-health",
            "lab-pull-host1",
        ])
            assert.strictEqual(isDtrStep(step), false, step);
    });

    it("splits a serial timeline into DTR, other steps and the rest", () => {
        // declared at 0, healthy at 40: verify 2-4, clear 4-5, restore 5-15, storage 15-16, joins 16-24 and 24-32, health 33-40.
        const b = rtoBreakdown(0, 40_000, [
            s("c-restore-verify", 2, 4),
            s("c-restore-clear-host1", 4, 5),
            s("c-restore", 5, 15),
            s("c-storage", 15, 16),
            s("c-join-host2", 16, 24),
            s("c-join-host3", 24, 32),
            s("c-health", 33, 40),
        ]);
        assert.deepStrictEqual(
            { rto: b.rtoSeconds, dtr: b.dtrSeconds, other: b.otherStepsSeconds, rest: b.overheadSeconds, ratio: b.ratio },
            { rto: 40, dtr: 26, other: 11, rest: 3, ratio: 1.54 },
        );
        assert.deepStrictEqual(b.others[0], { step: "c-health", seconds: 7 });
    });

    it("counts an other step only while no DTR step ran, and overlapping other steps once", () => {
        // pulls 0-10 on two hosts at once; the restore 5-15 overlaps them.
        const b = rtoBreakdown(0, 15_000, [s("c-pull-host1", 0, 10), s("c-pull-host2", 1, 9), s("c-restore", 5, 15)]);
        assert.strictEqual(b.dtrSeconds, 10);
        assert.strictEqual(b.otherStepsSeconds, 5);
        assert.strictEqual(b.overheadSeconds, 0);
        assert.strictEqual(b.ratio, 1.5);
    });

    it("leaves out what ran after the gate (the new backup) and before the declaration", () => {
        const b = rtoBreakdown(10_000, 30_000, [s("c-old", 0, 12), s("c-restore", 12, 28), s("c-backup", 29, 45)]);
        assert.strictEqual(b.rtoSeconds, 20);
        assert.strictEqual(b.dtrSeconds, 16);
        assert.strictEqual(b.otherStepsSeconds, 3); // c-old 10-12 and c-backup 29-30
        assert.deepStrictEqual(
            b.others.map((o) => o.step),
            ["c-old", "c-backup"],
        );
        assert.strictEqual(b.overheadSeconds, 1);
    });

    it("has no ratio when no DTR step ran, and refuses a gate before the declaration", () => {
        assert.strictEqual(rtoBreakdown(0, 5_000, [s("c-health", 0, 5)]).ratio, null);
        assert.throws(() => rtoBreakdown(5_000, 0, []), /healthyAt \(0\) is before declaredAt \(5000\)/);
    });

    it("prints one line a person can read, with the target", () => {
        const lines = rtoBreakdownLines(rtoBreakdown(0, 20_000, [s("c-restore", 0, 10), s("c-health", 10, 12)]));
        assert.match(
            lines[0],
            /RTO 20 s = DTR's own steps 10 s .* other steps while DTR was idle 2 s \+ tool and engine 8 s; RTO\/DTR 2 \(target <= 1\.10\)/,
        );
        assert.strictEqual(lines[1], "  other steps: c-health 2 s");
    });

    it("splits the overhead into the tool's part before the engine's up and the engine's after it", () => {
        // declared 0; the tool reads and verifies until 3, runs a DTR removal 3-5 itself, calls the up at 6; the up's
        // steps: join 8-14, health 15-16; healthy at 16. Overhead 16 - 8 (DTR) - 1 (health) = 7: tool 0-3 + 5-6 = 4, engine 3.
        const b = rtoBreakdown(0, 16_000, [s("c-remove-host2", 3, 5), s("c-join-host4", 8, 14), s("c-health", 15, 16)], 6_000);
        assert.deepStrictEqual(
            { dtr: b.dtrSeconds, other: b.otherStepsSeconds, rest: b.overheadSeconds, tool: b.toolSeconds, engine: b.engineSeconds },
            { dtr: 8, other: 1, rest: 7, tool: 4, engine: 3 },
        );
        assert.match(rtoBreakdownLines(b)[0], /\+ tool 4 s \+ engine 3 s; RTO\/DTR 2 /);
        assert.strictEqual(rtoBreakdown(0, 16_000, []).toolSeconds, null, "not split without the up's start");
        assert.throws(() => rtoBreakdown(0, 16_000, [], 17_000), /engineStartedAt \(17000\) is outside 0\.\.16000/);
    });
});

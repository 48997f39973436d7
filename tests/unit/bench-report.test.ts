/** `npm run bench`'s table of targets (stacks/bench-report.ts) and the RTO bench's medians (stacks/bench-rto.ts). */
import * as assert from "assert";
import { benchTargets, lastJson, parseUnitRuns, targetLines } from "../../stacks/bench-report";
import { summarize } from "../../stacks/bench-rto";

const scenario = (ratio: number) => ({
    rounds: 3,
    rtoMedianSeconds: 30,
    dtrSeconds: 20,
    otherStepsSeconds: 5,
    toolSeconds: 2,
    engineSeconds: 3,
    rtoToDtrRatio: ratio,
    engineFloorRatio: 1.15,
});

describe("bench report", () => {
    it("lists every target with its value; one not met names its measured limit", () => {
        const t = benchTargets(
            {
                targets: {
                    "backup pipeline / plain upload": { value: 1.02, target: ">= 0.95", met: true },
                    "restore pipeline / plain download": { value: 0.6, target: ">= 0.95", met: false, limit: "CPU: floor 0.7" },
                },
            },
            {
                rebuild: {
                    ...scenario(1.5),
                    steps: [
                        { step: "owners", medianSeconds: 0.7 },
                        { step: "restore-verify", medianSeconds: 1.5 },
                        { step: "network", medianSeconds: 0.3 },
                        { step: "health", medianSeconds: 0.4 },
                    ],
                    toolSteps: [
                        { step: "pulumi up in restore mode", medianSeconds: 25 },
                        { step: "create stack", medianSeconds: 1.9 },
                        { step: "remove 86af9e32fd69 through host1", medianSeconds: 12.4 },
                        { step: "emergency-repair on host1 (the most up-to-date survivor)", medianSeconds: 4 },
                    ],
                },
                class1: scenario(1.08),
            },
            [
                { wall: 20, user: 30, sys: 6 },
                { wall: 18, user: 28, sys: 6 },
                { wall: 22, user: 31, sys: 7 },
            ],
            2,
            {
                finishedAt: "2026-11-30T10:00:00Z",
                commit: "abc1234",
                seconds: 1800,
                passed: 760,
                failed: 0,
                suites: [
                    { suite: "lab", seconds: 30 },
                    { suite: "unit", seconds: 18 },
                    { suite: "lab", seconds: 1400 },
                ],
            },
        );
        const by = (n: string) => t.find((x) => x.name.startsWith(n))!;
        assert.deepStrictEqual(
            t.map((x) => [x.area, x.met]),
            [
                ["backup agent", true],
                ["backup agent", false],
                ["RTO", false],
                ["RTO", true],
                ["tests", false],
                ["tests", false],
            ],
        );
        assert.strictEqual(by("restore pipeline").limit, "CPU: floor 0.7");
        assert.match(by("rebuild").limit!, /DTR's 20 s: other steps 5 s .* tool 2 s, engine 3 s; the engine alone floors RTO\/DTR at 1.15/);
        assert.match(
            by("rebuild").limit!,
            /; longest other steps: restore-verify 1.5 s, owners 0.7 s, health 0.4 s; the tool's steps inside the RTO and out: create stack 1.9 s$/,
        );
        assert.strictEqual(by("class1").limit, undefined);
        const unit = by("unit suite");
        assert.strictEqual(unit.value, 20, "the median wall time");
        assert.match(unit.limit!, /36 CPU-s .* on 2 cores: at least 18 s even fully parallel/);
        const test = by("npm test");
        assert.strictEqual(test.value, 1800);
        assert.match(test.name, /2026-11-30T10:00:00Z, abc1234, 760 passed, 0 failed/);
        assert.match(test.limit!, /^by suite: lab 1430 s, unit 18 s$/, "suites of one name add up");
        const lines = targetLines(t).join("\n");
        assert.match(lines, /NOT MET {2}RTO +rebuild: RTO \/ DTR's own steps +1\.5 {2}\(target <= 1\.1\)\n +limit: beside/);
        assert.match(lines, /2 of 6 met$/);
    });

    it("meets the unit and test targets under their limits, and says when no npm test run is on record", () => {
        const t = benchTargets(undefined, undefined, [{ wall: 12, user: 20, sys: 2 }], 2, undefined);
        assert.deepStrictEqual(
            t.map((x) => [x.name.split(" (")[0].split(",")[0], x.met, x.limit]),
            [
                ["unit suite wall time", true, undefined],
                ["npm test", false, "no whole npm test run recorded on this machine yet (scripts/test.sh writes it under ~/.cache/dtr-ha)"],
            ],
        );
        const passing = benchTargets(undefined, undefined, [], 2, {
            finishedAt: "x",
            commit: "y",
            seconds: 1400,
            passed: 1,
            failed: 0,
            suites: [],
        });
        assert.strictEqual(passing[0].met, true);
        const failing = benchTargets(undefined, undefined, [], 2, {
            finishedAt: "x",
            commit: "y",
            seconds: 1400,
            passed: 1,
            failed: 1,
            suites: [],
        });
        assert.strictEqual(failing[0].met, false, "a run with a failure meets no time target");
    });

    it("reads the last JSON line of a bench's output, and refuses a timing line it cannot read", () => {
        assert.deepStrictEqual(lastJson('text\n{"a":1}\nmore text\n{"b":2}\n  \n'), { b: 2 });
        assert.strictEqual(lastJson("{not json\nnothing"), undefined);
        assert.deepStrictEqual(parseUnitRuns("19.5 30.1 5.2\n\n18.0 29 5\n"), [
            { wall: 19.5, user: 30.1, sys: 5.2 },
            { wall: 18, user: 29, sys: 5 },
        ]);
        assert.throws(() => parseUnitRuns("real 19.5"), /unit timing line "real 19.5": want "wall user sys"/);
    });

    it("the RTO bench's medians, and the floor the engine alone sets on RTO/DTR", () => {
        const round = (rto: number, dtr: number, engine: number) => ({
            install: 30,
            rto,
            rpo: 3,
            breakdown: {
                rtoSeconds: rto,
                dtrSeconds: dtr,
                otherStepsSeconds: 4,
                overheadSeconds: rto - dtr - 4,
                toolSeconds: 1,
                engineSeconds: engine,
                ratio: Number((rto / dtr).toFixed(2)),
                others: [],
            },
            steps: [{ step: "owners", seconds: rto / 10 }],
            toolSteps: [{ step: "verify it", seconds: rto / 20 }],
        });
        const s = summarize([round(30, 20, 2), round(28, 20, 3), round(40, 25, 4)]);
        assert.deepStrictEqual(
            { rto: s.rtoMedianSeconds, dtr: s.dtrSeconds, engine: s.engineSeconds, ratio: s.rtoToDtrRatio, floor: s.engineFloorRatio },
            { rto: 30, dtr: 20, engine: 3, ratio: 1.5, floor: 1.15 },
        );
        assert.deepStrictEqual(s.steps, [{ step: "owners", medianSeconds: 3 }]);
        assert.deepStrictEqual(s.toolSteps, [{ step: "verify it", medianSeconds: 1.5 }]);
    });
});

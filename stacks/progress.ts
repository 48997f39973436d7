/** Named steps with elapsed time, printed as they go and summed up at the end (and as JSON for machines). */
export interface StepRecord {
    step: string;
    seconds: number;
    ok: boolean;
    detail?: string;
}

export class Steps {
    readonly records: StepRecord[] = [];
    private readonly started = Date.now();

    constructor(private readonly out: (line: string) => void = (l) => process.stderr.write(`${l}\n`)) {}

    elapsed(): number {
        return (Date.now() - this.started) / 1000;
    }

    async run<T>(step: string, f: () => Promise<T>, detail?: (t: T) => string): Promise<T> {
        const t0 = Date.now();
        this.out(`[${this.elapsed().toFixed(1).padStart(6)}s] ▶ ${step}`);
        try {
            const value = await f();
            const seconds = (Date.now() - t0) / 1000;
            const d = detail?.(value);
            this.records.push({ step, seconds, ok: true, detail: d });
            this.out(`[${this.elapsed().toFixed(1).padStart(6)}s] ✔ ${step} (${seconds.toFixed(1)}s)${d ? `: ${d}` : ""}`);
            return value;
        } catch (e) {
            const seconds = (Date.now() - t0) / 1000;
            this.records.push({ step, seconds, ok: false, detail: (e as Error).message.split("\n")[0] });
            this.out(`[${this.elapsed().toFixed(1).padStart(6)}s] ✘ ${step} (${seconds.toFixed(1)}s): ${(e as Error).message}`);
            throw e;
        }
    }

    /** A table a person can read. */
    summary(title: string): string {
        const width = Math.max(...this.records.map((r) => r.step.length), 10);
        const lines = this.records.map(
            (r) => `  ${r.ok ? "✔" : "✘"} ${r.step.padEnd(width)}  ${r.seconds.toFixed(1).padStart(7)}s${r.detail ? `  ${r.detail}` : ""}`,
        );
        return [`${title} (${this.elapsed().toFixed(1)}s in all)`, ...lines].join("\n");
    }
}

// Peak RSS of this process. Linux's getrusage maxrss (process.resourceUsage().maxRSS) also counts the
// pre-exec copy of the parent that spawned us, so a child of a big parent (mocha, the bench) reports the
// parent's size. VmHWM belongs to this process's own address space, which exec starts afresh.
import { readFileSync } from "node:fs";

export function peakRssBytes(): number {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"));
    if (!m) throw new Error("no VmHWM in /proc/self/status");
    return Number(m[1]) * 1024;
}

/**
 * What `backup.schedule` and `backup.schedulePaths` accept: the calendar and cron checks, their conversions, and where
 * things go on a host. Plain functions of the configuration, apart from `./schedule` (the hosts' timers and scripts)
 * so that reading a stack's configuration (`../config/stack-config`, the operator CLIs) needs no Pulumi runtime.
 */

/** Config shape: exactly one of the two. */
export interface ScheduleSpec {
    /** A systemd calendar expression: `daily`, `hourly`, `*-*-* 02:30:00`, `Mon..Fri *-*-* 01:00`. */
    onCalendar?: string;
    /** A five-field cron expression: `30 2 * * *`. */
    cron?: string;
}

/** Both forms, where one converts to the other (a host uses the one its scheduler reads). */
export interface ResolvedSchedule {
    onCalendar?: string;
    cron?: string;
}

const SHORTHANDS: Record<string, string> = {
    minutely: "* * * * *",
    hourly: "0 * * * *",
    daily: "0 0 * * *",
    weekly: "0 0 * * 1",
    monthly: "0 0 1 * *",
    yearly: "0 0 1 1 *",
    annually: "0 0 1 1 *",
    quarterly: "0 0 1 1,4,7,10 *",
    semiannually: "0 0 1 1,7 *",
};
const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const DAY_NAMES = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];
/** The day index (0 = Sunday) of a weekday as systemd reads it: the English name or its first three letters, any case. */
function dayIndex(d: string): number {
    const l = d.toLowerCase();
    return DAY_NAMES.findIndex((n) => l === n || l === n.slice(0, 3));
}
/** Mon..Fri, Sat,Sun, Mon-Wed,Fri: names, lists and forward ranges (systemd refuses Fri..Mon). */
function weekdaysValid(w: string): boolean {
    return w.split(",").every((part) => {
        const r = part.split(/\.\.|-/);
        if (r.length > 2 || r.some((d) => dayIndex(d) < 0)) return false;
        // systemd orders Monday first, so Mon..Sun is a range and Sun..Mon is not.
        const order = (d: string) => (dayIndex(d) + 6) % 7;
        return r.length === 1 || order(r[0]) <= order(r[1]);
    });
}

/**
 * A time zone as systemd takes it at the end of a calendar expression: UTC (any case) or a tz database name spelt as
 * the database spells it (Europe/Berlin, America/Argentina/Buenos_Aires, Etc/GMT+5, EST). Node's ICU database stands in
 * for the host's /usr/share/zoneinfo.
 */
export function timeZoneValid(tz: string): boolean {
    if (/^utc$/i.test(tz)) return true;
    if (!/^[A-Z][A-Za-z0-9_+-]*(\/[A-Z0-9][A-Za-z0-9_+-]*)*$/.test(tz)) return false;
    try {
        new Intl.DateTimeFormat("en", { timeZone: tz });
        return true;
    } catch {
        return false;
    }
}

/** One systemd calendar component: `*`, `5`, `1,15`, `1..5`, `0/15`, `*\/2`, with values in [lo, hi]. */
function calendarField(v: string, lo: number, hi: number, step = true): boolean {
    return v.split(",").every((part) => {
        const m = /^(\*|\d+)(?:\.\.(\d+))?(?:\/(\d+))?$/.exec(part);
        if (!m) return false;
        const nums = [m[1], m[2]].filter((x) => x !== undefined && x !== "*").map(Number);
        if (nums.some((n) => n < lo || n > hi)) return false;
        if (m[2] !== undefined && m[1] !== "*" && Number(m[2]) < Number(m[1])) return false;
        return m[3] === undefined || (step && Number(m[3]) > 0);
    });
}

function calendarError(key: string, value: string, why: string): Error {
    return new Error(
        `${key}=${JSON.stringify(value)} is not a systemd calendar expression (${why}); use a shorthand (daily, hourly, weekly) ` +
            `or "[weekdays] *-*-* HH:MM[:SS] [time zone]", e.g. "*-*-* 02:30:00", "Mon..Fri *-*-* 01:00" or "daily UTC"`,
    );
}

/** An OnCalendar value taken apart: the forms `systemd-analyze calendar` accepts that people write for a schedule. */
export interface ParsedCalendar {
    /** The value, trimmed, with single spaces (what the timer gets); a shorthand in lower case. */
    text: string;
    /** daily, hourly, ... (lower case) when the value is one. */
    shorthand?: string;
    weekdays?: string;
    /** `fromEnd`: `~`, the day counted back from the month's end. */
    date?: { year: string; month: string; day: string; fromEnd: boolean };
    time?: { hour: string; minute: string; second: string };
    timeZone?: string;
}

/**
 * Parses a systemd OnCalendar value the way systemd does for these forms (cross-checked with `systemd-analyze calendar`
 * in the tests): an optional weekday list, an optional date ([YYYY-]MM-DD, or [YYYY-]MM~DD for days back from the
 * month's end), an optional time (HH:MM[:SS[.frac]]), or a shorthand (minutely ... annually); then an optional time
 * zone. A one-time `@epoch` timestamp is refused on purpose: it is not a schedule.
 */
export function parseOnCalendar(value: string, key = "backup.schedule.onCalendar"): ParsedCalendar {
    const v = value.trim().replace(/\s+/g, " ");
    if (!v) throw calendarError(key, value, "it is empty");
    if (/[\n;`$&|<>"'\\()]/.test(v)) throw calendarError(key, value, "it holds characters no calendar expression has");
    if (v.startsWith("@")) throw calendarError(key, value, "an @epoch timestamp fires once; a schedule repeats");
    const words = v.split(" ");
    const out: ParsedCalendar = { text: v };
    const last = words[words.length - 1];
    if (words.length > 1 && /^[A-Za-z]/.test(last) && !SHORTHANDS[last.toLowerCase()]) {
        if (!timeZoneValid(last))
            throw calendarError(key, value, `${JSON.stringify(last)} is not a time zone (UTC, or a tz name such as Europe/Berlin)`);
        out.timeZone = words.pop();
    }
    if (words.length === 1 && SHORTHANDS[words[0].toLowerCase()]) {
        out.shorthand = words[0].toLowerCase();
        out.text = [out.shorthand, out.timeZone].filter(Boolean).join(" ");
        return out;
    }
    if (/^[A-Za-z]/.test(words[0])) {
        if (!weekdaysValid(words[0]))
            throw calendarError(key, value, `${JSON.stringify(words[0])} is not a weekday list such as Mon..Fri or Sat,Sun`);
        out.weekdays = words.shift();
    }
    if (words.length > 2 || (words.length === 0 && !out.weekdays)) throw calendarError(key, value, "expected a date and/or a time");
    for (const w of words) {
        if (w.includes(":")) {
            if (out.time) throw calendarError(key, value, "two times");
            const t = w.split(":");
            if (t.length < 2 || t.length > 3) throw calendarError(key, value, `time ${JSON.stringify(w)} is not HH:MM[:SS]`);
            const sec = (t[2] ?? "00").replace(/\.\d{1,9}(?=$|\/)/, "");
            if (!calendarField(t[0], 0, 23) || !calendarField(t[1], 0, 59) || !calendarField(sec, 0, 59))
                throw calendarError(key, value, `time ${JSON.stringify(w)} has a field out of range`);
            out.time = { hour: t[0], minute: t[1], second: t[2] ?? "00" };
        } else {
            if (out.date || out.time) throw calendarError(key, value, "the date must come before the time, once");
            const m = /^(?:([^-~]+)-)?([^-~]+)([-~])([^-~]+)$/.exec(w);
            if (!m) throw calendarError(key, value, `date ${JSON.stringify(w)} is not [YYYY-]MM-DD or [YYYY-]MM~DD`);
            const [, year = "*", month, sep, day] = m;
            const fromEnd = sep === "~";
            const yearOk = calendarField(year, 1970, 2199) || calendarField(year, 0, 99);
            // systemd refuses a repetition on a day counted back from the month's end (*-*~01/7); so do we.
            if (!yearOk || !calendarField(month, 1, 12) || !calendarField(day, 1, 31, !fromEnd))
                throw calendarError(key, value, `date ${JSON.stringify(w)} has a field out of range`);
            out.date = { year, month, day, fromEnd };
        }
    }
    return out;
}

/** Validates a systemd OnCalendar value (see parseOnCalendar); returns it trimmed, a shorthand in lower case. */
export function validateOnCalendar(value: string, key = "backup.schedule.onCalendar"): string {
    return parseOnCalendar(value, key).text;
}

const CRON_FIELDS: { name: string; lo: number; hi: number; names?: string[] }[] = [
    { name: "minute", lo: 0, hi: 59 },
    { name: "hour", lo: 0, hi: 23 },
    { name: "day of month", lo: 1, hi: 31 },
    { name: "month", lo: 1, hi: 12, names: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"] },
    { name: "day of week", lo: 0, hi: 7, names: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] },
];

function cronValue(s: string, f: (typeof CRON_FIELDS)[number]): number | undefined {
    if (/^\d+$/.test(s)) return Number(s);
    const i = f.names?.indexOf(s.toLowerCase()) ?? -1;
    return i < 0 ? undefined : f.names === CRON_FIELDS[3].names ? i + 1 : i;
}

/** Validates a five-field cron expression (numbers, names, `*`, ranges, lists, steps); returns it normalized. */
export function validateCron(value: string, key = "backup.schedule.cron"): string {
    const v = value.trim().replace(/\s+/g, " ");
    const fix = 'use five fields "minute hour day-of-month month day-of-week", e.g. "30 2 * * *" (02:30 every day)';
    const fields = v.split(" ");
    if (fields.length !== 5) throw new Error(`${key}=${JSON.stringify(value)} has ${v ? fields.length : 0} fields; ${fix}`);
    fields.forEach((field, i) => {
        const f = CRON_FIELDS[i];
        for (const part of field.split(",")) {
            const m = /^(\*|[A-Za-z0-9]+)(?:-([A-Za-z0-9]+))?(?:\/(\d+))?$/.exec(part);
            const a = m && m[1] !== "*" ? cronValue(m[1], f) : f.lo;
            const b = m && m[2] !== undefined ? cronValue(m[2], f) : a;
            const ok =
                m &&
                a !== undefined &&
                b !== undefined &&
                a >= f.lo &&
                b <= f.hi &&
                a <= b &&
                !(m[1] === "*" && m[2]) &&
                (m[3] === undefined || Number(m[3]) > 0);
            if (!ok)
                throw new Error(
                    `${key}=${JSON.stringify(value)}: ${f.name} field ${JSON.stringify(field)} is not valid (${f.lo}-${f.hi}, *, a-b, lists, /step); ${fix}`,
                );
        }
    });
    return v;
}

/** A cron field as a systemd calendar component (`*\/15` -> `0/15`, `1-5` -> `1..5`); undefined when it has no equivalent. */
function cronFieldToCalendar(field: string, f: (typeof CRON_FIELDS)[number]): string | undefined {
    const parts = field.split(",").map((part) => {
        const m = /^(\*|[A-Za-z0-9]+)(?:-([A-Za-z0-9]+))?(?:\/(\d+))?$/.exec(part)!;
        const a = m[1] === "*" ? undefined : cronValue(m[1], f)!;
        const b = m[2] === undefined ? undefined : cronValue(m[2], f)!;
        if (m[3] !== undefined) return b === undefined ? `${a ?? f.lo}/${m[3]}` : undefined; // systemd has no stepped range
        if (a === undefined) return "*";
        return b === undefined ? String(a) : `${a}..${b}`;
    });
    return parts.some((p) => p === undefined) ? undefined : parts.join(",");
}

/** cron -> OnCalendar, or undefined when systemd cannot say the same (cron ORs day-of-month and day-of-week). */
export function cronToOnCalendar(cron: string): string | undefined {
    const [min, hour, dom, mon, dow] = cron.split(" ");
    if (dom !== "*" && dow !== "*") return undefined;
    const conv = [min, hour, dom, mon].map((x, i) => cronFieldToCalendar(x, CRON_FIELDS[i]));
    if (conv.some((x) => x === undefined)) return undefined;
    let days = "";
    if (dow !== "*") {
        const out: string[] = [];
        for (const part of dow.split(",")) {
            const m = /^([A-Za-z0-9]+)(?:-([A-Za-z0-9]+))?$/.exec(part);
            if (!m) return undefined;
            const a = cronValue(m[1], CRON_FIELDS[4])! % 7;
            const b = m[2] === undefined ? undefined : cronValue(m[2], CRON_FIELDS[4])!;
            if (b === undefined) out.push(DAYS[a]);
            else if (b === 7 && a === 0) out.push("Sun..Sat");
            else if (b === 7) out.push(`${DAYS[a]}..Sat`, "Sun");
            else out.push(`${DAYS[a]}..${DAYS[b]}`);
        }
        days = out.join(",") + " ";
    }
    return `${days}*-${conv[3]}-${conv[2]} ${conv[1]}:${conv[0]}:00`;
}

function calendarFieldToCron(v: string, f: (typeof CRON_FIELDS)[number]): string | undefined {
    const parts = v.split(",").map((part) => {
        const m = /^(\*|\d+)(?:\.\.(\d+))?(?:\/(\d+))?$/.exec(part);
        if (!m) return undefined;
        const a = m[1] === "*" ? undefined : Number(m[1]);
        if (m[3] !== undefined) {
            if (m[2] !== undefined) return undefined;
            return a === undefined || a === f.lo ? `*/${m[3]}` : `${a}-${f.hi}/${m[3]}`;
        }
        if (a === undefined) return "*";
        return m[2] === undefined ? String(a) : `${a}-${m[2]}`;
    });
    return parts.some((p) => p === undefined) ? undefined : parts.join(",");
}

/**
 * OnCalendar -> cron for what cron can say (any year, whole minutes, days counted from the month's start, no time
 * zone); undefined otherwise. A time zone has no cron form: Debian's and Ubuntu's cron ignore CRON_TZ (only cronie reads
 * it), so a converted entry would silently run in the host's local time instead.
 */
export function onCalendarToCron(onCalendar: string): string | undefined {
    const c = parseOnCalendar(onCalendar);
    if (c.timeZone) return undefined;
    if (c.shorthand) return SHORTHANDS[c.shorthand];
    // cron's day of week: 0-6 from Sunday, 7 also Sunday (so Mon..Sun is 1-7).
    const dow = c.weekdays
        ? c.weekdays
              .split(",")
              .map((part) => part.split(/\.\.|-/).map(dayIndex))
              .map((r) => (r.length === 1 ? String(r[0]) : `${r[0]}-${r[1] === 0 ? 7 : r[1]}`))
              .join(",")
        : "*";
    const d = c.date ?? { year: "*", month: "*", day: "*", fromEnd: false };
    const t = c.time ?? { hour: "00", minute: "00", second: "00" };
    if (d.year !== "*" || d.fromEnd || !/^0+$/.test(t.second)) return undefined;
    const fields = [
        calendarFieldToCron(t.minute, CRON_FIELDS[0]),
        calendarFieldToCron(t.hour, CRON_FIELDS[1]),
        calendarFieldToCron(d.day, CRON_FIELDS[2]),
        calendarFieldToCron(d.month, CRON_FIELDS[3]),
    ];
    if (fields.some((x) => x === undefined)) return undefined;
    if (dow !== "*" && fields[2] !== "*") return undefined; // cron would OR them
    return [...fields, dow].join(" ");
}

/** Validates `backup.schedule` (exactly one of onCalendar, cron) and yields both forms where they convert. */
export function resolveSchedule(spec: ScheduleSpec | undefined, key = "backup.schedule"): ResolvedSchedule {
    const has = (x: unknown) => x !== undefined && x !== null && x !== "";
    if (!spec || has(spec.onCalendar) === has(spec.cron)) {
        throw new Error(
            `${key}=${JSON.stringify(spec ?? null)}: set exactly one of onCalendar (systemd, e.g. "*-*-* 02:30:00") or cron (e.g. "30 2 * * *")`,
        );
    }
    if (has(spec.onCalendar)) {
        const onCalendar = validateOnCalendar(String(spec.onCalendar), `${key}.onCalendar`);
        return { onCalendar, cron: onCalendarToCron(onCalendar) };
    }
    const cron = validateCron(String(spec.cron), `${key}.cron`);
    return { cron, onCalendar: cronToOnCalendar(cron) };
}

/** Where things go on a host. `{host}` in any path is replaced by the host's name (the lab's hosts share one disk). */
export interface SchedulePaths {
    installDir: string;
    unitDir: string;
    cronDir: string;
    envDir: string;
    logFile: string;
}

export const DEFAULT_PATHS: SchedulePaths = {
    installDir: "/usr/local/sbin",
    unitDir: "/etc/systemd/system",
    cronDir: "/etc/cron.d",
    envDir: "/etc/dtr-ha",
    logFile: "/var/log/dtr-ha-backup.log",
};

export function resolvePaths(host: string, paths: Partial<SchedulePaths> = {}, key = "backup.schedulePaths"): SchedulePaths {
    const out = { ...DEFAULT_PATHS };
    for (const k of Object.keys(DEFAULT_PATHS) as (keyof SchedulePaths)[]) {
        const v = paths[k] ?? DEFAULT_PATHS[k];
        if (!/^\/[A-Za-z0-9._/{}-]*$/.test(v) || v.includes("..")) {
            throw new Error(
                `${key}.${k}=${JSON.stringify(v)} must be an absolute path of letters, digits, . _ - / (and {host}), e.g. ${DEFAULT_PATHS[k]}`,
            );
        }
        out[k] = v.replace(/\{host\}/g, host).replace(/\/+$/, "") || "/";
    }
    return out;
}

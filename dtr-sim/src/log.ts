// Logs go to stderr always: backup writes its archive to stdout, which must stay clean.
let debugOn = false;
const start = Date.now();

export function setDebug(on: boolean): void {
    debugOn = on;
}

function stamp(): string {
    return String(Math.floor((Date.now() - start) / 1000)).padStart(4, "0");
}

// logrus-like prefix, as the real DTR bootstrapper prints ("INFO[0000] ...").
export function info(msg: string): void {
    process.stderr.write(`INFO[${stamp()}] ${msg}\n`);
}
export function warn(msg: string): void {
    process.stderr.write(`WARN[${stamp()}] ${msg}\n`);
}
export function debug(msg: string): void {
    if (debugOn) process.stderr.write(`DEBU[${stamp()}] ${msg}\n`);
}
export function fatal(msg: string): void {
    process.stderr.write(`FATA[${stamp()}] ${msg}\n`);
}

/** An error meant for the operator: its message is printed as-is, without a stack. */
export class UserError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "UserError";
    }
}

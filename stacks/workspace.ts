/**
 * Stacks through the Automation API: a local file backend, a passphrase secrets provider, and the project's own stack
 * program (index.ts) as the inline program, so what runs is exactly what `pulumi up` runs.
 *
 * Nothing here writes to the state directory before it has to: whether a stack exists is read from the backend's
 * files (a backend that does not exist yet holds no stacks and is not created by asking), `selectStack` never creates
 * a stack, `createStack` never reuses one, and a new passphrase file is written only into a backend that holds no
 * stacks yet (stacks already there were encrypted with another passphrase).
 */
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";
import type { ConfigMap, LocalWorkspaceOptions, PulumiFn, Stack } from "@pulumi/pulumi/automation";

// Loaded when a stack is really opened: a CLI that refuses its input answers at once, without loading the engine.
const automation = (): typeof import("@pulumi/pulumi/automation") => require("@pulumi/pulumi/automation");
const stackProgram = (): (() => Record<string, unknown>) => require("../index");

export const PROJECT = "dtr-ha";

export interface StackPlace {
    /** Directory of the file backend (state) and the workspace. */
    dir: string;
    /** Passphrase for the stack's secrets; kept in a file in `dir` (mode 600) when not given. */
    passphrase?: string;
}

/** A stack name as Pulumi allows it (and safe as a file name in the backend). */
export const STACK_NAME = /^[A-Za-z0-9_.-]{1,100}$/;

export function stackNameProblem(flag: string, name: string): string | null {
    if (name === "") return `${flag} is empty: give a stack name`;
    if (!STACK_NAME.test(name) || name === "." || name === "..")
        return `${flag} ${JSON.stringify(name)} is not a stack name: 1-100 of A-Z a-z 0-9 _ . -`;
    return null;
}

const backendDir = (place: StackPlace) => path.join(place.dir, "backend");
const stacksDir = (place: StackPlace) => path.join(backendDir(place), ".pulumi", "stacks");

/** Checkpoint files a stack of the project can have in a file backend (project-scoped layout, then the legacy one). */
function stackFiles(name: string, place: StackPlace): string[] {
    const root = stacksDir(place);
    return [path.join(root, PROJECT), root].flatMap((d) => [`${name}.json`, `${name}.json.gz`].map((f) => path.join(d, f)));
}

/** Whether `name` exists in the backend. Reads only; a backend directory that does not exist holds no stacks. */
export function stackExists(name: string, place: StackPlace): boolean {
    const problem = stackNameProblem("stack", name);
    if (problem) throw new Error(problem);
    return stackFiles(name, place).some((f) => fs.existsSync(f));
}

/** The stacks of the project in the backend (read from its files; nothing is created). */
export function listStackNames(place: StackPlace): string[] {
    const names = new Set<string>();
    for (const d of [path.join(stacksDir(place), PROJECT), stacksDir(place)]) {
        let files: string[];
        try {
            files = fs.readdirSync(d);
        } catch {
            continue;
        }
        for (const f of files) {
            const m = /^(.+)\.json(\.gz)?$/.exec(f);
            if (m && STACK_NAME.test(m[1])) names.add(m[1]);
        }
    }
    return [...names].sort();
}

/** One clear line when the pulumi CLI is missing, instead of the engine's ENOENT dump. */
export function requirePulumiCli(): void {
    const r = spawnSync("pulumi", ["version"], { encoding: "utf8", timeout: 60_000 });
    if ((r.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT")
        throw new Error(
            "the pulumi CLI is not on PATH: run through npm (npm run rebuild / npm run backups) or eval \"$(bash scripts/toolchain.sh env)\" after 'bash scripts/toolchain.sh install'",
        );
    if (r.error || r.status !== 0) throw new Error(`'pulumi version' failed: ${(r.error?.message ?? r.stderr ?? "").trim()}`);
}

/** Why no passphrase can be had without making one that would not open the stacks already there; null when fine. */
export function passphraseProblem(place: StackPlace): string | null {
    if (place.passphrase) return null;
    const file = path.join(place.dir, "passphrase");
    if (fs.existsSync(file)) return null;
    const existing = listStackNames(place);
    if (existing.length > 0)
        return `${file} is missing but ${backendDir(place)} already holds stacks (${existing.join(", ")}) encrypted with a passphrase: restore that file; a new passphrase would not open them`;
    return null;
}

function passphraseFor(place: StackPlace): string {
    if (place.passphrase) return place.passphrase;
    const file = path.join(place.dir, "passphrase");
    if (fs.existsSync(file)) return fs.readFileSync(file, "utf8").trim();
    const problem = passphraseProblem(place);
    if (problem) throw new Error(problem);
    fs.mkdirSync(place.dir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, require("crypto").randomBytes(24).toString("base64url"), { mode: 0o600, flag: "wx" });
    return fs.readFileSync(file, "utf8").trim();
}

function workspaceOptions(place: StackPlace): { program: PulumiFn; opts: LocalWorkspaceOptions } {
    requirePulumiCli();
    const passphrase = passphraseFor(place);
    const backend = backendDir(place);
    const work = path.join(place.dir, "work");
    fs.mkdirSync(backend, { recursive: true, mode: 0o700 });
    fs.mkdirSync(work, { recursive: true, mode: 0o700 });
    return {
        program: async () => stackProgram()(),
        opts: {
            workDir: work,
            projectSettings: { name: PROJECT, runtime: "nodejs", backend: { url: `file://${backend}` } },
            secretsProvider: "passphrase",
            envVars: { PULUMI_CONFIG_PASSPHRASE: passphrase, PULUMI_BACKEND_URL: `file://${backend}` },
        },
    };
}

/** Opens (or creates) a stack of the dtr-ha project in `place`. For the lab and tests; the CLIs use select/create. */
export async function openStack(stackName: string, place: StackPlace): Promise<Stack> {
    const problem = stackNameProblem("stack", stackName);
    if (problem) throw new Error(problem);
    const { program, opts } = workspaceOptions(place);
    return automation().LocalWorkspace.createOrSelectStack({ stackName, projectName: PROJECT, program }, opts);
}

/** Selects an existing stack; a missing one is an error naming it, and nothing is created. */
export async function selectStack(stackName: string, place: StackPlace): Promise<Stack> {
    if (!stackExists(stackName, place)) throw new Error(`stack ${stackName} does not exist in ${backendDir(place)}`);
    const { program, opts } = workspaceOptions(place);
    return automation().LocalWorkspace.selectStack({ stackName, projectName: PROJECT, program }, opts);
}

/** Creates a new stack; an existing one is an error (it is never reused). */
export async function createStack(stackName: string, place: StackPlace): Promise<Stack> {
    if (stackExists(stackName, place)) throw new Error(`stack ${stackName} already exists in ${backendDir(place)}: refusing to reuse it`);
    const { program, opts } = workspaceOptions(place);
    return automation().LocalWorkspace.createStack({ stackName, projectName: PROJECT, program }, opts);
}

/** Writes plain and secret `dtr-ha:*` values; objects become JSON strings, as `pulumi config set` stores them. */
export async function setStackConfig(stack: Stack, plain: Record<string, unknown>, secrets: Record<string, string>): Promise<void> {
    const map: ConfigMap = {};
    for (const [k, v] of Object.entries(plain)) map[`dtr-ha:${k}`] = { value: typeof v === "string" ? v : JSON.stringify(v) };
    for (const [k, v] of Object.entries(secrets)) map[`dtr-ha:${k}`] = { value: v, secret: true };
    await stack.setAllConfig(map);
}

/**
 * Stacks through the Automation API, with the project's own stack program (index.ts) as the inline program, so what
 * runs is exactly what `pulumi up` runs. Two places a stack can live:
 *
 * - **Pulumi's way** (the operator tools' default, a `StackPlace` without `dir`): the backend and secrets `pulumi`
 *   itself would use from the project folder — `PULUMI_BACKEND_URL`, else the `backend.url` of Pulumi.yaml, else the
 *   logged-in backend (Pulumi Cloud, S3, a file backend...); each stack's own secrets provider (a passphrase from
 *   `PULUMI_CONFIG_PASSPHRASE` or `PULUMI_CONFIG_PASSPHRASE_FILE`, a cloud KMS, the service). Nothing is set for it.
 *   The project folder is the current directory when it holds a Pulumi.yaml, else this package's (`DTR_HA_PROJECT_DIR`
 *   overrides); its project must be dtr-ha, whose stack program these tools run.
 * - **The lab's settings** (`dir` given: the demo and the lab tests pass it, the CLIs take `--state-dir` or
 *   `DTR_HA_STATE_DIR`): a file backend under `dir/backend` and a generated passphrase kept in `dir/passphrase`.
 *
 * Nothing here creates a stack unless asked to (`createStack`, `openStack`): whether a stack exists is read from the
 * backend (the lab's files, or `pulumi stack ls`), `selectStack` never creates one, `createStack` never reuses one,
 * and a new lab passphrase is written only into a lab backend that holds no stacks yet.
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
    /** The lab's settings: the file backend in `dir/backend` and the workspace in `dir/work`. Without it: Pulumi's way. */
    dir?: string;
    /** Lab only: the passphrase for the stack's secrets; kept in a file in `dir` (mode 600) when not given. */
    passphrase?: string;
    /** Pulumi's way only: the secrets provider of stacks created here (`pulumi stack init --secrets-provider`);
     * default: the backend's (the service's for Pulumi Cloud, a passphrase for DIY backends). */
    secretsProvider?: string;
}

/** The place a CLI's `--state-dir` (or `DTR_HA_STATE_DIR`) selects: the lab's settings with it, Pulumi's way without. */
export function placeOf(stateDir: string | undefined, secretsProvider?: string): StackPlace {
    return stateDir === undefined ? { secretsProvider } : { dir: stateDir };
}

const isLab = (place: StackPlace): place is StackPlace & { dir: string } => place.dir !== undefined;

/** One segment of a stack name as Pulumi allows it (and safe as a file name in a file backend). */
export const STACK_NAME = /^[A-Za-z0-9_.-]{1,100}$/;

/** A stack name: `name`, `org/name` or `org/project/name` (Pulumi Cloud's qualified forms); no `.` or `..` segment. */
export function stackNameProblem(flag: string, name: string): string | null {
    if (name === "") return `${flag} is empty: give a stack name`;
    const parts = name.split("/");
    if (parts.length > 3 || parts.some((p) => !STACK_NAME.test(p) || p === "." || p === ".."))
        return `${flag} ${JSON.stringify(name)} is not a stack name: 1-100 of A-Z a-z 0-9 _ . -, optionally qualified as org/name or org/project/name`;
    return null;
}

/** The lab's file backend names stacks plainly. */
function labName(name: string): string {
    const problem = stackNameProblem("stack", name);
    if (problem) throw new Error(problem);
    if (name.includes("/")) throw new Error(`stack ${JSON.stringify(name)}: the lab's file backend takes a plain stack name`);
    return name;
}

const backendDir = (place: StackPlace & { dir: string }) => path.join(place.dir, "backend");
const stacksDir = (place: StackPlace & { dir: string }) => path.join(backendDir(place), ".pulumi", "stacks");

/** Checkpoint files a stack of the project can have in a file backend (project-scoped layout, then the legacy one). */
function stackFiles(name: string, place: StackPlace & { dir: string }): string[] {
    const root = stacksDir(place);
    return [path.join(root, PROJECT), root].flatMap((d) => [`${name}.json`, `${name}.json.gz`].map((f) => path.join(d, f)));
}

/** The project folder for Pulumi's way: DTR_HA_PROJECT_DIR, else the current directory with a Pulumi.yaml, else ours. */
export function projectDir(): string {
    if (process.env.DTR_HA_PROJECT_DIR) return path.resolve(process.env.DTR_HA_PROJECT_DIR);
    const hasProject = (d: string) => ["Pulumi.yaml", "Pulumi.yml", "Pulumi.json"].some((f) => fs.existsSync(path.join(d, f)));
    if (hasProject(process.cwd())) return process.cwd();
    return path.resolve(__dirname, "..", ".."); // this package (bin/stacks/workspace.js), which ships Pulumi.yaml
}

/** The project named by the project folder's Pulumi.yaml must be dtr-ha: these tools run its stack program. */
function projectProblem(dir: string): string | null {
    const file = ["Pulumi.yaml", "Pulumi.yml"].map((f) => path.join(dir, f)).find((f) => fs.existsSync(f));
    if (!file) return `no Pulumi.yaml in ${dir}: run from the dtr-ha project's folder (or set DTR_HA_PROJECT_DIR)`;
    const name = /^name:\s*["']?([^"'\s#]+)/m.exec(fs.readFileSync(file, "utf8"))?.[1];
    if (name !== PROJECT)
        return `${file} is project ${JSON.stringify(name ?? "")}, not ${PROJECT}: these tools run dtr-ha's stack program; run them from the dtr-ha project's folder (or set DTR_HA_PROJECT_DIR)`;
    return null;
}

/** Runs the pulumi CLI in the project folder with the caller's environment (backend, passphrase, PULUMI_HOME). */
function pulumiSync(args: string[], dir: string) {
    const r = spawnSync("pulumi", [...args, "--non-interactive"], { cwd: dir, encoding: "utf8", timeout: 120_000 });
    if ((r.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT") requirePulumiCli();
    return r;
}

/** Where stacks are looked up, for messages: the lab's backend dir, or the backend pulumi uses in the project folder. */
export function placeName(place: StackPlace): string {
    if (isLab(place)) return backendDir(place);
    const dir = projectDir();
    const who = pulumiSync(["whoami", "--json"], dir);
    let url = "";
    try {
        url = (JSON.parse(who.stdout) as { url?: string }).url ?? "";
    } catch {
        /* not logged in: said below */
    }
    return url ? `the backend ${url} (project ${dir})` : `the backend pulumi uses from ${dir}`;
}

/** Whether `name` exists. Reads only: the lab's backend files, or `pulumi stack ls` of the project. */
export function stackExists(name: string, place: StackPlace): boolean {
    if (isLab(place)) return stackFiles(labName(name), place).some((f) => fs.existsSync(f));
    const problem = stackNameProblem("stack", name);
    if (problem) throw new Error(problem);
    return listStackNames(place).some((n) => n === name || (!name.includes("/") && n.split("/").pop() === name));
}

/** The stacks of the project (nothing is created). */
export function listStackNames(place: StackPlace): string[] {
    if (!isLab(place)) {
        const dir = projectDir();
        const project = projectProblem(dir);
        if (project) throw new Error(project);
        const r = pulumiSync(["stack", "ls", "--json"], dir);
        if (r.status !== 0)
            throw new Error(
                `'pulumi stack ls' in ${dir} failed: ${(r.stderr || r.stdout).trim()} (log in with 'pulumi login <backend>' or set PULUMI_BACKEND_URL)`,
            );
        return (JSON.parse(r.stdout || "[]") as { name: string }[]).map((s) => s.name).sort();
    }
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

/**
 * Lab: why no passphrase can be had without making one that would not open the stacks already there; null when fine.
 * Pulumi's way: null (the stack's own secrets provider answers; pulumi names a missing PULUMI_CONFIG_PASSPHRASE).
 */
export function passphraseProblem(place: StackPlace): string | null {
    if (!isLab(place) || place.passphrase) return null;
    const file = path.join(place.dir, "passphrase");
    if (fs.existsSync(file)) return null;
    const existing = listStackNames(place);
    if (existing.length > 0)
        return `${file} is missing but ${backendDir(place)} already holds stacks (${existing.join(", ")}) encrypted with a passphrase: restore that file; a new passphrase would not open them`;
    return null;
}

function passphraseFor(place: StackPlace & { dir: string }): string {
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
    const program = async () => stackProgram()();
    if (!isLab(place)) {
        // Pulumi's way: the project folder's Pulumi.yaml and the caller's environment, nothing overridden.
        const dir = projectDir();
        const project = projectProblem(dir);
        if (project) throw new Error(project);
        return { program, opts: { workDir: dir, ...(place.secretsProvider ? { secretsProvider: place.secretsProvider } : {}) } };
    }
    const passphrase = passphraseFor(place);
    const backend = backendDir(place);
    const work = path.join(place.dir, "work");
    fs.mkdirSync(backend, { recursive: true, mode: 0o700 });
    fs.mkdirSync(work, { recursive: true, mode: 0o700 });
    return {
        program,
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
    if (!stackExists(stackName, place)) throw new Error(`stack ${stackName} does not exist in ${placeName(place)}`);
    const { program, opts } = workspaceOptions(place);
    return automation().LocalWorkspace.selectStack({ stackName, projectName: PROJECT, program }, opts);
}

/** Creates a new stack; an existing one is an error (it is never reused). */
export async function createStack(stackName: string, place: StackPlace): Promise<Stack> {
    if (stackExists(stackName, place)) throw new Error(`stack ${stackName} already exists in ${placeName(place)}: refusing to reuse it`);
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

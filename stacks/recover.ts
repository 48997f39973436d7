/**
 * `npm run recover -- --stack <name> [--spare '<host spec>']... [--yes] [--json]`: diagnoses the stack's DTR cluster
 * (each declared host's SSH, engine, replica containers, `/_ping`, DTR's cluster status), prints the failure class and
 * the least-lossy plan (recover-plan.ts) with what it destroys and the expected data loss, and runs it only with
 * `--yes`. Classes 1 and 2 run here (remove or emergency-repair through a surviving replica over SSH, then the lost
 * hosts' resources leave the stack's state without any delete, the spares take their places in the configuration, and
 * `pulumi up` joins them through a healthy replica); class 3 rebuilds from the newest intact backup into the fresh stack
 * `--to-stack` names (stacks/rebuild.ts). Ends with a timeline: RTO, every step, health and inventory before and
 * after; `--json` ends with one JSON line.
 */
import { Command } from "commander";
import { Stack } from "@pulumi/pulumi/automation";
import { DtrImage, UcpConnection, emergencyRepairCommand, imageRef, removeCommand } from "../components/dtr-cli/commands";
import { authConfigFunction } from "../components/dtr-cli/api";
import { configReplicaIds, ManagerHost, parseStackConfig, SECRET_KEYS, SecretKey } from "../components/config/stack-config";
import type { ExistingHostSpec } from "../components/hosts/existing-hosts";
import { RtoBreakdown, StepClock, TimedStep, rtoBreakdown, rtoBreakdownLines } from "./rto-breakdown";
import { Steps } from "./progress";
import { HostShell, SshHost } from "./host-ssh";
import { RecoveryPlan, ReplicaProbe, dropHostResources, isAlive, pinnedRestore, planRecovery } from "./recover-plan";
import { placeName, placeOf, selectStack, stackExists, stackNameProblem } from "./workspace";
import { backupAccess, resolveManifest } from "./catalog";
import { rebuild } from "./rebuild";
// Loaded when a recovery forgets a lost manager: the module also declares the swarm backup's resources, so it brings the
// Pulumi SDK (most of this CLI's start-up), which refusing bad input never needs.
const swarmPeerScript: typeof import("../components/backup/swarm-backup").swarmPeerScript = (...args) =>
    (require("../components/backup/swarm-backup") as typeof import("../components/backup/swarm-backup")).swarmPeerScript(...args);

export class UsageError extends Error {}

export interface RecoverOptions {
    stack: string;
    /** The lab's state folder (its file backend and passphrase); without it the stack opens as `pulumi` would. */
    stateDir?: string;
    /** Replacement hosts (same shape as hosts.existing entries), used in order for the lost ones. */
    spares: ExistingHostSpec[];
    yes: boolean;
    /** Class 3: the fresh stack the cluster is rebuilt into from the newest verified backup. */
    toStack?: string;
}

export interface Inventory {
    repositories: number;
    tags: number;
    teamAccess: number;
    sha256: string;
}

export interface RecoverReport {
    stack: string;
    class: number;
    plan: RecoveryPlan;
    ran: boolean;
    ok: boolean;
    rtoSeconds: number | null;
    rpoSeconds: number | null;
    healthyBefore: number;
    healthyAfter: number | null;
    inventoryBefore: Inventory | null;
    inventoryAfter: Inventory | null;
    steps: { step: string; seconds: number; ok: boolean }[];
    /** Where the RTO went: DTR's own steps, other steps, the tool and the engine (null until it ran to the end). */
    breakdown: RtoBreakdown | null;
    error?: string;
}

interface Cluster {
    name: string;
    httpsPort: number;
    hosts: ExistingHostSpec[];
    ids: string[];
    image: DtrImage;
    ucp: UcpConnection;
    mountEngineSocket: boolean;
    agentImage?: string;
    env: Record<string, string>;
    sshKey: string;
    raw: Record<string, unknown>;
    /** The stack manages Swarm backups (backup.swarm): a lost host's node leaves the swarm too. */
    swarmManaged: boolean;
    /** cluster.swarmManagers: UCP's managers, apart from the DTR hosts (which are UCP workers). */
    swarmManagers: ManagerHost[];
}

const sshOf = (h: ExistingHostSpec): SshHost => ({ name: h.name, address: h.address, port: h.port, user: h.user, hostKey: h.hostKey });

/** The stack's configuration as the program reads it (validated the same way), plus the secrets recover needs. */
async function readCluster(stack: Stack): Promise<Cluster> {
    const all = await stack.getAllConfig();
    const raw: Record<string, unknown> = {};
    const secrets = new Set<SecretKey>();
    for (const [k, v] of Object.entries(all)) {
        if (!k.startsWith("dtr-ha:")) continue;
        const key = k.slice("dtr-ha:".length);
        if ((SECRET_KEYS as readonly string[]).includes(key)) secrets.add(key as SecretKey);
        else raw[key] = JSON.parse(v.value);
    }
    const c = parseStackConfig(raw, secrets);
    if (c.hosts.mode !== "existing")
        throw new UsageError(`stack ${stack.name}: recover handles hosts.mode existing (this stack: ${c.hosts.mode})`);
    const secret = (k: string) => all[`dtr-ha:${k}`]?.value ?? "";
    return {
        name: c.cluster.name,
        httpsPort: c.cluster.httpsPort,
        hosts: c.hosts.existing,
        // As the program gives them: a rebuilt stack's restore host carries the backed-up replica's id.
        ids: configReplicaIds(c),
        image: c.image,
        ucp: { url: c.ucp.url, username: c.ucp.username, caPem: c.ucp.ca, insecureTls: c.ucp.insecureTls },
        mountEngineSocket: c.cluster.mountEngineSocket,
        agentImage: c.backup?.agentImage,
        env: { UCP_USERNAME: c.ucp.username, UCP_PASSWORD: secret("ucpPassword") },
        sshKey: secret("sshPrivateKey"),
        raw,
        swarmManaged: c.backup?.swarm !== undefined,
        swarmManagers: c.cluster.swarmManagers ?? [],
    };
}

// Constant probe: the engine, this replica's containers, and /_ping from the host itself. The port and the replica id
// arrive as DTR_HA_* variables.
const PROBE = [
    "set -u",
    'if docker info --format "{{.ServerVersion}}" >/dev/null 2>&1; then echo engine=up; else echo engine=down; exit 0; fi',
    'n=$(docker ps --format "{{.Names}}" | grep -c -- "-$DTR_HA_REPLICA_ID\\$" || true); echo running=$n',
    'code=$(curl -sk --max-time 5 -o /dev/null -w "%{http_code}" "https://127.0.0.1:$DTR_HA_HTTPS_PORT/_ping" 2>/dev/null) || code=unreachable',
    'echo owner=$(docker volume inspect --format "{{index .Labels \\"dtr-ha.owner\\"}}" "dtrha_owner_$DTR_HA_REPLICA_ID" 2>/dev/null)',
    "echo ping=$code",
].join("\n");

const STATUS = [
    "set -u",
    authConfigFunction(),
    'dtr_auth_config | curl -sk --max-time 10 -K - "https://127.0.0.1:$DTR_HA_HTTPS_PORT/api/v0/meta/cluster_status"',
].join("\n");

async function probe(sh: HostShell, c: Cluster): Promise<{ probes: ReplicaProbe[]; statusFrom?: string }> {
    const probes = await Promise.all(
        c.hosts.map(async (h, i): Promise<ReplicaProbe> => {
            const r = await sh.run(sshOf(h), PROBE, {
                env: { DTR_HA_REPLICA_ID: c.ids[i], DTR_HA_HTTPS_PORT: String(c.httpsPort) },
                timeoutSeconds: 30,
            });
            const v = (k: string) => new RegExp(`^${k}=(.*)$`, "m").exec(r.stdout)?.[1];
            const ping = v("ping");
            return {
                host: h.name,
                replicaId: c.ids[i],
                ssh: r.code !== 255,
                engine: v("engine") === "up",
                running: Number(v("running") ?? 0) > 0,
                ping: ping && /^\d+$/.test(ping) ? Number(ping) : "unreachable",
                owner: v("owner") ?? "",
            };
        }),
    );
    // DTR's own view, from the first replica that answers /_ping (else from any live one: without quorum none does).
    for (const p of [...probes.filter((x) => x.ping === 200), ...probes.filter((x) => x.ping !== 200 && isAlive(x))]) {
        const h = c.hosts.find((x) => x.name === p.host)!;
        const r = await sh.run(sshOf(h), STATUS, { env: { ...c.env, DTR_HA_HTTPS_PORT: String(c.httpsPort) }, timeoutSeconds: 30 });
        try {
            const s = JSON.parse(r.stdout) as { replica_health?: Record<string, string>; replica_timestamp?: Record<string, string> };
            if (!s.replica_health) continue;
            for (const q of probes) {
                q.status = s.replica_health[q.replicaId] ?? "not a member";
                q.timestamp = s.replica_timestamp?.[q.replicaId];
            }
            return { probes, statusFrom: p.host };
        } catch {
            continue;
        }
    }
    return { probes };
}

async function inventory(sh: HostShell, c: Cluster, probes: ReplicaProbe[]): Promise<Inventory | null> {
    if (!c.agentImage) return null;
    const p = probes.find((x) => x.ping === 200);
    if (!p) return null;
    const h = c.hosts.find((x) => x.name === p.host)!;
    const script = [
        "set -u",
        'docker run --rm --network host -e UCP_USERNAME -e UCP_PASSWORD "$DTR_HA_AGENT_IMAGE" inventory --dtr-url "https://127.0.0.1:$DTR_HA_HTTPS_PORT" --insecure',
    ].join("\n");
    const r = await sh.run(sshOf(h), script, {
        env: { ...c.env, DTR_HA_AGENT_IMAGE: c.agentImage, DTR_HA_HTTPS_PORT: String(c.httpsPort) },
        timeoutSeconds: 120,
    });
    try {
        return JSON.parse(r.stdout.trim().split("\n").pop()!) as Inventory;
    } catch {
        return null;
    }
}

/** Constant text: the image reference comes as data (DTR_HA_IMAGE, sent with SendEnv; sshd accepts DTR_*). */
export const PRE_PULL_SCRIPT = 'set -u\ndocker pull "$DTR_HA_IMAGE" >/dev/null';

/** A DTR command line (quoted once by the builders) run on `h` with the UCP secrets from the environment. */
async function dtr(sh: HostShell, c: Cluster, h: ExistingHostSpec, line: string): Promise<void> {
    const r = await sh.run(sshOf(h), `set -u\n${line}`, { env: c.env, timeoutSeconds: 900 });
    if (r.code !== 0) throw new Error(`on ${h.name}: exit ${r.code}: ${(r.stderr || r.stdout).trim().split("\n").slice(-3).join(" | ")}`);
}

/**
 * The hosts a lost node is removed from the swarm through, in order: the configured swarm managers
 * (cluster.swarmManagers) first, as DTR's own hosts are UCP workers in production (system-requirements.md) and cannot
 * remove a node; then the healthy replica hosts (a deployment whose DTR hosts are managers). Pure: tested directly.
 */
export function swarmVia(
    managers: ManagerHost[],
    hosts: ExistingHostSpec[],
    healthy: string[],
): { hosts: ExistingHostSpec[]; order: string[] } {
    const viaManagers = managers.map(
        (m, i) =>
            ({
                name: `cluster.swarmManagers[${i}] ${m.address}`,
                address: m.address,
                port: m.port,
                user: m.user,
                hostKey: m.hostKey,
            }) as ExistingHostSpec,
    );
    return { hosts: [...viaManagers, ...hosts], order: [...viaManagers.map((m) => m.name), ...healthy] };
}

/** Drops every resource of the lost hosts from the stack's state, without running any delete (dropHostResources). */
/**
 * The lost host's node leaves the swarm: on the first healthy host that is a manager, its node id is looked up by
 * hostname (exact, not docker's prefix filter), then swarmPeerScript("forget") waits for Down, demotes and removes it.
 */
export async function forgetSwarmNode(
    sh: HostShell,
    hosts: ExistingHostSpec[],
    lost: ExistingHostSpec,
    healthy: string[],
): Promise<string> {
    const hostname = lost.ucpNode ?? lost.name;
    for (const name of healthy) {
        const h = hosts.find((x) => x.name === name);
        if (!h) continue;
        const ls = await sh.run(sshOf(h), "docker node ls --format '{{.ID}} {{.Hostname}}'", { timeoutSeconds: 30 });
        if (ls.code !== 0) continue; // not a manager (or its engine is down): the next one
        const node = ls.stdout
            .split("\n")
            .map((l) => l.trim().split(/\s+/))
            .find((f) => f[1] === hostname);
        if (!node) return `${hostname} is not in the swarm: nothing to remove`;
        const r = await sh.run(sshOf(h), swarmPeerScript("forget", node[0]), { timeoutSeconds: 300 });
        if (r.code !== 0) throw new Error(`swarm forget of ${hostname} (${node[0]}) through ${h.name} failed: ${r.stderr.trim()}`);
        return r.stdout.trim().split("\n").pop() ?? "";
    }
    throw new Error(`no healthy host answered as a swarm manager to remove ${hostname}'s node through; nothing was changed in the swarm`);
}

async function forgetHosts(stack: Stack, hosts: string[], cluster: string, alsoNames: string[] = []): Promise<number> {
    const state = await stack.exportStack();
    const { kept, gone } = dropHostResources(state.deployment.resources ?? [], hosts, cluster, alsoNames);
    state.deployment.resources = kept;
    await stack.importStack(state);
    return gone;
}

export async function recover(o: RecoverOptions, steps = new Steps()): Promise<RecoverReport> {
    const problem = stackNameProblem("--stack", o.stack);
    if (problem) throw new UsageError(problem);
    const place = placeOf(o.stateDir);
    if (!stackExists(o.stack, place)) throw new UsageError(`--stack ${o.stack}: no such stack in ${placeName(place)}; nothing was changed`);
    const stack = await steps.run(`open stack ${o.stack} (select only)`, () => selectStack(o.stack, place));
    const c = await steps.run("read its configuration", () => readCluster(stack));
    const sh = new HostShell(c.sshKey);
    const declared = Date.now();
    // DTR commands run here (remove, emergency-repair) and the up's command steps, for the RTO's breakdown.
    const timed: TimedStep[] = [];
    const clock = new StepClock();
    let engineStartedAt: number | undefined;
    const timedStep = async <T>(step: string, f: () => Promise<T>): Promise<T> => {
        const startedAt = Date.now();
        try {
            return await f();
        } finally {
            timed.push({ step, startedAt, finishedAt: Date.now() });
        }
    };
    const report: RecoverReport = {
        stack: o.stack,
        class: 0,
        plan: undefined as unknown as RecoveryPlan,
        ran: false,
        ok: false,
        rtoSeconds: null,
        rpoSeconds: 0,
        healthyBefore: 0,
        healthyAfter: null,
        inventoryBefore: null,
        inventoryAfter: null,
        steps: [],
        breakdown: null,
    };
    try {
        const before = await steps.run(
            `diagnose ${c.hosts.length} hosts (SSH, engine, replica, /_ping, cluster status)`,
            () => probe(sh, c),
            (d) =>
                d.probes
                    .map(
                        (p) =>
                            `${p.host}: ${isAlive(p) ? `replica ${p.ping === 200 ? "OK" : `/_ping ${p.ping}`}` : !p.ssh ? "unreachable" : !p.engine ? "engine down" : "no replica"}`,
                    )
                    .join(", "),
        );
        report.healthyBefore = before.probes.filter((p) => p.ping === 200 && (p.status ?? "OK") === "OK").length;
        report.inventoryBefore = await steps.run(
            "inventory before",
            () => inventory(sh, c, before.probes),
            (i) => (i ? `${i.repositories} repositories, ${i.tags} tags, ${i.teamAccess} grants` : "none readable"),
        );
        // Class 3's data loss is the age of the newest intact backup (by the store's time), so look it up only then.
        const alive = before.probes.filter(isAlive).length;
        const newest =
            alive === 0
                ? await steps.run(
                      "newest intact backup (the store's time)",
                      async () => resolveManifest(await backupAccess(stack), "latest").catch(() => null),
                      (e) => (e ? `${e.manifestKey}, stored ${e.storedAt}` : "none"),
                  )
                : null;
        const plan = planRecovery(
            before.probes,
            o.spares.map((s) => s.name),
            newest ? (Date.now() - Date.parse(newest.storedAt)) / 1000 : null,
            o.stack,
            c.swarmManaged,
        );
        report.plan = plan;
        report.class = plan.class;
        report.rpoSeconds = plan.rpoSeconds;
        if (plan.class === 3) {
            if (!newest) plan.blockers.push("no intact backup of this cluster was found: nothing to rebuild from");
            if (!o.toStack) plan.blockers.push("class 3 rebuilds into a fresh stack: give --to-stack <new stack name>");
        }
        if (plan.class === 0 || !o.yes || plan.blockers.length) return report;
        if (plan.class === 3) {
            report.ran = true;
            const rebuilt = await steps.run(
                `rebuild from ${newest!.manifestKey} into stack ${o.toStack} (verify, take the hosts over, clear, restore, join, check)`,
                () =>
                    rebuild(
                        {
                            from: newest!.manifestKey,
                            stack: o.toStack!,
                            sourceStack: o.stack,
                            stateDir: o.stateDir,
                            declaredAt: new Date(declared),
                            destroyExisting: true,
                        },
                        new Steps((l) => process.stderr.write(`    ${l}\n`)),
                    ),
                (r) => `RTO ${r.rtoSeconds} s, RPO ${r.rpoSeconds} s`,
            );
            report.rtoSeconds = rebuilt.rtoSeconds;
            report.breakdown = rebuilt.breakdown;
            report.rpoSeconds = rebuilt.rpoSeconds;
            const next = await readCluster(await selectStack(o.toStack!, place));
            const after = await steps.run(
                "health after",
                () => probe(sh, next),
                (d) => `${d.probes.filter((p) => p.ping === 200).length} of ${d.probes.length} replicas OK`,
            );
            report.healthyAfter = after.probes.filter((p) => p.ping === 200 && (p.status ?? "OK") === "OK").length;
            report.inventoryAfter = await steps.run(
                "inventory after",
                () => inventory(sh, next, after.probes),
                (i) => (i ? `${i.repositories} repositories, ${i.tags} tags, ${i.teamAccess} grants` : "none readable"),
            );
            report.ok = rebuilt.ok && report.healthyAfter === after.probes.length;
            return report;
        }

        // Validate the new configuration before anything changes: the spares in the lost hosts' places.
        const lostNames = new Set(plan.class === 2 ? before.probes.filter((p) => p.host !== plan.survivor).map((p) => p.host) : plan.lost);
        const lostList = c.hosts.filter((h) => lostNames.has(h.name));
        const replacement = new Map(lostList.map((h, i) => [h.name, o.spares[i]]));
        let newHosts = c.hosts.map((h) => replacement.get(h.name) ?? h);
        // The first host's replica is the stack's `<cluster>-install` resource, which never re-runs. When that host is
        // lost, a surviving host moves to the front (its install resource is then that replica; its join and leave
        // resources leave the state without a delete) and the spare takes the survivor's old place, so it gets a join.
        const forget: string[] = [];
        if (lostNames.has(c.hosts[0].name)) {
            const survivor = newHosts.findIndex((h, i) => i > 0 && !replacement.has(c.hosts[i].name) && plan.healthy.includes(h.name));
            if (survivor < 0) throw new Error("no healthy host to take the first place; nothing was changed");
            const first = newHosts[survivor];
            newHosts = [first, ...newHosts.slice(1, survivor), newHosts[0], ...newHosts.slice(survivor + 1)];
            // Its join and its leave step (whose delete would remove this very replica) leave the state without a delete.
            forget.push(`${c.name}-join-${first.name}`, `${c.name}-leave-${first.name}`);
        }
        const rawHosts = { ...(c.raw.hosts as Record<string, unknown>), existing: newHosts };
        // A rebuilt stack's backed-up replica id stays with the host the restore ran on, also once another one is first.
        const rawRestore = pinnedRestore(c.raw.restore as Record<string, unknown> | undefined, c.hosts[0].name, newHosts[0].name);
        const pinRestore = rawRestore !== c.raw.restore;
        parseStackConfig({ ...c.raw, hosts: rawHosts, ...(rawRestore ? { restore: rawRestore } : {}) }, new Set(SECRET_KEYS));
        report.ran = true;
        // The replacements pull DTR's image while DTR removes or repairs (on a fresh host the pull is the long part of its
        // join); the up's own pull step then finds it there. Nothing of the cluster is touched; the reference is data.
        const prePulls = Promise.all(
            [...replacement.values()].map((h) =>
                sh.run(sshOf(h), PRE_PULL_SCRIPT, { env: { DTR_HA_IMAGE: imageRef(c.image) } }).then((r) => ({ host: h.name, ...r })),
            ),
        );

        // A DTR command run here through one host's engine, timed as DTR's own work for the RTO's breakdown.
        const cli = { image: c.image, ucp: c.ucp, run: { mountEngineSocket: c.mountEngineSocket } };
        const runDtr = (step: string, label: string, host: ExistingHostSpec, command: () => string) =>
            timedStep(`${c.name}-${step}`, () => steps.run(label, () => dtr(sh, c, host, command())));
        if (plan.class === 1) {
            const through = c.hosts.find((h) => h.name === plan.healthy[0])!;
            const ids = lostList.map((h) => c.ids[c.hosts.indexOf(h)]);
            await runDtr(
                `remove-${lostList.map((h) => h.name).join("-")}`,
                `remove ${ids.join(", ")} through ${through.name}`,
                through,
                () => removeCommand({ ...cli, existingReplicaId: c.ids[c.hosts.indexOf(through)], replicaIds: ids }),
            );
        } else {
            const survivor = c.hosts.find((h) => h.name === plan.survivor)!;
            await runDtr("emergency-repair", `emergency-repair on ${survivor.name} (the most up-to-date survivor)`, survivor, () =>
                emergencyRepairCommand({ ...cli, existingReplicaId: c.ids[c.hosts.indexOf(survivor)] }),
            );
            // Without quorum DTR's API does not answer: what the cluster keeps is what the survivor holds, read once repaired.
            if (report.inventoryBefore === null) {
                report.inventoryBefore = await steps.run(
                    `inventory on ${survivor.name} after the repair (what the cluster keeps)`,
                    async () => {
                        // The repaired replica answers /_ping once it has taken the new replica set (bounded wait).
                        for (let t = 0; t < 30; t++) {
                            const inv = await inventory(sh, c, (await probe(sh, c)).probes);
                            if (inv) return inv;
                            await new Promise((r) => setTimeout(r, 1000));
                        }
                        return null;
                    },
                    (i) => (i ? `${i.repositories} repositories, ${i.tags} tags, ${i.teamAccess} grants` : "none readable"),
                );
            }
        }
        if (c.swarmManaged) {
            for (const h of c.hosts.filter((x) => plan.lost.includes(x.name))) {
                const via = swarmVia(c.swarmManagers, c.hosts, plan.healthy.length ? plan.healthy : plan.survivor ? [plan.survivor] : []);
                await steps.run(`swarm: remove ${h.name}'s node through a healthy manager`, () =>
                    forgetSwarmNode(sh, via.hosts, h, via.order),
                );
            }
        }
        await steps.run(
            `drop ${[...lostNames].join(", ")}'s resources from the stack's state (no delete runs on a lost host)`,
            () => forgetHosts(stack, [...lostNames], c.name, forget),
            (n) => `${n} resources`,
        );
        await steps.run(`configuration: ${[...replacement].map(([a, b]) => `${a} -> ${b.name}`).join(", ")}`, () =>
            pinRestore
                ? stack.setAllConfig({
                      "dtr-ha:hosts": { value: JSON.stringify(rawHosts) },
                      "dtr-ha:restore": { value: JSON.stringify(rawRestore) },
                  })
                : stack.setConfig("dtr-ha:hosts", { value: JSON.stringify(rawHosts) }),
        );
        await steps.run(
            `DTR's image on ${[...replacement.values()].map((h) => h.name).join(", ")} (pulled beside DTR's own step)`,
            () => prePulls,
            // A failed pull stops nothing here: the up's pull step runs it again and fails with its own error.
            (rs) =>
                rs
                    .map(
                        (r) => `${r.host} ${r.code === 0 ? "pulled" : `not pulled (exit ${r.code}: ${r.stderr.trim().split("\n").pop()})`}`,
                    )
                    .join(", "),
        );
        await steps.run(
            "pulumi up: join the replacements through a healthy replica, health gate",
            () => {
                const progress = steps.engineEvents();
                engineStartedAt = Date.now();
                return stack.up({
                    color: "never",
                    onEvent: (e) => {
                        clock.onEvent(e);
                        progress(e);
                    },
                });
            },
            (r) =>
                Object.entries(r.summary.resourceChanges ?? {})
                    .map(([k, v]) => `${k} ${v}`)
                    .join(", "),
        );
        const after = await steps.run(
            "health after",
            async () => {
                const next = await readCluster(stack);
                return { c: next, d: await probe(sh, next) };
            },
            (a) => `${a.d.probes.filter((p) => p.ping === 200 && (p.status ?? "OK") === "OK").length} of ${a.d.probes.length} replicas OK`,
        );
        report.healthyAfter = after.d.probes.filter((p) => p.ping === 200 && (p.status ?? "OK") === "OK").length;
        // Healthy when the up's health gate passed (as in a rebuild): the new backup the up takes after it, and the
        // confirming probe above, are outside the RTO.
        const healthyAt = clock.finished.find((f) => f.step === `${c.name}-health`)?.at ?? Date.now();
        report.rtoSeconds = Number(((healthyAt - declared) / 1000).toFixed(1));
        report.breakdown = rtoBreakdown(
            declared,
            healthyAt,
            [...timed, ...clock.finished.map((f) => ({ step: f.step, startedAt: f.startedAt, finishedAt: f.at }))],
            engineStartedAt,
        );
        report.inventoryAfter = await steps.run(
            "inventory after",
            () => inventory(sh, after.c, after.d.probes),
            (i) => (i ? `${i.repositories} repositories, ${i.tags} tags, ${i.teamAccess} grants` : "none readable"),
        );
        report.ok =
            report.healthyAfter === after.d.probes.length &&
            (report.inventoryBefore === null || report.inventoryAfter?.sha256 === report.inventoryBefore.sha256);
        return report;
    } catch (e) {
        report.error = (e as Error).message;
        return report;
    } finally {
        sh.close();
        report.steps = steps.records.map((r) => ({ step: r.step, seconds: Number(r.seconds.toFixed(1)), ok: r.ok }));
    }
}

export function describePlan(r: RecoverReport): string {
    const p = r.plan;
    if (!p) return `recover ${r.stack}: ${r.error ?? "no plan"}`;
    const lines = [`recover ${r.stack}: ${p.summary}`];
    if (p.steps.length) {
        lines.push("plan:");
        p.steps.forEach((s, i) => lines.push(`  ${i + 1}. ${s.step}${s.destroys ? `\n     destroys/changes: ${s.destroys}` : ""}`));
    }
    for (const b of p.blockers) lines.push(`cannot run yet: ${b}`);
    if (p.class !== 0 && !r.ran && !p.blockers.length) lines.push("nothing was changed: run again with --yes to carry out this plan.");
    if (r.ran) {
        lines.push(
            `result: ${r.ok ? "HEALTHY" : "NOT HEALTHY"}; RTO ${r.rtoSeconds ?? "-"} s, RPO ${r.rpoSeconds ?? "unknown"} s; healthy ${r.healthyBefore} -> ${r.healthyAfter ?? "-"}`,
            `  inventory before: ${fmt(r.inventoryBefore)}; after: ${fmt(r.inventoryAfter)}`,
            ...(r.breakdown ? rtoBreakdownLines(r.breakdown) : []),
        );
    }
    if (r.error) lines.push(`FAILED: ${r.error}`);
    return lines.join("\n");
}

const fmt = (i: Inventory | null) =>
    i ? `${i.repositories} repositories, ${i.tags} tags, ${i.teamAccess} grants (${i.sha256.slice(0, 12)})` : "unknown";

if (require.main === module) {
    const spares: ExistingHostSpec[] = [];
    const program = new Command()
        .name("npm run recover --")
        .description("Diagnose a stack's DTR cluster, print the least-lossy recovery plan, and carry it out with --yes.")
        .requiredOption("--stack <name>", "the stack whose cluster to recover (no default: name it)")
        .option(
            "--state-dir <dir>",
            "the lab's state folder (file backend and passphrase); default: the backend pulumi uses (PULUMI_BACKEND_URL, login)",
            process.env.DTR_HA_STATE_DIR || undefined,
        )
        .option("--spare <json>", "a replacement host, as a hosts.existing entry in JSON (repeat for several)", (v: string) => {
            try {
                spares.push(JSON.parse(v) as ExistingHostSpec);
            } catch {
                throw new UsageError(
                    `--spare ${JSON.stringify(v)} is not JSON: give a hosts.existing entry, e.g. '{"name":"host4","address":"10.0.0.14","zone":"z4","hostKey":"ssh-ed25519 AAAA..."}'`,
                );
            }
            return v;
        })
        .option("--to-stack <name>", "class 3 only: the fresh stack to rebuild the cluster into")
        .option("--yes", "carry the plan out (without: diagnose and plan only, nothing changes)", false)
        .option("--json", "end with one JSON line", false)
        .showHelpAfterError()
        .action(async (o: { stack: string; stateDir?: string; yes: boolean; json: boolean; toStack?: string }) => {
            const steps = new Steps();
            const report = await recover({ ...o, spares }, steps);
            process.stderr.write(
                `\n${describePlan(report)}\n\n${steps.summary(report.ran ? (report.ok ? "recovered" : "recovery FAILED") : "plan only")}\n`,
            );
            if (o.json) {
                const { plan, ...rest } = report;
                process.stdout.write(
                    `${JSON.stringify({ ...rest, class: report.class, plan: plan?.steps ?? [], summary: plan?.summary })}\n`,
                );
            }
            process.exitCode = report.error || (report.ran && !report.ok) ? 1 : 0;
        });
    program.parseAsync().catch((e) => {
        process.stderr.write(`recover: ${(e as Error).message}\n`);
        process.exitCode = e instanceof UsageError ? 2 : 1;
    });
}

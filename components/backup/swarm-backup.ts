/**
 * Swarm backups (docker/docs ee/admin/backup/back-up-swarm.md): on a manager that is not the leader, stop the engine,
 * archive /var/lib/docker/swarm (raft log, node certificates and keys), start the engine, and once the node is a Ready
 * manager again stream the archive through the backup agent into S3 with a manifest. The archive sits in a tmpfs file
 * meanwhile (the agent is a container, and there is no engine while the directory is read). The restore puts one
 * manager's own swarm directory back so it rejoins the managers that kept quorum with its own identity.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { AGE_IDENTITY_ENV, BackupTarget, PREFIX, agentKeysCommand, agentReadCommands, agentRun, prefixOfManifestKey } from "./scripts";
import { BackupManifest, backupCommand } from "./dtr-backup";
import { BackupS3Access, agentEnvironment } from "./agent-env";
import { shellJoin, shellQuote } from "../dtr-cli/shell";

/** How the script stops and starts the host's engine (shell commands run on the host). */
export interface EngineControl {
    stop: string;
    start: string;
}

export const SYSTEMD_ENGINE: EngineControl = { stop: "systemctl stop docker", start: "systemctl start docker" };
/** The swarm unlock key, needed only when autolock is on (the engine comes back locked). */
export const SWARM_UNLOCK_KEY_ENV = "DTR_HA_SWARM_UNLOCK_KEY";

export interface SwarmBackupScriptArgs extends BackupTarget {
    cluster: string;
    sourceStack?: string;
    /** Default: systemd's docker unit. */
    engine?: EngineControl;
    /** The engine's data root (default /var/lib/docker); the swarm state is its `swarm` directory. */
    dataRoot?: string;
    /** Seconds to wait for the node to be a Ready, reachable manager again (default 120). */
    readyTimeout?: number;
}

export interface SwarmRestoreScriptArgs {
    agentImage: string;
    bucket: string;
    manifestKey: string;
    engine?: EngineControl;
    dataRoot?: string;
    readyTimeout?: number;
    /** Decrypt with the age identity in `DTR_HA_AGE_IDENTITY`. */
    encrypted?: boolean;
    /** `rejoin` (default: the other managers kept quorum) or `force-new-cluster` (the whole swarm was lost). */
    mode?: "rejoin" | "force-new-cluster";
    /**
     * `force-new-cluster` only: managers of the old swarm to probe besides those the backup names (its
     * `swarm/state.json`), e.g. managers added after the backup. `host` or `host:port` (default port 2377).
     */
    oldManagers?: string[];
}

/** The swarm port of a manager address: `host`, `host:port` or `[v6]:port`, as `host:port` (default 2377). */
export function managerProbeAddress(a: string, what = "swarmRestore.oldManagers"): string {
    const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::(\d{1,5}))?$/.exec(a);
    if (!m || (m[2] !== undefined && (Number(m[2]) < 1 || Number(m[2]) > 65535))) {
        throw new Error(`${what}: ${JSON.stringify(a)} is not a manager address; give host or host:port, e.g. 10.0.0.12:2377`);
    }
    return `${m[1]}:${m[2] ?? 2377}`;
}

/** Shell pattern a manager address (`host:port`) must match before it is probed (the backup's state.json is data). */
const PROBE_ADDRESS = "^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?):[0-9]{1,5}$";

function check(
    a: { bucket: string; prefix?: string; recipients?: string[]; dataRoot?: string; readyTimeout?: number; engine?: EngineControl },
    what: string,
): void {
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(a.bucket))
        throw new Error(`${what}.bucket=${JSON.stringify(a.bucket)} is not a valid bucket name`);
    if (a.prefix && !PREFIX.test(a.prefix))
        throw new Error(`${what}.prefix=${JSON.stringify(a.prefix)}: use letters, digits, . _ - and inner slashes, e.g. swarm`);
    for (const r of a.recipients ?? []) {
        if (!/^age1[0-9a-z]{20,}$/.test(r)) throw new Error(`${what}.recipients: ${JSON.stringify(r)} is not an age public key (age1...)`);
    }
    if (a.dataRoot !== undefined && !/^\/[A-Za-z0-9._/-]*[A-Za-z0-9._-]$/.test(a.dataRoot)) {
        throw new Error(
            `${what}.dataRoot=${JSON.stringify(a.dataRoot)}: give the engine's absolute data root without a trailing slash, e.g. /var/lib/docker`,
        );
    }
    if (a.readyTimeout !== undefined && !(Number.isInteger(a.readyTimeout) && a.readyTimeout >= 10 && a.readyTimeout <= 3600)) {
        throw new Error(`${what}.readyTimeout=${a.readyTimeout}: give whole seconds between 10 and 3600 (default 120)`);
    }
    for (const k of ["stop", "start"] as const) {
        const c = a.engine?.[k];
        if (c !== undefined && (!c.trim() || /[\n\r]/.test(c)))
            throw new Error(`${what}.engine.${k}=${JSON.stringify(c)}: give one non-empty command line, e.g. "systemctl ${k} docker"`);
    }
}

/** Shell functions both scripts share: engine up/down checks and the bounded wait for a Ready manager. */
function engineFunctions(engine: EngineControl, timeout: number, tag: string): string[] {
    return [
        "engine_up() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }",
        "stop_engine() {",
        `  ${engine.stop} >&2 || { echo "${tag} FAILED: the engine stop command failed: ${engine.stop.replace(/["$`\\]/g, "\\$&")}" >&2; return 1; }`,
        '  i=0; while engine_up; do i=$((i + 1)); [ $i -le 60 ] || { echo "' +
            tag +
            ' FAILED: the engine still answers 60 s after the stop command" >&2; return 1; }; sleep 1; done',
        "}",
        "start_engine() {",
        `  ${engine.start} >&2 || { echo "${tag} FAILED: the engine start command failed: ${engine.start.replace(/["$`\\]/g, "\\$&")}" >&2; return 1; }`,
        `  i=0; while ! engine_up; do i=$((i + 1)); [ $i -le ${timeout} ] || { echo "${tag} FAILED: the engine did not answer within ${timeout} s of starting" >&2; return 1; }; sleep 1; done`,
        "}",
        // Locked after a restart when autolock is on: unlock with the key from the environment (stdin, never argv).
        "unlock_if_locked() {",
        `  [ "$(docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null)" = locked ] || return 0`,
        `  [ -n "\${${SWARM_UNLOCK_KEY_ENV}:-}" ] || { echo "${tag} FAILED: the swarm is locked (autolock) and ${SWARM_UNLOCK_KEY_ENV} is not set; unlock with: docker swarm unlock" >&2; return 1; }`,
        `  printf '%s\\n' "$${SWARM_UNLOCK_KEY_ENV}" | docker swarm unlock >&2`,
        "}",
        // Ready and reachable as seen by the managers: the node's own view plus the cluster's.
        "wait_manager() {",
        "  i=0",
        "  while :; do",
        `    st=$(docker info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}' 2>/dev/null)`,
        `    [ "$st" = "active true" ] && ns=$(docker node inspect self --format '{{.Status.State}} {{.ManagerStatus.Reachability}}' 2>/dev/null) && [ "$ns" = "ready reachable" ] && return 0`,
        `    i=$((i + 2)); [ $i -le ${timeout} ] || { echo "${tag} FAILED: $(hostname) is not a Ready, reachable manager within ${timeout} s (state: $st \${ns:-})" >&2; return 1; }`,
        "    sleep 2",
        "  done",
        "}",
    ];
}

/** A tmpfs directory for the archive (swarm keys must not touch a disk): /dev/shm, else /run. */
const PICK_TMPFS = [
    "shm=''",
    'for d in /dev/shm /run; do [ "$(stat -f -c %T "$d" 2>/dev/null)" = tmpfs ] && [ -w "$d" ] && { shm=$d; break; }; done',
];

/**
 * Backs up this node's swarm state. Refuses (exit 1, nothing changed) unless this node is a manager, not the leader,
 * and the other managers keep quorum while it is down. Last stdout line: the catalog entry, as for DTR backups.
 */
export function swarmBackupScript(a: SwarmBackupScriptArgs): string {
    check(a, "swarmBackup");
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(a.cluster))
        throw new Error(`swarmBackup.cluster=${JSON.stringify(a.cluster)}: use letters, digits, . _ -`);
    const engine = a.engine ?? SYSTEMD_ENGINE;
    const root = a.dataRoot ?? "/var/lib/docker";
    const tag = "dtr-ha swarm backup";
    const keys = agentKeysCommand({ ...a, kind: "swarm" });
    const upload = shellJoin([
        ...agentRun(a.agentImage, true, true),
        "upload",
        "--bucket",
        a.bucket,
        "--kind",
        "swarm",
        "--cluster",
        a.cluster,
        ...(a.sourceStack ? ["--source-stack", a.sourceStack] : []),
        ...(a.recipients ?? []).flatMap((r) => ["--recipient", r]),
        ...(a.lock ? ["--lock-mode", a.lock.mode, "--retain-days", String(a.lock.days)] : []),
    ]);
    const putManifest = shellJoin([...agentRun(a.agentImage, true, false), "put-manifest", "--bucket", a.bucket]);
    return [
        "set -u",
        "umask 077",
        ...engineFunctions(engine, a.readyTimeout ?? 120, tag),
        "stopped=''; archive=''; work=''",
        // Whatever happens, the archive goes and an engine this script stopped is started again.
        `cleanup() { [ -n "$archive" ] && rm -f "$archive"; [ -n "$work" ] && rm -rf "$work"; if [ -n "$stopped" ]; then echo "${tag}: starting the engine again after a failure" >&2; start_engine; fi; }`,
        "trap cleanup EXIT",
        "trap 'exit 1' INT TERM HUP",
        `engine_up || { echo "${tag} REFUSED: the engine on $(hostname) does not answer; nothing was changed" >&2; exit 1; }`,
        `[ "$(docker info --format '{{.Swarm.ControlAvailable}}')" = true ] || { echo "${tag} REFUSED: $(hostname) is not a swarm manager; run it on a manager that is not the leader. Nothing was changed." >&2; exit 1; }`,
        `leader=$(docker node inspect self --format '{{.ManagerStatus.Leader}}') || { echo "${tag} REFUSED: cannot inspect this node; nothing was changed" >&2; exit 1; }`,
        `[ "$leader" = false ] || { echo "${tag} REFUSED: $(hostname) is the swarm leader; stopping it would force an election. Run it on another manager. Nothing was changed." >&2; exit 1; }`,
        `managers=$(docker node ls --filter role=manager --format '{{.ManagerStatus}}')`,
        `total=$(printf '%s\\n' "$managers" | grep -c .)`,
        `up=$(printf '%s\\n' "$managers" | grep -c -x -e Reachable -e Leader)`,
        // With this node down, the others that are reachable must still be a majority of all managers.
        `[ $((2 * (up - 1))) -gt "$total" ] || { echo "${tag} REFUSED: $up of $total managers are reachable; without $(hostname) the swarm would lose quorum. Nothing was changed." >&2; exit 1; }`,
        `node=$(docker info --format '{{.Swarm.NodeID}}')`,
        `autolock=$(docker info --format '{{.Swarm.Cluster.Spec.EncryptionConfig.AutoLockManagers}}' 2>/dev/null)`,
        `[ "$autolock" = true ] || autolock=false`,
        `if [ "$autolock" = true ] && [ -z "\${${SWARM_UNLOCK_KEY_ENV}:-}" ]; then echo "${tag} REFUSED: autolock is on and ${SWARM_UNLOCK_KEY_ENV} is not set: the engine would come back locked. Nothing was changed." >&2; exit 1; fi`,
        `engineVersion=$(docker version --format '{{.Server.Version}}')`,
        `addr=$(docker info --format '{{.Swarm.NodeAddr}}')`,
        // Key names before the engine stops (the agent is a container).
        `keys=$(${keys}) || { echo "${tag} FAILED: the agent could not name the keys; nothing was changed" >&2; exit 1; }`,
        `obj=$(printf '%s' "$keys" | sed -n 's/.*"objectKey":"\\([^"]*\\)".*/\\1/p')`,
        `man=$(printf '%s' "$keys" | sed -n 's/.*"manifestKey":"\\([^"]*\\)".*/\\1/p')`,
        ...PICK_TMPFS,
        `[ -n "$shm" ] || { echo "${tag} REFUSED: neither /dev/shm nor /run is a writable tmpfs; the swarm keys would be written to disk. Nothing was changed." >&2; exit 1; }`,
        `need=$(du -sk ${shellQuote(root + "/swarm")} | cut -f1); free=$(df -Pk "$shm" | awk 'NR==2 {print $4}')`,
        `[ "$need" -lt "$free" ] || { echo "${tag} REFUSED: the swarm directory (\${need} KiB) does not fit in $shm (\${free} KiB free); nothing was changed" >&2; exit 1; }`,
        `archive=$(mktemp "$shm/dtr-ha-swarm.XXXXXX") || exit 1`,
        `work=$(mktemp -d) || exit 1`,
        `echo "${tag}: node $node on $(hostname) ($addr, engine $engineVersion, autolock $autolock): stopping the engine" >&2`,
        "stopped=1",
        "stop_engine || exit 1",
        `tar -C ${shellQuote(root)} -cf "$archive" swarm || { echo "${tag} FAILED: tar of ${root}/swarm failed" >&2; exit 1; }`,
        "stopped=''",
        "start_engine || exit 1",
        "unlock_if_locked || exit 1",
        "wait_manager || exit 1",
        `echo "${tag}: $(hostname) is a Ready manager again; uploading $(wc -c < "$archive") bytes" >&2`,
        `${upload} --key "$obj" --meta "nodeId=$node" --meta "engineVersion=$engineVersion" --meta "nodeAddr=$addr" --meta "autolock=$autolock" --meta "hostname=$(hostname)" < "$archive" > "$work/manifest.json" || {`,
        `  echo "${tag} FAILED: upload failed; no manifest written" >&2; exit 1; }`,
        `${putManifest} --key "$man" < "$work/manifest.json" >&2 || { echo "${tag} FAILED: the manifest could not be stored" >&2; exit 1; }`,
        `echo "${tag}: stored s3://${a.bucket}/$obj, manifest $man" >&2`,
        `printf '{"manifestKey":"%s","manifest":' "$man"; tr -d '\\n' < "$work/manifest.json"; echo '}'`,
    ].join("\n");
}

/**
 * `force-new-cluster` next to managers that still hold quorum splits the swarm in two, so it runs only when no manager
 * of the old swarm answers. The old managers are those the backup names (`swarm/state.json`: swarmkit's remotes,
 * `[{"node_id":..,"addr":"host:2377"}]`) plus `oldManagers`; this node's own address is left out (its state is
 * replaced anyway), but this node must not be a manager of a swarm that has quorum. Each is probed on its swarm port
 * with a TCP connect: curl's `telnet://` with a 2 s connect timeout, since curl is on the hosts (the engine install and
 * the UCP wait use it) while `nc`/`timeout` may not be and dash has no /dev/tcp. Connected means alive; a probe that
 * cannot tell (no curl, no answer from curl) refuses too. Addresses reach the script as data: the caller's list as one
 * quoted word, the backup's from the archive, each matched against PROBE_ADDRESS before it is used.
 */
function lostSwarmGate(tag: string, oldManagers: string[]): string[] {
    const refuse = (why: string) => `{ echo "${tag} REFUSED: ${why}; nothing was changed" >&2; exit 1; }`;
    return [
        `command -v curl >/dev/null 2>&1 || ${refuse("curl is needed to probe the old managers on their swarm port")}`,
        `listed=${shellQuote(oldManagers.join("\n"))}`,
        `if ! tar -tf "$archive" | grep -qx 'swarm/state.json' && [ -z "$listed" ]; then ${refuse("the backup has no swarm/state.json, so the old managers are unknown: list them in oldManagers")}; fi`,
        `peers=$(tar -xOf "$archive" swarm/state.json 2>/dev/null | tr ',{}' '\\n\\n\\n' | sed -n 's/.*"addr":"\\([^"]*\\)".*/\\1/p')`,
        `old=$(printf '%s\\n%s\\n' "$peers" "$listed" | grep -v '^$' | sort -u)`,
        `bad=$(printf '%s\\n' "$old" | grep -v '^$' | grep -vE ${shellQuote(PROBE_ADDRESS)} | head -n 1)`,
        `[ -z "$bad" ] || ${refuse("cannot probe the old manager address $bad (from the backup's swarm/state.json)")}`,
        `if [ "$(docker info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}' 2>/dev/null)" = "active true" ] && docker node ls -q >/dev/null 2>&1; then ${refuse("$(hostname) is a manager of a swarm that has quorum: the swarm is not lost; restore with 'manager' set (rejoin mode) instead")}; fi`,
        // 0: connected (alive); 1: refused, unreachable or connect timeout (curl 7 or 28 without a connection, silent);
        // 2: cannot tell (anything else, e.g. a curl without telnet support, exit 1): refused like a live one.
        `probe() { n=$(curl -s -o /dev/null --noproxy '*' -w '%{num_connects}' --connect-timeout 2 --max-time 3 "telnet://$1" </dev/null 2>/dev/null); c=$?; case "$n" in [1-9]*) return 0 ;; 0) case $c in 7 | 28) return 1 ;; esac ;; esac; return 2; }`,
        "self=${addr%:*}; live=''; why=''; silent=0",
        "set -f",
        "for m in $old; do",
        `  case "$m" in "$self":*|"[$self]":*) continue ;; esac`,
        '  probe "$m"; prc=$?',
        "  [ $prc -eq 1 ] && { silent=$((silent + 1)); continue; }",
        "  live=$m; if [ $prc -eq 0 ]; then why='still answers'; else why='could not be probed'; fi; break",
        "done",
        "set +f",
        `[ -z "$live" ] || ${refuse("manager $live $why: the swarm is not lost; restore one manager with 'manager' set (rejoin mode) instead")}`,
        `echo "${tag}: none of the $silent other managers of the old swarm answers on its swarm port: the swarm is lost" >&2`,
    ];
}

/**
 * Restores this node's swarm directory from a backup of the SAME node (same address and engine version). Verify,
 * download into tmpfs, stop the engine, set the current directory aside, extract, start. Any failure after the stop
 * puts the previous directory back and starts the engine.
 *
 * - `rejoin` (default): one manager is lost while the others keep quorum. A stale raft log cannot rejoin a live raft
 *   group as the same member: the leader remembers a higher match index and etcd raft panics ("tocommit(N) is out of
 *   range [lastIndex(M)]", seen in the lab). So only the node's identity is restored (certificates, keys, state), not
 *   `swarm/raft`: the node comes back as itself (same node id, manager certificate) and joins raft as a new member.
 *   Run `swarmPeerScript("before-restore", id)` on a healthy manager first and `swarmPeerScript("after-restore", id)`
 *   after.
 * - `force-new-cluster`: the whole swarm is lost (docker/docs back-up-swarm.md): restore everything on one manager and
 *   `docker swarm init --force-new-cluster`; the other nodes join it again afterwards. Refused, before the engine
 *   stops, while any old manager still answers on its swarm port (see lostSwarmGate).
 */
export function swarmRestoreScript(a: SwarmRestoreScriptArgs): string {
    check(a, "swarmRestore");
    if (!/\.manifest\.json$/.test(a.manifestKey) || /[^A-Za-z0-9._/-]/.test(a.manifestKey)) {
        throw new Error(`swarmRestore.manifestKey=${JSON.stringify(a.manifestKey)} must name a *.manifest.json object`);
    }
    const mode = a.mode ?? "rejoin";
    if (mode !== "rejoin" && mode !== "force-new-cluster")
        throw new Error(`swarmRestore.mode=${JSON.stringify(mode)}: use rejoin or force-new-cluster`);
    if (a.oldManagers !== undefined && mode !== "force-new-cluster")
        throw new Error("swarmRestore.oldManagers: only force-new-cluster probes the old managers; rejoin needs a live one");
    const oldManagers = (a.oldManagers ?? []).map((m) => managerProbeAddress(m));
    const engine = a.engine ?? SYSTEMD_ENGINE;
    const root = a.dataRoot ?? "/var/lib/docker";
    const timeout = a.readyTimeout ?? 120;
    const tag = "dtr-ha swarm restore";
    const list = shellJoin([...agentRun(a.agentImage, false, false), "list", "--bucket", a.bucket, ...prefixOfManifestKey(a.manifestKey)]);
    const { verify, download } = agentReadCommands(a);
    const sw = shellQuote(`${root}/swarm`);
    const meta = (k: string) => `$(printf '%s' "$entry" | sed -n 's/.*"${k}":"\\([^"]*\\)".*/\\1/p')`;
    return [
        "set -u",
        "umask 077",
        ...engineFunctions(engine, timeout, tag),
        "stopped=''; archive=''; aside=''; done_=''",
        // On failure after the stop: the directory that was there goes back, and the engine is started.
        "cleanup() {",
        '  [ -n "$archive" ] && rm -f "$archive"',
        `  if [ -z "$done_" ] && [ -n "$aside" ] && [ -d "$aside" ]; then engine_up && stop_engine; rm -rf ${sw}; mv "$aside" ${sw} && echo "${tag}: put the previous swarm directory back" >&2; stopped=1; fi`,
        `  if [ -n "$stopped" ]; then start_engine; fi`,
        "}",
        "trap cleanup EXIT",
        "trap 'exit 1' INT TERM HUP",
        // The agent is a container: it needs an engine (a node whose engine was stopped, or whose swarm is wiped, too).
        `engine_up || { echo "${tag}: the engine does not answer; starting it to run the agent" >&2; start_engine || exit 1; }`,
        `entry=$(${list} | grep -F ${shellQuote(`"manifestKey":"${a.manifestKey}"`)}) || { echo "${tag} REFUSED: no valid manifest ${a.manifestKey} in s3://${a.bucket}; nothing was changed" >&2; exit 1; }`,
        `kind=${meta("kind")}; node=${meta("nodeId")}; addr=${meta("nodeAddr")}; version=${meta("engineVersion")}`,
        `[ "$kind" = swarm ] && [ -n "$node" ] || { echo "${tag} REFUSED: ${a.manifestKey} is not a Swarm backup (kind \${kind:-unknown}); nothing was changed" >&2; exit 1; }`,
        // Same address and engine version as the backup (back-up-swarm.md).
        `here=$(docker version --format '{{.Server.Version}}')`,
        `[ "$here" = "$version" ] || { echo "${tag} REFUSED: the backup is of engine $version, this engine is $here; restore onto the same engine version. Nothing was changed." >&2; exit 1; }`,
        `if command -v ip >/dev/null; then ip -o addr show | grep -q " inet \${addr%:*}/" || { echo "${tag} REFUSED: the backup's node address \${addr%:*} is not an address of $(hostname); restore onto the same IP. Nothing was changed." >&2; exit 1; }; fi`,
        `${verify} >&2 || { echo "${tag} REFUSED: the backup does not match its manifest; nothing was changed" >&2; exit 1; }`,
        ...PICK_TMPFS,
        `[ -n "$shm" ] || { echo "${tag} REFUSED: neither /dev/shm nor /run is a writable tmpfs; nothing was changed" >&2; exit 1; }`,
        `archive=$(mktemp "$shm/dtr-ha-swarm.XXXXXX") || exit 1`,
        `${download} > "$archive" || { echo "${tag} FAILED: download failed; nothing was changed" >&2; exit 1; }`,
        `tar -tf "$archive" | grep -qx 'swarm/certificates/swarm-node.key' || { echo "${tag} REFUSED: the backup holds no swarm/certificates/swarm-node.key; it is not a Swarm backup. Nothing was changed." >&2; exit 1; }`,
        ...(mode === "force-new-cluster" ? lostSwarmGate(tag, oldManagers) : []),
        `echo "${tag}: backup of node $node verified and downloaded; stopping the engine on $(hostname) (mode ${mode})" >&2`,
        "stopped=1",
        "stop_engine || exit 1",
        `if [ -e ${sw} ]; then aside=${shellQuote(`${root}/swarm.before-restore`)}.$(date +%Y%m%dT%H%M%S); mv ${sw} "$aside" || exit 1; echo "${tag}: previous swarm directory kept in $aside" >&2; fi`,
        `tar -C ${shellQuote(root)} -xpf "$archive"${mode === "rejoin" ? " --exclude=swarm/raft" : ""} || { echo "${tag} FAILED: extracting the backup failed" >&2; exit 1; }`,
        "stopped=''",
        "start_engine || { stopped=1; exit 1; }",
        "unlock_if_locked || exit 1",
        ...(mode === "force-new-cluster"
            ? [
                  `docker swarm init --force-new-cluster >&2 || { echo "${tag} FAILED: docker swarm init --force-new-cluster failed" >&2; exit 1; }`,
                  "wait_manager || exit 1",
              ]
            : [
                  "i=0",
                  // A manager again: raft membership up and the control API answering on this node.
                  `until [ "$(docker info --format '{{.Swarm.LocalNodeState}} {{.Swarm.NodeID}} {{.Swarm.ControlAvailable}}' 2>/dev/null)" = "active $node true" ]; do`,
                  `  i=$((i + 2)); [ $i -le ${timeout} ] || { echo "${tag} FAILED: $(hostname) did not rejoin the swarm as manager $node within ${timeout} s; did swarmPeerScript before-restore run on a healthy manager?" >&2; exit 1; }`,
                  "  sleep 2",
                  "done",
              ]),
        "done_=1",
        `echo "${tag}: $(hostname) is back in the swarm as node $node (restored from ${a.manifestKey}, mode ${mode})"`,
    ].join("\n");
}

/** Refuses anything but a swarm node id (as `docker node ls` prints it). */
export function checkSwarmNodeId(nodeId: string): void {
    if (!/^[a-z0-9]{25}$/.test(nodeId))
        throw new Error(`swarm node id ${JSON.stringify(nodeId)} is not a node id (25 lowercase letters and digits, from docker node ls)`);
}

/**
 * Run on a healthy manager around a `rejoin` restore of manager `nodeId`.
 *
 * `before-restore` (the node's engine stopped): waits until the managers see it Down, demotes it, waits until its raft
 * member is removed, and promotes it again. Why the promotion comes BEFORE the restore: the restored node starts with
 * its manager certificate and joins raft at once, as a new member. Were it still a worker in the store, the CA would
 * renew its certificate as a worker and stop its manager, leaving that new raft member behind; the promotion that
 * follows then re-uses the stale member, whose match index the empty raft log cannot satisfy, and dockerd panics
 * ("tocommit(N) is out of range [lastIndex(0)]", seen in the lab about one run in three). Refused while the node is still
 * Ready, or when removing its member would cost the managers their quorum (docker refuses the demotion).
 *
 * `after-restore`: waits until the node is a Ready, reachable manager again.
 *
 * `forget`: after a `force-new-cluster` restore, removes a node of the old swarm that is not coming back (its host was
 * replaced and joined as a new node), or any lost node. Waits (bounded by `readyTimeout`) until the managers mark it
 * Down: until then it is Unknown and might still answer; a Ready node is refused, never force-removed. A raft member is
 * demoted out of raft first; then `docker node rm`.
 */
export function swarmPeerScript(action: "before-restore" | "after-restore" | "forget", nodeId: string, readyTimeout = 120): string {
    checkSwarmNodeId(nodeId);
    if (action !== "before-restore" && action !== "after-restore" && action !== "forget")
        throw new Error(`swarmPeer action ${JSON.stringify(action)}: use before-restore, after-restore or forget`);
    if (!Number.isInteger(readyTimeout) || readyTimeout < 10)
        throw new Error(`swarmPeer readyTimeout=${readyTimeout}: use a whole number of seconds, at least 10`);
    const tag = `dtr-ha swarm ${action}`;
    const role = `docker node inspect ${nodeId} --format '{{.Spec.Role}} {{if .ManagerStatus}}member{{else}}gone{{end}}'`;
    if (action === "before-restore") {
        return [
            "set -u",
            // A node whose engine just stopped stays Ready until its heartbeat expires: wait (bounded) for Down.
            "i=0",
            "while :; do",
            `  st=$(docker node inspect ${nodeId} --format '{{.Status.State}}') || { echo "${tag} REFUSED: node ${nodeId} is unknown to this manager" >&2; exit 1; }`,
            `  [ "$st" = ready ] || break`,
            `  i=$((i + 2)); [ $i -le 60 ] || { echo "${tag} REFUSED: node ${nodeId} is still Ready after 60 s; stop its engine before restoring it" >&2; exit 1; }`,
            "  sleep 2",
            "done",
            `case "$(${role})" in "worker "*) echo "${tag}: node ${nodeId} is a worker; nothing to demote" >&2 ;; *) docker node demote ${nodeId} >&2 || exit 1 ;; esac`,
            // The raft member is removed after the demotion, asynchronously: wait until it is no longer a member.
            "i=0",
            `until [ "$(${role})" = "worker gone" ]; do`,
            `  i=$((i + 1)); [ $i -le 60 ] || { echo "${tag} FAILED: node ${nodeId} is still a raft member 60 s after the demotion; do not restore it yet" >&2; exit 1; }`,
            "  sleep 1",
            "done",
            `docker node promote ${nodeId} >&2 || { echo "${tag} FAILED: node ${nodeId} is out of raft but could not be promoted again; run docker node promote ${nodeId} before restoring it" >&2; exit 1; }`,
            `echo "${tag}: node ${nodeId} is out of raft and a manager again in the store; restore it now, it joins raft as a new member"`,
        ].join("\n");
    }
    if (action === "forget") {
        return [
            "set -u",
            "i=0",
            "while :; do",
            `  st=$(docker node inspect ${nodeId} --format '{{.Status.State}}') || { echo "${tag} REFUSED: node ${nodeId} is unknown to this manager" >&2; exit 1; }`,
            `  case "$st" in down) break ;; ready) echo "${tag} REFUSED: node ${nodeId} is Ready: it is not lost; not removing it" >&2; exit 1 ;; esac`,
            `  i=$((i + 2)); [ $i -le ${readyTimeout} ] || { echo "${tag} FAILED: node ${nodeId} is still $st after ${readyTimeout} s, not Down; not removing it" >&2; exit 1; }`,
            "  sleep 2",
            "done",
            // Still a raft member (lost while the others kept quorum): demote it out of raft first. A manager of the
            // old swarm after force-new-cluster is no member; docker refuses to demote it and removes it as it is.
            `if [ "$(${role})" = "manager member" ]; then`,
            `  docker node demote ${nodeId} >&2 || exit 1`,
            "  i=0",
            `  until [ "$(${role})" = "worker gone" ]; do i=$((i + 1)); [ $i -le 60 ] || { echo "${tag} FAILED: node ${nodeId} is still a raft member 60 s after the demotion" >&2; exit 1; }; sleep 1; done`,
            "fi",
            `docker node rm ${nodeId} >&2 || { echo "${tag} FAILED: docker node rm ${nodeId} failed" >&2; exit 1; }`,
            `echo "${tag}: node ${nodeId} of the lost swarm removed"`,
        ].join("\n");
    }
    return [
        "set -u",
        "i=0",
        `until [ "$(docker node inspect ${nodeId} --format '{{.Status.State}} {{.ManagerStatus.Reachability}}' 2>/dev/null)" = "ready reachable" ]; do`,
        `  i=$((i + 2)); [ $i -le ${readyTimeout} ] || { echo "${tag} FAILED: node ${nodeId} is not a Ready, reachable manager within ${readyTimeout} s: $(docker node inspect ${nodeId} --format '{{.Status.State}} {{.Spec.Role}} {{if .ManagerStatus}}{{.ManagerStatus.Reachability}}{{else}}not-in-raft{{end}}' 2>&1)" >&2; exit 1; }`,
        "  sleep 2",
        "done",
        `echo "${tag}: node ${nodeId} is a Ready, reachable manager"`,
    ].join("\n");
}

export interface SwarmBackupArgs {
    clusterName: string;
    /** The stack the backup comes from (recorded in the manifest). */
    sourceStack?: string;
    /** SSH connection to the manager that runs the backup: a manager that is not the leader (the script refuses otherwise). */
    connection: pulumi.Input<command.types.input.remote.ConnectionArgs>;
    target: pulumi.Input<BackupTarget>;
    s3: BackupS3Access;
    /** How to stop and start the engine on that host (default systemd's docker unit). */
    engine?: EngineControl;
    /** The engine's data root (default /var/lib/docker). */
    dataRoot?: string;
    /** Seconds to wait for the node to be a Ready manager again (default 120). */
    readyTimeout?: number;
    /** The swarm unlock key, when autolock is on (a secret; reaches the host through SSH's environment only). */
    unlockKey?: pulumi.Input<string>;
    /** Any change takes a new backup. */
    triggers: pulumi.Input<unknown>[];
}

/**
 * One Swarm backup of a non-leader manager, into the backup bucket with a manifest. Its output is the manifest. Order
 * Swarm, then UCP, then DTR by passing `command` to the next backup's `dependsOn`.
 */
export class SwarmBackup extends pulumi.ComponentResource {
    public readonly manifest: pulumi.Output<BackupManifest>;
    public readonly manifestKey: pulumi.Output<string>;
    public readonly command: command.remote.Command;

    constructor(name: string, args: SwarmBackupArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dtr-ha:index:SwarmBackup", name, {}, opts);
        const script = pulumi.output(args.target as pulumi.Input<BackupTarget>).apply((t) =>
            swarmBackupScript({
                ...t,
                cluster: args.clusterName,
                sourceStack: args.sourceStack,
                engine: args.engine,
                dataRoot: args.dataRoot,
                readyTimeout: args.readyTimeout,
            }),
        );
        const environment: Record<string, pulumi.Input<string>> = { ...agentEnvironment(args.s3) };
        if (args.unlockKey !== undefined) environment[SWARM_UNLOCK_KEY_ENV] = pulumi.secret(args.unlockKey);
        // Secret as a whole, so the command's stored environment is one encrypted value.
        ({
            command: this.command,
            manifest: this.manifest,
            manifestKey: this.manifestKey,
        } = backupCommand(`${name}-swarm`, this, {
            connection: args.connection,
            environment: pulumi.secret(environment),
            create: script,
            triggers: args.triggers,
        }));
        this.registerOutputs({ manifest: this.manifest, manifestKey: this.manifestKey });
    }
}

export interface SwarmRestoreArgs {
    /** The manifest of a Swarm backup of the host being restored (`SwarmBackup.manifestKey`, or `npm run backups -- list`). */
    manifestKey: pulumi.Input<string>;
    /** The node id in that backup (its manifest's `meta.nodeId`): the id the node comes back with. */
    nodeId: pulumi.Input<string>;
    /** SSH connection to the host being restored: the same address and engine version as when it was backed up. */
    connection: pulumi.Input<command.types.input.remote.ConnectionArgs>;
    /**
     * SSH connection to a healthy manager, for `rejoin` (the other managers kept quorum): it takes the node out of raft
     * before the restore and checks it is a Ready, reachable manager after. Leave it out when the whole swarm is lost:
     * the node then comes back with `--force-new-cluster`, as the sole manager; join the other hosts to it, and remove
     * the lost nodes with `swarmPeerScript("forget", id)`.
     */
    manager?: pulumi.Input<command.types.input.remote.ConnectionArgs>;
    /**
     * Without `manager` only: addresses (`host` or `host:port`, default port 2377) of old managers to probe besides those
     * the backup names, e.g. managers added after the backup. The restore refuses, before it stops the engine, while
     * any of them answers on its swarm port.
     */
    oldManagers?: pulumi.Input<string[]>;
    target: pulumi.Input<Pick<BackupTarget, "agentImage" | "bucket">>;
    s3: BackupS3Access;
    /** How to stop and start the engine on the restored host (default systemd's docker unit). */
    engine?: EngineControl;
    /** The engine's data root on the restored host (default /var/lib/docker). */
    dataRoot?: string;
    /** Seconds to wait for the engine and for the node to be a manager again (default 120). */
    readyTimeout?: number;
    /** The age secret key, when the backup was encrypted to its public key (a secret; SSH's environment only). */
    ageIdentity?: pulumi.Input<string>;
    /** The swarm unlock key, when autolock is on (a secret; SSH's environment only). */
    unlockKey?: pulumi.Input<string>;
    /** Any change runs the restore again. */
    triggers: pulumi.Input<unknown>[];
}

/**
 * Restores one manager's swarm state from its backup: `rejoin` when `manager` is given (before-restore on that manager,
 * the restore on the node, after-restore on the manager, strictly in that order), `force-new-cluster` otherwise (refused
 * while an old manager answers: see swarmRestoreScript). One-shot
 * commands: deleting the component changes nothing on the hosts. `restored` is the restore's last line.
 */
export class SwarmRestore extends pulumi.ComponentResource {
    public readonly mode: "rejoin" | "force-new-cluster";
    public readonly restored: pulumi.Output<string>;
    /** The last command (after-restore, or the restore itself): later steps depend on it. */
    public readonly command: command.remote.Command;

    constructor(name: string, args: SwarmRestoreArgs, opts?: pulumi.ComponentResourceOptions) {
        // Plain values are checked now, so a typo fails the program before any resource is declared.
        if (typeof args.nodeId === "string") checkSwarmNodeId(args.nodeId);
        if (args.oldManagers !== undefined && args.manager !== undefined)
            throw new Error("SwarmRestore: oldManagers is for a lost swarm (no manager); with manager set, the restore rejoins it");
        if (Array.isArray(args.oldManagers))
            args.oldManagers.forEach((m) => typeof m === "string" && managerProbeAddress(m, "SwarmRestore.oldManagers"));
        super("dtr-ha:index:SwarmRestore", name, {}, opts);
        this.mode = args.manager === undefined ? "force-new-cluster" : "rejoin";
        const mode = this.mode;
        const peer = (action: "before-restore" | "after-restore", dependsOn: pulumi.Resource[]): command.remote.Command =>
            new command.remote.Command(
                `${name}-${action}`,
                {
                    connection: args.manager!,
                    create: pulumi.output(args.nodeId).apply((id) => swarmPeerScript(action, id, args.readyTimeout)),
                    triggers: args.triggers,
                    delete: "true",
                },
                { parent: this, dependsOn },
            );
        const before = mode === "rejoin" ? peer("before-restore", []) : undefined;
        const environment: Record<string, pulumi.Input<string>> = { ...agentEnvironment(args.s3) };
        if (args.ageIdentity !== undefined) environment[AGE_IDENTITY_ENV] = pulumi.secret(args.ageIdentity);
        if (args.unlockKey !== undefined) environment[SWARM_UNLOCK_KEY_ENV] = pulumi.secret(args.unlockKey);
        const restore = new command.remote.Command(
            `${name}-restore`,
            {
                connection: args.connection,
                environment: pulumi.secret(environment),
                create: pulumi.all([args.target, args.manifestKey, args.oldManagers]).apply(([t, manifestKey, oldManagers]) =>
                    swarmRestoreScript({
                        agentImage: t.agentImage,
                        bucket: t.bucket,
                        manifestKey,
                        engine: args.engine,
                        dataRoot: args.dataRoot,
                        readyTimeout: args.readyTimeout,
                        encrypted: args.ageIdentity !== undefined,
                        mode,
                        oldManagers,
                    }),
                ),
                triggers: args.triggers,
                delete: "true",
            },
            { parent: this, dependsOn: before ? [before] : [] },
        );
        this.command = mode === "rejoin" ? peer("after-restore", [restore]) : restore;
        this.restored = restore.stdout.apply((s) => s.trim().split("\n").pop() ?? "");
        this.registerOutputs({ restored: this.restored });
    }
}

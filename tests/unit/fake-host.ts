/**
 * A fake host for running generated host scripts in dash: a `docker` that keeps volumes (with labels) and containers in
 * a directory and logs every call, and a `curl` whose /_ping answers are set per address. Everything else is the
 * machine's own /usr/bin and /bin.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** The replica id the record helpers below use. */
export const ID = "0123456789ab";

/**
 * A fake engine: `volume ls/inspect/create/rm`, `ps -a` (the file containers), `info --format` (the file swarm-control,
 * else false), `network inspect/rm` (a file per network under networks/, refused while <name>.in-use exists), and every
 * call appended to calls.log.
 */
export const FAKE_DOCKER = `#!/bin/sh
# volumes: one directory each under $FAKE_DOCKER_DIR/volumes, one file per label
d=$FAKE_DOCKER_DIR
echo "$*" >> "$d/calls.log"
[ -e "$d/down" ] && { echo "Cannot connect to the Docker daemon" >&2; exit 1; }
v=$d/volumes
case "$1 $2" in
"volume ls") f=$6; f=\${f#name=}; for n in $(ls "$v"); do case "$n" in *"$f"*) echo "$n";; esac; done ;;
"volume inspect")
  eval "n=\\\${$#}"
  [ -d "$v/$n" ] || { echo "Error: No such volume: $n" >&2; exit 1; }
  if [ "$3" = --format ]; then l=$(printf '%s' "$4" | sed 's/.*"\\([^"]*\\)".*/\\1/'); cat "$v/$n/$l" 2>/dev/null; echo; fi ;;
"volume create")
  shift 2; tmp=$(mktemp -d)
  while [ "$1" = --label ]; do printf '%s' "\${2#*=}" > "$tmp/\${2%%=*}"; shift 2; done
  rm -rf "$v/$1"; mv "$tmp" "$v/$1"; echo "$1" ;;
"volume rm") rm -rf "$v/$3" ;;
"ps -a") [ -f "$d/containers" ] && cat "$d/containers" ;;
"info --format") cat "$d/swarm-control" 2>/dev/null || echo false ;;
"network inspect")
  eval "n=\\\${$#}"
  [ -e "$d/networks/$n" ] || { echo "Error response from daemon: network $n not found" >&2; exit 1; }
  echo swarm ;;
"network rm")
  [ -e "$d/networks/$3" ] || { echo "Error response from daemon: No such network: $3" >&2; exit 1; }
  [ -e "$d/networks/$3.in-use" ] && { echo "Error response from daemon: rpc error: code = FailedPrecondition desc = network $3 is in use by task abc" >&2; exit 1; }
  rm -f "$d/networks/$3"; echo "$3" ;;
esac
exit 0
`;

/**
 * A fake curl: prints the code listed for the URL's host in curl-codes ("address code" lines), 200 otherwise; a
 * cluster_status request gets the file status-body as its body (-o).
 */
export const FAKE_CURL = `#!/bin/sh
d=$FAKE_DOCKER_DIR
echo "curl $*" >> "$d/calls.log"
url=''; out=''; prev=''
for a in "$@"; do case "$a" in https://*) url=$a;; esac; [ "$prev" = -o ] && out=$a; prev=$a; done
h=\${url#https://}; h=\${h%%:*}
code=200
[ -f "$d/curl-codes" ] && c=$(sed -n "s/^$h //p" "$d/curl-codes") && [ -n "$c" ] && code=$c
[ "$code" = unreachable ] && exit 7
case "$url" in */cluster_status) [ -n "$out" ] && [ "$out" != /dev/null ] && cat "$d/status-body" > "$out" 2>/dev/null;; esac
printf '%s' "$code"
`;

export interface FakeHost {
    dir: string;
    run(script: string, env: Record<string, string>): { code: number; stdout: string; stderr: string; calls: string[] };
    record(): Record<string, string> | undefined;
    setRecord(labels: Record<string, string>): void;
    /** /_ping answers per address (default 200); "unreachable" makes curl fail to connect. */
    setPing(codes: Record<string, string>): void;
    /** DTR's cluster status as the API returns it: each member's replica_health. */
    setStatus(replicaHealth: Record<string, string>): void;
}

export function fakeHost(): FakeHost {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dtr-ha-owner-"));
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, "docker"), FAKE_DOCKER, { mode: 0o755 });
    fs.writeFileSync(path.join(bin, "curl"), FAKE_CURL, { mode: 0o755 });
    fs.mkdirSync(path.join(dir, "volumes"));
    const vol = path.join(dir, "volumes", `dtrha_owner_${ID}`);
    const read = (): Record<string, string> | undefined =>
        fs.existsSync(vol)
            ? Object.fromEntries(fs.readdirSync(vol).map((l) => [l, fs.readFileSync(path.join(vol, l), "utf8")]))
            : undefined;
    return {
        dir,
        run(script, env) {
            fs.writeFileSync(path.join(dir, "calls.log"), "");
            const r = spawnSync("dash", ["-c", script], {
                env: { PATH: `${bin}:/usr/bin:/bin`, FAKE_DOCKER_DIR: dir, HOME: dir, ...env },
                encoding: "utf8",
                cwd: dir,
            });
            const calls = fs.readFileSync(path.join(dir, "calls.log"), "utf8").split("\n").filter(Boolean);
            return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, calls };
        },
        record: read,
        setPing: (codes) =>
            fs.writeFileSync(
                path.join(dir, "curl-codes"),
                Object.entries(codes)
                    .map(([a, c]) => `${a} ${c}\n`)
                    .join(""),
            ),
        setStatus: (health) =>
            fs.writeFileSync(path.join(dir, "status-body"), JSON.stringify({ replica_health: health, replica_readonly: {} }, null, 2)),
        setRecord: (labels) => {
            fs.rmSync(vol, { recursive: true, force: true });
            fs.mkdirSync(vol);
            for (const [k, v] of Object.entries(labels)) fs.writeFileSync(path.join(vol, k), v);
        },
    };
}

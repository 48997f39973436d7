/**
 * Several fake hosts behind a fake `ssh`, for running the steps that reach the hosts from this machine (via-ssh.sh) in
 * dash: each host is a fake-host (its own engine and curl); the fake ssh refuses a host marked down (as a timeout) or
 * whose pinned key differs, and passes on only the variables named by SendEnv, as sshd's AcceptEnv would.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { FakeHost, fakeHost } from "./fake-host";

const FAKE_SSH = `#!/bin/sh
f=$FAKE_FLEET
send=''; kh=''; port=22
while [ $# -gt 0 ]; do
  case "$1" in
    -F|-i|-l) shift 2 ;;
    -o) case "$2" in SendEnv=*) send="$send \${2#SendEnv=}";; UserKnownHostsFile=*) kh=\${2#UserKnownHostsFile=};; esac; shift 2 ;;
    -p) port=$2; shift 2 ;;
    *) break ;;
  esac
done
addr=$1; shift
[ "$*" = "sh -s" ] || { echo "fake ssh: the remote command must be sh -s, got: $*" >&2; exit 2; }
set --
echo "$addr" >> "$f/ssh.log"
[ -e "$f/down/$addr" ] && { echo "ssh: connect to host $addr port $port: Connection timed out" >&2; exit 255; }
grep -q " $(cat "$f/hostkey/$addr")$" "$kh" || { echo "Host key verification failed." >&2; exit 255; }
names=''
for n in $send; do
  eval "isset=\\\${$n+x}"
  [ -n "$isset" ] || continue
  names="$names $n"
  eval "v=\\$$n"
  set -- "$@" "$n=$v"
done
echo "$addr:$names" >> "$f/sent.log"
h=$f/hosts/$addr
exec env -i PATH="$h/bin:/usr/bin:/bin" HOME="$h" FAKE_DOCKER_DIR="$h" "$@" sh -s
`;

export const KEY_DATA = "AAAAC3NzaC1lZDI1NTE5AAAAIFAKEFAKEFAKE";

export interface Fleet {
    hosts: Record<string, FakeHost>;
    /** Runs a local script (the steps' text) with the fake ssh first on PATH. */
    run(script: string, env: Record<string, string>): { code: number; stdout: string; stderr: string };
    down(address: string): void;
    /** The host presents another key than the pinned one. */
    swapKey(address: string): void;
    /** The addresses ssh was asked to reach, in order. */
    reached(): string[];
    /** Per host that ran a script: the variable names it received. */
    sent(): string[];
    /** Every host's engine calls (docker and curl), by address; cleared by run(). */
    calls(): Record<string, string[]>;
}

export function fakeFleet(addresses: string[]): Fleet {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dtr-ha-fleet-"));
    for (const d of ["bin", "down", "hostkey", "hosts"]) fs.mkdirSync(path.join(dir, d));
    fs.writeFileSync(path.join(dir, "bin", "ssh"), FAKE_SSH, { mode: 0o755 });
    const hosts: Record<string, FakeHost> = {};
    for (const a of addresses) {
        hosts[a] = fakeHost();
        fs.symlinkSync(hosts[a].dir, path.join(dir, "hosts", a));
        fs.writeFileSync(path.join(dir, "hostkey", a), KEY_DATA);
    }
    const lines = (f: string) =>
        fs.existsSync(path.join(dir, f)) ? fs.readFileSync(path.join(dir, f), "utf8").split("\n").filter(Boolean) : [];
    const engineCalls: Record<string, string[]> = {};
    return {
        hosts,
        run(script, env) {
            for (const f of ["ssh.log", "sent.log"]) fs.rmSync(path.join(dir, f), { force: true });
            for (const h of Object.values(hosts)) fs.writeFileSync(path.join(h.dir, "calls.log"), "");
            const r = spawnSync("dash", ["-c", script], {
                env: { PATH: `${path.join(dir, "bin")}:/usr/bin:/bin`, FAKE_FLEET: dir, HOME: dir, ...env },
                encoding: "utf8",
                cwd: dir,
            });
            for (const [a, h] of Object.entries(hosts))
                engineCalls[a] = fs.readFileSync(path.join(h.dir, "calls.log"), "utf8").split("\n").filter(Boolean);
            return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
        },
        down: (a) => fs.writeFileSync(path.join(dir, "down", a), ""),
        swapKey: (a) => fs.writeFileSync(path.join(dir, "hostkey", a), "AAAAC3NzaC1lZDI1NTE5AAAAIOTHERKEY"),
        reached: () => lines("ssh.log"),
        sent: () => lines("sent.log"),
        calls: () => engineCalls,
    };
}

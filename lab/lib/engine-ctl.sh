#!/bin/sh
# Stops or starts a lab host's dockerd from INSIDE that host (e.g. in an SSH session on hostN), the way
# `systemctl stop|start docker` would on a real host. lab.sh kill-docker/start-docker work from the root
# namespace; scripts that run on the host itself (Swarm backup and restore) need this in-host form.
# The lab hosts share the root's filesystem (only /run is private) and PID space, so this file, the host's
# daemon.json and its pidfile are all visible from the host's mount namespace.
#
#   sh lab/lib/engine-ctl.sh stop|start|status HOSTDIR     (HOSTDIR: $LAB_STATE/hosts/hostN)
set -eu
cmd=${1:-} dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then echo "usage: engine-ctl.sh stop|start|status HOSTDIR" >&2; exit 2; fi
[ -f "$dir/daemon.json" ] || { echo "engine-ctl: $dir/daemon.json not found: HOSTDIR must be a lab host dir (\$LAB_STATE/hosts/hostN)" >&2; exit 2; }
[ "$(hostname)" = "$(basename "$dir")" ] || { echo "engine-ctl: this is $(hostname), not $(basename "$dir"): run it inside that host (bash lab/lab.sh ssh $(basename "$dir") ...)" >&2; exit 2; }

# The running dockerd of this host: the pidfile's PID, only if its command line names this host's config.
engine_pid() {
  pid=$(cat "$dir/dockerd.pid" 2>/dev/null) || return 1
  case $pid in '' | *[!0-9]*) return 1 ;; esac
  tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF "$dir/daemon.json" || return 1
  # A zombie is gone.
  [ "$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -c1)" != Z ] || return 1
  echo "$pid"
}

case $cmd in
  status)
    if pid=$(engine_pid); then echo "running $pid"; else echo stopped; exit 3; fi
    ;;
  stop)
    pid=$(engine_pid) || { echo "engine-ctl: dockerd on $(hostname) already stopped" >&2; exit 0; }
    # SIGTERM: a clean shutdown (containers stopped within shutdown-timeout, raft state flushed).
    kill -TERM "$pid"
    i=0
    while engine_pid >/dev/null; do
      i=$((i + 1))
      [ $i -le 300 ] || { echo "engine-ctl: dockerd $pid on $(hostname) still running 30 s after SIGTERM" >&2; exit 1; }
      sleep 0.1
    done
    echo "engine-ctl: dockerd on $(hostname) stopped" >&2
    ;;
  start)
    if pid=$(engine_pid); then echo "engine-ctl: dockerd on $(hostname) already running ($pid)" >&2; exit 0; fi
    # Clean environment (the SSH session may carry S3 keys), own session (survives the SSH session), no
    # inherited descriptors on stdio (a remote command would otherwise wait for dockerd to close them).
    env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      setsid dockerd --config-file "$dir/daemon.json" </dev/null >>"$dir/log/dockerd.log" 2>&1 &
    i=0
    until docker version --format '{{.Server.Version}}' >/dev/null 2>&1; do
      i=$((i + 1))
      [ $i -le 600 ] || { echo "engine-ctl: dockerd on $(hostname) did not answer within 60 s; see $dir/log/dockerd.log" >&2; exit 1; }
      sleep 0.1
    done
    echo "engine-ctl: dockerd on $(hostname) started ($(engine_pid))" >&2
    ;;
  *)
    echo "engine-ctl: unknown command '$cmd': use stop, start or status" >&2
    exit 2
    ;;
esac

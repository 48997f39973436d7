# shellcheck shell=sh
# dtr-ha: removing the dtr-ol overlay when a cluster is destroyed. dtr-ol is a swarm network: only a swarm manager can
# remove it (DTR hosts are UCP workers, ee/dtr/admin/install/system-requirements.md; Launchpad removes it on the
# swarm leader, pkg/msr/msr.go). Constant text; each function is sent on its own to the host it runs on.

# On each DTR host: fails, naming them, while any DTR container (running or stopped) is still there; dtr-ol is theirs.
overlay_unused_here() {
  left=$(docker ps -a --filter 'name=^dtr-' --format '{{.Names}}') || {
    echo "$(hostname): docker ps failed, so dtr-ol's users cannot be known" >&2
    return 1
  }
  [ -z "$left" ] || {
    echo "$(hostname) still has DTR containers: $(printf '%s ' $left)" >&2
    return 1
  }
}

# On the manager: it is one (UCP's managers are swarm managers).
overlay_manager_check() {
  role=$(docker info --format '{{.Swarm.ControlAvailable}}' 2>&1) || {
    echo "cluster.swarmManagers: $(hostname): docker info failed: $role" >&2
    return 1
  }
  [ "$role" = true ] || {
    echo "cluster.swarmManagers: $(hostname) is not a swarm manager (docker info .Swarm.ControlAvailable = $role): give a UCP manager's address" >&2
    return 1
  }
  echo "swarm manager $(hostname) answers for swarm-level steps"
}

# On the manager: removes dtr-ol. Docker refuses while any container in the swarm is attached ("in use by task"):
# after DTR's destroy its endpoints go within seconds, so that is retried for 15 s, then reported and the network
# kept (a cluster still on it keeps it). Any other failure fails the step.
overlay_remove() {
  out=$(docker network inspect --format '{{.Scope}}' dtr-ol 2>&1) || {
    case "$out" in
      *"No such network"* | *"not found"*)
        echo "dtr-ol: already gone"
        return 0
        ;;
    esac
    echo "$(hostname): docker network inspect dtr-ol failed: $out" >&2
    return 1
  }
  tries=0
  while ! out=$(docker network rm dtr-ol 2>&1); do
    case "$out" in
      *"in use"* | *"active endpoints"*) ;;
      *"No such network"* | *"not found"*)
        echo "dtr-ol: already gone"
        return 0
        ;;
      *)
        echo "$(hostname): docker network rm dtr-ol failed: $out" >&2
        return 1
        ;;
    esac
    tries=$((tries + 1))
    if [ "$tries" -ge 15 ]; then
      echo "dtr-ha: dtr-ol kept: still in use after 15 s ($out)"
      return 0
    fi
    sleep 1
  done
  echo "dtr-ol removed through swarm manager $(hostname)"
}

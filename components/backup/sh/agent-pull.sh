#!/bin/sh
# dtr-ha: pull the backup agent image onto this host by digest, through the engine API. Values come from the
# environment (DTR_HA_AGENT_IMAGE, DTR_HA_REGISTRY_AUTH, DTR_HA_DOCKER_SOCKET), never from this text. The registry
# credential goes to the engine as the X-Registry-Auth header, read by curl from stdin: it is never an argument of any
# process and never written to disk (no `docker login`, no ~/.docker/config.json).
set -eu
: "${DTR_HA_AGENT_IMAGE:?DTR_HA_AGENT_IMAGE must be set}"
: "${DTR_HA_REGISTRY_AUTH:?DTR_HA_REGISTRY_AUTH must be set}"
sock=${DTR_HA_DOCKER_SOCKET:-/var/run/docker.sock}
case "$DTR_HA_AGENT_IMAGE" in
  *@sha256:*) ;;
  *) echo "dtr-ha agent pull: $DTR_HA_AGENT_IMAGE is not pinned by digest (repository@sha256:...): refused" >&2; exit 1 ;;
esac
case "$DTR_HA_REGISTRY_AUTH" in
  *[!A-Za-z0-9_=-]*) echo "dtr-ha agent pull: DTR_HA_REGISTRY_AUTH is not base64url: refused" >&2; exit 1 ;;
esac
repo=${DTR_HA_AGENT_IMAGE%@*}
digest=${DTR_HA_AGENT_IMAGE#*@}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
code=$(printf 'header = "X-Registry-Auth: %s"\n' "$DTR_HA_REGISTRY_AUTH" |
  curl -sS -K - --unix-socket "$sock" -o "$out" -w '%{http_code}' -X POST \
    --data-urlencode "fromImage=$repo" --data-urlencode "tag=$digest" -G "http://localhost/images/create") || code=000
# The engine answers 200 and then reports a failed pull inside the JSON stream.
if [ "$code" != 200 ] || grep -q '"error"' "$out"; then
  echo "dtr-ha agent pull: pulling $DTR_HA_AGENT_IMAGE failed (HTTP $code): $(tail -c 400 "$out")" >&2
  exit 1
fi
code=$(curl -sS --unix-socket "$sock" -o /dev/null -w '%{http_code}' "http://localhost/images/$DTR_HA_AGENT_IMAGE/json") || code=000
[ "$code" = 200 ] || { echo "dtr-ha agent pull: $DTR_HA_AGENT_IMAGE is not on this host after the pull (HTTP $code)" >&2; exit 1; }
echo "dtr-ha agent: $DTR_HA_AGENT_IMAGE present on $(hostname)"

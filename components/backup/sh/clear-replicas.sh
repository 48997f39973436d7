# shellcheck shell=sh
# Run on each host before a restore (after lib.sh): finds DTR replicas (containers named dtr-<service>-<12 hex>).
# None: fine. Some: refused unless DTR_HA_DESTROY_EXISTING is exactly "true"; then each is destroyed and dtr-ol removed.
# Function: dtr_destroy ID.

ids=$(docker ps -a --format '{{.Names}}' | sed -n 's/^dtr-[a-z0-9-]*-\([0-9a-f]\{12\}\)$/\1/p' | sort -u | tr '\n' ' ')
if [ -z "${ids% }" ]; then
    echo "dtr-ha restore: no DTR replica on $(hostname)"
    exit 0
fi
if [ "${DTR_HA_DESTROY_EXISTING:-false}" != true ]; then
    refuse "DTR replicas ${ids% } still exist on $(hostname). DTR restores only into an empty cluster; set restore.destroyExisting: true to destroy them first"
fi
say "dtr-ha restore: destroying replicas ${ids% } on $(hostname) (restore.destroyExisting)"
for id in $ids; do
    dtr_destroy "$id" >&2 || exit 1
done
docker network rm dtr-ol >/dev/null 2>&1 || true
echo "dtr-ha restore: $(hostname) cleared"

# shellcheck shell=sh
# Run on each host before a restore (after lib.sh): finds DTR replicas (containers named dtr-<service>-<12 hex>).
# None: fine. Some: refused unless DTR_HA_DESTROY_EXISTING is exactly "true"; then each is destroyed.
# The overlay network dtr-ol is left as it is. DTR's documented restore is "destroy, then restore" with nothing about
# the network (docker/docs ee/admin/restore/restore-dtr.md); `destroy` leaves dtr-ol in place, and `restore` performs
# a fresh installation that takes no --overlay-subnet (reference/dtr/2.7/cli/restore.md), so a dtr-ol still there keeps
# the subnet the cluster was configured with. dtr-ol is a swarm network: a DTR host is a UCP worker and cannot remove it
# (Launchpad removes it on the swarm leader); the cluster's own removal goes through a manager
# (components/network/overlay-removal.ts). Function: dtr_destroy ID.

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
echo "dtr-ha restore: $(hostname) cleared (dtr-ol, a swarm network, is left to the restore)"

# shellcheck shell=sh
# shellcheck disable=SC2154 # key, version and encrypted are set by check_backup (lib.sh, which comes first)
# The restore of the first replica (after lib.sh): its own verify first, then leftovers of an interrupted attempt of
# this very replica, then `agent download | dtr restore`.
# Environment: as restore-verify.sh, plus DTR_HA_REPLICA_ID (12 hex). Functions: dtr_destroy ID, dtr_restore (stdin).

need_env DTR_HA_REPLICA_ID
case $DTR_HA_REPLICA_ID in
    [0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]) ;;
    *) refuse "DTR_HA_REPLICA_ID is not a replica id (12 hex)" ;;
esac
id=$DTR_HA_REPLICA_ID

check_backup

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Leftovers of this very replica can only come from an interrupted earlier attempt of this restore (the clear step has
# already dealt with anything else): destroying them makes a re-run converge.
if docker ps -a --format '{{.Names}}' | grep -q -e "-$id\$"; then
    say "dtr-ha restore: removing what an interrupted attempt left of replica $id"
    dtr_destroy "$id" >&2 || exit 1
fi
{
    if [ -n "${DTR_HA_AGE_IDENTITY:-}" ]; then
        agent_identity_nolog download --bucket "$DTR_HA_BUCKET" --manifest-key "$key" --identity-env DTR_HA_AGE_IDENTITY
    else
        agent_nolog download --bucket "$DTR_HA_BUCKET" --manifest-key "$key"
    fi
    echo $? >"$work/dl"
} | dtr_restore >&2
rs=$?
dl=$(cat "$work/dl" 2>/dev/null || echo missing)
if [ "$dl" != 0 ] || [ "$rs" != 0 ]; then
    say "dtr-ha restore FAILED: download exit $dl, restore exit $rs"
    exit 1
fi
printf 'dtr-ha restore: replica %s restored from %s\n' "$id" "$key"

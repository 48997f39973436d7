# shellcheck shell=sh
# After a restore has passed the health gate (after lib.sh): the restored cluster's inventory (repositories, tags, team
# access) must have the fingerprint the backup recorded. A backup without one is reported as such.
# Environment: DTR_HA_AGENT_IMAGE DTR_HA_BUCKET DTR_HA_PREFIX DTR_HA_MANIFEST_KEY. Function: agent_inventory.

check_common_env
need_env DTR_HA_HTTPS_PORT
key=$DTR_HA_MANIFEST_KEY
entry=$(catalog_entry)
if [ -z "$entry" ]; then
    say "dtr-ha restore check: manifest $key not found"
    exit 1
fi
want=$(printf '%s' "$entry" | sed -n 's/.*"inventorySha256":"\([0-9a-f]*\)".*/\1/p')
if [ -z "$want" ]; then
    echo "dtr-ha restore check: the backup recorded no inventory; only health was checked"
    exit 0
fi
got=$(agent_inventory) || {
    say "dtr-ha restore check: could not read the restored inventory"
    exit 1
}
gotsha=$(printf '%s' "$got" | sed -n 's/.*"sha256":"\([0-9a-f]*\)".*/\1/p')
summary=$(printf '%s' "$got" | sed -n 's/^{"repositories":\([0-9]*\),"tags":\([0-9]*\),"teamAccess":\([0-9]*\).*/\1 repositories, \2 tags, \3 team grants/p')
if [ "$gotsha" != "$want" ]; then
    say "dtr-ha restore check FAILED: the restored metadata ($summary, fingerprint $gotsha) differs from the backup (fingerprint $want)"
    exit 1
fi
echo "dtr-ha restore check: metadata matches the backup: $summary"

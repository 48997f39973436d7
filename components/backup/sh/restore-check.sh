# shellcheck shell=sh
# After a restore has passed the health gate (after lib.sh): the restored cluster's metadata must match what the backup
# recorded, in each of the six kinds a DTR backup holds (docker/docs ee/admin/backup/back-up-dtr.md): configuration
# settings, repository definitions (repositories and tags), access control (team grants), image signing data (Notary),
# vulnerability scan results, TLS certificates and keys (the served chain, the CA at /ca, the chain verifying against
# it). Each is printed with its count and digest before and after. A backup made before the six categories is checked
# on its one fingerprint (repositories, tags, team access); one without any is reported as such.
# Environment: DTR_HA_AGENT_IMAGE DTR_HA_BUCKET DTR_HA_PREFIX DTR_HA_MANIFEST_KEY. Function: agent_inventory.

check_common_env
need_env DTR_HA_HTTPS_PORT
key=$DTR_HA_MANIFEST_KEY
entry=$(catalog_entry)
if [ -z "$entry" ]; then
    say "dtr-ha restore check: manifest $key not found"
    exit 1
fi
want=$(meta_field "$entry" inventorySha256)
if [ -z "$want" ]; then
    echo "dtr-ha restore check: the backup recorded no inventory; only health was checked"
    exit 0
fi
got=$(agent_inventory) || {
    say "dtr-ha restore check: could not read the restored inventory"
    exit 1
}
# The fingerprint over everything: the first "sha256" (each category has its own further on).
overall_sha() {
    printf '%s' "$got" | sed -n 's/^{"repositories":[0-9]*,"tags":[0-9]*,"teamAccess":[0-9]*,"sha256":"\([0-9a-f]*\)".*/\1/p'
}
summary=$(printf '%s' "$got" | sed -n 's/^{"repositories":\([0-9]*\),"tags":\([0-9]*\),"teamAccess":\([0-9]*\).*/\1 repositories, \2 tags, \3 team grants/p')

if [ "$(meta_field "$entry" inventoryFormat)" != 2 ]; then
    # The backup's one fingerprint covers repositories, tags and team access: compare the same lines.
    gotsha=$(printf '%s' "$got" | sed -n 's/.*"sha256v1":"\([0-9a-f]*\)".*/\1/p')
    [ -n "$gotsha" ] || gotsha=$(overall_sha)
    if [ "$gotsha" != "$want" ]; then
        say "dtr-ha restore check FAILED: the restored metadata ($summary, fingerprint $gotsha) differs from the backup (fingerprint $want)"
        exit 1
    fi
    echo "dtr-ha restore check: metadata matches the backup: $summary (a backup without settings, signatures, scans and TLS fingerprints: only these were compared)"
    exit 0
fi

# count:sha256 of one category, before (the manifest) and after (the agent's --meta pairs for the restored cluster).
differ=''
counts=''
for cat in Configuration RepositoryDefs Access Signing Scans Tls; do
    case $cat in
        Configuration) label='configuration settings' unit=settings ;;
        RepositoryDefs) label='repository definitions' unit=repositories ;;
        Access) label='access control (team grants)' unit=grants ;;
        Signing) label='image signing data (Notary)' unit='signed tags' ;;
        Scans) label='vulnerability scan results' unit='scan results' ;;
        Tls) label='TLS certificates and CA' unit=certificates ;;
    esac
    before=$(meta_field "$entry" "inventory$cat")
    after=$(printf '%s' "$got" | sed -n "s/.*--meta inventory$cat=\\([0-9]*:[0-9a-f]*\\).*/\\1/p")
    b=$(printf '%s' "${before%%:*}" | cut -c1-6)
    a=$(printf '%s' "${after%%:*}" | cut -c1-6)
    bs=$(printf '%s' "${before#*:}" | cut -c1-12)
    as=$(printf '%s' "${after#*:}" | cut -c1-12)
    if [ -n "$before" ] && [ "$before" = "$after" ]; then
        verdict=same
    else
        verdict=DIFFERS
        differ="$differ${differ:+, }$label"
    fi
    echo "dtr-ha restore check: $label: before ${b:-none} ($unit, sha256 ${bs:-none}), after ${a:-none} (sha256 ${as:-none}): $verdict"
    case $cat in
        RepositoryDefs | Access) ;; # already in $summary
        *) counts="$counts, ${a:-0} $unit" ;;
    esac
done
gotsha=$(overall_sha)
if [ -n "$differ" ] || [ "$gotsha" != "$want" ]; then
    [ -n "$differ" ] || differ="the fingerprint over all of them ($gotsha; backup: $want)"
    say "dtr-ha restore check FAILED: the restored metadata differs from the backup in: $differ"
    exit 1
fi
echo "dtr-ha restore check: metadata matches the backup in all six categories: $summary$counts"

# shellcheck shell=sh
# dtr-ha restore-side helpers. Constant text: the builders in ../scripts.ts put the same bytes in front of every restore
# step. No value from configuration or from a manifest is ever part of this text: they arrive as data in DTR_HA_*
# environment variables (or in assignments quoted once with shellQuote), and are only ever expanded inside double
# quotes, never evaluated.
#
# Expects the functions `agent` (docker run of the backup agent) and `agent_identity` (the same, with
# DTR_HA_AGE_IDENTITY passed to the container by name), defined by the builder just before this file.

set -u

say() { printf '%s\n' "$*" >&2; }

refuse() {
    say "dtr-ha restore REFUSED: $*; nothing was changed"
    exit 1
}

# The values every restore step reads (missing means sshd did not accept them: refuse, never guess).
need_env() {
    for n in "$@"; do
        eval "isset=\${$n+set}"
        [ -n "$isset" ] || refuse "$n is not in the environment (does sshd AcceptEnv DTR_*?)"
    done
}

check_common_env() {
    need_env DTR_HA_AGENT_IMAGE DTR_HA_BUCKET DTR_HA_MANIFEST_KEY
    case $DTR_HA_AGENT_IMAGE in
        '' | -*) refuse "DTR_HA_AGENT_IMAGE is not an image reference" ;;
    esac
    case $DTR_HA_MANIFEST_KEY in
        *.manifest.json) ;;
        *) refuse "restore.manifestKey must name a *.manifest.json object" ;;
    esac
}

# The catalog entry (one JSON line of the agent's `list`) whose manifestKey is exactly DTR_HA_MANIFEST_KEY.
catalog_entry() {
    if [ -n "${DTR_HA_PREFIX:-}" ]; then
        agent list --bucket "$DTR_HA_BUCKET" --prefix "$DTR_HA_PREFIX"
    else
        agent list --bucket "$DTR_HA_BUCKET"
    fi | grep -F -e "{\"manifestKey\":\"$DTR_HA_MANIFEST_KEY\",\"manifest\":" | head -n 1
}

# One field of the manifest's meta (the last occurrence: meta is the manifest's last member).
meta_field() {
    printf '%s' "$1" | sed -n "s/.*\"$2\":\"\\([^\"]*\\)\".*/\\1/p"
}

# The gate before anything destructive: the manifest exists, is of the expected DTR version, the identity is there when
# the backup is encrypted, and the agent's verify read the whole object (size and SHA-256 of the stored bytes) and, with
# the identity, decrypted it, checked the tar and compared the plaintext size, SHA-256 and entry count
# ("contentChecked":true), and the manifest's replica id is DTR_HA_REPLICA_ID. Sets `entry`, `version` and `encrypted`.
check_backup() {
    check_common_env
    need_env DTR_HA_EXPECTED_VERSION
    key=$DTR_HA_MANIFEST_KEY
    entry=$(catalog_entry)
    [ -n "$entry" ] || refuse "no valid manifest $key in s3://$DTR_HA_BUCKET"
    version=$(meta_field "$entry" dtrVersion)
    if [ "$version" != "$DTR_HA_EXPECTED_VERSION" ]; then
        refuse "the backup is of DTR ${version:-unknown}, the configured image is $DTR_HA_EXPECTED_VERSION; DTR restores only into the same version. Set image.version to ${version:-that version}, restore, then upgrade"
    fi
    # DTR restores with "the id of the replica you backed up" (docker/docs ee/admin/restore/restore-dtr.md): the manifest
    # records it, and the id this restore will use must be that one.
    need_env DTR_HA_REPLICA_ID
    backed_up=$(meta_field "$entry" replicaId)
    case $backed_up in
        [0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]) ;;
        *) refuse "the manifest of $key records replicaId=\"$backed_up\", which is not a DTR replica id (12 lower-case hex): DTR restores with the backed-up replica's id, so this backup cannot be restored as it is; pick another one (npm run backups -- list)" ;;
    esac
    if [ "$backed_up" != "$DTR_HA_REPLICA_ID" ]; then
        refuse "the backup $key was taken from replica $backed_up but this restore would use replica id $DTR_HA_REPLICA_ID; DTR restores with the backed-up replica's id. Set restore.replicaId: $backed_up (npm run rebuild sets it from the manifest)"
    fi
    case $entry in
        *'"encryption":null'*) encrypted=no ;;
        *'"encryption":{'*) encrypted=yes ;;
        *) refuse "the manifest of $key does not say whether the backup is encrypted" ;;
    esac
    if [ "$encrypted" = yes ] && [ -z "${DTR_HA_AGE_IDENTITY:-}" ]; then
        refuse "the backup $key is encrypted (age) and no identity was given, so it cannot be decrypted. Set the matching secret key with: pulumi config set --secret dtr-ha:ageIdentity AGE-SECRET-KEY-1..."
    fi
    if [ -n "${DTR_HA_AGE_IDENTITY:-}" ]; then
        verdict=$(agent_identity verify --bucket "$DTR_HA_BUCKET" --manifest-key "$key" --identity-env DTR_HA_AGE_IDENTITY)
    else
        verdict=$(agent verify --bucket "$DTR_HA_BUCKET" --manifest-key "$key")
    fi
    rc=$?
    printf '%s\n' "$verdict" >&2
    [ "$rc" = 0 ] || refuse "the backup object does not match its manifest (verify exit $rc)"
    case $verdict in
        *'"ok":true'*) ;;
        *) refuse "the agent's verify did not report ok" ;;
    esac
    case $verdict in
        *'"contentChecked":true'*) ;;
        *) refuse "the agent's verify did not decrypt and check the tar inside (contentChecked is not true)" ;;
    esac
}

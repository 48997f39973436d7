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

# The backup's storage against the configured one, when the configuration has storage (DTR_HA_STORAGE_DRIVER set, with
# DTR_HA_STORAGE_BUCKET/_REGION/_ROOTDIRECTORY/_REGIONENDPOINT). The manifest records it as DTR reported it when the backup
# was taken (meta storage*; values of [A-Za-z0-9._~:/@%+=,-] only, so no quote ends them early). DTR's restore brings
# those settings back, and a different backend would be a switch that erases every tag (storage-backend-migration.md).
# A manifest without them (an older backup) passes with a note: the storage step still compares after the restore of
# replica 1, before anything is sent. Needs `entry` and `key`.
check_storage() {
    [ -n "${DTR_HA_STORAGE_DRIVER+set}" ] || return 0
    need_env DTR_HA_STORAGE_BUCKET DTR_HA_STORAGE_REGION DTR_HA_STORAGE_ROOTDIRECTORY DTR_HA_STORAGE_REGIONENDPOINT
    # meta's members (the last "meta":{...} of the line: the entry's fields after the manifest hold none).
    sm=$(printf '%s' "$entry" | sed -n 's/.*"meta":{\([^{}]*\)}.*/\1/p')
    sb_driver=$(meta_field "$sm" storageDriver)
    if [ -z "$sb_driver" ]; then
        say "dtr-ha restore: the manifest of $key does not record the backup's storage (an older backup, or DTR's settings were not readable when it was taken): the early storage check was skipped; the storage step compares DTR's restored settings with the configuration after replica 1 is restored, before anything is sent"
        return 0
    fi
    sb_bucket=$(meta_field "$sm" storageBucket)
    sb_region=$(meta_field "$sm" storageRegion)
    sb_root=$(meta_field "$sm" storageRootDirectory)
    sb_endpoint=$(meta_field "$sm" storageRegionEndpoint)
    sd='' sfix=''
    if [ "$sb_driver" != "$DTR_HA_STORAGE_DRIVER" ]; then sd="$sd driver"; sfix="$sfix, storage.mode: \"$DTR_HA_STORAGE_DRIVER\" -> \"$sb_driver\""; fi
    if [ "$sb_bucket" != "$DTR_HA_STORAGE_BUCKET" ]; then sd="$sd bucket"; sfix="$sfix, storage.s3.bucket: \"$DTR_HA_STORAGE_BUCKET\" -> \"$sb_bucket\""; fi
    if [ "$sb_region" != "$DTR_HA_STORAGE_REGION" ]; then sd="$sd region"; sfix="$sfix, storage.s3.region: \"$DTR_HA_STORAGE_REGION\" -> \"$sb_region\""; fi
    if [ "$sb_root" != "$DTR_HA_STORAGE_ROOTDIRECTORY" ]; then sd="$sd rootdirectory"; sfix="$sfix, storage.s3.rootDirectory: \"$DTR_HA_STORAGE_ROOTDIRECTORY\" -> \"$sb_root\""; fi
    if [ "$sb_endpoint" != "$DTR_HA_STORAGE_REGIONENDPOINT" ]; then sd="$sd regionendpoint"; sfix="$sfix, storage.s3.regionEndpoint: \"$DTR_HA_STORAGE_REGIONENDPOINT\" -> \"$sb_endpoint\""; fi
    if [ -n "$sd" ]; then
        refuse "the backup $key was taken with storage $sb_driver bucket=\"$sb_bucket\" region=\"$sb_region\" rootdirectory=\"$sb_root\" regionendpoint=\"$sb_endpoint\", the configuration says $DTR_HA_STORAGE_DRIVER bucket=\"$DTR_HA_STORAGE_BUCKET\" region=\"$DTR_HA_STORAGE_REGION\" rootdirectory=\"$DTR_HA_STORAGE_ROOTDIRECTORY\" regionendpoint=\"$DTR_HA_STORAGE_REGIONENDPOINT\" (they differ in${sd}). DTR's restore brings the backup's storage settings back, and sending others would switch storage backends, which in DTR 2.6+ initializes a new metadata store and erases every tag (storage-backend-migration.md). Set ${sfix#, } in dtr-ha:storage and run again; to move to another backend, copy the layers there first and follow DTR's storage-backend-migration guide"
    fi
    say "dtr-ha restore: the backup's storage matches the configuration ($sb_driver bucket=\"$sb_bucket\" region=\"$sb_region\" rootdirectory=\"$sb_root\" regionendpoint=\"$sb_endpoint\")"
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
    check_storage
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

# shellcheck shell=sh
# shellcheck disable=SC2154 # key, version and encrypted are set by check_backup (lib.sh, which comes first)
# Non-destructive restore gate (after lib.sh): the backup exists, is of the configured DTR version, can be decrypted,
# and matches its manifest byte for byte, inside and out.
# Environment: DTR_HA_AGENT_IMAGE DTR_HA_BUCKET DTR_HA_PREFIX DTR_HA_MANIFEST_KEY DTR_HA_EXPECTED_VERSION
# DTR_HA_REPLICA_ID (the id the restore will use: the manifest's) [DTR_HA_AGE_IDENTITY].

check_backup
printf 'dtr-ha restore: %s verified (DTR %s, encrypted: %s, content checked), backed up from replica %s\n' "$key" "$version" "$encrypted" "$DTR_HA_REPLICA_ID"

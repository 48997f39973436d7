#!/usr/bin/env bash
# Runs the dtr-ha policy pack through the real pulumi CLI on this machine.
#
#   policy/run-preview.sh check            # real-engine check: an accepted stack previews cleanly,
#                                          # rejected stacks fail with the rules' messages (mocha)
#   policy/run-preview.sh preview [ARGS]   # `pulumi preview --policy-pack policy/ ARGS` in the current
#                                          # directory's project (a CLI project: its language host,
#                                          # e.g. pulumi-language-nodejs, must be installed)
#
# The check also needs pulumi-resource-command (tools/command-provider) on PATH.
# Both put plugin/pulumi-analyzer-policy-nodejs on PATH: without pulumi-language-nodejs the CLI starts
# a Node policy pack through that script. The CLI comes from PULUMI_CLI_DIR, else the toolchain cache.
# The backend defaults to the repository's git-ignored .pulumi/ file backend when PULUMI_BACKEND_URL is unset.
set -euo pipefail

POLICY_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$POLICY_DIR/.." && pwd)
# The project's toolchain puts the CLI and the command provider on PATH (and sets PULUMI_HOME).
if [[ -f $REPO/scripts/toolchain.sh ]]; then
  eval "$(bash "$REPO/scripts/toolchain.sh" env)"
fi
CLI_DIR=${PULUMI_CLI_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dtr-ha/toolchain/pulumi-v3.248.0/bin}

die() { printf 'run-preview.sh: error: %s\n' "$*" >&2; exit 2; }

[[ -x $CLI_DIR/pulumi ]] ||
  die "no pulumi CLI at $CLI_DIR/pulumi: run 'bash scripts/toolchain.sh install' or set PULUMI_CLI_DIR"
[[ -d $POLICY_DIR/node_modules/@pulumi/policy ]] ||
  die "policy pack dependencies missing: run 'npm --prefix policy ci'"

export PULUMI_CLI_DIR=$CLI_DIR
export PATH="$POLICY_DIR/plugin:$CLI_DIR:$PATH"
export PULUMI_SKIP_UPDATE_CHECK=true

case ${1:-} in
  check)
    command -v pulumi-resource-command >/dev/null ||
      die "no pulumi-resource-command on PATH (the command-flag checks need it): run 'bash scripts/toolchain.sh install'"
    npm --prefix "$POLICY_DIR" run --silent test:engine
    ;;
  preview)
    shift
    npm --prefix "$POLICY_DIR" run --silent build
    if [[ -z ${PULUMI_BACKEND_URL:-} ]]; then
      mkdir -p "$REPO/.pulumi"
      export PULUMI_BACKEND_URL="file://$REPO/.pulumi"
    fi
    [[ -n ${PULUMI_CONFIG_PASSPHRASE+x} || -n ${PULUMI_CONFIG_PASSPHRASE_FILE:-} ]] ||
      die "set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) for the stack's secrets"
    exec pulumi preview --non-interactive --policy-pack "$POLICY_DIR" "$@"
    ;;
  *)
    die "usage: run-preview.sh check | preview [pulumi preview args...] (got '${1:-}')"
    ;;
esac

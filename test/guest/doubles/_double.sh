# shellcheck shell=bash
# Sourced by every test double in this directory. Records the call (one line: name and argv) in
# DOUBLE_LOG, then lets the double act on its DOUBLE_* environment variables and on files in
# DOUBLE_STATE (installed packages, unit states, call counters). KUBEADM_AWS_ROOT is the sandbox
# that stands for / (the scripts under test prefix every path with it).
set -euo pipefail
: "${DOUBLE_LOG:?}" "${DOUBLE_STATE:?}" "${KUBEADM_AWS_ROOT:?}"
# Cheap on purpose (no subshells): the doubles run hundreds of times per test file.
DOUBLE_NAME="${0##*/}"
# shellcheck disable=SC2034 # used by the doubles that serve fixtures
DOUBLES_DIR="${0%/*}"
printf '%s %s\n' "$DOUBLE_NAME" "$*" >>"$DOUBLE_LOG"

# Counts calls per KEY; sets CALL_COUNT to the new count.
CALL_COUNT=0
count_call() {
  local file="${DOUBLE_STATE}/count.$1"
  CALL_COUNT=0
  if [[ -f "$file" ]]; then
    CALL_COUNT="$(<"$file")"
  fi
  CALL_COUNT=$((CALL_COUNT + 1))
  printf '%s\n' "$CALL_COUNT" >"$file"
}

# True for the first LIMIT calls with KEY: fails_now KEY LIMIT.
fails_now() {
  count_call "$1"
  ((CALL_COUNT <= ${2:-0}))
}

# Prints the value that follows FLAG in the remaining arguments: flag_value FLAG ARGS...
flag_value() {
  local flag="$1"
  shift
  while (($# > 0)); do
    if [[ "$1" == "$flag" ]]; then
      printf '%s' "${2:-}"
      return 0
    fi
    if [[ "$1" == "$flag="* ]]; then
      printf '%s' "${1#"$flag"=}"
      return 0
    fi
    shift
  done
  return 1
}

# The addresses NAME resolves to, one a line, per the sandbox's /etc/hosts and the DOUBLE_GETENT_*
# knobs (see the getent double); fails when it does not resolve: resolve_name NAME. It counts
# nothing: only the getent double advances the lookup counter that DOUBLE_GETENT_AFTER reads.
resolve_name() {
  local name="${1,,}" hosts="${KUBEADM_AWS_ROOT}/etc/hosts" count=0 file address
  if [[ -f "$hosts" ]] && awk -v name="$name" '
      { sub(/#.*/, "") }
      NF >= 2 { for (i = 2; i <= NF; i++) if (tolower($i) == name) { print $1; found = 1 } }
      END { exit !found }' "$hosts"; then
    return 0
  fi
  if [[ -n "${DOUBLE_GETENT_NAME:-}" && "$name" != "${DOUBLE_GETENT_NAME,,}" ]]; then
    return 1
  fi
  case "${DOUBLE_GETENT_AFTER:-0}" in
    never) return 1 ;;
    *)
      file="${DOUBLE_STATE}/count.getent"
      if [[ -f "$file" ]]; then
        count="$(<"$file")"
      fi
      ((count > ${DOUBLE_GETENT_AFTER:-0})) || return 1
      ;;
  esac
  for address in ${DOUBLE_GETENT_ADDRESSES:-192.0.2.200}; do
    echo "$address"
  done
}

#!/usr/bin/env bash
# lib-packages.sh: what the two package libraries (lib-apt.sh, lib-dnf.sh) share, prepended after
# lib.sh and before the one a step that installs packages runs with (render/script.ts
# librariesFor): the distribution's name, the parts of the bounded wait for a busy package
# manager, and the checks around installing the Kubernetes packages. Steps that install nothing
# get none of these libraries.

# ---- the distribution --------------------------------------------------------------------------
OS_ID=""
OS_CODENAME=""
# Reads ID and VERSION_CODENAME from /etc/os-release (without sourcing it into this shell): the
# package libraries pick Docker's repository and the runtime's packages by them.
# shellcheck disable=SC2034 # read by lib-apt.sh or lib-dnf.sh, whichever the step has
read_os_release() {
  local key value
  while IFS='=' read -r key value; do
    value="${value#\"}"
    value="${value%\"}"
    case "$key" in
      ID) OS_ID="$value" ;;
      VERSION_CODENAME) OS_CODENAME="$value" ;;
    esac
  done <"${SYSROOT}/etc/os-release"
}

# ---- waiting for the package manager -----------------------------------------------------------
# The package libraries (lib-apt.sh, lib-dnf.sh) each define a check that prints what keeps their
# package manager busy (one line each) and fails while anything does; these are its parts, and
# the bounded wait around it.

# Prints a process's command line (its name if the command line is empty, "exited" if it is gone).
# /proc is not under SYSROOT: it is the kernel's view of the processes, in a test sandbox too.
process_args() {
  local args=()
  if mapfile -d '' -t args 2>/dev/null <"/proc/$1/cmdline" && ((${#args[@]} > 0)); then
    printf '%s' "${args[*]}"
  elif [[ -r "/proc/$1/comm" ]]; then
    printf '%s' "$(<"/proc/$1/comm")"
  else
    printf 'exited'
  fi
}

# Appends a "WHAT: PID N (command line)" entry for each process pgrep finds to the array `busy` of
# its caller, apt_idle: busy_processes WHAT PGREP-ARGUMENTS...
busy_processes() {
  local what="$1" line
  shift
  while IFS= read -r line; do
    if [[ -n "$line" ]]; then
      busy+=("${what}: PID ${line%% *} (${line#* })")
    fi
  done <<<"$(pgrep -a "$@" 2>/dev/null || true)"
}

# Appends "FILE is held by PID N (command line)" to the array `busy` of its caller for each
# process that holds one of the lock FILEs open: lock_holders FILE... apt, dpkg and rpm keep a lock
# file open for as long as they hold its fcntl lock, so fuser (psmisc) names the holder. flock(1)
# would not do: on Linux flock and fcntl locks are independent of each other, so flock gets a lock
# that apt holds. fuser exits 1 when no process uses the file; a missing lock file (the package
# manager never ran) has no holder. Fails when fuser is missing, failed or hung: the caller then
# looks for the package managers by name.
lock_holders() {
  local file pids pid_list pid rc ok=0
  have fuser || return 1
  for file in "$@"; do
    [[ -e "$file" ]] || continue
    rc=0
    pids="$(timeout -k 5 20 fuser "$file" 2>/dev/null)" || rc=$?
    if ((rc == 0)); then
      read -r -a pid_list <<<"$pids"
      for pid in "${pid_list[@]}"; do
        busy+=("${file} is held by PID ${pid} ($(process_args "$pid"))")
      done
    elif ((rc != 1)); then
      ok=1
    fi
  done
  return "$ok"
}

# Appends "UNIT is STATE" to the array `busy` of its caller for each UNIT at work: busy_units
# UNIT... One state per unit, in order; the exit status is left alone: "activating" (a oneshot
# unit at work) exits 3, like "inactive".
busy_units() {
  local states=() i units=("$@")
  have systemctl || return 0
  mapfile -t states <<<"$(timeout -k 5 20 systemctl is-active "${units[@]}" 2>/dev/null || true)"
  for i in "${!units[@]}"; do
    case "${states[i]:-}" in
      active | activating | deactivating | reloading | refreshing)
        busy+=("${units[i]} is ${states[i]}")
        ;;
    esac
  done
}

# Waits until CHECK passes, for at most TIMEOUT seconds, then stops the step naming what is still
# busy; returns at once, without a log line, when nothing is (the usual case):
#   wait_until_idle TIMEOUT LABEL WHAT CHECK     e.g. wait_until_idle 600 apt/dpkg "apt and dpkg" apt_idle
wait_until_idle() {
  local timeout="$1" label="$2" what="$3" check="$4" busy
  if busy="$("$check")"; then
    return 0
  fi
  info "${label} is busy: ${busy//$'\n'/; }"
  # After the timeout, one more look: it names the holders in the failure message (and lets a
  # holder that has just finished pass).
  if wait_for "$timeout" "${what} to be idle" -- "$check" || busy="$("$check")"; then
    return 0
  fi
  fatal "${label} still busy after ${timeout}s: ${busy//$'\n'/; }"
}

# ---- the Kubernetes packages -------------------------------------------------------------------
# Shared by the package libraries' install_kubernetes_packages (prepare, bastion-tools and
# upgrade-node have the parameters KUBERNETES_VERSION, e.g. 1.34.2, and KUBERNETES_MINOR, v1.34).

# Stops unless KUBERNETES_VERSION is a full version and KUBERNETES_MINOR its repository's name.
validate_kubernetes_version() {
  [[ "$KUBERNETES_VERSION" =~ ^([0-9]+)\.([0-9]+)\.[0-9]+$ ]] ||
    fatal "KUBERNETES_VERSION must look like 1.34.2 (got '${KUBERNETES_VERSION}')"
  [[ "$KUBERNETES_MINOR" == "v${BASH_REMATCH[1]}.${BASH_REMATCH[2]}" ]] ||
    fatal "KUBERNETES_MINOR '${KUBERNETES_MINOR}' does not match KUBERNETES_VERSION ${KUBERNETES_VERSION}"
}

# Splits install_kubernetes_packages' arguments, [--with EXTRA]... PACKAGE..., into the arrays
# `extra` and `packages` of its caller, and fills its `pending` with the PACKAGEs not at
# KUBERNETES_VERSION yet (kubernetes_package_versions, from the package library).
kubernetes_packages_pending() {
  local pkg
  while [[ "${1:-}" == --with ]]; do
    extra+=("$2")
    shift 2
  done
  packages=("$@")
  kubernetes_package_versions "${packages[@]}"
  for pkg in "${packages[@]}"; do
    [[ "${KUBE_VERSIONS[$pkg]:-}" == "${KUBERNETES_VERSION}-"* ]] || pending+=("$pkg")
  done
}

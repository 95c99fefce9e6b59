#!/usr/bin/env bash
# wait-ready: the first step on a fresh instance. Waits until cloud-init has finished and no
# apt/dpkg/unattended-upgrades process holds the package locks, so `prepare` can use apt at once.
#
# Parameters (rendered header)
#   WAIT_TIMEOUT_SECONDS  upper bound for both waits together
# Stdin: not read.  Stdout: nothing.

# 1. cloud-init: `status --wait` exits 0 when done, 2 when done but degraded (still usable).
wait_for_cloud_init() {
  local remaining="$1" rc=0
  if ! have cloud-init; then
    info "cloud-init is not installed; nothing to wait for"
    return 0
  fi
  info "waiting up to ${remaining}s for cloud-init to finish"
  timeout -k 10 "$remaining" cloud-init status --wait >/dev/null || rc=$?
  case "$rc" in
    0) info "cloud-init finished" ;;
    2) warn "cloud-init finished in a degraded state (exit 2); continuing" ;;
    124 | 137) fatal "cloud-init did not finish within ${remaining}s" ;;
    *)
      cloud-init status --long 2>&1 || true
      fatal "cloud-init reported an error (exit ${rc}); see the status above and /var/log/cloud-init.log"
      ;;
  esac
}

# 2. Package locks: true when no process holds the apt/dpkg locks.
apt_locks_free() {
  local locks=(
    "${SYSROOT}/var/lib/dpkg/lock-frontend"
    "${SYSROOT}/var/lib/dpkg/lock"
    "${SYSROOT}/var/lib/apt/lists/lock"
    "${SYSROOT}/var/cache/apt/archives/lock"
  )
  if have fuser; then
    # fuser exits 0 when some process uses one of the files.
    if fuser "${locks[@]}" >/dev/null 2>&1; then
      echo "a process holds an apt/dpkg lock"
      return 1
    fi
    return 0
  fi
  # No fuser (psmisc): look for the package managers themselves. The pattern for
  # unattended-upgrade excludes its long-running unattended-upgrade-shutdown helper.
  if pgrep -x 'apt|apt-get|aptitude|dpkg' >/dev/null ||
    pgrep -f '/usr/bin/unattended-upgrade( |$)' >/dev/null; then
    echo "apt, dpkg or unattended-upgrade is running"
    return 1
  fi
  return 0
}

main() {
  local remaining
  require_root
  require_number WAIT_TIMEOUT_SECONDS "$WAIT_TIMEOUT_SECONDS"
  wait_for_cloud_init "$WAIT_TIMEOUT_SECONDS"
  remaining=$((WAIT_TIMEOUT_SECONDS - SECONDS))
  if ((remaining < 1)); then
    remaining=1
  fi
  wait_for "$remaining" "the apt/dpkg locks to be free" -- apt_locks_free
  info "node is ready for prepare"
}

main "$@"

#!/usr/bin/env bash
# wait-ready: the first step on a fresh instance. Waits until cloud-init has finished and the
# package manager is idle, so `prepare` can use it at once: apt and dpkg (no process holds a
# package lock; apt-daily, apt-daily-upgrade and unattended-upgrade are done), or dnf and rpm (no
# process holds rpm's lock, no dnf runs, dnf-makecache is done).
#
# Parameters (rendered header)
#   WAIT_TIMEOUT_SECONDS  upper bound for both waits together
#   PACKAGE_MANAGER       apt | dnf: which package library this step runs with
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

main() {
  local remaining
  require_root
  require_number WAIT_TIMEOUT_SECONDS "$WAIT_TIMEOUT_SECONDS"
  wait_for_cloud_init "$WAIT_TIMEOUT_SECONDS"
  remaining=$((WAIT_TIMEOUT_SECONDS - SECONDS))
  if ((remaining < 1)); then
    remaining=1
  fi
  # 2. the package manager idle (lib-apt.sh or lib-dnf.sh).
  wait_for_packages_idle "$remaining"
  info "node is ready for prepare"
}

main "$@"

#!/usr/bin/env bash
# node-timers: runs on each control plane after its join. Installs the two jobs that keep a
# cluster from losing its data or its certificates, each a script plus a systemd service and
# timer (units rendered by render/systemdUnits.ts, checked with systemd-analyze verify):
#   kubeadm-aws-etcd-snapshot.timer   every etcdBackup.intervalMinutes: guest/etcd-snapshot.sh
#   kubeadm-aws-cert-renewal.timer    daily: guest/cert-renewal.sh
# The jobs `source` the libraries from JOB_DIR/lib.sh: this step writes the libraries it runs
# with itself, cut from its own rendered file between their begin and end markers, so they are
# carried to the node once. Idempotent: files are written only when they differ, systemd reloads
# only then, and the timers end up enabled and running. With backups off, the snapshot timer is
# stopped and removed.
#
# Parameters (rendered header)
#   BACKUPS            true | false (etcdBackup.enabled)
#   SNAPSHOT_SCRIPT    the rendered etcd-snapshot job (empty without backups)
#   SNAPSHOT_SERVICE   its service unit; SNAPSHOT_TIMER its timer unit
#   RENEWAL_SCRIPT     the rendered cert-renewal job
#   RENEWAL_SERVICE    its service unit; RENEWAL_TIMER its timer unit
# Stdin: nothing. Stdout: nothing.

readonly JOB_DIR="${SYSROOT}/usr/local/lib/kubeadm-aws"
readonly UNIT_DIR="${SYSROOT}/etc/systemd/system"

# Writes one job: install_job NAME SCRIPT SERVICE TIMER; sets CHANGED when a file changed.
install_job() {
  local name="$1"
  if write_file_if_changed "${JOB_DIR}/${name}.sh" 0700 <<<"$2"; then CHANGED=1; fi
  if write_file_if_changed "${UNIT_DIR}/kubeadm-aws-${name}.service" 0644 <<<"$3"; then CHANGED=1; fi
  if write_file_if_changed "${UNIT_DIR}/kubeadm-aws-${name}.timer" 0644 <<<"$4"; then CHANGED=1; fi
}

# Writes JOB_DIR/lib.sh: the libraries as this very step runs them.
install_libraries() {
  local libraries
  libraries="$(sed -n '/^# ==== kubeadm-aws guest libraries begin/,/^# ==== kubeadm-aws guest libraries end ====$/p' \
    "${BASH_SOURCE[0]}")"
  [[ "$libraries" == *"guest libraries end ===="* ]] ||
    fatal "could not find the libraries in ${BASH_SOURCE[0]}"
  if write_file_if_changed "${JOB_DIR}/lib.sh" 0644 <<<"$libraries"; then CHANGED=1; fi
}

remove_job() {
  local name="$1" file
  if systemctl is-enabled --quiet "kubeadm-aws-${name}.timer" 2>/dev/null; then
    systemctl disable --now "kubeadm-aws-${name}.timer"
  fi
  for file in "${JOB_DIR}/${name}.sh" "${UNIT_DIR}/kubeadm-aws-${name}.service" \
    "${UNIT_DIR}/kubeadm-aws-${name}.timer"; do
    if [[ -e "$file" ]]; then
      rm -f "$file"
      CHANGED=1
    fi
  done
}

main() {
  local timers=()
  CHANGED=""
  require_root
  [[ "$BACKUPS" == true || "$BACKUPS" == false ]] || fatal "BACKUPS must be true or false (got '${BACKUPS}')"
  ensure_dir "$JOB_DIR" 0755
  install_libraries
  install_job cert-renewal "$RENEWAL_SCRIPT" "$RENEWAL_SERVICE" "$RENEWAL_TIMER"
  timers+=(kubeadm-aws-cert-renewal.timer)
  if [[ "$BACKUPS" == true ]]; then
    install_job etcd-snapshot "$SNAPSHOT_SCRIPT" "$SNAPSHOT_SERVICE" "$SNAPSHOT_TIMER"
    timers+=(kubeadm-aws-etcd-snapshot.timer)
  else
    remove_job etcd-snapshot
  fi
  if [[ -n "$CHANGED" ]]; then
    systemctl daemon-reload
  fi
  converge_units "$CHANGED" "${timers[@]}"
  info "timers: ${timers[*]}"
}

main "$@"

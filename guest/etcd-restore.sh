#!/usr/bin/env bash
# etcd-restore: runs on each control plane, driven by `npm run etcd-restore` (tools/etcdRestore.ts)
# through the bastion, in three rounds over all control planes, as kubeadm's and etcd's guides
# restore a cluster (https://etcd.io/docs/v3.6/op-guide/recovery/):
#   MODE=stop     parks the API server's and etcd's static pod manifests, so nothing writes to
#                 etcd, and waits until both containers are gone (every control plane first);
#   MODE=restore  checks the snapshot (its sha256 against the one recorded at upload, then
#                 `etcdutl snapshot status`) and refuses a snapshot that fails either; then moves
#                 /var/lib/etcd aside and `etcdutl snapshot restore`s a new member of a new
#                 cluster (every control plane from the same snapshot, the same initial cluster);
#   MODE=start    puts the manifests back, etcd first, and waits for etcd and the local API server.
# Each round can run again: a parked manifest stays parked, a data dir restored from this snapshot
# is not restored twice, a running component is left running. The old data dir is kept, never
# deleted (/var/lib/etcd.before-restore-<time>).
#
# Parameters (rendered header)
#   MODE              stop | restore | start
#   SNAPSHOT          the snapshot on this node (the tool uploads it), e.g. /var/lib/kubeadm-aws/restore/snapshot.db
#   SNAPSHOT_SHA256   its sha256, as recorded at upload (object metadata)
#   NODE_NAME         this member's name (the node's name, as kubeadm names members)
#   NODE_IP           this member's address (peer URL https://NODE_IP:2380)
#   INITIAL_CLUSTER   every member: name=https://ip:2380,...
#   CLUSTER_TOKEN     a new initial-cluster token, the same on every control plane
#   WAIT_TIMEOUT_SECONDS
# Stdin: nothing. Stdout: nothing.

readonly MANIFESTS="${KUBE_DIR}/manifests"
readonly PARKED="${KUBE_DIR}/manifests-parked-for-restore"
readonly ETCD_DATA="${SYSROOT}/var/lib/etcd"
readonly ETCDUTL="${SYSROOT}/usr/local/lib/kubeadm-aws/etcdutl"
readonly RESTORED_MARK="${STATE_DIR}/etcd-restored-from"
readonly SNAPSHOT_FILE="${SYSROOT}${SNAPSHOT}"

container_running() { [[ -n "$(timeout 20 crictl ps --name "^$1\$" --state Running -q)" ]]; }
container_gone() { ! container_running "$1"; }
api_live() { timeout 10 curl -sk --max-time 5 https://127.0.0.1:6443/livez >/dev/null; }

stop() {
  local name
  ensure_dir "$PARKED" 0700
  for name in kube-apiserver etcd; do
    if [[ -f "${MANIFESTS}/${name}.yaml" ]]; then
      mv -f "${MANIFESTS}/${name}.yaml" "${PARKED}/${name}.yaml"
      info "parked ${name}'s manifest"
    fi
    wait_for "$WAIT_TIMEOUT_SECONDS" "${name} to stop" -- container_gone "$name" ||
      fatal "${name} is still running; nothing has been restored (run \`npm run etcd-restore\` again, or put the manifests back from ${PARKED#"$SYSROOT"})"
  done
}

restore() {
  local sha status stamp
  [[ -f "$SNAPSHOT_FILE" ]] || fatal "no snapshot at ${SNAPSHOT}"
  [[ -x "$ETCDUTL" ]] || fatal "no etcdutl at ${ETCDUTL#"$SYSROOT"} (the snapshot timer keeps one; run it once while etcd runs)"
  [[ ! -f "${MANIFESTS}/etcd.yaml" ]] || fatal "etcd's manifest is still in place: run MODE=stop on every control plane first"
  if [[ -f "$RESTORED_MARK" && "$(<"$RESTORED_MARK")" == "$SNAPSHOT_SHA256" ]]; then
    info "this node's etcd data is restored from this snapshot already"
    return 0
  fi
  sha="$(sha256sum "$SNAPSHOT_FILE" | cut -d' ' -f1)"
  [[ "$sha" == "$SNAPSHOT_SHA256" ]] ||
    fatal "refusing the snapshot: its sha256 is ${sha}, but ${SNAPSHOT_SHA256} was recorded when it was taken (a damaged download or object); nothing has been restored"
  status="$("$ETCDUTL" snapshot status "$SNAPSHOT_FILE" -w json 2>&1)" ||
    fatal "refusing the snapshot: etcdutl snapshot status rejects it (${status}); nothing has been restored"
  info "snapshot checked: ${status}"
  stamp="$(date -u +%Y%m%dT%H%M%SZ)"
  if [[ -d "$ETCD_DATA" ]]; then
    mv "$ETCD_DATA" "${ETCD_DATA}.before-restore-${stamp}"
    info "kept the old data dir as ${ETCD_DATA#"$SYSROOT"}.before-restore-${stamp}"
  fi
  "$ETCDUTL" snapshot restore "$SNAPSHOT_FILE" --name "$NODE_NAME" \
    --initial-cluster "$INITIAL_CLUSTER" --initial-cluster-token "$CLUSTER_TOKEN" \
    --initial-advertise-peer-urls "https://${NODE_IP}:2380" --data-dir "$ETCD_DATA" >&2 ||
    fatal "etcdutl snapshot restore failed; the old data dir is kept beside it"
  chmod 0700 "$ETCD_DATA"
  ensure_dir "$STATE_DIR" 0700
  write_file_if_changed "$RESTORED_MARK" 0600 <<<"$SNAPSHOT_SHA256" || true
  info "etcd data restored for member ${NODE_NAME} (${NODE_IP})"
}

start() {
  local name
  for name in etcd kube-apiserver; do
    if [[ -f "${PARKED}/${name}.yaml" ]]; then
      mv -f "${PARKED}/${name}.yaml" "${MANIFESTS}/${name}.yaml"
      info "put ${name}'s manifest back"
    fi
    wait_for "$WAIT_TIMEOUT_SECONDS" "${name} to run" -- container_running "$name" ||
      fatal "${name} does not start (journalctl -u kubelet, crictl ps -a)"
  done
  wait_for "$WAIT_TIMEOUT_SECONDS" "the local API server to answer" -- api_live ||
    fatal "the API server does not answer after the restore"
}

main() {
  require_root
  [[ "$MODE" == stop || "$MODE" == restore || "$MODE" == start ]] ||
    fatal "MODE must be stop, restore or start (got '${MODE}')"
  require_number WAIT_TIMEOUT_SECONDS "$WAIT_TIMEOUT_SECONDS"
  if [[ "$MODE" == restore ]]; then
    [[ "$SNAPSHOT_SHA256" =~ ^[0-9a-f]{64}$ ]] || fatal "SNAPSHOT_SHA256 must be a sha256 (got '${SNAPSHOT_SHA256}')"
    [[ -n "$NODE_NAME" && "$NODE_IP" =~ ^[0-9.]+$ && "$INITIAL_CLUSTER" == *"${NODE_NAME}=https://${NODE_IP}:2380"* ]] ||
      fatal "INITIAL_CLUSTER (${INITIAL_CLUSTER}) must name this member, ${NODE_NAME}=https://${NODE_IP}:2380"
    [[ -n "$CLUSTER_TOKEN" ]] || fatal "CLUSTER_TOKEN is empty"
  fi
  "$MODE"
}

main "$@"

#!/usr/bin/env bash
# cluster-ready: runs on the bastion at the end of the bootstrap, with the program's kubeconfig on
# stdin. Waits until every node in NODE_NAMES exists and is Ready (and, with the AWS cloud
# controller manager, initialised by it: the kubelet's `node.cloudprovider.kubernetes.io/uninitialized`
# taint gone, so the node has its provider ID, zone and addresses), then until CoreDNS has rolled
# out. On a timeout it prints why: node conditions, and pods that are not running with their
# events; then it fails. Nodes outside NODE_NAMES do not block it: during a scale-down the node
# being removed is still registered when this step re-runs, and is drained after it.
#
# Parameters (rendered header)
#   NODE_NAMES            array: the Kubernetes names of every node the cluster should have
#   CLOUD_INITIALISED     true: also wait for the cloud controller to initialise each node
#   WAIT_TIMEOUT_SECONDS  bound on the whole wait
#   BACKUP_INTERVAL_MINUTES  etcdBackup.intervalMinutes (0: backups off); the report ends with the
#                         last snapshot's age (kube-system/kubeadm-aws-etcd-backup), a warning when
#                         it is older than two intervals; never a failure
# Stdin: the secret bundle (`name base64` lines) with `kubeconfig`, the program's cluster-admin
#   kubeconfig (server https://<the API name>:6443); kept in a private tmpfs directory while the
#   step runs, removed when it exits.
# Stdout: nothing.

readonly UNINITIALISED_TAINT=node.cloudprovider.kubernetes.io/uninitialized

# True when every node in NODE_NAMES is registered and Ready (and initialised by the cloud
# controller, with CLOUD_INITIALISED); prints what is missing otherwise.
nodes_ready() {
  local listing name status taints wanted ready=0 not_ready=() missing=() others=() uninitialised=()
  local -A state=() tainted=()
  listing="$(kubectl_admin --request-timeout=10s get nodes \
    -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.status.conditions[?(@.type=="Ready")].status}{" "}{.spec.taints[*].key}{"\n"}{end}')" ||
    return 1
  while read -r name status taints; do
    [[ -n "$name" ]] || continue
    state["$name"]="$status"
    [[ " ${taints} " != *" ${UNINITIALISED_TAINT} "* ]] || tainted["$name"]=1
  done <<<"$listing"
  for wanted in "${NODE_NAMES[@]}"; do
    if [[ -z "${state[$wanted]+set}" ]]; then
      missing+=("$wanted")
    elif [[ "$CLOUD_INITIALISED" == true && -n "${tainted[$wanted]:-}" ]]; then
      uninitialised+=("$wanted")
    elif [[ "${state[$wanted]}" == True ]]; then
      ready=$((ready + 1))
    else
      not_ready+=("$wanted")
    fi
    unset 'state[$wanted]'
  done
  others=("${!state[@]}")
  if ((${#others[@]} > 0)); then
    info "not waiting for node(s) outside this stack's list (leaving or foreign): ${others[*]}"
  fi
  if ((ready == ${#NODE_NAMES[@]})); then
    return 0
  fi
  echo "${ready}/${#NODE_NAMES[@]} nodes Ready; not Ready: ${not_ready[*]:-none}; not registered: ${missing[*]:-none}${uninitialised[*]:+; not initialised by the cloud controller yet: ${uninitialised[*]}}"
  return 1
}

# Called by dump_diagnostics (which adds the nodes and their conditions): stuck pods and the
# warning events that usually say why.
step_diagnostics() {
  warn "pods that are not Running or Succeeded:"
  kubectl_admin --request-timeout=10s get pods -A -o wide \
    --field-selector=status.phase!=Running,status.phase!=Succeeded 2>&1
  warn "recent warning events:"
  kubectl_admin --request-timeout=10s get events -A --field-selector=type=Warning \
    --sort-by=.lastTimestamp 2>&1 | tail -n 40
}

main() {
  local remaining
  require_root
  ((${#NODE_NAMES[@]} > 0)) || fatal "NODE_NAMES is empty"
  [[ "$CLOUD_INITIALISED" == true || "$CLOUD_INITIALISED" == false ]] ||
    fatal "CLOUD_INITIALISED must be true or false (got '${CLOUD_INITIALISED}')"
  require_number WAIT_TIMEOUT_SECONDS "$WAIT_TIMEOUT_SECONDS"
  [[ "$BACKUP_INTERVAL_MINUTES" =~ ^[0-9]+$ ]] ||
    fatal "BACKUP_INTERVAL_MINUTES must be a whole number, 0 without backups (got '${BACKUP_INTERVAL_MINUTES}')"
  use_cluster_credentials
  if ! wait_for "$WAIT_TIMEOUT_SECONDS" "${#NODE_NAMES[@]} Ready node(s)" -- nodes_ready; then
    dump_diagnostics
    fatal "the cluster did not reach ${#NODE_NAMES[@]} Ready node(s) within ${WAIT_TIMEOUT_SECONDS}s (diagnostics above)"
  fi
  remaining=$((WAIT_TIMEOUT_SECONDS - SECONDS))
  if ((remaining < 30)); then
    remaining=30
  fi
  info "waiting up to ${remaining}s for CoreDNS to roll out"
  if ! kubectl_admin -n kube-system rollout status deployment/coredns --timeout="${remaining}s"; then
    dump_diagnostics
    fatal "CoreDNS did not become available within ${remaining}s (diagnostics above)"
  fi
  info "cluster ready: ${#NODE_NAMES[@]} node(s) Ready, CoreDNS available"
  report_last_snapshot
}

# The age of the last etcd snapshot the control planes recorded (etcd-snapshot.sh), as a line.
report_last_snapshot() {
  local last key age
  ((BACKUP_INTERVAL_MINUTES > 0)) || return 0
  IFS='|' read -r last key <<<"$(kubectl_admin --request-timeout=20s -n kube-system get configmap \
    kubeadm-aws-etcd-backup --ignore-not-found -o jsonpath='{.data.lastSuccess}{"|"}{.data.key}' 2>/dev/null)" || true
  if [[ -z "$last" ]]; then
    info "etcd backups: no snapshot yet (the first runs within ${BACKUP_INTERVAL_MINUTES} minutes of a control plane's start)"
    return 0
  fi
  age=$((($(date -u +%s) - $(date -u -d "$last" +%s)) / 60))
  if ((age > 2 * BACKUP_INTERVAL_MINUTES)); then
    warn "etcd backups: the last snapshot is ${age} minutes old (${key}); snapshots should come every ${BACKUP_INTERVAL_MINUTES} minutes: see \`systemctl status kubeadm-aws-etcd-snapshot.service\` on the control planes"
  else
    info "etcd backups: last snapshot ${age} minutes ago (${key})"
  fi
}

main "$@"

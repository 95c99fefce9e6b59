#!/usr/bin/env bash
# remove-node: runs on the first control-plane node when Pulumi deletes a node, before its
# instance goes. Drains the node, removes a control plane's etcd member (a dead member counts
# against quorum), and deletes the Node object. Never hangs, and succeeds when the node or the
# whole cluster is already gone; it fails only when the API is up and the etcd member cannot be
# removed.
#
# Parameters (rendered header)
#   NODE_NAME              the node's name in Kubernetes
#   NODE_ROLE              control-plane | worker
#   DRAIN_TIMEOUT_SECONDS  bound on `kubectl drain`
#   API_WAIT_SECONDS       how long to wait for the API server before assuming the cluster is gone
# Stdin: not read.  Stdout: nothing.

readonly ETCDCTL_FLAGS=(
  --endpoints=https://127.0.0.1:2379
  --cacert /etc/kubernetes/pki/etcd/ca.crt
  --cert /etc/kubernetes/pki/etcd/healthcheck-client.crt
  --key /etc/kubernetes/pki/etcd/healthcheck-client.key
)

# kubectl bounded by a hard timeout as well as its own request timeout: remove-node never hangs.
kubectl_bounded() {
  local seconds="$1"
  shift
  KUBECONFIG="$ADMIN_CONF" timeout -k 5 "$seconds" kubectl "$@"
}

# Prints the name of a Running etcd pod on another node than NODE_NAME.
surviving_etcd_pod() {
  local listing pod node
  listing="$(kubectl_bounded 30 --request-timeout=20s -n kube-system get pods -l component=etcd \
    --field-selector=status.phase=Running \
    -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.spec.nodeName}{"\n"}{end}')" || return 1
  while read -r pod node; do
    if [[ -n "$pod" && "$node" != "$NODE_NAME" ]]; then
      printf '%s\n' "$pod"
      return 0
    fi
  done <<<"$listing"
  return 1
}

# etcdctl inside a surviving etcd static pod: etcdctl_in POD ARGS...
etcdctl_in() {
  local pod="$1"
  shift
  kubectl_bounded 60 --request-timeout=50s -n kube-system exec "$pod" -- etcdctl "${ETCDCTL_FLAGS[@]}" "$@"
}

# Removes NODE_NAME's etcd member (matched by name, or by peer URL on the node's IP when the
# member never started and has no name). Stops the step when that is impossible.
remove_etcd_member() {
  local node_ip="$1" pod members id
  pod="$(surviving_etcd_pod)" || fatal "found no Running etcd pod on another control-plane node; cannot remove ${NODE_NAME}'s etcd member"
  members="$(retry 3 5 -- etcdctl_in "$pod" member list -w simple)" ||
    fatal "etcdctl member list failed in ${pod}; ${NODE_NAME}'s etcd member is still there"
  # Lines: ID, STATUS, NAME, PEER ADDRS, CLIENT ADDRS, IS LEARNER
  id="$(awk -F', ' -v name="$NODE_NAME" -v peer="https://${node_ip:-none}:2380" '
    $3 == name || (peer != "https://none:2380" && index($4, peer) > 0) { print $1 }' <<<"$members")"
  if [[ -z "$id" ]]; then
    info "${NODE_NAME} has no etcd member (already removed)"
    return 0
  fi
  info "removing etcd member ${id} (${NODE_NAME}) via ${pod}"
  retry 3 5 -- etcdctl_in "$pod" member remove "$id" ||
    fatal "could not remove ${NODE_NAME}'s etcd member ${id}; remove it by hand before the cluster loses quorum"
}

main() {
  local found node_ip=""
  require_root
  [[ "$NODE_ROLE" == control-plane || "$NODE_ROLE" == worker ]] ||
    fatal "NODE_ROLE must be control-plane or worker (got '${NODE_ROLE}')"
  [[ -n "$NODE_NAME" ]] || fatal "NODE_NAME is empty"
  require_number DRAIN_TIMEOUT_SECONDS "$DRAIN_TIMEOUT_SECONDS"
  require_number API_WAIT_SECONDS "$API_WAIT_SECONDS"
  if [[ ! -f "$ADMIN_CONF" ]]; then
    warn "${ADMIN_CONF} is missing: this node is not (or no longer) a control plane; nothing to remove"
    return 0
  fi
  if ! wait_for "$API_WAIT_SECONDS" "the API server" -- api_ready; then
    warn "the API server does not answer; assuming the cluster is gone and skipping ${NODE_NAME}'s removal"
    return 0
  fi

  found="$(kubectl_bounded 30 --request-timeout=20s get node "$NODE_NAME" --ignore-not-found -o name)" ||
    fatal "could not look up node ${NODE_NAME}"
  if [[ -z "$found" ]]; then
    info "node ${NODE_NAME} does not exist; nothing to drain"
  else
    node_ip="$(kubectl_bounded 30 --request-timeout=20s get node "$NODE_NAME" \
      -o jsonpath='{.status.addresses[?(@.type=="InternalIP")].address}' || true)"
    info "draining ${NODE_NAME} (timeout ${DRAIN_TIMEOUT_SECONDS}s)"
    kubectl_bounded "$((DRAIN_TIMEOUT_SECONDS + 60))" drain "$NODE_NAME" --ignore-daemonsets \
      --delete-emptydir-data --force --timeout="${DRAIN_TIMEOUT_SECONDS}s" ||
      warn "drain of ${NODE_NAME} did not finish; continuing with its removal"
  fi
  if [[ "$NODE_ROLE" == control-plane ]]; then
    remove_etcd_member "$node_ip"
  fi
  kubectl_bounded 90 --request-timeout=60s delete node "$NODE_NAME" --ignore-not-found ||
    warn "could not delete the Node object ${NODE_NAME}; delete it with kubectl when the API allows"
  info "node ${NODE_NAME} removed from the cluster"
}

main "$@"

#!/usr/bin/env bash
# remove-node: runs on the bastion, with the program's kubeconfig on stdin, when Pulumi deletes a
# node (a scale-down, or the replacement of an instance), before its instance goes. Drains the
# node, removes a control plane's etcd member (a dead member counts against quorum) through a
# Running etcd pod on another node, and deletes the Node object. Works when the old instance is
# dead or stopped already: the drain runs into its bound and the step goes on, and the member is
# found by its peer URL on NODE_IP even if it never started and has no name. Never hangs, and
# succeeds when the node or the whole cluster is already gone; it fails only when the API is up
# and the etcd member cannot be removed.
#
# Parameters (rendered header)
#   NODE_NAME              the node's name in Kubernetes
#   NODE_IP                the node's private IP: its etcd peer URL is https://NODE_IP:2380 (the
#                          Node's InternalIP is matched too, when the Node object still exists)
#   NODE_ROLE              control-plane | worker
#   DRAIN_TIMEOUT_SECONDS  bound on `kubectl drain`
#   API_WAIT_SECONDS       how long to wait for the API server before assuming the cluster is gone
# Stdin: the secret bundle (`name base64` lines) with `kubeconfig`, the program's cluster-admin
#   kubeconfig (server https://<the API name>:6443); kept in a private tmpfs directory while the
#   step runs, removed when it exits.
# Stdout: nothing.

# Removes NODE_NAME's etcd member, matched by name, or by a peer URL on NODE_IP or on INTERNAL_IP
# (the Node's address, if known): a member that never started has no name. Uses the first etcd pod
# on another node whose etcdctl answers. Stops the step when the removal is impossible.
remove_etcd_member() {
  local internal_ip="$1" pod="" members="" ids id
  answering_etcd_pod "$NODE_NAME" pod members ||
    fatal "cannot remove ${NODE_NAME}'s etcd member: no etcd pod on another node answers"
  # Lines: ID, STATUS, NAME, PEER ADDRS, CLIENT ADDRS, IS LEARNER
  ids="$(awk -F', ' -v name="$NODE_NAME" -v peer1="https://${NODE_IP:-none}:2380" \
    -v peer2="https://${internal_ip:-none}:2380" '
    function has_peer(peer) { return peer != "https://none:2380" && index($4, peer) > 0 }
    $3 == name || has_peer(peer1) || has_peer(peer2) { print $1 }' <<<"$members")"
  if [[ -z "$ids" ]]; then
    info "${NODE_NAME} has no etcd member (already removed)"
    return 0
  fi
  for id in $ids; do
    info "removing etcd member ${id} (${NODE_NAME}, ${NODE_IP:-no IP given}) via ${pod}"
    retry 3 5 -- etcdctl_in "$pod" member remove "$id" ||
      fatal "could not remove ${NODE_NAME}'s etcd member ${id}; remove it by hand before the cluster loses quorum"
  done
}

main() {
  local node="" found="" internal_ip="" ready=""
  require_root
  [[ "$NODE_ROLE" == control-plane || "$NODE_ROLE" == worker ]] ||
    fatal "NODE_ROLE must be control-plane or worker (got '${NODE_ROLE}')"
  [[ -n "$NODE_NAME" ]] || fatal "NODE_NAME is empty"
  [[ -z "$NODE_IP" || "$NODE_IP" =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] ||
    fatal "NODE_IP must be an IPv4 address (got '${NODE_IP}')"
  require_number DRAIN_TIMEOUT_SECONDS "$DRAIN_TIMEOUT_SECONDS"
  require_number API_WAIT_SECONDS "$API_WAIT_SECONDS"
  use_cluster_credentials
  if ! wait_for "$API_WAIT_SECONDS" "the API server" -- api_ready; then
    warn "the API server does not answer; assuming the cluster is gone and skipping ${NODE_NAME}'s removal"
    return 0
  fi

  node="$(kubectl_bounded 30 --request-timeout=20s get node "$NODE_NAME" --ignore-not-found \
    -o jsonpath='{.metadata.name}{"|"}{.status.addresses[?(@.type=="InternalIP")].address}{"|"}{.status.conditions[?(@.type=="Ready")].status}')" ||
    fatal "could not look up node ${NODE_NAME}"
  IFS='|' read -r found internal_ip ready <<<"$node" || true
  if [[ -z "$found" ]]; then
    info "node ${NODE_NAME} does not exist; nothing to drain"
  else
    if [[ "$ready" != True ]]; then
      warn "${NODE_NAME} is not Ready (Ready=${ready:-unknown}): its kubelet is likely gone, so its pods" \
        "cannot confirm their exit and the drain may run into its ${DRAIN_TIMEOUT_SECONDS}s bound"
    fi
    info "draining ${NODE_NAME} (timeout ${DRAIN_TIMEOUT_SECONDS}s)"
    kubectl_bounded "$((DRAIN_TIMEOUT_SECONDS + 60))" drain "$NODE_NAME" --ignore-daemonsets \
      --delete-emptydir-data --force --timeout="${DRAIN_TIMEOUT_SECONDS}s" ||
      warn "drain of ${NODE_NAME} did not finish; continuing with its removal"
  fi
  if [[ "$NODE_ROLE" == control-plane ]]; then
    remove_etcd_member "$internal_ip"
  fi
  kubectl_bounded 90 --request-timeout=60s delete node "$NODE_NAME" --ignore-not-found ||
    warn "could not delete the Node object ${NODE_NAME}; delete it with kubectl when the API allows"
  info "node ${NODE_NAME} removed from the cluster"
}

main "$@"

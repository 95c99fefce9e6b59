#!/usr/bin/env bash
# cluster-ready: runs on the bastion at the end of the bootstrap, with the program's kubeconfig on
# stdin. Waits until every node in NODE_NAMES exists and is Ready, then until CoreDNS has rolled
# out. On a timeout it prints why: node conditions, and pods that are not running with their
# events; then it fails. Nodes outside NODE_NAMES do not block it: during a scale-down the node
# being removed is still registered when this step re-runs, and is drained after it.
#
# Parameters (rendered header)
#   NODE_NAMES            array: the Kubernetes names of every node the cluster should have
#   WAIT_TIMEOUT_SECONDS  bound on the whole wait
# Stdin: the secret bundle (`name base64` lines) with `kubeconfig`, the program's cluster-admin
#   kubeconfig (server https://<the API name>:6443); kept in a private tmpfs directory while the
#   step runs, removed when it exits.
# Stdout: nothing.

# True when every node in NODE_NAMES is registered and Ready; prints what is missing otherwise.
nodes_ready() {
  local listing name status wanted ready=0 not_ready=() missing=() others=()
  local -A state=()
  listing="$(kubectl_admin --request-timeout=10s get nodes \
    -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}')" ||
    return 1
  while read -r name status; do
    [[ -n "$name" ]] && state["$name"]="$status"
  done <<<"$listing"
  for wanted in "${NODE_NAMES[@]}"; do
    if [[ -z "${state[$wanted]+set}" ]]; then
      missing+=("$wanted")
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
  echo "${ready}/${#NODE_NAMES[@]} nodes Ready; not Ready: ${not_ready[*]:-none}; not registered: ${missing[*]:-none}"
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
  require_number WAIT_TIMEOUT_SECONDS "$WAIT_TIMEOUT_SECONDS"
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
}

main "$@"

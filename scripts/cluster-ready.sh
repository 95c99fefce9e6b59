#!/usr/bin/env bash
# cluster-ready: runs on the first control-plane node at the end of the bootstrap. Waits until
# exactly EXPECTED_NODES nodes exist and all are Ready, then until CoreDNS has rolled out. On a
# timeout it prints why: node conditions, pods that are not running with their events, and the
# local kubelet journal; then it fails.
#
# Parameters (rendered header)
#   EXPECTED_NODES        number of nodes the cluster should have (control planes + workers)
#   WAIT_TIMEOUT_SECONDS  bound on the whole wait
# Stdin: not read.  Stdout: nothing.

# True when there are EXPECTED_NODES nodes and every one is Ready; prints the count otherwise.
nodes_ready() {
  local listing total=0 ready=0 name status not_ready=()
  listing="$(kubectl_admin --request-timeout=10s get nodes \
    -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}')" ||
    return 1
  while read -r name status; do
    [[ -n "$name" ]] || continue
    total=$((total + 1))
    if [[ "$status" == True ]]; then
      ready=$((ready + 1))
    else
      not_ready+=("$name")
    fi
  done <<<"$listing"
  if ((total == EXPECTED_NODES && ready == EXPECTED_NODES)); then
    return 0
  fi
  echo "${ready}/${total} nodes Ready, ${EXPECTED_NODES} expected; not Ready: ${not_ready[*]:-none}"
  return 1
}

# Called by dump_diagnostics: what the API server knows about nodes and stuck pods.
step_diagnostics() {
  warn "node conditions:"
  kubectl_admin --request-timeout=10s get nodes -o jsonpath='{range .items[*]}{.metadata.name}{":\n"}{range .status.conditions[*]}{"  "}{.type}{"="}{.status}{" "}{.reason}{": "}{.message}{"\n"}{end}{end}' 2>&1
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
  require_number EXPECTED_NODES "$EXPECTED_NODES"
  require_number WAIT_TIMEOUT_SECONDS "$WAIT_TIMEOUT_SECONDS"
  require_admin_conf
  if ! wait_for "$WAIT_TIMEOUT_SECONDS" "${EXPECTED_NODES} Ready node(s)" -- nodes_ready; then
    dump_diagnostics
    fatal "the cluster did not reach ${EXPECTED_NODES} Ready node(s) within ${WAIT_TIMEOUT_SECONDS}s (diagnostics above)"
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
  info "cluster ready: ${EXPECTED_NODES} node(s) Ready, CoreDNS available"
}

main "$@"

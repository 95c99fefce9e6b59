#!/usr/bin/env bash
# node-rollout: runs on the bastion, with the program's kubeconfig on stdin, around the change of
# one node in a rolling update (a Kubernetes upgrade: upgrade-node on the node in between).
#
#   PHASE=drain    cordons the node, marks it with the annotation kubeadm-aws/rollout, and drains
#                  it through the eviction API, so PodDisruptionBudgets are respected
#                  (`kubectl drain`, bounded by DRAIN_TIMEOUT_SECONDS). A node already at
#                  TARGET_VERSION, or not registered (a replacement joining later), is left alone.
#                  When the drain does not finish, the step fails with the pods still on the node
#                  and every budget that allows no disruption; the node stays cordoned, nothing on
#                  it has changed, and the next `pulumi up` drains it again.
#   PHASE=restore  waits until the node is Ready (and, with TARGET_VERSION, its kubelet runs that
#                  version), then uncordons it if this rollout cordoned it. A node someone else
#                  cordoned before the rollout stays cordoned.
#
# Parameters (rendered header)
#   PHASE                  drain | restore
#   NODE_NAME              the node's name in Kubernetes
#   TARGET_VERSION         the kubelet version the rollout moves the node to (empty: any)
#   REASON                 what the rollout does, written into the annotation
#   DRAIN_TIMEOUT_SECONDS  bound on the drain
#   WAIT_TIMEOUT_SECONDS   bound on the wait for Ready
# Stdin: the secret bundle (`name base64` lines) with `kubeconfig`, the program's cluster-admin
#   kubeconfig; kept in a private tmpfs directory while the step runs, removed when it exits.
# Stdout: nothing.

readonly ROLLOUT_ANNOTATION="kubeadm-aws/rollout"

# Sets NODE_FOUND, NODE_KUBELET, NODE_UNSCHEDULABLE, NODE_MARK and NODE_READY from the API.
read_node() {
  local line
  line="$(kubectl_bounded 30 --request-timeout=20s get node "$NODE_NAME" --ignore-not-found \
    -o jsonpath='{.metadata.name}{"|"}{.status.nodeInfo.kubeletVersion}{"|"}{.spec.unschedulable}{"|"}{.metadata.annotations.kubeadm-aws/rollout}{"|"}{.status.conditions[?(@.type=="Ready")].status}')" ||
    return 1
  IFS='|' read -r NODE_FOUND NODE_KUBELET NODE_UNSCHEDULABLE NODE_MARK NODE_READY <<<"$line" || true
}

# True once the node is Ready at the target version (any version without TARGET_VERSION).
restored() {
  read_node || return 1
  [[ "$NODE_READY" == True ]] || {
    echo "Ready=${NODE_READY:-unknown}, kubelet ${NODE_KUBELET:-unknown}"
    return 1
  }
  [[ -z "$TARGET_VERSION" || "$NODE_KUBELET" == "v${TARGET_VERSION}" ]] || {
    echo "Ready, kubelet ${NODE_KUBELET} (waiting for v${TARGET_VERSION})"
    return 1
  }
}

# The pods still on the node and the budgets that block their eviction (for a failed drain).
step_diagnostics() {
  warn "pods still on ${NODE_NAME}:"
  kubectl_bounded 30 --request-timeout=20s get pods -A --field-selector "spec.nodeName=${NODE_NAME}" -o wide 2>&1 || true
  warn "PodDisruptionBudgets that allow no disruption now:"
  kubectl_bounded 30 --request-timeout=20s get pdb -A \
    -o jsonpath='{range .items[?(@.status.disruptionsAllowed==0)]}{.metadata.namespace}{"/"}{.metadata.name}{" (healthy "}{.status.currentHealthy}{", desired "}{.status.desiredHealthy}{")\n"}{end}' 2>&1 || true
}

drain() {
  if [[ -n "$TARGET_VERSION" && "$NODE_KUBELET" == "v${TARGET_VERSION}" ]]; then
    info "${NODE_NAME} already runs v${TARGET_VERSION}; not draining it"
    return 0
  fi
  if [[ "$NODE_UNSCHEDULABLE" == true && -z "$NODE_MARK" ]]; then
    info "${NODE_NAME} was cordoned before this rollout; it stays cordoned afterwards"
  else
    retry 3 5 -- kubectl_bounded 30 --request-timeout=20s annotate node "$NODE_NAME" --overwrite \
      "${ROLLOUT_ANNOTATION}=${REASON}"
  fi
  info "draining ${NODE_NAME} (${REASON}; timeout ${DRAIN_TIMEOUT_SECONDS}s, PodDisruptionBudgets respected)"
  if ! kubectl_bounded "$((DRAIN_TIMEOUT_SECONDS + 60))" drain "$NODE_NAME" --ignore-daemonsets \
    --delete-emptydir-data --force --timeout="${DRAIN_TIMEOUT_SECONDS}s"; then
    dump_diagnostics
    fatal "the drain of ${NODE_NAME} did not finish within ${DRAIN_TIMEOUT_SECONDS}s (a PodDisruptionBudget that allows no disruption, or pods that do not exit: see above); the node stays cordoned and nothing on it has changed. Fix the cause and run \`pulumi up\` again: the rollout resumes at this node"
  fi
}

restore() {
  wait_for "$WAIT_TIMEOUT_SECONDS" "${NODE_NAME} to be Ready${TARGET_VERSION:+ at v${TARGET_VERSION}}" -- restored ||
    fatal "${NODE_NAME} is not Ready${TARGET_VERSION:+ at v${TARGET_VERSION}} after ${WAIT_TIMEOUT_SECONDS}s; it stays cordoned. Look at its kubelet (\`journalctl -u kubelet\` on the node), then run \`pulumi up\` again"
  # wait_for runs its probe in a subshell: read what it saw once more.
  read_node || fatal "could not look up node ${NODE_NAME}"
  if [[ -n "$NODE_MARK" ]]; then
    retry 3 5 -- kubectl_bounded 30 --request-timeout=20s uncordon "$NODE_NAME"
    retry 3 5 -- kubectl_bounded 30 --request-timeout=20s annotate node "$NODE_NAME" "${ROLLOUT_ANNOTATION}-"
    info "${NODE_NAME} is Ready (kubelet ${NODE_KUBELET}) and schedulable again"
  else
    info "${NODE_NAME} is Ready (kubelet ${NODE_KUBELET}); this rollout did not cordon it"
  fi
}

main() {
  require_root
  [[ "$PHASE" == drain || "$PHASE" == restore ]] || fatal "PHASE must be drain or restore (got '${PHASE}')"
  [[ -n "$NODE_NAME" ]] || fatal "NODE_NAME is empty"
  [[ -z "$TARGET_VERSION" || "$TARGET_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] ||
    fatal "TARGET_VERSION must look like 1.35.0 or be empty (got '${TARGET_VERSION}')"
  require_number DRAIN_TIMEOUT_SECONDS "$DRAIN_TIMEOUT_SECONDS"
  require_number WAIT_TIMEOUT_SECONDS "$WAIT_TIMEOUT_SECONDS"
  use_cluster_credentials
  read_node || fatal "could not look up node ${NODE_NAME}"
  if [[ -z "$NODE_FOUND" ]]; then
    info "node ${NODE_NAME} is not registered (a new instance joins at the target later); nothing to ${PHASE}"
    return 0
  fi
  "$PHASE"
}

main "$@"

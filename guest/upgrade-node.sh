#!/usr/bin/env bash
# upgrade-node: runs on a node during a rolling Kubernetes upgrade, after the bastion drained it
# (node-rollout PHASE=drain) and before it is uncordoned (PHASE=restore). The steps are kubeadm's
# upgrade guide (https://kubernetes.io/docs/tasks/administer-cluster/kubeadm/kubeadm-upgrade/):
# switch the pkgs.k8s.io repository to the target minor, install kubeadm at the target version,
# `kubeadm upgrade apply` on the first control plane or `kubeadm upgrade node` everywhere else,
# then the kubelet and kubectl packages, and a kubelet restart.
#
# Idempotent and resumable: a node whose kubelet already runs the target version (and, on a
# control plane, whose API server manifest names it) is left alone, and each part is skipped
# when it is done already, so a rollout that stopped half way resumes here. A node that has not
# joined yet (a replacement created in the same `up`) installs the target version in prepare
# and joins after the control planes: nothing to do here.
#
# MODE=check changes nothing: it asks the target minor's repository (through a temporary source
# list) whether the target version exists, before any node is drained.
#
# Parameters (rendered header)
#   MODE                  check | upgrade
#   KUBEADM_ACTION        apply (the first control plane, once per rollout) | node
#   ROLE                  control-plane | worker
#   KUBERNETES_VERSION    the target, e.g. 1.35.0
#   KUBERNETES_MINOR      its pkgs.k8s.io repository, e.g. v1.35
#   TIMEOUT_SECONDS       bound on kubeadm upgrade and on the kubelet coming back
# Stdin: nothing. Stdout: nothing.

readonly APISERVER_MANIFEST="${KUBE_DIR}/manifests/kube-apiserver.yaml"

# Prints the version the API server's static pod manifest runs (e.g. 1.35.0), or nothing.
manifest_version() {
  [[ -f "$APISERVER_MANIFEST" ]] || return 0
  sed -n 's|^[[:space:]]*image:[[:space:]]*[^[:space:]]*/kube-apiserver:v\([0-9.]*\).*|\1|p' \
    "$APISERVER_MANIFEST" | head -n 1
}

# True once this node's kubelet package and (control plane) static pods are at the target.
at_target() {
  kubernetes_package_versions kubelet
  [[ "${KUBE_VERSIONS[kubelet]:-}" == "${KUBERNETES_VERSION}-"* ]] || return 1
  [[ "$ROLE" == worker || "$(manifest_version)" == "$KUBERNETES_VERSION" ]]
}

kubelet_active() { timeout 20 systemctl is-active --quiet kubelet; }

# The target's package revision in its minor's repository, asked without changing anything on
# the node (kubeadm_target_revisions, in the package library); stops when the version is not there.
check_available() {
  local revisions revision
  revisions="$(kubeadm_target_revisions)"
  revision="$(awk -v want="${KUBERNETES_VERSION}-" 'found == "" && index($0, want) == 1 { found = $0 } END { print found }' <<<"$revisions")"
  if [[ -z "$revision" ]]; then
    error "Kubernetes ${KUBERNETES_VERSION} is not in pkgs.k8s.io's ${KUBERNETES_MINOR} repository; its kubeadm releases there:"
    awk '$0 != "" { print "  " $0 }' <<<"$revisions" >&2
    fatal "set kubernetesVersion to one of the releases above (\`pulumi config set kubernetesVersion <version>\`); nothing has changed on any node"
  fi
  info "kubeadm ${KUBERNETES_VERSION} is available (${revision}) in the ${KUBERNETES_MINOR} repository"
}

upgrade() {
  local action="$KUBEADM_ACTION"
  if [[ ! -f "$KUBELET_CONF" ]]; then
    info "this node has not joined yet: it installs ${KUBERNETES_VERSION} and joins after the control planes; nothing to upgrade"
    return 0
  fi
  if at_target; then
    info "already at ${KUBERNETES_VERSION}; nothing to do"
    hold_packages kubeadm kubelet kubectl
    kubelet_active || systemctl restart kubelet
    return 0
  fi
  configure_kubernetes_repo
  install_kubernetes_packages kubeadm
  if [[ "$ROLE" == worker ]]; then
    action=node
  fi
  if [[ "$ROLE" == control-plane && "$(manifest_version)" == "$KUBERNETES_VERSION" ]]; then
    info "the control-plane components already run ${KUBERNETES_VERSION}; skipping kubeadm upgrade ${action}"
  elif [[ "$action" == apply ]]; then
    info "kubeadm upgrade apply v${KUBERNETES_VERSION} (control plane, kube-proxy, CoreDNS)"
    timeout -k 30 "$TIMEOUT_SECONDS" kubeadm upgrade apply "v${KUBERNETES_VERSION}" --yes 2>&1 |
      redact_secrets >&2 || fatal "kubeadm upgrade apply v${KUBERNETES_VERSION} failed (its output is above); the cluster keeps running the old control plane: fix the cause and run \`pulumi up\` again"
  else
    info "kubeadm upgrade node"
    timeout -k 30 "$TIMEOUT_SECONDS" kubeadm upgrade node 2>&1 | redact_secrets >&2 ||
      fatal "kubeadm upgrade node failed (its output is above): fix the cause and run \`pulumi up\` again"
  fi
  install_kubernetes_packages kubelet kubectl
  systemctl daemon-reload
  systemctl restart kubelet
  wait_for "$TIMEOUT_SECONDS" "the kubelet to run again" -- kubelet_active
  info "upgraded to ${KUBERNETES_VERSION}"
}

main() {
  require_root
  [[ "$MODE" == check || "$MODE" == upgrade ]] || fatal "MODE must be check or upgrade (got '${MODE}')"
  [[ "$KUBEADM_ACTION" == apply || "$KUBEADM_ACTION" == node ]] ||
    fatal "KUBEADM_ACTION must be apply or node (got '${KUBEADM_ACTION}')"
  [[ "$ROLE" == control-plane || "$ROLE" == worker ]] ||
    fatal "ROLE must be control-plane or worker (got '${ROLE}')"
  validate_kubernetes_version
  require_number TIMEOUT_SECONDS "$TIMEOUT_SECONDS"
  if [[ "$MODE" == check ]]; then
    check_available
  else
    upgrade
  fi
}

main "$@"

#!/usr/bin/env bash
# cni: installs the pod network from the bastion, with the program's kubeconfig on stdin, from
# pinned release manifests: Flannel (its net-conf "Network" set to the pod CIDR) or Calico (operator
# CRDs, the Tigera operator, then our Installation resources). Idempotent: a second run re-applies
# and converges.
#
# Parameters (rendered header)
#   CNI                   flannel | calico
#   POD_CIDR              the cluster's pod CIDR (networking.podSubnet), e.g. 10.244.0.0/16
#   FLANNEL_MANIFEST_URL  pinned kube-flannel.yml
#   CALICO_CRDS_URL       pinned operator-crds.yaml
#   CALICO_OPERATOR_URL   pinned tigera-operator.yaml
#   CALICO_RESOURCES      rendered Installation/APIServer resources (empty for Flannel)
#   WAIT_TIMEOUT_SECONDS  bound on each rollout wait
# Stdin: the secret bundle (`name base64` lines) with `kubeconfig`, the program's cluster-admin
#   kubeconfig (server https://<the API name>:6443); kept in a private tmpfs directory while the
#   step runs, removed when it exits.
# Stdout: nothing.

readonly FLANNEL_DEFAULT_NETWORK='"Network": "10.244.0.0/16"'

# kubectl apply with retries (the API server may be briefly busy right after init).
apply_file() {
  retry 5 5 -- kubectl_admin --request-timeout=60s apply "$@"
}

# Flannel: sets the pod CIDR in net-conf.json, applies, waits for the DaemonSet.
install_flannel() {
  local dir manifest edited count
  make_private_dir dir
  manifest="${dir}/kube-flannel.yml"
  download "$FLANNEL_MANIFEST_URL" "$manifest"
  edited="$(<"$manifest")"
  count="$(grep -cF "$FLANNEL_DEFAULT_NETWORK" <<<"$edited" || true)"
  if [[ "$count" != 1 ]]; then
    fatal "${FLANNEL_MANIFEST_URL} does not contain exactly one ${FLANNEL_DEFAULT_NETWORK} line (found ${count}); the manifest's shape changed, so the pod CIDR cannot be set safely"
  fi
  edited="${edited//"$FLANNEL_DEFAULT_NETWORK"/\"Network\": \"${POD_CIDR}\"}"
  grep -qF "\"Network\": \"${POD_CIDR}\"" <<<"$edited" || fatal "setting the Flannel network to ${POD_CIDR} did not take effect"
  printf '%s\n' "$edited" >"$manifest"
  info "applying Flannel with network ${POD_CIDR}"
  apply_file -f "$manifest"
  kubectl_admin -n kube-flannel rollout status daemonset/kube-flannel-ds --timeout="${WAIT_TIMEOUT_SECONDS}s" ||
    fatal "the kube-flannel-ds DaemonSet did not roll out within ${WAIT_TIMEOUT_SECONDS}s"
}

# True when the Calico operator reports the calico component Available.
calico_available() {
  local status
  status="$(kubectl_admin --request-timeout=10s get tigerastatus calico \
    -o jsonpath='{.status.conditions[?(@.type=="Available")].status}')" || return 1
  [[ "$status" == True ]] || {
    echo "tigerastatus calico: Available=${status:-unknown}"
    return 1
  }
}

# Calico: operator CRDs and operator (server-side apply: the CRDs are too big for client-side
# apply's annotation), then our Installation, then waits for the operator to report Available.
install_calico() {
  local dir
  [[ -n "$CALICO_RESOURCES" ]] || fatal "CALICO_RESOURCES is empty: Calico needs an Installation resource"
  [[ "$CALICO_RESOURCES" == *"$POD_CIDR"* ]] ||
    fatal "CALICO_RESOURCES does not mention the pod CIDR ${POD_CIDR}; its IP pool must match networking.podSubnet"
  make_private_dir dir
  download "$CALICO_CRDS_URL" "${dir}/operator-crds.yaml"
  download "$CALICO_OPERATOR_URL" "${dir}/tigera-operator.yaml"
  printf '%s\n' "${CALICO_RESOURCES%$'\n'}" >"${dir}/resources.yaml"
  info "applying the Calico operator CRDs and the Tigera operator"
  apply_file --server-side --force-conflicts -f "${dir}/operator-crds.yaml"
  apply_file --server-side --force-conflicts -f "${dir}/tigera-operator.yaml"
  kubectl_admin wait --for=condition=Established --timeout=120s crd/installations.operator.tigera.io ||
    fatal "the installations.operator.tigera.io CRD was not established within 120s"
  info "applying the Calico Installation resources"
  apply_file --server-side --force-conflicts -f "${dir}/resources.yaml"
  wait_for "$WAIT_TIMEOUT_SECONDS" "Calico to be Available (tigerastatus calico)" -- calico_available
}

main() {
  require_root
  require_number WAIT_TIMEOUT_SECONDS "$WAIT_TIMEOUT_SECONDS"
  [[ "$POD_CIDR" =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}/[0-9]{1,2}$ ]] ||
    fatal "POD_CIDR must be an IPv4 CIDR such as 10.244.0.0/16 (got '${POD_CIDR}')"
  use_cluster_credentials
  case "$CNI" in
    flannel) install_flannel ;;
    calico) install_calico ;;
    *) fatal "CNI must be flannel or calico (got '${CNI}')" ;;
  esac
  info "${CNI} installed for pod network ${POD_CIDR}"
}

main "$@"

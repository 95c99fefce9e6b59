#!/usr/bin/env bash
# helm-release: runs on the bastion, with the program's kubeconfig on stdin. Installs or upgrades
# one Helm release from a pinned chart file, checked against the sha256 its chart repository's
# index publishes, with the values the program rendered, then waits, within a bound, for the
# release's workloads to roll out. Used for the AWS cloud controller manager and the EBS CSI
# driver (render/cloudAddons.ts). Helm's configuration, cache and the chart live in the step's
# private tmpfs directory and go when it exits. Idempotent: `helm upgrade --install` of the same
# chart and values changes nothing.
#
# Parameters (rendered header)
#   RELEASE_NAME, NAMESPACE  the release
#   CHART_URL, CHART_SHA256  the chart's .tgz and its sha256
#   VALUES                   the values file, YAML
#   ROLLOUTS                 array: the workloads to wait for, e.g. daemonset/aws-cloud-controller-manager
#   WAIT_TIMEOUT_SECONDS     bound on the install and on the whole wait
# Stdin: the secret bundle (`name base64` lines) with `kubeconfig`, the program's cluster-admin
#   kubeconfig; kept in a private tmpfs directory while the step runs, removed when it exits.
# Stdout: nothing.

# Called by dump_diagnostics: the release's pods and their recent events.
step_diagnostics() {
  warn "pods in ${NAMESPACE}:"
  kubectl_admin --request-timeout=10s -n "$NAMESPACE" get pods -o wide 2>&1
  warn "recent warning events in ${NAMESPACE}:"
  kubectl_admin --request-timeout=10s -n "$NAMESPACE" get events --field-selector=type=Warning \
    --sort-by=.lastTimestamp 2>&1 | tail -n 30
}

main() {
  local dir actual workload
  require_root
  [[ "$RELEASE_NAME" =~ ^[a-z0-9]([a-z0-9-]*[a-z0-9])?$ ]] || fatal "RELEASE_NAME '${RELEASE_NAME}' is not a release name"
  [[ "$CHART_URL" == https://*.tgz ]] || fatal "CHART_URL must be an https URL of a .tgz chart"
  [[ "$CHART_SHA256" =~ ^[0-9a-f]{64}$ ]] || fatal "CHART_SHA256 must be 64 hex digits"
  require_number WAIT_TIMEOUT_SECONDS "$WAIT_TIMEOUT_SECONDS"
  have helm || fatal "helm is not installed on the bastion (bastion-tools installs it with the AWS add-ons)"
  use_cluster_credentials
  wait_for 120 "the API server" -- api_ready

  make_private_dir dir
  export HELM_CONFIG_HOME="${dir}/helm/config" HELM_CACHE_HOME="${dir}/helm/cache" \
    HELM_DATA_HOME="${dir}/helm/data"
  info "downloading ${CHART_URL##*/}"
  download "$CHART_URL" "${dir}/chart.tgz"
  actual="$(sha256sum "${dir}/chart.tgz" | awk '{ print $1 }')"
  [[ "$actual" == "$CHART_SHA256" ]] ||
    fatal "${CHART_URL##*/} has sha256 ${actual}, not the pinned ${CHART_SHA256}: not installing it"
  printf '%s\n' "${VALUES%$'\n'}" >"${dir}/values.yaml"

  info "installing release ${NAMESPACE}/${RELEASE_NAME} from ${CHART_URL##*/}"
  KUBECONFIG="$CLUSTER_KUBECONFIG" timeout -k 10 "$((WAIT_TIMEOUT_SECONDS + 30))" \
    helm upgrade --install "$RELEASE_NAME" "${dir}/chart.tgz" --namespace "$NAMESPACE" \
    --values "${dir}/values.yaml" --timeout "${WAIT_TIMEOUT_SECONDS}s" >&2 ||
    fatal "helm could not install ${RELEASE_NAME}"
  for workload in "${ROLLOUTS[@]}"; do
    info "waiting for ${NAMESPACE}/${workload} to roll out"
    if ! kubectl_admin -n "$NAMESPACE" rollout status "$workload" --timeout="${WAIT_TIMEOUT_SECONDS}s" >&2; then
      dump_diagnostics
      fatal "${NAMESPACE}/${workload} did not roll out within ${WAIT_TIMEOUT_SECONDS}s (diagnostics above)"
    fi
  done
  info "release ${NAMESPACE}/${RELEASE_NAME} ready"
}

main "$@"

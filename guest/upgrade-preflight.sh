#!/usr/bin/env bash
# upgrade-preflight: runs on the bastion, with the program's kubeconfig on stdin, before a rolling
# upgrade touches any node. It checks the live cluster against the Kubernetes version skew policy
# (https://kubernetes.io/releases/version-skew-policy/) and kubeadm's upgrade rules, and refuses,
# naming both versions and what to do instead:
#   - a downgrade (the target is older than the API server);
#   - a skipped minor (the target is more than one minor above the API server);
#   - a kubelet newer than the API server (the cluster is already outside the policy);
#   - a kubelet that the upgraded API server would leave more than three minors behind.
# An API server that already runs the target (a rollout that stopped half way) is fine: the
# rollout resumes. It changes nothing.
#
# Parameters (rendered header)
#   TARGET_VERSION    the version the nodes move to, e.g. 1.35.0
#   API_WAIT_SECONDS  how long to wait for the API server
# Stdin: the secret bundle (`name base64` lines) with `kubeconfig`, the program's cluster-admin
#   kubeconfig; kept in a private tmpfs directory while the step runs, removed when it exits.
# Stdout: nothing.

# Splits vMAJOR.MINOR.PATCH (with or without v, any suffix) into MAJOR MINOR PATCH.
version_parts() {
  [[ "$1" =~ ^v?([0-9]+)\.([0-9]+)\.([0-9]+) ]] || return 1
  printf '%s %s %s\n' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" "${BASH_REMATCH[3]}"
}

# Prints -1, 0 or 1 as version A is older than, equal to or newer than B: compare A B.
compare() {
  local a b
  read -r -a a <<<"$(version_parts "$1")"
  read -r -a b <<<"$(version_parts "$2")"
  local i
  for i in 0 1 2; do
    if ((a[i] < b[i])); then
      echo -1
      return 0
    elif ((a[i] > b[i])); then
      echo 1
      return 0
    fi
  done
  echo 0
}

minor_of() {
  local p
  read -r -a p <<<"$(version_parts "$1")"
  echo "${p[1]}"
}

main() {
  local version server kubelets name kubelet problems=() server_minor target_minor
  require_root
  version_parts "$TARGET_VERSION" >/dev/null || fatal "TARGET_VERSION must look like 1.35.0 (got '${TARGET_VERSION}')"
  require_number API_WAIT_SECONDS "$API_WAIT_SECONDS"
  use_cluster_credentials
  wait_for "$API_WAIT_SECONDS" "the API server" -- api_ready
  version="$(kubectl_bounded 30 --request-timeout=20s get --raw /version)" ||
    fatal "could not read the API server's version"
  server="$(sed -n 's/.*"gitVersion"[[:space:]]*:[[:space:]]*"\(v[^"]*\)".*/\1/p' <<<"$version" | head -n 1)"
  version_parts "$server" >/dev/null || fatal "the API server reports no version I can read: ${version}"
  kubelets="$(kubectl_bounded 30 --request-timeout=20s get nodes \
    -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.status.nodeInfo.kubeletVersion}{"\n"}{end}')" ||
    fatal "could not list the nodes' kubelet versions"
  info "the API server runs ${server}; the target is v${TARGET_VERSION}"

  server_minor="$(minor_of "$server")"
  target_minor="$(minor_of "$TARGET_VERSION")"
  if [[ "$(compare "$TARGET_VERSION" "$server")" == -1 ]]; then
    problems+=("the API server runs ${server} and kubernetesVersion says ${TARGET_VERSION}: kubeadm does not downgrade a cluster; set kubernetesVersion back to ${server#v} (\`pulumi config set kubernetesVersion ${server#v}\`)")
  elif ((target_minor > server_minor + 1)); then
    problems+=("the API server runs ${server} and kubernetesVersion says ${TARGET_VERSION}: upgrade one minor version at a time, to a 1.$((server_minor + 1)).x release first (\`pulumi config set kubernetesVersion 1.$((server_minor + 1)).<patch>\`, \`pulumi up\`), then to ${TARGET_VERSION}")
  fi
  while read -r name kubelet; do
    [[ -n "$name" ]] || continue
    if ! version_parts "$kubelet" >/dev/null; then
      problems+=("node ${name} reports no kubelet version (got '${kubelet}'): check that its kubelet runs")
    elif [[ "$(compare "$kubelet" "$server")" == 1 ]]; then
      problems+=("node ${name}'s kubelet runs ${kubelet}, newer than the API server ${server}: the version skew policy forbids a kubelet newer than its API server; upgrade the control planes to ${kubelet#v} first, or reinstall that node at ${server#v}")
    elif (($(minor_of "$kubelet") + 3 < target_minor)); then
      problems+=("node ${name}'s kubelet runs ${kubelet}, which an API server at ${TARGET_VERSION} would leave more than three minor versions behind (the skew policy's limit): upgrade or replace that node first")
    fi
  done <<<"$kubelets"
  if ((${#problems[@]} > 0)); then
    for name in "${problems[@]}"; do
      error "$name"
    done
    fatal "refusing the upgrade to ${TARGET_VERSION}: ${#problems[@]} problem(s) above; nothing has changed on any node"
  fi
  info "kubelets: $(awk 'NF { printf "%s%s=%s", sep, $1, $2; sep = ", " }' <<<"$kubelets")"
  info "the upgrade to ${TARGET_VERSION} is within the version skew policy"
}

main "$@"

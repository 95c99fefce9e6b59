#!/usr/bin/env bash
# etcd-prune: runs on the bastion, with the program's kubeconfig on stdin, before the control
# planes join (it re-runs whenever the set of control-plane instances changes). It removes the etcd
# members of instances that are gone and cannot answer: the old member of a control plane being
# replaced whose instance is dead or stopped, or a member a failed join left unstarted.
#
# Why: etcd refuses to add a member, even a learner, while a voting member is unreachable
# (--strict-reconfig-check, on by default): "etcdserver: unhealthy cluster" (up to etcd v3.5.29 and
# v3.6.10 every voting member must be connected; later ones count quorum with the new member, and
# two of three connected is not enough for a fourth). So the dead member must go before the new
# instance joins (docs/kubeadm-credentials.md, "Replacing a dead control plane"). A member that
# answers is never touched here: the old instance of a planned replacement stays a voting member
# until the new one has joined, and its member step removes it afterwards.
#
# Parameters (rendered header)
#   CONTROL_PLANE_IPS  array: the private IPs of every control plane of the stack, as it will be
#                      once the joins are done; a member whose peer URL is on one of them stays
#                      (unless it never started)
#   API_ENDPOINT_HOST  the API's fixed name: the API servers' certificates name it
#   API_WAIT_SECONDS   how long to wait for an API server to answer at one of CONTROL_PLANE_IPS
# Stdin: the secret bundle (`name base64` lines) with `kubeconfig`, the program's cluster-admin
#   kubeconfig; kept in a private tmpfs directory while the step runs, removed when it exits.
# Stdout: nothing.
#
# It talks to the API servers at their own addresses, not through the load balancer, so it needs
# neither the load balancer nor the private name (init has just finished when it first runs).

# True when some API server at CONTROL_PLANE_IPS answers /readyz; then KUBECTL_SERVER_ARGS names
# it (the certificate is checked against the API's fixed name).
reach_an_api_server() {
  local ip
  for ip in "${CONTROL_PLANE_IPS[@]}"; do
    KUBECTL_SERVER_ARGS=(--server "https://${ip}:6443" --tls-server-name "$API_ENDPOINT_HOST")
    if kubectl_bounded 10 --request-timeout=5s get --raw /readyz >/dev/null 2>&1; then
      printf '%s\n' "$ip"
      return 0
    fi
  done
  KUBECTL_SERVER_ARGS=()
  return 1
}

# Prints the members to remove, one "ID NAME PEER-IP STATUS" line each, from `member list -w
# simple` on stdin: those whose peer IP is not a control plane of the stack, and those that never
# started. Whether each still answers is checked next.
prune_candidates() {
  awk -F', ' -v expected=" ${CONTROL_PLANE_IPS[*]} " '
    NF >= 4 {
      peer = $4
      sub(/^https?:\/\//, "", peer)
      sub(/:[0-9]+.*$/, "", peer)
      if ($2 == "unstarted" || index(expected, " " peer " ") == 0) {
        print $1, ($3 == "" ? "-" : $3), peer, $2
      }
    }'
}

# True when the member with peer IP answers etcd's health check (through POD's etcdctl).
member_answers() {
  local pod="$1" ip="$2"
  kubectl_bounded 30 --request-timeout=25s -n kube-system exec "$pod" -- etcdctl \
    --endpoints="https://${ip}:2379" "${ETCDCTL_TLS_FLAGS[@]}" --command-timeout=5s \
    endpoint health >/dev/null 2>&1
}

main() {
  local ip server pod="" members="" candidates id name peer status removed=0
  require_root
  ((${#CONTROL_PLANE_IPS[@]} > 0)) || fatal "CONTROL_PLANE_IPS is empty"
  for ip in "${CONTROL_PLANE_IPS[@]}"; do
    [[ "$ip" =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] ||
      fatal "CONTROL_PLANE_IPS must hold IPv4 addresses (got '${ip}')"
  done
  [[ -n "$API_ENDPOINT_HOST" ]] || fatal "API_ENDPOINT_HOST is empty"
  require_number API_WAIT_SECONDS "$API_WAIT_SECONDS"
  use_cluster_credentials

  wait_for "$API_WAIT_SECONDS" "an API server at ${CONTROL_PLANE_IPS[*]}" -- reach_an_api_server ||
    fatal "no API server answers at ${CONTROL_PLANE_IPS[*]}: with every control plane down, etcd has no quorum to change; restore from a backup"
  server="$(reach_an_api_server)"
  # shellcheck disable=SC2034 # kubectl_bounded (lib-kubeadm.sh) passes it to every kubectl call
  KUBECTL_SERVER_ARGS=(--server "https://${server}:6443" --tls-server-name "$API_ENDPOINT_HOST")
  info "using the API server at ${server}"

  answering_etcd_pod "" pod members ||
    fatal "no etcd pod answers; the etcd members cannot be checked"
  candidates="$(prune_candidates <<<"$members")"
  if [[ -z "$candidates" ]]; then
    info "every etcd member belongs to a control plane of the stack; nothing to remove"
    return 0
  fi
  while read -r id name peer status; do
    [[ -n "$id" ]] || continue
    if [[ "$status" != unstarted ]] && member_answers "$pod" "$peer"; then
      info "etcd member ${id} (${name}, ${peer}) is not in the stack but answers: it stays until its own removal step, after the new control plane has joined"
      continue
    fi
    info "removing etcd member ${id} (${name}, ${peer}, ${status}): its instance is gone or never joined, and etcd would refuse the next member while it counts"
    retry 3 5 -- etcdctl_in "$pod" member remove "$id" ||
      fatal "could not remove etcd member ${id} (${peer}); if quorum is lost, restore from a backup"
    removed=$((removed + 1))
  done <<<"$candidates"
  info "removed ${removed} etcd member(s)"
}

main "$@"

#!/usr/bin/env bash
# join: `kubeadm join` of a control-plane or worker node, with the bootstrap token (and the
# certificate key) from stdin. Guarded: a node with /etc/kubernetes/kubelet.conf has joined already.
# A failed join is reset and retried once; a token problem prints how to get a fresh token.
# A control plane then maps the endpoint to itself and recreates its kube-proxy pod if that pod
# still holds the join-time copy of /etc/hosts (also on a re-run, so a failure in between heals).
#
# Parameters (rendered header)
#   ROLE                     control-plane | worker
#   JOIN_CONFIG              the JoinConfiguration with __BOOTSTRAP_TOKEN__ (and, for a control
#                            plane, __CERTIFICATE_KEY__) placeholders
#   CRI_SOCKET               e.g. unix:///run/containerd/containerd.sock (for kubeadm reset)
#   API_ENDPOINT_HOST        host of controlPlaneEndpoint (the NLB's DNS name)
#   API_ENDPOINT_PORT        its port, normally 6443
#   BOOTSTRAP_API_IP         private IP of the first control-plane node; a joining control plane
#                            maps API_ENDPOINT_HOST there until its own API server runs
#   KUBEADM_TIMEOUT_SECONDS  bound on each kubeadm join attempt
#   NODE_NAME                this node's Kubernetes name (its private DNS name), to find its
#                            kube-proxy pod
# Stdin: the secret bundle (`name base64` lines): token, and certificate-key for a control plane.
# Stdout: nothing. kubeadm's output goes to stderr with tokens and keys redacted.

readonly JOIN_CONFIG_FILE="${KUBEADM_DIR}/join.yaml"
readonly READYZ_WAIT_SECONDS="${KUBEADM_AWS_READYZ_WAIT_SECONDS:-600}"
# Bound on the wait for a recreated kube-proxy pod (a 30 s grace period, then an image already
# pulled by prepare); the environment variable is for tests.
readonly KUBE_PROXY_WAIT_SECONDS="${KUBEADM_AWS_KUBE_PROXY_WAIT_SECONDS:-300}"
readonly KUBELET_PODS_DIR="${SYSROOT}/var/lib/kubelet/pods"
# Set once the kube-proxy check starts, so that only its failures add its diagnostics.
KUBE_PROXY_CHECK=""

# True when the API server behind the endpoint answers /readyz (401/403 also prove it is up).
endpoint_ready() {
  local url="https://${API_ENDPOINT_HOST}:${API_ENDPOINT_PORT}/readyz" code
  code="$(curl -ks -o /dev/null -w '%{http_code}' --connect-timeout 5 --max-time 10 "$url")" || true
  case "$code" in
    200 | 401 | 403) return 0 ;;
  esac
  echo "${url} answered ${code:-nothing}"
  return 1
}

# Writes the JoinConfiguration with the secrets filled in (0600: it holds them).
write_join_config() {
  local token="$1" key="$2" config
  [[ "$JOIN_CONFIG" == *__BOOTSTRAP_TOKEN__* ]] || fatal "JOIN_CONFIG has no __BOOTSTRAP_TOKEN__ placeholder"
  config="${JOIN_CONFIG//__BOOTSTRAP_TOKEN__/$token}"
  if [[ "$ROLE" == control-plane ]]; then
    [[ "$config" == *__CERTIFICATE_KEY__* ]] ||
      fatal "JOIN_CONFIG of a control-plane node has no __CERTIFICATE_KEY__ placeholder"
    config="${config//__CERTIFICATE_KEY__/$key}"
  elif [[ "$config" == *__CERTIFICATE_KEY__* ]]; then
    fatal "JOIN_CONFIG of a worker has a __CERTIFICATE_KEY__ placeholder (only control planes use one)"
  fi
  ensure_dir "$KUBEADM_DIR" 0700
  if write_file_if_changed "$JOIN_CONFIG_FILE" 0600 <<<"${config%$'\n'}"; then
    info "wrote ${JOIN_CONFIG_FILE}"
  fi
}

# One bounded `kubeadm join` attempt; its exit status is kubeadm's (124 on timeout).
kubeadm_join_once() {
  info "running kubeadm join as a ${ROLE} (timeout ${KUBEADM_TIMEOUT_SECONDS}s)"
  run_redacted "$1" timeout -k 30 "$KUBEADM_TIMEOUT_SECONDS" kubeadm join --config "$JOIN_CONFIG_FILE"
}

# After a failure: if kubeadm's output in LOG points at the bootstrap token, says where it came from.
explain_token_failure() {
  if grep -Eiq 'JWS signature|token id|bootstrap token|token.*(invalid|expired|not found)|unauthorized' "$1"; then
    error "the failure looks like an invalid or expired bootstrap token. The token came from this node's" \
      "creds step on the first control-plane node; \`pulumi up --replace <URN of that creds command>\`" \
      "creates a fresh one (tokens live TOKEN_TTL; uploaded certificates 2 hours)."
  fi
}

# Hooks for kubeadm_with_one_retry; they read main's locals (bash scopes dynamically).
join_attempt() { kubeadm_join_once "${dir}/kubeadm-join.log"; }
explain_join_failure() { explain_token_failure "${dir}/kubeadm-join.log"; }

# ---- kube-proxy's copy of /etc/hosts -----------------------------------------------------------
# kube-proxy runs in the host network namespace, and for such pods the kubelet copies the node's
# /etc/hosts into the pod (KUBELET_PODS_DIR/<uid>/etc-hosts) once, when the pod starts; container
# restarts keep that copy. kube-proxy reaches the API through controlPlaneEndpoint (the kubeconfig
# in the kube-proxy ConfigMap), so a kube-proxy that started while this node joined keeps
# API_ENDPOINT_HOST -> BOOTSTRAP_API_IP and loses the API when the first control plane goes.
# (Flannel and Calico use the in-cluster service address, so only kube-proxy needs this.)

# kubectl in kube-system as cluster admin, through this node's own admin.conf: every request is
# bounded, and so is the whole call (discovery can add requests).
kube_system_kubectl() {
  KUBECONFIG="$ADMIN_CONF" timeout -k 5 45 kubectl --request-timeout=15s -n kube-system "$@"
}

# Prints "uid name phase", one line per kube-proxy pod on this node.
list_kube_proxy_pods() {
  kube_system_kubectl get pods -l k8s-app=kube-proxy --field-selector "spec.nodeName=${NODE_NAME}" \
    -o jsonpath='{range .items[*]}{.metadata.uid}{" "}{.metadata.name}{" "}{.status.phase}{"\n"}{end}'
}

# Prints the address that pod UID's copy of /etc/hosts gives API_ENDPOINT_HOST: the first line
# naming it wins, as in the resolver; "none" when no line does; nothing when the pod has no copy
# yet (its first container has not started) or UID is not a UID (no path outside the pods dir).
hosts_copy_address() {
  local file="${KUBELET_PODS_DIR}/$1/etc-hosts"
  if [[ ! "$1" =~ ^[0-9a-f-]+$ || ! -f "$file" ]]; then
    return 0
  fi
  awk -v host="${API_ENDPOINT_HOST,,}" '
    { sub(/#.*/, "") }
    NF >= 2 { for (i = 2; i <= NF; i++) if (tolower($i) == host) { print $1; found = 1; exit } }
    END { if (!found) print "none" }' "$file"
}

# True when a kube-proxy pod on this node is Running with a copy of /etc/hosts that maps
# API_ENDPOINT_HOST to 127.0.0.1; otherwise prints every pod's state (wait_for shows the last).
kube_proxy_settled() {
  local listing uid name phase address
  listing="$(list_kube_proxy_pods)" || return 1
  if [[ -z "$listing" ]]; then
    echo "no kube-proxy pod on ${NODE_NAME} yet"
    return 1
  fi
  while read -r uid name phase; do
    [[ -n "$uid" ]] || continue
    address="$(hosts_copy_address "$uid")"
    if [[ "$phase" == Running && "$address" == 127.0.0.1 ]]; then
      return 0
    fi
    echo "${name} (uid ${uid}): ${phase:-no phase yet}, ${API_ENDPOINT_HOST} -> ${address:-no hosts copy yet}"
  done <<<"$listing"
  return 1
}

# Called by dump_diagnostics (which adds the kubelet journal, the containers and the nodes) once
# the kube-proxy check has started: the pods with their hosts copies, the DaemonSet, its events.
step_diagnostics() {
  local listing uid name phase address
  [[ -n "$KUBE_PROXY_CHECK" ]] || return 0
  warn "kube-proxy pods on ${NODE_NAME}:"
  kube_system_kubectl get pods -l k8s-app=kube-proxy --field-selector "spec.nodeName=${NODE_NAME}" \
    -o wide 2>&1 || true
  if listing="$(list_kube_proxy_pods 2>&1)"; then
    while read -r uid name phase; do
      [[ -n "$uid" ]] || continue
      address="$(hosts_copy_address "$uid")"
      warn "  ${name} (${phase:-no phase}): ${KUBELET_PODS_DIR}/${uid}/etc-hosts maps ${API_ENDPOINT_HOST}" \
        "to ${address:-nothing (no copy yet)}"
    done <<<"$listing"
  fi
  warn "the kube-proxy DaemonSet:"
  kube_system_kubectl get daemonset kube-proxy -o wide 2>&1 || true
  warn "recent kube-system events about kube-proxy:"
  kube_system_kubectl get events --sort-by=.lastTimestamp 2>&1 | grep -F kube-proxy | tail -n 20 || true
}

# Makes every kube-proxy pod on this node use a copy of /etc/hosts with API_ENDPOINT_HOST ->
# 127.0.0.1: deletes each pod whose copy says otherwise (the DaemonSet recreates it, and the new
# pod copies the current /etc/hosts), then waits for a Running replacement. Race-free because the
# caller made /etc/hosts final before the pods are listed here: a pod created later, or one whose
# first container has not started yet, copies the final file. (Such a pod is waited for too, to
# catch a kubelet that read /etc/hosts just before the flip.) Deletes nothing when all is right.
# Meanwhile the node keeps the service rules the old kube-proxy wrote; only updates pause.
refresh_kube_proxy_hosts() {
  local listing uid name phase address stale=() starting=""
  if [[ ! -f "$ADMIN_CONF" ]]; then
    warn "${ADMIN_CONF} is missing, so kube-proxy's copy of /etc/hosts cannot be checked; a kube-proxy" \
      "started during the join may still reach the API through ${BOOTSTRAP_API_IP} only"
    return 0
  fi
  KUBE_PROXY_CHECK=1
  # The local API server has only just started (or the node rebooted): retry the first call.
  if ! listing="$(retry 5 3 -- list_kube_proxy_pods)"; then
    dump_diagnostics
    fatal "cannot list the kube-proxy pods on ${NODE_NAME} through this node's API server"
  fi
  while read -r uid name phase; do
    [[ -n "$uid" ]] || continue
    address="$(hosts_copy_address "$uid")"
    case "$address" in
      127.0.0.1) info "kube-proxy pod ${name} already maps ${API_ENDPOINT_HOST} to 127.0.0.1" ;;
      "")
        info "kube-proxy pod ${name} (${phase:-no phase}) has no copy of /etc/hosts yet;" \
          "it will copy the final one"
        starting=1
        ;;
      *)
        info "kube-proxy pod ${name} maps ${API_ENDPOINT_HOST} to ${address}" \
          "(copied before this node used its own API server)"
        stale+=("$name")
        ;;
    esac
  done <<<"$listing"
  if ((${#stale[@]} == 0)) && [[ -z "$starting" ]]; then
    return 0
  fi
  for name in "${stale[@]}"; do
    info "deleting pod ${name}; the kube-proxy DaemonSet recreates it with a fresh copy of /etc/hosts"
    retry 3 5 -- kube_system_kubectl delete pod "$name" --ignore-not-found --wait=false ||
      fatal "cannot delete the kube-proxy pod ${name}"
  done
  if ! wait_for "$KUBE_PROXY_WAIT_SECONDS" \
    "a Running kube-proxy pod on ${NODE_NAME} whose copy of /etc/hosts maps ${API_ENDPOINT_HOST} to 127.0.0.1" \
    -- kube_proxy_settled; then
    dump_diagnostics
    fatal "kube-proxy on ${NODE_NAME} did not come back with the final /etc/hosts within" \
      "${KUBE_PROXY_WAIT_SECONDS}s (diagnostics above); re-running this step retries"
  fi
}

# From now on this node's kubelet, kube-proxy and admin tools use its own API server.
use_own_api_server() {
  set_hosts_entry "$API_ENDPOINT_HOST" 127.0.0.1
  if [[ -f "$ADMIN_CONF" ]]; then
    install_root_kubeconfig
  fi
  refresh_kube_proxy_hosts
}

main() {
  local dir token key=""
  require_root
  [[ "$ROLE" == control-plane || "$ROLE" == worker ]] || fatal "ROLE must be control-plane or worker (got '${ROLE}')"
  require_number KUBEADM_TIMEOUT_SECONDS "$KUBEADM_TIMEOUT_SECONDS"
  require_number API_ENDPOINT_PORT "$API_ENDPOINT_PORT"
  [[ "$NODE_NAME" =~ ^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$ ]] ||
    fatal "NODE_NAME must be a Kubernetes node name (got '${NODE_NAME}')"
  make_private_dir dir
  read_secret_bundle "${dir}/secrets"
  require_secret "${dir}/secrets" token
  token="$(secret_value "${dir}/secrets" token)"
  [[ "$token" =~ ^[a-z0-9]{6}\.[a-z0-9]{16}$ ]] || fatal "the token entry is not a bootstrap token ([a-z0-9]{6}.[a-z0-9]{16})"
  if [[ "$ROLE" == control-plane ]]; then
    require_secret "${dir}/secrets" certificate-key
    key="$(secret_value "${dir}/secrets" certificate-key)"
    [[ "$key" =~ ^[0-9a-fA-F]{64}$ ]] || fatal "the certificate-key entry must be 64 hexadecimal characters"
  fi

  if [[ -f "$KUBELET_CONF" ]]; then
    info "already joined (${KUBELET_CONF} exists); not running kubeadm join again"
    if [[ "$ROLE" == control-plane ]]; then
      # Converges what a failure after the join (or an older version of this step) left behind.
      use_own_api_server
    fi
    return 0
  fi

  if [[ "$ROLE" == control-plane ]]; then
    # Our own API server does not exist yet: reach the first control plane directly.
    set_hosts_entry "$API_ENDPOINT_HOST" "$BOOTSTRAP_API_IP"
  fi
  wait_for "$READYZ_WAIT_SECONDS" "the API server at ${API_ENDPOINT_HOST}:${API_ENDPOINT_PORT}" -- endpoint_ready ||
    fatal "the API endpoint did not answer; check the load balancer's target health and that the nodes' security group allows ${API_ENDPOINT_PORT}/tcp"
  write_join_config "$token" "$key"
  validate_kubeadm_config "$JOIN_CONFIG_FILE"

  kubeadm_with_one_retry join "$KUBEADM_TIMEOUT_SECONDS" "$CRI_SOCKET" join_attempt explain_join_failure true
  [[ -f "$KUBELET_CONF" ]] || fatal "kubeadm join succeeded but ${KUBELET_CONF} is missing"
  if [[ "$ROLE" == control-plane ]]; then
    use_own_api_server
  fi
  ensure_dir "$STATE_DIR" 0700
  write_file_if_changed "${STATE_DIR}/join.done" 0644 <<<"joined as ${ROLE}" || true
  info "joined the cluster as a ${ROLE}"
}

main "$@"

#!/usr/bin/env bash
# join: `kubeadm join` of a control-plane or worker node, with the bootstrap token (and the
# certificate key) from stdin. Guarded: a node with /etc/kubernetes/kubelet.conf has joined already.
# A failed join is reset and retried once; a token problem prints how to get a fresh token.
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
# Stdin: the secret bundle (`name base64` lines): token, and certificate-key for a control plane.
# Stdout: nothing. kubeadm's output goes to stderr with tokens and keys redacted.

readonly JOIN_CONFIG_FILE="${KUBEADM_DIR}/join.yaml"
readonly READYZ_WAIT_SECONDS="${KUBEADM_AWS_READYZ_WAIT_SECONDS:-600}"

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

main() {
  local dir token key=""
  require_root
  [[ "$ROLE" == control-plane || "$ROLE" == worker ]] || fatal "ROLE must be control-plane or worker (got '${ROLE}')"
  require_number KUBEADM_TIMEOUT_SECONDS "$KUBEADM_TIMEOUT_SECONDS"
  require_number API_ENDPOINT_PORT "$API_ENDPOINT_PORT"
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
      set_hosts_entry "$API_ENDPOINT_HOST" 127.0.0.1
      if [[ -f "$ADMIN_CONF" ]]; then
        install_root_kubeconfig
      fi
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
    # From now on this node's kubelet and admin tools use its own API server.
    set_hosts_entry "$API_ENDPOINT_HOST" 127.0.0.1
    if [[ -f "$ADMIN_CONF" ]]; then
      install_root_kubeconfig
    fi
  fi
  ensure_dir "$STATE_DIR" 0700
  write_file_if_changed "${STATE_DIR}/join.done" 0644 <<<"joined as ${ROLE}" || true
  info "joined the cluster as a ${ROLE}"
}

main "$@"

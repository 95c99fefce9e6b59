#!/usr/bin/env bash
# init: `kubeadm init` on the first control-plane node, with the cluster PKI that Pulumi generated.
# Guarded: a node that already has /etc/kubernetes/admin.conf is never initialised again.
#
# Parameters (rendered header)
#   KUBEADM_CONFIG           the kubeadm config (Init + Cluster + Kubelet [+ KubeProxy]) with the
#                            placeholder __CERTIFICATE_KEY__
#   CRI_SOCKET               e.g. unix:///run/containerd/containerd.sock (for kubeadm reset)
#   API_ENDPOINT_HOST        host of controlPlaneEndpoint (the NLB's DNS name), mapped to
#                            127.0.0.1 here so init never waits on the load balancer
#   KUBEADM_TIMEOUT_SECONDS  bound on each kubeadm init attempt
# Stdin: the secret bundle (`name base64` lines) with pki/ca.crt pki/ca.key
#   pki/front-proxy-ca.crt pki/front-proxy-ca.key pki/etcd/ca.crt pki/etcd/ca.key pki/sa.key
#   pki/sa.pub certificate-key (64 hex characters). None of it is ever printed.
# Stdout: nothing. kubeadm's own output goes to stderr with the certificate key and tokens redacted.

readonly PKI_ENTRIES=(
  pki/ca.crt pki/ca.key
  pki/front-proxy-ca.crt pki/front-proxy-ca.key
  pki/etcd/ca.crt pki/etcd/ca.key
  pki/sa.key pki/sa.pub
)
readonly INIT_CONFIG_FILE="${KUBEADM_DIR}/init.yaml"

# Installs the bundle's PKI files into /etc/kubernetes/pki: keys 0600, certificates 0644. A file
# that exists with other content stops the step: it belongs to another cluster.
install_pki() {
  local bundle="$1" entry src dest mode
  ensure_dir "$PKI_DIR" 0755
  ensure_dir "${PKI_DIR}/etcd" 0755
  for entry in "${PKI_ENTRIES[@]}"; do
    src="${bundle}/${entry}"
    dest="${KUBE_DIR}/${entry}"
    mode=0644
    if [[ "$entry" == *.key ]]; then
      mode=0600
    fi
    if [[ -e "$dest" ]] && ! cmp -s -- "$src" "$dest"; then
      fatal "${dest} exists with different content: this node holds another cluster's PKI; refusing to overwrite it (kubeadm reset -f clears it)"
    fi
    if write_file_if_changed "$dest" "$mode" <"$src"; then
      info "installed ${entry}"
    fi
  done
}

# Writes the kubeadm config with the certificate key filled in (0600: it holds the key).
write_init_config() {
  local key="$1" config
  [[ "$KUBEADM_CONFIG" == *__CERTIFICATE_KEY__* ]] ||
    fatal "KUBEADM_CONFIG has no __CERTIFICATE_KEY__ placeholder: creds and control-plane joins need the key in it"
  config="${KUBEADM_CONFIG//__CERTIFICATE_KEY__/$key}"
  ensure_dir "$KUBEADM_DIR" 0700
  if write_file_if_changed "$INIT_CONFIG_FILE" 0600 <<<"${config%$'\n'}"; then
    info "wrote ${INIT_CONFIG_FILE}"
  fi
}

# One bounded `kubeadm init` attempt; its exit status is kubeadm's (124 on timeout).
kubeadm_init_once() {
  local log="$1"
  info "running kubeadm init (timeout ${KUBEADM_TIMEOUT_SECONDS}s)"
  run_redacted "$log" timeout -k 30 "$KUBEADM_TIMEOUT_SECONDS" \
    kubeadm init --config "$INIT_CONFIG_FILE" --upload-certs --skip-certificate-key-print --skip-token-print
}

# Hooks for kubeadm_with_one_retry; they read main's locals (bash scopes dynamically).
init_attempt() { kubeadm_init_once "$log"; }
# kubeadm reset deletes /etc/kubernetes/pki: put the cluster's CAs back before the retry.
reinstall_pki() { install_pki "$bundle"; }

main() {
  local bundle key entry log
  require_root
  require_number KUBEADM_TIMEOUT_SECONDS "$KUBEADM_TIMEOUT_SECONDS"
  make_private_dir bundle
  log="${bundle}/kubeadm-init.log"
  read_secret_bundle "${bundle}/secrets"
  bundle="${bundle}/secrets"
  for entry in "${PKI_ENTRIES[@]}" certificate-key; do
    require_secret "$bundle" "$entry"
  done
  key="$(secret_value "$bundle" certificate-key)"
  [[ "$key" =~ ^[0-9a-fA-F]{64}$ ]] || fatal "the certificate-key entry must be 64 hexadecimal characters"

  # From here on the endpoint resolves to this node: init never depends on the NLB being healthy.
  set_hosts_entry "$API_ENDPOINT_HOST" 127.0.0.1

  if [[ -f "$ADMIN_CONF" ]]; then
    info "already initialised (${ADMIN_CONF} exists); not running kubeadm init again"
    if [[ -f "${PKI_DIR}/ca.crt" ]] && ! cmp -s -- "${bundle}/pki/ca.crt" "${PKI_DIR}/ca.crt"; then
      fatal "this node was initialised with another cluster CA than the one in the Pulumi stack"
    fi
    install_root_kubeconfig
    return 0
  fi

  install_pki "$bundle"
  write_init_config "$key"
  validate_kubeadm_config "$INIT_CONFIG_FILE"
  kubeadm_with_one_retry init "$KUBEADM_TIMEOUT_SECONDS" "$CRI_SOCKET" init_attempt true reinstall_pki
  [[ -f "$ADMIN_CONF" ]] || fatal "kubeadm init succeeded but ${ADMIN_CONF} is missing"
  install_root_kubeconfig
  ensure_dir "$STATE_DIR" 0700
  write_file_if_changed "${STATE_DIR}/init.done" 0644 <<<"initialised" || true
  info "control plane initialised"
}

main "$@"

#!/usr/bin/env bash
# init: `kubeadm init` on the first instance of the first control plane, once per cluster, with the
# cluster PKI that Pulumi generated. Guarded: a node that already has /etc/kubernetes/admin.conf is
# never initialised again. Every control plane, this one included, also has a join step, which is a
# no-op on the instance that ran init.
#
# Parameters (rendered header)
#   KUBEADM_CONFIG           the kubeadm config (Init + Cluster + Kubelet [+ KubeProxy]), used as is:
#                            no placeholder, no certificateKey (nothing is uploaded)
#   CRI_SOCKET               e.g. unix:///run/containerd/containerd.sock (for kubeadm reset)
#   API_ENDPOINT_HOST        host of controlPlaneEndpoint (the API's fixed private name), mapped to
#                            127.0.0.1 here so init never waits on the load balancer
#   KUBEADM_TIMEOUT_SECONDS  bound on each kubeadm init attempt
# Stdin: the secret bundle (`name base64` lines) with pki/ca.crt pki/ca.key
#   pki/front-proxy-ca.crt pki/front-proxy-ca.key pki/etcd/ca.crt pki/etcd/ca.key pki/sa.key
#   pki/sa.pub. None of it is ever printed.
# Stdout: nothing. kubeadm's own output goes to stderr with tokens redacted.
#
# Nothing is uploaded: every control plane gets the CA files on stdin (kubeadm's manual certificate
# distribution), so there is no kubeadm-certs Secret and no certificate key. kubeadm's default
# phases stay, bootstrap-token and upload-config above all: they create the RBAC that auto-approves
# a node's own client CSR (kubeadm:node-autoapprove-certificate-rotation) and lets system:nodes read
# the kubeadm and kubelet config during a join; without them a join with the program's discovery
# credentials times out (docs/kubeadm-credentials.md).

readonly INIT_CONFIG_FILE="${KUBEADM_DIR}/init.yaml"

# Writes the kubeadm config as rendered (0600, like every kubeadm config here).
write_init_config() {
  [[ "$KUBEADM_CONFIG" != *__CERTIFICATE_KEY__* ]] ||
    fatal "KUBEADM_CONFIG still has a __CERTIFICATE_KEY__ placeholder: init uploads no certificates any more (control planes get the CA files on stdin)"
  ensure_dir "$KUBEADM_DIR" 0700
  if write_file_if_changed "$INIT_CONFIG_FILE" 0600 <<<"${KUBEADM_CONFIG%$'\n'}"; then
    info "wrote ${INIT_CONFIG_FILE}"
  fi
}

# One bounded `kubeadm init` attempt; its exit status is kubeadm's (124 on timeout).
kubeadm_init_once() {
  local log="$1"
  info "running kubeadm init (timeout ${KUBEADM_TIMEOUT_SECONDS}s)"
  run_redacted "$log" timeout -k 30 "$KUBEADM_TIMEOUT_SECONDS" \
    kubeadm init --config "$INIT_CONFIG_FILE" --skip-token-print
}

# kubeadm's bootstrap-token phase always leaves a default token (an empty bootstrapTokens list is
# filled with one: docs/kubeadm-credentials.md). Nothing joins with a token here, and a token would
# let any machine join for 24 hours, so it goes; the phase's RBAC (the CSR auto-approval) stays.
delete_bootstrap_tokens() {
  info "deleting kubeadm's default bootstrap token (joins use the program's credentials)"
  KUBECONFIG="$ADMIN_CONF" retry 10 3 -- timeout -k 5 30 kubectl --request-timeout=15s \
    -n kube-system delete secret --field-selector type=bootstrap.kubernetes.io/token \
    --ignore-not-found >&2
}

# Hooks for kubeadm_with_one_retry; they read main's locals (bash scopes dynamically).
init_attempt() { kubeadm_init_once "$log"; }
# kubeadm reset deletes /etc/kubernetes/pki: put the cluster's CAs back before the retry.
reinstall_pki() { install_pki "$bundle"; }

main() {
  local bundle log
  require_root
  require_number KUBEADM_TIMEOUT_SECONDS "$KUBEADM_TIMEOUT_SECONDS"
  make_private_dir bundle
  log="${bundle}/kubeadm-init.log"
  read_secret_bundle "${bundle}/secrets"
  bundle="${bundle}/secrets"
  require_pki_secrets "$bundle"

  # From here on the endpoint resolves to this node: init never depends on the NLB being healthy.
  set_hosts_entry "$API_ENDPOINT_HOST" 127.0.0.1

  if [[ -f "$ADMIN_CONF" ]]; then
    info "already initialised (${ADMIN_CONF} exists); not running kubeadm init again"
    refuse_other_cluster_ca "$bundle" initialised
    install_root_kubeconfig
    delete_bootstrap_tokens
    return 0
  fi

  install_pki "$bundle"
  write_init_config
  validate_kubeadm_config "$INIT_CONFIG_FILE"
  kubeadm_with_one_retry init "$KUBEADM_TIMEOUT_SECONDS" "$CRI_SOCKET" init_attempt true reinstall_pki
  [[ -f "$ADMIN_CONF" ]] || fatal "kubeadm init succeeded but ${ADMIN_CONF} is missing"
  install_root_kubeconfig
  delete_bootstrap_tokens
  ensure_dir "$STATE_DIR" 0700
  write_file_if_changed "${STATE_DIR}/init.done" 0644 <<<"initialised" || true
  info "control plane initialised"
}

main "$@"

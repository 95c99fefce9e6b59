#!/usr/bin/env bash
# creds: runs on the first control-plane node right before a node joins. Prints a fresh bootstrap
# token and, for a control-plane join, first re-uploads the control-plane certificates (the
# kubeadm-certs Secret expires after 2 hours), so a node added weeks later still joins.
#
# Parameters (rendered header)
#   JOIN_ROLE  control-plane | worker: the role of the node about to join
#   TOKEN_TTL  lifetime of the token, a Go duration such as 2h or 30m
# Stdin: not read.
# Stdout: EXACTLY one line, the token (abcdef.0123456789abcdef). Pulumi keeps it as a secret;
#   everything else, including kubeadm's output with the certificate key redacted, goes to stderr.

readonly TOKEN_PATTERN='^[a-z0-9]{6}\.[a-z0-9]{16}$'

# Re-uploads the certificates with the key in init.yaml (the key the join bundle carries).
upload_certs() {
  local log
  make_private_dir log
  log+="/upload-certs.log"
  [[ -f "${KUBEADM_DIR}/init.yaml" ]] || fatal "${KUBEADM_DIR}/init.yaml is missing: was this node initialised by the init step?"
  info "re-uploading the control-plane certificates (kubeadm-certs Secret)"
  retry 3 10 -- run_redacted "$log" timeout -k 10 120 \
    kubeadm init phase upload-certs --upload-certs --skip-certificate-key-print \
    --config "${KUBEADM_DIR}/init.yaml" --kubeconfig "$ADMIN_CONF"
}

# Creates a bootstrap token; sets TOKEN.
TOKEN=""
create_token() {
  local attempt out
  for attempt in 1 2 3; do
    if out="$(timeout -k 10 60 kubeadm token create --kubeconfig "$ADMIN_CONF" --ttl "$TOKEN_TTL" \
      --description "kubeadm-aws: join of a ${JOIN_ROLE} node")" && [[ "$out" =~ $TOKEN_PATTERN ]]; then
      TOKEN="$out"
      return 0
    fi
    warn "kubeadm token create attempt ${attempt}/3 failed or printed no token"
    sleep "${KUBEADM_AWS_RETRY_DELAY_SECONDS:-5}"
  done
  fatal "could not create a bootstrap token"
}

main() {
  require_root
  [[ "$JOIN_ROLE" == control-plane || "$JOIN_ROLE" == worker ]] ||
    fatal "JOIN_ROLE must be control-plane or worker (got '${JOIN_ROLE}')"
  [[ "$TOKEN_TTL" =~ ^([0-9]+(s|m|h))+$ ]] || fatal "TOKEN_TTL must be a duration such as 2h or 30m (got '${TOKEN_TTL}')"
  require_admin_conf
  if [[ "$JOIN_ROLE" == control-plane ]]; then
    upload_certs
  fi
  create_token
  info "created a bootstrap token valid for ${TOKEN_TTL} for a ${JOIN_ROLE} join"
  emit_line "$TOKEN"
}

main "$@"

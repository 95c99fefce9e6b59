#!/usr/bin/env bash
# kubeconfig: prints the cluster's admin kubeconfig (server = the load balancer's DNS name), on the
# first control-plane node. Pulumi stores the output as a secret with stdout logging off.
#
# Parameters: none.  Stdin: not read.
# Stdout: the content of /etc/kubernetes/admin.conf and nothing else.

main() {
  require_root
  require_admin_conf
  grep -q '^kind: Config' "$ADMIN_CONF" || fatal "${ADMIN_CONF} does not look like a kubeconfig"
  info "printing ${ADMIN_CONF}"
  emit_file "$ADMIN_CONF"
}

main "$@"

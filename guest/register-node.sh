#!/usr/bin/env bash
# register-node: runs on the bastion after a node joined, with the program's kubeconfig on stdin.
# Waits until its Node object exists and gives a worker the node-role.kubernetes.io/worker label
# (kubeadm labels only control planes). Idempotent: the label is applied with --overwrite.
#
# Parameters (rendered header)
#   NODE_NAME             the node's name in Kubernetes (its hostname, as kubeadm registers it)
#   NODE_ROLE             control-plane | worker
#   WAIT_TIMEOUT_SECONDS  how long to wait for the Node object
# Stdin: the secret bundle (`name base64` lines) with `kubeconfig`, the program's cluster-admin
#   kubeconfig (server https://<the API name>:6443); kept in a private tmpfs directory while the
#   step runs, removed when it exits.
# Stdout: nothing.

# True when the Node object exists (one bounded request).
node_registered() { kubectl_admin --request-timeout=10s get node "$NODE_NAME" -o name; }

main() {
  require_root
  [[ "$NODE_ROLE" == control-plane || "$NODE_ROLE" == worker ]] ||
    fatal "NODE_ROLE must be control-plane or worker (got '${NODE_ROLE}')"
  [[ -n "$NODE_NAME" ]] || fatal "NODE_NAME is empty"
  require_number WAIT_TIMEOUT_SECONDS "$WAIT_TIMEOUT_SECONDS"
  use_cluster_credentials
  wait_for "$WAIT_TIMEOUT_SECONDS" "node ${NODE_NAME} to register" -- node_registered
  if [[ "$NODE_ROLE" == worker ]]; then
    retry 3 5 -- kubectl_admin --request-timeout=30s label node "$NODE_NAME" --overwrite node-role.kubernetes.io/worker=
  fi
  info "node ${NODE_NAME} is registered as a ${NODE_ROLE}"
}

main "$@"

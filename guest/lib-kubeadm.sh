#!/usr/bin/env bash
# lib-kubeadm.sh: kubeadm and kubectl for the guest steps, prepended after lib.sh and lib-apt.sh:
# the admin kubeconfig, config validation, and kubeadm init/join with one reset-and-retry.

# ---- Kubernetes --------------------------------------------------------------------------------
# kubectl as cluster admin (only on a control-plane node).
kubectl_admin() { KUBECONFIG="$ADMIN_CONF" kubectl "$@"; }

# True when the API server answers /readyz through the admin kubeconfig (one bounded probe).
api_ready() { kubectl_admin --request-timeout=5s get --raw /readyz >/dev/null; }

# Stops unless this node holds the admin kubeconfig (i.e. it is an initialised control plane).
require_admin_conf() {
  if [[ ! -s "$ADMIN_CONF" ]]; then
    fatal "${ADMIN_CONF} is missing: this step runs on the first control-plane node after init"
  fi
}

# Copies the admin kubeconfig to root's ~/.kube/config, for people who log in to debug.
install_root_kubeconfig() {
  ensure_dir "${ROOT_KUBECONFIG%/*}" 0700
  if write_file_if_changed "$ROOT_KUBECONFIG" 0600 <"$ADMIN_CONF"; then
    info "wrote ${ROOT_KUBECONFIG}"
  fi
}

# Runs `kubeadm config validate --config FILE` when this kubeadm has the subcommand (1.26+).
validate_kubeadm_config() {
  if ! kubeadm config validate --help >/dev/null 2>&1; then
    warn "this kubeadm has no 'config validate'; skipping the config check"
    return 0
  fi
  kubeadm config validate --config "$1" 2>&1 | redact_secrets >&2 ||
    fatal "kubeadm config validate rejected $1 (see above)"
}

# Undoes a failed kubeadm init or join (kubeadm reset, CNI config removed), so that a retry, or a
# later run of the step, starts from a clean node.
reset_node() {
  local cri_socket="$1"
  warn "resetting the node (kubeadm reset -f)"
  timeout -k 30 300 kubeadm reset -f --cri-socket "$cri_socket" 2>&1 | redact_secrets >&2 ||
    warn "kubeadm reset reported an error; continuing with the retry"
  if [[ -d "$CNI_NET_DIR" ]]; then
    find "$CNI_NET_DIR" -mindepth 1 -maxdepth 1 -exec rm -rf -- {} +
  fi
}

# Runs ATTEMPT (a function) once; if it fails: AFTER_FAILURE, reset the node, BEFORE_RETRY, and one
# more attempt. After a second failure it resets the node again, so a later run starts from
# scratch rather than taking a stray admin.conf or kubelet.conf for a finished step, and exits
# with the first failure's code. Hooks may be `true`.
#   kubeadm_with_one_retry WHAT TIMEOUT_SECONDS CRI_SOCKET ATTEMPT AFTER_FAILURE BEFORE_RETRY
kubeadm_with_one_retry() {
  local what="$1" timeout_seconds="$2" cri_socket="$3" attempt="$4" after_failure="$5"
  local before_retry="$6" first=0 second=0 why=""
  "$attempt" || first=$?
  if ((first == 0)); then
    return 0
  fi
  if ((first == 124)); then
    why=", timed out after ${timeout_seconds}s"
  fi
  error "kubeadm ${what} failed (exit ${first}${why}); its output is above"
  "$after_failure"
  reset_node "$cri_socket"
  "$before_retry"
  info "retrying kubeadm ${what} once"
  "$attempt" || second=$?
  if ((second == 0)); then
    return 0
  fi
  "$after_failure"
  dump_diagnostics
  error "kubeadm ${what} failed twice: first attempt exit ${first}${why}, retry exit ${second}"
  reset_node "$cri_socket"
  exit "$first"
}

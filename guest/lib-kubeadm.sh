#!/usr/bin/env bash
# lib-kubeadm.sh: kubeadm and kubectl for the guest steps, prepended after lib.sh and lib-apt.sh:
# the program's cluster credentials on the bastion, the kubeconfig check, etcdctl through the API,
# the shared CA files, config validation, and kubeadm init/join with one reset-and-retry.
#
# kubeadm facts these functions rely on (what kubeadm's source says, 1.29-1.35):
# docs/kubeadm-credentials.md.

# ---- cluster credentials -----------------------------------------------------------------------
# kubectl as cluster admin, with the program's kubeconfig from stdin (use_cluster_credentials, on
# the bastion). Without it this fails rather than let kubectl fall back to another kubeconfig.
kubectl_admin() {
  if [[ -z "$CLUSTER_KUBECONFIG" ]]; then
    error "kubectl_admin needs the cluster credentials: the step must call use_cluster_credentials"
    return 1
  fi
  KUBECONFIG="$CLUSTER_KUBECONFIG" kubectl "$@"
}

# True when the API server answers /readyz through kubectl_admin's kubeconfig (one bounded probe).
api_ready() { kubectl_admin --request-timeout=5s get --raw /readyz >/dev/null; }

# Stops unless FILE looks like a kubeconfig whose current-context names one of its contexts:
# check_kubeconfig FILE WHAT. A cheap look at the YAML in kubectl's layout or the `yaml` library's
# (render/kubeconfigs.ts writes the program's), not a parser. Without a current context kubectl has no cluster to talk to (it tries
# localhost:8080), and kubeadm join dereferences Contexts[CurrentContext] and crashes (see the
# reference above).
check_kubeconfig() {
  local file="$1" what="$2" problem
  problem="$(awk '
    /^kind:[[:space:]]*Config[[:space:]]*$/ { kind = 1 }
    /^[^[:space:]#-]/ { section = $1 }
    /^current-context:/ {
      current = $0
      sub(/^current-context:[[:space:]]*/, "", current)
      sub(/[[:space:]]+$/, "", current)
      gsub(/^["\047]|["\047]$/, "", current)
    }
    section == "contexts:" && /^[[:space:]-]*name:/ {
      name = $0
      sub(/^[[:space:]-]*name:[[:space:]]*/, "", name)
      sub(/[[:space:]]+$/, "", name)
      gsub(/^["\047]|["\047]$/, "", name)
      contexts[name] = 1
    }
    END {
      if (!kind) print "it is not a kubeconfig (no kind: Config)"
      else if (current == "") print "it has no current-context"
      else if (!(current in contexts)) print "its current-context \"" current "\" names no context in it"
    }' "$file")" || problem="it cannot be read"
  if [[ -n "$problem" ]]; then
    fatal "${what}: ${problem}; the Pulumi program must pass a complete kubeconfig with current-context set"
  fi
}

# Reads the secret bundle on stdin into a private tmpfs directory (removed when the step exits),
# checks its `kubeconfig` entry (the program's cluster-admin kubeconfig, server
# https://<the API name>:6443) and makes kubectl_admin, api_ready and the diagnostics use it.
# For the steps that run on the bastion, which holds no cluster credentials of its own; this one
# never reaches its disk (/run is a tmpfs).
use_cluster_credentials() {
  local dir
  make_private_dir dir
  read_secret_bundle "${dir}/secrets"
  require_secret "${dir}/secrets" kubeconfig
  check_kubeconfig "${dir}/secrets/kubeconfig" "the kubeconfig entry on stdin"
  CLUSTER_KUBECONFIG="${dir}/secrets/kubeconfig"
}

# ---- etcd, through the API -------------------------------------------------------------------
# The bastion reaches no etcd port. It runs etcdctl inside a Running etcd static pod with
# `kubectl exec`, with the certificates on that pod's node: remove-node and etcd-prune both.

# etcdctl's TLS flags inside an etcd static pod: paths on that pod's node, not on the bastion.
readonly ETCDCTL_TLS_FLAGS=(
  --cacert /etc/kubernetes/pki/etcd/ca.crt
  --cert /etc/kubernetes/pki/etcd/healthcheck-client.crt
  --key /etc/kubernetes/pki/etcd/healthcheck-client.key
)
readonly ETCDCTL_FLAGS=(--endpoints=https://127.0.0.1:2379 "${ETCDCTL_TLS_FLAGS[@]}")
# Extra global kubectl flags for kubectl_bounded, e.g. one API server's address (etcd-prune).
KUBECTL_SERVER_ARGS=()

# kubectl with the program's kubeconfig, bounded by a hard timeout as well as by its own request
# timeout, so a step on the bastion never hangs: kubectl_bounded SECONDS ARGS...
kubectl_bounded() {
  local seconds="$1"
  shift
  KUBECONFIG="$CLUSTER_KUBECONFIG" timeout -k 5 "$seconds" kubectl "${KUBECTL_SERVER_ARGS[@]}" "$@"
}

# Prints the Running etcd pods on nodes other than EXCLUDED (a node name, or ""), one a line,
# Ready ones first (a pod on a node that has just died can still be Running for a while, but its
# Ready turns False): etcd_pods_except EXCLUDED.
etcd_pods_except() {
  local listing
  listing="$(kubectl_bounded 30 --request-timeout=20s -n kube-system get pods -l component=etcd \
    --field-selector=status.phase=Running \
    -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.spec.nodeName}{" "}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}')" ||
    return 1
  awk -v self="$1" '
    $1 != "" && $2 != self { if ($3 == "True") print $1; else later[++n] = $1 }
    END { for (i = 1; i <= n; i++) print later[i] }' <<<"$listing"
}

# etcdctl inside an etcd static pod, against that pod's own member: etcdctl_in POD ARGS...
etcdctl_in() {
  local pod="$1"
  shift
  kubectl_bounded 60 --request-timeout=50s -n kube-system exec "$pod" -- etcdctl "${ETCDCTL_FLAGS[@]}" "$@"
}

# Sets the variables named POD_VAR and MEMBERS_VAR to the first etcd pod (not on EXCLUDED) whose
# etcdctl answers, and its `member list -w simple` (lines: ID, STATUS, NAME, PEER ADDRS, CLIENT
# ADDRS, IS LEARNER); returns 1, having said why, when none answers:
#   answering_etcd_pod EXCLUDED POD_VAR MEMBERS_VAR
answering_etcd_pod() {
  # Locals carry a prefix: printf -v would set a caller's variable of the same name otherwise.
  local _aep_excluded="$1" _aep_listing _aep_pods=() _aep_pod _aep_members
  _aep_listing="$(etcd_pods_except "$_aep_excluded")" || {
    error "could not list the etcd pods"
    return 1
  }
  mapfile -t _aep_pods <<<"$_aep_listing"
  for _aep_pod in "${_aep_pods[@]}"; do
    [[ -n "$_aep_pod" ]] || continue
    if _aep_members="$(retry 2 5 -- etcdctl_in "$_aep_pod" member list -w simple)"; then
      printf -v "$2" '%s' "$_aep_pod"
      printf -v "$3" '%s' "$_aep_members"
      return 0
    fi
    warn "etcdctl in ${_aep_pod} does not answer; trying the next etcd pod"
  done
  error "no etcd pod${_aep_excluded:+ on another node than ${_aep_excluded}} answered (${_aep_listing//$'\n'/ })"
  return 1
}

# ---- the shared CA files -----------------------------------------------------------------------
# The CAs and service-account keys the program generated, as bundle entries and as paths under
# /etc/kubernetes. init installs them before `kubeadm init`, a control plane before `kubeadm join`:
# kubeadm's manual certificate distribution (no certificateKey, nothing uploaded), which signs each
# control plane's own certificates from these local CAs.
readonly PKI_ENTRIES=(
  pki/ca.crt pki/ca.key
  pki/front-proxy-ca.crt pki/front-proxy-ca.key
  pki/etcd/ca.crt pki/etcd/ca.key
  pki/sa.key pki/sa.pub
)

# Stops unless the bundle in DIR has every PKI entry: require_pki_secrets DIR.
require_pki_secrets() {
  local entry
  for entry in "${PKI_ENTRIES[@]}"; do
    require_secret "$1" "$entry"
  done
}

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

# Stops when this node's cluster CA is not the bundle's (DIR/pki/ca.crt): it was set up by another
# cluster than the one in the Pulumi stack. WHAT says how: refuse_other_cluster_ca DIR WHAT.
refuse_other_cluster_ca() {
  if [[ -f "${PKI_DIR}/ca.crt" ]] && ! cmp -s -- "$1/pki/ca.crt" "${PKI_DIR}/ca.crt"; then
    fatal "this node was $2 with another cluster CA than the one in the Pulumi stack"
  fi
}

# ---- kubeadm on the nodes ----------------------------------------------------------------------
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
# ==== kubeadm-aws guest libraries end ====

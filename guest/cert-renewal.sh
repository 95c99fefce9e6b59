#!/usr/bin/env bash
# cert-renewal: run daily by kubeadm-aws-cert-renewal.timer on every control plane (installed by
# the node-timers step). kubeadm's certificates (API server, etcd, front proxy, and the
# kubeconfigs of the control-plane components) last a year; kubeadm renews them only during an
# upgrade. This renews them when any expires within RENEW_WITHIN_DAYS:
#
#   1. `kubeadm certs check-expiration`: the least residual time of any certificate. None within
#      the window: nothing to do.
#   2. The one-at-a-time guard: the Lease kube-system/kubeadm-aws-cert-renewal, created with this
#      node as holder (a create fails while another control plane holds it; one older than
#      GUARD_STALE_SECONDS is taken over). Never two control planes restart at once.
#   3. `kubeadm certs renew all`, then the static pods restart on the new certificates: their
#      manifests move out of /etc/kubernetes/manifests and back, one component at a time, and
#      the local API server must answer /livez again before the guard is released.
#
# The kubelet's own client certificate rotates by itself (kubeadm's KubeletConfiguration sets
# rotateCertificates: true); its serving certificate is self-signed at start (see README).
#
# Parameters (rendered header)
#   NODE_NAME             this node's Kubernetes name (the guard's holder)
#   RENEW_WITHIN_DAYS     renew when anything expires within this many days (30)
#   GUARD_STALE_SECONDS   a guard older than this belongs to a renewal that died
#   WAIT_TIMEOUT_SECONDS  bound on each static pod's restart
# Stdin: nothing. Stdout: nothing.

readonly MANIFESTS="${KUBE_DIR}/manifests"
readonly LEASE="kubeadm-aws-cert-renewal"
readonly COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler)

admin() { KUBECONFIG="$ADMIN_CONF" timeout 60 kubectl --request-timeout=30s "$@"; }

# The least residual time, in days, of every certificate `kubeadm certs check-expiration` lists
# (its RESIDUAL TIME column: 364d, 23h, or <invalid> once expired); "none" when it lists none.
least_residual_days() {
  local table
  table="$(timeout 60 kubeadm certs check-expiration 2>&1)" || {
    printf '%s\n' "$table" >&2
    fatal "kubeadm certs check-expiration failed"
  }
  awk '
    /^CERTIFICATE|^CERTIFICATE AUTHORITY/ { next }
    {
      for (i = 1; i <= NF; i++) {
        if ($i == "<invalid>") { days = -1 }
        else if ($i ~ /^[0-9]+y$/) { days = substr($i, 1, length($i) - 1) * 365 }
        else if ($i ~ /^[0-9]+d$/) { days = substr($i, 1, length($i) - 1) + 0 }
        else if ($i ~ /^[0-9]+h$/) { days = 0 }
        else continue
        if (min == "" || days < min) min = days
        break
      }
    }
    END { print (min == "" ? "none" : min) }' <<<"$table"
}

lease_yaml() {
  cat <<EOF
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata:
  name: ${LEASE}
  namespace: kube-system
spec:
  holderIdentity: ${NODE_NAME}
  acquireTime: $(date -u +%Y-%m-%dT%H:%M:%S.000000Z)
  leaseDurationSeconds: ${GUARD_STALE_SECONDS}
EOF
}

# Takes the guard, or returns 1 when another control plane holds a fresh one.
take_guard() {
  local yaml holder acquired age
  yaml="$(lease_yaml)"
  if admin create -f - <<<"$yaml" >/dev/null 2>&1; then
    return 0
  fi
  IFS='|' read -r holder acquired <<<"$(admin -n kube-system get lease "$LEASE" \
    -o jsonpath='{.spec.holderIdentity}{"|"}{.spec.acquireTime}')" || return 1
  age=$(($(date -u +%s) - $(date -u -d "${acquired:-now}" +%s)))
  if [[ "$holder" == "$NODE_NAME" ]] || ((age > GUARD_STALE_SECONDS)); then
    warn "taking over the renewal guard held by ${holder:-nobody} since ${acquired:-?} (${age}s ago)"
    admin -n kube-system delete lease "$LEASE" --ignore-not-found >/dev/null || return 1
    admin create -f - <<<"$yaml" >/dev/null 2>&1
    return
  fi
  info "${holder} is renewing its certificates (since ${acquired}); this node waits for tomorrow's run"
  return 1
}

release_guard() { admin -n kube-system delete lease "$LEASE" --ignore-not-found >/dev/null || true; }

container_running() { [[ -n "$(timeout 20 crictl ps --name "^$1\$" --state Running -q)" ]]; }
container_gone() { ! container_running "$1"; }
api_live() { timeout 10 curl -sk --max-time 5 https://127.0.0.1:6443/livez >/dev/null; }

# Restarts one static pod on the new certificates: its manifest out, wait, back in, wait.
restart_static_pod() {
  local name="$1" parked
  [[ -f "${MANIFESTS}/${name}.yaml" ]] || return 0
  parked="${KUBE_DIR}/manifests-parked"
  ensure_dir "$parked" 0700
  mv -f "${MANIFESTS}/${name}.yaml" "${parked}/${name}.yaml"
  wait_for "$WAIT_TIMEOUT_SECONDS" "${name} to stop" -- container_gone "$name" || {
    mv -f "${parked}/${name}.yaml" "${MANIFESTS}/${name}.yaml"
    fatal "${name} did not stop; its manifest is back in place"
  }
  mv -f "${parked}/${name}.yaml" "${MANIFESTS}/${name}.yaml"
  wait_for "$WAIT_TIMEOUT_SECONDS" "${name} to run again" -- container_running "$name" ||
    fatal "${name} did not start again after the renewal"
}

main() {
  local days component
  require_root
  [[ -n "$NODE_NAME" ]] || fatal "NODE_NAME is empty"
  require_number RENEW_WITHIN_DAYS "$RENEW_WITHIN_DAYS"
  require_number GUARD_STALE_SECONDS "$GUARD_STALE_SECONDS"
  require_number WAIT_TIMEOUT_SECONDS "$WAIT_TIMEOUT_SECONDS"
  days="$(least_residual_days)"
  if [[ "$days" == none ]]; then
    fatal "kubeadm certs check-expiration listed no certificates"
  fi
  if ((days >= RENEW_WITHIN_DAYS)); then
    info "nothing expires within ${RENEW_WITHIN_DAYS} days (the soonest in ${days} days)"
    return 0
  fi
  info "a certificate expires in ${days} days: renewing them all"
  take_guard || return 0
  trap 'release_guard; on_exit' EXIT
  timeout 120 kubeadm certs renew all >&2 || fatal "kubeadm certs renew all failed"
  for component in "${COMPONENTS[@]}"; do
    restart_static_pod "$component"
  done
  wait_for "$WAIT_TIMEOUT_SECONDS" "the local API server to answer" -- api_live ||
    fatal "the API server does not answer after the renewal"
  info "certificates renewed; the control-plane components run on them"
}

main "$@"

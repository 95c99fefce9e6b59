#!/usr/bin/env bash
# release-cloud-resources: runs on the bastion, with the program's kubeconfig on stdin. Its delete
# runs first in a `pulumi destroy`, while every node, the cloud controller manager and the EBS CSI
# driver still run: it deletes every Service of type LoadBalancer and every claim whose volume
# would be deleted with it (reclaim policy Delete), after the pods that mount those claims, then
# waits, within a bound, while the controllers remove the load balancers and volumes they made.
# What is still in AWS afterwards is removed by the sweep once the nodes are gone
# (cloud/sweepCli.ts), so this step never stops a destroy: an API that does not answer, or a
# controller that does not finish in time, is a warning.
#
# Its create (MODE=report) only says what a destroy would release, so the plan shows it.
#
# Parameters (rendered header)
#   MODE                    report | release
#   API_WAIT_SECONDS        how long to wait for the API server before giving the rest to the sweep
#   RELEASE_TIMEOUT_SECONDS bound on the wait for the controllers
# Stdin: the secret bundle (`name base64` lines) with `kubeconfig`, the program's cluster-admin
#   kubeconfig; kept in a private tmpfs directory while the step runs, removed when it exits.
# Stdout: nothing.

# "namespace/name" of every Service of type LoadBalancer.
load_balancer_services() {
  kubectl_bounded 60 --request-timeout=30s get services -A \
    -o jsonpath='{range .items[?(@.spec.type=="LoadBalancer")]}{.metadata.namespace}{"/"}{.metadata.name}{"\n"}{end}'
}

# "pv namespace claim" of every bound volume whose reclaim policy deletes it with its claim.
deleting_volumes() {
  kubectl_bounded 60 --request-timeout=30s get pv \
    -o jsonpath='{range .items[?(@.spec.persistentVolumeReclaimPolicy=="Delete")]}{.metadata.name}{" "}{.spec.claimRef.namespace}{" "}{.spec.claimRef.name}{"\n"}{end}'
}

# "namespace pod claim..." per pod: the claims it mounts, space-separated (none: just two words).
pods_with_claims() {
  kubectl_bounded 60 --request-timeout=30s get pods -A \
    -o jsonpath='{range .items[*]}{.metadata.namespace}{" "}{.metadata.name}{" "}{.spec.volumes[*].persistentVolumeClaim.claimName}{"\n"}{end}'
}

# Prints what is still held (one line each), nothing once every LoadBalancer Service and every
# volume to delete is gone.
still_held() {
  local services volumes
  services="$(load_balancer_services)" || return 1
  volumes="$(deleting_volumes)" || return 1
  awk 'NF { print "service " $0 }' <<<"$services"
  [[ -z "$volumes" ]] || awk 'NF { print "volume " $1 " (claim " $2 "/" $3 ")" }' <<<"$volumes"
}

# Succeeds once still_held prints nothing; otherwise prints a one-line summary for wait_for.
released() {
  local held
  held="$(still_held)" || return 1
  [[ -z "$held" ]] && return 0
  echo "$(wc -l <<<"$held") left: $(paste -sd ' ' <<<"$held")"
  return 1
}

release() {
  local services volumes pods svc ns name claim pv held pod_ns claims
  services="$(load_balancer_services)" || fatal "could not list the Services"
  volumes="$(deleting_volumes)" || fatal "could not list the persistent volumes"
  while read -r svc; do
    [[ -n "$svc" ]] || continue
    info "deleting Service ${svc} (the cloud controller deletes its load balancer)"
    kubectl_bounded 60 --request-timeout=30s delete service -n "${svc%%/*}" "${svc#*/}" \
      --wait=false --ignore-not-found >&2 || warn "could not delete Service ${svc}"
  done <<<"$services"
  if [[ -n "$volumes" ]]; then
    pods="$(pods_with_claims)" || fatal "could not list the pods"
    while read -r pv ns claim; do
      [[ -n "$pv" ]] || continue
      while read -r pod_ns name claims; do
        if [[ "$pod_ns" == "$ns" && " ${claims} " == *" ${claim} "* ]]; then
          info "deleting pod ${ns}/${name}, which mounts ${claim} (the volume detaches)"
          kubectl_bounded 90 --request-timeout=30s delete pods -n "$ns" "$name" \
            --grace-period=30 --wait=false --ignore-not-found >&2 || warn "could not delete pod ${ns}/${name}"
        fi
      done <<<"$pods"
      info "deleting claim ${ns}/${claim} (the EBS CSI driver deletes volume ${pv})"
      kubectl_bounded 60 --request-timeout=30s delete pvc -n "$ns" "$claim" \
        --wait=false --ignore-not-found >&2 || warn "could not delete claim ${ns}/${claim}"
    done <<<"$volumes"
  fi
  if wait_for "$RELEASE_TIMEOUT_SECONDS" "the controllers to remove their load balancers and volumes" -- released; then
    info "every load balancer and volume Kubernetes made is released"
  else
    held="$(still_held || true)"
    warn "still held after ${RELEASE_TIMEOUT_SECONDS}s; the sweep removes them once the nodes are gone: ${held//$'\n'/; }"
  fi
}

report() {
  local services volumes
  services="$(load_balancer_services)" || fatal "could not list the Services"
  volumes="$(deleting_volumes)" || fatal "could not list the persistent volumes"
  info "a destroy would release $(awk 'NF' <<<"$services" | wc -l) LoadBalancer Service(s) and $(awk 'NF' <<<"$volumes" | wc -l) volume(s) now"
}

main() {
  require_root
  [[ "$MODE" == report || "$MODE" == release ]] || fatal "MODE must be report or release (got '${MODE}')"
  require_number API_WAIT_SECONDS "$API_WAIT_SECONDS"
  require_number RELEASE_TIMEOUT_SECONDS "$RELEASE_TIMEOUT_SECONDS"
  use_cluster_credentials
  if ! wait_for "$API_WAIT_SECONDS" "the API server" -- api_ready; then
    if [[ "$MODE" == release ]]; then
      warn "the API server does not answer; leaving what Kubernetes made in AWS to the sweep"
      return 0
    fi
    fatal "the API server does not answer"
  fi
  "$MODE"
}

main "$@"

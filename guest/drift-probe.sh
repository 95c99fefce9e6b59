#!/usr/bin/env bash
# drift-probe: what a machine of the cluster runs, for `npm run drift` (tools/drift.ts). It is
# sent as a `bash -c` argument over SSH through the bastion and writes nothing to disk but its
# private tmpfs directory (removed on exit): it never changes the machine. One fact per line on
# stdout, space-separated, the last field free text:
#   MODE=node     version kubelet|kubeadm|runtime VALUE
#                 file PATH SHA256 [SHA256]   every step file under /var/lib/kubeadm-aws/steps (and
#                                             its hash with the KUBERNETES_VERSION line blanked), and
#                                             the kubeadm configs under /etc/kubernetes/kubeadm (the
#                                             join's discovery path put back to its placeholder)
#                 cert PATH NOT-AFTER         kubeadm's certificates and the kubelet's client one
#   MODE=cluster  (on the bastion, the admin kubeconfig on stdin)
#                 node NAME READY             every Node object and its Ready condition
#                 member NAME PEER-URL        every etcd member (through an etcd pod)
#                 snapshot TIME KEY           the last etcd snapshot (kube-system/kubeadm-aws-etcd-backup)
#
# Parameters (rendered header)
#   MODE              node | cluster
#   RUNTIME           containerd | cri-dockerd (node)
# Stdin: with MODE=cluster, the secret bundle with `kubeconfig`. Stdout: the facts.

readonly STEPS_DIR="${STATE_DIR}/steps"

# The first word that looks like a version in a command's output: version_of COMMAND...
version_of() {
  local out
  out="$(timeout 20 "$@" 2>/dev/null)" || { echo unknown; return 0; }
  grep -Eo 'v?[0-9]+\.[0-9]+\.[0-9]+' <<<"$out" | head -n 1 || echo unknown
}

node_facts() {
  local file end sha unversioned
  emit_line "version kubelet $(version_of kubelet --version)"
  emit_line "version kubeadm $(version_of kubeadm version -o short)"
  if [[ "$RUNTIME" == cri-dockerd ]]; then
    emit_line "version runtime cri-dockerd $(version_of cri-dockerd --version)"
  else
    emit_line "version runtime containerd $(version_of containerd --version)"
  fi
  if [[ -d "$STEPS_DIR" ]]; then
    for file in "$STEPS_DIR"/*.sh; do
      [[ -f "$file" ]] || continue
      # And with the version line blanked: an upgrade in place leaves the step files as they were.
      sha="$(sha256sum "$file" | cut -d' ' -f1)"
      unversioned="$(sed -E 's/^readonly KUBERNETES_VERSION=.*$/readonly KUBERNETES_VERSION=/' "$file" |
        sha256sum | cut -d' ' -f1)"
      emit_line "file ${file#"$SYSROOT"} ${sha} ${unversioned}"
    done
  fi
  # join.sh fills the discovery file's path (a private tmpfs directory, gone after the join)
  # into its JoinConfiguration: the plan holds the placeholder instead.
  for file in "$KUBEADM_DIR"/*.yaml; do
    [[ -f "$file" ]] || continue
    emit_line "file ${file#"$SYSROOT"} $(sed -E 's#/[A-Za-z0-9/._-]*/discovery\.conf#__DISCOVERY_FILE__#g' "$file" |
      sha256sum | cut -d' ' -f1)"
  done
  for file in "$PKI_DIR"/*.crt "$PKI_DIR"/etcd/*.crt "${SYSROOT}/var/lib/kubelet/pki/kubelet-client-current.pem"; do
    [[ -f "$file" ]] || continue
    end="$(timeout 10 openssl x509 -noout -enddate -in "$file" 2>/dev/null)" || continue
    emit_line "cert ${file#"$SYSROOT"} $(date -u -d "${end#notAfter=}" +%Y-%m-%dT%H:%M:%SZ)"
  done
}

cluster_facts() {
  local nodes pod members snapshot
  use_cluster_credentials
  nodes="$(kubectl_bounded 30 --request-timeout=20s get nodes \
    -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}')" ||
    fatal "could not list the nodes"
  while read -r name ready; do
    [[ -z "$name" ]] || emit_line "node ${name} ${ready:-Unknown}"
  done <<<"$nodes"
  if answering_etcd_pod "" pod members; then
    info "etcd members as ${pod} lists them"
    # Lines: ID, STATUS, NAME, PEER ADDRS, CLIENT ADDRS, IS LEARNER
    awk -F', ' 'NF >= 4 { print "member " ($3 == "" ? "(unstarted)" : $3) " " $4 }' <<<"$members" >&3
  else
    emit_line "member (none) no etcd pod answered"
  fi
  snapshot="$(kubectl_bounded 30 --request-timeout=20s -n kube-system get configmap kubeadm-aws-etcd-backup \
    --ignore-not-found -o jsonpath='{.data.lastSuccess}{" "}{.data.key}')" || snapshot=""
  [[ -z "${snapshot// /}" ]] || emit_line "snapshot ${snapshot}"
}

main() {
  require_root
  case "$MODE" in
    node) node_facts ;;
    cluster) cluster_facts ;;
    *) fatal "MODE must be node or cluster (got '${MODE}')" ;;
  esac
}

main "$@"

#!/usr/bin/env bash
# bastion-tools: runs on the bastion after wait-ready, before any step that talks to the cluster
# from there (cni, register-node, cluster-ready, remove-node). Installs kubectl at exactly the
# cluster's version from the pkgs.k8s.io repository of its minor, held, as prepare does on the
# nodes, and the curl and CA certificates those steps use. Nothing else: the bastion is no node (no
# kubeadm, kubelet or container runtime). Idempotent: a second run installs and rewrites nothing.
#
# Parameters (rendered header)
#   KUBERNETES_VERSION  full version without "v", e.g. 1.34.2
#   KUBERNETES_MINOR    the pkgs.k8s.io repository, e.g. v1.34
# Stdin: not read.  Stdout: nothing.

main() {
  require_root
  validate_kubernetes_version
  info "installing kubectl ${KUBERNETES_VERSION} on the bastion"
  # gpg dearmours the repository's signing key (configure_kubernetes_repo); Ubuntu's cloud images
  # ship it, so on them this installs nothing but what is missing of curl and ca-certificates.
  apt_install_missing ca-certificates curl gpg
  configure_kubernetes_repo
  install_kubernetes_packages kubectl
  info "bastion tools ready: kubectl ${KUBERNETES_VERSION}"
}

main "$@"

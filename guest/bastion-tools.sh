#!/usr/bin/env bash
# bastion-tools: runs on the bastion after wait-ready, before any step that talks to the cluster
# from there (cni, register-node, cluster-ready, remove-node). Installs kubectl at exactly the
# cluster's version from the pkgs.k8s.io repository of its minor, held, as prepare does on the
# nodes, and the curl and CA certificates those steps use. Nothing else: the bastion is no node (no
# kubeadm, kubelet or container runtime). With the AWS add-ons (cloudProvider aws), also Helm at a
# pinned release, its tarball checked against the program's pinned sha256 and the .sha256sum file
# the Helm project publishes next to it (both must agree). Idempotent: a second run installs and
# rewrites nothing.
#
# Parameters (rendered header)
#   KUBERNETES_VERSION  full version without "v", e.g. 1.34.2
#   KUBERNETES_MINOR    the pkgs.k8s.io repository, e.g. v1.34
#   HELM_VERSION        e.g. v3.21.4; empty: no Helm
#   HELM_URL_TEMPLATE   the tarball's URL, {ARCH} standing for amd64 | arm64
#   HELM_SHA256_AMD64, HELM_SHA256_ARM64  the pinned sha256 of each tarball
#   PACKAGE_MANAGER     apt | dnf: which package library this step runs with
# Stdin: not read.  Stdout: nothing.

readonly HELM_BIN="${SYSROOT}/usr/local/bin/helm"

# Installs Helm HELM_VERSION to /usr/local/bin, unless that version is there already.
install_helm() {
  local arch url expected published actual dir
  if [[ -x "$HELM_BIN" && "$("$HELM_BIN" version --template '{{.Version}}' 2>/dev/null)" == "$HELM_VERSION" ]]; then
    info "helm ${HELM_VERSION} is installed"
    return 0
  fi
  arch="$(package_arch)"
  case "$arch" in
    amd64) expected="$HELM_SHA256_AMD64" ;;
    arm64) expected="$HELM_SHA256_ARM64" ;;
    *) fatal "no Helm release is pinned for architecture ${arch}" ;;
  esac
  [[ "$expected" =~ ^[0-9a-f]{64}$ ]] || fatal "the pinned Helm sha256 for ${arch} is not 64 hex digits"
  url="${HELM_URL_TEMPLATE//'{ARCH}'/$arch}"
  make_private_dir dir
  info "downloading ${url}"
  download "$url" "${dir}/helm.tar.gz"
  download "${url}.sha256sum" "${dir}/helm.tar.gz.sha256sum"
  published="$(awk '{ print $1; exit }' "${dir}/helm.tar.gz.sha256sum")"
  actual="$(sha256sum "${dir}/helm.tar.gz" | awk '{ print $1 }')"
  [[ "$published" == "$expected" ]] ||
    fatal "the Helm project publishes sha256 ${published} for ${url##*/}, but the program pins ${expected}: not installing it"
  [[ "$actual" == "$expected" ]] ||
    fatal "${url##*/} has sha256 ${actual}, not the pinned ${expected}: not installing it"
  tar -xzf "${dir}/helm.tar.gz" -C "$dir" "linux-${arch}/helm" ||
    fatal "the Helm tarball has no linux-${arch}/helm"
  ensure_dir "${SYSROOT}/usr/local/bin" 0755
  install -m 0755 "${dir}/linux-${arch}/helm" "$HELM_BIN"
  info "installed helm ${HELM_VERSION} (sha256 ${actual})"
}

main() {
  require_root
  validate_kubernetes_version
  info "installing kubectl ${KUBERNETES_VERSION} on the bastion"
  # On apt, gpg dearmours the repository's signing key (configure_kubernetes_repo); Ubuntu's cloud
  # images ship it, so on them this installs nothing but what is missing of curl and
  # ca-certificates (dnf imports the key itself, and tar unpacks Helm on minimal images).
  if [[ "$PACKAGE_MANAGER" == dnf ]]; then
    install_missing_packages ca-certificates curl tar
  else
    install_missing_packages ca-certificates curl gpg
  fi
  configure_kubernetes_repo
  install_kubernetes_packages kubectl
  if [[ -n "$HELM_VERSION" ]]; then
    install_helm
  fi
  info "bastion tools ready: kubectl ${KUBERNETES_VERSION}${HELM_VERSION:+, helm ${HELM_VERSION}}"
}

main "$@"

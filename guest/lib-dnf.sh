#!/usr/bin/env bash
# lib-dnf.sh: dnf and rpm for the guest steps on RHEL-family nodes (Rocky Linux 9, AlmaLinux 9,
# Oracle Linux 9, Amazon Linux 2023), prepended after lib.sh and lib-packages.sh, in place of
# lib-apt.sh, to the steps that install packages (their PACKAGE_MANAGER parameter is dnf). It defines the same functions
# as lib-apt.sh, so a step calls them without knowing the family:
#   wait_for_packages_idle, install_missing_packages, package_arch, configure_container_repo,
#   runtime_packages, base_packages, configure_kubernetes_repo, install_kubernetes_packages,
#   hold_packages, kubernetes_package_versions, kubeadm_target_revisions, configure_host_security
# The Kubernetes repository and the hold follow kubeadm's install guide for Red Hat-based
# distributions (https://kubernetes.io/docs/setup/production-environment/tools/kubeadm/install-kubeadm/):
# an `exclude=` line keeps every `dnf upgrade` away from the packages, and installs pass
# `--disableexcludes=kubernetes`.

readonly DNF_LOCK_WAIT_SECONDS="${KUBEADM_AWS_DNF_LOCK_WAIT_SECONDS:-600}"
# rpm's transaction lock (an fcntl lock on this file, held for as long as a transaction runs).
readonly RPM_LOCK_FILE="${SYSROOT}/var/lib/rpm/.rpm.lock"
# dnf's own refresh of its metadata (dnf-makecache.timer, soon after boot): a oneshot unit.
readonly DNF_BACKGROUND_UNITS=(dnf-makecache.service)
readonly REPOS_DIR="${SYSROOT}/etc/yum.repos.d"
readonly KUBERNETES_REPO_FILE="${REPOS_DIR}/kubernetes.repo"
# What the repository's exclude line holds back (kubeadm's install guide lists these five).
readonly KUBERNETES_EXCLUDES=(kubelet kubeadm kubectl cri-tools kubernetes-cni)

# ---- waiting for the package manager -----------------------------------------------------------
# True when rpm and dnf are idle: no process holds rpm's transaction lock, no dnf, yum, microdnf
# or rpm process runs, and dnf-makecache is not at work. Otherwise prints what keeps them busy,
# one line each, and returns 1. dnf would wait for another dnf by itself, but without a bound and
# without saying who: this wait is bounded and names the holder.
packages_idle() {
  local busy=()
  lock_holders "$RPM_LOCK_FILE" || true # the processes below are looked for by name anyway
  busy_processes "a package manager is running" -x 'dnf|dnf-3|yum|microdnf|rpm'
  busy_units "${DNF_BACKGROUND_UNITS[@]}"
  if ((${#busy[@]} == 0)); then
    return 0
  fi
  printf '%s\n' "${busy[@]}"
  return 1
}

# Waits until rpm and dnf are idle, for at most TIMEOUT seconds, then stops the step naming the
# holders: wait_for_packages_idle TIMEOUT.
wait_for_packages_idle() { wait_until_idle "$1" dnf/rpm "dnf and rpm" packages_idle; }

# Prints what explains a failed dnf call: the end of dnf's log and the repositories it sees.
dnf_diagnostics() {
  if [[ -r "${SYSROOT}/var/log/dnf.log" ]]; then
    warn "dnf log (last 30 lines):"
    tail -n 30 "${SYSROOT}/var/log/dnf.log" >&2 || true
  fi
  warn "enabled repositories (dnf repolist):"
  timeout 60 dnf -q repolist >&2 2>&1 || true
}

DNF_REFRESH=""
# dnf, non-interactive, once rpm and dnf are idle. The first call after a repository file changed
# refreshes the metadata (--refresh).
dnf_once() {
  local refresh=()
  wait_for_packages_idle "$DNF_LOCK_WAIT_SECONDS"
  if [[ -n "$DNF_REFRESH" ]]; then
    refresh=(--refresh)
  fi
  timeout -k 30 1200 dnf -y -q "${refresh[@]}" "$@" && DNF_REFRESH=""
}
# dnf with three attempts (mirrors fail transiently), and the diagnostics if all three fail.
dnf_run() {
  if ! retry 3 15 -- dnf_once "$@"; then
    dnf_diagnostics
    fatal "dnf $* failed three times (the diagnostics are above)"
  fi
}

# ---- packages ----------------------------------------------------------------------------------
# Installs the packages (or capabilities: `curl` is provided by curl-minimal on Amazon Linux) that
# nothing installed provides yet; does nothing otherwise.
install_missing_packages() {
  local pkg missing=()
  for pkg in "$@"; do
    rpm -q --whatprovides "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if ((${#missing[@]} == 0)); then
    info "already installed: $*"
    return 0
  fi
  info "installing ${missing[*]}"
  dnf_run install "${missing[@]}"
}

# The architecture in Kubernetes' and Go's names (amd64, arm64), for release tarballs.
package_arch() {
  local machine
  machine="$(uname -m)"
  case "$machine" in
    x86_64) echo amd64 ;;
    aarch64) echo arm64 ;;
    *) fatal "unsupported architecture ${machine}" ;;
  esac
}

# The packages every node needs besides Kubernetes' own: kubeadm's preflight checks for
# conntrack, socat, ethtool, iptables (iptables-nft provides it on these releases) and tc (in
# iproute-tc here, in iproute2 on Debian); tar unpacks release tarballs (minimal images may lack
# it).
base_packages() { echo "ca-certificates curl conntrack-tools socat ethtool iptables iproute-tc tar"; }

# The container runtime's packages: Amazon Linux 2023 ships containerd and docker in its own
# repositories (Docker's repository has no build for it); the RHEL rebuilds take containerd.io and
# docker-ce from Docker's repository, as on Debian-family nodes: runtime_packages RUNTIME.
runtime_packages() {
  read_os_release
  case "$OS_ID:$1" in
    amzn:containerd) echo "containerd" ;;
    amzn:cri-dockerd) echo "docker containerd" ;;
    *:containerd) echo "containerd.io" ;;
    *:cri-dockerd) echo "docker-ce docker-ce-cli containerd.io" ;;
    *) fatal "unknown container runtime '$1'" ;;
  esac
}

# Adds Docker's repository (containerd.io, docker-ce) on the RHEL rebuilds, as the .repo file
# https://download.docker.com/linux/centos/docker-ce.repo defines its stable channel (kubespray
# uses the same for Rocky, Alma and Oracle Linux); nothing on Amazon Linux 2023.
configure_container_repo() {
  read_os_release
  case "$OS_ID" in
    amzn)
      info "Amazon Linux ships its own containerd and docker packages: no Docker repository"
      return 0
      ;;
    rocky | almalinux | ol | rhel | centos) ;;
    *) fatal "unsupported distribution '${OS_ID}': Rocky Linux, AlmaLinux, Oracle Linux or Amazon Linux expected" ;;
  esac
  if write_file_if_changed "${REPOS_DIR}/docker-ce.repo" 0644 <<'EOF'; then
[docker-ce-stable]
name=Docker CE Stable - $basearch
baseurl=https://download.docker.com/linux/centos/$releasever/$basearch/stable
enabled=1
gpgcheck=1
gpgkey=https://download.docker.com/linux/centos/gpg
EOF
    info "added Docker's dnf repository"
    DNF_REFRESH=1
  fi
}

# ---- the Kubernetes packages (pkgs.k8s.io) -----------------------------------------------------

# Writes the pkgs.k8s.io repository of KUBERNETES_MINOR, with the exclude line that holds the
# packages back from every `dnf upgrade` (rpm imports the signing key from gpgkey on first use).
configure_kubernetes_repo() {
  local base="https://pkgs.k8s.io/core:/stable:/${KUBERNETES_MINOR}/rpm/"
  if write_file_if_changed "$KUBERNETES_REPO_FILE" 0644 <<EOF; then
[kubernetes]
name=Kubernetes
baseurl=${base}
enabled=1
gpgcheck=1
gpgkey=${base}repodata/repomd.xml.key
exclude=${KUBERNETES_EXCLUDES[*]}
EOF
    info "added the Kubernetes ${KUBERNETES_MINOR} dnf repository"
    DNF_REFRESH=1
  fi
}

# Holds the packages: the repository's exclude line is the hold (kubeadm's install guide), so this
# makes sure the repository file has it, writing the file again if not: hold_packages PACKAGE...
hold_packages() {
  local pkg line=""
  if [[ -f "$KUBERNETES_REPO_FILE" ]]; then
    line="$(grep -E '^exclude=' "$KUBERNETES_REPO_FILE" || true)"
  fi
  for pkg in "$@"; do
    if [[ " ${line#exclude=} " != *" ${pkg} "* ]]; then
      info "the Kubernetes repository does not exclude ${pkg}: writing it again"
      configure_kubernetes_repo
      return 0
    fi
  done
}

declare -A KUBE_VERSIONS=()
# Fills KUBE_VERSIONS with the installed VERSION-RELEASE of PACKAGE... (one rpm query for all).
kubernetes_package_versions() {
  local listing name version
  KUBE_VERSIONS=()
  listing="$(rpm -q --qf '%{NAME} %{VERSION}-%{RELEASE}\n' "$@" 2>/dev/null || true)"
  while read -r name version; do
    # rpm says "package X is not installed" for the others: more than two words.
    if [[ -n "$version" && "$version" != *" "* && " $* " == *" ${name} "* ]]; then
      KUBE_VERSIONS["$name"]="$version"
    fi
  done <<<"$listing"
}

# Prints the VERSION-RELEASE of KUBERNETES_VERSION for PACKAGE in the repository, or nothing.
kubernetes_revision() {
  local listing
  listing="$(dnf_once list --showduplicates --disableexcludes=kubernetes "$1" 2>/dev/null || true)"
  awk -v want="${KUBERNETES_VERSION}-" 'found == "" && index($2, want) == 1 { found = $2 } END { print found }' <<<"$listing"
}

# Installs PACKAGE... from pkgs.k8s.io at exactly KUBERNETES_VERSION (dnf up- or downgrades to an
# exact version), with the unpinned EXTRA packages in the same transaction, then makes sure they
# are held; does nothing but the hold check when they are at that version already:
#   install_kubernetes_packages [--with EXTRA]... PACKAGE...
install_kubernetes_packages() {
  local pkg revision extra=() packages=() pending=() specs=()
  kubernetes_packages_pending "$@"
  if ((${#pending[@]} == 0)); then
    info "${packages[*]} already at ${KUBERNETES_VERSION}"
    hold_packages "${packages[@]}"
    return 0
  fi
  revision="$(kubernetes_revision "${packages[0]}")"
  if [[ -z "$revision" ]]; then
    dnf_once list --showduplicates --disableexcludes=kubernetes "${packages[0]}" >&2 || true
    fatal "${packages[0]} ${KUBERNETES_VERSION} is not in the ${KUBERNETES_MINOR} repository (available versions above)"
  fi
  for pkg in "${packages[@]}"; do
    specs+=("${pkg}-${revision}")
  done
  info "installing ${packages[*]} ${revision}"
  dnf_run install --disableexcludes=kubernetes "${specs[@]}" "${extra[@]}"
  hold_packages "${packages[@]}"
  kubernetes_package_versions "${packages[@]}"
  for pkg in "${packages[@]}"; do
    [[ "${KUBE_VERSIONS[$pkg]:-}" == "$revision" ]] || fatal "${pkg} is not at ${revision} after the install"
  done
}

# Prints the kubeadm releases (VERSION-RELEASE, one a line) in KUBERNETES_MINOR's repository,
# asked through a repository given on the command line only, so that nothing on the node's
# repository configuration changes (upgrade-node's check).
kubeadm_target_revisions() {
  local base="https://pkgs.k8s.io/core:/stable:/${KUBERNETES_MINOR}/rpm/" listing
  listing="$(dnf_once --disablerepo='*' --repofrompath="kubernetes-target,${base}" \
    --setopt=kubernetes-target.gpgcheck=1 --setopt="kubernetes-target.gpgkey=${base}repodata/repomd.xml.key" \
    list --showduplicates kubeadm)" || fatal "cannot read the ${KUBERNETES_MINOR} repository at ${base}"
  awk '$1 ~ /^kubeadm\./ { print $2 }' <<<"$listing"
}

# ---- SELinux and firewalld ---------------------------------------------------------------------
# SELINUX_MODE permissive (kubeadm's install guide: containers must read the host's filesystem,
# which pod networks need) or enforcing (container-selinux and the runtime's SELinux support);
# FIREWALLD_MODE stopped (the security groups are the firewall) or cluster-ports (FIREWALL_PORTS
# opened, and masquerading for the pod network). Both converge: a second run changes nothing.
configure_host_security() {
  configure_selinux
  configure_firewalld
}

# Sets the SELINUX= line of /etc/selinux/config to MODE unless SELinux is disabled there.
persist_selinux_mode() {
  local config="${SYSROOT}/etc/selinux/config" content
  [[ -f "$config" ]] || return 0
  content="$(sed -E "s/^SELINUX=(enforcing|permissive)\$/SELINUX=$1/" "$config")"
  if [[ "$content" != "$(<"$config")" ]] && write_file_if_changed "$config" 0644 <<<"$content"; then
    info "SELinux is $1 from the next boot on too (/etc/selinux/config)"
  fi
}

configure_selinux() {
  local current
  if ! have getenforce; then
    info "SELinux is not installed on this image"
    return 0
  fi
  current="$(getenforce)"
  case "$SELINUX_MODE:$current" in
    permissive:Enforcing)
      setenforce 0
      info "SELinux set to permissive (kubeadm's install guide)"
      ;;
    enforcing:Disabled)
      fatal "selinux is enforcing in the stack config, but SELinux is disabled in this image (enabling it needs a relabel and a reboot): use an image with SELinux enabled, or \`pulumi config set selinux permissive\`"
      ;;
    enforcing:*)
      install_missing_packages container-selinux
      if [[ "$current" != Enforcing ]]; then
        setenforce 1
        info "SELinux set to enforcing"
      fi
      ;;
  esac
  if [[ "$current" != Disabled ]]; then
    persist_selinux_mode "$SELINUX_MODE"
  fi
}

configure_firewalld() {
  local port added="" state
  if ! have firewall-cmd; then
    info "firewalld is not installed on this image"
    return 0
  fi
  state="$(timeout 20 systemctl is-active firewalld 2>/dev/null || true)"
  if [[ "$FIREWALLD_MODE" == stopped ]]; then
    if [[ "$state" == active ]] || timeout 20 systemctl is-enabled --quiet firewalld 2>/dev/null; then
      systemctl disable --now firewalld
      info "stopped and disabled firewalld (the security groups are the cluster's firewall)"
    fi
    return 0
  fi
  if [[ "$state" != active ]]; then
    info "firewalld is not running: nothing to open (the security groups are the cluster's firewall)"
    return 0
  fi
  for port in "${FIREWALL_PORTS[@]}"; do
    if ! firewall-cmd --permanent --query-port="$port" >/dev/null 2>&1; then
      firewall-cmd --permanent --add-port="$port" >/dev/null
      added+=" ${port}"
    fi
  done
  if ! firewall-cmd --permanent --query-masquerade >/dev/null 2>&1; then
    firewall-cmd --permanent --add-masquerade >/dev/null
    added+=" masquerade"
  fi
  if [[ -n "$added" ]]; then
    firewall-cmd --reload >/dev/null
    info "firewalld opened:${added}"
  fi
}

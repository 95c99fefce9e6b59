#!/usr/bin/env bash
# lib-apt.sh: apt and dpkg for the guest steps on Debian-family nodes (Ubuntu, Debian), prepended
# after lib.sh and lib-packages.sh (whose logging, retries, waits and shared package checks it
# uses) to the steps that install packages (their PACKAGE_MANAGER parameter is apt): waits for
# every apt/dpkg lock and apt's daily jobs, bounded, before each apt-get or apt-mark call; installs only what is missing; adds the
# pkgs.k8s.io repository and installs Kubernetes packages pinned and held (prepare and
# upgrade-node on the nodes, bastion-tools on the bastion). lib-dnf.sh defines the same functions
# for RHEL-family nodes, so a step calls them without knowing the family:
#   wait_for_packages_idle, install_missing_packages, package_arch, configure_container_repo,
#   runtime_packages, base_packages, configure_kubernetes_repo, install_kubernetes_packages,
#   hold_packages, kubernetes_package_versions, kubeadm_target_revisions, configure_host_security

readonly APT_LOCK_WAIT_SECONDS="${KUBEADM_AWS_APT_LOCK_WAIT_SECONDS:-600}"
# The files whose fcntl locks apt and dpkg take.
readonly APT_LOCK_FILES=(
  "${SYSROOT}/var/lib/dpkg/lock-frontend"
  "${SYSROOT}/var/lib/dpkg/lock"
  "${SYSROOT}/var/lib/apt/lists/lock"
  "${SYSROOT}/var/cache/apt/archives/lock"
)

# ---- packages ----------------------------------------------------------------------------------
# apt and dpkg serialise on fcntl(2) locks on APT_LOCK_FILES. apt-get's DPkg::Lock::Timeout waits
# only for the dpkg frontend lock: `apt-get update` fails at once on /var/lib/apt/lists/lock while
# apt-daily.service refreshes the lists, and on a fresh Debian or Ubuntu instance apt-daily,
# apt-daily-upgrade and unattended-upgrade run right at first boot. So before each apt-get call the
# step waits (bounded) until nothing holds any of the locks and apt's daily jobs are done.

# apt's daily jobs: oneshot units, "activating" while they run and "inactive" once done.
# apt-daily-upgrade.service runs unattended-upgrade, which apt_idle also looks for by its process,
# in case it runs outside that unit. Not unattended-upgrades.service: that is the
# unattended-upgrade-shutdown helper, a long-running service that is "active" all the time.
readonly APT_DAILY_UNITS=(apt-daily.service apt-daily-upgrade.service)

# True when apt and dpkg are idle: no process holds an apt/dpkg lock, apt-daily(-upgrade).service
# is not running, and neither is unattended-upgrade. Otherwise prints what keeps them busy, one
# line each (lock file, PID and command line; or unit and state) and returns 1. fuser and
# systemctl are bounded, as wait_for requires (pgrep only reads /proc).
apt_idle() {
  local busy=()
  if ! lock_holders "${APT_LOCK_FILES[@]}"; then
    # Without fuser the lock holders are found by name: apt's and dpkg's own processes.
    busy_processes "an apt/dpkg process is running" -x 'apt|apt-get|aptitude|dpkg'
  fi
  # The pattern matches the upgrade run (python3 /usr/bin/unattended-upgrade ...), not
  # /usr/share/unattended-upgrades/unattended-upgrade-shutdown, which runs all the time.
  busy_processes "unattended-upgrade is running" -f '/usr/bin/unattended-upgrade( |$)'
  busy_units "${APT_DAILY_UNITS[@]}"
  if ((${#busy[@]} == 0)); then
    return 0
  fi
  printf '%s\n' "${busy[@]}"
  return 1
}

# Waits until apt and dpkg are idle (apt_idle), for at most TIMEOUT seconds; after that it stops
# the step, naming the lock holders or the running units: wait_for_apt_idle TIMEOUT.
wait_for_apt_idle() { wait_until_idle "$1" apt/dpkg "apt and dpkg" apt_idle; }

# The family-neutral name of the wait (lib-dnf.sh has its own): wait_for_packages_idle TIMEOUT.
wait_for_packages_idle() { wait_for_apt_idle "$@"; }

# apt-get, non-interactive, once apt and dpkg are idle (wait_for_apt_idle). DPkg::Lock::Timeout
# stays as a second line of defence for the dpkg frontend lock: an apt-daily run can start between
# the wait and apt-get (a failure on another lock is left to apt_get's retries, which wait again).
apt_get_once() {
  wait_for_apt_idle "$APT_LOCK_WAIT_SECONDS"
  DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a apt-get -q -y \
    -o DPkg::Lock::Timeout=600 \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@"
}
# apt-get with three attempts (mirrors and the package lock fail transiently).
apt_get() { retry 3 15 -- apt_get_once "$@"; }
# apt-mark hold/unhold once apt and dpkg are idle: they change dpkg's selections, which takes the
# dpkg lock, and apt-mark has no lock timeout at all.
apt_mark() {
  wait_for_apt_idle "$APT_LOCK_WAIT_SECONDS"
  apt-mark "$@"
}

APT_UPDATED=""
# Refreshes the package lists, once per step (a step that adds a repository clears APT_UPDATED).
apt_update() {
  if [[ -n "$APT_UPDATED" ]]; then
    return 0
  fi
  apt_get update
  APT_UPDATED=1
}

# Installs the packages that are not installed yet; does nothing (not even an update) otherwise.
apt_install_missing() {
  local listing pkg missing=()
  # One dpkg-query for all of them: a "name status" line per package dpkg knows.
  # shellcheck disable=SC2016 # dpkg-query fields, not shell expansions
  listing=$'\n'"$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "$@" 2>/dev/null || true)"$'\n'
  for pkg in "$@"; do
    if [[ "$listing" != *$'\n'"${pkg} installed"$'\n'* ]]; then
      missing+=("$pkg")
    fi
  done
  if ((${#missing[@]} == 0)); then
    info "already installed: $*"
    return 0
  fi
  apt_update
  info "installing ${missing[*]}"
  apt_get install --no-install-recommends "${missing[@]}"
}

# The family-neutral name of the install (lib-dnf.sh has its own).
install_missing_packages() { apt_install_missing "$@"; }

# The architecture in Kubernetes' and Go's names (amd64, arm64), for release tarballs.
package_arch() { dpkg --print-architecture; }

# The packages every node needs besides Kubernetes' own: gpg dearmours the repositories' keys;
# kubeadm's preflight checks for conntrack, socat, ethtool and iptables.
base_packages() { echo "ca-certificates curl gpg conntrack socat ethtool iptables"; }

# The container runtime's packages, from Docker's repository: runtime_packages RUNTIME.
runtime_packages() {
  case "$1" in
    containerd) echo "containerd.io" ;;
    cri-dockerd) echo "docker-ce docker-ce-cli containerd.io" ;;
    *) fatal "unknown container runtime '$1'" ;;
  esac
}

# Ubuntu's and Debian's cloud images have no SELinux and no active firewall (ufw is inactive): the
# security groups are the cluster's firewall, and there is nothing to configure.
configure_host_security() { :; }

# ---- Docker's repository -----------------------------------------------------------------------
# Adds Docker's apt repository (containerd.io, docker-ce) for this distribution and release.
configure_container_repo() {
  local id codename arch dir
  read_os_release
  id="$OS_ID"
  codename="$OS_CODENAME"
  [[ "$id" == ubuntu || "$id" == debian ]] || fatal "unsupported distribution '${id}': Ubuntu or Debian expected"
  [[ -n "$codename" ]] || fatal "/etc/os-release has no VERSION_CODENAME"
  arch="$(dpkg --print-architecture)"
  ensure_dir "$KEYRINGS_DIR" 0755
  if [[ ! -s "${KEYRINGS_DIR}/docker.asc" ]]; then
    make_private_dir dir
    download_key "https://download.docker.com/linux/${id}/gpg" "${dir}/docker.asc"
    write_file_if_changed "${KEYRINGS_DIR}/docker.asc" 0644 <"${dir}/docker.asc" || true
  fi
  if write_file_if_changed "${SOURCES_DIR}/docker.list" 0644 <<<"deb [arch=${arch} signed-by=/etc/apt/keyrings/docker.asc] https://download.docker.com/linux/${id} ${codename} stable"; then
    info "added Docker's apt repository (${id} ${codename})"
    # shellcheck disable=SC2034 # read by apt_update in lib-apt.sh: the new repository needs an update
    APT_UPDATED=""
  fi
}

# ---- the Kubernetes packages (pkgs.k8s.io) -----------------------------------------------------
# prepare (kubeadm, kubelet, kubectl on every node) and bastion-tools (kubectl on the bastion) use
# the same repository and the same pinning, so the bastion's kubectl is the cluster's version.
# Both steps have the parameters KUBERNETES_VERSION (e.g. 1.34.2) and KUBERNETES_MINOR (v1.34).

readonly KEYRINGS_DIR="${SYSROOT}/etc/apt/keyrings"
readonly SOURCES_DIR="${SYSROOT}/etc/apt/sources.list.d"


# Downloads an ASCII-armoured signing key to FILE and checks that it is one: download_key URL FILE.
download_key() {
  local text=""
  download "$1" "$2"
  IFS= read -r -d '' text <"$2" || true
  [[ "$text" == *"BEGIN PGP PUBLIC KEY BLOCK"* ]] || fatal "the download from $1 is not a PGP public key"
}

# Adds the pkgs.k8s.io repository of KUBERNETES_MINOR with its dearmoured signing key (needs gpg).
configure_kubernetes_repo() {
  local base="https://pkgs.k8s.io/core:/stable:/${KUBERNETES_MINOR}/deb/" dir
  ensure_dir "$KEYRINGS_DIR" 0755
  if [[ ! -s "${KEYRINGS_DIR}/kubernetes-apt-keyring.gpg" ]]; then
    make_private_dir dir
    download_key "${base}Release.key" "${dir}/Release.key"
    GNUPGHOME="$dir" gpg --batch --yes --dearmor -o "${dir}/kubernetes.gpg" "${dir}/Release.key"
    write_file_if_changed "${KEYRINGS_DIR}/kubernetes-apt-keyring.gpg" 0644 <"${dir}/kubernetes.gpg" || true
  fi
  if write_file_if_changed "${SOURCES_DIR}/kubernetes.list" 0644 <<<"deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] ${base} /"; then
    info "added the Kubernetes ${KUBERNETES_MINOR} apt repository"
    APT_UPDATED="" # the new repository needs an update
  fi
}

# Prints the repository's package revision of KUBERNETES_VERSION for PACKAGE (e.g. 1.34.2-1.1), or
# nothing: kubernetes_revision PACKAGE.
kubernetes_revision() {
  local listing
  listing="$(apt-cache madison "$1")"
  awk -F'|' -v want="${KUBERNETES_VERSION}-" '
    { v = $2; gsub(/[[:space:]]/, "", v) }
    found == "" && index(v, want) == 1 { found = v }
    END { print found }' <<<"$listing"
}

# Holds the packages that are not held yet, so no upgrade moves them: hold_packages PACKAGE...
hold_packages() {
  local held pkg to_hold=()
  held=$'\n'"$(apt-mark showhold)"$'\n'
  for pkg in "$@"; do
    [[ "$held" == *$'\n'"${pkg}"$'\n'* ]] || to_hold+=("$pkg")
  done
  if ((${#to_hold[@]} > 0)); then
    apt_mark hold "${to_hold[@]}"
  fi
}

declare -A KUBE_VERSIONS=()
# Fills KUBE_VERSIONS with the installed versions of PACKAGE... (one dpkg-query for all).
kubernetes_package_versions() {
  local listing name status version
  KUBE_VERSIONS=()
  # shellcheck disable=SC2016 # dpkg-query fields, not shell expansions
  listing="$(dpkg-query -W -f='${Package} ${db:Status-Status} ${Version}\n' "$@" 2>/dev/null || true)"
  while read -r name status version; do
    if [[ "$status" == installed ]]; then
      KUBE_VERSIONS["$name"]="$version"
    fi
  done <<<"$listing"
}

# Installs PACKAGE... from pkgs.k8s.io at exactly KUBERNETES_VERSION (downgrading or unholding as
# needed), with the unpinned EXTRA packages in the same apt-get call, then holds PACKAGE...; does
# nothing but the hold when they are at that version already:
#   install_kubernetes_packages [--with EXTRA]... PACKAGE...
install_kubernetes_packages() {
  local pkg revision held extra=() packages=() pending=() unhold=() pinned=()
  kubernetes_packages_pending "$@"
  if ((${#pending[@]} == 0)); then
    info "${packages[*]} already at ${KUBERNETES_VERSION}"
    hold_packages "${packages[@]}"
    return 0
  fi
  apt_update
  revision="$(kubernetes_revision "${packages[0]}")"
  if [[ -z "$revision" ]]; then
    apt-cache madison "${packages[0]}" >&2 || true
    fatal "${packages[0]} ${KUBERNETES_VERSION} is not in the ${KUBERNETES_MINOR} repository (available versions above)"
  fi
  held=$'\n'"$(apt-mark showhold)"$'\n'
  for pkg in "${packages[@]}"; do
    if [[ "$held" == *$'\n'"${pkg}"$'\n'* ]]; then
      unhold+=("$pkg")
    fi
    pinned+=("${pkg}=${revision}")
  done
  if ((${#unhold[@]} > 0)); then
    apt_mark unhold "${unhold[@]}"
  fi
  info "installing ${packages[*]} ${revision}"
  apt_get install --no-install-recommends --allow-downgrades --allow-change-held-packages \
    "${pinned[@]}" "${extra[@]}"
  hold_packages "${packages[@]}"
  kubernetes_package_versions "${packages[@]}"
  for pkg in "${packages[@]}"; do
    [[ "${KUBE_VERSIONS[$pkg]:-}" == "$revision" ]] || fatal "${pkg} is not at ${revision} after the install"
  done
}

# Prints the kubeadm releases (package revisions, one a line) in KUBERNETES_MINOR's repository,
# asked through a temporary source list so that nothing on the node changes (upgrade-node's check).
kubeadm_target_revisions() {
  local dir list listing
  make_private_dir dir
  list="${dir}/kubernetes-target.list"
  printf 'deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] https://pkgs.k8s.io/core:/stable:/%s/deb/ /\n' \
    "$KUBERNETES_MINOR" >"$list"
  local -a only_target=(-o "Dir::Etc::sourcelist=${list}" -o "Dir::Etc::sourceparts=-"
    -o "APT::Get::List-Cleanup=0")
  apt_get "${only_target[@]}" update >&2
  listing="$(apt-cache "${only_target[@]}" madison kubeadm)"
  awk -F'|' '{ v = $2; gsub(/[[:space:]]/, "", v); if (v != "") print v }' <<<"$listing"
}

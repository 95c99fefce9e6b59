#!/usr/bin/env bash
# prepare: makes a fresh instance ready for kubeadm, on every node, in parallel: Ubuntu or Debian
# with apt (lib-apt.sh), or Rocky Linux, AlmaLinux, Oracle Linux or Amazon Linux with dnf
# (lib-dnf.sh, which also sets SELinux and firewalld as the stack says).
# Swap off for good, overlay + br_netfilter, bridge/forwarding sysctls, the container runtime
# (containerd, or Docker Engine + cri-dockerd) with the systemd cgroup driver and kubeadm's pause
# image, kubeadm/kubelet/kubectl pinned and held, kubelet enabled, images pre-pulled on control
# planes. Every part converges by content: a second run installs, rewrites and restarts nothing.
#
# Parameters (rendered header)
#   ROLE                      control-plane | worker
#   KUBERNETES_VERSION        full version without "v", e.g. 1.34.2
#   KUBERNETES_MINOR          the pkgs.k8s.io repository, e.g. v1.34
#   CONTAINER_RUNTIME         containerd | cri-dockerd
#   CRI_SOCKET                e.g. unix:///run/containerd/containerd.sock
#   CRI_DOCKERD_VERSION       e.g. 0.3.20 (cri-dockerd only)
#   CRI_DOCKERD_URL_TEMPLATE  release tarball URL with a literal {ARCH} (cri-dockerd only)
#   PULL_IMAGES               true | false: `kubeadm config images pull` now, not during init
#   PACKAGE_MANAGER           apt | dnf: which package library this step runs with
#   SELINUX_MODE              permissive | enforcing (dnf only)
#   FIREWALLD_MODE            stopped | cluster-ports (dnf only)
#   FIREWALL_PORTS            e.g. (6443/tcp 2379-2380/tcp 8472/udp): opened with cluster-ports (dnf only)
# Stdin: not read.  Stdout: nothing.  Leaves /var/lib/kubeadm-aws/prepare.done (informational).

readonly CONTAINERD_CONFIG="${SYSROOT}/etc/containerd/config.toml"
readonly CRI_DOCKERD_BIN="${SYSROOT}/usr/local/bin/cri-dockerd"
readonly SYSTEMD_UNIT_DIR="${SYSROOT}/etc/systemd/system"
readonly KUBE_PACKAGES=(kubeadm kubelet kubectl)
readonly SYSCTL_KEYS=(net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables net.ipv4.ip_forward)

# Stops early, with the parameter's name, when an input is malformed.
validate_inputs() {
  [[ "$ROLE" == control-plane || "$ROLE" == worker ]] || fatal "ROLE must be control-plane or worker (got '${ROLE}')"
  validate_kubernetes_version
  [[ "$CRI_SOCKET" == unix:///* ]] || fatal "CRI_SOCKET must be a unix:/// URL (got '${CRI_SOCKET}')"
  [[ "$PULL_IMAGES" == true || "$PULL_IMAGES" == false ]] || fatal "PULL_IMAGES must be true or false"
  case "$CONTAINER_RUNTIME" in
    containerd) ;;
    cri-dockerd)
      [[ "$CRI_DOCKERD_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] ||
        fatal "CRI_DOCKERD_VERSION must look like 0.3.20 (got '${CRI_DOCKERD_VERSION}')"
      [[ "$CRI_DOCKERD_URL_TEMPLATE" == https://*'{ARCH}'* ]] ||
        fatal "CRI_DOCKERD_URL_TEMPLATE must be an https URL containing {ARCH}"
      [[ "$CRI_SOCKET" == unix:///run/cri-dockerd.sock || "$CRI_SOCKET" == unix:///var/run/cri-dockerd.sock ]] ||
        fatal "with cri-dockerd, CRI_SOCKET must be unix:///run/cri-dockerd.sock (the socket unit's path)"
      ;;
    *) fatal "CONTAINER_RUNTIME must be containerd or cri-dockerd (got '${CONTAINER_RUNTIME}')" ;;
  esac
  if [[ "$PACKAGE_MANAGER" == dnf ]]; then
    [[ "$SELINUX_MODE" == permissive || "$SELINUX_MODE" == enforcing ]] ||
      fatal "SELINUX_MODE must be permissive or enforcing (got '${SELINUX_MODE}')"
    [[ "$FIREWALLD_MODE" == stopped || "$FIREWALLD_MODE" == cluster-ports ]] ||
      fatal "FIREWALLD_MODE must be stopped or cluster-ports (got '${FIREWALLD_MODE}')"
    local port
    for port in "${FIREWALL_PORTS[@]}"; do
      [[ "$port" =~ ^[0-9]+(-[0-9]+)?/(tcp|udp)$ ]] || fatal "FIREWALL_PORTS holds '${port}': PORT[-PORT]/tcp|udp expected"
    done
  fi
}

# True when the runtime must label containers for SELinux (an enforcing RHEL-family node).
selinux_enforcing() { [[ "$PACKAGE_MANAGER" == dnf && "$SELINUX_MODE" == enforcing ]]; }

# ---- 1. swap -----------------------------------------------------------------------------------
# Turns swap off now, comments out swap lines in /etc/fstab and masks swap units (kubelet refuses swap).
disable_swap() {
  local fstab="${SYSROOT}/etc/fstab" content unit state
  swapoff -a
  if [[ -f "$fstab" ]]; then
    content="$(awk '!/^[[:space:]]*#/ && $3 == "swap" { print "#" $0; next } { print }' "$fstab")"
    if [[ "$content" != "$(<"$fstab")" ]] &&
      write_file_if_changed "$fstab" "$(stat -c '%a' -- "$fstab")" <<<"$content"; then
      info "commented out the swap entries in /etc/fstab"
    fi
  fi
  while read -r unit _; do
    [[ "$unit" == *.swap ]] || continue
    state="$(systemctl is-enabled "$unit" 2>/dev/null || true)"
    if [[ "$state" != masked ]]; then
      info "masking ${unit}"
      systemctl mask "$unit"
    fi
  done < <(systemctl list-units --type=swap --all --no-legend --plain 2>/dev/null || true)
}

# ---- 2. kernel ---------------------------------------------------------------------------------
# True when every required sysctl is 1 (one sysctl call for all keys).
sysctls_applied() {
  local values
  values="$(sysctl -n "${SYSCTL_KEYS[@]}" 2>/dev/null)" || return 1
  [[ "$values" == "1"$'\n'"1"$'\n'"1" ]]
}

# Loads overlay + br_netfilter now and at boot; persists and applies the bridge/forwarding sysctls.
configure_kernel() {
  local sysctl_file="${SYSROOT}/etc/sysctl.d/k8s.conf" changed=""
  if write_file_if_changed "${SYSROOT}/etc/modules-load.d/k8s.conf" 0644 <<'EOF'; then
overlay
br_netfilter
EOF
    info "wrote /etc/modules-load.d/k8s.conf"
  fi
  modprobe overlay
  modprobe br_netfilter
  if write_file_if_changed "$sysctl_file" 0644 <<'EOF'; then
net.bridge.bridge-nf-call-iptables = 1
net.bridge.bridge-nf-call-ip6tables = 1
net.ipv4.ip_forward = 1
EOF
    changed=1
  fi
  if [[ -n "$changed" ]] || ! sysctls_applied; then
    info "applying sysctl settings"
    if ! sysctl --system >/dev/null; then
      warn "sysctl --system reported errors in some file; applying k8s.conf on its own"
      sysctl -p "$sysctl_file" >/dev/null
    fi
  fi
  sysctls_applied || fatal "sysctls ${SYSCTL_KEYS[*]} are not all 1 after applying ${sysctl_file}"
}

# ---- 3. package repositories and 4. packages -------------------------------------------------
# The package library (lib-apt.sh or lib-dnf.sh, by PACKAGE_MANAGER) has them: Docker's
# repository where the runtime comes from it, the pkgs.k8s.io one, and the pinned and held
# kubeadm, kubelet and kubectl, because bastion-tools and upgrade-node install the same way.

# ---- 5. container runtime ----------------------------------------------------------------------
KUBEADM_IMAGES=""
PAUSE_IMAGE=""
# Asks the installed kubeadm for its images, pause included (the sandbox image the runtime must use).
load_kubeadm_images() {
  local image
  KUBEADM_IMAGES="$(kubeadm config images list --kubernetes-version "v${KUBERNETES_VERSION}")"
  while read -r image; do
    if [[ "$image" == */pause:* ]]; then
      PAUSE_IMAGE="$image"
      break
    fi
  done <<<"$KUBEADM_IMAGES"
  [[ "$PAUSE_IMAGE" =~ ^[A-Za-z0-9./_:@-]+$ ]] ||
    fatal "kubeadm config images list --kubernetes-version v${KUBERNETES_VERSION} names no pause image"
  info "kubeadm's pause image is ${PAUSE_IMAGE}"
}

# Sets KEY = VALUE in the TOML table SECTION of FILE (header text exactly as containerd prints it):
# replaces an existing assignment, else inserts one under the header, else appends the table.
toml_set() {
  local file="$1" section="$2" key="$3" value="$4"
  awk -v section="[${section}]" -v key="$key" -v value="$value" '
    function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }
    function indent(s) { match(s, /^[ \t]*/); return substr(s, 1, RLENGTH) }
    function is_key(s) { s = trim(s); return index(s, key) == 1 && substr(s, length(key) + 1) ~ /^[ \t]*=/ }
    NR == FNR {
      if ($0 ~ /^[ \t]*\[/) { inside = (trim($0) == section); if (inside) has_section = 1; next }
      if (inside && is_key($0)) has_key = 1
      next
    }
    FNR == 1 { inside = 0 }
    /^[ \t]*\[/ {
      inside = (trim($0) == section)
      print
      if (inside && !has_key) print indent($0) "  " key " = " value
      next
    }
    inside && is_key($0) { print indent($0) key " = " value; next }
    { print }
    END { if (!has_section) { print ""; print section; print "  " key " = " value } }
  ' "$file" "$file" >"${file}.new" || fatal "cannot edit ${file}"
  mv -f -- "${file}.new" "$file"
}

# Writes containerd's config from `containerd config default` with the systemd cgroup driver and
# kubeadm's pause image, for config version 2 (containerd 1.7) and 3 (containerd 2.x).
configure_containerd() {
  local pause="$1" dir generated changed="" dump text=""
  make_private_dir dir
  generated="${dir}/config.toml"
  containerd config default >"$generated"
  IFS= read -r -d '' text <"$generated" || true
  if [[ "$text" =~ (^|$'\n')version[[:space:]]*=[[:space:]]*3[[:space:]]*($'\n'|$) ]]; then
    toml_set "$generated" "plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options" SystemdCgroup true
    toml_set "$generated" "plugins.'io.containerd.cri.v1.images'.pinned_images" sandbox "'${pause}'"
    if selinux_enforcing; then
      toml_set "$generated" "plugins.'io.containerd.cri.v1.runtime'" enable_selinux true
    fi
  elif [[ "$text" =~ (^|$'\n')version[[:space:]]*=[[:space:]]*2[[:space:]]*($'\n'|$) ]]; then
    toml_set "$generated" 'plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options' SystemdCgroup true
    toml_set "$generated" 'plugins."io.containerd.grpc.v1.cri"' sandbox_image "\"${pause}\""
    if selinux_enforcing; then
      toml_set "$generated" 'plugins."io.containerd.grpc.v1.cri"' enable_selinux true
    fi
  else
    fatal "unknown format of 'containerd config default' (no 'version = 2' or 'version = 3' line)"
  fi
  if write_file_if_changed "$CONTAINERD_CONFIG" 0644 <"$generated"; then
    info "wrote ${CONTAINERD_CONFIG} (SystemdCgroup = true, sandbox ${pause})"
    changed=1
  fi
  converge_units "$changed" containerd
  dump="$(containerd config dump)"
  [[ "$dump" =~ $'\n'[[:space:]]*SystemdCgroup[[:space:]]*=[[:space:]]*true ]] ||
    fatal "containerd config dump does not show SystemdCgroup = true"
  [[ "$dump" == *"$pause"* ]] || fatal "containerd config dump does not show the sandbox image ${pause}"
}

# Installs the cri-dockerd binary from its release tarball unless that version is installed.
# Sets CRI_DOCKERD_CHANGED when it installed one.
CRI_DOCKERD_CHANGED=""
install_cri_dockerd_binary() {
  local current="" arch url dir wanted
  wanted="(^|[^0-9.])${CRI_DOCKERD_VERSION//./\\.}([^0-9.]|$)"
  if [[ -x "$CRI_DOCKERD_BIN" ]]; then
    current="$("$CRI_DOCKERD_BIN" --version 2>&1 || true)"
  fi
  if [[ "$current" =~ $wanted ]]; then
    info "cri-dockerd ${CRI_DOCKERD_VERSION} is already installed"
    return 0
  fi
  arch="$(package_arch)"
  url="${CRI_DOCKERD_URL_TEMPLATE//'{ARCH}'/$arch}"
  make_private_dir dir
  download "$url" "${dir}/cri-dockerd.tgz"
  tar -xzf "${dir}/cri-dockerd.tgz" -C "$dir"
  [[ -f "${dir}/cri-dockerd/cri-dockerd" ]] || fatal "${url} has no cri-dockerd/cri-dockerd"
  write_file_if_changed "$CRI_DOCKERD_BIN" 0755 <"${dir}/cri-dockerd/cri-dockerd" || true
  info "installed cri-dockerd ${CRI_DOCKERD_VERSION} (${arch}) to /usr/local/bin"
  CRI_DOCKERD_CHANGED=1
}

# Docker Engine with the systemd cgroup driver and rotated logs, then cri-dockerd as its CRI shim.
configure_cri_dockerd() {
  local pause="$1" docker_changed="" units_changed=""
  # dockerd labels containers for SELinux only when told (selinux-enabled), as enforcing needs.
  local selinux=""
  if selinux_enforcing; then
    selinux=$'\n  "selinux-enabled": true,'
  fi
  if write_file_if_changed "${SYSROOT}/etc/docker/daemon.json" 0644 <<EOF; then
{
  "exec-opts": ["native.cgroupdriver=systemd"],
  "log-driver": "json-file",
  "log-opts": { "max-size": "100m", "max-file": "3" },${selinux}
  "storage-driver": "overlay2"
}
EOF
    docker_changed=1
  fi
  converge_units "$docker_changed" docker
  install_cri_dockerd_binary
  if write_file_if_changed "${SYSTEMD_UNIT_DIR}/cri-docker.socket" 0644 <<'EOF'; then
[Unit]
Description=CRI Docker Socket for the API
PartOf=cri-docker.service

[Socket]
ListenStream=%t/cri-dockerd.sock
SocketMode=0660
SocketUser=root
SocketGroup=docker

[Install]
WantedBy=sockets.target
EOF
    units_changed=1
  fi
  if write_file_if_changed "${SYSTEMD_UNIT_DIR}/cri-docker.service" 0644 <<EOF; then
[Unit]
Description=CRI Interface for Docker Application Container Engine
Documentation=https://mirantis.github.io/cri-dockerd/
After=network-online.target firewalld.service docker.service
Wants=network-online.target
Requires=cri-docker.socket

[Service]
Type=notify
ExecStart=/usr/local/bin/cri-dockerd --container-runtime-endpoint fd:// --pod-infra-container-image ${pause} --network-plugin=cni
ExecReload=/bin/kill -s HUP \$MAINPID
TimeoutSec=0
RestartSec=2
Restart=always
StartLimitBurst=3
StartLimitInterval=60s
LimitNOFILE=infinity
LimitNPROC=infinity
LimitCORE=infinity
TasksMax=infinity
Delegate=yes
KillMode=process

[Install]
WantedBy=multi-user.target
EOF
    units_changed=1
  fi
  if [[ -n "$units_changed" ]]; then
    systemctl daemon-reload
  fi
  converge_units "${units_changed}${CRI_DOCKERD_CHANGED}" cri-docker.socket cri-docker.service
}

# Points crictl at the runtime, so `crictl ps` works for whoever debugs the node.
write_crictl_config() {
  if write_file_if_changed "${SYSROOT}/etc/crictl.yaml" 0644 <<EOF; then
runtime-endpoint: ${CRI_SOCKET}
image-endpoint: ${CRI_SOCKET}
timeout: 10
debug: false
EOF
    info "wrote /etc/crictl.yaml"
  fi
}

# Pulls kubeadm's images for KUBERNETES_VERSION unless the runtime already has all of them.
pull_images() {
  local images=()
  if [[ "$PULL_IMAGES" != true ]]; then
    info "not pre-pulling images on a ${ROLE} node"
    return 0
  fi
  mapfile -t images <<<"$KUBEADM_IMAGES"
  # inspecti fails when any one of the images is missing.
  if crictl --runtime-endpoint "$CRI_SOCKET" inspecti "${images[@]}" >/dev/null 2>&1; then
    info "all kubeadm images for v${KUBERNETES_VERSION} are present"
    return 0
  fi
  info "pulling kubeadm images for v${KUBERNETES_VERSION}"
  retry 3 10 -- kubeadm config images pull --kubernetes-version "v${KUBERNETES_VERSION}" --cri-socket "$CRI_SOCKET"
}

main() {
  require_root
  validate_inputs
  info "preparing a ${ROLE} node: Kubernetes ${KUBERNETES_VERSION}, ${CONTAINER_RUNTIME} at ${CRI_SOCKET}"
  local base=() runtime=()
  disable_swap
  configure_kernel
  read -r -a base <<<"$(base_packages)"
  install_missing_packages "${base[@]}"
  # SELinux and firewalld on RHEL-family nodes (lib-dnf.sh); nothing on Debian-family ones.
  configure_host_security
  configure_container_repo
  configure_kubernetes_repo
  read -r -a runtime <<<"$(runtime_packages "$CONTAINER_RUNTIME")"
  install_missing_packages "${runtime[@]}"
  install_kubernetes_packages --with cri-tools "${KUBE_PACKAGES[@]}"
  load_kubeadm_images
  if [[ "$CONTAINER_RUNTIME" == containerd ]]; then
    configure_containerd "$PAUSE_IMAGE"
  else
    configure_cri_dockerd "$PAUSE_IMAGE"
  fi
  write_crictl_config
  wait_for 120 "the container runtime to answer on ${CRI_SOCKET}" -- crictl --runtime-endpoint "$CRI_SOCKET" info
  if ! systemctl is-enabled --quiet kubelet 2>/dev/null; then
    systemctl enable kubelet
  fi
  pull_images
  ensure_dir "$STATE_DIR" 0700
  write_file_if_changed "${STATE_DIR}/prepare.done" 0644 \
    <<<"kubernetes=${KUBERNETES_VERSION} runtime=${CONTAINER_RUNTIME} cri-socket=${CRI_SOCKET}" || true
  info "node prepared"
}

main "$@"

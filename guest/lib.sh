#!/usr/bin/env bash
# ==== kubeadm-aws guest libraries begin (lib.sh, [lib-packages.sh, lib-apt.sh | lib-dnf.sh], lib-kubeadm.sh) ====
# lib.sh: the core library every kubeadm-aws guest step shares (output, logging, failure
# handling, retries and waits, files, stdin secrets, systemd). render/script.ts prepends it, then
# for a step that installs packages lib-packages.sh and its package library (lib-apt.sh or
# lib-dnf.sh, by its PACKAGE_MANAGER parameter), and lib-kubeadm.sh (Kubernetes), to each step
# right after the parameter header, so a rendered step is one self-contained file.
#
# Inputs
#   STEP                         (rendered header) the step's name, used in every log line.
#   KUBEADM_AWS_ROOT             (environment, tests only) prefix for every path the steps touch,
#                                so the test suite runs the real scripts inside a sandbox. Empty on
#                                a node: sudo resets the environment, so it cannot leak in there.
#   KUBEADM_AWS_POLL_SECONDS     (environment, tests only) interval between polls (default 3).
#   KUBEADM_AWS_RETRY_DELAY_SECONDS  (environment, tests only) replaces every retry delay.
#   KUBEADM_AWS_APT_LOCK_WAIT_SECONDS  (environment, tests only) bound on the wait for apt and dpkg
#                                to be idle before each apt-get call (default 600).
#   KUBEADM_AWS_DNF_LOCK_WAIT_SECONDS  (environment, tests only) the same for dnf and rpm.
# Output
#   Logs go to stderr. Stdout is reserved for a step's data: the library points fd 1 at stderr and
#   keeps the real stdout as fd 3, which only emit_line/emit_file use, so no tool can print into a
#   value that Pulumi captures.

# ---- output channels ---------------------------------------------------------------------------
exec 3>&1 1>&2

# ---- paths and settings ------------------------------------------------------------------------
# shellcheck disable=SC2034 # every step sees every path; each step uses only some of them
{
  readonly SYSROOT="${KUBEADM_AWS_ROOT:-}"
  readonly STATE_DIR="${SYSROOT}/var/lib/kubeadm-aws"
  readonly RUN_DIR="${SYSROOT}/run/kubeadm-aws"
  readonly KUBE_DIR="${SYSROOT}/etc/kubernetes"
  readonly PKI_DIR="${KUBE_DIR}/pki"
  readonly KUBEADM_DIR="${KUBE_DIR}/kubeadm"
  readonly ADMIN_CONF="${KUBE_DIR}/admin.conf"
  readonly KUBELET_CONF="${KUBE_DIR}/kubelet.conf"
  readonly ROOT_KUBECONFIG="${SYSROOT}/root/.kube/config"
  readonly HOSTS_FILE="${SYSROOT}/etc/hosts"
  # Debian's cloud images regenerate /etc/hosts from this template at boot (manage_etc_hosts).
  readonly CLOUD_HOSTS_TEMPLATE="${SYSROOT}/etc/cloud/templates/hosts.debian.tmpl"
  readonly CNI_NET_DIR="${SYSROOT}/etc/cni/net.d"
  readonly HOSTS_MARKER="# kubeadm-aws"
  readonly POLL_SECONDS="${KUBEADM_AWS_POLL_SECONDS:-3}"
  readonly BUNDLE_READ_TIMEOUT_SECONDS=120
  DEFAULT_UMASK="$(umask)"
  readonly DEFAULT_UMASK
}
# The program's kubeconfig, read from stdin into a private tmpfs file by use_cluster_credentials
# (lib-kubeadm.sh) in the steps that run on the bastion; kubectl_admin and the diagnostics use it.
CLUSTER_KUBECONFIG=""

# ---- logging -----------------------------------------------------------------------------------
# Prints one timestamped log line to stderr: LEVEL MESSAGE...
log_line() {
  local level="$1" ts
  shift
  printf -v ts '%(%Y-%m-%dT%H:%M:%S%z)T' -1
  printf '%s [%s] [%s] %s\n' "$ts" "$level" "$STEP" "$*" >&2
}
info() { log_line INFO "$@"; }
warn() { log_line WARN "$@"; }
error() { log_line ERROR "$@"; }
# Logs an error and stops the step.
fatal() {
  log_line ERROR "$@"
  exit 1
}

# Prints one line of data on the step's real stdout.
emit_line() { printf '%s\n' "$1" >&3; }
# Prints a file's content on the step's real stdout.
emit_file() { cat -- "$1" >&3; }

# ---- failure handling --------------------------------------------------------------------------
# Dumps what usually explains a failed bootstrap step. Every probe is guarded, so a missing tool or
# an unreachable API server does not hide the rest. A step may define step_diagnostics to add more.
dump_diagnostics() {
  local conditions kubeconfig
  if [[ -n "${DIAGNOSTICS_DUMPED:-}" ]]; then
    return 0
  fi
  DIAGNOSTICS_DUMPED=1
  warn "---- diagnostics for step ${STEP} ----"
  if declare -F step_diagnostics >/dev/null; then
    step_diagnostics || true
  fi
  # On the bastion (a step with the program's kubeconfig) there is no kubelet and no container
  # runtime to ask; on a node, a control plane's own admin.conf reaches the API once init wrote it.
  kubeconfig="${CLUSTER_KUBECONFIG:-$ADMIN_CONF}"
  if [[ -z "$CLUSTER_KUBECONFIG" ]] && have journalctl; then
    warn "kubelet journal (last 40 lines):"
    timeout 20 journalctl -u kubelet --no-pager -n 40 2>&1 || true
  fi
  if [[ -z "$CLUSTER_KUBECONFIG" ]] && have crictl; then
    warn "containers (crictl ps -a):"
    timeout 20 crictl ps -a 2>&1 || true
  fi
  if have kubectl && [[ -f "$kubeconfig" ]]; then
    warn "nodes (kubectl get nodes -o wide):"
    KUBECONFIG="$kubeconfig" timeout 20 kubectl --request-timeout=10s get nodes -o wide 2>&1 || true
    warn "node conditions:"
    conditions='{range .items[*]}{.metadata.name}{":\n"}{range .status.conditions[*]}'
    conditions+='{"  "}{.type}{"="}{.status}{" "}{.reason}{": "}{.message}{"\n"}{end}{end}'
    KUBECONFIG="$kubeconfig" timeout 20 kubectl --request-timeout=10s get nodes \
      -o jsonpath="$conditions" 2>&1 || true
  fi
  warn "---- end of diagnostics ----"
}

# ERR trap: names the failing line of the rendered script (kept in /var/lib/kubeadm-aws/steps).
on_error() {
  local rc="$1" line="$2" command="$3" stack="" i
  for ((i = 1; i < ${#FUNCNAME[@]} - 1; i++)); do
    stack+="${stack:+; }${FUNCNAME[i]} called at line ${BASH_LINENO[i]}"
  done
  error "step ${STEP} failed (exit ${rc}) at line ${line} of the rendered script${stack:+ (${stack})}: ${command}"
  if ((BASH_SUBSHELL == 0)); then
    dump_diagnostics
  fi
  exit "$rc"
}
trap 'on_error "$?" "$LINENO" "$BASH_COMMAND"' ERR

CLEANUP_PATHS=()
# Removes the paths registered with remove_on_exit.
on_exit() {
  local path
  for path in "${CLEANUP_PATHS[@]}"; do
    rm -rf -- "$path"
  done
}
trap on_exit EXIT
# Registers a path to delete when the step exits, whatever the outcome.
remove_on_exit() { CLEANUP_PATHS+=("$1"); }

# ---- small helpers -----------------------------------------------------------------------------
# True when a command is on PATH.
have() { command -v "$1" >/dev/null 2>&1; }

# Stops unless the step runs as root (always true under `sudo -n bash`; skipped in a test sandbox).
require_root() {
  if [[ -z "$SYSROOT" && "$EUID" -ne 0 ]]; then
    fatal "must run as root (the step is started with sudo -n bash)"
  fi
}

# Checks that a value is a positive integer: NAME VALUE.
require_number() {
  if [[ ! "$2" =~ ^[0-9]+$ ]] || (("$2" < 1)); then
    fatal "$1 must be a positive whole number (got '$2')"
  fi
}

# Makes a private temporary directory under /run/kubeadm-aws (tmpfs), removed when the step
# exits, and stores its path in the variable named VAR: make_private_dir VAR. (Not `$(...)`: a
# command substitution is a subshell, where registering the cleanup would be lost.)
make_private_dir() {
  local private_dir_path
  if [[ ! -d "$RUN_DIR" ]]; then
    install -d -m 0700 -- "$RUN_DIR" || fatal "cannot create ${RUN_DIR}"
  fi
  private_dir_path="$(mktemp -d "${RUN_DIR}/${STEP}.XXXXXX")" ||
    fatal "cannot create a directory in ${RUN_DIR}"
  remove_on_exit "$private_dir_path"
  printf -v "$1" '%s' "$private_dir_path"
}

# ---- retries and waits -------------------------------------------------------------------------
# Runs a command up to ATTEMPTS times, DELAY seconds apart, logging each failure:
#   retry ATTEMPTS DELAY -- command...
# The command runs in a condition, where bash ignores `set -e`: a shell function passed here must
# check its own steps (`|| return 1`).
retry() {
  local attempts="$1" delay="${KUBEADM_AWS_RETRY_DELAY_SECONDS:-$2}" n=1 rc
  shift 2
  if [[ "${1:-}" == "--" ]]; then
    shift
  fi
  while true; do
    rc=0
    "$@" || rc=$?
    if ((rc == 0)); then
      return 0
    fi
    if ((n >= attempts)); then
      error "giving up after ${n} attempts (exit ${rc}): $*"
      return "$rc"
    fi
    warn "attempt ${n}/${attempts} failed (exit ${rc}): $*; retrying in ${delay}s"
    sleep "$delay"
    n=$((n + 1))
  done
}

# Polls a command every KUBEADM_AWS_POLL_SECONDS until it succeeds; after TIMEOUT seconds it logs
# the command's last output and returns 1 (a bare call then stops the step with diagnostics):
#   wait_for [--changes] TIMEOUT DESCRIPTION -- command...
# The command's output is captured, never printed on stdout; each probe must bound itself. With
# --changes the output is a state (one stable line, e.g. "does not resolve yet"), logged whenever
# it differs from the previous check's: each state change once, not every poll.
wait_for() {
  local changes="" timeout what start="$SECONDS" out="" last="" next_note
  if [[ "${1:-}" == "--changes" ]]; then
    changes=1
    shift
  fi
  timeout="$1"
  what="$2"
  shift 2
  if [[ "${1:-}" == "--" ]]; then
    shift
  fi
  next_note=$((SECONDS + 30))
  info "waiting up to ${timeout}s for ${what}"
  while true; do
    if out="$("$@" 2>&1)"; then
      info "${what}: ready after $((SECONDS - start))s"
      return 0
    fi
    if [[ -n "$changes" && -n "$out" && "$out" != "$last" ]]; then
      info "${what}: ${out}"
      last="$out"
    fi
    if ((SECONDS - start >= timeout)); then
      error "timed out after ${timeout}s waiting for ${what}"
      if [[ -n "$out" ]]; then
        error "the last check said:"
        printf '%s\n' "$out" | tail -n 20 >&2
      fi
      return 1
    fi
    if ((SECONDS >= next_note)); then
      info "still waiting for ${what} ($((SECONDS - start))s so far)"
      next_note=$((SECONDS + 30))
    fi
    sleep "$POLL_SECONDS"
  done
}

# ---- files -------------------------------------------------------------------------------------
# Writes stdin to PATH with MODE atomically, only if content or mode differ:
#   write_file_if_changed PATH MODE <content
# Returns 0 when it wrote the file, 1 when the file was already so; stops the step on an error.
# Call it with a redirection or a here-string, not at the end of a pipe (a pipe runs it in a
# subshell, where stopping the step is impossible). The temporary file is created with the final
# read/write bits, so a secret is never readable by others, not even for a moment. (No mktemp:
# forks are the slow part of these scripts; the name is unique per process and attempt.)
write_file_if_changed() {
  local path="$1" mode="$2" dir tmp file_umask
  dir="${path%/*}"
  if [[ -n "$dir" && ! -d "$dir" ]]; then
    mkdir -p -- "$dir" || fatal "cannot create ${dir}"
  fi
  tmp="${dir}/.kubeadm-aws.${BASHPID}.${RANDOM}"
  # Create the file with its final read/write bits (0600 for a secret); only execute bits need chmod.
  printf -v file_umask '%03o' $((8#777 & ~8#${mode#0}))
  umask "$file_umask"
  if ! cat >"$tmp"; then
    umask "$DEFAULT_UMASK"
    rm -f -- "$tmp"
    fatal "cannot write ${path}"
  fi
  umask "$DEFAULT_UMASK"
  if [[ -f "$path" ]] && cmp -s -- "$tmp" "$path" &&
    [[ "$(stat -c '%a' -- "$path")" == "${mode#0}" ]]; then
    rm -f -- "$tmp"
    return 1
  fi
  if ((8#${mode#0} & 8#111)) && ! chmod "$mode" -- "$tmp"; then
    rm -f -- "$tmp"
    fatal "cannot set mode ${mode} on ${path}"
  fi
  if ! mv -f -- "$tmp" "$path"; then
    rm -f -- "$tmp"
    fatal "cannot install ${path}"
  fi
  return 0
}

# Makes a directory (and its parents) and sets its mode: ensure_dir PATH MODE.
ensure_dir() {
  install -d -m "$2" -- "$1"
}

# Maps HOST to IP with one managed line (marked "# kubeadm-aws") in /etc/hosts, replacing this
# helper's previous line for HOST. Also updates Debian's cloud-init hosts template when present,
# so the mapping survives a reboot that regenerates /etc/hosts.
set_hosts_entry() {
  if [[ ! "$2" =~ ^[0-9A-Fa-f:.]+$ ]]; then
    fatal "not a valid IP address for /etc/hosts: '$2'"
  fi
  rewrite_hosts_entry "$1" "$2"
}

# Removes the managed line for HOST (set_hosts_entry's) from /etc/hosts and the cloud-init
# template, so that HOST resolves through DNS again: clear_hosts_entry HOST.
clear_hosts_entry() { rewrite_hosts_entry "$1" ""; }

# Drops the managed line for HOST, then appends "IP HOST # kubeadm-aws" unless IP is empty; writes
# only what changed: rewrite_hosts_entry HOST IP.
rewrite_hosts_entry() {
  local host="$1" ip="$2" file content mode
  if [[ ! "$host" =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]]; then
    fatal "not a valid host name for /etc/hosts: '${host}'"
  fi
  for file in "$HOSTS_FILE" "$CLOUD_HOSTS_TEMPLATE"; do
    if [[ ! -f "$file" ]] && [[ "$file" == "$CLOUD_HOSTS_TEMPLATE" || -z "$ip" ]]; then
      continue
    fi
    # Nothing to remove: leave the file alone (byte for byte).
    if [[ -z "$ip" ]] && ! grep -qF " ${host} ${HOSTS_MARKER}" -- "$file"; then
      continue
    fi
    content=""
    mode=644
    if [[ -f "$file" ]]; then
      mode="$(stat -c '%a' -- "$file")"
      content="$(awk -v host="$host" -v marker="$HOSTS_MARKER" '
        { managed = (length($0) >= length(marker) &&
                     substr($0, length($0) - length(marker) + 1) == marker) }
        !(managed && $2 == host)' "$file")"
    fi
    if [[ -n "$ip" && -n "$content" ]]; then
      content+=$'\n'
    fi
    if [[ -n "$ip" ]]; then
      content+="${ip} ${host} ${HOSTS_MARKER}"
    fi
    if write_file_if_changed "$file" "$mode" <<<"$content"; then
      if [[ -n "$ip" ]]; then
        info "mapped ${host} to ${ip} in ${file}"
      else
        info "removed the mapping of ${host} from ${file}"
      fi
    fi
  done
}

# Downloads URL to FILE (curl, bounded, five attempts).
download() {
  retry 5 5 -- curl -fsSL --connect-timeout 10 --max-time 300 -o "$2" "$1"
}

# ---- secrets on stdin --------------------------------------------------------------------------
# Reads the secret bundle (lines `name base64(value)`, see renderSecretBundle) from stdin into
# 0600 files under DIR (created 0700). Names are relative paths; `..` and absolute paths are
# refused. Values are never logged: only the names are.
read_secret_bundle() {
  local dir="$1" name value rc names=()
  install -d -m 0700 -- "$dir" || fatal "cannot create ${dir}"
  umask 077 # every file and directory below is private; restored after the loop
  while true; do
    name=""
    value=""
    rc=0
    IFS=' ' read -r -t "$BUNDLE_READ_TIMEOUT_SECONDS" name value || rc=$?
    if ((rc > 128)); then
      fatal "timed out after ${BUNDLE_READ_TIMEOUT_SECONDS}s reading the secret bundle on stdin"
    fi
    if ((rc != 0)) && [[ -z "$name" ]]; then
      break
    fi
    if [[ -n "$name" ]]; then
      if [[ ! "$name" =~ ^[a-z0-9][a-z0-9._/-]*$ || "$name" == *..* || "$name" == */ ]]; then
        fatal "refusing secret bundle entry with an unsafe name: '${name}'"
      fi
      if [[ ! "$value" =~ ^[A-Za-z0-9+/]*={0,2}$ ]]; then
        fatal "secret bundle entry '${name}' is not base64"
      fi
      if [[ "$name" == */* && ! -d "${dir}/${name%/*}" ]]; then
        mkdir -p -- "${dir}/${name%/*}" || fatal "cannot create a directory for ${name}"
      fi
      if ! base64 -d <<<"$value" >"${dir}/${name}" 2>/dev/null; then
        fatal "secret bundle entry '${name}' is not valid base64"
      fi
      names+=("$name")
    fi
    if ((rc != 0)); then
      break
    fi
  done
  umask "$DEFAULT_UMASK"
  info "read ${#names[@]} secret(s) from stdin: ${names[*]:-none}"
}

# Stops unless the bundle in DIR has entry NAME: require_secret DIR NAME.
require_secret() {
  if [[ ! -s "$1/$2" ]]; then
    fatal "the secret bundle on stdin has no '$2' entry (the Pulumi program passes it as stdin)"
  fi
}

# Prints a secret read from the bundle with surrounding whitespace removed: secret_value DIR NAME.
secret_value() {
  local value
  value="$(<"$1/$2")"
  value="${value#"${value%%[![:space:]]*}"}"
  printf '%s' "${value%"${value##*[![:space:]]}"}"
}

# Replaces values that must never reach a log (certificate keys, bootstrap tokens) in a stream.
redact_secrets() {
  sed -E -e 's/[0-9A-Fa-f]{64}/<redacted>/g' \
    -e 's/\b[a-z0-9]{6}\.[a-z0-9]{16}\b/<redacted-token>/g'
}

# Runs a command with its stdout and stderr redacted onto stderr and into LOGFILE; returns the
# command's own exit status: run_redacted LOGFILE command...
run_redacted() {
  local log="$1"
  shift
  if "$@" 2>&1 | redact_secrets | tee "$log" >&2; then
    return 0
  else
    return "${PIPESTATUS[0]}"
  fi
}

# ---- systemd -----------------------------------------------------------------------------------
# Makes units enabled and running; restarts them when CHANGED is non-empty (their configuration
# changed): converge_units CHANGED UNIT...
converge_units() {
  local changed="$1" unit
  shift
  for unit in "$@"; do
    if ! systemctl is-enabled --quiet "$unit" 2>/dev/null; then
      systemctl enable "$unit"
    fi
    if [[ -n "$changed" ]]; then
      info "restarting ${unit} (its configuration changed)"
      systemctl restart "$unit"
    elif ! systemctl is-active --quiet "$unit"; then
      info "starting ${unit}"
      systemctl start "$unit"
    fi
  done
}

# Sanity checks on the environment itself.
if [[ -n "$SYSROOT" && ( "$SYSROOT" != /* || ! -d "$SYSROOT" ) ]]; then
  fatal "KUBEADM_AWS_ROOT must be an existing absolute directory (got '${SYSROOT}')"
fi

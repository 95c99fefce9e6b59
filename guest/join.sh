#!/usr/bin/env bash
# join: `kubeadm join` of a control-plane or worker node, with the bootstrap token (and the
# certificate key) from stdin. Guarded: a node with /etc/kubernetes/kubelet.conf has joined already.
# A failed join is reset and retried once; a token problem prints how to get a fresh token.
# A worker waits for the endpoint through the VPC's DNS and the internal load balancer, logging each
# state change once, and explains what it found when it gives up.
# A control plane then maps the endpoint to itself and recreates its kube-proxy pod if that pod
# still holds the join-time copy of /etc/hosts (also on a re-run, so a failure in between heals).
#
# Parameters (rendered header)
#   ROLE                     control-plane | worker
#   JOIN_CONFIG              the JoinConfiguration with __BOOTSTRAP_TOKEN__ (and, for a control
#                            plane, __CERTIFICATE_KEY__) placeholders
#   CRI_SOCKET               e.g. unix:///run/containerd/containerd.sock (for kubeadm reset)
#   API_ENDPOINT_HOST        host of controlPlaneEndpoint: the fixed private name
#                            api.<cluster>.k8s.internal, a Route 53 private-zone alias of the
#                            internal load balancer (a worker resolves it through the VPC's DNS)
#   API_ENDPOINT_PORT        its port, normally 6443
#   BOOTSTRAP_API_IP         private IP of the first control-plane node; a joining control plane
#                            maps API_ENDPOINT_HOST there until its own API server runs
#   KUBEADM_TIMEOUT_SECONDS  bound on each kubeadm join attempt
#   NODE_NAME                this node's Kubernetes name (its private DNS name), to find its
#                            kube-proxy pod
# Stdin: the secret bundle (`name base64` lines): token, and certificate-key for a control plane.
# Stdout: nothing. kubeadm's output goes to stderr with tokens and keys redacted.

readonly JOIN_CONFIG_FILE="${KUBEADM_DIR}/join.yaml"
readonly READYZ_WAIT_SECONDS="${KUBEADM_AWS_READYZ_WAIT_SECONDS:-600}"
# Bound on the wait for a recreated kube-proxy pod (a 30 s grace period, then an image already
# pulled by prepare); the environment variable is for tests.
readonly KUBE_PROXY_WAIT_SECONDS="${KUBEADM_AWS_KUBE_PROXY_WAIT_SECONDS:-300}"
readonly KUBELET_PODS_DIR="${SYSROOT}/var/lib/kubelet/pods"
# Set once the kube-proxy check starts, so that only its failures add its diagnostics.
KUBE_PROXY_CHECK=""

readonly READYZ_URL="https://${API_ENDPOINT_HOST}:${API_ENDPOINT_PORT}/readyz"
readonly RESOLV_CONF="${SYSROOT}/etc/resolv.conf"
# systemd-resolved's list of the upstream servers behind its 127.0.0.53 stub.
readonly RESOLVED_UPSTREAM_CONF="${SYSROOT}/run/systemd/resolve/resolv.conf"

# True when the API server behind the endpoint answers /readyz (401/403 also prove it is up).
endpoint_ready() {
  local url="https://${API_ENDPOINT_HOST}:${API_ENDPOINT_PORT}/readyz" code
  code="$(curl -ks -o /dev/null -w '%{http_code}' --connect-timeout 5 --max-time 10 "$url")" || true
  case "$code" in
    200 | 401 | 403) return 0 ;;
  esac
  echo "${url} answered ${code:-nothing}"
  return 1
}

# ---- the API endpoint as a worker reaches it ---------------------------------------------------
# A worker resolves API_ENDPOINT_HOST through the VPC's DNS (the Route 53 private hosted zone) and
# reaches the internal load balancer, which turns healthy only some time after the first control
# plane is up. So the wait reports what it sees, once per change: the name does not resolve yet,
# it resolves but /readyz does not answer (and how curl failed), ready. When it gives up, it
# explains: resolution, TCP and TLS through the name and to each address, the resolver, and what
# to check in AWS.

# Prints the addresses API_ENDPOINT_HOST resolves to on this node (getent ahosts: /etc/hosts, then
# DNS, as every program here resolves it), comma-separated; fails when it does not resolve.
resolved_addresses() {
  local answer
  answer="$(timeout 10 getent ahosts "$API_ENDPOINT_HOST" 2>/dev/null)" || return 1
  awk '!seen[$1]++ { printf "%s%s", sep, $1; sep = ", " } END { if (!NR) exit 1 }' <<<"$answer"
}

# What a curl exit status says about the TCP connection and the TLS request: curl_meaning RC.
curl_meaning() {
  case "$1" in
    0) echo "TCP and TLS fine" ;;
    6) echo "curl cannot resolve the name" ;;
    7) echo "no TCP connection: refused, or no route" ;;
    28) echo "timed out: no TCP answer within 5s or no HTTP answer within 10s (dropped packets?)" ;;
    35) echo "TCP connected, the TLS handshake failed" ;;
    52) echo "TCP and TLS connected, the server closed without an answer" ;;
    56) echo "TCP connected, then the connection was reset" ;;
    *) echo "see EXIT CODES in man curl" ;;
  esac
}

# One bounded GET /readyz (extra curl options, e.g. --resolve, first). Sets REQ_RC (curl's exit
# status), REQ_ERROR (its error message), REQ_HTTP (the status, 000 without an answer), REQ_IP (the
# address it connected to) and REQ_TCP, REQ_TLS (seconds until TCP connected and TLS was done).
readyz_request() {
  local err="${dir}/curl.err" out=""
  REQ_RC=0
  out="$(curl -ksS -o /dev/null --connect-timeout 5 --max-time 10 \
    -w '%{http_code}|%{remote_ip}|%{time_connect}|%{time_appconnect}' "$@" "$READYZ_URL" 2>"$err")" ||
    REQ_RC=$?
  IFS='|' read -r REQ_HTTP REQ_IP REQ_TCP REQ_TLS <<<"$out" || true
  REQ_HTTP="${REQ_HTTP:-000}"
  REQ_ERROR="$(tr -s '\n' ' ' <"$err" 2>/dev/null)" || REQ_ERROR=""
  REQ_ERROR="${REQ_ERROR% }"
}

# The wait's check on a worker: true when /readyz answers 200, 401 or 403; otherwise prints the
# state in one line that changes only when the state does (wait_for --changes logs each once).
worker_endpoint_ready() {
  local addresses
  if ! addresses="$(resolved_addresses)"; then
    echo "${API_ENDPOINT_HOST} does not resolve yet"
    return 1
  fi
  readyz_request
  case "$REQ_HTTP" in
    200 | 401 | 403) return 0 ;;
  esac
  if ((REQ_RC != 0)); then
    echo "${API_ENDPOINT_HOST} resolves to ${addresses}; /readyz answers ${REQ_HTTP}" \
      "(curl exit ${REQ_RC}: $(curl_meaning "$REQ_RC"))"
  else
    echo "${API_ENDPOINT_HOST} resolves to ${addresses}; /readyz answers ${REQ_HTTP}" \
      "(an API server answers but is not ready)"
  fi
  return 1
}

# Logs the last readyz_request: describe_request LABEL.
describe_request() {
  local tcp="no TCP connection" tls="no TLS session"
  case "$REQ_RC" in
    0 | 35 | 52 | 56) tcp="TCP connected to ${REQ_IP:-?}:${API_ENDPOINT_PORT}" ;;
    28) if [[ "${REQ_TCP:-0}" =~ [1-9] ]]; then tcp="TCP connected to ${REQ_IP:-?}:${API_ENDPOINT_PORT}"; fi ;;
  esac
  case "$REQ_RC" in
    0 | 52) tls="TLS handshake done" ;;
    35) tls="TLS handshake failed" ;;
  esac
  warn "  $1: curl exit ${REQ_RC} ($(curl_meaning "$REQ_RC")); ${tcp}; ${tls}; HTTP ${REQ_HTTP}" \
    "(connect ${REQ_TCP:-0}s, TLS ${REQ_TLS:-0}s)${REQ_ERROR:+; curl said: ${REQ_ERROR}}"
}

# Prints the nameserver lines of a resolv.conf file, or says there are none: nameservers_of FILE.
nameservers_of() {
  if [[ ! -f "$1" ]]; then
    echo "(no ${1#"$SYSROOT"})"
  elif ! grep -E '^[[:space:]]*nameserver[[:space:]]' "$1"; then
    echo "(no nameserver line in ${1#"$SYSROOT"})"
  fi
}

# What most likely keeps the endpoint from answering: likely_cause ADDRESSES CURL-RC HTTP-STATUS
# (the addresses the name resolves to, and how the request through the name ended).
likely_cause() {
  if [[ -z "$1" ]]; then
    echo "the name does not resolve: check the private hosted zone and its record first"
    return 0
  fi
  case "$2" in
    7) echo "nothing accepts TCP connections on ${API_ENDPOINT_PORT}: no registered or healthy target behind the load balancer, or a rule that rejects them" ;;
    28) echo "connections time out: most often no healthy target, or a security group that drops ${API_ENDPOINT_PORT}/tcp (the control planes' group must allow it from the load balancer's group)" ;;
    35 | 52 | 56) echo "something accepts TCP connections but does not speak TLS like an API server: check what listens on ${API_ENDPOINT_PORT} behind the load balancer" ;;
    0) echo "an API server answers (HTTP $3) but is not ready: look at the first control plane (kubectl get --raw='/readyz?verbose' there)" ;;
    *) echo "curl failed (exit $2); see its message above" ;;
  esac
}

# Why a worker's wait for the endpoint gave up: what the node sees, then what to check in AWS.
explain_unreachable_endpoint() {
  local answer="" rc=0 addresses="" address resolve line n=0 how name_rc name_http
  warn "---- why ${API_ENDPOINT_HOST}:${API_ENDPOINT_PORT} did not answer ----"
  answer="$(timeout 10 getent ahosts "$API_ENDPOINT_HOST" 2>&1)" || rc=$?
  if ((rc == 0)) && [[ -n "$answer" ]]; then
    addresses="$(awk '!seen[$1]++ { print $1 }' <<<"$answer")"
    warn "name resolution: getent ahosts ${API_ENDPOINT_HOST} resolves it to ${addresses//$'\n'/, }" \
      "(its STREAM lines:)"
    while IFS= read -r line; do
      [[ "$line" != *" STREAM"* ]] || warn "  ${line}"
    done <<<"$answer"
  else
    how="not found"
    ((rc != 124)) || how="timed out after 10s"
    warn "name resolution: getent ahosts ${API_ENDPOINT_HOST} finds no address (exit ${rc}, ${how}):" \
      "the name does not resolve on this node. The Route 53 private hosted zone that holds it is not" \
      "associated with this node's VPC, or the zone has no record ${API_ENDPOINT_HOST}."
  fi
  warn "TCP connection and TLS request (GET ${READYZ_URL}, without certificate checks):"
  readyz_request
  describe_request "through the name"
  name_rc="$REQ_RC"
  name_http="$REQ_HTTP"
  while IFS= read -r address; do
    [[ -n "$address" ]] || continue
    n=$((n + 1))
    if ((n > 4)); then
      warn "  (further addresses not probed)"
      break
    fi
    resolve="$address"
    [[ "$address" != *:* ]] || resolve="[${address}]"
    readyz_request --resolve "${API_ENDPOINT_HOST}:${API_ENDPOINT_PORT}:${resolve}"
    describe_request "to ${address}"
  done <<<"$addresses"
  warn "resolver: the nameserver lines of ${RESOLV_CONF#"$SYSROOT"}:"
  while IFS= read -r line; do
    warn "  ${line}"
  done < <(nameservers_of "$RESOLV_CONF")
  if [[ -f "$RESOLVED_UPSTREAM_CONF" ]] &&
    grep -Eq '^[[:space:]]*nameserver[[:space:]]+127\.0\.0\.53' "$RESOLV_CONF" 2>/dev/null; then
    warn "  behind systemd-resolved's stub, ${RESOLVED_UPSTREAM_CONF#"$SYSROOT"} (normally the VPC" \
      "resolver: the VPC CIDR's base address + 2, or 169.254.169.253):"
    while IFS= read -r line; do
      warn "    ${line}"
    done < <(nameservers_of "$RESOLVED_UPSTREAM_CONF")
  fi
  warn "likely cause: $(likely_cause "$addresses" "$name_rc" "$name_http")"
  warn "what to check in AWS:"
  warn "  - the internal load balancer's target group for port ${API_ENDPOINT_PORT}: are the control-plane" \
    "nodes registered and healthy? (EC2 console > Target groups > Targets, or" \
    "\`aws elbv2 describe-target-health --target-group-arn <ARN>\`)"
  warn "  - the control-plane security group allows ${API_ENDPOINT_PORT}/tcp from the load balancer's" \
    "security group (the health checks and the forwarded connections come from it)"
  warn "  - the Route 53 private hosted zone is associated with this VPC and has an alias record" \
    "${API_ENDPOINT_HOST} for the internal load balancer" \
    "(\`aws route53 list-hosted-zones-by-vpc --vpc-id <VPC> --vpc-region <REGION>\`)"
  warn "  - the first control plane's API server is up: on it," \
    "\`curl -k https://127.0.0.1:${API_ENDPOINT_PORT}/readyz\`"
  warn "---- end of the endpoint diagnostics ----"
}

# Waits for the API server through the endpoint as a worker reaches it, or explains and stops.
wait_for_endpoint_as_worker() {
  if ! wait_for --changes "$READYZ_WAIT_SECONDS" "the API server at ${API_ENDPOINT_HOST}:${API_ENDPOINT_PORT}" \
    -- worker_endpoint_ready; then
    explain_unreachable_endpoint
    fatal "the API endpoint did not answer within ${READYZ_WAIT_SECONDS}s (diagnostics above); this" \
      "node has not joined; re-running this step waits again"
  fi
}

# Writes the JoinConfiguration with the secrets filled in (0600: it holds them).
write_join_config() {
  local token="$1" key="$2" config
  [[ "$JOIN_CONFIG" == *__BOOTSTRAP_TOKEN__* ]] || fatal "JOIN_CONFIG has no __BOOTSTRAP_TOKEN__ placeholder"
  config="${JOIN_CONFIG//__BOOTSTRAP_TOKEN__/$token}"
  if [[ "$ROLE" == control-plane ]]; then
    [[ "$config" == *__CERTIFICATE_KEY__* ]] ||
      fatal "JOIN_CONFIG of a control-plane node has no __CERTIFICATE_KEY__ placeholder"
    config="${config//__CERTIFICATE_KEY__/$key}"
  elif [[ "$config" == *__CERTIFICATE_KEY__* ]]; then
    fatal "JOIN_CONFIG of a worker has a __CERTIFICATE_KEY__ placeholder (only control planes use one)"
  fi
  ensure_dir "$KUBEADM_DIR" 0700
  if write_file_if_changed "$JOIN_CONFIG_FILE" 0600 <<<"${config%$'\n'}"; then
    info "wrote ${JOIN_CONFIG_FILE}"
  fi
}

# One bounded `kubeadm join` attempt; its exit status is kubeadm's (124 on timeout).
kubeadm_join_once() {
  info "running kubeadm join as a ${ROLE} (timeout ${KUBEADM_TIMEOUT_SECONDS}s)"
  run_redacted "$1" timeout -k 30 "$KUBEADM_TIMEOUT_SECONDS" kubeadm join --config "$JOIN_CONFIG_FILE"
}

# After a failure: if kubeadm's output in LOG points at the bootstrap token, says where it came from.
explain_token_failure() {
  if grep -Eiq 'JWS signature|token id|bootstrap token|token.*(invalid|expired|not found)|unauthorized' "$1"; then
    error "the failure looks like an invalid or expired bootstrap token. The token came from this node's" \
      "creds step on the first control-plane node; \`pulumi up --replace <URN of that creds command>\`" \
      "creates a fresh one (tokens live TOKEN_TTL; uploaded certificates 2 hours)."
  fi
}

# Hooks for kubeadm_with_one_retry; they read main's locals (bash scopes dynamically).
join_attempt() { kubeadm_join_once "${dir}/kubeadm-join.log"; }
explain_join_failure() { explain_token_failure "${dir}/kubeadm-join.log"; }

# ---- kube-proxy's copy of /etc/hosts -----------------------------------------------------------
# kube-proxy runs in the host network namespace, and for such pods the kubelet copies the node's
# /etc/hosts into the pod (KUBELET_PODS_DIR/<uid>/etc-hosts) once, when the pod starts; container
# restarts keep that copy. kube-proxy reaches the API through controlPlaneEndpoint (the kubeconfig
# in the kube-proxy ConfigMap), so a kube-proxy that started while this node joined keeps
# API_ENDPOINT_HOST -> BOOTSTRAP_API_IP and loses the API when the first control plane goes.
# (Flannel and Calico use the in-cluster service address, so only kube-proxy needs this.)

# kubectl in kube-system as cluster admin, through this node's own admin.conf: every request is
# bounded, and so is the whole call (discovery can add requests).
kube_system_kubectl() {
  KUBECONFIG="$ADMIN_CONF" timeout -k 5 45 kubectl --request-timeout=15s -n kube-system "$@"
}

# Prints "uid name phase", one line per kube-proxy pod on this node.
list_kube_proxy_pods() {
  kube_system_kubectl get pods -l k8s-app=kube-proxy --field-selector "spec.nodeName=${NODE_NAME}" \
    -o jsonpath='{range .items[*]}{.metadata.uid}{" "}{.metadata.name}{" "}{.status.phase}{"\n"}{end}'
}

# Prints the address that pod UID's copy of /etc/hosts gives API_ENDPOINT_HOST: the first line
# naming it wins, as in the resolver; "none" when no line does; nothing when the pod has no copy
# yet (its first container has not started) or UID is not a UID (no path outside the pods dir).
hosts_copy_address() {
  local file="${KUBELET_PODS_DIR}/$1/etc-hosts"
  if [[ ! "$1" =~ ^[0-9a-f-]+$ || ! -f "$file" ]]; then
    return 0
  fi
  awk -v host="${API_ENDPOINT_HOST,,}" '
    { sub(/#.*/, "") }
    NF >= 2 { for (i = 2; i <= NF; i++) if (tolower($i) == host) { print $1; found = 1; exit } }
    END { if (!found) print "none" }' "$file"
}

# True when a kube-proxy pod on this node is Running with a copy of /etc/hosts that maps
# API_ENDPOINT_HOST to 127.0.0.1; otherwise prints every pod's state (wait_for shows the last).
kube_proxy_settled() {
  local listing uid name phase address
  listing="$(list_kube_proxy_pods)" || return 1
  if [[ -z "$listing" ]]; then
    echo "no kube-proxy pod on ${NODE_NAME} yet"
    return 1
  fi
  while read -r uid name phase; do
    [[ -n "$uid" ]] || continue
    address="$(hosts_copy_address "$uid")"
    if [[ "$phase" == Running && "$address" == 127.0.0.1 ]]; then
      return 0
    fi
    echo "${name} (uid ${uid}): ${phase:-no phase yet}, ${API_ENDPOINT_HOST} -> ${address:-no hosts copy yet}"
  done <<<"$listing"
  return 1
}

# Called by dump_diagnostics (which adds the kubelet journal, the containers and the nodes) once
# the kube-proxy check has started: the pods with their hosts copies, the DaemonSet, its events.
step_diagnostics() {
  local listing uid name phase address
  [[ -n "$KUBE_PROXY_CHECK" ]] || return 0
  warn "kube-proxy pods on ${NODE_NAME}:"
  kube_system_kubectl get pods -l k8s-app=kube-proxy --field-selector "spec.nodeName=${NODE_NAME}" \
    -o wide 2>&1 || true
  if listing="$(list_kube_proxy_pods 2>&1)"; then
    while read -r uid name phase; do
      [[ -n "$uid" ]] || continue
      address="$(hosts_copy_address "$uid")"
      warn "  ${name} (${phase:-no phase}): ${KUBELET_PODS_DIR}/${uid}/etc-hosts maps ${API_ENDPOINT_HOST}" \
        "to ${address:-nothing (no copy yet)}"
    done <<<"$listing"
  fi
  warn "the kube-proxy DaemonSet:"
  kube_system_kubectl get daemonset kube-proxy -o wide 2>&1 || true
  warn "recent kube-system events about kube-proxy:"
  kube_system_kubectl get events --sort-by=.lastTimestamp 2>&1 | grep -F kube-proxy | tail -n 20 || true
}

# Makes every kube-proxy pod on this node use a copy of /etc/hosts with API_ENDPOINT_HOST ->
# 127.0.0.1: deletes each pod whose copy says otherwise (the DaemonSet recreates it, and the new
# pod copies the current /etc/hosts), then waits for a Running replacement. Race-free because the
# caller made /etc/hosts final before the pods are listed here: a pod created later, or one whose
# first container has not started yet, copies the final file. (Such a pod is waited for too, to
# catch a kubelet that read /etc/hosts just before the flip.) Deletes nothing when all is right.
# Meanwhile the node keeps the service rules the old kube-proxy wrote; only updates pause.
refresh_kube_proxy_hosts() {
  local listing uid name phase address stale=() starting=""
  if [[ ! -f "$ADMIN_CONF" ]]; then
    warn "${ADMIN_CONF} is missing, so kube-proxy's copy of /etc/hosts cannot be checked; a kube-proxy" \
      "started during the join may still reach the API through ${BOOTSTRAP_API_IP} only"
    return 0
  fi
  KUBE_PROXY_CHECK=1
  # The local API server has only just started (or the node rebooted): retry the first call.
  if ! listing="$(retry 5 3 -- list_kube_proxy_pods)"; then
    dump_diagnostics
    fatal "cannot list the kube-proxy pods on ${NODE_NAME} through this node's API server"
  fi
  while read -r uid name phase; do
    [[ -n "$uid" ]] || continue
    address="$(hosts_copy_address "$uid")"
    case "$address" in
      127.0.0.1) info "kube-proxy pod ${name} already maps ${API_ENDPOINT_HOST} to 127.0.0.1" ;;
      "")
        info "kube-proxy pod ${name} (${phase:-no phase}) has no copy of /etc/hosts yet;" \
          "it will copy the final one"
        starting=1
        ;;
      *)
        info "kube-proxy pod ${name} maps ${API_ENDPOINT_HOST} to ${address}" \
          "(copied before this node used its own API server)"
        stale+=("$name")
        ;;
    esac
  done <<<"$listing"
  if ((${#stale[@]} == 0)) && [[ -z "$starting" ]]; then
    return 0
  fi
  for name in "${stale[@]}"; do
    info "deleting pod ${name}; the kube-proxy DaemonSet recreates it with a fresh copy of /etc/hosts"
    retry 3 5 -- kube_system_kubectl delete pod "$name" --ignore-not-found --wait=false ||
      fatal "cannot delete the kube-proxy pod ${name}"
  done
  if ! wait_for "$KUBE_PROXY_WAIT_SECONDS" \
    "a Running kube-proxy pod on ${NODE_NAME} whose copy of /etc/hosts maps ${API_ENDPOINT_HOST} to 127.0.0.1" \
    -- kube_proxy_settled; then
    dump_diagnostics
    fatal "kube-proxy on ${NODE_NAME} did not come back with the final /etc/hosts within" \
      "${KUBE_PROXY_WAIT_SECONDS}s (diagnostics above); re-running this step retries"
  fi
}

# From now on this node's kubelet, kube-proxy and admin tools use its own API server.
use_own_api_server() {
  set_hosts_entry "$API_ENDPOINT_HOST" 127.0.0.1
  if [[ -f "$ADMIN_CONF" ]]; then
    install_root_kubeconfig
  fi
  refresh_kube_proxy_hosts
}

main() {
  local dir token key=""
  require_root
  [[ "$ROLE" == control-plane || "$ROLE" == worker ]] || fatal "ROLE must be control-plane or worker (got '${ROLE}')"
  require_number KUBEADM_TIMEOUT_SECONDS "$KUBEADM_TIMEOUT_SECONDS"
  require_number API_ENDPOINT_PORT "$API_ENDPOINT_PORT"
  [[ "$NODE_NAME" =~ ^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$ ]] ||
    fatal "NODE_NAME must be a Kubernetes node name (got '${NODE_NAME}')"
  make_private_dir dir
  read_secret_bundle "${dir}/secrets"
  require_secret "${dir}/secrets" token
  token="$(secret_value "${dir}/secrets" token)"
  [[ "$token" =~ ^[a-z0-9]{6}\.[a-z0-9]{16}$ ]] || fatal "the token entry is not a bootstrap token ([a-z0-9]{6}.[a-z0-9]{16})"
  if [[ "$ROLE" == control-plane ]]; then
    require_secret "${dir}/secrets" certificate-key
    key="$(secret_value "${dir}/secrets" certificate-key)"
    [[ "$key" =~ ^[0-9a-fA-F]{64}$ ]] || fatal "the certificate-key entry must be 64 hexadecimal characters"
  fi

  if [[ -f "$KUBELET_CONF" ]]; then
    info "already joined (${KUBELET_CONF} exists); not running kubeadm join again"
    if [[ "$ROLE" == control-plane ]]; then
      # Converges what a failure after the join (or an older version of this step) left behind.
      use_own_api_server
    fi
    return 0
  fi

  if [[ "$ROLE" == control-plane ]]; then
    # Our own API server does not exist yet: reach the first control plane directly.
    set_hosts_entry "$API_ENDPOINT_HOST" "$BOOTSTRAP_API_IP"
    wait_for "$READYZ_WAIT_SECONDS" "the API server at ${API_ENDPOINT_HOST}:${API_ENDPOINT_PORT}" -- endpoint_ready ||
      fatal "the first control plane's API server at ${BOOTSTRAP_API_IP}:${API_ENDPOINT_PORT} did not answer; check that it runs (on it: curl -k https://127.0.0.1:${API_ENDPOINT_PORT}/readyz) and that the control-plane security group allows ${API_ENDPOINT_PORT}/tcp from the nodes' group"
  else
    wait_for_endpoint_as_worker
  fi
  write_join_config "$token" "$key"
  validate_kubeadm_config "$JOIN_CONFIG_FILE"

  kubeadm_with_one_retry join "$KUBEADM_TIMEOUT_SECONDS" "$CRI_SOCKET" join_attempt explain_join_failure true
  [[ -f "$KUBELET_CONF" ]] || fatal "kubeadm join succeeded but ${KUBELET_CONF} is missing"
  if [[ "$ROLE" == control-plane ]]; then
    use_own_api_server
  fi
  ensure_dir "$STATE_DIR" 0700
  write_file_if_changed "${STATE_DIR}/join.done" 0644 <<<"joined as ${ROLE}" || true
  info "joined the cluster as a ${ROLE}"
}

main "$@"

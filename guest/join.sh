#!/usr/bin/env bash
# join: `kubeadm join` of a control-plane or worker node with the discovery credentials the Pulumi
# program minted (no bootstrap token, no certificate key). Every node has this step, cp-0 included:
# on the instance that ran init, and on a node that has joined already, it runs no kubeadm join and
# only converges. A failed join is reset and retried once; a credentials problem says where fresh
# ones come from.
# A worker waits for the endpoint through the VPC's DNS and the internal load balancer, logging each
# state change once, and explains what it found when it gives up.
# A control plane installs the cluster's CA files, joins through the first other control plane that
# answers (by its IP, mapped to the endpoint name in /etc/hosts; the name itself when none answers),
# then maps the endpoint to itself and recreates its kube-proxy pod if that pod still holds the
# join-time copy of /etc/hosts (also on a re-run, so a failure in between heals).
#
# Parameters (rendered header)
#   ROLE                     control-plane | worker
#   JOIN_CONFIG              the JoinConfiguration; discovery.file.kubeConfigPath is the placeholder
#                            __DISCOVERY_FILE__; a control plane's has controlPlane.localAPIEndpoint
#                            and no certificateKey
#   CRI_SOCKET               e.g. unix:///run/containerd/containerd.sock (for kubeadm reset)
#   API_ENDPOINT_HOST        host of controlPlaneEndpoint: the fixed private name
#                            api.<cluster>.k8s.internal, a Route 53 private-zone alias of the
#                            internal load balancer (a worker resolves it through the VPC's DNS)
#   API_ENDPOINT_PORT        its port, normally 6443 (every API server binds it too)
#   CONTROL_PLANE_IPS        array: the private IPs of the OTHER control planes, tried in order by
#                            a joining control plane; empty for a worker (and possibly for a
#                            control plane: then it joins through the name)
#   NODE_NAME                this node's Kubernetes name (its private DNS name), to find its
#                            kube-proxy pod
#   KUBEADM_TIMEOUT_SECONDS  bound on each kubeadm join attempt
# Stdin: the secret bundle (`name base64` lines): discovery.conf, a kubeconfig with the cluster CA,
#   server https://<API_ENDPOINT_HOST>:<API_ENDPOINT_PORT>, a client certificate for
#   system:node:<NODE_NAME> in system:nodes and current-context set; for a control plane also
#   pki/ca.crt pki/ca.key pki/front-proxy-ca.crt pki/front-proxy-ca.key pki/etcd/ca.crt
#   pki/etcd/ca.key pki/sa.key pki/sa.pub. None of it is ever printed.
# Stdout: nothing. kubeadm's output goes to stderr, redacted.
#
# kubeadm facts (what its source says, 1.29-1.35; docs/kubeadm-credentials.md):
# - Without a token, file discovery takes the kubeconfig's client certificate as the node's
#   credential for the whole join, and the kubelet's CSR for its own name is auto-approved.
# - kubeadm join dereferences Contexts[CurrentContext]: the discovery file needs current-context.
# - The discovery file must not be /etc/kubernetes/bootstrap-kubelet.conf: kubeadm writes that file
#   itself and deletes it after the TLS bootstrap. Here it lives in the step's private tmpfs
#   directory, which exists until the step exits, after kubeadm join.
# - A worker must not have /etc/kubernetes/pki/ca.crt before the join: preflight rejects it.
# - A control plane with an empty certificateKey uses the CA files on disk (manual certificate
#   distribution) and signs its own certificates and kubeconfigs from them; admin.conf must not be
#   pre-placed, or kubeadm takes it for the kubelet's bootstrap file.

readonly JOIN_CONFIG_FILE="${KUBEADM_DIR}/join.yaml"
readonly DISCOVERY_PLACEHOLDER=__DISCOVERY_FILE__
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

# Stops early, with the parameter's name, when an input is malformed.
validate_inputs() {
  local ip
  [[ "$ROLE" == control-plane || "$ROLE" == worker ]] || fatal "ROLE must be control-plane or worker (got '${ROLE}')"
  require_number KUBEADM_TIMEOUT_SECONDS "$KUBEADM_TIMEOUT_SECONDS"
  require_number API_ENDPOINT_PORT "$API_ENDPOINT_PORT"
  [[ "$API_ENDPOINT_HOST" =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]] ||
    fatal "API_ENDPOINT_HOST must be a DNS name (got '${API_ENDPOINT_HOST}')"
  [[ "$NODE_NAME" =~ ^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$ ]] ||
    fatal "NODE_NAME must be a Kubernetes node name (got '${NODE_NAME}')"
  for ip in "${CONTROL_PLANE_IPS[@]}"; do
    [[ "$ip" =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] ||
      fatal "CONTROL_PLANE_IPS must hold IPv4 addresses (got '${ip}')"
  done
  if [[ "$ROLE" == worker ]] && ((${#CONTROL_PLANE_IPS[@]} > 0)); then
    fatal "CONTROL_PLANE_IPS must be empty for a worker: a worker reaches the API by its name"
  fi
}

# Stops before anything happens when JOIN_CONFIG does not fit this step: the discovery file
# placeholder, a controlPlane section exactly for a control plane, and no certificateKey (with one,
# kubeadm would download the certificates from a kubeadm-certs Secret that no longer exists).
check_join_config() {
  local control_plane_section=$'(^|\n)controlPlane:' certificate_key=$'(^|\n)[[:space:]]*certificateKey:'
  [[ "$JOIN_CONFIG" == *"$DISCOVERY_PLACEHOLDER"* ]] ||
    fatal "JOIN_CONFIG has no ${DISCOVERY_PLACEHOLDER} placeholder (discovery.file.kubeConfigPath): the join needs the discovery file's path there"
  [[ ! "$JOIN_CONFIG" =~ $certificate_key ]] ||
    fatal "JOIN_CONFIG has a certificateKey: control planes get the CA files on stdin, and no certificates are uploaded"
  if [[ "$ROLE" == control-plane && ! "$JOIN_CONFIG" =~ $control_plane_section ]]; then
    fatal "JOIN_CONFIG of a control plane has no controlPlane section (localAPIEndpoint)"
  fi
  if [[ "$ROLE" == worker && "$JOIN_CONFIG" =~ $control_plane_section ]]; then
    fatal "JOIN_CONFIG of a worker has a controlPlane section"
  fi
}

# Checks the discovery kubeconfig before kubeadm reads it: a current context that names one of its
# contexts, an embedded client certificate and key (without a token, file discovery needs them),
# and the endpoint as its server (the name this step routes: to another control plane or via DNS).
check_discovery_file() {
  local file="$1" server="https://${API_ENDPOINT_HOST}:${API_ENDPOINT_PORT}"
  check_kubeconfig "$file" "discovery.conf on stdin"
  if ! grep -Eq '^[[:space:]]*client-certificate-data:[[:space:]]*[^[:space:]]' -- "$file" ||
    ! grep -Eq '^[[:space:]]*client-key-data:[[:space:]]*[^[:space:]]' -- "$file"; then
    fatal "discovery.conf on stdin has no embedded client certificate and key (client-certificate-data," \
      "client-key-data): the program mints one for system:node:${NODE_NAME}"
  fi
  grep -Eq "^[[:space:]]*server:[[:space:]]*[\"']?${server//./\\.}[\"']?[[:space:]]*$" -- "$file" ||
    fatal "the server of discovery.conf on stdin is not ${server}, the name this step routes to the API"
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
    0) echo "an API server answers (HTTP $3) but is not ready: look at the control planes (kubectl get --raw='/readyz?verbose' from the bastion)" ;;
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
  warn "  - a control plane's API server is up: on one," \
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

# ---- the API as a joining control plane reaches it ---------------------------------------------
# A control plane joins through another control plane, by its private IP mapped to the endpoint
# name in /etc/hosts: it never waits for the internal load balancer (a new target turns healthy only
# after several checks) and does not care which control plane is up, so any of them, cp-0 included,
# can be replaced. With none answering, or none listed, it uses the name itself, as a worker does.

# The wait's check: asks each of CONTROL_PLANE_IPS in turn for /readyz (one bounded request each;
# 401 and 403 also prove an API server) and writes the first that answers to DIR/api-ip (main's
# dir); otherwise prints what each said, in one line (wait_for --changes logs each change once).
answering_control_plane() {
  local ip code answers=""
  for ip in "${CONTROL_PLANE_IPS[@]}"; do
    code="$(curl -ks -o /dev/null -w '%{http_code}' --connect-timeout 5 --max-time 10 \
      "https://${ip}:${API_ENDPOINT_PORT}/readyz")" || true
    case "$code" in
      200 | 401 | 403)
        printf '%s\n' "$ip" >"${dir}/api-ip"
        return 0
        ;;
      "" | 000) code="no answer" ;;
      *) code="HTTP ${code}" ;;
    esac
    answers+="${answers:+; }${ip}: ${code}"
  done
  echo "no other control plane answers /readyz yet (${answers})"
  return 1
}

# Maps API_ENDPOINT_HOST to the first of CONTROL_PLANE_IPS whose API server answers, polling them
# in turn for READYZ_WAIT_SECONDS; with none answering (or none listed) removes any such mapping and
# waits for the name itself, as a worker does (the same bound again, and the same diagnostics).
route_to_answering_control_plane() {
  local ip
  if ((${#CONTROL_PLANE_IPS[@]} == 0)); then
    info "no other control plane is listed; joining through ${API_ENDPOINT_HOST} itself"
  elif wait_for --changes "$READYZ_WAIT_SECONDS" \
    "an API server on another control plane (${CONTROL_PLANE_IPS[*]})" -- answering_control_plane; then
    ip="$(<"${dir}/api-ip")"
    info "joining through the control plane at ${ip}"
    set_hosts_entry "$API_ENDPOINT_HOST" "$ip"
    return 0
  else
    warn "none of the other control planes (${CONTROL_PLANE_IPS[*]}) answered within" \
      "${READYZ_WAIT_SECONDS}s; falling back to ${API_ENDPOINT_HOST} itself (DNS, the internal load balancer)"
  fi
  clear_hosts_entry "$API_ENDPOINT_HOST"
  wait_for_endpoint_as_worker
}

# ---- the join ----------------------------------------------------------------------------------
# Writes the JoinConfiguration with the discovery file's path filled in. It holds no secret, only
# that path (the file is gone once the step exits); 0600 like every kubeadm config here. (kubeadm's
# config validation checks that the discovery file exists: read_secret_bundle wrote it already.)
write_join_config() {
  local discovery="$1" config
  # A plain path: valid in a YAML scalar, quoted or not.
  [[ "$discovery" =~ ^/[A-Za-z0-9/._-]+$ ]] || fatal "unexpected discovery file path '${discovery}'"
  config="${JOIN_CONFIG//"$DISCOVERY_PLACEHOLDER"/$discovery}"
  ensure_dir "$KUBEADM_DIR" 0700
  if write_file_if_changed "$JOIN_CONFIG_FILE" 0600 <<<"${config%$'\n'}"; then
    info "wrote ${JOIN_CONFIG_FILE} (discovery file ${discovery})"
  fi
}

# One bounded `kubeadm join` attempt; its exit status is kubeadm's (124 on timeout).
kubeadm_join_once() {
  info "running kubeadm join as a ${ROLE} (timeout ${KUBEADM_TIMEOUT_SECONDS}s)"
  run_redacted "$1" timeout -k 30 "$KUBEADM_TIMEOUT_SECONDS" kubeadm join --config "$JOIN_CONFIG_FILE"
}

# After a failure: if kubeadm's output in LOG points at the discovery credentials, says where fresh
# ones come from. (Not "forbidden": kubeadm logs that, harmlessly, for cluster-info and kube-proxy.)
explain_discovery_failure() {
  if grep -Eiq 'x509|certificate has expired|unknown authority|unauthorized' "$1"; then
    error "the failure looks like a problem with the discovery credentials in discovery.conf: an expired" \
      "or wrong client certificate (it must be system:node:${NODE_NAME} in system:nodes, signed by this" \
      "cluster's CA). The Pulumi program mints it per instance: issue a fresh one with" \
      "\`pulumi up --replace <URN>\`, the URN of this node's <node>-join-credential LocallySignedCert" \
      "(\`pulumi stack --show-urns | grep join-credential\`)."
  fi
}

# Hooks for kubeadm_with_one_retry; they read main's locals (bash scopes dynamically).
join_attempt() { kubeadm_join_once "${dir}/kubeadm-join.log"; }
explain_join_failure() { explain_discovery_failure "${dir}/kubeadm-join.log"; }
# kubeadm reset deletes /etc/kubernetes/pki: a control plane puts the CA files back, and picks the
# control plane to join through again (the one it used may be the reason the join failed).
prepare_join_retry() {
  if [[ "$ROLE" == control-plane ]]; then
    install_pki "${dir}/secrets"
    route_to_answering_control_plane
  fi
}

# ---- kube-proxy's copy of /etc/hosts -----------------------------------------------------------
# kube-proxy runs in the host network namespace, and for such pods the kubelet copies the node's
# /etc/hosts into the pod (KUBELET_PODS_DIR/<uid>/etc-hosts) once, when the pod starts; container
# restarts keep that copy. kube-proxy reaches the API through controlPlaneEndpoint (the kubeconfig
# in the kube-proxy ConfigMap), so a kube-proxy that started while this node joined keeps
# API_ENDPOINT_HOST -> the control plane it joined through, and loses the API when that one goes.
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
      "started during the join may still reach the API only through the control plane it joined through"
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

# A node that has initialised or joined already: no kubeadm join. A control plane checks that its
# CA is the stack's and converges what a failure after the join (or an older version of this step)
# left behind.
converge_joined_node() {
  if [[ "$ROLE" == control-plane ]]; then
    refuse_other_cluster_ca "${dir}/secrets" "set up"
    use_own_api_server
  fi
}

main() {
  local dir discovery
  require_root
  validate_inputs
  check_join_config
  make_private_dir dir
  read_secret_bundle "${dir}/secrets"
  require_secret "${dir}/secrets" discovery.conf
  if [[ "$ROLE" == control-plane ]]; then
    require_pki_secrets "${dir}/secrets"
  fi

  if [[ -f "$ADMIN_CONF" && -f "$KUBELET_CONF" && -f "${STATE_DIR}/init.done" ]]; then
    info "this instance ran kubeadm init; nothing to join"
    converge_joined_node
    return 0
  fi
  if [[ -f "$KUBELET_CONF" ]]; then
    info "already joined (${KUBELET_CONF} exists); not running kubeadm join again"
    converge_joined_node
    return 0
  fi

  # read_secret_bundle wrote it 0600 in a 0700 directory on tmpfs, removed when the step exits.
  discovery="${dir}/secrets/discovery.conf"
  check_discovery_file "$discovery"
  if [[ "$ROLE" == control-plane ]]; then
    install_pki "${dir}/secrets"
    route_to_answering_control_plane
  else
    # Nothing goes to /etc/kubernetes/pki on a worker: kubeadm writes ca.crt itself, and its
    # preflight fails when the file is already there.
    wait_for_endpoint_as_worker
  fi
  write_join_config "$discovery"
  validate_kubeadm_config "$JOIN_CONFIG_FILE"

  kubeadm_with_one_retry join "$KUBEADM_TIMEOUT_SECONDS" "$CRI_SOCKET" join_attempt explain_join_failure \
    prepare_join_retry
  [[ -f "$KUBELET_CONF" ]] || fatal "kubeadm join succeeded but ${KUBELET_CONF} is missing"
  if [[ "$ROLE" == control-plane ]]; then
    use_own_api_server
  fi
  ensure_dir "$STATE_DIR" 0700
  write_file_if_changed "${STATE_DIR}/join.done" 0644 <<<"joined as ${ROLE}" || true
  info "joined the cluster as a ${ROLE}"
}

main "$@"

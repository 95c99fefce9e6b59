#!/usr/bin/env bash
# etcd-snapshot: run by the systemd timer kubeadm-aws-etcd-snapshot.timer on every control plane
# (installed by the node-timers step). Every control plane runs it; only the one whose etcd
# member is the leader takes the snapshot, so each interval gives one snapshot, without any
# coordination (a leader change within an interval gives at most one extra or one missing).
#
#   1. etcdctl in the local etcd container: is this member the leader? If not, stop (success).
#   2. `etcdctl snapshot save` into /var/lib/etcd (the container's data dir, a host path).
#   3. `etcdutl snapshot status`: a snapshot that fails its check is never uploaded.
#   4. Upload to s3://BUCKET/PREFIX<time>-<node>.db with the instance profile's credentials (IMDSv2;
#      the role may only PutObject under PREFIX), signed by curl's SigV4, with the snapshot's
#      sha256 and revision as object metadata (the restore checks the sha256).
#   5. Record the success in the ConfigMap kube-system/kubeadm-aws-etcd-backup (cluster-ready
#      reports the last snapshot's age from it).
# Any failure exits non-zero, so the unit fails and `systemctl --failed` shows it. It also keeps
# etcdutl (copied out of the etcd image) at /usr/local/lib/kubeadm-aws/etcdutl for a restore.
#
# Parameters (rendered header)
#   BUCKET, REGION   the backup bucket and its region
#   PREFIX           the key prefix the control planes may write, e.g. k8s-dev/etcd/
#   NODE_NAME        this node's Kubernetes name (part of the key)
# Stdin: nothing. Stdout: nothing.

readonly LIB_DIR="${SYSROOT}/usr/local/lib/kubeadm-aws"
readonly ETCDUTL="${LIB_DIR}/etcdutl"
readonly SNAPSHOT_IN_CONTAINER="/var/lib/etcd/kubeadm-aws-snapshot.db"
readonly SNAPSHOT_ON_HOST="${SYSROOT}${SNAPSHOT_IN_CONTAINER}"
readonly IMDS="http://169.254.169.254"

# The running etcd container's id (kubeadm's static pod), or nothing.
etcd_container() { timeout 20 crictl ps --name '^etcd$' --state Running -q | head -n 1; }

# etcdctl inside the etcd container, against the local member: etcdctl_local CONTAINER ARGS...
etcdctl_local() {
  local container="$1"
  shift
  timeout 120 crictl exec "$container" etcdctl "${ETCDCTL_FLAGS[@]}" "$@"
}

# True when the local member leads the cluster (`endpoint status` header: member_id == leader).
is_leader() {
  local status member leader
  status="$(etcdctl_local "$1" endpoint status -w json)" || return 2
  member="$(sed -n 's/.*"member_id":\([0-9]*\).*/\1/p' <<<"$status" | head -n 1)"
  leader="$(sed -n 's/.*"leader":\([0-9]*\).*/\1/p' <<<"$status" | head -n 1)"
  [[ -n "$member" && "$member" == "$leader" ]]
}

# Keeps a copy of the image's etcdutl on the host (a restore runs it with etcd stopped).
keep_etcdutl() {
  ensure_dir "$LIB_DIR" 0755
  timeout 60 crictl exec "$1" cat /usr/local/bin/etcdutl >"${ETCDUTL}.new" || {
    rm -f "${ETCDUTL}.new"
    fatal "could not copy etcdutl out of the etcd container"
  }
  chmod 0755 "${ETCDUTL}.new"
  mv -f "${ETCDUTL}.new" "$ETCDUTL"
}

# Prints one field of the instance's role credentials: credential FIELD JSON.
credential() { sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\"\\([^\"]*\\)\".*/\\1/p" <<<"$2" | head -n 1; }

# PUTs FILE to s3://BUCKET/KEY with the instance profile's credentials: upload FILE KEY SHA256 REVISION.
upload() {
  local file="$1" key="$2" sha="$3" revision="$4" token role creds dir
  token="$(curl -sS -f --max-time 10 -X PUT "${IMDS}/latest/api/token" \
    -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')" || fatal "IMDSv2 gave no token"
  role="$(curl -sS -f --max-time 10 -H "X-aws-ec2-metadata-token: ${token}" \
    "${IMDS}/latest/meta-data/iam/security-credentials/")" || fatal "this instance has no instance profile"
  creds="$(curl -sS -f --max-time 10 -H "X-aws-ec2-metadata-token: ${token}" \
    "${IMDS}/latest/meta-data/iam/security-credentials/${role%%$'\n'*}")" ||
    fatal "IMDS gave no credentials for ${role}"
  # The secret key and session token go to curl in a private config file, not on its command
  # line (which any local user can read in /proc).
  make_private_dir dir
  {
    printf 'user = "%s:%s"\n' "$(credential AccessKeyId "$creds")" "$(credential SecretAccessKey "$creds")"
    printf 'header = "x-amz-security-token: %s"\n' "$(credential Token "$creds")"
  } >"${dir}/curl.conf"
  curl -sS -f --max-time 600 -K "${dir}/curl.conf" --aws-sigv4 "aws:amz:${REGION}:s3" \
    -H "x-amz-content-sha256: ${sha}" -H "x-amz-meta-sha256: ${sha}" \
    -H "x-amz-meta-revision: ${revision}" -H "x-amz-server-side-encryption: AES256" \
    --upload-file "$file" "https://${BUCKET}.s3.${REGION}.amazonaws.com/${key}" >/dev/null ||
    fatal "the upload of ${key} to s3://${BUCKET} failed"
}

record_success() {
  local key="$1" when="$2" revision="$3"
  KUBECONFIG="$ADMIN_CONF" timeout 60 kubectl --request-timeout=30s -n kube-system create configmap \
    kubeadm-aws-etcd-backup --from-literal=lastSuccess="$when" --from-literal=key="$key" \
    --from-literal=bucket="$BUCKET" --from-literal=revision="$revision" --dry-run=client -o yaml |
    KUBECONFIG="$ADMIN_CONF" timeout 60 kubectl --request-timeout=30s apply -f - >/dev/null ||
    warn "the snapshot is in S3, but recording it in kube-system/kubeadm-aws-etcd-backup failed"
}

main() {
  local container status revision sha when key leader_rc=0
  require_root
  [[ -n "$BUCKET" && -n "$REGION" && "$PREFIX" == */ && -n "$NODE_NAME" ]] ||
    fatal "BUCKET, REGION, NODE_NAME and PREFIX (ending in /) are required"
  container="$(etcd_container)"
  [[ -n "$container" ]] || fatal "no running etcd container on this node"
  keep_etcdutl "$container"
  is_leader "$container" || leader_rc=$?
  if ((leader_rc == 1)); then
    info "this member is not the etcd leader; the leader takes this interval's snapshot"
    return 0
  elif ((leader_rc != 0)); then
    fatal "etcdctl endpoint status failed: etcd on this node does not answer"
  fi
  rm -f "$SNAPSHOT_ON_HOST"
  remove_on_exit "$SNAPSHOT_ON_HOST"
  etcdctl_local "$container" snapshot save "$SNAPSHOT_IN_CONTAINER" >&2 ||
    fatal "etcdctl snapshot save failed"
  status="$("$ETCDUTL" snapshot status "$SNAPSHOT_ON_HOST" -w json)" ||
    fatal "the snapshot fails etcdutl's check (snapshot status); it is not uploaded"
  revision="$(sed -n 's/.*"revision":\([0-9]*\).*/\1/p' <<<"$status" | head -n 1)"
  [[ -n "$revision" ]] || fatal "etcdutl snapshot status reported no revision: ${status}"
  sha="$(sha256sum "$SNAPSHOT_ON_HOST" | cut -d' ' -f1)"
  when="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  key="${PREFIX}${when//:/-}-${NODE_NAME}.db"
  upload "$SNAPSHOT_ON_HOST" "$key" "$sha" "$revision"
  record_success "$key" "$when" "$revision"
  info "etcd snapshot at revision ${revision} uploaded to s3://${BUCKET}/${key} (sha256 ${sha})"
}

main "$@"

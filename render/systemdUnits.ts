/**
 * The systemd units of the control planes' two jobs (guest/node-timers.sh installs them): the
 * etcd snapshot every `etcdBackup.intervalMinutes`, and the daily certificate check. Pure text,
 * checked by `systemd-analyze verify` in test/render/systemdUnits.test.ts.
 */

/** Where node-timers puts the job scripts. */
export const JOB_DIR = "/usr/local/lib/kubeadm-aws";

export interface JobUnits {
  readonly service: string;
  readonly timer: string;
}

function service(description: string, script: string, timeout: string): string {
  return [
    "[Unit]",
    `Description=${description}`,
    "Wants=network-online.target",
    "After=network-online.target kubelet.service",
    "",
    "[Service]",
    // oneshot: the unit fails when the script does, which `systemctl --failed` lists.
    "Type=oneshot",
    `ExecStart=/bin/bash ${JOB_DIR}/${script}`,
    `TimeoutStartSec=${timeout}`,
    "Nice=10",
    "",
  ].join("\n");
}

/** The snapshot job: every interval after boot; the leader's run uploads (etcd-snapshot.sh). */
export function etcdSnapshotUnits(intervalMinutes: number): JobUnits {
  return {
    service: service("kubeadm-aws: etcd snapshot to S3", "etcd-snapshot.sh", "15min"),
    timer: [
      "[Unit]",
      `Description=kubeadm-aws: etcd snapshot every ${intervalMinutes} minutes`,
      "",
      "[Timer]",
      "OnBootSec=5min",
      `OnUnitActiveSec=${intervalMinutes}min`,
      "AccuracySec=30s",
      "RandomizedDelaySec=30s",
      "",
      "[Install]",
      "WantedBy=timers.target",
      "",
    ].join("\n"),
  };
}

/** The certificate check: daily, spread over an hour, caught up after downtime (Persistent). */
export function certRenewalUnits(): JobUnits {
  return {
    service: service(
      "kubeadm-aws: renew kubeadm certificates near expiry",
      "cert-renewal.sh",
      "30min",
    ),
    timer: [
      "[Unit]",
      "Description=kubeadm-aws: daily kubeadm certificate check",
      "",
      "[Timer]",
      "OnCalendar=daily",
      "RandomizedDelaySec=1h",
      "Persistent=true",
      "",
      "[Install]",
      "WantedBy=timers.target",
      "",
    ].join("\n"),
  };
}

/**
 * The control planes' own jobs, installed by one `node-timers` step per control plane after its
 * join (guest/node-timers.sh): the etcd snapshot to S3 every `etcdBackup.intervalMinutes` (the
 * etcd leader's run uploads; guest/etcd-snapshot.sh) and the daily certificate check that renews
 * kubeadm's certificates within 30 days of expiry, one control plane at a time
 * (guest/cert-renewal.sh). The step's triggers hold the hash of what it installs, so a change of
 * the interval, the bucket or a job's script reaches the running control planes too: the step is
 * idempotent, and running it again only rewrites what differs.
 */
import { createHash } from "crypto";
import type * as remote from "@pulumi/command/remote";
import * as pulumi from "@pulumi/pulumi";
import { certRenewalUnits, etcdSnapshotUnits } from "../../render/systemdUnits";
import * as steps from "../../render/steps";
import type { ClusterNode } from "../nodes";
import { BootstrapContext } from "./context";

/** Renew when anything expires within this many days (the and kubeadm's advice). */
export const RENEW_WITHIN_DAYS = 30;

export interface BackupTarget {
  readonly bucket: pulumi.Input<string>;
  readonly prefix: string;
  readonly region: string;
  readonly intervalMinutes: number;
}

export function installControlPlaneJobs(
  ctx: BootstrapContext,
  controlPlanes: readonly ClusterNode[],
  backups: BackupTarget | undefined,
): remote.Command[] {
  return controlPlanes.map((cp) => {
    const script = pulumi
      .all([cp.privateDns, backups?.bucket ?? ""])
      .apply(([nodeName, bucket]) => {
        const renewal = {
          script: steps.renderCertRenewal({
            nodeName,
            renewWithinDays: RENEW_WITHIN_DAYS,
            guardStaleSeconds: 3600,
            waitTimeoutSeconds: 300,
          }),
          ...certRenewalUnits(),
        };
        const snapshot = backups
          ? {
              script: steps.renderEtcdSnapshot({
                bucket,
                region: backups.region,
                prefix: backups.prefix,
                nodeName,
              }),
              ...etcdSnapshotUnits(backups.intervalMinutes),
            }
          : undefined;
        return steps.renderNodeTimers({ snapshot, renewal });
      });
    const digest = script.apply((text) => createHash("sha256").update(text).digest("hex"));
    return ctx.step(`${cp.name}-timers`, {
      step: "node-timers",
      target: ctx.target(cp),
      tag: cp.name,
      script,
      triggers: [cp.instance.id, digest],
      dependsOn: [ctx.commands.get(`${cp.name}-join`)!],
    });
  });
}

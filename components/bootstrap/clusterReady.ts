/**
 * Phase 4, on the bastion: the cluster is Ready when every node of the stack is (by name) and
 * CoreDNS has rolled out. Nothing is read back: the admin kubeconfig is the program's own
 * (kubeadmCluster.ts), so no step ever reads admin.conf.
 */
import type * as remote from "@pulumi/command/remote";
import * as pulumi from "@pulumi/pulumi";
import * as steps from "../../render/steps";
import type { ClusterNode } from "../nodes";
import { BootstrapContext, TIMEOUTS } from "./context";

export function waitForCluster(
  ctx: BootstrapContext,
  clusterName: string,
  nodes: readonly ClusterNode[],
  dependsOn: pulumi.Resource[],
): remote.Command {
  return ctx.step(`${clusterName}-cluster-ready`, {
    step: "cluster-ready",
    target: ctx.bastionTarget(),
    tag: clusterName,
    // The exact names, not a count: during a scale-down the leaving node is still registered
    // when this re-runs (Pulumi deletes removed resources last).
    script: pulumi.all(nodes.map((n) => n.privateDns)).apply((nodeNames) =>
      steps.renderClusterReady({
        nodeNames,
        cloudInitialised: ctx.config.cloudProvider === "aws",
        backupIntervalMinutes: ctx.config.etcdBackup.enabled
          ? ctx.config.etcdBackup.intervalMinutes
          : undefined,
        timeoutSeconds: TIMEOUTS.clusterReady,
      }),
    ),
    stdin: ctx.operationsBundle,
    // Re-checked whenever the set of nodes changes, and at the end of a rolling upgrade.
    triggers: [...nodes.map((n) => n.instance.id), ctx.config.kubernetesVersion],
    dependsOn,
    createTimeout: "20m",
  });
}

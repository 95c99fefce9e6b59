/**
 * Phase 4: the cluster is Ready when every node of the stack is (by name) and CoreDNS has rolled
 * out; then the admin kubeconfig is read back as a secret.
 */
import type * as remote from "@pulumi/command/remote";
import * as pulumi from "@pulumi/pulumi";
import * as steps from "../../render/steps";
import type { ClusterNode } from "../nodes";
import { BootstrapContext, TIMEOUTS } from "./context";

export function waitForCluster(
  ctx: BootstrapContext,
  clusterName: string,
  cp0: ClusterNode,
  nodes: readonly ClusterNode[],
  dependsOn: pulumi.Resource[],
): { clusterReady: remote.Command; kubeconfig: pulumi.Output<string> } {
  const clusterReady = ctx.step(`${clusterName}-cluster-ready`, {
    step: "cluster-ready",
    target: ctx.target(cp0),
    tag: clusterName,
    // The exact names, not a count: during a scale-down the leaving node is still registered
    // when this re-runs (Pulumi deletes removed resources last).
    script: pulumi
      .all(nodes.map((n) => n.privateDns))
      .apply((nodeNames) =>
        steps.renderClusterReady({ nodeNames, timeoutSeconds: TIMEOUTS.clusterReady }),
      ),
    // Re-checked whenever the set of nodes changes.
    triggers: [cp0.instance.id, ...nodes.map((n) => n.instance.id)],
    dependsOn,
    createTimeout: "20m",
  });
  const kubeconfig = ctx.step(`${clusterName}-kubeconfig`, {
    step: "kubeconfig",
    target: ctx.target(cp0),
    tag: clusterName,
    script: steps.renderKubeconfig(),
    triggers: [cp0.instance.id],
    secretStdout: true,
    producesOutput: true,
    dependsOn: [clusterReady],
  });
  return { clusterReady, kubeconfig: pulumi.secret(kubeconfig.stdout) };
}

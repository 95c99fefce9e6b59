/**
 * Phase 1 on the bastion, in parallel with the nodes: wait-ready, then bastion-tools (kubectl at
 * the cluster's version, held). Every cluster-level step (the CNI, node registration and
 * removal, the readiness wait) runs on the bastion with credentials the program minted, so no
 * node is special and any node can be replaced (README: "Credentials and cluster operations").
 */
import type * as remote from "@pulumi/command/remote";
import * as steps from "../../render/steps";
import { HELM_SHA256, helmUrlTemplate, PINNED } from "../../render/versions";
import { BootstrapContext, TIMEOUTS } from "./context";

export function prepareBastion(ctx: BootstrapContext, clusterName: string): remote.Command {
  const ready = ctx.step(`${clusterName}-bastion-wait-ready`, {
    step: "wait-ready",
    target: ctx.bastionTarget(),
    tag: "bastion",
    // The bastion runs the nodes' OS, so the same package manager.
    script: steps.renderWaitReady({
      timeoutSeconds: TIMEOUTS.waitReady,
      packageManager: ctx.packageManager,
    }),
    triggers: [ctx.bastionInstanceId],
    firstContact: true,
    createTimeout: "25m",
  });
  return ctx.step(`${clusterName}-bastion-tools`, {
    step: "bastion-tools",
    target: ctx.bastionTarget(),
    tag: "bastion",
    script: steps.renderBastionTools({
      kubernetesVersion: ctx.config.kubernetesVersion,
      packageManager: ctx.packageManager,
      // Helm installs the AWS add-ons' charts.
      helm:
        ctx.config.cloudProvider === "aws"
          ? { version: PINNED.helm, urlTemplate: helmUrlTemplate(), sha256: HELM_SHA256 }
          : undefined,
    }),
    // Again for a new Kubernetes version: kubectl stays within one minor of the API server.
    triggers: [ctx.bastionInstanceId, ctx.config.kubernetesVersion],
    dependsOn: [ready],
    createTimeout: "15m",
  });
}

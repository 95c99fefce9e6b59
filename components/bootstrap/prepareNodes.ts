/**
 * Phase 1, on every node in parallel right after boot: wait-ready (SSH answers, cloud-init done,
 * package locks free), then prepare (kernel, container runtime, pinned kubeadm/kubelet/kubectl;
 * on a RHEL-family OS also SELinux and firewalld), each with the OS's package manager.
 * Nothing here waits for the load balancer or for another node.
 */
import type * as remote from "@pulumi/command/remote";
import * as steps from "../../render/steps";
import { criDockerdUrlTemplate, PINNED } from "../../render/versions";
import type { ClusterNode } from "../nodes";
import { BootstrapContext, TIMEOUTS } from "./context";

/** Returns each node's prepare step, by node name. */
export function prepareNodes(
  ctx: BootstrapContext,
  nodes: readonly ClusterNode[],
): Map<string, remote.Command> {
  const prepared = new Map<string, remote.Command>();
  for (const node of nodes) {
    const ready = ctx.step(`${node.name}-wait-ready`, {
      step: "wait-ready",
      target: ctx.target(node),
      tag: node.name,
      script: steps.renderWaitReady({
        timeoutSeconds: TIMEOUTS.waitReady,
        packageManager: ctx.packageManager,
      }),
      triggers: [node.instance.id],
      firstContact: true,
      createTimeout: "25m",
    });
    const prepare = ctx.step(`${node.name}-prepare`, {
      step: "prepare",
      target: ctx.target(node),
      tag: node.name,
      script: steps.renderPrepare({
        role: node.role,
        kubernetesVersion: ctx.config.kubernetesVersion,
        runtime: ctx.config.containerRuntime,
        criSocket: ctx.criSocket,
        criDockerdVersion: PINNED.criDockerd,
        criDockerdUrlTemplate: criDockerdUrlTemplate(),
        packageManager: ctx.packageManager,
        rhel: ctx.rhelSettings(node.role),
      }),
      triggers: [node.instance.id],
      dependsOn: [ready],
      createTimeout: "30m",
    });
    prepared.set(node.name, prepare);
  }
  return prepared;
}

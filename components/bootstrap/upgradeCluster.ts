/**
 * The rolling Kubernetes upgrade of a `kubernetesVersion` change (config/upgradePlan.ts), as
 * steps that exist only while the change is pending: the previous deployment's record says the
 * cluster runs another version. A new cluster, or one at the configured version, gets none of
 * them, so creation stays exactly as parallel as before.
 *
 *   upgrade-preflight (bastion: skew policy) + upgrade-check (cp-0: the version exists)
 *     -> cp-0: drain -> upgrade (kubeadm upgrade apply) -> restore (Ready at the target, uncordon)
 *     -> cp-1: drain -> upgrade (kubeadm upgrade node) -> restore -> cp-2 ...  (one at a time)
 *     -> workers, maxUnavailableWorkers at a time: drain -> upgrade (kubeadm upgrade node) -> restore
 *
 * Every step's triggers are the node's instance id and the target version: a new target runs the
 * rollout again, a finished step never re-runs for the same target (a resource in state with
 * the same triggers is left alone), and a failed one is created again by the next `up` (a failed
 * create leaves no resource in state), so the rollout resumes where it stopped. Each step also
 * checks the node itself and does nothing when it is at the target already.
 */
import type * as remote from "@pulumi/command/remote";
import type * as pulumi from "@pulumi/pulumi";
import type { RolloutNode, UpgradePlan } from "../../config/upgradePlan";
import * as steps from "../../render/steps";
import type { ClusterNode } from "../nodes";
import { BootstrapContext, TIMEOUTS } from "./context";

export interface RolloutResult {
  /** The last step of the control-plane rollout: every API server runs the target after it. */
  readonly controlPlanesDone: readonly remote.Command[];
  /** Every step of the rollout, in creation order. */
  readonly all: readonly remote.Command[];
}

export interface UpgradeArgs {
  readonly plan: UpgradePlan;
  /** The cluster's nodes by logical name. */
  readonly nodes: ReadonlyMap<string, ClusterNode>;
  /** Each node's prepare step, by node name (a replacement upgrades nothing before it). */
  readonly prepared: ReadonlyMap<string, remote.Command>;
  /** What the steps on the bastion need: kubectl there, and the API's private name. */
  readonly bastionReady: readonly pulumi.Resource[];
}

/** drain (bastion) -> upgrade (node) -> restore (bastion) for one node. */
function upgradeOneNode(
  ctx: BootstrapContext,
  a: UpgradeArgs,
  r: RolloutNode,
  after: readonly pulumi.Resource[],
): remote.Command[] {
  const node = a.nodes.get(r.name);
  if (!node) throw new Error(`the upgrade plan names ${r.name}, which the stack does not have`);
  const to = a.plan.to;
  const triggers = [node.instance.id, to];
  const rollout = (phase: "drain" | "restore") =>
    node.privateDns.apply((nodeName) =>
      steps.renderNodeRollout({
        phase,
        nodeName,
        targetVersion: to,
        reason: `upgrade to ${to}`,
        drainTimeoutSeconds: TIMEOUTS.upgradeDrain,
        waitTimeoutSeconds: TIMEOUTS.upgradeRestore,
      }),
    );
  const drain = ctx.step(`${node.name}-upgrade-drain`, {
    step: "node-rollout",
    target: ctx.bastionTarget(),
    tag: node.name,
    script: rollout("drain"),
    stdin: ctx.operationsBundle,
    triggers,
    dependsOn: [...after, ...a.bastionReady],
  });
  const upgrade = ctx.step(`${node.name}-upgrade`, {
    step: "upgrade-node",
    target: ctx.target(node),
    tag: node.name,
    script: steps.renderUpgradeNode({
      mode: "upgrade",
      kubeadmAction: r.kubeadm,
      role: node.role,
      targetVersion: to,
      timeoutSeconds: TIMEOUTS.upgradeNode,
      packageManager: ctx.packageManager,
    }),
    triggers,
    dependsOn: [drain, a.prepared.get(node.name)!],
    createTimeout: "30m",
  });
  const restore = ctx.step(`${node.name}-upgrade-restore`, {
    step: "node-rollout",
    target: ctx.bastionTarget(),
    tag: node.name,
    script: rollout("restore"),
    stdin: ctx.operationsBundle,
    triggers,
    dependsOn: [upgrade, ...a.bastionReady],
  });
  return [drain, upgrade, restore];
}

export function upgradeCluster(
  ctx: BootstrapContext,
  clusterName: string,
  a: UpgradeArgs,
): RolloutResult {
  const { plan } = a;
  const first = plan.controlPlanes[0];
  const cp0 = first && a.nodes.get(first.name);
  if (!first || !cp0) throw new Error("an upgrade needs a control plane that ran before it");
  const all: remote.Command[] = [];
  const preflight = ctx.step(`${clusterName}-upgrade-preflight`, {
    step: "upgrade-preflight",
    target: ctx.bastionTarget(),
    tag: clusterName,
    script: steps.renderUpgradePreflight({
      targetVersion: plan.to,
      apiWaitSeconds: TIMEOUTS.apiWait,
    }),
    stdin: ctx.operationsBundle,
    triggers: [plan.to],
    dependsOn: [...a.bastionReady],
  });
  // On a node, as the issue asks: the target's minor repository answers there, changing nothing.
  const check = ctx.step(`${cp0.name}-upgrade-check`, {
    step: "upgrade-node",
    target: ctx.target(cp0),
    tag: cp0.name,
    script: steps.renderUpgradeNode({
      mode: "check",
      kubeadmAction: "node",
      role: cp0.role,
      targetVersion: plan.to,
      timeoutSeconds: TIMEOUTS.upgradeNode,
      packageManager: ctx.packageManager,
    }),
    triggers: [cp0.instance.id, plan.to],
    dependsOn: [a.prepared.get(cp0.name)!],
  });
  all.push(preflight, check);

  let previous: pulumi.Resource[] = [preflight, check];
  for (const r of plan.controlPlanes) {
    const stepsOfNode = upgradeOneNode(ctx, a, r, previous);
    all.push(...stepsOfNode);
    previous = [stepsOfNode[2]!];
  }
  const controlPlanesDone = [...previous] as remote.Command[];
  for (const batch of plan.workerBatches) {
    const restores: remote.Command[] = [];
    for (const r of batch) {
      const stepsOfNode = upgradeOneNode(ctx, a, r, previous);
      all.push(...stepsOfNode);
      restores.push(stepsOfNode[2]!);
    }
    previous = restores;
  }
  return { controlPlanesDone, all };
}

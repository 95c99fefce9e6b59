/**
 * The rolling node change of an instance-type or image change (config/rollPlan.ts), as steps
 * that exist only while it is pending, one node at a time, control planes first:
 *
 *   roll-drain (bastion: cordon, mark, drain the node by its current name)
 *     -> the instance changes: `modify` (EC2 stops it, changes the type, starts it) or `replace`
 *        (a new instance, prepared and joined like any replacement; the old one goes at the end)
 *     -> roll-restore (bastion: the node, or its replacement, Ready; uncordoned if it was ours)
 *     -> the next node's roll-drain
 *
 * The instance cannot name its drain step when it is constructed (the steps need the bastion,
 * which needs the nodes' key pair), so its `dependsOn` is a promise this file resolves once the
 * drain exists: the SDK awaits `dependsOn` before it registers the instance (pulumi/pulumi
 * v3.248.0 sdk/nodejs/runtime/resource.ts prepareResource: gatherExplicitDependencies), and the
 * engine answers a registration only once its step is done, so a resource's URN resolves after
 * its create or update (pkg/resource/deploy/source_eval.go RegisterResource, "Now block waiting
 * for the operation to finish"). Nothing that a
 * drain depends on may depend on a rolling instance: the drain waits for kubectl on the bastion
 * only, not for the API's load-balancer targets (which name the control-plane instances).
 */
import type * as remote from "@pulumi/command/remote";
import * as pulumi from "@pulumi/pulumi";
import type { RollNode, RollPlan } from "../../config/rollPlan";
import * as steps from "../../render/steps";
import type { ClusterNode } from "../nodes";
import { BootstrapContext, TIMEOUTS } from "./context";

/** Per rolling node: the promise its instance's `dependsOn` waits for, and how to settle it. */
export interface RollGate {
  readonly replace: boolean;
  readonly after: Promise<pulumi.Resource[]>;
  readonly open: (resources: pulumi.Resource[]) => void;
}

/** One gate per node of the plan, by logical name (empty without a plan). */
export function rollGates(plan: RollPlan | undefined): Map<string, RollGate> {
  const gates = new Map<string, RollGate>();
  for (const n of plan?.nodes ?? []) {
    let open: (resources: pulumi.Resource[]) => void = () => undefined;
    const after = new Promise<pulumi.Resource[]>((resolve) => (open = resolve));
    gates.set(n.name, { replace: n.how === "replace", after, open });
  }
  return gates;
}

export interface RollArgs {
  readonly plan: RollPlan;
  readonly gates: ReadonlyMap<string, RollGate>;
  readonly nodes: ReadonlyMap<string, ClusterNode>;
  /** kubectl on the bastion. */
  readonly bastionTools: remote.Command;
}

function reasonOf(plan: RollPlan): string {
  return plan.changes.join("; ");
}

/** drain -> (the instance changes) -> restore for one node; returns its restore. */
function rollOne(
  ctx: BootstrapContext,
  a: RollArgs,
  r: RollNode,
  after: pulumi.Resource[],
): remote.Command {
  const node = a.nodes.get(r.name);
  const gate = a.gates.get(r.name);
  if (!node || !gate)
    throw new Error(`the roll plan names ${r.name}, which the stack does not have`);
  const triggers = [r.instanceId, reasonOf(a.plan)];
  const rollout = (phase: "drain" | "restore", nodeName: string) =>
    steps.renderNodeRollout({
      phase,
      nodeName,
      targetVersion: "",
      reason: reasonOf(a.plan),
      drainTimeoutSeconds: TIMEOUTS.upgradeDrain,
      waitTimeoutSeconds: TIMEOUTS.upgradeRestore,
    });
  const drain = ctx.step(`${node.name}-roll-drain`, {
    step: "node-rollout",
    target: ctx.bastionTarget(),
    tag: node.name,
    script: rollout("drain", r.nodeName),
    stdin: ctx.operationsBundle,
    triggers,
    dependsOn: [...after, a.bastionTools],
  });
  gate.open([drain]);
  // A replacement registers as a new node: wait for its member step (registered, labelled).
  const changed = gate.replace ? ctx.commands.get(`${node.name}-member`)! : node.instance;
  return ctx.step(`${node.name}-roll-restore`, {
    step: "node-rollout",
    target: ctx.bastionTarget(),
    tag: node.name,
    script: node.privateDns.apply((nodeName) => rollout("restore", nodeName)),
    stdin: ctx.operationsBundle,
    triggers,
    dependsOn: [changed, a.bastionTools],
  });
}

/** Every rolling node in the plan's order; returns every roll step. */
export function rollNodes(ctx: BootstrapContext, a: RollArgs): remote.Command[] {
  const restores: remote.Command[] = [];
  let previous: pulumi.Resource[] = [];
  for (const r of a.plan.nodes) {
    const restore = rollOne(ctx, a, r, previous);
    restores.push(restore);
    previous = [restore];
  }
  return restores;
}

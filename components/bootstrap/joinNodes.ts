/**
 * Phase 3: every other node joins. For each node: creds (a fresh token, and for a control plane a
 * fresh certificate upload, made on the first control plane right before the join), join (on the
 * node), and member (on the first control plane: waits for the Node object and labels it; its
 * delete drains the node and removes it, and a control plane's etcd member, before the VM goes).
 * Control planes join one at a time, because etcd grows one member at a time; workers in parallel.
 */
import * as pulumi from "@pulumi/pulumi";
import type * as remote from "@pulumi/command/remote";
import { parseControlPlaneEndpoint, renderJoinConfig } from "../../render/kubeadmConfig";
import { renderSecretBundle } from "../../render/script";
import * as steps from "../../render/steps";
import { API_PORT } from "../apiLoadBalancer";
import type { ClusterNode } from "../nodes";
import type { Pki } from "../pki";
import { BootstrapContext, TIMEOUTS } from "./context";

export interface JoinPhaseArgs {
  readonly cp0: ClusterNode;
  readonly init: remote.Command;
  readonly pki: Pki;
  /** Each node's prepare step, by node name. */
  readonly prepared: ReadonlyMap<string, remote.Command>;
  /** What a worker's join reaches the API through (record, internal targets). */
  readonly workerJoinDependsOn: readonly pulumi.Resource[];
}

interface JoinedNode {
  readonly join: remote.Command;
  readonly member: remote.Command;
}

/** The credentials a node's join reads on stdin: a fresh token (+ the certificate key). */
function joinCredentials(
  ctx: BootstrapContext,
  node: ClusterNode,
  a: JoinPhaseArgs,
  after: pulumi.Resource[],
): { creds: remote.Command; bundle: pulumi.Output<string> } {
  const creds = ctx.step(`${node.name}-creds`, {
    step: "creds",
    target: ctx.target(a.cp0),
    tag: node.name,
    script: steps.renderCreds({ joinRole: node.role, tokenTtl: TIMEOUTS.tokenTtl }),
    triggers: [a.cp0.instance.id, node.instance.id],
    secretStdout: true,
    producesOutput: true,
    dependsOn: [a.init, a.prepared.get(node.name)!, ...after],
  });
  const bundle = pulumi
    .all([creds.stdout, a.pki.certificateKey])
    .apply(([stdout, certificateKey]) =>
      renderSecretBundle(
        node.role === "control-plane"
          ? { token: stdout.trim(), "certificate-key": certificateKey }
          : { token: stdout.trim() },
      ),
    );
  return { creds, bundle: pulumi.secret(bundle) };
}

/** kubeadm join on the node itself. */
function joinStep(
  ctx: BootstrapContext,
  node: ClusterNode,
  a: JoinPhaseArgs,
  credentials: { creds: remote.Command; bundle: pulumi.Output<string> },
): remote.Command {
  const joinConfig = pulumi
    .all([ctx.settings, ctx.nodeSettings(node), a.pki.caCertHash])
    .apply(([s, n, hash]) => renderJoinConfig(s, n, node.role, hash));
  ctx.artifacts.set(`${node.name}/kubeadm-join.yaml`, joinConfig);
  return ctx.step(`${node.name}-join`, {
    step: "join",
    target: ctx.target(node),
    tag: node.name,
    script: pulumi
      .all([ctx.settings, joinConfig, a.cp0.privateIp, node.privateDns])
      .apply(([s, rendered, bootstrapIp, nodeName]) =>
        steps.renderJoin({
          role: node.role,
          nodeName,
          joinConfig: rendered,
          criSocket: ctx.criSocket,
          apiEndpointHost: parseControlPlaneEndpoint(s.controlPlaneEndpoint).host,
          apiEndpointPort: API_PORT,
          bootstrapApiIp: bootstrapIp,
          timeoutSeconds: TIMEOUTS.kubeadm,
        }),
      ),
    stdin: credentials.bundle,
    triggers: [node.instance.id],
    dependsOn: [credentials.creds, ...(node.role === "worker" ? a.workerJoinDependsOn : [])],
    createTimeout: "30m",
  });
}

/** The node's membership: registered after its join, removed (drained, etcd, Node) on delete. */
function memberStep(
  ctx: BootstrapContext,
  node: ClusterNode,
  a: JoinPhaseArgs,
  join: remote.Command,
  after: pulumi.Resource[],
): remote.Command {
  return ctx.step(`${node.name}-member`, {
    step: "register-node",
    target: ctx.target(a.cp0),
    tag: node.name,
    script: node.privateDns.apply((nodeName) =>
      steps.renderRegisterNode({
        nodeName,
        role: node.role,
        timeoutSeconds: TIMEOUTS.registerNode,
      }),
    ),
    deleteScript: node.privateDns.apply((nodeName) =>
      steps.renderRemoveNode({
        nodeName,
        role: node.role,
        drainTimeoutSeconds: TIMEOUTS.drain,
        apiWaitSeconds: TIMEOUTS.apiWait,
      }),
    ),
    triggers: [a.cp0.instance.id, node.instance.id],
    // The removal runs on the first control plane: when that goes in the same operation (a
    // destroy, or its replacement) the cluster it would tidy goes with it.
    deletedWith: a.cp0.instance,
    dependsOn: [join, ...after],
  });
}

function joinNode(
  ctx: BootstrapContext,
  node: ClusterNode,
  a: JoinPhaseArgs,
  joinAfter: pulumi.Resource[],
  memberAfter: pulumi.Resource[],
): JoinedNode {
  const join = joinStep(ctx, node, a, joinCredentials(ctx, node, a, joinAfter));
  return { join, member: memberStep(ctx, node, a, join, memberAfter) };
}

/**
 * Joins control planes 1..n one at a time, and removes them one at a time too: each member
 * depends on the previous one, so deletes go in reverse order. Returns every join and member.
 */
export function joinControlPlanes(
  ctx: BootstrapContext,
  controlPlanes: readonly ClusterNode[],
  a: JoinPhaseArgs,
): remote.Command[] {
  const joined: remote.Command[] = [];
  let previous: JoinedNode | undefined;
  for (const node of controlPlanes) {
    const next = joinNode(
      ctx,
      node,
      a,
      previous ? [previous.join] : [],
      previous ? [previous.member] : [],
    );
    joined.push(next.join, next.member);
    previous = next;
  }
  return joined;
}

/** Workers join in parallel, each as soon as init is done and its own node is prepared. */
export function joinWorkers(
  ctx: BootstrapContext,
  workers: readonly ClusterNode[],
  a: JoinPhaseArgs,
): remote.Command[] {
  return workers.flatMap((node) => {
    const { join, member } = joinNode(ctx, node, a, [], []);
    return [join, member];
  });
}

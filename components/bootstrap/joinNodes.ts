/**
 * Phase 3: every node joins, cp-0 included, with credentials the program minted: a discovery
 * kubeconfig holding the node's own client certificate (CN system:node:<name>, O system:nodes),
 * and for a control plane the shared CA files (kubeadm's manual certificate distribution). Both
 * arrive on stdin; no node is asked for a token or a certificate upload
 * (docs/kubeadm-credentials.md).
 *
 * Per node: join (on the node; a no-op on the instance that ran init) and member (on the
 * bastion: waits for the Node object and labels it; its delete drains the node and removes it,
 * and a control plane's etcd member, before the instance goes). Control planes join one at a
 * time, because etcd adds one member at a time; workers in parallel, as soon as init is done.
 */
import * as pulumi from "@pulumi/pulumi";
import type * as remote from "@pulumi/command/remote";
import { renderJoinConfig } from "../../render/kubeadmConfig";
import { renderKubeconfig } from "../../render/kubeconfigs";
import { renderSecretBundle } from "../../render/script";
import * as steps from "../../render/steps";
import { API_PORT } from "../apiLoadBalancer";
import { issueJoinCredential } from "../credentials";
import type { ClusterNode } from "../nodes";
import type { Pki } from "../pki";
import { BootstrapContext, TIMEOUTS } from "./context";

export interface JoinPhaseArgs {
  readonly init: remote.Command;
  /** On the bastion: the etcd members of instances that are gone leave before any CP joins. */
  readonly etcdPrune: remote.Command;
  readonly pki: Pki;
  /** Each node's prepare step, by node name. */
  readonly prepared: ReadonlyMap<string, remote.Command>;
  /** Every control plane, for the addresses a joining control plane may reach the API at. */
  readonly controlPlanes: readonly ClusterNode[];
  /**
   * What reaching the API through its private name needs (the name's record, the internal load
   * balancer's targets): worker joins and every step on the bastion wait for it.
   */
  readonly apiPath: readonly pulumi.Resource[];
  /** kubectl on the bastion. */
  readonly bastionTools: remote.Command;
  /** Deleting it deletes the cluster, so a node's removal is pointless then (a destroy). */
  readonly clusterAnchor: pulumi.Resource;
  /**
   * During a rolling upgrade, the end of the control planes' rollout: a node that joins now
   * runs the target version, and its kubelet must not be newer than the API servers.
   */
  readonly upgradedControlPlanes: readonly pulumi.Resource[];
}

interface JoinedNode {
  readonly join: remote.Command;
  readonly member: remote.Command;
}

/**
 * The join's stdin: the discovery kubeconfig (server: the private name), and for a control plane
 * the CA files, installed under /etc/kubernetes/pki before kubeadm runs.
 */
function joinBundle(ctx: BootstrapContext, node: ClusterNode, a: JoinPhaseArgs) {
  const credential = issueJoinCredential(
    node.name,
    { privateDns: node.privateDns, instanceId: node.instance.id },
    a.pki.clusterCa,
    ctx.parent,
  );
  const discovery = pulumi
    .all([node.privateDns, a.pki.clusterCa.certPem, credential.certPem, credential.keyPem])
    .apply(([nodeName, caCertPem, clientCertPem, clientKeyPem]) =>
      renderKubeconfig({
        clusterName: ctx.config.clusterName,
        server: `https://${ctx.apiEndpointHost}:${API_PORT}`,
        userName: `system:node:${nodeName}`,
        caCertPem,
        clientCertPem,
        clientKeyPem,
      }),
    );
  const files = node.role === "control-plane" ? a.pki.controlPlaneFiles() : pulumi.output({});
  return pulumi.secret(
    pulumi
      .all([discovery, files])
      .apply(([kubeconfig, pki]) => renderSecretBundle({ "discovery.conf": kubeconfig, ...pki })),
  );
}

/** kubeadm join on the node itself. */
function joinStep(
  ctx: BootstrapContext,
  node: ClusterNode,
  a: JoinPhaseArgs,
  after: pulumi.Resource[],
): remote.Command {
  const joinConfig = pulumi
    .all([ctx.settings, ctx.nodeSettings(node)])
    .apply(([s, n]) => renderJoinConfig(s, n, node.role));
  ctx.artifacts.set(`${node.name}/kubeadm-join.yaml`, joinConfig);
  // A joining control plane maps the API name to another control plane's address (the internal
  // load balancer may route it to itself, which an NLB with client IP preservation drops).
  const others = a.controlPlanes.filter((cp) => cp !== node).map((cp) => cp.privateIp);
  return ctx.step(`${node.name}-join`, {
    step: "join",
    target: ctx.target(node),
    tag: node.name,
    script: pulumi
      .all([joinConfig, node.privateDns, pulumi.all(others)])
      .apply(([rendered, nodeName, controlPlaneIps]) =>
        steps.renderJoin({
          role: node.role,
          nodeName,
          joinConfig: rendered,
          criSocket: ctx.criSocket,
          apiEndpointHost: ctx.apiEndpointHost,
          apiEndpointPort: API_PORT,
          controlPlaneIps: node.role === "control-plane" ? controlPlaneIps : [],
          timeoutSeconds: TIMEOUTS.kubeadm,
        }),
      ),
    stdin: joinBundle(ctx, node, a),
    triggers: [node.instance.id],
    dependsOn: [
      a.init,
      a.prepared.get(node.name)!,
      ...after,
      ...(node.role === "worker" ? a.apiPath : [a.etcdPrune]),
      ...a.upgradedControlPlanes,
    ],
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
    target: ctx.bastionTarget(),
    tag: node.name,
    script: node.privateDns.apply((nodeName) =>
      steps.renderRegisterNode({
        nodeName,
        role: node.role,
        timeoutSeconds: TIMEOUTS.registerNode,
      }),
    ),
    deleteScript: pulumi.all([node.privateDns, node.privateIp]).apply(([nodeName, nodeIp]) =>
      steps.renderRemoveNode({
        nodeName,
        nodeIp,
        role: node.role,
        drainTimeoutSeconds: TIMEOUTS.drain,
        apiWaitSeconds: TIMEOUTS.apiWait,
      }),
    ),
    stdin: ctx.operationsBundle,
    triggers: [node.instance.id],
    // A destroy deletes the VPC: the cluster goes with it, and nothing needs tidying over SSH.
    deletedWith: a.clusterAnchor,
    dependsOn: [join, a.bastionTools, ...a.apiPath, ...after],
  });
}

function joinNode(
  ctx: BootstrapContext,
  node: ClusterNode,
  a: JoinPhaseArgs,
  joinAfter: pulumi.Resource[],
  memberAfter: pulumi.Resource[],
): JoinedNode {
  const join = joinStep(ctx, node, a, joinAfter);
  return { join, member: memberStep(ctx, node, a, join, memberAfter) };
}

/**
 * Before the control planes join, on the bastion: removes the etcd members of instances that are
 * gone and do not answer (a dead control plane being replaced), which would make etcd refuse the
 * new member. Runs again whenever the set of control-plane instances changes; at creation it finds
 * nothing to do. It reaches the API servers at their own addresses: no load balancer involved.
 */
export function pruneEtcd(
  ctx: BootstrapContext,
  clusterName: string,
  controlPlanes: readonly ClusterNode[],
  dependsOn: pulumi.Resource[],
): remote.Command {
  return ctx.step(`${clusterName}-etcd-prune`, {
    step: "etcd-prune",
    target: ctx.bastionTarget(),
    tag: clusterName,
    script: pulumi.all(controlPlanes.map((cp) => cp.privateIp)).apply((controlPlaneIps) =>
      steps.renderEtcdPrune({
        controlPlaneIps,
        apiEndpointHost: ctx.apiEndpointHost,
        apiWaitSeconds: TIMEOUTS.etcdPruneApiWait,
      }),
    ),
    stdin: ctx.operationsBundle,
    triggers: controlPlanes.map((cp) => cp.instance.id),
    dependsOn,
  });
}

/**
 * Joins every control plane one at a time, cp-0 first (a no-op where init ran), and removes
 * them one at a time too: each member depends on the previous one, so deletes go in reverse
 * order. Returns every join and member.
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

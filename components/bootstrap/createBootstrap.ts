/**
 * Bootstrap: the chain of remote commands that turns instances into a cluster, one phase a file.
 *
 *   instance ─> wait-ready ─> prepare ─┬─> (cp0) init ─> cni ──────────────────────────┐
 *                                      │     ├─> creds(cp1) ─> join(cp1) ─> creds(cp2) ─> join(cp2)
 *                                      │     └─> creds(wN) ─> join(wN)   (workers in parallel)
 *   join(N) ─> member(N) [delete: drain, etcd member removal, Node deletion]  ──> cluster-ready ─> kubeconfig
 *
 * Credentials are made on the first control-plane node right before each join (a fresh token,
 * and for a control-plane join a fresh certificate upload), so a node added weeks later joins
 * like one added at creation.
 */
import type * as remote from "@pulumi/command/remote";
import type * as pulumi from "@pulumi/pulumi";
import type { ClusterConfig } from "../../config/clusterConfig";
import type { ClusterNode } from "../nodes";
import type { Pki } from "../pki";
import { waitForCluster } from "./clusterReady";
import { BootstrapContext } from "./context";
import { initCluster, installCni } from "./initCluster";
import { joinControlPlanes, joinWorkers } from "./joinNodes";
import { prepareNodes } from "./prepareNodes";

export { clusterSettings, TIMEOUTS } from "./context";

export interface BootstrapArgs {
  readonly config: ClusterConfig;
  readonly controlPlanes: readonly ClusterNode[];
  readonly workers: readonly ClusterNode[];
  readonly sshUser: string;
  readonly sshPrivateKey: pulumi.Output<string>;
  /** The load balancer's DNS name (controlPlaneEndpoint host). */
  readonly apiEndpointHost: pulumi.Output<string>;
  readonly pki: Pki;
  /** The network path and rules every SSH step needs (Network.pathResources). */
  readonly networkPath: readonly pulumi.Resource[];
  /** Resources init must wait for: cp0's load-balancer attachment (so health checks start). */
  readonly initDependsOn: pulumi.Resource[];
  /** Per node name, resources its join must wait for (its API ingress rule). */
  readonly joinDependsOn: ReadonlyMap<string, pulumi.Resource[]>;
  readonly parent: pulumi.Resource;
}

export interface BootstrapResult {
  readonly kubeconfig: pulumi.Output<string>;
  readonly clusterReady: remote.Command;
  /** Every command, by its resource name: used by tests and by the benchmark. */
  readonly commands: ReadonlyMap<string, remote.Command>;
  /** Rendered configuration files by relative path (`<node>/kubeadm-join.yaml`), for review. */
  readonly artifacts: ReadonlyMap<string, pulumi.Output<string>>;
}

export function createBootstrap(name: string, args: BootstrapArgs): BootstrapResult {
  const cp0 = args.controlPlanes[0];
  if (!cp0) throw new Error("the bootstrap needs at least one control-plane node");
  const ctx = new BootstrapContext(args);
  const nodes = [...args.controlPlanes, ...args.workers];

  const prepared = prepareNodes(ctx, nodes);
  const init = initCluster(ctx, cp0, args.pki, [prepared.get(cp0.name)!, ...args.initDependsOn]);
  const cni = installCni(ctx, name, cp0, init);
  const joinArgs = { cp0, init, pki: args.pki, prepared, joinDependsOn: args.joinDependsOn };
  const joined = [
    ...joinControlPlanes(ctx, args.controlPlanes.slice(1), joinArgs),
    ...joinWorkers(ctx, args.workers, joinArgs),
  ];
  const { clusterReady, kubeconfig } = waitForCluster(ctx, name, cp0, nodes, [cni, ...joined]);
  return { kubeconfig, clusterReady, commands: ctx.commands, artifacts: ctx.artifacts };
}

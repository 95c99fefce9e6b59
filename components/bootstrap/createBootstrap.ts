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
  /** The SSH proxy every step connects through. */
  readonly bastion: { readonly host: pulumi.Input<string>; readonly user: string };
  /** The cluster's fixed API name (controlPlaneEndpoint host). */
  readonly apiEndpointHost: string;
  readonly pki: Pki;
  /** The network path, rules and bastion every SSH step needs. */
  readonly networkPath: readonly pulumi.Resource[];
  /**
   * What a worker's join reaches the API through (the name's record, the internal load
   * balancer's targets): created before, deleted after. Nothing else waits for the API's path.
   */
  readonly workerJoinDependsOn: readonly pulumi.Resource[];
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
  const init = initCluster(ctx, cp0, args.pki, [prepared.get(cp0.name)!]);
  const cni = installCni(ctx, name, cp0, init);
  const joinArgs = {
    cp0,
    init,
    pki: args.pki,
    prepared,
    workerJoinDependsOn: args.workerJoinDependsOn,
  };
  const joined = [
    ...joinControlPlanes(ctx, args.controlPlanes.slice(1), joinArgs),
    ...joinWorkers(ctx, args.workers, joinArgs),
  ];
  const { clusterReady, kubeconfig } = waitForCluster(ctx, name, cp0, nodes, [cni, ...joined]);
  return { kubeconfig, clusterReady, commands: ctx.commands, artifacts: ctx.artifacts };
}

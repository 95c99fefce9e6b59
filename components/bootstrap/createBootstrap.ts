/**
 * Bootstrap: the chain of remote commands that turns instances into a cluster, one phase a file.
 *
 *   bastion ─> wait-ready ─> bastion-tools (kubectl) ──────┬──────────────┐
 *   instance ─> wait-ready ─> prepare ─┬─> init (once, on the first cp-0) ─> cni (bastion)
 *                                      │     └─> etcd-prune (bastion) ─┐
 *                                      ├─> join(cp0) ─> join(cp1) ─> join(cp2)   (one at a time)
 *                                      └─> join(wN)                               (in parallel)
 *   join(N) ─> member(N) (bastion) [delete: drain, etcd member removal, Node deletion]
 *   init ─> cloud-controller (bastion, helm) ─> ebs-csi (after cni)      (cloudProvider aws)
 *   join(cpN) ─> timers(cpN): the etcd snapshot and certificate renewal jobs (systemd timers)
 *   cni, the add-ons, every member, every timers ─> cluster-ready (bastion)
 *   the add-ons, every member ─> release-cloud-resources (bastion; its delete runs first in a
 *     destroy: LoadBalancer Services and volumes released while the controllers still run)
 *   only while a kubernetesVersion change is pending (upgradeCluster.ts): upgrade-preflight ─>
 *     each control plane in turn ─> the workers in batches; new joins and the cloud controller
 *     wait for the control planes, cluster-ready for everything
 *   only while an instance-type or image change is pending (rollNodes.ts): per node in turn,
 *     roll-drain ─> the instance changes ─> roll-restore
 *
 * No step asks a node for anything: each join gets its credentials from the program on stdin,
 * and every cluster-level step runs on the bastion with the program's own kubeconfig. A node
 * added or replaced weeks later, cp-0 included, joins exactly like one added at creation.
 */
import type * as remote from "@pulumi/command/remote";
import * as pulumi from "@pulumi/pulumi";
import type { ClusterConfig } from "../../config/clusterConfig";
import { describeRoll, RollPlan } from "../../config/rollPlan";
import { describeUpgrade, UpgradePlan } from "../../config/upgradePlan";
import type { ClusterNode } from "../nodes";
import type { Pki } from "../pki";
import { waitForCluster } from "./clusterReady";
import {
  installCloudController,
  installEbsCsi,
  releaseCloudResourcesOnDestroy,
} from "./cloudResources";
import { BastionAccess, BootstrapContext } from "./context";
import { initCluster, installCni } from "./initCluster";
import { joinControlPlanes, joinWorkers, pruneEtcd } from "./joinNodes";
import { prepareBastion } from "./prepareBastion";
import { prepareNodes } from "./prepareNodes";
import { BackupTarget, installControlPlaneJobs } from "./controlPlaneJobs";
import { RollGate, rollNodes } from "./rollNodes";
import { RolloutResult, upgradeCluster } from "./upgradeCluster";

export { clusterSettings, TIMEOUTS } from "./context";

export interface BootstrapArgs {
  readonly config: ClusterConfig;
  readonly controlPlanes: readonly ClusterNode[];
  readonly workers: readonly ClusterNode[];
  readonly sshUser: string;
  readonly sshPrivateKey: pulumi.Output<string>;
  /** The SSH proxy of every node step, and where cluster-level steps run. */
  readonly bastion: BastionAccess;
  /** The cluster's fixed API name (controlPlaneEndpoint host). */
  readonly apiEndpointHost: string;
  readonly pki: Pki;
  /** The program's own kubeconfig (server: the private name), for the steps on the bastion. */
  readonly operationsKubeconfig: pulumi.Output<string>;
  /** The network path, rules and bastion every SSH step needs. */
  readonly networkPath: readonly pulumi.Resource[];
  /**
   * What reaching the API through its private name needs (the name's record, the internal load
   * balancer's targets): created before, deleted after, the worker joins and the bastion steps.
   */
  readonly apiPath: readonly pulumi.Resource[];
  /** Deleting it deletes the whole cluster (the VPC): node removals are skipped then. */
  readonly clusterAnchor: pulumi.Resource;
  /** The region, for the EBS CSI controller (which then needs no metadata to find it). */
  readonly region: string;
  /** The rolling upgrade a pending `kubernetesVersion` change asks for (config/upgradePlan.ts). */
  readonly upgrade?: UpgradePlan;
  /** The rolling node change a pending instance-type or image change asks for, with its gates. */
  readonly roll?: { readonly plan: RollPlan; readonly gates: ReadonlyMap<string, RollGate> };
  /** Where the control planes put etcd snapshots (absent: etcdBackup.enabled is false). */
  readonly backups?: BackupTarget;
  readonly parent: pulumi.Resource;
}

export interface BootstrapResult {
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

  const bastionTools = prepareBastion(ctx, name);
  const prepared = prepareNodes(ctx, nodes);
  const init = initCluster(ctx, cp0, args.pki, [prepared.get(cp0.name)!]);
  const cni = installCni(ctx, name, [init, bastionTools, ...args.apiPath]);
  const etcdPrune = pruneEtcd(ctx, name, args.controlPlanes, [init, bastionTools]);
  const rollout: RolloutResult = args.upgrade
    ? upgradeCluster(ctx, name, {
        plan: args.upgrade,
        nodes: new Map(nodes.map((n) => [n.name, n])),
        prepared,
        bastionReady: [bastionTools, ...args.apiPath],
      })
    : { controlPlanesDone: [], all: [] };
  if (args.upgrade) {
    const described = describeUpgrade(args.upgrade).join("\n");
    ctx.artifacts.set("upgrade-plan.txt", pulumi.output(`${described}\n`));
    // The preview's diagnostics say which nodes the rollout touches, and in what order.
    void pulumi.log.info(described);
  }
  const joinArgs = {
    init,
    etcdPrune,
    pki: args.pki,
    prepared,
    controlPlanes: args.controlPlanes,
    apiPath: args.apiPath,
    bastionTools,
    clusterAnchor: args.clusterAnchor,
    upgradedControlPlanes: rollout.controlPlanesDone,
  };
  const joined = [
    ...joinControlPlanes(ctx, args.controlPlanes, joinArgs),
    ...joinWorkers(ctx, args.workers, joinArgs),
  ];
  // cloudProvider aws: the cloud controller as soon as the API answers (nodes stay tainted
  // until it initialises them), the EBS CSI driver once pods have a network.
  const cloud =
    args.config.cloudProvider === "aws"
      ? (() => {
          const controller = installCloudController(ctx, name, [
            init,
            bastionTools,
            ...args.apiPath,
            ...rollout.controlPlanesDone,
          ]);
          return [controller, installEbsCsi(ctx, name, args.region, [cni, controller])];
        })()
      : [];
  const jobs = installControlPlaneJobs(ctx, args.controlPlanes, args.backups);
  const rolled = args.roll
    ? rollNodes(ctx, {
        plan: args.roll.plan,
        gates: args.roll.gates,
        nodes: new Map(nodes.map((n) => [n.name, n])),
        bastionTools,
      })
    : [];
  if (args.roll) {
    const described = describeRoll(args.roll.plan).join("\n");
    ctx.artifacts.set("roll-plan.txt", pulumi.output(`${described}\n`));
    void pulumi.log.info(described);
  }
  const clusterReady = waitForCluster(ctx, name, nodes, [
    cni,
    ...cloud,
    ...joined,
    ...rollout.all,
    ...rolled,
    ...jobs,
  ]);
  // Beside cluster-ready, not after it: it needs every node and add-on to be there (so a destroy
  // deletes it before any of them), and its create only reports.
  if (cloud.length > 0) releaseCloudResourcesOnDestroy(ctx, name, [...cloud, ...joined]);
  return { clusterReady, commands: ctx.commands, artifacts: ctx.artifacts };
}

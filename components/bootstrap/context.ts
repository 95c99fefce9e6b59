/**
 * What every bootstrap phase shares: the validated config, how to reach a node (through the
 * bastion) and the bastion itself over SSH, the kubeadm settings of the cluster and of each node,
 * and `step()`, which creates one guest step as a `remote.Command` and records it (tests, the
 * benchmark and the render tool read the record).
 */
import type * as remote from "@pulumi/command/remote";
import * as pulumi from "@pulumi/pulumi";
import { ClusterConfig, DEFAULTS, NodeRole } from "../../config/clusterConfig";
import { hostFirewallPorts } from "../../config/firewallRules";
import { packageManagerOf } from "../../config/osFamily";
import { ClusterSettings, CRI_SOCKETS, NodeSettings } from "../../render/kubeadmConfig";
import type { PackageManager, RhelHostSettings } from "../../render/steps";
import { API_PORT } from "../apiLoadBalancer";
import type { ClusterNode } from "../nodes";
import { renderSecretBundle } from "../../render/script";
import { remoteStep, RemoteStepArgs, SshTarget } from "../remoteStep";

/** Timeouts, in seconds unless named otherwise. */
export const TIMEOUTS = {
  waitReady: 900,
  kubeadm: 600,
  cni: 600,
  clusterReady: 900,
  registerNode: 300,
  drain: 90,
  apiWait: 20,
  /** Each AWS add-on's install and roll-out. */
  addons: 600,
  /** A destroy waits this long for the controllers to remove their load balancers and volumes. */
  releaseCloudResources: 300,
  /** Right after init the API answers at once; when replacing, the survivors answer at once too. */
  etcdPruneApiWait: 300,
  /** A rolling upgrade's drain of one node (PodDisruptionBudgets respected). */
  upgradeDrain: 300,
  /** kubeadm upgrade apply|node on one node, and its kubelet coming back. */
  upgradeNode: 900,
  /** An upgraded node Ready at the target version. */
  upgradeRestore: 600,
} as const;

/** The kubeadm settings shared by every node of the cluster. */
export function clusterSettings(config: ClusterConfig, endpointHost: string): ClusterSettings {
  return {
    kubernetesVersion: config.kubernetesVersion,
    clusterName: config.clusterName,
    controlPlaneEndpoint: `${endpointHost}:${API_PORT}`,
    // renderInitConfig always adds the endpoint host; no other names are needed.
    certSANs: [],
    podSubnet: config.podCidr,
    serviceSubnet: config.serviceCidr,
    criSocket: CRI_SOCKETS[config.containerRuntime],
    externalCloudProvider: config.cloudProvider === "aws",
  };
}

export interface BootstrapContextArgs {
  readonly config: ClusterConfig;
  readonly sshUser: string;
  readonly sshPrivateKey: pulumi.Output<string>;
  /** The SSH proxy every node step connects through, where cluster-level steps run. */
  readonly bastion: BastionAccess;
  /** The cluster's fixed API name (controlPlaneEndpoint host). */
  readonly apiEndpointHost: string;
  /** The kubeconfig of the program's own identity (credentials.ts), for steps on the bastion. */
  readonly operationsKubeconfig: pulumi.Output<string>;
  /** The network path and rules every SSH step needs; each step depends on all of them. */
  readonly networkPath: readonly pulumi.Resource[];
  readonly parent: pulumi.Resource;
}

export interface BastionAccess {
  readonly host: pulumi.Input<string>;
  readonly user: string;
  /** A replaced bastion runs its own steps again. */
  readonly instanceId: pulumi.Input<string>;
}

export class BootstrapContext {
  readonly config: ClusterConfig;
  readonly criSocket: string;
  /**
   * apt or dnf, from the OS of the nodes and the bastion (config/osFamily.ts): the package
   * library of the steps that install packages.
   */
  readonly packageManager: PackageManager;
  readonly settings: pulumi.Output<ClusterSettings>;
  /** Every command, by its resource name. */
  readonly commands = new Map<string, remote.Command>();
  /** Rendered configuration files by relative path (`<node>/kubeadm-join.yaml`), for review. */
  readonly artifacts = new Map<string, pulumi.Output<string>>();
  /** The fixed API name, `api.<cluster>.k8s.internal`. */
  readonly apiEndpointHost: string;
  /** Stdin of a step on the bastion: the operations kubeconfig, kept in tmpfs while it runs. */
  readonly operationsBundle: pulumi.Output<string>;

  constructor(private readonly args: BootstrapContextArgs) {
    this.config = args.config;
    this.criSocket = CRI_SOCKETS[args.config.containerRuntime];
    this.packageManager = packageManagerOf(args.config.os);
    this.apiEndpointHost = args.apiEndpointHost;
    this.settings = pulumi.output(clusterSettings(args.config, args.apiEndpointHost));
    this.operationsBundle = pulumi.secret(
      args.operationsKubeconfig.apply((kubeconfig) => renderSecretBundle({ kubeconfig })),
    );
  }

  /**
   * What prepare does about SELinux and firewalld on a node of `role` with a dnf OS (undefined
   * with apt): the config's modes, and the ports the role's security groups admit
   * (config/firewallRules.ts hostFirewallPorts), for firewalld to open with `cluster-ports`.
   */
  rhelSettings(role: NodeRole): RhelHostSettings | undefined {
    if (this.packageManager !== "dnf") return undefined;
    return {
      selinux: this.config.selinux ?? DEFAULTS.selinux,
      firewalld: this.config.firewalld ?? DEFAULTS.firewalld,
      firewallPorts: hostFirewallPorts(role, this.config),
    };
  }

  /** How Pulumi's SSH reaches a node: its private address, through the bastion. */
  target(node: ClusterNode): SshTarget {
    return {
      host: node.privateIp,
      user: this.args.sshUser,
      privateKey: this.args.sshPrivateKey,
      proxy: { host: this.args.bastion.host, user: this.args.bastion.user },
    };
  }

  /** The bastion itself, where cluster-level steps run: no node is needed for any of them. */
  bastionTarget(): SshTarget {
    return {
      host: this.args.bastion.host,
      user: this.args.bastion.user,
      privateKey: this.args.sshPrivateKey,
    };
  }

  /** The component every bootstrap resource belongs to. */
  get parent(): pulumi.Resource {
    return this.args.parent;
  }

  get bastionInstanceId(): pulumi.Input<string> {
    return this.args.bastion.instanceId;
  }

  /** The node-local kubeadm settings: its Kubernetes name and the address its API binds. */
  nodeSettings(node: ClusterNode): pulumi.Output<NodeSettings> {
    return pulumi
      .all([node.privateDns, node.privateIp])
      .apply(([nodeName, advertiseAddress]) => ({ nodeName, advertiseAddress }));
  }

  /**
   * Creates one guest step and records it under its resource name. Every step depends on the
   * network path, so no gateway, route or rule it needs is deleted before it (destroy order,
   * and a failed delete keeps its path for the retry).
   */
  step(resourceName: string, stepArgs: Omit<RemoteStepArgs, "parent">): remote.Command {
    const command = remoteStep(resourceName, {
      ...stepArgs,
      dependsOn: [...(stepArgs.dependsOn ?? []), ...this.args.networkPath],
      parent: this.args.parent,
    });
    this.commands.set(resourceName, command);
    return command;
  }
}

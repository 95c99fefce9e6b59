/**
 * KubeadmCluster: the whole cluster as one component. It validates its input with the same
 * rules as the stack config, then composes Pki, Network, ApiLoadBalancer, Nodes and the
 * bootstrap chain. Another Pulumi program can import it and pass its own configuration;
 * `createKubeadmCluster` (createCluster.ts) runs the checks that must come first:
 *
 *   const config = validateClusterConfig({ sshIngressCidrs: ["203.0.113.10/32"] });
 *   const cluster = await createKubeadmCluster(config);
 */
import type * as remote from "@pulumi/command/remote";
import * as pulumi from "@pulumi/pulumi";
import { ApiLoadBalancer } from "./apiLoadBalancer";
import { MY_IP, usesMyIp } from "../config/callerIp";
import { createBootstrap } from "./bootstrap/createBootstrap";
import { ClusterConfig, ClusterConfigInput, validateClusterConfig } from "../config/clusterConfig";
import { buildRecord, DeploymentRecord } from "../config/deploymentRecord";
import { sshUserFor } from "../config/images";
import { typeToken } from "./naming";
import { Network } from "./network";
import { ClusterNode, Nodes } from "./nodes";
import { Pki } from "./pki";
import type { PreflightResult } from "./preflight";
import { allowNodeToApi } from "./securityGroupRules";

export interface KubeadmClusterArgs {
  /** The cluster configuration; validated again here, so a plain object is fine. */
  readonly config: ClusterConfig | ClusterConfigInput;
  /** The result of `preflight(config)`: architectures, zones and each node's zone. */
  readonly preflight: PreflightResult;
}

/** What the stack exports for each node. */
export interface NodeSummary {
  readonly name: string;
  readonly role: string;
  readonly availabilityZone: string;
  readonly privateIp: string;
  readonly publicIp: string;
  readonly nodeName: string;
}

export class KubeadmCluster extends pulumi.ComponentResource {
  public readonly config: ClusterConfig;
  /** `https://<nlb-dns>:6443`. */
  public readonly apiEndpoint: pulumi.Output<string>;
  public readonly vpcId: pulumi.Output<string>;
  public readonly nodes: pulumi.Output<NodeSummary[]>;
  public readonly sshUser: string;
  /** OpenSSH private key for `ssh <sshUser>@<publicIp>` (secret). */
  public readonly sshPrivateKey: pulumi.Output<string>;
  /** Admin kubeconfig whose server is the load balancer (secret). */
  public readonly kubeconfig: pulumi.Output<string>;
  /**
   * What this deployment built, for the next run's checks: export it as the stack output
   * `deploymentRecord` (index.ts does), or pass it back through `createKubeadmCluster`'s
   * `readPrevious`.
   */
  public readonly deploymentRecord: DeploymentRecord;
  /** Child components, for programs that want to build on them. */
  public readonly network: Network;
  public readonly apiLoadBalancer: ApiLoadBalancer;
  public readonly machines: Nodes;
  /** Every bootstrap command by resource name (tests, the benchmark and the render tool use it). */
  public readonly bootstrapCommands: ReadonlyMap<string, remote.Command>;
  /** Rendered kubeadm/CNI configuration files by relative path, for review (`npm run render`). */
  public readonly bootstrapArtifacts: ReadonlyMap<string, pulumi.Output<string>>;

  constructor(name: string, args: KubeadmClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super(typeToken("KubeadmCluster"), name, {}, opts);
    const config = validateClusterConfig(args.config as ClusterConfigInput, pulumi.getStack());
    this.config = config;
    if (usesMyIp(config)) {
      throw new Error(
        `the ingress CIDRs contain ${MY_IP}: resolve it first with resolveMyIp(config)`,
      );
    }
    const { availabilityZones: zones, placement } = args.preflight;
    if (zones.length !== config.availabilityZoneCount) {
      throw new Error(
        `preflight returned ${zones.length} zones but availabilityZoneCount is ${config.availabilityZoneCount}`,
      );
    }
    this.deploymentRecord = buildRecord(config, args.preflight.region, zones, placement);

    const pki = new Pki(`${name}-pki`, { clusterName: config.clusterName }, { parent: this });

    this.network = new Network(
      `${name}-net`,
      {
        clusterName: config.clusterName,
        vpcCidr: config.vpcCidr,
        availabilityZones: zones,
        cni: config.cni,
        sshIngressCidrs: config.sshIngressCidrs,
        apiIngressCidrs: config.apiIngressCidrs,
        nodePortIngressCidrs: config.nodePortIngressCidrs,
      },
      { parent: this },
    );
    const sg = this.network.securityGroups;

    this.apiLoadBalancer = new ApiLoadBalancer(
      `${name}-api`,
      {
        clusterName: config.clusterName,
        vpcId: this.network.vpcId,
        subnetIds: this.network.subnetIds,
        securityGroupId: sg.apiLb,
      },
      { parent: this },
    );

    this.machines = new Nodes(
      `${name}-nodes`,
      {
        clusterName: config.clusterName,
        os: config.os,
        amiId: config.amiId,
        subnetIds: this.network.subnetIds,
        availabilityZones: this.network.availabilityZones,
        sshPublicKey: pki.sshPublicKey,
        controlPlane: {
          ...config.controlPlane,
          architecture: args.preflight.controlPlaneArch,
          securityGroupIds: [sg.nodes, sg.controlPlane],
          zoneIndexes: placement.controlPlane,
        },
        workers: {
          ...config.workers,
          architecture: args.preflight.workerArch,
          securityGroupIds: [sg.nodes],
          zoneIndexes: placement.workers,
        },
      },
      { parent: this },
    );
    const allNodes: ClusterNode[] = [...this.machines.controlPlanes, ...this.machines.workers];

    // Every control plane behind the API; every node allowed to reach it through the NLB.
    const attachments = this.machines.controlPlanes.map((cp) =>
      this.apiLoadBalancer.attach(`${cp.name}-api-target`, cp.instance.id),
    );
    const joinDependsOn = new Map<string, pulumi.Resource[]>();
    for (const node of allNodes) {
      const rule = allowNodeToApi(
        `${node.name}-api-ingress`,
        { clusterName: config.clusterName, apiLbGroupId: sg.apiLb, publicIp: node.publicIp },
        { parent: this },
      );
      const attachment = attachments[this.machines.controlPlanes.indexOf(node)];
      joinDependsOn.set(node.name, attachment ? [rule, attachment] : [rule]);
    }

    this.sshUser = sshUserFor(config.os);
    this.sshPrivateKey = pki.sshPrivateKey;
    const bootstrap = createBootstrap(name, {
      config,
      controlPlanes: this.machines.controlPlanes,
      workers: this.machines.workers,
      sshUser: this.sshUser,
      sshPrivateKey: pki.sshPrivateKey,
      apiEndpointHost: this.apiLoadBalancer.dnsName,
      pki,
      networkPath: this.network.pathResources,
      initDependsOn: [attachments[0]!, ...(joinDependsOn.get(allNodes[0]!.name) ?? [])],
      joinDependsOn,
      parent: this,
    });

    this.kubeconfig = bootstrap.kubeconfig;
    this.bootstrapCommands = bootstrap.commands;
    this.bootstrapArtifacts = bootstrap.artifacts;
    this.apiEndpoint = pulumi.interpolate`https://${this.apiLoadBalancer.dnsName}:6443`;
    this.vpcId = this.network.vpcId;
    this.nodes = pulumi.all(
      allNodes.map((n) =>
        pulumi
          .all([n.privateIp, n.publicIp, n.privateDns])
          .apply(([privateIp, publicIp, nodeName]) => ({
            name: n.name,
            role: n.role,
            availabilityZone: n.availabilityZone,
            privateIp,
            publicIp,
            nodeName,
          })),
      ),
    );
    this.registerOutputs({
      apiEndpoint: this.apiEndpoint,
      vpcId: this.vpcId,
      nodes: this.nodes,
      sshUser: this.sshUser,
      sshPrivateKey: this.sshPrivateKey,
      kubeconfig: this.kubeconfig,
      deploymentRecord: this.deploymentRecord,
    });
  }
}

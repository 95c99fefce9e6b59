/**
 * ClusterApi: how everything reaches the Kubernetes API.
 * - The internal load balancer, with every control plane behind it, in the node subnets.
 * - The fixed private name `api.<cluster>.k8s.internal` (ApiDns), an alias of it: the
 *   controlPlaneEndpoint, which every kubelet, kube-proxy and CNI agent uses.
 * - With publicApi, an internet-facing load balancer for operators, open to apiIngressCidrs
 *   only; the exported kubeconfig names it, with tls-server-name set to the private name.
 *   Without, the kubeconfig names the private name: reachable inside the VPC (a VPN, peering,
 *   the bastion), or through an SSH tunnel (README: "Reaching the API").
 * Neither `kubeadm init` nor a control-plane join waits for any of this: they map the name in
 * /etc/hosts. Only worker joins need it, and they poll the name until it answers.
 */
import type * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { ClusterConfig } from "../config/clusterConfig";
import type { GroupName } from "../config/firewallRules";
import { ApiDns } from "./apiDns";
import { API_PORT, ApiLoadBalancer } from "./apiLoadBalancer";
import { typeToken } from "./naming";
import type { ClusterNode } from "./nodes";

export interface ClusterApiArgs {
  readonly config: ClusterConfig;
  readonly vpcId: pulumi.Input<string>;
  readonly nodeSubnetIds: pulumi.Input<string>[];
  readonly publicSubnetIds: pulumi.Input<string>[];
  readonly securityGroups: Readonly<Partial<Record<GroupName, pulumi.Output<string>>>>;
  readonly controlPlanes: readonly ClusterNode[];
}

export class ClusterApi extends pulumi.ComponentResource {
  /** api.<cluster>.k8s.internal */
  public readonly privateName: string;
  /** `https://api.<cluster>.k8s.internal:6443`, the controlPlaneEndpoint. */
  public readonly privateEndpoint: string;
  public readonly internal: ApiLoadBalancer;
  public readonly public?: ApiLoadBalancer;
  /** The server the exported kubeconfig names. */
  public readonly operatorServer: pulumi.Output<string>;
  /** What a worker's join reaches the API through: the name's record and the targets. */
  public readonly workerPath: pulumi.Resource[];

  constructor(name: string, args: ClusterApiArgs, opts?: pulumi.ComponentResourceOptions) {
    super(typeToken("ClusterApi"), name, {}, opts);
    const { config } = args;
    const parent = { parent: this };
    const attachAll = (lb: ApiLoadBalancer, suffix: string): aws.lb.TargetGroupAttachment[] =>
      args.controlPlanes.map((cp) => lb.attach(`${cp.name}-${suffix}`, cp.instance.id));

    this.internal = new ApiLoadBalancer(
      `${config.clusterName}-api-int`,
      {
        clusterName: config.clusterName,
        internal: true,
        vpcId: args.vpcId,
        subnetIds: args.nodeSubnetIds,
        securityGroupId: args.securityGroups.apiInternal!,
      },
      parent,
    );
    const internalTargets = attachAll(this.internal, "api-int");
    const dns = new ApiDns(
      `${config.clusterName}-api-dns`,
      {
        clusterName: config.clusterName,
        vpcId: args.vpcId,
        loadBalancerDnsName: this.internal.dnsName,
        loadBalancerZoneId: this.internal.zoneId,
      },
      parent,
    );
    this.privateName = dns.name;
    this.privateEndpoint = `https://${dns.name}:${API_PORT}`;
    this.workerPath = [dns.record, ...internalTargets];

    if (config.publicApi) {
      this.public = new ApiLoadBalancer(
        `${config.clusterName}-api`,
        {
          clusterName: config.clusterName,
          internal: false,
          vpcId: args.vpcId,
          subnetIds: args.publicSubnetIds,
          securityGroupId: args.securityGroups.apiPublic!,
        },
        parent,
      );
      attachAll(this.public, "api-public");
      this.operatorServer = pulumi.interpolate`https://${this.public.dnsName}:${API_PORT}`;
    } else {
      this.operatorServer = pulumi.output(this.privateEndpoint);
    }
    this.registerOutputs({ privateName: this.privateName, operatorServer: this.operatorServer });
  }
}

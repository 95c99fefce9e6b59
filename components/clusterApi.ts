/**
 * ClusterApi: how everything reaches the Kubernetes API.
 * - The internal load balancer, with every control plane behind it, in the node subnets.
 * - The fixed private name `api.<cluster>.k8s.internal` (ApiDns), an alias of it: the
 *   controlPlaneEndpoint, which every kubelet, kube-proxy and CNI agent uses.
 * - With publicApi, an internet-facing load balancer for operators, open to apiIngressCidrs
 *   only; the exported kubeconfig names it, with tls-server-name set to the private name.
 *   Without, the kubeconfig names https://127.0.0.1:6443 for an SSH tunnel through the bastion.
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

/** Where the kubeconfig points without a public load balancer: an operator's SSH tunnel. */
export const TUNNEL_SERVER = `https://127.0.0.1:${API_PORT}`;

export class ClusterApi extends pulumi.ComponentResource {
  /** api.<cluster>.k8s.internal */
  public readonly privateName: string;
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
      this.operatorServer = pulumi.output(TUNNEL_SERVER);
    }
    this.registerOutputs({ privateName: this.privateName, operatorServer: this.operatorServer });
  }
}

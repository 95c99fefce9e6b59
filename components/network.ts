/**
 * Network: a VPC, one public subnet per availability zone (zone index k in subnet slot k, fixed
 * for life: see config/cidr.ts), an internet gateway and its route, and the security groups of
 * the cluster with exactly the ports kubeadm and the CNI need.
 *
 * `pathResources` lists everything the SSH steps' path and work depend on (gateway, route, route
 * table associations, every rule). Every remote step depends on all of them, so the engine
 * deletes none of them before the steps, and keeps them when a step's delete fails (its
 * transitive dependencies are held back: deployment_executor.go, erroredDeps).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { nodeSubnetCidr } from "../config/cidr";
import type { CniName } from "../config/clusterConfig";
import { clusterTags, typeToken } from "./naming";
import { createSecurityGroupRules, SecurityGroups } from "./securityGroupRules";

export interface NetworkArgs {
  readonly clusterName: string;
  readonly vpcCidr: string;
  /** Zone names by zone index; one subnet per zone, in the zone index's slot. */
  readonly availabilityZones: readonly string[];
  readonly cni: CniName;
  readonly sshIngressCidrs: readonly string[];
  readonly apiIngressCidrs: readonly string[];
  readonly nodePortIngressCidrs: readonly string[];
}

export class Network extends pulumi.ComponentResource {
  public readonly vpcId: pulumi.Output<string>;
  public readonly subnetIds: pulumi.Output<string>[];
  /** Subnet CIDRs, index-aligned with `subnetIds` and `availabilityZones`. */
  public readonly subnetCidrs: string[];
  public readonly availabilityZones: readonly string[];
  public readonly securityGroups: SecurityGroups;
  /** The network path and rules every SSH step needs (see the file comment). */
  public readonly pathResources: pulumi.Resource[];

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super(typeToken("Network"), name, {}, opts);
    const tags = (extra: Record<string, string>) => clusterTags(args.clusterName, extra);

    const vpc = new aws.ec2.Vpc(
      `${name}-vpc`,
      {
        cidrBlock: args.vpcCidr,
        // Private DNS names (ip-10-0-0-10.ec2.internal) are the Kubernetes node names.
        enableDnsHostnames: true,
        enableDnsSupport: true,
        tags: tags({ Name: `${args.clusterName}-vpc` }),
      },
      { parent: this },
    );

    const igw = new aws.ec2.InternetGateway(
      `${name}-igw`,
      { vpcId: vpc.id, tags: tags({ Name: `${args.clusterName}-igw` }) },
      { parent: this },
    );

    const routeTable = new aws.ec2.RouteTable(
      `${name}-public`,
      { vpcId: vpc.id, tags: tags({ Name: `${args.clusterName}-public` }) },
      { parent: this },
    );
    const route = new aws.ec2.Route(
      `${name}-default-route`,
      { routeTableId: routeTable.id, destinationCidrBlock: "0.0.0.0/0", gatewayId: igw.id },
      { parent: this },
    );

    this.subnetCidrs = args.availabilityZones.map((_, i) => nodeSubnetCidr(args.vpcCidr, i));
    this.availabilityZones = args.availabilityZones;
    const associations: pulumi.Resource[] = [];
    this.subnetIds = args.availabilityZones.map((az, i) => {
      const subnet = new aws.ec2.Subnet(
        `${name}-public-${i}`,
        {
          vpcId: vpc.id,
          availabilityZone: az,
          cidrBlock: this.subnetCidrs[i]!,
          mapPublicIpOnLaunch: true,
          tags: tags({ Name: `${args.clusterName}-public-${az}` }),
        },
        { parent: this },
      );
      associations.push(
        new aws.ec2.RouteTableAssociation(
          `${name}-public-${i}`,
          { subnetId: subnet.id, routeTableId: routeTable.id },
          { parent: this },
        ),
      );
      return subnet.id;
    });

    this.securityGroups = createSecurityGroupRules(name, {
      clusterName: args.clusterName,
      vpcId: vpc.id,
      cni: args.cni,
      sshIngressCidrs: args.sshIngressCidrs,
      apiIngressCidrs: args.apiIngressCidrs,
      nodePortIngressCidrs: args.nodePortIngressCidrs,
      parent: this,
    });

    this.pathResources = [igw, route, ...associations, ...this.securityGroups.rules.values()];
    this.vpcId = vpc.id;
    this.registerOutputs({
      vpcId: this.vpcId,
      subnetIds: this.subnetIds,
      securityGroups: this.securityGroups,
    });
  }
}

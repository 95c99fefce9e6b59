/**
 * Network: a VPC with one node subnet per availability zone (zone index k in subnet slot k, fixed
 * for life: config/cidr.ts), an internet gateway, and the security groups of the cluster.
 *
 * - topology public: the node subnets are public (nodes get public addresses for egress only;
 *   their security group admits nothing from the internet), and hold the bastion and the
 *   public load balancer too. No NAT cost.
 * - topology private: the node subnets are private and reach the internet through NAT gateways
 *   (natGateways.ts) in small public "edge" subnets, which also hold the bastion and the public
 *   load balancer. No node has a public address.
 *
 * `pathResources` lists everything the SSH steps' path and work depend on (gateway, routes,
 * route table associations, NAT gateways, every rule). Every remote step depends on all of them,
 * so the engine deletes none of them before the steps, and keeps them when a step's delete fails
 * (its transitive dependencies are held back: pulumi v3.248.0 deployment_executor.go, erroredDeps).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { edgeSubnetCidr, nodeSubnetCidr } from "../config/cidr";
import type { CniName, NatGatewayMode, Topology } from "../config/clusterConfig";
import { createNatGateways } from "./natGateways";
import { clusterTags, kubernetesClusterTag, subnetRoleTags, typeToken } from "./naming";
import { createSecurityGroupRules, SecurityGroups } from "./securityGroupRules";

export interface NetworkArgs {
  readonly clusterName: string;
  readonly vpcCidr: string;
  /** Zone names by zone index; one node subnet per zone, in the zone index's slot. */
  readonly availabilityZones: readonly string[];
  readonly topology: Topology;
  readonly natGateways: NatGatewayMode;
  readonly cni: CniName;
  readonly publicApi: boolean;
  readonly sshIngressCidrs: readonly string[];
  readonly apiIngressCidrs: readonly string[];
  readonly nodePortIngressCidrs: readonly string[];
}

export class Network extends pulumi.ComponentResource {
  /** The resource whose deletion means the cluster goes too (what removal steps are deletedWith). */
  public readonly vpc: aws.ec2.Vpc;
  public readonly vpcId: pulumi.Output<string>;
  /** The subnets the nodes and the internal load balancer use, by zone index. */
  public readonly nodeSubnetIds: pulumi.Output<string>[];
  /** Node subnet CIDRs, by zone index. */
  public readonly nodeSubnetCidrs: string[];
  /** Every subnet (node and edge): load balancers Kubernetes makes live in them. */
  public readonly subnets: aws.ec2.Subnet[] = [];
  /**
   * What the load balancers and volumes Kubernetes makes live in, or hold on to: the VPC, its
   * subnets and security groups, and the internet gateway (a public load balancer's addresses
   * keep it from detaching). The destroy sweep runs before any of these go.
   */
  public readonly cloudResourceScope: pulumi.Resource[];
  /** Public subnets, by zone index: the bastion's and the public load balancer's. */
  public readonly publicSubnetIds: pulumi.Output<string>[];
  public readonly availabilityZones: readonly string[];
  public readonly securityGroups: SecurityGroups;
  /** The network path and rules every SSH step needs (see the file comment). */
  public readonly pathResources: pulumi.Resource[];

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super(typeToken("Network"), name, {}, opts);
    const tags = (extra: Record<string, string>) => clusterTags(args.clusterName, extra);
    const parent = { parent: this };
    const priv = args.topology === "private";

    const vpc = new aws.ec2.Vpc(
      `${name}-vpc`,
      {
        cidrBlock: args.vpcCidr,
        // Private DNS names (ip-10-0-0-10.ec2.internal) are the Kubernetes node names, and the
        // private hosted zone of the API name needs the VPC's DNS.
        enableDnsHostnames: true,
        enableDnsSupport: true,
        tags: tags({ Name: `${args.clusterName}-vpc` }),
      },
      parent,
    );
    this.vpc = vpc;
    const igw = new aws.ec2.InternetGateway(
      `${name}-igw`,
      { vpcId: vpc.id, tags: tags({ Name: `${args.clusterName}-igw` }) },
      parent,
    );
    const publicTable = new aws.ec2.RouteTable(
      `${name}-public`,
      { vpcId: vpc.id, tags: tags({ Name: `${args.clusterName}-public` }) },
      parent,
    );
    const publicRoute = new aws.ec2.Route(
      `${name}-default-route`,
      { routeTableId: publicTable.id, destinationCidrBlock: "0.0.0.0/0", gatewayId: igw.id },
      parent,
    );

    const path: pulumi.Resource[] = [igw, publicRoute];
    const subnet = (kind: "nodes" | "edge", i: number, cidr: string, isPublic: boolean) => {
      const az = args.availabilityZones[i]!;
      const s = new aws.ec2.Subnet(
        `${name}-${kind}-${i}`,
        {
          vpcId: vpc.id,
          availabilityZone: az,
          cidrBlock: cidr,
          mapPublicIpOnLaunch: isPublic,
          tags: tags({
            Name: `${args.clusterName}-${kind}-${az}`,
            ...kubernetesClusterTag(args.clusterName),
            ...subnetRoleTags(isPublic, kind === "nodes"),
          }),
        },
        parent,
      );
      this.subnets.push(s);
      if (isPublic) {
        path.push(
          new aws.ec2.RouteTableAssociation(
            `${name}-${kind}-${i}`,
            { subnetId: s.id, routeTableId: publicTable.id },
            parent,
          ),
        );
      }
      return s;
    };

    this.availabilityZones = args.availabilityZones;
    this.nodeSubnetCidrs = args.availabilityZones.map((_, i) => nodeSubnetCidr(args.vpcCidr, i));
    const nodeSubnets = this.nodeSubnetCidrs.map((cidr, i) => subnet("nodes", i, cidr, !priv));
    this.nodeSubnetIds = nodeSubnets.map((s) => s.id);
    if (priv) {
      const edges = args.availabilityZones.map((_, i) =>
        subnet("edge", i, edgeSubnetCidr(args.vpcCidr, i), true),
      );
      this.publicSubnetIds = edges.map((s) => s.id);
      path.push(
        ...createNatGateways(name, {
          clusterName: args.clusterName,
          mode: args.natGateways,
          vpcId: vpc.id,
          edgeSubnetIds: this.publicSubnetIds,
          nodeSubnetIds: this.nodeSubnetIds,
          dependsOn: [igw],
          parent: this,
        }),
      );
    } else {
      this.publicSubnetIds = this.nodeSubnetIds;
    }

    this.securityGroups = createSecurityGroupRules(name, {
      clusterName: args.clusterName,
      vpcId: vpc.id,
      cni: args.cni,
      publicApi: args.publicApi,
      sshIngressCidrs: args.sshIngressCidrs,
      apiIngressCidrs: args.apiIngressCidrs,
      nodePortIngressCidrs: args.nodePortIngressCidrs,
      parent: this,
    });
    this.pathResources = [...path, ...this.securityGroups.rules.values()];
    this.cloudResourceScope = [vpc, igw, ...this.subnets, ...this.securityGroups.groups];
    this.vpcId = vpc.id;
    this.registerOutputs({
      vpcId: this.vpcId,
      nodeSubnetIds: this.nodeSubnetIds,
      publicSubnetIds: this.publicSubnetIds,
    });
  }
}

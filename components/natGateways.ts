/**
 * The private topology's way out: NAT gateways in the public edge subnets, each with an Elastic
 * IP, and the private route tables of the node subnets pointing at them. `single` is one gateway
 * for the cluster (zone index 0): cheaper, but a zone outage there cuts every node's egress.
 * `perZone` is one per zone, each zone's nodes using their own (no cross-zone data charges).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { NatGatewayMode } from "../config/clusterConfig";
import { clusterTags } from "./naming";

export interface NatGatewayArgs {
  readonly clusterName: string;
  readonly mode: NatGatewayMode;
  readonly vpcId: pulumi.Input<string>;
  /** Public edge subnets, by zone index. */
  readonly edgeSubnetIds: pulumi.Input<string>[];
  /** Private node subnets, by zone index. */
  readonly nodeSubnetIds: pulumi.Input<string>[];
  /** A NAT gateway needs the internet gateway attached first. */
  readonly dependsOn: pulumi.Resource[];
  readonly parent: pulumi.Resource;
}

/** Creates the gateways, routes and associations; returns what the nodes' egress depends on. */
export function createNatGateways(name: string, args: NatGatewayArgs): pulumi.Resource[] {
  const tags = (extra: Record<string, string>) => clusterTags(args.clusterName, extra);
  const opts = { parent: args.parent };
  const zones = args.mode === "perZone" ? args.edgeSubnetIds.length : 1;
  const path: pulumi.Resource[] = [];
  const gateways = Array.from({ length: zones }, (_, z) => {
    const eip = new aws.ec2.Eip(
      `${name}-nat-${z}`,
      { domain: "vpc", tags: tags({ Name: `${args.clusterName}-nat-${z}` }) },
      opts,
    );
    const nat = new aws.ec2.NatGateway(
      `${name}-nat-${z}`,
      {
        allocationId: eip.id,
        subnetId: args.edgeSubnetIds[z]!,
        connectivityType: "public",
        tags: tags({ Name: `${args.clusterName}-nat-${z}` }),
      },
      { ...opts, dependsOn: args.dependsOn },
    );
    const table = new aws.ec2.RouteTable(
      `${name}-private-${z}`,
      { vpcId: args.vpcId, tags: tags({ Name: `${args.clusterName}-private-${z}` }) },
      opts,
    );
    const route = new aws.ec2.Route(
      `${name}-private-${z}-default`,
      { routeTableId: table.id, destinationCidrBlock: "0.0.0.0/0", natGatewayId: nat.id },
      opts,
    );
    path.push(nat, route);
    return table;
  });
  args.nodeSubnetIds.forEach((subnetId, i) => {
    const table = gateways[args.mode === "perZone" ? i : 0]!;
    path.push(
      new aws.ec2.RouteTableAssociation(
        `${name}-private-${i}`,
        { subnetId, routeTableId: table.id },
        opts,
      ),
    );
  });
  return path;
}

/**
 * The cluster's security groups and one `aws.vpc.SecurityGroup{In,E}gressRule` per rule of the
 * firewall matrix (config/firewallRules.ts).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { GroupName, RuleSpecArgs, securityGroupRuleSpecs } from "../config/firewallRules";
import { clusterTags } from "./naming";

export { securityGroupRuleSpecs } from "../config/firewallRules";
export type { GroupName, RuleSpec, RuleSpecArgs } from "../config/firewallRules";

export interface SecurityGroups {
  readonly apiLb: pulumi.Output<string>;
  readonly controlPlane: pulumi.Output<string>;
  readonly nodes: pulumi.Output<string>;
  /** Every rule resource, by spec key: the path and ports the bootstrap steps rely on. */
  readonly rules: ReadonlyMap<string, pulumi.Resource>;
}

export interface CreateRulesArgs extends RuleSpecArgs {
  readonly clusterName: string;
  readonly vpcId: pulumi.Input<string>;
  readonly parent: pulumi.Resource;
}

const GROUP_DESCRIPTIONS: Record<GroupName, string> = {
  apiLb: "Kubernetes API network load balancer",
  controlPlane: "Kubernetes control-plane nodes",
  nodes: "All Kubernetes nodes",
};

/** Creates the three groups and one rule resource per spec. */
export function createSecurityGroupRules(name: string, args: CreateRulesArgs): SecurityGroups {
  const groups = {} as Record<GroupName, aws.ec2.SecurityGroup>;
  for (const group of Object.keys(GROUP_DESCRIPTIONS) as GroupName[]) {
    groups[group] = new aws.ec2.SecurityGroup(
      `${name}-${group}`,
      {
        vpcId: args.vpcId,
        description: GROUP_DESCRIPTIONS[group],
        tags: clusterTags(args.clusterName, { Name: `${args.clusterName}-${group}` }),
      },
      { parent: args.parent },
    );
  }
  const rules = new Map<string, pulumi.Resource>();
  for (const rule of securityGroupRuleSpecs(args)) {
    const common = {
      securityGroupId: groups[rule.group].id,
      ipProtocol: rule.protocol,
      fromPort: rule.fromPort,
      toPort: rule.toPort,
      cidrIpv4: rule.cidr,
      referencedSecurityGroupId: rule.peerGroup ? groups[rule.peerGroup].id : undefined,
      description: rule.description,
      tags: clusterTags(args.clusterName, { Name: `${args.clusterName}-${rule.key}` }),
    };
    const resourceName = `${name}-${rule.group}-${rule.key}`;
    const opts = { parent: args.parent };
    rules.set(
      `${rule.group}-${rule.key}`,
      rule.direction === "ingress"
        ? new aws.vpc.SecurityGroupIngressRule(resourceName, common, opts)
        : new aws.vpc.SecurityGroupEgressRule(resourceName, common, opts),
    );
  }
  return {
    apiLb: groups.apiLb.id,
    controlPlane: groups.controlPlane.id,
    nodes: groups.nodes.id,
    rules,
  };
}

/**
 * Lets one node reach the API through the internet-facing load balancer. A node's traffic to
 * the NLB's public address leaves through the internet gateway with the node's public IP as
 * source, so a security-group reference cannot match it; a /32 per node does.
 */
export function allowNodeToApi(
  name: string,
  args: { clusterName: string; apiLbGroupId: pulumi.Input<string>; publicIp: pulumi.Input<string> },
  opts: pulumi.CustomResourceOptions,
): aws.vpc.SecurityGroupIngressRule {
  return new aws.vpc.SecurityGroupIngressRule(
    name,
    {
      securityGroupId: args.apiLbGroupId,
      ipProtocol: "tcp",
      fromPort: 6443,
      toPort: 6443,
      cidrIpv4: pulumi.interpolate`${args.publicIp}/32`,
      description: "Kubernetes API from a cluster node's public address",
      tags: clusterTags(args.clusterName),
    },
    opts,
  );
}

/**
 * The cluster's security groups and one `aws.vpc.SecurityGroup{In,E}gressRule` per rule of the
 * firewall matrix (config/firewallRules.ts).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { GroupName, groupsOf, RuleSpecArgs, securityGroupRuleSpecs } from "../config/firewallRules";
import { clusterTags, kubernetesClusterTag } from "./naming";

export { securityGroupRuleSpecs } from "../config/firewallRules";
export type { GroupName, RuleSpec, RuleSpecArgs } from "../config/firewallRules";

export interface SecurityGroups {
  /** Group ids; `apiPublic` only with publicApi. */
  readonly ids: Readonly<Partial<Record<GroupName, pulumi.Output<string>>>>;
  /** Every rule resource, by `<group>-<key>`: the path and ports the bootstrap steps rely on. */
  readonly rules: ReadonlyMap<string, pulumi.Resource>;
  /** The groups themselves. */
  readonly groups: readonly pulumi.Resource[];
}

export interface CreateRulesArgs extends RuleSpecArgs {
  readonly clusterName: string;
  readonly vpcId: pulumi.Input<string>;
  readonly parent: pulumi.Resource;
}

const GROUP_DESCRIPTIONS: Record<GroupName, string> = {
  bastion: "SSH bastion of the Kubernetes cluster",
  apiInternal: "Internal Kubernetes API load balancer",
  apiPublic: "Internet-facing Kubernetes API load balancer",
  controlPlane: "Kubernetes control-plane nodes",
  nodes: "All Kubernetes nodes",
};

/** Creates the groups and one rule resource per spec. */
export function createSecurityGroupRules(name: string, args: CreateRulesArgs): SecurityGroups {
  const groups = new Map<GroupName, aws.ec2.SecurityGroup>();
  for (const group of groupsOf(args)) {
    groups.set(
      group,
      new aws.ec2.SecurityGroup(
        `${name}-${group}`,
        {
          vpcId: args.vpcId,
          description: GROUP_DESCRIPTIONS[group],
          tags: clusterTags(args.clusterName, {
            Name: `${args.clusterName}-${group}`,
            // Exactly one group per instance carries the cluster tag: the cloud controller
            // refuses an instance with several (it adds the load balancers' rules to that one).
            ...(group === "nodes" ? kubernetesClusterTag(args.clusterName) : {}),
          }),
        },
        { parent: args.parent },
      ),
    );
  }
  const rules = new Map<string, pulumi.Resource>();
  for (const rule of securityGroupRuleSpecs(args)) {
    const common = {
      securityGroupId: groups.get(rule.group)!.id,
      ipProtocol: rule.protocol,
      fromPort: rule.fromPort,
      toPort: rule.toPort,
      cidrIpv4: rule.cidr,
      referencedSecurityGroupId: rule.peerGroup ? groups.get(rule.peerGroup)!.id : undefined,
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
  const ids = Object.fromEntries([...groups].map(([g, sg]) => [g, sg.id]));
  return { ids, rules, groups: [...groups.values()] };
}

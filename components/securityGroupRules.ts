/**
 * The cluster's security groups and every rule in them, as data first (`securityGroupRuleSpecs`)
 * so the exact port matrix is testable, then as `aws.vpc.SecurityGroup{In,E}gressRule` resources.
 *
 * Three groups:
 * - `apiLb`: the API network load balancer (6443 from the API CIDRs and the nodes' public IPs).
 * - `controlPlane`: API from the load balancer and the nodes, etcd only between control planes.
 * - `nodes`: on every node: SSH from the SSH CIDRs, kubelet/kube-proxy/CNI only between nodes,
 *   NodePorts only from configured CIDRs, egress to the internet for packages and images.
 * Ports: https://kubernetes.io/docs/reference/networking/ports-and-protocols/
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { CniName } from "../config/clusterConfig";
import { clusterTags } from "./naming";

export type GroupName = "apiLb" | "controlPlane" | "nodes";

/** One rule: where it lives, the protocol and ports, and its source (a CIDR or another group). */
export interface RuleSpec {
  readonly key: string;
  readonly group: GroupName;
  readonly direction: "ingress" | "egress";
  readonly protocol: "tcp" | "udp" | "-1";
  readonly fromPort?: number;
  readonly toPort?: number;
  readonly cidr?: string;
  readonly peerGroup?: GroupName;
  readonly description: string;
}

export interface RuleSpecArgs {
  readonly cni: CniName;
  readonly sshIngressCidrs: readonly string[];
  readonly apiIngressCidrs: readonly string[];
  readonly nodePortIngressCidrs: readonly string[];
}

const slug = (cidr: string) => cidr.replace(/[./]/g, "-");

/** The complete rule matrix for a configuration. */
export function securityGroupRuleSpecs(args: RuleSpecArgs): RuleSpec[] {
  const tcp = (port: number, toPort = port) => ({
    protocol: "tcp" as const,
    fromPort: port,
    toPort,
  });
  const udp = (port: number) => ({ protocol: "udp" as const, fromPort: port, toPort: port });
  const rules: RuleSpec[] = [
    ...args.apiIngressCidrs.map((cidr) => ({
      key: `api-from-${slug(cidr)}`,
      group: "apiLb" as const,
      direction: "ingress" as const,
      ...tcp(6443),
      cidr,
      description: "Kubernetes API from an allowed CIDR",
    })),
    {
      key: "lb-to-api",
      group: "apiLb",
      direction: "egress",
      ...tcp(6443),
      peerGroup: "controlPlane",
      description: "load balancer to the API servers and their health checks",
    },
    {
      key: "api-from-lb",
      group: "controlPlane",
      direction: "ingress",
      ...tcp(6443),
      peerGroup: "apiLb",
      description: "Kubernetes API from the load balancer",
    },
    {
      key: "api-from-nodes",
      group: "controlPlane",
      direction: "ingress",
      ...tcp(6443),
      peerGroup: "nodes",
      description: "Kubernetes API from nodes on the private network (control-plane joins)",
    },
    {
      key: "etcd",
      group: "controlPlane",
      direction: "ingress",
      ...tcp(2379, 2380),
      peerGroup: "controlPlane",
      description: "etcd client and peer traffic between control-plane nodes only",
    },
    ...args.sshIngressCidrs.map((cidr) => ({
      key: `ssh-from-${slug(cidr)}`,
      group: "nodes" as const,
      direction: "ingress" as const,
      ...tcp(22),
      cidr,
      description: "SSH for bootstrap and operations from an allowed CIDR",
    })),
    {
      key: "kubelet",
      group: "nodes",
      direction: "ingress",
      ...tcp(10250),
      peerGroup: "nodes",
      description: "kubelet API, inside the cluster only",
    },
    {
      key: "kube-proxy-health",
      group: "nodes",
      direction: "ingress",
      ...tcp(10256),
      peerGroup: "nodes",
      description: "kube-proxy health check, inside the cluster only",
    },
    ...args.nodePortIngressCidrs.map((cidr) => ({
      key: `nodeports-from-${slug(cidr)}`,
      group: "nodes" as const,
      direction: "ingress" as const,
      ...tcp(30000, 32767),
      cidr,
      description: "NodePort services from an allowed CIDR",
    })),
    ...(args.cni === "flannel"
      ? [
          {
            key: "flannel-vxlan",
            group: "nodes" as const,
            direction: "ingress" as const,
            ...udp(8472),
            peerGroup: "nodes" as const,
            description: "Flannel VXLAN between nodes",
          },
        ]
      : [
          {
            key: "calico-vxlan",
            group: "nodes" as const,
            direction: "ingress" as const,
            ...udp(4789),
            peerGroup: "nodes" as const,
            description: "Calico VXLAN between nodes",
          },
          {
            key: "calico-typha",
            group: "nodes" as const,
            direction: "ingress" as const,
            ...tcp(5473),
            peerGroup: "nodes" as const,
            description: "Calico Typha between nodes",
          },
        ]),
    {
      key: "egress-all",
      group: "nodes",
      direction: "egress",
      protocol: "-1",
      cidr: "0.0.0.0/0",
      description: "packages, container images and the API load balancer",
    },
  ];
  return rules;
}

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

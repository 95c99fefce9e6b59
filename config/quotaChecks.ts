/**
 * Account limits that would otherwise stop `pulumi up` half-way, with instances already
 * billing: the vCPU quota for On-Demand Standard instances (new accounts get few), and the
 * inbound rules per security group (60 by default). Each is asked of Service Quotas; an account
 * that does not let us read a quota gets AWS's documented default for the rules and no vCPU
 * check (there is no safe default: it varies per account).
 */
import type { ClusterConfig } from "./clusterConfig";
import { securityGroupRuleSpecs } from "./firewallRules";

/** What EC2's DescribeInstanceTypes says of a type; the subset the checks read. */
export interface InstanceTypeFacts {
  readonly defaultVcpus: number;
  readonly memorySize: number;
  readonly supportedArchitectures: readonly string[];
}

/** Service Quotas codes (Service Quotas console; `aws service-quotas list-service-quotas`). */
export const QUOTAS = {
  /** ec2: Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances, in vCPUs. */
  standardVcpus: { serviceCode: "ec2", quotaCode: "L-1216C47A" },
  /** vpc: Inbound or outbound rules per security group; default 60. */
  rulesPerGroup: { serviceCode: "vpc", quotaCode: "L-0EA8095F", fallback: 60 },
} as const;

/** Families counted against the Standard quota: the first letter of the type. */
const STANDARD_FAMILY = /^[acdhimrtz]/;

export interface QuotaFacts {
  readonly vcpuQuota: number | undefined;
  readonly rulesPerGroup: number | undefined;
  /** Facts of each instance type the cluster runs (absent when the type is unknown). */
  readonly types: ReadonlyMap<string, InstanceTypeFacts>;
}

export function vcpuQuotaProblems(config: ClusterConfig, facts: QuotaFacts): string[] {
  if (facts.vcpuQuota === undefined) return [];
  const parts: string[] = [];
  let needed = 0;
  for (const key of ["controlPlane", "workers"] as const) {
    const group = config[key];
    const type = facts.types.get(group.instanceType);
    if (!type || group.count === 0 || !STANDARD_FAMILY.test(group.instanceType)) continue;
    needed += group.count * type.defaultVcpus;
    parts.push(`${group.count} × ${group.instanceType} (${type.defaultVcpus} vCPU)`);
  }
  if (needed <= facts.vcpuQuota) return [];
  return [
    `the cluster needs ${needed} vCPUs of On-Demand Standard instances (${parts.join(" + ")}), ` +
      `more than this account's quota of ${facts.vcpuQuota} in this region: request an increase ` +
      `of Service Quotas ${QUOTAS.standardVcpus.quotaCode} first, or use fewer or smaller nodes`,
  ];
}

/**
 * Every group's inbound rule count against the quota. Rules between the cluster's machines
 * reference groups, so only the CIDR lists a user gives can grow a group; nodes never do.
 */
export function ruleQuotaProblems(config: ClusterConfig, facts: QuotaFacts): string[] {
  const limit = facts.rulesPerGroup ?? QUOTAS.rulesPerGroup.fallback;
  const inbound = new Map<string, number>();
  for (const rule of securityGroupRuleSpecs(config)) {
    if (rule.direction === "ingress") inbound.set(rule.group, (inbound.get(rule.group) ?? 0) + 1);
  }
  const lists: Record<string, string> = {
    bastion: "sshIngressCidrs",
    apiPublic: "apiIngressCidrs",
    nodes: "nodePortIngressCidrs",
  };
  return [...inbound]
    .filter(([, count]) => count > limit)
    .map(
      ([group, count]) =>
        `the ${group} security group would need ${count} inbound rules (one per entry of ` +
        `${lists[group] ?? "its lists"}, plus the cluster's own), more than the ${limit} AWS allows ` +
        `(Service Quotas ${QUOTAS.rulesPerGroup.quotaCode}): list fewer, wider CIDRs, or raise the quota first`,
    );
}

/**
 * Rules that span several keys of the cluster configuration: disjoint networks, a VPC big
 * enough for the fixed subnet layout, a pod range with a /24 per node, a service range kubeadm
 * accepts, SSH CIDRs present, the RHEL-only keys only with a RHEL-family OS, and the OS, the
 * container runtime and the CNI a combination that works (config/osFamily.ts).
 */
import {
  awsUsableAddresses,
  cidrsOverlap,
  edgeSubnetPrefix,
  nodeSubnetPrefix,
  prefixLength,
} from "./cidr";
import type { ClusterConfig } from "./clusterConfig";
import { compatibilityProblems, isRhelFamily, listInWords, RHEL_FAMILY } from "./osFamily";

/**
 * Rules that span several keys. Each runs only when the keys it reads passed the schema, so a
 * config with both a typo and an overlap gets both reported in the same run.
 */
export function crossFieldProblems(
  c: ClusterConfig,
  valid: (key: keyof ClusterConfig) => boolean,
  explicitKeys: ReadonlySet<string> = new Set(),
): string[] {
  const problems: string[] = [];
  const nets = (
    [
      ["vpcCidr", c.vpcCidr],
      ["podCidr", c.podCidr],
      ["serviceCidr", c.serviceCidr],
    ] as const
  ).filter(([key]) => valid(key));
  for (let i = 0; i < nets.length; i++) {
    for (let j = i + 1; j < nets.length; j++) {
      const [ka, a] = nets[i]!;
      const [kb, b] = nets[j]!;
      if (cidrsOverlap(a, b)) {
        problems.push(
          `${ka} ${a} overlaps ${kb} ${b}: the node, pod and service networks must be disjoint`,
        );
      }
    }
  }

  if (valid("adminKubeconfig")) {
    const { validityDays, renewBeforeDays } = c.adminKubeconfig;
    if (renewBeforeDays >= validityDays) {
      problems.push(
        `adminKubeconfig.renewBeforeDays ${renewBeforeDays} must be less than ` +
          `adminKubeconfig.validityDays ${validityDays}, or every \`up\` issues a new certificate; ` +
          `set it to ${Math.max(0, Math.floor(validityDays / 12))} or so`,
      );
    }
  }

  const sized = valid("controlPlane") && valid("workers");
  const nodes = c.controlPlane.count + c.workers.count;
  if (valid("vpcCidr"))
    problems.push(...vpcSizeProblems(c, sized && valid("availabilityZoneCount")));

  // kube-controller-manager gives each node a /24 out of the pod CIDR by default.
  const podPrefix = valid("podCidr") ? prefixLength(c.podCidr) : 16;
  const nodeCidrs = podPrefix <= 24 ? 2 ** (24 - podPrefix) : 0;
  if (sized && valid("podCidr") && nodeCidrs < nodes) {
    const fits = 24 - Math.ceil(Math.log2(nodes));
    problems.push(
      `podCidr ${c.podCidr} has room for ${nodeCidrs} node pod ranges (/24 each) but the cluster has ${nodes} nodes; ` +
        `use a /${fits} or larger` +
        (fits >= 16
          ? ", such as the default 10.244.0.0/16"
          : ` (a /${fits} holds ${2 ** (24 - fits)} nodes)`),
    );
  }
  const servicePrefix = valid("serviceCidr") ? prefixLength(c.serviceCidr) : 12;
  if (servicePrefix < 12 || servicePrefix > 24) {
    problems.push(
      `serviceCidr ${c.serviceCidr} must be between /12 and /24 (kube-apiserver allows at most /12; CoreDNS takes the 10th address)`,
    );
  }
  if (valid("sshIngressCidrs") && c.sshIngressCidrs.length === 0) {
    problems.push(
      "sshIngressCidrs is required and has no default (SSH is never opened to the internet silently): " +
        "set the addresses that may reach the nodes on port 22, e.g. " +
        "`pulumi config set --path 'sshIngressCidrs[0]' my-ip` (this machine's public address, found " +
        "at deploy time) or your office/VPN range",
    );
  }
  problems.push(...osProblems(c, valid, explicitKeys));
  return problems;
}

/** The keys that mean something on a RHEL-family OS only. */
const RHEL_ONLY_KEYS = ["selinux", "firewalld"] as const;

/**
 * A RHEL-only key set with another OS (even to its default: it would do nothing, which the user
 * did not mean), and an OS that lacks the runtime or CNI asked for. A RHEL-only key with a bad
 * value is reported here too, since the fix is to remove it rather than to correct it.
 */
function osProblems(
  c: ClusterConfig,
  valid: (key: keyof ClusterConfig) => boolean,
  explicitKeys: ReadonlySet<string>,
): string[] {
  if (!valid("os")) return [];
  const problems: string[] = [];
  if (!isRhelFamily(c.os)) {
    for (const key of RHEL_ONLY_KEYS.filter((k) => explicitKeys.has(k))) {
      problems.push(
        `${key} ${String(c[key])} has no effect with os ${c.os}: ${key} applies to ` +
          `${listInWords(RHEL_FAMILY)} only; remove it with \`pulumi config rm ${key}\``,
      );
    }
  }
  problems.push(
    ...compatibilityProblems(c, {
      containerRuntime: valid("containerRuntime"),
      cni: valid("cni"),
    }),
  );
  return problems;
}

/** Addresses AWS and the load balancers take in every subnet besides the nodes. */
const SUBNET_HEADROOM = 8;

/** The most nodes one zone holds: the nodes of each role are spread evenly over the zones. */
function nodesPerZone(c: ClusterConfig): number {
  const zones = c.availabilityZoneCount;
  return Math.ceil(c.controlPlane.count / zones) + Math.ceil(c.workers.count / zones);
}

/**
 * AWS takes VPC CIDRs from /16 to /28; the fixed layout (cidr.ts) gives each zone an eighth of
 * the VPC, which must be a valid subnet (at most /28) and hold the zone's nodes.
 */
function vpcSizeProblems(c: ClusterConfig, countsValid: boolean): string[] {
  const prefix = prefixLength(c.vpcCidr);
  if (prefix < 16 || prefix > 28) {
    return [
      `vpcCidr ${c.vpcCidr} has a /${prefix} prefix; AWS allows VPC CIDRs from /16 to /28: use a /16 such as 10.0.0.0/16`,
    ];
  }
  if (c.topology === "private" && edgeSubnetPrefix(c.vpcCidr) > 28) {
    return [
      `vpcCidr ${c.vpcCidr} is too small for topology private: its public edge subnets (bastion, ` +
        `NAT gateways, load balancer) each get a sixty-fourth of the VPC, a /${edgeSubnetPrefix(c.vpcCidr)}, ` +
        `but AWS subnets are at most /28: use a /22 or larger, such as the default 10.0.0.0/16`,
    ];
  }
  if (!countsValid) return [];
  const needed = nodesPerZone(c) + SUBNET_HEADROOM;
  const subnetPrefix = nodeSubnetPrefix(c.vpcCidr);
  if (subnetPrefix <= 28 && awsUsableAddresses(subnetPrefix) >= needed) return [];
  // The smallest VPC whose node subnets are valid and hold the nodes.
  let suggested = 16;
  for (let p = 25; p >= 16; p--) {
    if (awsUsableAddresses(p + 3) >= needed) {
      suggested = p;
      break;
    }
  }
  return [
    `vpcCidr ${c.vpcCidr} is too small: each zone gets an eighth of it, a /${subnetPrefix} subnet ` +
      `(AWS subnets are /16 to /28), which must hold ${nodesPerZone(c)} node(s) plus ${SUBNET_HEADROOM} ` +
      `addresses for AWS and the load balancers; use a /${suggested} or larger, such as the default 10.0.0.0/16`,
  ];
}

/**
 * Rules for the CIDRs that may reach the cluster from outside, checked before a deployment:
 * the documentation ranges of RFC 5737 (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24) never
 * carry real traffic, so a stack that lists one can never be reached. The shipped prod stack
 * carries 198.51.100.0/24 as a placeholder: it must fail here, before anything is created,
 * rather than after 25 minutes of SSH dials.
 */
import type { ClusterConfig } from "./clusterConfig";
import { cidrsOverlap } from "./cidr";

export const DOCUMENTATION_RANGES = ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"] as const;

const INGRESS_KEYS = ["sshIngressCidrs", "apiIngressCidrs", "nodePortIngressCidrs"] as const;

/** One problem per ingress CIDR inside a documentation range, naming the list entry. */
export function documentationCidrProblems(
  config: ClusterConfig,
  explicitKeys: ReadonlySet<string> = new Set(INGRESS_KEYS),
): string[] {
  const problems: string[] = [];
  for (const key of INGRESS_KEYS) {
    // apiIngressCidrs defaults to sshIngressCidrs: report each entry once, under the key set.
    if (key === "apiIngressCidrs" && !explicitKeys.has(key)) continue;
    config[key].forEach((cidr, i) => {
      const range = DOCUMENTATION_RANGES.find((r) => cidrsOverlap(cidr, r));
      if (range) {
        problems.push(
          `${key}[${i}] ${cidr} is in ${range}, a documentation range (RFC 5737) that no real ` +
            `traffic comes from, so nothing could ever reach the cluster: put your own address ` +
            `there, e.g. \`pulumi config set --path '${key}[${i}]' my-ip\` (this machine's ` +
            `address, found at deploy time) or your office/VPN range`,
        );
      }
    });
  }
  return problems;
}

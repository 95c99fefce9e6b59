/**
 * What the mock cloud knows about AWS: regions and their zones, instance types, and which zone
 * offers which type. It is shaped like the real answers of DescribeAvailabilityZones,
 * DescribeInstanceTypes and DescribeInstanceTypeOfferings, so the program's own lookups run
 * against it unchanged (tools/mockCloud.ts) and the preflight tests ask it directly.
 *
 * Modelled facts (from the AWS docs, December 2026):
 * - us-east-1 has six zones, a to f. us-east-1e (use1-az3) is the old, constrained one: it offers
 *   only earlier families and no Graviton or 7th-generation types, which is what makes
 *   "Unsupported ... in your requested Availability Zone" a real failure there.
 * - Private DNS names are `ip-a-b-c-d.ec2.internal` in us-east-1 and
 *   `ip-a-b-c-d.<region>.compute.internal` elsewhere.
 */

/** vCPU, memory in MiB, supported architectures (EC2's names). */
export type InstanceTypeFacts = [vcpus: number, memoryMiB: number, architectures: string[]];

export const INSTANCE_TYPES: Record<string, InstanceTypeFacts> = {
  "t2.micro": [1, 1024, ["i386", "x86_64"]],
  "t3.micro": [2, 1024, ["x86_64"]],
  "t3.small": [2, 2048, ["x86_64"]],
  "t3.medium": [2, 4096, ["x86_64"]],
  "t3.large": [2, 8192, ["x86_64"]],
  "t3.xlarge": [4, 16384, ["x86_64"]],
  "t3a.nano": [2, 512, ["x86_64"]],
  "m4.large": [2, 8192, ["x86_64"]],
  "c4.large": [2, 3840, ["x86_64"]],
  "m5.large": [2, 8192, ["x86_64"]],
  "m7i.large": [2, 8192, ["x86_64"]],
  "m7i.xlarge": [4, 16384, ["x86_64"]],
  "t4g.nano": [2, 512, ["arm64"]],
  "t4g.medium": [2, 4096, ["arm64"]],
  "m7g.large": [2, 8192, ["arm64"]],
  "c7g.large": [2, 4096, ["arm64"]],
  "mac1.metal": [12, 32768, ["x86_64_mac"]],
};

/** Zones per region, in the order DescribeAvailabilityZones lists them. */
export const REGION_ZONES: Record<string, string[]> = {
  "us-east-1": ["a", "b", "c", "d", "e", "f"].map((z) => `us-east-1${z}`),
  "us-west-2": ["a", "b", "c", "d"].map((z) => `us-west-2${z}`),
  "eu-west-1": ["a", "b", "c"].map((z) => `eu-west-1${z}`),
};

/** The only types us-east-1e offers among those above. */
const US_EAST_1E_TYPES = new Set(["t2.micro", "m4.large", "c4.large"]);

export function zonesOf(region: string): string[] {
  return REGION_ZONES[region] ?? ["a", "b", "c"].map((z) => `${region}${z}`);
}

/** True when `zone` offers `instanceType`. */
export function isOffered(instanceType: string, zone: string): boolean {
  if (!(instanceType in INSTANCE_TYPES)) return false;
  return zone !== "us-east-1e" || US_EAST_1E_TYPES.has(instanceType);
}

/** The zones of a region that offer a type, as DescribeInstanceTypeOfferings would list them. */
export function offeringsOf(region: string, instanceType: string): string[] {
  return zonesOf(region).filter((zone) => isOffered(instanceType, zone));
}

/** EC2's private DNS name for a private address in a region. */
export function privateDnsName(privateIp: string, region: string): string {
  const host = `ip-${privateIp.replace(/\./g, "-")}`;
  return region === "us-east-1" ? `${host}.ec2.internal` : `${host}.${region}.compute.internal`;
}

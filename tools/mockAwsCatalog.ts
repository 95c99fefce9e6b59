/**
 * What the mock cloud knows about AWS: regions and their zones, instance types, and which zone
 * offers which type. It is shaped like the real answers of DescribeAvailabilityZones,
 * DescribeInstanceTypes and DescribeInstanceTypeOfferings, so the program's own lookups run
 * against it unchanged (tools/mockCloud.ts) and the preflight tests ask it directly.
 *
 * Modelled facts (from the AWS docs, December 2026):
 * - The commercial regions with their real number of zones (REGION_ZONES); us-east-1 has six, a
 *   to f. us-east-1e (use1-az3) is the old, constrained one: it offers only earlier families and
 *   no Graviton or 7th-generation types, which is what makes "Unsupported ... in your requested
 *   Availability Zone" a real failure there. Elsewhere every zone offers every listed type.
 * - A type the catalogue does not list is refused, as EC2 refuses a made-up one; the render tool
 *   asks for assumed facts instead (assumedInstanceTypeFacts) and says so.
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
  // More real facts (DescribeInstanceTypes), so common choices render without assumptions.
  "t3.nano": [2, 512, ["x86_64"]],
  "t3.2xlarge": [8, 32768, ["x86_64"]],
  "t3a.micro": [2, 1024, ["x86_64"]],
  "t3a.small": [2, 2048, ["x86_64"]],
  "t3a.medium": [2, 4096, ["x86_64"]],
  "t3a.large": [2, 8192, ["x86_64"]],
  "t3a.xlarge": [4, 16384, ["x86_64"]],
  "t4g.micro": [2, 1024, ["arm64"]],
  "t4g.small": [2, 2048, ["arm64"]],
  "t4g.large": [2, 8192, ["arm64"]],
  "t4g.xlarge": [4, 16384, ["arm64"]],
  "m5.xlarge": [4, 16384, ["x86_64"]],
  "m5.2xlarge": [8, 32768, ["x86_64"]],
  "m6i.large": [2, 8192, ["x86_64"]],
  "m6i.xlarge": [4, 16384, ["x86_64"]],
  "m6a.large": [2, 8192, ["x86_64"]],
  "m6g.large": [2, 8192, ["arm64"]],
  "m6g.xlarge": [4, 16384, ["arm64"]],
  "m7i.2xlarge": [8, 32768, ["x86_64"]],
  "m7a.large": [2, 8192, ["x86_64"]],
  "m7g.xlarge": [4, 16384, ["arm64"]],
  "c5.large": [2, 4096, ["x86_64"]],
  "c5.xlarge": [4, 8192, ["x86_64"]],
  "c6i.large": [2, 4096, ["x86_64"]],
  "c7i.large": [2, 4096, ["x86_64"]],
  "c7g.xlarge": [4, 8192, ["arm64"]],
  "r5.large": [2, 16384, ["x86_64"]],
  "r6i.large": [2, 16384, ["x86_64"]],
  "r7g.large": [2, 16384, ["arm64"]],
};

/**
 * Facts for a well-formed type the catalogue does not list, for a render of a stack that names
 * one (`installMocks(stack, { unknownInstanceTypes: "assume" })`; the tests' default refuses it).
 * - Architecture: arm64 when the family has a `g` after its generation digit (Graviton: t4g,
 *   m7g, c8g, r7gd, c7gn, hpc7g), Apple silicon or Intel for mac families, else x86_64.
 * - Size: nano 2 vCPU / 0.5 GiB, micro 2/1, small 2/2, medium 2/4, large 2/8, xlarge 4/16,
 *   Nxlarge N times xlarge, metal-Nxl as Nxlarge, a plain `metal` as 24xlarge, any other size as
 *   large. The real ratio varies by family (c has less memory, r more); the render says that
 *   these are assumptions.
 * Returns undefined for a name that is not `family.size`.
 */
export function assumedInstanceTypeFacts(instanceType: string): InstanceTypeFacts | undefined {
  const m = /^([a-z][a-z0-9-]*)\.([a-z0-9-]+)$/.exec(instanceType);
  if (!m) return undefined;
  const family = m[1]!;
  const size = m[2]!;
  const [vcpus, memoryMiB] = assumedSize(size);
  return [vcpus, memoryMiB, [assumedArchitecture(family)]];
}

function assumedArchitecture(family: string): string {
  if (family.startsWith("mac")) return family === "mac1" ? "x86_64_mac" : "arm64_mac";
  const afterGeneration = /\d+([a-z]*)/.exec(family)?.[1] ?? "";
  return afterGeneration.includes("g") ? "arm64" : "x86_64";
}

/** vCPU and MiB of a size: the general-purpose ratio of 4 GiB per vCPU from large up. */
const SIZES: Record<string, [number, number]> = {
  nano: [2, 512],
  micro: [2, 1024],
  small: [2, 2048],
  medium: [2, 4096],
  large: [2, 8192],
  xlarge: [4, 16384],
  metal: [96, 393216],
};

function assumedSize(size: string): [number, number] {
  const known = SIZES[size];
  if (known) return known;
  const times = /^(\d+)xlarge$/.exec(size) ?? /^metal-(\d+)xl$/.exec(size);
  if (times) return [4 * Number(times[1]), 16384 * Number(times[1])];
  return SIZES.large!;
}

/** "2 vCPU, 8 GiB, x86_64": instance-type facts as a reviewer reads them. */
export function describeInstanceTypeFacts([vcpus, memoryMiB, arches]: InstanceTypeFacts): string {
  return `${vcpus} vCPU, ${memoryMiB / 1024} GiB, ${arches.join("/")}`;
}

const zones = (region: string, letters: string) => [...letters].map((z) => `${region}${z}`);

/**
 * Zones per commercial region, in the order DescribeAvailabilityZones lists them (zone type
 * availability-zone, no Local or Wavelength Zones). Source: AWS's "Regions and Zones" page
 * (docs.aws.amazon.com/AWSEC2/latest/UserGuide/using-regions-availability-zones.html) and the
 * zones a new account sees. In us-east-1, us-west-1, ca-central-1 and ap-northeast-1 AWS maps
 * the letters to physical zones per account and keeps an old zone from new accounts: the count
 * below is what an account can use, the letters the usual ones (us-west-1 shows two of a, b, c;
 * ca-central-1 has no c, ap-northeast-1 no b). A region not listed gets three zones, a to c.
 */
export const REGION_ZONES: Record<string, string[]> = {
  "us-east-1": zones("us-east-1", "abcdef"),
  "us-east-2": zones("us-east-2", "abc"),
  "us-west-1": zones("us-west-1", "bc"),
  "us-west-2": zones("us-west-2", "abcd"),
  "ca-central-1": zones("ca-central-1", "abd"),
  "ca-west-1": zones("ca-west-1", "abc"),
  "sa-east-1": zones("sa-east-1", "abc"),
  "eu-west-1": zones("eu-west-1", "abc"),
  "eu-west-2": zones("eu-west-2", "abc"),
  "eu-west-3": zones("eu-west-3", "abc"),
  "eu-central-1": zones("eu-central-1", "abc"),
  "eu-central-2": zones("eu-central-2", "abc"),
  "eu-north-1": zones("eu-north-1", "abc"),
  "eu-south-1": zones("eu-south-1", "abc"),
  "eu-south-2": zones("eu-south-2", "abc"),
  "ap-northeast-1": zones("ap-northeast-1", "acd"),
  "ap-northeast-2": zones("ap-northeast-2", "abcd"),
  "ap-northeast-3": zones("ap-northeast-3", "abc"),
  "ap-southeast-1": zones("ap-southeast-1", "abc"),
  "ap-southeast-2": zones("ap-southeast-2", "abc"),
  "ap-southeast-3": zones("ap-southeast-3", "abc"),
  "ap-southeast-4": zones("ap-southeast-4", "abc"),
  "ap-south-1": zones("ap-south-1", "abc"),
  "ap-south-2": zones("ap-south-2", "abc"),
  "ap-east-1": zones("ap-east-1", "abc"),
  "me-south-1": zones("me-south-1", "abc"),
  "me-central-1": zones("me-central-1", "abc"),
  "il-central-1": zones("il-central-1", "abc"),
  "af-south-1": zones("af-south-1", "abc"),
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

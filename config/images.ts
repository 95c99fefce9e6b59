/**
 * Which machine image and SSH user each supported OS uses, per CPU architecture: the newest
 * image of the publisher's official AWS account whose name matches a pattern, or, for Amazon
 * Linux 2023, the public Systems Manager parameter AWS keeps pointing at its newest image.
 *
 * Sources:
 * - Ubuntu: Canonical, 099720109477; login `ubuntu`.
 * - Debian: 136693071363 (https://wiki.debian.org/Cloud/AmazonEC2Image); login `admin`.
 * - Rocky Linux: the Rocky Enterprise Software Foundation, 792107900819
 *   (https://rockylinux.org/cloud-images); login `rocky`.
 * - AlmaLinux: the AlmaLinux OS Foundation, 764336703387 (https://wiki.almalinux.org/cloud/AWS.html);
 *   login `ec2-user`.
 * - Oracle Linux: Oracle, 131827586825; login `ec2-user`.
 * - Amazon Linux 2023: `/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-<arch>`
 *   (https://docs.aws.amazon.com/linux/al2023/ug/ec2.html); login `ec2-user`.
 */
import type { OperatingSystem } from "./clusterConfig";

/** EC2's architecture names for the two we support. */
export type Ec2Architecture = "x86_64" | "arm64";

/** The newest image of `owner` whose name matches `namePattern` (EC2 DescribeImages wildcards). */
export interface ImageNameQuery {
  readonly kind: "name";
  readonly owner: string;
  readonly namePattern: string;
  readonly sshUser: string;
}

/** The image id a public Systems Manager parameter holds (a String, kept current by AWS). */
export interface ImageParameterQuery {
  readonly kind: "ssm";
  readonly parameter: string;
  readonly sshUser: string;
}

export type ImageQuery = ImageNameQuery | ImageParameterQuery;

/** The publishers' AWS accounts the name queries trust. */
export const IMAGE_OWNERS = {
  canonical: "099720109477",
  debian: "136693071363",
  rocky: "792107900819",
  almalinux: "764336703387",
  oracle: "131827586825",
} as const;

/** Debian and Ubuntu name arm64 alike, amd64 for x86_64. */
const debianArch = (arch: Ec2Architecture) => (arch === "x86_64" ? "amd64" : "arm64");
/** The RHEL family names arm64 aarch64. */
const rpmArch = (arch: Ec2Architecture) => (arch === "x86_64" ? "x86_64" : "aarch64");

const byName = (owner: string, namePattern: string, sshUser: string): ImageNameQuery => ({
  kind: "name",
  owner,
  namePattern,
  sshUser,
});

export function imageQuery(os: OperatingSystem, arch: Ec2Architecture): ImageQuery {
  const a = debianArch(arch);
  const r = rpmArch(arch);
  switch (os) {
    case "ubuntu-24.04":
      return byName(
        IMAGE_OWNERS.canonical,
        `ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-${a}-server-*`,
        "ubuntu",
      );
    case "ubuntu-22.04":
      return byName(
        IMAGE_OWNERS.canonical,
        `ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-${a}-server-*`,
        "ubuntu",
      );
    case "debian-12":
      return byName(IMAGE_OWNERS.debian, `debian-12-${a}-*`, "admin");
    case "rocky-9":
      // Rocky-9-EC2-Base-9.5-20241118.0.x86_64 (the LVM variant is left out).
      return byName(IMAGE_OWNERS.rocky, `Rocky-9-EC2-Base-9.*.${r}`, "rocky");
    case "almalinux-9":
      // AlmaLinux OS 9.5.20241120 x86_64
      return byName(IMAGE_OWNERS.almalinux, `AlmaLinux OS 9.* ${r}`, "ec2-user");
    case "oracle-linux-9":
      // OL9.5-x86_64-HVM-2024-11-25
      return byName(IMAGE_OWNERS.oracle, `OL9.*-${r}-HVM-*`, "ec2-user");
    case "amazon-linux-2023":
      return {
        kind: "ssm",
        parameter: `/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-${arch}`,
        sshUser: "ec2-user",
      };
  }
}

/** The login of the OS's images (the same on both architectures). */
export function sshUserFor(os: OperatingSystem): string {
  return imageQuery(os, "x86_64").sshUser;
}

/** The architecture we build for from EC2's list of supported ones, or undefined if none fits. */
export function pickArchitecture(supported: readonly string[]): Ec2Architecture | undefined {
  if (supported.includes("arm64")) return "arm64";
  if (supported.includes("x86_64")) return "x86_64";
  return undefined;
}

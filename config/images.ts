/**
 * Which machine image and SSH user each supported OS uses, per CPU architecture.
 * Owners are the publishers' official AWS accounts (Canonical and Debian).
 */
import type { OperatingSystem } from "./clusterConfig";

/** EC2's architecture names for the two we support. */
export type Ec2Architecture = "x86_64" | "arm64";

export interface ImageQuery {
  readonly owner: string;
  readonly namePattern: string;
  readonly sshUser: string;
}

const debianArch = (arch: Ec2Architecture) => (arch === "x86_64" ? "amd64" : "arm64");

export function imageQuery(os: OperatingSystem, arch: Ec2Architecture): ImageQuery {
  const a = debianArch(arch);
  switch (os) {
    case "ubuntu-24.04":
      return {
        owner: "099720109477",
        namePattern: `ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-${a}-server-*`,
        sshUser: "ubuntu",
      };
    case "ubuntu-22.04":
      return {
        owner: "099720109477",
        namePattern: `ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-${a}-server-*`,
        sshUser: "ubuntu",
      };
    case "debian-12":
      return { owner: "136693071363", namePattern: `debian-12-${a}-*`, sshUser: "admin" };
  }
}

export function sshUserFor(os: OperatingSystem): string {
  return imageQuery(os, "x86_64").sshUser;
}

/** The architecture we build for from EC2's list of supported ones, or undefined if none fits. */
export function pickArchitecture(supported: readonly string[]): Ec2Architecture | undefined {
  if (supported.includes("arm64")) return "arm64";
  if (supported.includes("x86_64")) return "x86_64";
  return undefined;
}

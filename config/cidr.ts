/**
 * IPv4 CIDR maths on top of `ip-address`: validation, overlap, and splitting a VPC into
 * equal subnets. Pure functions, no Pulumi: the config validation (components/) and the kubeadm
 * and Calico renderers (render/) share them.
 */
import { Address4 } from "ip-address";

/** What a CIDR string is: not a CIDR at all, a host address with a prefix, or a network. */
export type CidrInspection =
  | { readonly kind: "invalid" }
  | { readonly kind: "host-bits" | "network"; readonly network: string; readonly prefix: number };

/** Classifies "a.b.c.d/n" strictly: the one place both config validation and renderers ask. */
export function inspectCidr(cidr: string): CidrInspection {
  if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(cidr) || !Address4.isValid(cidr)) {
    return { kind: "invalid" };
  }
  const address = new Address4(cidr);
  const network = address.startAddress().correctForm();
  // "10.0.1.5/16" is a host address, not a network: AWS rejects it and it usually means a typo.
  const kind = network === address.addressMinusSuffix ? "network" : "host-bits";
  return { kind, network, prefix: address.subnetMask };
}

/** Parses a network CIDR; undefined for anything else. */
export function parseCidr(cidr: string): Address4 | undefined {
  return inspectCidr(cidr).kind === "network" ? new Address4(cidr) : undefined;
}

/** Why a CIDR string is not a network CIDR, or undefined if it is one. */
export function cidrProblem(cidr: string): string | undefined {
  const found = inspectCidr(cidr);
  if (found.kind === "invalid") return "is not an IPv4 CIDR such as 10.0.0.0/16";
  if (found.kind === "host-bits") {
    return `has host bits set (the network is ${found.network}/${found.prefix})`;
  }
  return undefined;
}

/** True when the two networks share at least one address. */
export function cidrsOverlap(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  if (!x || !y) return false;
  return x.isInSubnet(y) || y.isInSubnet(x);
}

/** The prefix length of a valid CIDR. */
export function prefixLength(cidr: string): number {
  const parsed = parseCidr(cidr);
  if (!parsed) throw new Error(`${cidr} is not a network CIDR`);
  return parsed.subnetMask;
}

/** Usable addresses in an AWS subnet of this prefix (AWS reserves five per subnet). */
export function awsUsableAddresses(prefix: number): number {
  return 2 ** (32 - prefix) - 5;
}

/**
 * The prefix of each per-AZ subnet: the VPC split into the next power of two >= the AZ count,
 * and never fewer than four slots, so room is left for private subnets later.
 */
export function subnetPrefixFor(vpcCidr: string, azCount: number): number {
  const slots = Math.max(4, 2 ** Math.ceil(Math.log2(Math.max(azCount, 1))));
  return prefixLength(vpcCidr) + Math.log2(slots);
}

/** The first `count` consecutive subnets of `newPrefix` inside `vpcCidr`. */
export function splitCidr(vpcCidr: string, newPrefix: number, count: number): string[] {
  const vpc = parseCidr(vpcCidr);
  if (!vpc) throw new Error(`${vpcCidr} is not a network CIDR`);
  if (newPrefix < vpc.subnetMask || newPrefix > 32) {
    throw new Error(`cannot split ${vpcCidr} into /${newPrefix} subnets`);
  }
  const available = 2 ** (newPrefix - vpc.subnetMask);
  if (count > available) {
    throw new Error(`${vpcCidr} holds only ${available} /${newPrefix} subnets, ${count} requested`);
  }
  const size = 2n ** BigInt(32 - newPrefix);
  const base = vpc.startAddress().bigInt();
  return Array.from(
    { length: count },
    (_, i) => `${Address4.fromBigInt(base + size * BigInt(i)).address}/${newPrefix}`,
  );
}

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

/** The nth subnet of `newPrefix` inside `cidr` (n counts from 0). */
export function nthSubnet(cidr: string, newPrefix: number, n: number): string {
  const network = parseCidr(cidr);
  if (!network) throw new Error(`${cidr} is not a network CIDR`);
  if (newPrefix < network.subnetMask || newPrefix > 32) {
    throw new Error(`cannot split ${cidr} into /${newPrefix} subnets`);
  }
  const available = 2 ** (newPrefix - network.subnetMask);
  if (!Number.isInteger(n) || n < 0 || n >= available) {
    throw new Error(`${cidr} holds ${available} /${newPrefix} subnets; there is no subnet ${n}`);
  }
  const size = 2n ** BigInt(32 - newPrefix);
  const base = network.startAddress().bigInt();
  return `${Address4.fromBigInt(base + size * BigInt(n)).address}/${newPrefix}`;
}

/**
 * The subnet layout, fixed for the life of a VPC so that adding zones never resizes or renumbers
 * a subnet that holds nodes (AWS cannot resize a subnet, and a replaced subnet replaces every
 * instance in it; a renumbered layout's new subnets would overlap the old ones:
 * InvalidSubnet.Conflict).
 *
 * The VPC is cut into 8 equal slots. Slot k (k = 0..5) is the node subnet of zone index k,
 * whatever the number of zones; slot 6 is kept free; slot 7 is cut into 8 small "edge" subnets,
 * edge subnet k in zone k, for what must sit in a public subnet when the nodes do not (a bastion,
 * NAT gateways, a public load balancer). For the default 10.0.0.0/16: nodes get /19s
 * (10.0.0.0/19, 10.0.32.0/19, ...), edges /22s from 10.0.224.0.
 */
export const SUBNET_LAYOUT = { slots: 8, maxZones: 6, edgeSlot: 7, edgeSplit: 8 } as const;

/** Prefix length of every node subnet of a VPC. */
export function nodeSubnetPrefix(vpcCidr: string): number {
  return prefixLength(vpcCidr) + Math.log2(SUBNET_LAYOUT.slots);
}

/** Prefix length of every edge subnet of a VPC. */
export function edgeSubnetPrefix(vpcCidr: string): number {
  return nodeSubnetPrefix(vpcCidr) + Math.log2(SUBNET_LAYOUT.edgeSplit);
}

function requireZoneIndex(zoneIndex: number): void {
  if (!Number.isInteger(zoneIndex) || zoneIndex < 0 || zoneIndex >= SUBNET_LAYOUT.maxZones) {
    throw new Error(`zone index ${zoneIndex} is outside 0..${SUBNET_LAYOUT.maxZones - 1}`);
  }
}

/** The node subnet of zone index `zoneIndex` (0-based, in the order the zones were chosen). */
export function nodeSubnetCidr(vpcCidr: string, zoneIndex: number): string {
  requireZoneIndex(zoneIndex);
  return nthSubnet(vpcCidr, nodeSubnetPrefix(vpcCidr), zoneIndex);
}

/** The edge (public) subnet of zone index `zoneIndex`. */
export function edgeSubnetCidr(vpcCidr: string, zoneIndex: number): string {
  requireZoneIndex(zoneIndex);
  const edgeBlock = nthSubnet(vpcCidr, nodeSubnetPrefix(vpcCidr), SUBNET_LAYOUT.edgeSlot);
  return nthSubnet(edgeBlock, edgeSubnetPrefix(vpcCidr), zoneIndex);
}

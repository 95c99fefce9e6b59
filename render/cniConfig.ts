/**
 * Calico's operator resources, applied after the pinned tigera-operator manifest (Flannel needs
 * no renderer: its pinned manifest is patched on the node).
 *
 * VXLAN everywhere with BGP off: it works in any VPC without BGP peering or disabling the EC2
 * source/destination check, and only UDP 4789 is needed between nodes. The node address comes
 * from the Node's InternalIP (the EC2 private IP that kubelet registers with `--node-ip`)
 * rather than from interface names, which vary across EC2 instance types (eth0, ens5, enp39s0).
 * https://docs.tigera.io/calico/latest/reference/installation/api
 */
import { stringify } from "yaml";
import { requireIPv4Cidr } from "./kubeadmConfig";

/** Calico's default IPv4 block size (a /26: 64 pod addresses per block). */
export const DEFAULT_CALICO_BLOCK_SIZE = 26;

/** `operator.tigera.io/v1` `IPPool` (inside an Installation). */
export interface CalicoIPPool {
  name: string;
  cidr: string;
  encapsulation: "VXLAN";
  natOutgoing: "Enabled";
  nodeSelector: string;
  /** Prefix length of the per-node address blocks carved from the pool. */
  blockSize: number;
}

/** `operator.tigera.io/v1` `Installation`: how the operator installs Calico. */
export interface CalicoInstallation {
  apiVersion: "operator.tigera.io/v1";
  kind: "Installation";
  metadata: { name: "default" };
  spec: {
    calicoNetwork: {
      bgp: "Disabled";
      ipPools: CalicoIPPool[];
      nodeAddressAutodetectionV4: { kubernetes: "NodeInternalIP" };
    };
  };
}

/** `operator.tigera.io/v1` `APIServer`: serves the projectcalico.org/v3 API through kubectl. */
export interface CalicoAPIServer {
  apiVersion: "operator.tigera.io/v1";
  kind: "APIServer";
  metadata: { name: "default" };
  spec: Record<string, never>;
}

/** Builds the Installation after checking the pool and block size. */
export function buildCalicoInstallation(p: {
  podCidr: string;
  blockSize?: number;
}): CalicoInstallation {
  const { prefix } = requireIPv4Cidr("the Calico pod CIDR", p.podCidr);
  const blockSize = p.blockSize ?? DEFAULT_CALICO_BLOCK_SIZE;
  if (!Number.isInteger(blockSize) || blockSize < 20 || blockSize > 32) {
    throw new Error(
      `the Calico IPv4 block size must be an integer from 20 to 32 (got ${String(blockSize)})`,
    );
  }
  if (prefix > blockSize) {
    throw new Error(
      `the Calico pod CIDR ${p.podCidr} is smaller than one /${blockSize} block: ` +
        `use a pool of /${blockSize} or larger, or a block size of at least ${prefix}`,
    );
  }
  return {
    apiVersion: "operator.tigera.io/v1",
    kind: "Installation",
    metadata: { name: "default" },
    spec: {
      calicoNetwork: {
        bgp: "Disabled",
        ipPools: [
          {
            name: "default-ipv4-ippool",
            cidr: p.podCidr,
            encapsulation: "VXLAN",
            natOutgoing: "Enabled",
            nodeSelector: "all()",
            blockSize,
          },
        ],
        nodeAddressAutodetectionV4: { kubernetes: "NodeInternalIP" },
      },
    },
  };
}

export function buildCalicoAPIServer(): CalicoAPIServer {
  return {
    apiVersion: "operator.tigera.io/v1",
    kind: "APIServer",
    metadata: { name: "default" },
    spec: {},
  };
}

/** The Installation and APIServer resources, as one `---`-separated YAML stream. */
export function renderCalicoResources(p: { podCidr: string; blockSize?: number }): string {
  return [buildCalicoInstallation(p), buildCalicoAPIServer()]
    .map((doc) => stringify(doc, { lineWidth: 0 }))
    .join("---\n");
}

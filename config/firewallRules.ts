/**
 * The cluster's firewall as data: every security-group rule of the three groups, with its
 * protocol, ports and source (a CIDR or another group). components/securityGroupRules.ts turns
 * it into resources; the quota check counts it; tests assert the exact matrix.
 *
 * Three groups:
 * - `apiLb`: the API network load balancer (6443 from the API CIDRs and the nodes' public IPs).
 * - `controlPlane`: API from the load balancer and the nodes, etcd only between control planes.
 * - `nodes`: on every node: SSH from the SSH CIDRs, kubelet/kube-proxy/CNI only between nodes,
 *   NodePorts only from configured CIDRs, egress to the internet for packages and images.
 * Ports: https://kubernetes.io/docs/reference/networking/ports-and-protocols/
 */
import type { CniName } from "./clusterConfig";

export type GroupName = "apiLb" | "controlPlane" | "nodes";

/** One rule: where it lives, the protocol and ports, and its source (a CIDR or another group). */
export interface RuleSpec {
  readonly key: string;
  readonly group: GroupName;
  readonly direction: "ingress" | "egress";
  readonly protocol: "tcp" | "udp" | "-1";
  readonly fromPort?: number;
  readonly toPort?: number;
  readonly cidr?: string;
  readonly peerGroup?: GroupName;
  readonly description: string;
}

export interface RuleSpecArgs {
  readonly cni: CniName;
  readonly sshIngressCidrs: readonly string[];
  readonly apiIngressCidrs: readonly string[];
  readonly nodePortIngressCidrs: readonly string[];
}

const slug = (cidr: string) => cidr.replace(/[./]/g, "-");

/** The complete rule matrix for a configuration. */
export function securityGroupRuleSpecs(args: RuleSpecArgs): RuleSpec[] {
  const tcp = (port: number, toPort = port) => ({
    protocol: "tcp" as const,
    fromPort: port,
    toPort,
  });
  const udp = (port: number) => ({ protocol: "udp" as const, fromPort: port, toPort: port });
  const rules: RuleSpec[] = [
    ...args.apiIngressCidrs.map((cidr) => ({
      key: `api-from-${slug(cidr)}`,
      group: "apiLb" as const,
      direction: "ingress" as const,
      ...tcp(6443),
      cidr,
      description: "Kubernetes API from an allowed CIDR",
    })),
    {
      key: "lb-to-api",
      group: "apiLb",
      direction: "egress",
      ...tcp(6443),
      peerGroup: "controlPlane",
      description: "load balancer to the API servers and their health checks",
    },
    {
      key: "api-from-lb",
      group: "controlPlane",
      direction: "ingress",
      ...tcp(6443),
      peerGroup: "apiLb",
      description: "Kubernetes API from the load balancer",
    },
    {
      key: "api-from-nodes",
      group: "controlPlane",
      direction: "ingress",
      ...tcp(6443),
      peerGroup: "nodes",
      description: "Kubernetes API from nodes on the private network (control-plane joins)",
    },
    {
      key: "etcd",
      group: "controlPlane",
      direction: "ingress",
      ...tcp(2379, 2380),
      peerGroup: "controlPlane",
      description: "etcd client and peer traffic between control-plane nodes only",
    },
    ...args.sshIngressCidrs.map((cidr) => ({
      key: `ssh-from-${slug(cidr)}`,
      group: "nodes" as const,
      direction: "ingress" as const,
      ...tcp(22),
      cidr,
      description: "SSH for bootstrap and operations from an allowed CIDR",
    })),
    {
      key: "kubelet",
      group: "nodes",
      direction: "ingress",
      ...tcp(10250),
      peerGroup: "nodes",
      description: "kubelet API, inside the cluster only",
    },
    {
      key: "kube-proxy-health",
      group: "nodes",
      direction: "ingress",
      ...tcp(10256),
      peerGroup: "nodes",
      description: "kube-proxy health check, inside the cluster only",
    },
    ...args.nodePortIngressCidrs.map((cidr) => ({
      key: `nodeports-from-${slug(cidr)}`,
      group: "nodes" as const,
      direction: "ingress" as const,
      ...tcp(30000, 32767),
      cidr,
      description: "NodePort services from an allowed CIDR",
    })),
    ...(args.cni === "flannel"
      ? [
          {
            key: "flannel-vxlan",
            group: "nodes" as const,
            direction: "ingress" as const,
            ...udp(8472),
            peerGroup: "nodes" as const,
            description: "Flannel VXLAN between nodes",
          },
        ]
      : [
          {
            key: "calico-vxlan",
            group: "nodes" as const,
            direction: "ingress" as const,
            ...udp(4789),
            peerGroup: "nodes" as const,
            description: "Calico VXLAN between nodes",
          },
          {
            key: "calico-typha",
            group: "nodes" as const,
            direction: "ingress" as const,
            ...tcp(5473),
            peerGroup: "nodes" as const,
            description: "Calico Typha between nodes",
          },
        ]),
    {
      key: "egress-all",
      group: "nodes",
      direction: "egress",
      protocol: "-1",
      cidr: "0.0.0.0/0",
      description: "packages, container images and the API load balancer",
    },
  ];
  return rules;
}

/**
 * The cluster's firewall as data: every security-group rule, with its protocol, ports and source
 * (a CIDR or another group). components/securityGroupRules.ts turns it into resources; the quota
 * check counts it; a RHEL-family node's firewalld opens the same ports (hostFirewallPorts); tests
 * assert the exact matrix. Between the cluster's own machines every rule
 * references a group, so the number of rules never grows with the number of nodes.
 *
 * Groups:
 * - `bastion`: SSH from sshIngressCidrs; out only to the nodes' SSH, the API (through the
 *   internal load balancer, and each API server directly for the etcd check before a
 *   control-plane join), and package mirrors. Every cluster-level step runs here.
 * - `apiInternal`: the internal API load balancer: 6443 from the nodes and the bastion.
 * - `apiPublic` (publicApi only): the internet-facing API load balancer: 6443 from
 *   apiIngressCidrs.
 * - `controlPlane`: 6443 from both load balancers, the bastion and the nodes (a joining control
 *   plane reaches another one directly); etcd only between control planes; ICMP fragmentation-needed from the
 *   load balancers, so path-MTU discovery works between the VPC's 9001-byte and the internet's
 *   1500-byte paths (kOps allows the same between its API load balancer and its control planes).
 * - `nodes`: on every node: SSH only from the bastion; kubelet, kube-proxy and the CNI only between
 *   nodes; NodePorts only from nodePortIngressCidrs; egress to the internet (packages, images).
 * Ports: https://kubernetes.io/docs/reference/networking/ports-and-protocols/
 */
import type { CniName, NodeRole } from "./clusterConfig";

export type GroupName = "bastion" | "apiInternal" | "apiPublic" | "controlPlane" | "nodes";

/** One rule: where it lives, the protocol and ports, and its source (a CIDR or another group). */
export interface RuleSpec {
  readonly key: string;
  readonly group: GroupName;
  readonly direction: "ingress" | "egress";
  /** For icmp, fromPort is the ICMP type and toPort the code (as in the EC2 API). */
  readonly protocol: "tcp" | "udp" | "icmp" | "-1";
  readonly fromPort?: number;
  readonly toPort?: number;
  readonly cidr?: string;
  readonly peerGroup?: GroupName;
  readonly description: string;
}

export interface RuleSpecArgs {
  readonly cni: CniName;
  readonly publicApi: boolean;
  readonly sshIngressCidrs: readonly string[];
  readonly apiIngressCidrs: readonly string[];
  readonly nodePortIngressCidrs: readonly string[];
}

/** The groups a configuration has. */
export function groupsOf(args: Pick<RuleSpecArgs, "publicApi">): GroupName[] {
  const groups: GroupName[] = ["bastion", "apiInternal", "controlPlane", "nodes"];
  return args.publicApi ? [...groups.slice(0, 2), "apiPublic", ...groups.slice(2)] : groups;
}

const slug = (cidr: string) => cidr.replace(/[./]/g, "-");
const tcp = (port: number, toPort = port) => ({ protocol: "tcp" as const, fromPort: port, toPort });
const udp = (port: number) => ({ protocol: "udp" as const, fromPort: port, toPort: port });
/** Kubernetes' default NodePort range (kube-apiserver --service-node-port-range). */
const NODE_PORTS = tcp(30000, 32767);
/** ICMP destination unreachable (3), fragmentation needed (4): path-MTU discovery. */
const FRAGMENTATION_NEEDED = { protocol: "icmp" as const, fromPort: 3, toPort: 4 };

type Rule = Omit<RuleSpec, "group" | "direction">;
const ingress = (group: GroupName, rule: Rule): RuleSpec => ({
  group,
  direction: "ingress",
  ...rule,
});
const egress = (group: GroupName, rule: Rule): RuleSpec => ({
  group,
  direction: "egress",
  ...rule,
});

function bastionRules(args: RuleSpecArgs): RuleSpec[] {
  return [
    ...args.sshIngressCidrs.map((cidr) =>
      ingress("bastion", {
        key: `ssh-from-${slug(cidr)}`,
        ...tcp(22),
        cidr,
        description: "SSH to the bastion from an allowed CIDR",
      }),
    ),
    egress("bastion", {
      key: "ssh-to-nodes",
      ...tcp(22),
      peerGroup: "nodes",
      description: "SSH on to the nodes",
    }),
    egress("bastion", {
      key: "api-to-internal-lb",
      ...tcp(6443),
      peerGroup: "apiInternal",
      description: "the private API: cluster steps and operators' tunnels",
    }),
    egress("bastion", {
      key: "api-to-control-planes",
      ...tcp(6443),
      peerGroup: "controlPlane",
      description: "each API server directly: etcd checks before a control-plane join",
    }),
    egress("bastion", {
      key: "http",
      ...tcp(80),
      cidr: "0.0.0.0/0",
      description: "package mirrors (security updates)",
    }),
    egress("bastion", {
      key: "https",
      ...tcp(443),
      cidr: "0.0.0.0/0",
      description: "package mirrors (security updates)",
    }),
  ];
}

function apiRules(args: RuleSpecArgs): RuleSpec[] {
  const internal = [
    ingress("apiInternal", {
      key: "api-from-nodes",
      ...tcp(6443),
      peerGroup: "nodes",
      description: "Kubernetes API from the nodes",
    }),
    ingress("apiInternal", {
      key: "api-from-bastion",
      ...tcp(6443),
      peerGroup: "bastion",
      description: "Kubernetes API through an operator's SSH tunnel",
    }),
    egress("apiInternal", {
      key: "to-api",
      ...tcp(6443),
      peerGroup: "controlPlane",
      description: "to the API servers and their health checks",
    }),
  ];
  if (!args.publicApi) return internal;
  return [
    ...internal,
    ...args.apiIngressCidrs.flatMap((cidr) => [
      ingress("apiPublic", {
        key: `api-from-${slug(cidr)}`,
        ...tcp(6443),
        cidr,
        description: "Kubernetes API from an allowed CIDR",
      }),
    ]),
    egress("apiPublic", {
      key: "to-api",
      ...tcp(6443),
      peerGroup: "controlPlane",
      description: "to the API servers and their health checks",
    }),
  ];
}

function controlPlaneRules(args: RuleSpecArgs): RuleSpec[] {
  const lbs: GroupName[] = args.publicApi ? ["apiInternal", "apiPublic"] : ["apiInternal"];
  return [
    ...lbs.flatMap((lb) => [
      ingress("controlPlane", {
        key: `api-from-${lb}`,
        ...tcp(6443),
        peerGroup: lb,
        description: "Kubernetes API from a load balancer",
      }),
      ingress("controlPlane", {
        key: `pmtu-from-${lb}`,
        ...FRAGMENTATION_NEEDED,
        peerGroup: lb,
        description: "path-MTU discovery (fragmentation needed) from a load balancer",
      }),
    ]),
    ingress("controlPlane", {
      key: "api-from-bastion",
      ...tcp(6443),
      peerGroup: "bastion",
      description: "Kubernetes API from the bastion directly (etcd checks before a join)",
    }),
    ingress("controlPlane", {
      key: "api-from-nodes",
      ...tcp(6443),
      peerGroup: "nodes",
      description: "Kubernetes API from the nodes directly (control-plane joins)",
    }),
    ingress("controlPlane", {
      key: "etcd",
      ...tcp(2379, 2380),
      peerGroup: "controlPlane",
      description: "etcd client and peer traffic between control-plane nodes only",
    }),
  ];
}

function nodeRules(args: RuleSpecArgs): RuleSpec[] {
  const cni =
    args.cni === "flannel"
      ? [
          ingress("nodes", {
            key: "flannel-vxlan",
            ...udp(8472),
            peerGroup: "nodes",
            description: "Flannel VXLAN between nodes",
          }),
        ]
      : [
          ingress("nodes", {
            key: "calico-vxlan",
            ...udp(4789),
            peerGroup: "nodes",
            description: "Calico VXLAN between nodes",
          }),
          ingress("nodes", {
            key: "calico-typha",
            ...tcp(5473),
            peerGroup: "nodes",
            description: "Calico Typha between nodes",
          }),
        ];
  return [
    ingress("nodes", {
      key: "ssh-from-bastion",
      ...tcp(22),
      peerGroup: "bastion",
      description: "SSH from the bastion only",
    }),
    ingress("nodes", {
      key: "kubelet",
      ...tcp(10250),
      peerGroup: "nodes",
      description: "kubelet API, inside the cluster only",
    }),
    ingress("nodes", {
      key: "kube-proxy-health",
      ...tcp(10256),
      peerGroup: "nodes",
      description: "kube-proxy health check, inside the cluster only",
    }),
    ...args.nodePortIngressCidrs.map((cidr) =>
      ingress("nodes", {
        key: `nodeports-from-${slug(cidr)}`,
        ...NODE_PORTS,
        cidr,
        description: "NodePort services from an allowed CIDR",
      }),
    ),
    ...cni,
    egress("nodes", {
      key: "egress-all",
      protocol: "-1",
      cidr: "0.0.0.0/0",
      description: "packages, container images, the API load balancer",
    }),
  ];
}

/** The complete rule matrix for a configuration. */
export function securityGroupRuleSpecs(args: RuleSpecArgs): RuleSpec[] {
  return [...bastionRules(args), ...apiRules(args), ...controlPlaneRules(args), ...nodeRules(args)];
}

/** The security groups the instances of each role are in (components/kubeadmCluster.ts). */
export const ROLE_GROUPS: Readonly<Record<NodeRole, readonly GroupName[]>> = {
  "control-plane": ["nodes", "controlPlane"],
  worker: ["nodes"],
};

/**
 * kube-controller-manager (10257) and kube-scheduler (10259): in the kubeadm reference's control
 * plane ports, but no security group admits them (kubeadm binds both to 127.0.0.1).
 */
const CONTROL_PLANE_LOCAL_PORTS = [tcp(10257), tcp(10259)];

/**
 * What firewalld opens on a node of `role` with `firewalld: cluster-ports` (a RHEL-family OS), as
 * firewall-cmd names ports (`6443/tcp`, `2379-2380/tcp`, `8472/udp`): every TCP and UDP port the
 * security groups of the role admit from any source (the groups decide who), so the host
 * firewall never blocks what they let in, and besides:
 * - the NodePort range on every node, with or without nodePortIngressCidrs: the AWS cloud
 *   controller opens node ports for LoadBalancer Services at runtime, outside this matrix;
 * - 10257 and 10259 on control planes, as the kubeadm reference lists them.
 * Sorted by protocol and port, each once.
 */
export function hostFirewallPorts(role: NodeRole, args: RuleSpecArgs): string[] {
  const groups = new Set(ROLE_GROUPS[role]);
  const admitted = securityGroupRuleSpecs(args).filter(
    (r) => r.direction === "ingress" && groups.has(r.group),
  );
  const extra: Rule[] = [
    { key: "nodeports", ...NODE_PORTS, description: "" },
    ...(role === "control-plane"
      ? CONTROL_PLANE_LOCAL_PORTS.map((p) => ({ key: "local", ...p, description: "" }))
      : []),
  ];
  const ports = [...admitted, ...extra].flatMap((r) =>
    (r.protocol === "tcp" || r.protocol === "udp") && r.fromPort !== undefined
      ? [{ protocol: r.protocol, from: r.fromPort, to: r.toPort ?? r.fromPort }]
      : [],
  );
  ports.sort((a, b) => a.protocol.localeCompare(b.protocol) || a.from - b.from || a.to - b.to);
  const words = ports.map((p) => `${p.from === p.to ? p.from : `${p.from}-${p.to}`}/${p.protocol}`);
  return [...new Set(words)];
}

/**
 * The choices and defaults of the cluster configuration: a leaf module, so the schema, the rules
 * and the config type can all import it without a cycle.
 */

/** The oldest and newest Kubernetes minor versions this program knows how to configure. */
export const SUPPORTED_KUBERNETES = { minMinor: 29, maxMinor: 35 } as const;

export const CONTAINER_RUNTIMES = ["containerd", "cri-dockerd"] as const;
export const CNIS = ["flannel", "calico"] as const;
/** Debian-family (apt) first, then the RHEL-family (dnf) ones: config/osFamily.ts. */
export const OPERATING_SYSTEMS = [
  "ubuntu-24.04",
  "ubuntu-22.04",
  "debian-12",
  "rocky-9",
  "almalinux-9",
  "amazon-linux-2023",
  "oracle-linux-9",
] as const;
/**
 * SELinux on a RHEL-family node: permissive (kubeadm's install guide: containers must read the
 * host filesystem, e.g. for CNI plugins) or enforcing (container-selinux, the runtime's SELinux
 * support on).
 */
export const SELINUX_MODES = ["permissive", "enforcing"] as const;
/**
 * firewalld on a RHEL-family node: stopped (the security groups are the firewall) or running with
 * the ports of the node's role open (config/firewallRules.ts hostFirewallPorts).
 */
export const FIREWALLD_MODES = ["stopped", "cluster-ports"] as const;
/** public: nodes in public subnets (egress only); private: nodes behind NAT gateways. */
export const TOPOLOGIES = ["public", "private"] as const;
/** private topology: one NAT gateway for the cluster, or one per zone (no cross-zone egress). */
export const NAT_GATEWAYS = ["single", "perZone"] as const;
/** aws: the AWS cloud controller manager and the EBS CSI driver; none: neither. */
export const CLOUD_PROVIDERS = ["aws", "none"] as const;

export type ContainerRuntime = (typeof CONTAINER_RUNTIMES)[number];
export type CniName = (typeof CNIS)[number];
export type OperatingSystem = (typeof OPERATING_SYSTEMS)[number];
export type NodeRole = "control-plane" | "worker";
export type Topology = (typeof TOPOLOGIES)[number];
export type NatGatewayMode = (typeof NAT_GATEWAYS)[number];
export type CloudProvider = (typeof CLOUD_PROVIDERS)[number];
export type SelinuxMode = (typeof SELINUX_MODES)[number];
export type FirewalldMode = (typeof FIREWALLD_MODES)[number];

/** Defaults for a small, cheap dev cluster. SSH CIDRs have no default on purpose. */
export const DEFAULTS = {
  kubernetesVersion: "1.34.2",
  containerRuntime: "containerd",
  cni: "flannel",
  os: "ubuntu-24.04",
  // RHEL-family only (an apt OS refuses them when set): kubeadm's guide, and no second firewall.
  selinux: "permissive",
  firewalld: "stopped",
  controlPlane: { count: 1, instanceType: "t3.medium", rootVolumeSizeGiB: 30 },
  workers: { count: 1, instanceType: "t3.medium", rootVolumeSizeGiB: 30 },
  vpcCidr: "10.0.0.0/16",
  availabilityZoneCount: 2,
  podCidr: "10.244.0.0/16",
  serviceCidr: "10.96.0.0/12",
  nodePortIngressCidrs: [] as string[],
  publicApi: true,
  topology: "public",
  natGateways: "single",
  cloudProvider: "aws",
  // A small Graviton type: the SSH hop of every step (one sshd per connection, a few dozen at
  // once) and where cluster steps run kubectl; t4g.nano's 512 MiB is too tight for both.
  bastion: { instanceType: "t4g.micro" },
  // A year, as kubeadm's own admin.conf; re-issued by the first `up` in the last 30 days.
  adminKubeconfig: { validityDays: 365, renewBeforeDays: 30 },
  // One worker out of service at a time during a rolling upgrade, as kubeadm's guide and
  // kOps's default (maxUnavailable 1) do.
  upgrade: { maxUnavailableWorkers: 1 },
  // kOps's interval (etcd-manager backs up every 15 minutes); two weeks of snapshots.
  etcdBackup: { enabled: true, intervalMinutes: 15, retentionDays: 14, deleteOnDestroy: false },
} as const;

/** The private DNS zone of a cluster, attached to its VPC only. */
export function privateZoneName(clusterName: string): string {
  return `${clusterName}.k8s.internal`;
}

/**
 * The cluster's fixed API name: `controlPlaneEndpoint` and a SAN of the API certificate, known
 * before anything exists (it follows from the create-only clusterName), resolved inside the VPC
 * to the internal load balancer. `.internal` is reserved for private use (ICANN, 2024).
 */
export function apiEndpointName(clusterName: string): string {
  return `api.${privateZoneName(clusterName)}`;
}

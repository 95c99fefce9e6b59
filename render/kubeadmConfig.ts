/**
 * kubeadm configuration files, built from typed objects and serialised with `yaml`.
 *
 * - `renderInitConfig`: InitConfiguration + ClusterConfiguration + KubeletConfiguration +
 *   KubeProxyConfiguration, the one file `kubeadm init --config` reads on the first
 *   control-plane node.
 * - `renderJoinConfig`: the JoinConfiguration of a control-plane or worker node, which discovers
 *   and trusts the cluster through a kubeconfig file (`discovery.file`).
 *
 * The kubeadm API version follows the Kubernetes version (v1beta4 from 1.31, v1beta3 for 1.29
 * and 1.30), as Cluster API's bootstrap provider does. The two differ in the fields we use only
 * in the shape of `nodeRegistration.kubeletExtraArgs` (a string map in v1beta3, a list of
 * `{name, value}` in v1beta4):
 * https://kubernetes.io/docs/reference/config-api/kubeadm-config.v1beta4/
 * https://kubernetes.io/docs/reference/config-api/kubeadm-config.v1beta3/
 *
 * Secrets are never rendered: a join reads its credentials (a discovery kubeconfig with the
 * node's client certificate) from stdin into a private file, whose path the placeholder
 * `__DISCOVERY_FILE__` stands for; it is emitted double-quoted so any path stays a YAML string.
 * No bootstrap token and no certificate key exist (docs/kubeadm-credentials.md).
 */
import { Address4 } from "ip-address";
import { Document, isScalar, visit } from "yaml";
import { inspectCidr } from "../config/cidr";
import { SUPPORTED_KUBERNETES } from "../config/clusterConfig";
import {
  KUBEADM_V1BETA3,
  KUBEADM_V1BETA4,
  KubeadmApiVersion,
  Arg,
  ExtraArgs,
  NodeRegistrationOptions,
  InitConfiguration,
  ClusterConfiguration,
  JoinConfiguration,
  KubeletConfiguration,
  KubeProxyConfiguration,
} from "./kubeadmTypes";
export * from "./kubeadmTypes";

/** CRI endpoints of the two supported container runtimes. */
export const CRI_SOCKETS = {
  containerd: "unix:///run/containerd/containerd.sock",
  "cri-dockerd": "unix:///run/cri-dockerd.sock",
} as const;

/**
 * Replaced on the node by the path of the discovery kubeconfig the step wrote from stdin into
 * its private tmpfs folder (the file holds the node's client key, so it is never rendered).
 */
export const DISCOVERY_FILE_PLACEHOLDER = "__DISCOVERY_FILE__";

/** The port every API server binds (and the load balancer forwards to). */
export const API_SERVER_BIND_PORT = 6443;

/** The first Kubernetes minor whose kubeadm reads v1beta4. */
const V1BETA4_FROM_MINOR = 31;

// ---------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------

export interface ClusterSettings {
  /** Full version without the leading "v", e.g. "1.34.2". */
  kubernetesVersion: string;
  clusterName: string;
  /** `<nlb-dns>:6443`. */
  controlPlaneEndpoint: string;
  /** Extra API server SANs; the endpoint host is always added. */
  certSANs: readonly string[];
  podSubnet: string;
  serviceSubnet: string;
  /** One of `CRI_SOCKETS`, or another `unix://` endpoint. */
  criSocket: string;
  /**
   * The kubelet leaves node initialisation (provider ID, addresses, zone labels) to an external
   * cloud controller manager, and registers tainted `node.cloudprovider.kubernetes.io/uninitialized`
   * until it has. Absent means false.
   */
  externalCloudProvider?: boolean;
}

export interface NodeSettings {
  /** The EC2 private DNS name, e.g. ip-10-0-1-10.ec2.internal. */
  nodeName: string;
  /** The node's private IPv4 address. */
  advertiseAddress: string;
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

const VERSION = /^(\d+)\.(\d+)\.(\d+)$/;
/** An RFC 1123 subdomain as Kubernetes validates it: lowercase labels joined by dots. */
const DNS_SUBDOMAIN =
  /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** Parses "major.minor.patch" (no leading "v"). */
export function parseKubernetesVersion(version: string): {
  major: number;
  minor: number;
  patch: number;
} {
  const match = VERSION.exec(version);
  if (!match) {
    throw new Error(
      `kubernetesVersion must be major.minor.patch without a leading "v", e.g. "1.34.2" ` +
        `(got ${JSON.stringify(version)})`,
    );
  }
  return { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3]) };
}

/** The kubeadm config API for a Kubernetes version: v1beta4 from 1.31, v1beta3 for 1.29–1.30. */
export function kubeadmApiVersion(kubernetesVersion: string): KubeadmApiVersion {
  const { major, minor } = parseKubernetesVersion(kubernetesVersion);
  if (major !== 1 || minor < SUPPORTED_KUBERNETES.minMinor) {
    throw new Error(
      `kubernetesVersion ${kubernetesVersion} is not supported: the oldest supported version ` +
        `is 1.${SUPPORTED_KUBERNETES.minMinor} (kubeadm config API v1beta3)`,
    );
  }
  return minor >= V1BETA4_FROM_MINOR ? KUBEADM_V1BETA4 : KUBEADM_V1BETA3;
}

function isIPv4(value: string): boolean {
  return IPV4.test(value) && Address4.isValid(value);
}

/** Checks "a.b.c.d/n" is an IPv4 network (no host bits set); returns its address and prefix. */
export function requireIPv4Cidr(label: string, cidr: string): { address: string; prefix: number } {
  const found = inspectCidr(cidr);
  if (found.kind === "invalid") {
    throw new Error(
      `${label} must be an IPv4 CIDR such as 10.244.0.0/16 (got ${JSON.stringify(cidr)})`,
    );
  }
  if (found.kind === "host-bits") {
    throw new Error(
      `${label} ${cidr} has host bits set; the network is ${found.network}/${found.prefix}`,
    );
  }
  return { address: found.network, prefix: found.prefix };
}

/**
 * Splits `<host>:<port>`. The host is lowercased: DNS is case-insensitive, and kubeadm validates
 * hosts and SANs as lowercase RFC 1123 names.
 */
export function parseControlPlaneEndpoint(endpoint: string): { host: string; port: number } {
  const match = /^([^:\s]+):(\d{1,5})$/.exec(endpoint);
  const port = match ? Number(match[2]) : NaN;
  const host = match ? (match[1] as string).toLowerCase() : "";
  if (!match || port < 1 || port > 65535 || !(isIPv4(host) || DNS_SUBDOMAIN.test(host))) {
    throw new Error(
      `controlPlaneEndpoint must be <dns-name-or-ipv4>:<port>, e.g. ` +
        `api-0123456789.elb.us-east-1.amazonaws.com:6443 (got ${JSON.stringify(endpoint)})`,
    );
  }
  return { host, port };
}

/** Lowercases and checks one SAN: an IPv4 address, a DNS name, or a `*.` wildcard DNS name. */
function normaliseSan(san: string): string {
  const value = san.toLowerCase();
  const name = value.startsWith("*.") ? value.slice(2) : value;
  if (!(isIPv4(value) || DNS_SUBDOMAIN.test(name))) {
    throw new Error(
      `certSANs entry ${JSON.stringify(san)} is neither an IPv4 address nor a DNS name`,
    );
  }
  return value;
}

function validateCluster(cluster: ClusterSettings): void {
  if (!/^[A-Za-z0-9]([A-Za-z0-9._-]{0,251}[A-Za-z0-9])?$/.test(cluster.clusterName)) {
    throw new Error(
      `clusterName must be letters, digits, ".", "_" or "-", starting and ending with a letter ` +
        `or digit (got ${JSON.stringify(cluster.clusterName)})`,
    );
  }
  if (!/^unix:\/\/\/\S+$/.test(cluster.criSocket)) {
    throw new Error(
      `criSocket must be a unix:// endpoint with an absolute path, e.g. ` +
        `${CRI_SOCKETS.containerd} (got ${JSON.stringify(cluster.criSocket)})`,
    );
  }
  requireIPv4Cidr("podSubnet", cluster.podSubnet);
  requireIPv4Cidr("serviceSubnet", cluster.serviceSubnet);
}

function validateNode(node: NodeSettings): void {
  if (!DNS_SUBDOMAIN.test(node.nodeName)) {
    throw new Error(
      `nodeName must be a lowercase DNS name such as ip-10-0-1-10.ec2.internal ` +
        `(got ${JSON.stringify(node.nodeName)})`,
    );
  }
  if (!isIPv4(node.advertiseAddress)) {
    throw new Error(
      `advertiseAddress of ${node.nodeName} must be an IPv4 address ` +
        `(got ${JSON.stringify(node.advertiseAddress)})`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------------------------

/** Flags in the shape the API version wants; v1beta4 lists keep the given order. */
export function toExtraArgs<V extends KubeadmApiVersion>(
  apiVersion: V,
  args: Readonly<Record<string, string>>,
): ExtraArgs<V> {
  const shaped =
    apiVersion === KUBEADM_V1BETA4
      ? Object.entries(args).map(([name, value]): Arg => ({ name, value }))
      : { ...args };
  return shaped as ExtraArgs<V>;
}

function nodeRegistration<V extends KubeadmApiVersion>(
  apiVersion: V,
  cluster: ClusterSettings,
  node: NodeSettings,
): NodeRegistrationOptions<V> {
  return {
    name: node.nodeName,
    criSocket: cluster.criSocket,
    // EC2 nodes have one private IP, but pinning it keeps the kubelet from picking a CNI or
    // docker bridge address as the node's InternalIP.
    kubeletExtraArgs: toExtraArgs(apiVersion, {
      "node-ip": node.advertiseAddress,
      // The only value the kubelet accepts since the in-tree providers went (1.29+): external.
      ...(cluster.externalCloudProvider ? { "cloud-provider": "external" } : {}),
    }),
  };
}

/** The API server SANs: the endpoint host first, then the extra SANs, without duplicates. */
export function apiServerCertSANs(cluster: ClusterSettings): string[] {
  const { host } = parseControlPlaneEndpoint(cluster.controlPlaneEndpoint);
  return [...new Set([host, ...cluster.certSANs.map(normaliseSan)])];
}

export function buildInitConfiguration<V extends KubeadmApiVersion>(
  apiVersion: V,
  cluster: ClusterSettings,
  node: NodeSettings,
): InitConfiguration<V> {
  return {
    apiVersion,
    kind: "InitConfiguration",
    localAPIEndpoint: { advertiseAddress: node.advertiseAddress, bindPort: API_SERVER_BIND_PORT },
    nodeRegistration: nodeRegistration(apiVersion, cluster, node),
  };
}

export function buildClusterConfiguration<V extends KubeadmApiVersion>(
  apiVersion: V,
  cluster: ClusterSettings,
): ClusterConfiguration<V> {
  const { host, port } = parseControlPlaneEndpoint(cluster.controlPlaneEndpoint);
  return {
    apiVersion,
    kind: "ClusterConfiguration",
    kubernetesVersion: `v${cluster.kubernetesVersion}`,
    clusterName: cluster.clusterName,
    controlPlaneEndpoint: `${host}:${port}`,
    apiServer: { certSANs: apiServerCertSANs(cluster) },
    networking: {
      podSubnet: cluster.podSubnet,
      serviceSubnet: cluster.serviceSubnet,
      dnsDomain: "cluster.local",
    },
  };
}

export function buildKubeletConfiguration(): KubeletConfiguration {
  return {
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    cgroupDriver: "systemd",
    rotateCertificates: true,
  };
}

export function buildKubeProxyConfiguration(cluster: ClusterSettings): KubeProxyConfiguration {
  return {
    apiVersion: "kubeproxy.config.k8s.io/v1alpha1",
    kind: "KubeProxyConfiguration",
    mode: "iptables",
    clusterCIDR: cluster.podSubnet,
  };
}

export function buildJoinConfiguration<V extends KubeadmApiVersion>(
  apiVersion: V,
  cluster: ClusterSettings,
  node: NodeSettings,
  role: "control-plane" | "worker",
): JoinConfiguration<V> {
  const join: JoinConfiguration<V> = {
    apiVersion,
    kind: "JoinConfiguration",
    discovery: { file: { kubeConfigPath: DISCOVERY_FILE_PLACEHOLDER } },
    nodeRegistration: nodeRegistration(apiVersion, cluster, node),
  };
  if (role === "control-plane") {
    join.controlPlane = {
      localAPIEndpoint: { advertiseAddress: node.advertiseAddress, bindPort: API_SERVER_BIND_PORT },
    };
  }
  return join;
}

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

const PLACEHOLDERS: ReadonlySet<unknown> = new Set([DISCOVERY_FILE_PLACEHOLDER]);

/** Serialises documents as one `---`-separated YAML stream; placeholders double-quoted. */
export function renderYamlDocuments(documents: readonly object[]): string {
  return documents
    .map((value) => {
      const doc = new Document(value);
      visit(doc, {
        Scalar(_key, node) {
          if (isScalar(node) && PLACEHOLDERS.has(node.value)) node.type = "QUOTE_DOUBLE";
        },
      });
      // lineWidth 0: never fold long values such as load balancer names.
      return doc.toString({ lineWidth: 0 });
    })
    .join("---\n");
}

/** The `kubeadm init --config` file of the first control-plane node. */
export function renderInitConfig(cluster: ClusterSettings, node: NodeSettings): string {
  const apiVersion = kubeadmApiVersion(cluster.kubernetesVersion);
  validateCluster(cluster);
  validateNode(node);
  return renderYamlDocuments([
    buildInitConfiguration(apiVersion, cluster, node),
    buildClusterConfiguration(apiVersion, cluster),
    buildKubeletConfiguration(),
    buildKubeProxyConfiguration(cluster),
  ]);
}

/** The `kubeadm join --config` file of a control-plane or worker node. */
export function renderJoinConfig(
  cluster: ClusterSettings,
  node: NodeSettings,
  role: "control-plane" | "worker",
): string {
  const apiVersion = kubeadmApiVersion(cluster.kubernetesVersion);
  validateCluster(cluster);
  validateNode(node);
  if (role !== "control-plane" && role !== "worker") {
    throw new Error(`join role must be "control-plane" or "worker" (got ${JSON.stringify(role)})`);
  }
  return renderYamlDocuments([buildJoinConfiguration(apiVersion, cluster, node, role)]);
}

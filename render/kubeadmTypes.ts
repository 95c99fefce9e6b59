/**
 * The kubeadm configuration documents this program renders, as TypeScript types: only the
 * fields we set. `kubeadmConfig.ts` builds and serialises them.
 * https://kubernetes.io/docs/reference/config-api/kubeadm-config.v1beta4/
 */

export const KUBEADM_V1BETA3 = "kubeadm.k8s.io/v1beta3";
export const KUBEADM_V1BETA4 = "kubeadm.k8s.io/v1beta4";
export type KubeadmApiVersion = typeof KUBEADM_V1BETA4 | typeof KUBEADM_V1BETA3;

// ---------------------------------------------------------------------------------------------
// Document types: only the fields this program renders.
// ---------------------------------------------------------------------------------------------

/** v1beta4 `Arg`: one command-line flag; a list of these allows repeated flags. */
export interface Arg {
  /** Flag name without the leading `--`, e.g. `node-ip`. */
  name: string;
  value: string;
}

/** Extra flags: a string map in v1beta3, a list of `{name, value}` in v1beta4. */
export type ExtraArgs<V extends KubeadmApiVersion> = V extends typeof KUBEADM_V1BETA4
  ? Arg[]
  : Record<string, string>;

/** `NodeRegistrationOptions`: how this node registers itself with the API server. */
export interface NodeRegistrationOptions<V extends KubeadmApiVersion> {
  /** The Node object's name; must match what the kubelet and the cloud call the node. */
  name: string;
  /** CRI endpoint kubeadm and the kubelet use on this node. */
  criSocket: string;
  /** Node-local kubelet flags (written to /var/lib/kubelet/kubeadm-flags.env). */
  kubeletExtraArgs: ExtraArgs<V>;
  // `taints` is deliberately absent: left unset (nil), kubeadm gives control-plane nodes the
  // `node-role.kubernetes.io/control-plane:NoSchedule` taint and workers none; `[]` would
  // remove the control-plane taint.
}

/** `APIEndpoint`: where this node's API server listens. */
export interface APIEndpoint {
  /** The node's private IP. */
  advertiseAddress: string;
  bindPort: number;
}

/** `InitConfiguration`: node-local settings of `kubeadm init`. */
export interface InitConfiguration<V extends KubeadmApiVersion> {
  apiVersion: V;
  kind: "InitConfiguration";
  localAPIEndpoint: APIEndpoint;
  nodeRegistration: NodeRegistrationOptions<V>;
  // `certificateKey` is deliberately absent: nothing is uploaded to the kubeadm-certs Secret; a
  // joining control plane gets the CA files from the program on stdin. `bootstrapTokens` too:
  // kubeadm creates its default token, which nothing uses, and its bootstrap-token phase creates
  // the RBAC that auto-approves a node's CSR for itself.
}

/** `ClusterConfiguration`: cluster-wide settings, stored in the kubeadm-config ConfigMap. */
export interface ClusterConfiguration<V extends KubeadmApiVersion> {
  apiVersion: V;
  kind: "ClusterConfiguration";
  /** With the leading "v", e.g. "v1.34.2". */
  kubernetesVersion: string;
  clusterName: string;
  /** `<host>:<port>` of the load balancer; the one address every node and client uses. */
  controlPlaneEndpoint: string;
  apiServer: {
    /** Extra SANs of the API server certificate (kubeadm adds node names/IPs itself). */
    certSANs: string[];
  };
  networking: {
    podSubnet: string;
    serviceSubnet: string;
    dnsDomain: string;
  };
}

/**
 * `FileDiscovery`: trust the cluster through a kubeconfig file: its CA, its server, and (here)
 * client credentials that kubeadm uses for the whole join, the kubelet's TLS bootstrap included
 * (kubernetes/kubernetes#80675). No bootstrap token.
 */
export interface FileDiscovery {
  kubeConfigPath: string;
}

/** `JoinControlPlane`: present only when the joining node becomes a control-plane node. */
export interface JoinControlPlane {
  localAPIEndpoint: APIEndpoint;
  // `certificateKey` is deliberately absent: the CA files are placed on the node before the join
  // (kubeadm's manual certificate distribution), so nothing is downloaded.
}

/** `JoinConfiguration`: node-local settings of `kubeadm join`. */
export interface JoinConfiguration<V extends KubeadmApiVersion> {
  apiVersion: V;
  kind: "JoinConfiguration";
  discovery: { file: FileDiscovery };
  nodeRegistration: NodeRegistrationOptions<V>;
  controlPlane?: JoinControlPlane;
}

/** `KubeletConfiguration` (kubelet.config.k8s.io/v1beta1), shared by every node. */
export interface KubeletConfiguration {
  apiVersion: "kubelet.config.k8s.io/v1beta1";
  kind: "KubeletConfiguration";
  /** Must match the runtime's cgroup driver (containerd `SystemdCgroup = true`). */
  cgroupDriver: "systemd";
  /**
   * The kubelet renews its client certificate itself, as it ages (kubeadm's default too; set
   * here so the rendered plan says it). The serving certificate stays self-signed
   * (`serverTLSBootstrap` off), see README "Backups and certificates".
   */
  rotateCertificates: true;
}

/** `KubeProxyConfiguration` (kubeproxy.config.k8s.io/v1alpha1), shared by every kube-proxy. */
export interface KubeProxyConfiguration {
  apiVersion: "kubeproxy.config.k8s.io/v1alpha1";
  kind: "KubeProxyConfiguration";
  mode: "iptables";
  /** The pod network, so kube-proxy can tell in-cluster from external traffic. */
  clusterCIDR: string;
}

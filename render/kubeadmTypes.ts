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
  /**
   * Key that encrypts the control-plane certificates uploaded to the kubeadm-certs Secret
   * (`--upload-certs`). Must be in the file: `--config` cannot be mixed with `--certificate-key`.
   */
  certificateKey: string;
  localAPIEndpoint: APIEndpoint;
  nodeRegistration: NodeRegistrationOptions<V>;
  // `bootstrapTokens` is deliberately absent: kubeadm creates its default 24h token; every join
  // gets a fresh one from `kubeadm token create`.
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

/** `BootstrapTokenDiscovery`: discover and trust the cluster with a token and a pinned CA. */
export interface BootstrapTokenDiscovery {
  /** `<host>:<port>` of the API server to discover the cluster from. */
  apiServerEndpoint: string;
  token: string;
  /** `sha256:<hex>` of the CA's SubjectPublicKeyInfo; pins the CA (no unsafe skip). */
  caCertHashes: string[];
}

/** `JoinControlPlane`: present only when the joining node becomes a control-plane node. */
export interface JoinControlPlane {
  localAPIEndpoint: APIEndpoint;
  /** Decrypts the certificates uploaded by `kubeadm init phase upload-certs`. */
  certificateKey: string;
}

/** `JoinConfiguration`: node-local settings of `kubeadm join`. */
export interface JoinConfiguration<V extends KubeadmApiVersion> {
  apiVersion: V;
  kind: "JoinConfiguration";
  discovery: { bootstrapToken: BootstrapTokenDiscovery };
  nodeRegistration: NodeRegistrationOptions<V>;
  controlPlane?: JoinControlPlane;
}

/** `KubeletConfiguration` (kubelet.config.k8s.io/v1beta1), shared by every node. */
export interface KubeletConfiguration {
  apiVersion: "kubelet.config.k8s.io/v1beta1";
  kind: "KubeletConfiguration";
  /** Must match the runtime's cgroup driver (containerd `SystemdCgroup = true`). */
  cgroupDriver: "systemd";
}

/** `KubeProxyConfiguration` (kubeproxy.config.k8s.io/v1alpha1), shared by every kube-proxy. */
export interface KubeProxyConfiguration {
  apiVersion: "kubeproxy.config.k8s.io/v1alpha1";
  kind: "KubeProxyConfiguration";
  mode: "iptables";
  /** The pod network, so kube-proxy can tell in-cluster from external traffic. */
  clusterCIDR: string;
}

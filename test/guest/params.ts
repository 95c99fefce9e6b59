/**
 * Realistic inputs for the guest scripts: RFC 5737 addresses, an NLB-like DNS name, short kubeadm
 * documents with the placeholders the scripts fill in, and fake but recognisable secrets.
 */
import { renderSecretBundle } from "../../render/script";
import type { CniInputs, InitInputs, JoinInputs, PrepareInputs } from "../../render/steps";

export const API_HOST = "dev-api-0123456789.elb.us-east-1.amazonaws.com";
/** The fixed private name of the API (a Route 53 private-zone alias of the internal NLB). */
export const API_NAME = "api.k8s-dev.k8s.internal";
export const CP0_IP = "192.0.2.10";
/** The joining node's Kubernetes name (its private DNS name); the kubectl double's default node. */
export const NODE_NAME = "ip-192-0-2-11.ec2.internal";
export const CONTAINERD_SOCKET = "unix:///run/containerd/containerd.sock";
export const CRI_DOCKERD_SOCKET = "unix:///run/cri-dockerd.sock";
/** 64 hex characters, as `kubeadm certs certificate-key` prints. */
export const CERT_KEY = "9f2c4be1d07a3e58c6b19f0d2a7e4c3b8d5f6a1e0b9c8d7e6f5a4b3c2d1e0f9a";
export const TOKEN = "k8saws.0123456789abcdef";

export const prepareInputs: PrepareInputs = {
  role: "control-plane",
  kubernetesVersion: "1.34.2",
  runtime: "containerd",
  criSocket: CONTAINERD_SOCKET,
  criDockerdVersion: "0.3.20",
  criDockerdUrlTemplate:
    "https://github.com/Mirantis/cri-dockerd/releases/download/v0.3.20/cri-dockerd-0.3.20.{ARCH}.tgz",
};

export const prepareCriDockerdInputs: PrepareInputs = {
  ...prepareInputs,
  role: "worker",
  runtime: "cri-dockerd",
  criSocket: CRI_DOCKERD_SOCKET,
};

const INIT_CONFIG = `apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
certificateKey: __CERTIFICATE_KEY__
nodeRegistration:
  criSocket: ${CONTAINERD_SOCKET}
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: v1.34.2
controlPlaneEndpoint: ${API_HOST}:6443
networking:
  podSubnet: 10.244.0.0/16
`;

export const initInputs: InitInputs = {
  kubeadmConfig: INIT_CONFIG,
  criSocket: CONTAINERD_SOCKET,
  apiEndpointHost: API_HOST,
  timeoutSeconds: 600,
};

function joinConfig(controlPlane: boolean, apiEndpointHost: string): string {
  const lines = [
    "apiVersion: kubeadm.k8s.io/v1beta4",
    "kind: JoinConfiguration",
    "discovery:",
    "  bootstrapToken:",
    `    apiServerEndpoint: ${apiEndpointHost}:6443`,
    "    token: __BOOTSTRAP_TOKEN__",
    "    caCertHashes:",
    "      - sha256:7b1c6e2f0d9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c",
    "  tlsBootstrapToken: __BOOTSTRAP_TOKEN__",
    "nodeRegistration:",
    `  criSocket: ${CONTAINERD_SOCKET}`,
  ];
  if (controlPlane) {
    lines.push("controlPlane:", "  certificateKey: __CERTIFICATE_KEY__");
  }
  return lines.join("\n") + "\n";
}

/** A join's inputs; apiEndpointHost is the endpoint's host (API_NAME: the fixed private name). */
export function joinInputs(
  role: "control-plane" | "worker",
  apiEndpointHost: string = API_HOST,
): JoinInputs {
  return {
    role,
    joinConfig: joinConfig(role === "control-plane", apiEndpointHost),
    criSocket: CONTAINERD_SOCKET,
    apiEndpointHost,
    apiEndpointPort: 6443,
    bootstrapApiIp: CP0_IP,
    timeoutSeconds: 600,
    nodeName: NODE_NAME,
  };
}

export const flannelInputs: CniInputs = {
  cni: "flannel",
  podCidr: "10.32.0.0/16",
  flannelManifestUrl:
    "https://github.com/flannel-io/flannel/releases/download/v0.27.4/kube-flannel.yml",
  calicoCrdsUrl:
    "https://raw.githubusercontent.com/projectcalico/calico/v3.30.3/manifests/operator-crds.yaml",
  calicoOperatorUrl:
    "https://raw.githubusercontent.com/projectcalico/calico/v3.30.3/manifests/tigera-operator.yaml",
  calicoResources: "",
  timeoutSeconds: 300,
};

export const calicoInputs: CniInputs = {
  ...flannelInputs,
  cni: "calico",
  calicoResources: `apiVersion: operator.tigera.io/v1
kind: Installation
metadata:
  name: default
spec:
  calicoNetwork:
    ipPools:
      - cidr: 10.32.0.0/16
        encapsulation: VXLAN
`,
};

/** Fake PKI whose bodies are easy to search for in output. */
export const PKI_SECRETS: Readonly<Record<string, string>> = {
  "pki/ca.crt": "-----BEGIN CERTIFICATE-----\nFAKE-CLUSTER-CA-CERT\n-----END CERTIFICATE-----\n",
  "pki/ca.key": "-----BEGIN PRIVATE KEY-----\nSECRET-CLUSTER-CA-KEY\n-----END PRIVATE KEY-----\n",
  "pki/front-proxy-ca.crt":
    "-----BEGIN CERTIFICATE-----\nFAKE-FP-CA-CERT\n-----END CERTIFICATE-----\n",
  "pki/front-proxy-ca.key":
    "-----BEGIN PRIVATE KEY-----\nSECRET-FRONT-PROXY-CA-KEY\n-----END PRIVATE KEY-----\n",
  "pki/etcd/ca.crt": "-----BEGIN CERTIFICATE-----\nFAKE-ETCD-CA-CERT\n-----END CERTIFICATE-----\n",
  "pki/etcd/ca.key": "-----BEGIN PRIVATE KEY-----\nSECRET-ETCD-CA-KEY\n-----END PRIVATE KEY-----\n",
  "pki/sa.key":
    "-----BEGIN PRIVATE KEY-----\nSECRET-SERVICE-ACCOUNT-KEY\n-----END PRIVATE KEY-----\n",
  "pki/sa.pub": "-----BEGIN PUBLIC KEY-----\nFAKE-SA-PUB\n-----END PUBLIC KEY-----\n",
};

/** The secret values a test must never find in output. */
export const SECRET_MARKERS = [
  CERT_KEY,
  TOKEN,
  "SECRET-CLUSTER-CA-KEY",
  "SECRET-FRONT-PROXY-CA-KEY",
  "SECRET-ETCD-CA-KEY",
  "SECRET-SERVICE-ACCOUNT-KEY",
];

export function initBundle(overrides: Record<string, string> = {}): string {
  return renderSecretBundle({ ...PKI_SECRETS, "certificate-key": CERT_KEY, ...overrides });
}

export function joinBundle(role: "control-plane" | "worker"): string {
  return renderSecretBundle(
    role === "control-plane" ? { token: TOKEN, "certificate-key": CERT_KEY } : { token: TOKEN },
  );
}

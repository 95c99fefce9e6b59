/**
 * Realistic inputs for the guest scripts: RFC 5737 addresses, an NLB-like DNS name, short kubeadm
 * documents with the placeholder the join fills in, kubeconfigs in the layout the program writes
 * (render/kubeconfigs.ts: the `yaml` library's), and fake but recognisable secrets.
 */
import { stringify } from "yaml";

import { renderSecretBundle } from "../../render/script";
import type { CniInputs, InitInputs, JoinInputs, PrepareInputs } from "../../render/steps";

export const API_HOST = "dev-api-0123456789.elb.us-east-1.amazonaws.com";
/** The fixed private name of the API (a Route 53 private-zone alias of the internal NLB). */
export const API_NAME = "api.k8s-dev.k8s.internal";
export const CP0_IP = "192.0.2.10";
/** The joining node's private IP (its name below), between cp-0 and cp-2. */
export const NODE_IP = "192.0.2.11";
export const CP2_IP = "192.0.2.12";
/** The joining node's Kubernetes name (its private DNS name); the kubectl double's default node. */
export const NODE_NAME = "ip-192-0-2-11.ec2.internal";
export const CONTAINERD_SOCKET = "unix:///run/containerd/containerd.sock";
export const CRI_DOCKERD_SOCKET = "unix:///run/cri-dockerd.sock";
/** The bootstrap token the kubeadm double's init prints (its bootstrap-token phase makes one). */
export const INIT_TOKEN = "abcdef.0123456789abcdef";

export const prepareInputs: PrepareInputs = {
  role: "control-plane",
  kubernetesVersion: "1.34.2",
  runtime: "containerd",
  criSocket: CONTAINERD_SOCKET,
  criDockerdVersion: "0.3.20",
  criDockerdUrlTemplate:
    "https://github.com/Mirantis/cri-dockerd/releases/download/v0.3.20/cri-dockerd-0.3.20.{ARCH}.tgz",
  packageManager: "apt",
};

export const prepareCriDockerdInputs: PrepareInputs = {
  ...prepareInputs,
  role: "worker",
  runtime: "cri-dockerd",
  criSocket: CRI_DOCKERD_SOCKET,
};

/** The ports a control plane with Flannel opens when firewalld keeps running. */
export const CONTROL_PLANE_PORTS = [
  "6443/tcp",
  "2379-2380/tcp",
  "10250/tcp",
  "10257/tcp",
  "10259/tcp",
  "8472/udp",
];

/** prepare on a RHEL-family node (dnf): SELinux permissive, firewalld stopped (the defaults). */
export const prepareDnfInputs: PrepareInputs = {
  ...prepareInputs,
  packageManager: "dnf",
  rhel: { selinux: "permissive", firewalld: "stopped", firewallPorts: CONTROL_PLANE_PORTS },
};

const INIT_CONFIG = `apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
nodeRegistration:
  name: ip-192-0-2-10.ec2.internal
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

/** A JoinConfiguration as render/kubeadmConfig.ts writes it (the placeholder double-quoted). */
export function joinConfig(controlPlane: boolean): string {
  const lines = [
    "apiVersion: kubeadm.k8s.io/v1beta4",
    "kind: JoinConfiguration",
    "discovery:",
    "  file:",
    '    kubeConfigPath: "__DISCOVERY_FILE__"',
    "nodeRegistration:",
    `  name: ${NODE_NAME}`,
    `  criSocket: ${CONTAINERD_SOCKET}`,
    "  kubeletExtraArgs:",
    "    - name: node-ip",
    `      value: ${NODE_IP}`,
  ];
  if (controlPlane) {
    lines.push(
      "controlPlane:",
      "  localAPIEndpoint:",
      `    advertiseAddress: ${NODE_IP}`,
      "    bindPort: 6443",
    );
  }
  return lines.join("\n") + "\n";
}

/**
 * A join's inputs; apiEndpointHost is the endpoint's host (API_NAME: the fixed private name). A
 * control plane tries cp-0, then cp-2.
 */
export function joinInputs(
  role: "control-plane" | "worker",
  apiEndpointHost: string = API_HOST,
  controlPlaneIps: readonly string[] = role === "control-plane" ? [CP0_IP, CP2_IP] : [],
): JoinInputs {
  return {
    role,
    joinConfig: joinConfig(role === "control-plane"),
    criSocket: CONTAINERD_SOCKET,
    apiEndpointHost,
    apiEndpointPort: 6443,
    controlPlaneIps,
    nodeName: NODE_NAME,
    timeoutSeconds: 600,
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

const base64 = (text: string): string => Buffer.from(text, "utf8").toString("base64");

/** The client keys of the kubeconfigs, base64 as they appear in the files. */
const NODE_CLIENT_KEY = base64(
  "-----BEGIN EC PRIVATE KEY-----\nSECRET-NODE-CLIENT-KEY\n-----END EC PRIVATE KEY-----\n",
);
const ADMIN_CLIENT_KEY = base64(
  "-----BEGIN EC PRIVATE KEY-----\nSECRET-ADMIN-CLIENT-KEY\n-----END EC PRIVATE KEY-----\n",
);

/** A kubeconfig in the program's layout (one cluster, context and user; current-context set). */
function kubeconfig(server: string, userName: string, clientKey: string): string {
  const context = `${userName}@k8s-dev`;
  return stringify(
    {
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        {
          name: "k8s-dev",
          cluster: { "certificate-authority-data": base64(PKI_SECRETS["pki/ca.crt"]!), server },
        },
      ],
      contexts: [{ name: context, context: { cluster: "k8s-dev", user: userName } }],
      "current-context": context,
      users: [
        {
          name: userName,
          user: {
            "client-certificate-data": base64(
              `-----BEGIN CERTIFICATE-----\nFAKE-CERT-FOR-${userName}\n-----END CERTIFICATE-----\n`,
            ),
            "client-key-data": clientKey,
          },
        },
      ],
      preferences: {},
    },
    { lineWidth: 0 },
  );
}

/** A node's discovery kubeconfig: a system:node:<name> client certificate, server = the endpoint. */
export function discoveryConf(apiEndpointHost: string = API_HOST, nodeName = NODE_NAME): string {
  return kubeconfig(`https://${apiEndpointHost}:6443`, `system:node:${nodeName}`, NODE_CLIENT_KEY);
}

/** The program's cluster-admin kubeconfig for the bastion steps (server = the fixed API name). */
export const CLUSTER_KUBECONFIG = kubeconfig(
  `https://${API_NAME}:6443`,
  "kubeadm-aws-admin",
  ADMIN_CLIENT_KEY,
);

/** The secret values a test must never find in output. */
export const SECRET_MARKERS = [
  INIT_TOKEN,
  "SECRET-CLUSTER-CA-KEY",
  "SECRET-FRONT-PROXY-CA-KEY",
  "SECRET-ETCD-CA-KEY",
  "SECRET-SERVICE-ACCOUNT-KEY",
  NODE_CLIENT_KEY,
  ADMIN_CLIENT_KEY,
];

export function initBundle(overrides: Record<string, string> = {}): string {
  return renderSecretBundle({ ...PKI_SECRETS, ...overrides });
}

/** A join's stdin: the discovery file, and for a control plane the shared CA files. */
export function joinBundle(
  role: "control-plane" | "worker",
  apiEndpointHost: string = API_HOST,
  overrides: Record<string, string> = {},
): string {
  const discovery = { "discovery.conf": discoveryConf(apiEndpointHost) };
  return renderSecretBundle(
    role === "control-plane"
      ? { ...PKI_SECRETS, ...discovery, ...overrides }
      : { ...discovery, ...overrides },
  );
}

/** The stdin of the steps that run on the bastion: the program's kubeconfig. */
export function clusterBundle(kubeconfigText: string = CLUSTER_KUBECONFIG): string {
  return renderSecretBundle({ kubeconfig: kubeconfigText });
}

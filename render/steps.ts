/**
 * Typed entry points for every guest step: each takes the step's inputs, maps them onto the
 * script's parameters and returns the rendered bash. The parameter names here are the contract
 * with `guest/<step>.sh`, whose header lists the same names.
 *
 * Secrets are never parameters. Steps that need them read a secret bundle on stdin
 * (`renderSecretBundle`): init (PKI files + certificate key) and join (token [+ certificate key]).
 */
import type { CniName, ContainerRuntime, NodeRole } from "../config/clusterConfig";
import { renderScript } from "./script";

/** wait-ready: cloud-init finished and the package manager free. */
export function renderWaitReady(p: { timeoutSeconds: number }): string {
  return renderScript("wait-ready", { WAIT_TIMEOUT_SECONDS: p.timeoutSeconds });
}

export interface PrepareInputs {
  readonly role: NodeRole;
  /** Full patch version without the "v", e.g. "1.34.2". */
  readonly kubernetesVersion: string;
  readonly runtime: ContainerRuntime;
  readonly criSocket: string;
  readonly criDockerdVersion: string;
  /** URL with a literal `{ARCH}` that the script replaces with amd64 | arm64. */
  readonly criDockerdUrlTemplate: string;
}

/** prepare: kernel settings, container runtime, pinned kubeadm/kubelet/kubectl; images on CPs. */
export function renderPrepare(p: PrepareInputs): string {
  const [major, minor] = p.kubernetesVersion.split(".");
  return renderScript("prepare", {
    ROLE: p.role,
    KUBERNETES_VERSION: p.kubernetesVersion,
    KUBERNETES_MINOR: `v${major}.${minor}`,
    CONTAINER_RUNTIME: p.runtime,
    CRI_SOCKET: p.criSocket,
    CRI_DOCKERD_VERSION: p.criDockerdVersion,
    CRI_DOCKERD_URL_TEMPLATE: p.criDockerdUrlTemplate,
    PULL_IMAGES: p.role === "control-plane",
  });
}

export interface InitInputs {
  /** Rendered kubeadm config; contains the placeholder `__CERTIFICATE_KEY__`. */
  readonly kubeadmConfig: string;
  readonly criSocket: string;
  /** Host part of controlPlaneEndpoint (the NLB DNS name), mapped to this node during init. */
  readonly apiEndpointHost: string;
  readonly timeoutSeconds: number;
}

/** init: PKI from stdin, kubeadm init --upload-certs, guarded against re-running. */
export function renderInit(p: InitInputs): string {
  return renderScript("init", {
    KUBEADM_CONFIG: p.kubeadmConfig,
    CRI_SOCKET: p.criSocket,
    API_ENDPOINT_HOST: p.apiEndpointHost,
    KUBEADM_TIMEOUT_SECONDS: p.timeoutSeconds,
  });
}

/** creds (on the first control-plane node): prints a fresh bootstrap token, and nothing else. */
export function renderCreds(p: { joinRole: NodeRole; tokenTtl: string }): string {
  return renderScript("creds", { JOIN_ROLE: p.joinRole, TOKEN_TTL: p.tokenTtl });
}

export interface JoinInputs {
  readonly role: NodeRole;
  /** Rendered JoinConfiguration; contains `__BOOTSTRAP_TOKEN__` (and `__CERTIFICATE_KEY__`). */
  readonly joinConfig: string;
  readonly criSocket: string;
  readonly apiEndpointHost: string;
  readonly apiEndpointPort: number;
  /** Private IP of the first control-plane node: a joining CP reaches the API there. */
  readonly bootstrapApiIp: string;
  readonly timeoutSeconds: number;
  /** The node's Kubernetes name (its private DNS name): a joined CP checks its kube-proxy pod. */
  readonly nodeName: string;
}

/** join: kubeadm join with the token (and certificate key) from stdin; reset + one retry. */
export function renderJoin(p: JoinInputs): string {
  return renderScript("join", {
    ROLE: p.role,
    JOIN_CONFIG: p.joinConfig,
    CRI_SOCKET: p.criSocket,
    API_ENDPOINT_HOST: p.apiEndpointHost,
    API_ENDPOINT_PORT: p.apiEndpointPort,
    BOOTSTRAP_API_IP: p.bootstrapApiIp,
    KUBEADM_TIMEOUT_SECONDS: p.timeoutSeconds,
    NODE_NAME: p.nodeName,
  });
}

/** register-node (on cp0): waits for the Node object and labels its role. */
export function renderRegisterNode(p: {
  nodeName: string;
  role: NodeRole;
  timeoutSeconds: number;
}): string {
  return renderScript("register-node", {
    NODE_NAME: p.nodeName,
    NODE_ROLE: p.role,
    WAIT_TIMEOUT_SECONDS: p.timeoutSeconds,
  });
}

/** remove-node (on cp0, at delete): drain, remove the etcd member of a CP, delete the Node. */
export function renderRemoveNode(p: {
  nodeName: string;
  role: NodeRole;
  drainTimeoutSeconds: number;
  apiWaitSeconds: number;
}): string {
  return renderScript("remove-node", {
    NODE_NAME: p.nodeName,
    NODE_ROLE: p.role,
    DRAIN_TIMEOUT_SECONDS: p.drainTimeoutSeconds,
    API_WAIT_SECONDS: p.apiWaitSeconds,
  });
}

export interface CniInputs {
  readonly cni: CniName;
  readonly podCidr: string;
  readonly flannelManifestUrl: string;
  readonly calicoCrdsUrl: string;
  readonly calicoOperatorUrl: string;
  /** Rendered Calico Installation/APIServer resources (empty for Flannel). */
  readonly calicoResources: string;
  readonly timeoutSeconds: number;
}

/** cni (on cp0): Flannel or Calico at pinned versions, pod CIDR matching podSubnet. */
export function renderCni(p: CniInputs): string {
  return renderScript("cni", {
    CNI: p.cni,
    POD_CIDR: p.podCidr,
    FLANNEL_MANIFEST_URL: p.flannelManifestUrl,
    CALICO_CRDS_URL: p.calicoCrdsUrl,
    CALICO_OPERATOR_URL: p.calicoOperatorUrl,
    CALICO_RESOURCES: p.calicoResources,
    WAIT_TIMEOUT_SECONDS: p.timeoutSeconds,
  });
}

/** cluster-ready (on cp0): every named node Ready and CoreDNS available, or diagnostics. */
export function renderClusterReady(p: {
  nodeNames: readonly string[];
  timeoutSeconds: number;
}): string {
  return renderScript("cluster-ready", {
    NODE_NAMES: p.nodeNames,
    WAIT_TIMEOUT_SECONDS: p.timeoutSeconds,
  });
}

/** kubeconfig (on cp0): prints the admin kubeconfig; its stdout is a secret. */
export function renderKubeconfig(): string {
  return renderScript("kubeconfig", {});
}

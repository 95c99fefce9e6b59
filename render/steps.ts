/**
 * Typed entry points for every guest step: each takes the step's inputs, maps them onto the
 * script's parameters and returns the rendered bash. The parameter names here are the contract
 * with `guest/<step>.sh`, whose header lists the same names.
 *
 * Secrets are never parameters. Steps that need them read a secret bundle on stdin
 * (`renderSecretBundle`), whose entries are:
 * - init: the eight PKI files `pki/ca.crt`, `pki/ca.key`, `pki/front-proxy-ca.crt`,
 *   `pki/front-proxy-ca.key`, `pki/etcd/ca.crt`, `pki/etcd/ca.key`, `pki/sa.key`, `pki/sa.pub`;
 * - join: `discovery.conf` (the node's discovery kubeconfig: cluster CA, server
 *   `https://<apiEndpointHost>:<apiEndpointPort>`, a `system:node:<nodeName>` client certificate,
 *   current-context set), and for a control plane also the eight PKI files;
 * - register-node, cni, cluster-ready, remove-node (on the bastion): `kubeconfig`, the program's
 *   cluster-admin kubeconfig (server `https://<API name>:6443`).
 * wait-ready, prepare and bastion-tools read nothing.
 */
import type { CniName, ContainerRuntime, NodeRole } from "../config/clusterConfig";
import type { PackageManager } from "../config/osFamily";
import { renderJobScript, renderScript } from "./script";

/**
 * The package manager of the nodes' OS family (config/osFamily.ts): it picks the package library
 * a step runs with (guest/lib-apt.sh or guest/lib-dnf.sh, render/script.ts). Steps that install
 * nothing get none.
 */
export type { PackageManager };

/**
 * What prepare does about SELinux and firewalld on a dnf (RHEL-family) node (ignored with apt):
 * - selinux `permissive` (kubeadm's install guide) or `enforcing` with container-selinux and the
 *   runtime's SELinux support on;
 * - firewalld `stopped` (the security groups are the firewall) or `cluster-ports`: kept running
 *   with `firewallPorts` (e.g. "6443/tcp", "30000-32767/tcp", "8472/udp") opened.
 */
export interface RhelHostSettings {
  readonly selinux: "permissive" | "enforcing";
  readonly firewalld: "stopped" | "cluster-ports";
  readonly firewallPorts: readonly string[];
}

/** wait-ready: cloud-init finished and the package manager free. */
export function renderWaitReady(p: {
  timeoutSeconds: number;
  packageManager: PackageManager;
}): string {
  return renderScript("wait-ready", {
    WAIT_TIMEOUT_SECONDS: p.timeoutSeconds,
    PACKAGE_MANAGER: p.packageManager,
  });
}

/** The pkgs.k8s.io repository of a full version: "1.34.2" -> "v1.34". */
function kubernetesMinor(kubernetesVersion: string): string {
  const [major, minor] = kubernetesVersion.split(".");
  return `v${major}.${minor}`;
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
  readonly packageManager: PackageManager;
  /** Required with dnf. */
  readonly rhel?: RhelHostSettings;
}

/** prepare: kernel settings, container runtime, pinned kubeadm/kubelet/kubectl; images on CPs. */
export function renderPrepare(p: PrepareInputs): string {
  return renderScript("prepare", {
    ROLE: p.role,
    KUBERNETES_VERSION: p.kubernetesVersion,
    KUBERNETES_MINOR: kubernetesMinor(p.kubernetesVersion),
    CONTAINER_RUNTIME: p.runtime,
    CRI_SOCKET: p.criSocket,
    CRI_DOCKERD_VERSION: p.criDockerdVersion,
    CRI_DOCKERD_URL_TEMPLATE: p.criDockerdUrlTemplate,
    PULL_IMAGES: p.role === "control-plane",
    PACKAGE_MANAGER: p.packageManager,
    ...(p.packageManager === "dnf" ? rhelParams(p.rhel) : {}),
  });
}

function rhelParams(r: RhelHostSettings | undefined) {
  if (!r) throw new Error("prepare on a dnf node needs its SELinux and firewalld settings");
  return {
    SELINUX_MODE: r.selinux,
    FIREWALLD_MODE: r.firewalld,
    FIREWALL_PORTS: r.firewalld === "cluster-ports" ? r.firewallPorts : [],
  };
}

/** bastion-tools (on the bastion, after wait-ready): kubectl at the cluster's version, held. */
export interface BastionToolsInputs {
  readonly kubernetesVersion: string;
  readonly packageManager: PackageManager;
  /** Helm for the AWS add-ons' charts; absent: none. */
  readonly helm?: {
    readonly version: string;
    readonly urlTemplate: string;
    readonly sha256: Readonly<Record<"amd64" | "arm64", string>>;
  };
}

export function renderBastionTools(p: BastionToolsInputs): string {
  return renderScript("bastion-tools", {
    KUBERNETES_VERSION: p.kubernetesVersion,
    KUBERNETES_MINOR: kubernetesMinor(p.kubernetesVersion),
    HELM_VERSION: p.helm?.version ?? "",
    HELM_URL_TEMPLATE: p.helm?.urlTemplate ?? "",
    HELM_SHA256_AMD64: p.helm?.sha256.amd64 ?? "",
    HELM_SHA256_ARM64: p.helm?.sha256.arm64 ?? "",
    PACKAGE_MANAGER: p.packageManager,
  });
}

export interface InitInputs {
  /** Rendered kubeadm config, used as is (no placeholder: InitConfiguration has no certificateKey). */
  readonly kubeadmConfig: string;
  readonly criSocket: string;
  /** Host part of controlPlaneEndpoint (the API's fixed name), mapped to this node during init. */
  readonly apiEndpointHost: string;
  readonly timeoutSeconds: number;
}

/** init (once per cluster, on cp-0's first instance): PKI from stdin, kubeadm init; guarded. */
export function renderInit(p: InitInputs): string {
  return renderScript("init", {
    KUBEADM_CONFIG: p.kubeadmConfig,
    CRI_SOCKET: p.criSocket,
    API_ENDPOINT_HOST: p.apiEndpointHost,
    KUBEADM_TIMEOUT_SECONDS: p.timeoutSeconds,
  });
}

export interface JoinInputs {
  readonly role: NodeRole;
  /**
   * Rendered JoinConfiguration; `discovery.file.kubeConfigPath` is the placeholder
   * `__DISCOVERY_FILE__`, and a control plane's has `controlPlane.localAPIEndpoint`, no
   * certificateKey.
   */
  readonly joinConfig: string;
  readonly criSocket: string;
  readonly apiEndpointHost: string;
  readonly apiEndpointPort: number;
  /**
   * Private IPs of the other control planes, tried in order by a joining control plane (empty for
   * a worker; a control plane with none, or none answering, joins through the endpoint's name).
   */
  readonly controlPlaneIps: readonly string[];
  /** The node's Kubernetes name (its private DNS name): a joined CP checks its kube-proxy pod. */
  readonly nodeName: string;
  readonly timeoutSeconds: number;
}

/**
 * join (every node, cp-0 included; a no-op on the instance that ran init): kubeadm join with the
 * discovery file (and a control plane's CA files) from stdin; reset + one retry.
 */
export function renderJoin(p: JoinInputs): string {
  return renderScript("join", {
    ROLE: p.role,
    JOIN_CONFIG: p.joinConfig,
    CRI_SOCKET: p.criSocket,
    API_ENDPOINT_HOST: p.apiEndpointHost,
    API_ENDPOINT_PORT: p.apiEndpointPort,
    CONTROL_PLANE_IPS: p.controlPlaneIps,
    NODE_NAME: p.nodeName,
    KUBEADM_TIMEOUT_SECONDS: p.timeoutSeconds,
  });
}

/** register-node (on the bastion): waits for the Node object and labels its role. */
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

export interface RemoveNodeInputs {
  readonly nodeName: string;
  /** The node's private IP: finds its etcd member by peer URL even when it has no name yet. */
  readonly nodeIp: string;
  readonly role: NodeRole;
  readonly drainTimeoutSeconds: number;
  readonly apiWaitSeconds: number;
}

/**
 * remove-node (on the bastion, at delete): drain (bounded, also for a dead instance), remove a
 * CP's etcd member through another node's etcd pod, delete the Node.
 */
export function renderRemoveNode(p: RemoveNodeInputs): string {
  return renderScript("remove-node", {
    NODE_NAME: p.nodeName,
    NODE_IP: p.nodeIp,
    NODE_ROLE: p.role,
    DRAIN_TIMEOUT_SECONDS: p.drainTimeoutSeconds,
    API_WAIT_SECONDS: p.apiWaitSeconds,
  });
}

/**
 * etcd-prune (on the bastion, before the control-plane joins): removes the etcd members of
 * instances that are gone and cannot answer, so etcd accepts the next member.
 */
export function renderEtcdPrune(p: {
  controlPlaneIps: readonly string[];
  apiEndpointHost: string;
  apiWaitSeconds: number;
}): string {
  return renderScript("etcd-prune", {
    CONTROL_PLANE_IPS: p.controlPlaneIps,
    API_ENDPOINT_HOST: p.apiEndpointHost,
    API_WAIT_SECONDS: p.apiWaitSeconds,
  });
}

/**
 * release-cloud-resources (on the bastion): at create, reports what a destroy would release; at
 * delete (first in a destroy), deletes the LoadBalancer Services and the claims of volumes that go
 * with them, and waits while the controllers remove them from AWS.
 */
export function renderReleaseCloudResources(p: {
  mode: "report" | "release";
  apiWaitSeconds: number;
  releaseTimeoutSeconds: number;
}): string {
  return renderScript("release-cloud-resources", {
    MODE: p.mode,
    API_WAIT_SECONDS: p.apiWaitSeconds,
    RELEASE_TIMEOUT_SECONDS: p.releaseTimeoutSeconds,
  });
}

export interface HelmReleaseInputs {
  readonly releaseName: string;
  readonly namespace: string;
  readonly chartUrl: string;
  readonly chartSha256: string;
  /** Rendered values (YAML). */
  readonly values: string;
  /** Workloads to wait for, `kind/name`. */
  readonly rollouts: readonly string[];
  readonly timeoutSeconds: number;
}

/** helm-release (on the bastion): a pinned chart, checked, installed, rolled out. */
export function renderHelmRelease(p: HelmReleaseInputs): string {
  return renderScript("helm-release", {
    RELEASE_NAME: p.releaseName,
    NAMESPACE: p.namespace,
    CHART_URL: p.chartUrl,
    CHART_SHA256: p.chartSha256,
    VALUES: p.values,
    ROLLOUTS: p.rollouts,
    WAIT_TIMEOUT_SECONDS: p.timeoutSeconds,
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

/** cni (on the bastion): Flannel or Calico at pinned versions, pod CIDR matching podSubnet. */
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

/** cluster-ready (on the bastion): every named node Ready and CoreDNS available, or diagnostics. */
export function renderClusterReady(p: {
  nodeNames: readonly string[];
  /** Wait for the cloud controller manager to initialise every node too. */
  cloudInitialised?: boolean;
  /** etcdBackup.intervalMinutes, to report the last snapshot's age (absent: backups off). */
  backupIntervalMinutes?: number;
  timeoutSeconds: number;
}): string {
  return renderScript("cluster-ready", {
    NODE_NAMES: p.nodeNames,
    CLOUD_INITIALISED: p.cloudInitialised ? "true" : "false",
    BACKUP_INTERVAL_MINUTES: p.backupIntervalMinutes ?? 0,
    WAIT_TIMEOUT_SECONDS: p.timeoutSeconds,
  });
}

/** upgrade-preflight (on the bastion): the live cluster against the version skew policy. */
export function renderUpgradePreflight(p: {
  targetVersion: string;
  apiWaitSeconds: number;
}): string {
  return renderScript("upgrade-preflight", {
    TARGET_VERSION: p.targetVersion,
    API_WAIT_SECONDS: p.apiWaitSeconds,
  });
}

export interface UpgradeNodeInputs {
  /** check: is the target in its minor's repository (changes nothing); upgrade: do it. */
  readonly mode: "check" | "upgrade";
  /** apply on the first control plane (once per rollout), node elsewhere. */
  readonly kubeadmAction: "apply" | "node";
  readonly role: NodeRole;
  readonly targetVersion: string;
  readonly timeoutSeconds: number;
  readonly packageManager: PackageManager;
}

/** upgrade-node (on a drained node): kubeadm, `kubeadm upgrade apply|node`, kubelet, restart. */
export function renderUpgradeNode(p: UpgradeNodeInputs): string {
  return renderScript("upgrade-node", {
    MODE: p.mode,
    KUBEADM_ACTION: p.kubeadmAction,
    ROLE: p.role,
    KUBERNETES_VERSION: p.targetVersion,
    KUBERNETES_MINOR: kubernetesMinor(p.targetVersion),
    TIMEOUT_SECONDS: p.timeoutSeconds,
    PACKAGE_MANAGER: p.packageManager,
  });
}

export interface NodeRolloutInputs {
  readonly phase: "drain" | "restore";
  readonly nodeName: string;
  /** The kubelet version the node moves to; empty for a change that is not an upgrade. */
  readonly targetVersion: string;
  /** What the rollout does (written into the node's kubeadm-aws/rollout annotation). */
  readonly reason: string;
  readonly drainTimeoutSeconds: number;
  readonly waitTimeoutSeconds: number;
}

/** node-rollout (on the bastion): drain a node before its change, restore it after. */
export function renderNodeRollout(p: NodeRolloutInputs): string {
  return renderScript("node-rollout", {
    PHASE: p.phase,
    NODE_NAME: p.nodeName,
    TARGET_VERSION: p.targetVersion,
    REASON: p.reason,
    DRAIN_TIMEOUT_SECONDS: p.drainTimeoutSeconds,
    WAIT_TIMEOUT_SECONDS: p.waitTimeoutSeconds,
  });
}

/** etcd-snapshot (a control plane's timer job): the leader snapshots, checks and uploads. */
export function renderEtcdSnapshot(p: {
  bucket: string;
  region: string;
  prefix: string;
  nodeName: string;
}): string {
  return renderJobScript("etcd-snapshot", {
    BUCKET: p.bucket,
    REGION: p.region,
    PREFIX: p.prefix,
    NODE_NAME: p.nodeName,
  });
}

/** cert-renewal (a control plane's daily job): renew within the window, one node at a time. */
export function renderCertRenewal(p: {
  nodeName: string;
  renewWithinDays: number;
  guardStaleSeconds: number;
  waitTimeoutSeconds: number;
}): string {
  return renderJobScript("cert-renewal", {
    NODE_NAME: p.nodeName,
    RENEW_WITHIN_DAYS: p.renewWithinDays,
    GUARD_STALE_SECONDS: p.guardStaleSeconds,
    WAIT_TIMEOUT_SECONDS: p.waitTimeoutSeconds,
  });
}

export interface JobFiles {
  readonly script: string;
  readonly service: string;
  readonly timer: string;
}

/** node-timers (on each control plane): installs the snapshot and certificate jobs. */
export function renderNodeTimers(p: { snapshot?: JobFiles; renewal: JobFiles }): string {
  return renderScript("node-timers", {
    BACKUPS: p.snapshot ? "true" : "false",
    SNAPSHOT_SCRIPT: p.snapshot?.script ?? "",
    SNAPSHOT_SERVICE: p.snapshot?.service ?? "",
    SNAPSHOT_TIMER: p.snapshot?.timer ?? "",
    RENEWAL_SCRIPT: p.renewal.script,
    RENEWAL_SERVICE: p.renewal.service,
    RENEWAL_TIMER: p.renewal.timer,
  });
}

export interface EtcdRestoreInputs {
  readonly mode: "stop" | "restore" | "start";
  readonly snapshotPath: string;
  readonly snapshotSha256: string;
  readonly nodeName: string;
  readonly nodeIp: string;
  /** name=https://ip:2380 of every control plane. */
  readonly initialCluster: string;
  readonly clusterToken: string;
  readonly waitTimeoutSeconds: number;
}

/** etcd-restore (on each control plane, from `npm run etcd-restore`). */
export function renderEtcdRestore(p: EtcdRestoreInputs): string {
  return renderScript("etcd-restore", {
    MODE: p.mode,
    SNAPSHOT: p.snapshotPath,
    SNAPSHOT_SHA256: p.snapshotSha256,
    NODE_NAME: p.nodeName,
    NODE_IP: p.nodeIp,
    INITIAL_CLUSTER: p.initialCluster,
    CLUSTER_TOKEN: p.clusterToken,
    WAIT_TIMEOUT_SECONDS: p.waitTimeoutSeconds,
  });
}

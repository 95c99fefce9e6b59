/**
 * The cluster's configuration: its type, its defaults, and its validation as a pure function of
 * plain input (no `pulumi.Config` here: components/stackConfig.ts reads the stack, and a program
 * that imports `KubeadmCluster` passes its own object through the same rules). The schema and
 * its messages are in configSchema.ts, the rules across keys in configRules.ts.
 *
 * All problems are collected and reported together, each naming the key, the value given and
 * what to type instead, so a user fixes a bad config in one round instead of one error per run.
 * `checkClusterConfig` also returns a usable config (defaults in place of the keys that failed),
 * so the checks that need AWS can run in the same round.
 */
import { crossFieldProblems } from "./configRules";
import { schemaProblems } from "./configSchema";

export {
  CNIS,
  CONTAINER_RUNTIMES,
  DEFAULTS,
  FIREWALLD_MODES,
  OPERATING_SYSTEMS,
  SELINUX_MODES,
  SUPPORTED_KUBERNETES,
} from "./defaults";
export type {
  CloudProvider,
  CniName,
  ContainerRuntime,
  FirewalldMode,
  NatGatewayMode,
  NodeRole,
  OperatingSystem,
  SelinuxMode,
  Topology,
} from "./defaults";
export {
  apiEndpointName,
  CLOUD_PROVIDERS,
  NAT_GATEWAYS,
  privateZoneName,
  TOPOLOGIES,
} from "./defaults";
import { DEFAULTS } from "./defaults";
import { isRhelFamily } from "./osFamily";
import type {
  CloudProvider,
  CniName,
  ContainerRuntime,
  FirewalldMode,
  NatGatewayMode,
  OperatingSystem,
  SelinuxMode,
  Topology,
} from "./defaults";

/** One group of identical nodes. */
export interface NodeGroupConfig {
  /** How many instances. */
  readonly count: number;
  /** EC2 instance type, e.g. t3.medium (amd64) or t4g.medium (arm64/Graviton). */
  readonly instanceType: string;
  /** Root gp3 volume size in GiB. */
  readonly rootVolumeSizeGiB: number;
}

/** The validated, defaulted, frozen cluster configuration. */
export interface ClusterConfig {
  readonly clusterName: string;
  /** Full patch version without "v", e.g. "1.34.2". */
  readonly kubernetesVersion: string;
  readonly containerRuntime: ContainerRuntime;
  readonly cni: CniName;
  readonly os: OperatingSystem;
  /**
   * SELinux on RHEL-family nodes (config/osFamily.ts): permissive, or enforcing with
   * container-selinux. Present (default permissive) with a RHEL-family OS only: with another OS
   * it is absent, and refused when given.
   */
  readonly selinux?: SelinuxMode;
  /**
   * firewalld on RHEL-family nodes: stopped (the security groups are the firewall), or running
   * with the ports of each node's role open (config/firewallRules.ts hostFirewallPorts). Present
   * (default stopped) with a RHEL-family OS only, like selinux.
   */
  readonly firewalld?: FirewalldMode;
  /** An explicit AMI id; when set it is used for every node instead of the lookup by OS. */
  readonly amiId?: string;
  readonly controlPlane: NodeGroupConfig;
  readonly workers: NodeGroupConfig;
  readonly vpcCidr: string;
  readonly availabilityZoneCount: number;
  readonly podCidr: string;
  readonly serviceCidr: string;
  readonly sshIngressCidrs: readonly string[];
  readonly apiIngressCidrs: readonly string[];
  readonly nodePortIngressCidrs: readonly string[];
  /** An internet-facing load balancer for operators, open to apiIngressCidrs only. */
  readonly publicApi: boolean;
  readonly topology: Topology;
  /** NAT gateways of the private topology. */
  readonly natGateways: NatGatewayMode;
  /** aws: the AWS cloud controller manager (LoadBalancer Services) and EBS CSI driver (volumes). */
  readonly cloudProvider: CloudProvider;
  /** The SSH hop: every remote step goes through it. */
  readonly bastion: { readonly instanceType: string };
  /** The admin client certificate the program issues: its lifetime, and when `up` renews it. */
  readonly adminKubeconfig: AdminKubeconfigConfig;
  /** How a `kubernetesVersion` change rolls over the running nodes. */
  readonly upgrade: UpgradeConfig;
  /** etcd snapshots to S3 from the control planes (components/etcdBackups.ts). */
  readonly etcdBackup: EtcdBackupConfig;
}

export interface EtcdBackupConfig {
  readonly enabled: boolean;
  /** A snapshot every this many minutes (the etcd leader takes it). */
  readonly intervalMinutes: number;
  /** S3 lifecycle expiry of snapshots, current and noncurrent versions. */
  readonly retentionDays: number;
  /** `pulumi destroy` deletes the bucket and every snapshot (default: it keeps them). */
  readonly deleteOnDestroy: boolean;
}

export interface UpgradeConfig {
  /** Workers drained and upgraded at once (control planes always go one at a time). */
  readonly maxUnavailableWorkers: number;
}

export interface AdminKubeconfigConfig {
  readonly validityDays: number;
  readonly renewBeforeDays: number;
}

/** What a caller may give: every key optional except what has no safe default. */
export type ClusterConfigInput = {
  [K in keyof ClusterConfig]?: K extends "controlPlane" | "workers"
    ? Partial<NodeGroupConfig>
    : K extends "bastion"
      ? { instanceType?: string }
      : K extends "adminKubeconfig"
        ? Partial<AdminKubeconfigConfig>
        : K extends "upgrade"
          ? Partial<UpgradeConfig>
          : K extends "etcdBackup"
            ? Partial<EtcdBackupConfig>
            : ClusterConfig[K] extends readonly string[]
              ? string[]
              : ClusterConfig[K];
};

/** Raised with every problem found; the message lists them one per line. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(
      `Invalid cluster configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  - ${p}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

/** The outcome of checking a config: every problem, and a config later checks can still use. */
export interface ConfigCheck {
  /** The config, with the default in place of every key that failed. */
  readonly config: ClusterConfig;
  readonly problems: readonly string[];
  /**
   * What failed (or could not be read at all): top-level keys, and `group.field` for a field of
   * a node group. Checks that come later leave these out.
   */
  readonly invalidKeys: ReadonlySet<string>;
  /** Top-level keys the caller set, rather than left to their defaults. */
  readonly explicitKeys: ReadonlySet<string>;
}

/**
 * `k8s-<stack>`, made a valid cluster name whatever the stack is called: lower case, other
 * characters as '-', at most 20 characters, never ending in '-' (a long stack name such as
 * production-east-blue would otherwise give k8s-production-east-).
 */
export function defaultClusterName(stackName: string): string {
  return `k8s-${stackName}`
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .replace(/-{2,}/g, "-")
    .slice(0, 20)
    .replace(/-+$/, "");
}

/** The input with every default applied; apiIngressCidrs defaults to sshIngressCidrs. */
function withDefaults(input: ClusterConfigInput, stackName: string): ClusterConfig {
  const ssh = input.sshIngressCidrs ?? [];
  return {
    clusterName: input.clusterName ?? defaultClusterName(stackName),
    kubernetesVersion: input.kubernetesVersion ?? DEFAULTS.kubernetesVersion,
    containerRuntime: input.containerRuntime ?? DEFAULTS.containerRuntime,
    cni: input.cni ?? DEFAULTS.cni,
    os: input.os ?? DEFAULTS.os,
    // The RHEL-only keys get their defaults with a RHEL-family OS only, so a validated config of
    // another OS, checked again (KubeadmCluster does), does not look as if they had been set.
    ...rhelOnly(input, "selinux"),
    ...rhelOnly(input, "firewalld"),
    ...(input.amiId !== undefined ? { amiId: input.amiId } : {}),
    controlPlane: { ...DEFAULTS.controlPlane, ...stripUndefined(input.controlPlane) },
    workers: { ...DEFAULTS.workers, ...stripUndefined(input.workers) },
    vpcCidr: input.vpcCidr ?? DEFAULTS.vpcCidr,
    availabilityZoneCount: input.availabilityZoneCount ?? DEFAULTS.availabilityZoneCount,
    podCidr: input.podCidr ?? DEFAULTS.podCidr,
    serviceCidr: input.serviceCidr ?? DEFAULTS.serviceCidr,
    sshIngressCidrs: ssh,
    apiIngressCidrs: input.apiIngressCidrs ?? ssh,
    nodePortIngressCidrs: input.nodePortIngressCidrs ?? [...DEFAULTS.nodePortIngressCidrs],
    publicApi: input.publicApi ?? DEFAULTS.publicApi,
    topology: input.topology ?? DEFAULTS.topology,
    natGateways: input.natGateways ?? DEFAULTS.natGateways,
    cloudProvider: input.cloudProvider ?? DEFAULTS.cloudProvider,
    bastion: { ...DEFAULTS.bastion, ...stripUndefined(input.bastion) },
    adminKubeconfig: { ...DEFAULTS.adminKubeconfig, ...stripUndefined(input.adminKubeconfig) },
    upgrade: { ...DEFAULTS.upgrade, ...stripUndefined(input.upgrade) },
    etcdBackup: { ...DEFAULTS.etcdBackup, ...stripUndefined(input.etcdBackup) },
  } as ClusterConfig;
}

/** `{ [key]: value }` when given, or the default with a RHEL-family OS; `{}` otherwise. */
function rhelOnly<K extends "selinux" | "firewalld">(
  input: ClusterConfigInput,
  key: K,
): Partial<Pick<ClusterConfig, K>> {
  const os = input.os ?? DEFAULTS.os;
  const value = input[key] ?? (isRhelFamily(os) ? DEFAULTS[key] : undefined);
  return value === undefined ? {} : ({ [key]: value } as Partial<Pick<ClusterConfig, K>>);
}

/**
 * Applies defaults and every rule without throwing. `unreadable` names keys the caller could not
 * even read (a list given as plain text, say): their problem is already reported, so no rule
 * reports them again (no "sshIngressCidrs is required" after "sshIngressCidrs must be a list").
 */
export function checkClusterConfig(
  input: ClusterConfigInput,
  stackName = "dev",
  unreadable: ReadonlySet<string> = new Set(),
): ConfigCheck {
  const explicitKeys = new Set(
    Object.keys(input).filter((k) => (input as Record<string, unknown>)[k] !== undefined),
  );
  const candidate = withDefaults(input, stackName);
  // An apiIngressCidrs that only repeats sshIngressCidrs is not checked twice: an error in an SSH
  // CIDR is reported under sshIngressCidrs, never again under apiIngressCidrs[0].
  const { problems, failedPaths } = schemaProblems(
    explicitKeys.has("apiIngressCidrs") ? candidate : { ...candidate, apiIngressCidrs: [] },
  );
  const invalidKeys = new Set([...failedPaths, ...unreadable]);
  if (!explicitKeys.has("apiIngressCidrs") && invalidKeys.has("sshIngressCidrs")) {
    invalidKeys.add("apiIngressCidrs");
  }
  // A rule reads a node group only for its count; any other object only when all of it passed.
  const valid = (key: keyof ClusterConfig) =>
    !invalidKeys.has(key) &&
    (key === "controlPlane" || key === "workers"
      ? !invalidKeys.has(`${key}.count`)
      : ![...invalidKeys].some((path) => path.startsWith(`${key}.`)));
  problems.push(
    ...crossFieldProblems(candidate, valid, explicitKeys).filter((p) => !problems.includes(p)),
  );
  return {
    config: deepFreeze(usableConfig(candidate, invalidKeys, explicitKeys, stackName)),
    problems,
    invalidKeys,
    explicitKeys,
  };
}

/** The candidate with the default in place of every invalid key or group field. */
function usableConfig(
  candidate: ClusterConfig,
  invalidKeys: ReadonlySet<string>,
  explicitKeys: ReadonlySet<string>,
  stackName: string,
): ClusterConfig {
  const fallback = withDefaults({}, stackName) as unknown as Record<string, unknown>;
  const usable = { ...candidate } as unknown as Record<string, unknown>;
  for (const path of invalidKeys) {
    const [key, field] = path.split(".") as [string, string | undefined];
    if (field !== undefined) {
      const group = fallback[key] as Record<string, unknown>;
      usable[key] = { ...(usable[key] as object), [field]: group[field] };
    } else if (key === "amiId") {
      delete usable.amiId;
    } else if (key === "selinux" || key === "firewalld") {
      // The OS's default, if it has one (rhelOnly).
      delete usable[key];
      Object.assign(usable, rhelOnly({ os: usable.os as OperatingSystem }, key));
    } else if (key in fallback) {
      usable[key] = fallback[key];
    }
  }
  if (!explicitKeys.has("apiIngressCidrs")) usable.apiIngressCidrs = usable.sshIngressCidrs;
  return usable as unknown as ClusterConfig;
}

/** Applies defaults and every rule; throws ConfigError listing all problems. */
export function validateClusterConfig(input: ClusterConfigInput, stackName = "dev"): ClusterConfig {
  const { config, problems } = checkClusterConfig(input, stackName);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

function stripUndefined<T extends object>(o: T | undefined): Partial<T> {
  return Object.fromEntries(
    Object.entries(o ?? {}).filter(([, v]) => v !== undefined),
  ) as Partial<T>;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === "object") {
    Object.values(o).forEach(deepFreeze);
    Object.freeze(o);
  }
  return o;
}

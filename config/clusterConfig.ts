/**
 * The cluster's configuration: its type, its defaults, and every validation rule, as a pure
 * function of plain input (no `pulumi.Config` here: `config.ts` reads the stack, and a program
 * that imports `KubeadmCluster` passes its own object through the same rules).
 *
 * All problems are collected and reported together, each naming the key, the value given and
 * what is allowed, so a user fixes a bad config in one round instead of one error per run.
 */
import { z } from "zod";
import {
  awsUsableAddresses,
  cidrProblem,
  cidrsOverlap,
  nodeSubnetPrefix,
  prefixLength,
} from "./cidr";

/** The oldest and newest Kubernetes minor versions this program knows how to configure. */
export const SUPPORTED_KUBERNETES = { minMinor: 29, maxMinor: 35 } as const;

export const CONTAINER_RUNTIMES = ["containerd", "cri-dockerd"] as const;
export const CNIS = ["flannel", "calico"] as const;
export const OPERATING_SYSTEMS = ["ubuntu-24.04", "ubuntu-22.04", "debian-12"] as const;

export type ContainerRuntime = (typeof CONTAINER_RUNTIMES)[number];
export type CniName = (typeof CNIS)[number];
export type OperatingSystem = (typeof OPERATING_SYSTEMS)[number];
export type NodeRole = "control-plane" | "worker";

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
}

/** What a caller may give: every key optional except what has no safe default. */
export type ClusterConfigInput = {
  [K in keyof ClusterConfig]?: K extends "controlPlane" | "workers"
    ? Partial<NodeGroupConfig>
    : ClusterConfig[K] extends readonly string[]
      ? string[]
      : ClusterConfig[K];
};

/** Defaults for a small, cheap dev cluster. SSH CIDRs have no default on purpose. */
export const DEFAULTS = {
  kubernetesVersion: "1.34.2",
  containerRuntime: "containerd",
  cni: "flannel",
  os: "ubuntu-24.04",
  controlPlane: { count: 1, instanceType: "t3.medium", rootVolumeSizeGiB: 30 },
  workers: { count: 1, instanceType: "t3.medium", rootVolumeSizeGiB: 30 },
  vpcCidr: "10.0.0.0/16",
  availabilityZoneCount: 2,
  podCidr: "10.244.0.0/16",
  serviceCidr: "10.96.0.0/12",
  nodePortIngressCidrs: [] as string[],
} as const;

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

const show = (value: unknown): string => JSON.stringify(value) ?? String(value);

const oneOf = (values: readonly string[]) =>
  z.enum(values as [string, ...string[]], {
    error: (issue) => `must be one of ${values.join(", ")} (got ${show(issue.input)})`,
  });

const integer = (min: number, max: number, why = "") =>
  z.number({ error: (issue) => `must be a number (got ${show(issue.input)})` }).check((ctx) => {
    const v = ctx.value;
    if (!Number.isInteger(v) || v < min || v > max) {
      ctx.issues.push({
        code: "custom",
        input: v,
        message: `must be a whole number from ${min} to ${max} (got ${show(v)})${why}`,
      });
    }
  });

const cidr = z
  .string({ error: (i) => `must be a CIDR string (got ${show(i.input)})` })
  .check((ctx) => {
    const problem = cidrProblem(ctx.value);
    if (problem)
      ctx.issues.push({
        code: "custom",
        input: ctx.value,
        message: `${show(ctx.value)} ${problem}`,
      });
  });

/** In ingress lists, `my-ip` stands for the deploying machine's address (see callerIp.ts). */
const ingressCidr = z
  .string({ error: (i) => `must be a CIDR string (got ${show(i.input)})` })
  .check((ctx) => {
    const problem = ctx.value === "my-ip" ? undefined : cidrProblem(ctx.value);
    if (problem) {
      ctx.issues.push({
        code: "custom",
        input: ctx.value,
        message: `${show(ctx.value)} ${problem} (or use my-ip for this machine's address)`,
      });
    }
  });

const cidrList = z.array(ingressCidr, {
  error: (i) => `must be a list of CIDRs such as ["203.0.113.10/32"] (got ${show(i.input)})`,
});

const nodeGroup = (role: "controlPlane" | "workers") =>
  z.strictObject(
    {
      count:
        role === "controlPlane"
          ? integer(1, 7).check((ctx) => {
              if (Number.isInteger(ctx.value) && ctx.value % 2 === 0 && ctx.value > 0) {
                ctx.issues.push({
                  code: "custom",
                  input: ctx.value,
                  message:
                    `must be an odd number (got ${ctx.value}): etcd needs a majority, so ` +
                    `${ctx.value} control-plane nodes tolerate no more failures than ${ctx.value - 1}` +
                    (ctx.value === 2 ? ", and two lose quorum when either fails" : ""),
                });
              }
            })
          : integer(0, 500),
      instanceType: z.string().regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, {
        error: (i) => `is not an EC2 instance type such as t3.medium (got ${show(i.input)})`,
      }),
      rootVolumeSizeGiB: integer(20, 16384, ": kubeadm, images and logs need at least 20 GiB"),
    },
    {
      error: (i) =>
        `must be an object with count, instanceType, rootVolumeSizeGiB (got ${show(i.input)})`,
    },
  );

const schema = z.strictObject({
  clusterName: z.string().regex(/^[a-z][a-z0-9-]{0,18}[a-z0-9]$/, {
    error: (i) =>
      `must be 2-20 lower-case letters, digits or '-', starting with a letter (got ${show(i.input)}); it prefixes AWS names that are limited to 32 characters`,
  }),
  kubernetesVersion: z.string().check((ctx) => {
    const m = /^1\.(\d+)\.(\d+)$/.exec(ctx.value);
    const { minMinor, maxMinor } = SUPPORTED_KUBERNETES;
    const allowed = `a release 1.${minMinor}.x to 1.${maxMinor}.x written as MAJOR.MINOR.PATCH, e.g. ${DEFAULTS.kubernetesVersion}`;
    if (!m) {
      ctx.issues.push({
        code: "custom",
        input: ctx.value,
        message: `must be ${allowed} (got ${show(ctx.value)})`,
      });
    } else if (Number(m[1]) < minMinor || Number(m[1]) > maxMinor) {
      ctx.issues.push({
        code: "custom",
        input: ctx.value,
        message: `${ctx.value} is not supported: use ${allowed}`,
      });
    }
  }),
  containerRuntime: oneOf(CONTAINER_RUNTIMES),
  cni: oneOf(CNIS),
  os: oneOf(OPERATING_SYSTEMS),
  amiId: z
    .string()
    .regex(/^ami-[0-9a-f]{8,17}$/, {
      error: (i) => `must look like ami-0123456789abcdef0 (got ${show(i.input)})`,
    })
    .optional(),
  controlPlane: nodeGroup("controlPlane"),
  workers: nodeGroup("workers"),
  vpcCidr: cidr,
  availabilityZoneCount: integer(
    2,
    6,
    ": the load balancer and control plane need at least two zones",
  ),
  podCidr: cidr,
  serviceCidr: cidr,
  sshIngressCidrs: cidrList,
  apiIngressCidrs: cidrList,
  nodePortIngressCidrs: cidrList,
});

/** Key path as the user writes it with `pulumi config set --path`. */
function keyPath(path: readonly PropertyKey[]): string {
  return path
    .map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join("");
}

/**
 * Rules that span several keys. Each runs only when the keys it reads passed the schema, so a
 * config with both a typo and an overlap gets both reported in the same run.
 */
function crossFieldProblems(
  c: ClusterConfig,
  valid: (key: keyof ClusterConfig) => boolean,
): string[] {
  const problems: string[] = [];
  const nets = (
    [
      ["vpcCidr", c.vpcCidr],
      ["podCidr", c.podCidr],
      ["serviceCidr", c.serviceCidr],
    ] as const
  ).filter(([key]) => valid(key));
  for (let i = 0; i < nets.length; i++) {
    for (let j = i + 1; j < nets.length; j++) {
      const [ka, a] = nets[i]!;
      const [kb, b] = nets[j]!;
      if (cidrsOverlap(a, b)) {
        problems.push(
          `${ka} ${a} overlaps ${kb} ${b}: the node, pod and service networks must be disjoint`,
        );
      }
    }
  }

  const sized = valid("controlPlane") && valid("workers");
  const nodes = c.controlPlane.count + c.workers.count;
  if (valid("vpcCidr"))
    problems.push(...vpcSizeProblems(c, sized && valid("availabilityZoneCount")));

  // kube-controller-manager gives each node a /24 out of the pod CIDR by default.
  const podPrefix = valid("podCidr") ? prefixLength(c.podCidr) : 16;
  const nodeCidrs = podPrefix <= 24 ? 2 ** (24 - podPrefix) : 0;
  if (sized && valid("podCidr") && nodeCidrs < nodes) {
    problems.push(
      `podCidr ${c.podCidr} has room for ${nodeCidrs} node pod ranges (/24 each) but the cluster has ${nodes} nodes; use a /16 such as 10.244.0.0/16`,
    );
  }
  const servicePrefix = valid("serviceCidr") ? prefixLength(c.serviceCidr) : 12;
  if (servicePrefix < 12 || servicePrefix > 24) {
    problems.push(
      `serviceCidr ${c.serviceCidr} must be between /12 and /24 (kube-apiserver allows at most /12; CoreDNS takes the 10th address)`,
    );
  }
  if (valid("sshIngressCidrs") && c.sshIngressCidrs.length === 0) {
    problems.push(
      "sshIngressCidrs is required and has no default (SSH is never opened to the internet silently): " +
        "set the addresses that may reach the nodes on port 22, e.g. " +
        "`pulumi config set --path 'sshIngressCidrs[0]' 203.0.113.10/32` (your public IP with /32)",
    );
  }
  return problems;
}

/** Addresses AWS and the load balancers take in every subnet besides the nodes. */
const SUBNET_HEADROOM = 8;

/** The most nodes one zone holds: the nodes of each role are spread evenly over the zones. */
function nodesPerZone(c: ClusterConfig): number {
  const zones = c.availabilityZoneCount;
  return Math.ceil(c.controlPlane.count / zones) + Math.ceil(c.workers.count / zones);
}

/**
 * AWS takes VPC CIDRs from /16 to /28; the fixed layout (cidr.ts) gives each zone an eighth of
 * the VPC, which must be a valid subnet (at most /28) and hold the zone's nodes.
 */
function vpcSizeProblems(c: ClusterConfig, countsValid: boolean): string[] {
  const prefix = prefixLength(c.vpcCidr);
  if (prefix < 16 || prefix > 28) {
    return [
      `vpcCidr ${c.vpcCidr} has a /${prefix} prefix; AWS allows VPC CIDRs from /16 to /28: use a /16 such as 10.0.0.0/16`,
    ];
  }
  if (!countsValid) return [];
  const needed = nodesPerZone(c) + SUBNET_HEADROOM;
  const subnetPrefix = nodeSubnetPrefix(c.vpcCidr);
  if (subnetPrefix <= 28 && awsUsableAddresses(subnetPrefix) >= needed) return [];
  // The smallest VPC whose node subnets are valid and hold the nodes.
  let suggested = 16;
  for (let p = 25; p >= 16; p--) {
    if (awsUsableAddresses(p + 3) >= needed) {
      suggested = p;
      break;
    }
  }
  return [
    `vpcCidr ${c.vpcCidr} is too small: each zone gets an eighth of it, a /${subnetPrefix} subnet ` +
      `(AWS subnets are /16 to /28), which must hold ${nodesPerZone(c)} node(s) plus ${SUBNET_HEADROOM} ` +
      `addresses for AWS and the load balancers; use a /${suggested} or larger, such as the default 10.0.0.0/16`,
  ];
}

/** Applies defaults and every rule; throws ConfigError listing all problems. */
export function validateClusterConfig(input: ClusterConfigInput, stackName = "dev"): ClusterConfig {
  const ssh = input.sshIngressCidrs ?? [];
  const candidate = {
    clusterName:
      input.clusterName ??
      `k8s-${stackName}`
        .toLowerCase()
        .replace(/[^a-z0-9-]/g, "-")
        .slice(0, 20),
    kubernetesVersion: input.kubernetesVersion ?? DEFAULTS.kubernetesVersion,
    containerRuntime: input.containerRuntime ?? DEFAULTS.containerRuntime,
    cni: input.cni ?? DEFAULTS.cni,
    os: input.os ?? DEFAULTS.os,
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
  };
  const parsed = schema.safeParse(candidate);
  const issues = parsed.success ? [] : parsed.error.issues;
  const failedKeys = new Set(issues.map((issue) => String(issue.path[0] ?? "")));
  const problems = [
    ...issues.map((issue) =>
      issue.code === "unrecognized_keys"
        ? `${keyPath(issue.path) || "config"} has unknown key(s) ${issue.keys.join(", ")}`
        : `${keyPath(issue.path)} ${issue.message}`,
    ),
    ...crossFieldProblems(candidate as ClusterConfig, (key) => !failedKeys.has(key)),
  ];
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  return deepFreeze(parsed.data as ClusterConfig);
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

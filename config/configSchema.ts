/**
 * The shape of the cluster configuration as a zod schema, and how its issues read: each names
 * the key as a user writes it with `pulumi config set --path`, the value given and what is
 * allowed. Cross-field rules are in configRules.ts.
 */
import { z } from "zod";
import { cidrProblem } from "./cidr";
import {
  CLOUD_PROVIDERS,
  CNIS,
  CONTAINER_RUNTIMES,
  DEFAULTS,
  FIREWALLD_MODES,
  NAT_GATEWAYS,
  OPERATING_SYSTEMS,
  SELINUX_MODES,
  SUPPORTED_KUBERNETES,
  TOPOLOGIES,
} from "./defaults";

const show = (value: unknown): string => JSON.stringify(value) ?? String(value);

const oneOf = (values: readonly string[]) =>
  z.enum(values as [string, ...string[]], {
    error: (issue) => `must be one of ${values.join(", ")} (got ${show(issue.input)})`,
  });

/**
 * A number that arrived as text ("3" in quotes in Pulumi.<stack>.yaml) says to drop the quotes;
 * `{key}` is replaced by the key's path when the problem is reported.
 */
function notANumber(input: unknown): string {
  if (typeof input === "string" && /^-?\d+(\.\d+)?$/.test(input.trim())) {
    return (
      `is the text ${show(input)}, not a number: drop the quotes in Pulumi.<stack>.yaml, ` +
      `or set it with \`pulumi config set --path {key} ${input.trim()}\` (which stores a number)`
    );
  }
  return `must be a number (got ${show(input)})`;
}

const integer = (min: number, max: number, why = "") =>
  z.number({ error: (issue) => notANumber(issue.input) }).check((ctx) => {
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
  error: (i) =>
    `must be a list of CIDRs such as ["my-ip", "198.51.100.0/24"]; set entries with ` +
    `\`pulumi config set --path '{key}[0]' my-ip\` (got ${show(i.input)})`,
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

export const configSchema = z.strictObject({
  clusterName: z.string().regex(/^[a-z][a-z0-9-]{0,18}[a-z0-9]$/, {
    error: (i) =>
      `must be 2-20 lower-case letters, digits or '-', starting with a letter (got ${show(i.input)}); it prefixes AWS names that are limited to 32 characters`,
  }),
  kubernetesVersion: z.string().check((ctx) => {
    const m = /^1\.(\d+)\.(\d+)$/.exec(ctx.value);
    const { minMinor, maxMinor } = SUPPORTED_KUBERNETES;
    const allowed = `a release 1.${minMinor}.x to 1.${maxMinor}.x written as MAJOR.MINOR.PATCH, e.g. ${DEFAULTS.kubernetesVersion}`;
    if (/^\d+(\.\d+)?$/.test(ctx.value)) {
      // YAML reads an unquoted 1.30 as the number 1.3; a version is text with a patch number.
      ctx.issues.push({
        code: "custom",
        input: ctx.value,
        message:
          `is ${show(ctx.value)}, which is what YAML makes of an unquoted number (1.30 becomes 1.3): ` +
          `write the full version in quotes, e.g. kubernetesVersion: "${DEFAULTS.kubernetesVersion}" ` +
          `(a release 1.${minMinor}.x to 1.${maxMinor}.x)`,
      });
    } else if (!m) {
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
  // Present with a RHEL-family OS only (clusterConfig.ts rhelOnly; configRules.ts refuses them
  // with another OS).
  selinux: oneOf(SELINUX_MODES).optional(),
  firewalld: oneOf(FIREWALLD_MODES).optional(),
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
  publicApi: z.boolean({
    error: (i) =>
      `must be true or false (got ${show(i.input)}): true adds an internet-facing load balancer ` +
      `for operators, false leaves the API reachable only inside the VPC`,
  }),
  topology: oneOf(TOPOLOGIES),
  natGateways: oneOf(NAT_GATEWAYS),
  cloudProvider: oneOf(CLOUD_PROVIDERS),
  bastion: z.strictObject(
    {
      instanceType: z.string().regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, {
        error: (i) => `is not an EC2 instance type such as t4g.nano (got ${show(i.input)})`,
      }),
    },
    { error: (i) => `must be an object with instanceType (got ${show(i.input)})` },
  ),
  adminKubeconfig: z.strictObject(
    {
      // At most 5 years, and 1 day at least: a shorter admin credential is a token's job.
      validityDays: integer(1, 1825),
      renewBeforeDays: integer(0, 1824, ": 0 means never renew early"),
    },
    {
      error: (i) =>
        `must be an object with validityDays and renewBeforeDays (got ${show(i.input)})`,
    },
  ),
  upgrade: z.strictObject(
    {
      maxUnavailableWorkers: integer(1, 100, ": workers drained and upgraded at once"),
    },
    { error: (i) => `must be an object with maxUnavailableWorkers (got ${show(i.input)})` },
  ),
  etcdBackup: z.strictObject(
    {
      enabled: z.boolean({ error: (i) => `must be true or false (got ${show(i.input)})` }),
      intervalMinutes: integer(5, 1440, ": minutes between snapshots"),
      retentionDays: integer(1, 3650, ": days a snapshot is kept"),
      deleteOnDestroy: z.boolean({
        error: (i) =>
          `must be true or false (got ${show(i.input)}): true lets \`pulumi destroy\` delete the snapshots`,
      }),
    },
    {
      error: (i) =>
        `must be an object with enabled, intervalMinutes, retentionDays and deleteOnDestroy (got ${show(i.input)})`,
    },
  ),
});

/** Key path as the user writes it with `pulumi config set --path`. */
export function keyPath(path: readonly PropertyKey[]): string {
  return path
    .map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join("");
}

/**
 * The schema's verdict on a candidate: its problems, and the paths whose value failed: a
 * top-level key, or `group.field` inside a node group (an unknown field fails nothing).
 */
export function schemaProblems(candidate: unknown): {
  problems: string[];
  failedPaths: Set<string>;
} {
  const parsed = configSchema.safeParse(candidate);
  const issues = parsed.success ? [] : parsed.error.issues;
  return {
    failedPaths: new Set(
      issues
        .filter((issue) => issue.code !== "unrecognized_keys")
        .map((issue) => issue.path.slice(0, 2).map(String).join(".")),
    ),
    problems: issues.map((issue) => {
      const key = keyPath(issue.path);
      return issue.code === "unrecognized_keys"
        ? `${key || "config"} has unknown key(s) ${issue.keys.join(", ")}`
        : `${key} ${issue.message.replaceAll("{key}", key)}`;
    }),
  };
}

/**
 * The deployment record: what the last successful `pulumi up` built, exported as the stack
 * output `deploymentRecord` and read back at the start of the next run
 * (components/previousDeployment.ts). It lets a run keep what must never move (the zones in use,
 * each node's zone) and refuse, before anything is touched, what a running cluster cannot take
 * (create-only settings, a change that would stop every node of a group at once).
 *
 * Pure data and rules; the record is plain JSON so any later version of the program can read it.
 */
import { z } from "zod";
import type { ClusterConfig, NodeGroupConfig } from "./clusterConfig";
import type { AdminCredentialRecord } from "./credentialRenewal";

/** The stack output that carries the record. */
export const RECORD_OUTPUT = "deploymentRecord";

/**
 * Settings that kubeadm, the CNI or AWS fix when the cluster is created, with why. A run that
 * changes one fails before it touches anything.
 */
export const CREATE_ONLY = {
  clusterName: "it names and tags every AWS resource and is kubeadm's clusterName",
  vpcCidr: "AWS cannot change a VPC's primary CIDR: a new one would replace the VPC and every node",
  podCidr: "kubeadm fixes networking.podSubnet at init and the CNI its address pool",
  serviceCidr:
    "kubeadm fixes networking.serviceSubnet at init and the API server certificate holds its first address",
  cni: "the pod network is installed once: a change would swap the firewall rules under the running CNI and break pod traffic",
  containerRuntime: "nodes are prepared once: running nodes would keep their runtime",
  os: "each node keeps the image it was built from, and with it its SSH user",
  topology:
    "the nodes' subnets, addresses and routes are fixed when they are created: a change would move every node",
  cloudProvider:
    "each kubelet is started with or without the external cloud provider when its node joins: running nodes would keep the old setting, and the AWS resources the cloud controller made would be orphaned",
} as const satisfies Partial<Record<keyof ClusterConfig, string>>;
export type CreateOnlyKey = keyof typeof CREATE_ONLY;

const group = z.object({
  count: z.number().int().min(0),
  instanceType: z.string(),
  rootVolumeSizeGiB: z.number().int().min(1),
});

const recordSchema = z.object({
  version: z.literal(1),
  region: z.string(),
  /**
   * The Kubernetes version every node runs (absent in records written before rolling upgrades:
   * then the configured version is taken as the running one). Written only by an `up` that
   * finished its rollout, so a failed upgrade leaves the old version here (config/upgradePlan.ts).
   */
  kubernetesVersion: z.string().optional(),
  /** The explicit image the nodes were built from or rolled to (absent: the image lookup). */
  amiId: z.string().optional(),
  settings: z.record(z.string(), z.string()),
  /** Zone names by zone index; index k owns node subnet slot k (cidr.ts). */
  zones: z.array(z.string()),
  groups: z.object({ controlPlane: group, workers: group }),
  /** Zone index of node i of each role. */
  placement: z.object({
    controlPlane: z.array(z.number().int().min(0)),
    workers: z.array(z.number().int().min(0)),
  }),
  /** The admin certificate's generation and issue date (config/credentialRenewal.ts). */
  adminCredential: z
    .object({
      generation: z.number().int().min(1),
      issuedAt: z.iso.datetime(),
      validityDays: z.number().int().min(1),
    })
    .optional(),
});
export type DeploymentRecord = z.infer<typeof recordSchema>;
export type Placement = DeploymentRecord["placement"];

/** Reads a record from the previous outputs; undefined for a stack that has none yet. */
export function parseRecord(value: unknown): DeploymentRecord | undefined {
  if (value === undefined || value === null) return undefined;
  const parsed = recordSchema.safeParse(value);
  if (!parsed.success) {
    throw new Error(
      `the stack output ${RECORD_OUTPUT} is not a deployment record this program can read ` +
        `(${parsed.error.issues[0]?.message}); was the stack deployed by a newer version?`,
    );
  }
  return parsed.data;
}

export function buildRecord(
  config: ClusterConfig,
  region: string,
  zones: readonly string[],
  placement: Placement,
  adminCredential?: AdminCredentialRecord,
): DeploymentRecord {
  const settings = Object.fromEntries(
    (Object.keys(CREATE_ONLY) as CreateOnlyKey[]).map((key) => [key, String(config[key])]),
  );
  const groupOf = (g: NodeGroupConfig) => ({
    count: g.count,
    instanceType: g.instanceType,
    rootVolumeSizeGiB: g.rootVolumeSizeGiB,
  });
  return {
    version: 1,
    region,
    kubernetesVersion: config.kubernetesVersion,
    ...(config.amiId ? { amiId: config.amiId } : {}),
    settings,
    zones: [...zones],
    groups: { controlPlane: groupOf(config.controlPlane), workers: groupOf(config.workers) },
    placement: { controlPlane: [...placement.controlPlane], workers: [...placement.workers] },
    ...(adminCredential ? { adminCredential: { ...adminCredential } } : {}),
  };
}

/** `pulumi config set` for a key, quoted for a shell. */
function setCommand(key: string, value: string): string {
  return `\`pulumi config set ${key} ${/^[A-Za-z0-9._/:-]+$/.test(value) ? value : `'${value}'`}\``;
}

/** Every create-only setting (and the region) that differs from what the cluster was built with. */
export function createOnlyProblems(
  previous: DeploymentRecord,
  config: ClusterConfig,
  region: string,
): string[] {
  const problems: string[] = [];
  const refuse = (key: string, was: string, now: string, why: string) =>
    problems.push(
      `${key} is create-only: this cluster was built with ${was} and the stack now says ${now}; ${why}. ` +
        `Set it back with ${setCommand(key, was)}, or build a new cluster in a new stack`,
    );
  if (previous.region !== region) {
    refuse("aws:region", previous.region, region, "the cluster's resources live in that region");
  }
  for (const key of Object.keys(CREATE_ONLY) as CreateOnlyKey[]) {
    const was = previous.settings[key];
    const now = String(config[key]);
    if (was !== undefined && was !== now) refuse(key, was, now, CREATE_ONLY[key]);
  }
  return problems;
}

/**
 * Changes a running group cannot take: volumes cannot shrink, and a zone that holds nodes cannot
 * go away. (An instance-type or image change rolls the nodes one at a time: config/rollPlan.ts.)
 */
export function groupChangeProblems(previous: DeploymentRecord, config: ClusterConfig): string[] {
  const problems: string[] = [];
  for (const key of ["controlPlane", "workers"] as const) {
    const was = previous.groups[key];
    const now = config[key];
    const running = Math.min(was.count, now.count);
    if (running > 0 && now.rootVolumeSizeGiB < was.rootVolumeSizeGiB) {
      problems.push(
        `${key}.rootVolumeSizeGiB cannot shrink from ${was.rootVolumeSizeGiB} to ${now.rootVolumeSizeGiB}: ` +
          `EBS volumes only grow. Set it back with \`pulumi config set --path ${key}.rootVolumeSizeGiB ${was.rootVolumeSizeGiB}\``,
      );
    }
  }
  if (config.availabilityZoneCount < previous.zones.length) {
    problems.push(
      `availabilityZoneCount cannot go down from ${previous.zones.length} to ${config.availabilityZoneCount}: ` +
        `the cluster has subnets and nodes in ${previous.zones.slice(config.availabilityZoneCount).join(", ")}. ` +
        `Set it back with \`pulumi config set availabilityZoneCount ${previous.zones.length}\``,
    );
  }
  return problems;
}

/**
 * Zone index of each node of one role. A node that existed keeps its zone whatever the counts or
 * the number of zones; a new node goes to the zone with the fewest nodes of its role (the lowest
 * index on a tie), which for a new cluster is plain round-robin.
 */
export function placeNodes(
  previous: readonly number[] | undefined,
  count: number,
  zoneCount: number,
): number[] {
  const placed: (number | undefined)[] = Array.from({ length: count }, (_, i) => {
    const kept = previous?.[i];
    return kept !== undefined && kept < zoneCount ? kept : undefined;
  });
  for (let i = 0; i < count; i++) {
    if (placed[i] !== undefined) continue;
    const load = Array.from({ length: zoneCount }, (_, z) => placed.filter((p) => p === z).length);
    placed[i] = load.indexOf(Math.min(...load));
  }
  return placed as number[];
}

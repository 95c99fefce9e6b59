/**
 * Checks that need AWS answers, run before any resource is created, all reported together:
 * - against the previous deployment (its record): create-only settings and the region unchanged,
 *   no change that a running group cannot take (config/deploymentRecord.ts);
 * - the instance types exist, meet kubeadm's minimums and have an architecture we have images
 *   for; an explicit amiId exists and every group can run it;
 * - the zones: the ones in use are kept at their index, new ones must offer every type the
 *   cluster runs (config/zones.ts); each node's zone (kept, or spread over the zones).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ClusterConfig, ConfigError } from "../config/clusterConfig";
import {
  createOnlyProblems,
  DeploymentRecord,
  groupChangeProblems,
  Placement,
  placeNodes,
} from "../config/deploymentRecord";
import { Ec2Architecture, pickArchitecture } from "../config/images";
import { LiveNode, planRoll, RollPlan, rollPending } from "../config/rollPlan";
import { planUpgrade, UpgradePlan, versionChangeProblems } from "../config/upgradePlan";
import { chooseZones } from "../config/zones";
import {
  InstanceTypeFacts,
  QUOTAS,
  ruleQuotaProblems,
  vcpuQuotaProblems,
} from "../config/quotaChecks";

/** kubeadm's preflight minimums: 2 CPUs and ~1700 MB for a control plane; a worker needs less. */
export const MINIMUMS = {
  controlPlane: { vcpus: 2, memoryMiB: 2048 },
  workers: { vcpus: 1, memoryMiB: 1024 },
} as const;

export interface PreflightResult {
  readonly controlPlaneArch: Ec2Architecture;
  readonly workerArch: Ec2Architecture;
  readonly bastionArch: Ec2Architecture;
  readonly region: string;
  /** The zones in use, by zone index (index k owns node subnet slot k). */
  readonly availabilityZones: readonly string[];
  /** Zone index of each node of each role. */
  readonly placement: Placement;
  /** The rolling upgrade a `kubernetesVersion` change asks for (none for a new cluster). */
  readonly upgrade?: UpgradePlan;
  /** The rolling node change an instance-type or image change asks for. */
  readonly roll?: RollPlan;
}

export type { InstanceTypeFacts };

export interface PreflightLookups {
  region(): Promise<string>;
  instanceType(name: string): Promise<InstanceTypeFacts>;
  availabilityZones(): Promise<readonly string[]>;
  /** The zones that offer an instance type. */
  instanceTypeOfferings(instanceType: string): Promise<readonly string[]>;
  /** The CPU architecture of an explicit image (`amiId`). */
  imageArchitecture(amiId: string): Promise<string>;
  /** The cluster's instances of a role that run (or are stopped) right now. */
  liveNodes(clusterName: string, role: "control-plane" | "worker"): Promise<LiveNode[]>;
  /** A Service Quotas value for this account and region; undefined when it cannot be read. */
  quota(serviceCode: string, quotaCode: string): Promise<number | undefined>;
}

export const awsLookups: PreflightLookups = {
  region: async () => (await aws.getRegion()).region,
  instanceType: (instanceType) => aws.ec2.getInstanceType({ instanceType }),
  availabilityZones: async () =>
    (
      await aws.getAvailabilityZones({
        state: "available",
        filters: [{ name: "zone-type", values: ["availability-zone"] }],
      })
    ).names,
  instanceTypeOfferings: async (instanceType) =>
    (
      await aws.ec2.getInstanceTypeOfferings({
        locationType: "availability-zone",
        filters: [{ name: "instance-type", values: [instanceType] }],
      })
    ).locations,
  imageArchitecture: async (amiId) =>
    (await aws.ec2.getAmi({ filters: [{ name: "image-id", values: [amiId] }], mostRecent: true }))
      .architecture,
  liveNodes: async (clusterName, role) => {
    const found = await aws.ec2.getInstances({
      instanceTags: { "kubeadm-aws/cluster": clusterName, "kubeadm-aws/role": role },
      instanceStateNames: ["pending", "running", "stopping", "stopped"],
    });
    return Promise.all(
      found.ids.map(async (instanceId) => {
        const i = await aws.ec2.getInstance({ instanceId });
        return {
          name: i.tags.Name ?? "",
          instanceId,
          instanceType: i.instanceType,
          imageId: i.ami,
          privateDns: i.privateDns,
        };
      }),
    );
  },
  quota: (serviceCode, quotaCode) =>
    aws.servicequotas.getServiceQuota({ serviceCode, quotaCode }).then(
      (q) => q.value,
      () => undefined, // no servicequotas:GetServiceQuota permission: skip, as documented
    ),
};

async function checkGroup(
  key: "controlPlane" | "workers",
  config: ClusterConfig,
  lookups: PreflightLookups,
  problems: string[],
  imageArch: string | undefined,
  known: Map<string, InstanceTypeFacts>,
): Promise<Ec2Architecture> {
  const group = config[key];
  const fallback: Ec2Architecture = "x86_64";
  if (key === "workers" && group.count === 0) return fallback;
  let facts: InstanceTypeFacts;
  try {
    facts = await lookups.instanceType(group.instanceType);
    known.set(group.instanceType, facts);
  } catch (err) {
    problems.push(
      `${key}.instanceType ${group.instanceType} is not an instance type offered in this region (${(err as Error).message.split("\n")[0]})`,
    );
    return fallback;
  }
  const min = MINIMUMS[key];
  if (facts.defaultVcpus < min.vcpus || facts.memorySize < min.memoryMiB) {
    problems.push(
      `${key}.instanceType ${group.instanceType} has ${facts.defaultVcpus} vCPU and ${facts.memorySize} MiB; ` +
        `kubeadm needs at least ${min.vcpus} vCPU and ${min.memoryMiB / 1024} GiB here (e.g. t3.medium or t4g.medium)`,
    );
  }
  if (imageArch !== undefined) {
    // An explicit image fixes the architecture: the instance type must be able to run it.
    if (!facts.supportedArchitectures.includes(imageArch)) {
      problems.push(
        `amiId ${config.amiId} is built for ${imageArch}, but ${key}.instanceType ${group.instanceType} ` +
          `runs ${facts.supportedArchitectures.join("/")}; pick an instance type or image of the same architecture`,
      );
      return fallback;
    }
    return imageArch as Ec2Architecture;
  }
  const arch = pickArchitecture(facts.supportedArchitectures);
  if (!arch) {
    problems.push(
      `${key}.instanceType ${group.instanceType} runs ${facts.supportedArchitectures.join("/")}, ` +
        `but images exist only for x86_64 and arm64`,
    );
    return fallback;
  }
  return arch;
}

/** The bastion's type: it exists, has an architecture we have images for, and zone 0 offers it. */
async function checkBastion(
  config: ClusterConfig,
  lookups: PreflightLookups,
  problems: string[],
): Promise<Ec2Architecture> {
  const type = config.bastion.instanceType;
  try {
    const facts = await lookups.instanceType(type);
    const arch = pickArchitecture(facts.supportedArchitectures);
    if (arch) return arch;
    problems.push(
      `bastion.instanceType ${type} runs ${facts.supportedArchitectures.join("/")}, but images exist only for x86_64 and arm64`,
    );
  } catch (err) {
    problems.push(
      `bastion.instanceType ${type} is not an instance type offered in this region (${(err as Error).message.split("\n")[0]}); the default is t4g.micro`,
    );
  }
  return "arm64";
}

/** The bastion lives in zone index 0: that zone must offer its type. */
async function bastionZoneProblems(
  config: ClusterConfig,
  lookups: PreflightLookups,
  zones: readonly string[],
): Promise<string[]> {
  const zone = zones[0];
  if (zone === undefined) return [];
  const offered = await lookups
    .instanceTypeOfferings(config.bastion.instanceType)
    .catch(() => [] as readonly string[]);
  if (offered.length === 0 || offered.includes(zone)) return [];
  return [
    `bastion.instanceType ${config.bastion.instanceType} is not offered in ${zone}, the cluster's first zone, where the bastion goes; ` +
      `pick a type offered there`,
  ];
}

async function imageArchitecture(
  config: ClusterConfig,
  lookups: PreflightLookups,
  problems: string[],
): Promise<string | undefined> {
  if (!config.amiId) return undefined;
  let arch: string;
  try {
    arch = await lookups.imageArchitecture(config.amiId);
  } catch (err) {
    problems.push(
      `amiId ${config.amiId} was not found in this region (${(err as Error).message.split("\n")[0]})`,
    );
    return undefined;
  }
  if (pickArchitecture([arch]) === undefined) {
    problems.push(
      `amiId ${config.amiId} is built for ${arch}; only x86_64 and arm64 are supported`,
    );
    return undefined;
  }
  return arch;
}

/**
 * The rolling node change of an instance-type or image change (config/rollPlan.ts), from EC2's
 * live instances of each changed group; asked only when something must roll.
 */
async function rollOf(
  previous: DeploymentRecord,
  config: ClusterConfig,
  lookups: PreflightLookups,
  newArch: Readonly<Record<"controlPlane" | "workers", Ec2Architecture>>,
): Promise<{ plan?: RollPlan; problems: string[]; notes: string[] }> {
  if (!rollPending(previous, config)) return { problems: [], notes: [] };
  const archOf = async (type: string) =>
    pickArchitecture((await lookups.instanceType(type)).supportedArchitectures);
  const [controlPlane, workers, cpArch, workerArch] = await Promise.all([
    lookups.liveNodes(config.clusterName, "control-plane"),
    lookups.liveNodes(config.clusterName, "worker"),
    archOf(previous.groups.controlPlane.instanceType).catch(() => undefined),
    archOf(previous.groups.workers.instanceType).catch(() => undefined),
  ]);
  return planRoll(previous, config, {
    live: { controlPlane, workers },
    architectureChanged: {
      controlPlane: cpArch !== undefined && cpArch !== newArch.controlPlane,
      workers: workerArch !== undefined && workerArch !== newArch.workers,
    },
  });
}

/** The zones each instance type is offered in (an unknown type: none; reported elsewhere). */
async function offeringsOf(
  config: ClusterConfig,
  lookups: PreflightLookups,
): Promise<Map<string, Set<string>>> {
  const types = [...new Set([config.controlPlane.instanceType, config.workers.instanceType])];
  const zones = await Promise.all(
    types.map((t) => lookups.instanceTypeOfferings(t).catch(() => [] as readonly string[])),
  );
  return new Map(types.map((t, i) => [t, new Set(zones[i])]));
}

/** Runs every AWS-backed check; throws ConfigError with all problems found. */
export async function preflight(
  config: ClusterConfig,
  lookups: PreflightLookups = awsLookups,
  previous?: DeploymentRecord,
  invalidKeys: ReadonlySet<string> = new Set(),
): Promise<PreflightResult> {
  const problems: string[] = [];
  // A key that failed its own check holds a stand-in default: judge it no further. A problem
  // starts with the path it is about (`cni`, `controlPlane.instanceType`).
  const judged = (found: string[]) =>
    found.filter((p) => {
      const path = p.split(" ")[0]!;
      return !invalidKeys.has(path) && !invalidKeys.has(path.split(/[.[]/)[0]!);
    });
  const region = await lookups.region();
  if (previous) {
    problems.push(...judged(createOnlyProblems(previous, config, region)));
    problems.push(...judged(groupChangeProblems(previous, config)));
    if (previous.kubernetesVersion !== undefined) {
      problems.push(
        ...judged(versionChangeProblems(previous.kubernetesVersion, config.kubernetesVersion)),
      );
    }
  }
  const groupProblems: string[] = [];
  const types = new Map<string, InstanceTypeFacts>();
  const imageArch = await imageArchitecture(config, lookups, groupProblems);
  const [
    controlPlaneArch,
    workerArch,
    bastionArch,
    regionZones,
    offerings,
    vcpuQuota,
    rulesPerGroup,
  ] = await Promise.all([
    checkGroup("controlPlane", config, lookups, groupProblems, imageArch, types),
    checkGroup("workers", config, lookups, groupProblems, imageArch, types),
    checkBastion(config, lookups, groupProblems),
    lookups.availabilityZones(),
    offeringsOf(config, lookups),
    lookups.quota(QUOTAS.standardVcpus.serviceCode, QUOTAS.standardVcpus.quotaCode),
    lookups.quota(QUOTAS.rulesPerGroup.serviceCode, QUOTAS.rulesPerGroup.quotaCode),
  ]);
  const quotaFacts = { vcpuQuota, rulesPerGroup, types };
  groupProblems.push(
    ...vcpuQuotaProblems(config, quotaFacts),
    ...ruleQuotaProblems(config, quotaFacts),
  );
  const zoneChoice = chooseZones({
    config,
    previous: previous?.region === region ? previous.zones : undefined,
    regionZones,
    offerings,
  });
  groupProblems.push(...(await bastionZoneProblems(config, lookups, zoneChoice.zones)));
  problems.push(...judged(groupProblems), ...judged(zoneChoice.problems));
  const roll = previous
    ? await rollOf(previous, config, lookups, {
        controlPlane: controlPlaneArch,
        workers: workerArch,
      })
    : { problems: [], notes: [] };
  problems.push(...judged(roll.problems));
  for (const note of roll.notes) void pulumi.log.warn(note);
  const zoneCount = zoneChoice.zones.length;
  const upgrade = previous
    ? planUpgrade(
        previous.kubernetesVersion,
        config,
        {
          controlPlanes: previous.groups.controlPlane.count,
          workers: previous.groups.workers.count,
        },
        { controlPlanes: config.controlPlane.count, workers: config.workers.count },
      )
    : undefined;
  if (upgrade && roll.plan) {
    problems.push(
      `kubernetesVersion (${upgrade.from} -> ${upgrade.to}) and ${roll.plan.changes.join(", ")} ` +
        `change in the same \`up\`: each rolls over every node, and one rollout at a time is the ` +
        `one that can stop and resume cleanly. Change one of them now and the other in the next \`up\``,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    ...(upgrade ? { upgrade } : {}),
    ...(roll.plan ? { roll: roll.plan } : {}),
    controlPlaneArch,
    workerArch,
    bastionArch,
    region,
    availabilityZones: zoneChoice.zones,
    placement: {
      controlPlane: placeNodes(
        previous?.placement.controlPlane,
        config.controlPlane.count,
        zoneCount,
      ),
      workers: placeNodes(previous?.placement.workers, config.workers.count, zoneCount),
    },
  };
}

/**
 * Checks that need AWS answers, run before any resource is created: the instance types exist,
 * meet kubeadm's minimums, and have an architecture we have images for; the region has enough
 * availability zones. Every problem is reported together with the config-level ones' format.
 */
import * as aws from "@pulumi/aws";
import { ClusterConfig, ConfigError } from "../config/clusterConfig";
import { Ec2Architecture, pickArchitecture } from "../config/images";

/** kubeadm's preflight minimums: 2 CPUs and ~1700 MB for a control plane; a worker needs less. */
export const MINIMUMS = {
  controlPlane: { vcpus: 2, memoryMiB: 2048 },
  workers: { vcpus: 1, memoryMiB: 1024 },
} as const;

export interface PreflightResult {
  readonly controlPlaneArch: Ec2Architecture;
  readonly workerArch: Ec2Architecture;
  /** The first `availabilityZoneCount` zones of the region, sorted by name. */
  readonly availabilityZones: readonly string[];
}

/** What `getInstanceType` tells us; a subset so tests can stub it. */
export interface InstanceTypeFacts {
  readonly defaultVcpus: number;
  readonly memorySize: number;
  readonly supportedArchitectures: readonly string[];
}

export interface PreflightLookups {
  instanceType(name: string): Promise<InstanceTypeFacts>;
  availabilityZones(): Promise<readonly string[]>;
  /** The CPU architecture of an explicit image (`amiId`). */
  imageArchitecture(amiId: string): Promise<string>;
}

export const awsLookups: PreflightLookups = {
  instanceType: (instanceType) => aws.ec2.getInstanceType({ instanceType }),
  availabilityZones: async () =>
    (
      await aws.getAvailabilityZones({
        state: "available",
        filters: [{ name: "zone-type", values: ["availability-zone"] }],
      })
    ).names,
  imageArchitecture: async (amiId) =>
    (await aws.ec2.getAmi({ filters: [{ name: "image-id", values: [amiId] }], mostRecent: true }))
      .architecture,
};

async function checkGroup(
  key: "controlPlane" | "workers",
  config: ClusterConfig,
  lookups: PreflightLookups,
  problems: string[],
  imageArch: string | undefined,
): Promise<Ec2Architecture> {
  const group = config[key];
  const fallback: Ec2Architecture = "x86_64";
  if (key === "workers" && group.count === 0) return fallback;
  let facts: InstanceTypeFacts;
  try {
    facts = await lookups.instanceType(group.instanceType);
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

/** Runs every AWS-backed check; throws ConfigError with all problems found. */
export async function preflight(
  config: ClusterConfig,
  lookups: PreflightLookups = awsLookups,
): Promise<PreflightResult> {
  const problems: string[] = [];
  let imageArch: string | undefined;
  if (config.amiId) {
    try {
      imageArch = await lookups.imageArchitecture(config.amiId);
    } catch (err) {
      problems.push(
        `amiId ${config.amiId} was not found in this region (${(err as Error).message.split("\n")[0]})`,
      );
    }
    if (imageArch !== undefined && pickArchitecture([imageArch]) === undefined) {
      problems.push(
        `amiId ${config.amiId} is built for ${imageArch}; only x86_64 and arm64 are supported`,
      );
      imageArch = undefined;
    }
  }
  const [controlPlaneArch, workerArch, zones] = await Promise.all([
    checkGroup("controlPlane", config, lookups, problems, imageArch),
    checkGroup("workers", config, lookups, problems, imageArch),
    lookups.availabilityZones(),
  ]);
  const sorted = [...zones].sort();
  if (sorted.length < config.availabilityZoneCount) {
    problems.push(
      `availabilityZoneCount ${config.availabilityZoneCount} is more than the ${sorted.length} zones available in this region (${sorted.join(", ")})`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    controlPlaneArch,
    workerArch,
    availabilityZones: sorted.slice(0, config.availabilityZoneCount),
  };
}

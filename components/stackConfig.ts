/**
 * The only reader of `pulumi.Config`. It reads every key of this project's namespace as raw
 * text, parses numbers and JSON where the key is structured, and hands the result to
 * `validateClusterConfig`, which applies defaults and reports every problem at once.
 */
import * as pulumi from "@pulumi/pulumi";
import {
  ClusterConfig,
  ClusterConfigInput,
  ConfigError,
  validateClusterConfig,
} from "../config/clusterConfig";

/** Every key this program reads; any other key in the namespace is reported as unknown. */
export const CONFIG_KEYS = [
  "clusterName",
  "kubernetesVersion",
  "containerRuntime",
  "cni",
  "os",
  "amiId",
  "controlPlane",
  "workers",
  "vpcCidr",
  "availabilityZoneCount",
  "podCidr",
  "serviceCidr",
  "sshIngressCidrs",
  "apiIngressCidrs",
  "nodePortIngressCidrs",
] as const;

const STRUCTURED = new Set([
  "controlPlane",
  "workers",
  "sshIngressCidrs",
  "apiIngressCidrs",
  "nodePortIngressCidrs",
]);
const NUMERIC = new Set(["availabilityZoneCount"]);

/** Reads the stack's config into the plain input shape, collecting parse problems. */
export function readConfigInput(config: pulumi.Config): {
  input: ClusterConfigInput;
  problems: string[];
} {
  const input: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const key of CONFIG_KEYS) {
    const raw = config.get(key);
    if (raw === undefined) continue;
    if (STRUCTURED.has(key)) {
      try {
        input[key] = JSON.parse(raw);
      } catch {
        problems.push(
          `${key} must be structured (set it with \`pulumi config set --path '${key}...'\` or as YAML in Pulumi.<stack>.yaml) (got ${JSON.stringify(raw)})`,
        );
      }
    } else if (NUMERIC.has(key)) {
      input[key] = /^-?\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw) : raw;
    } else {
      input[key] = raw;
    }
  }
  return { input: input as ClusterConfigInput, problems };
}

/** Keys set in this project's namespace that the program does not know (typos, old names). */
export function unknownKeys(allConfig: Record<string, string>, project: string): string[] {
  const known = new Set<string>(CONFIG_KEYS);
  return Object.keys(allConfig)
    .filter((k) => k.startsWith(`${project}:`))
    .map((k) => k.slice(project.length + 1))
    .filter((k) => !known.has(k))
    .map(
      (k) => `${project}:${k} is not a known config key; the keys are ${CONFIG_KEYS.join(", ")}`,
    );
}

/** Loads and validates the stack's configuration, or throws one error listing every problem. */
export function loadConfig(): ClusterConfig {
  const config = new pulumi.Config();
  const { input, problems: parseProblems } = readConfigInput(config);
  const problems = [
    ...parseProblems,
    ...unknownKeys(pulumi.runtime.allConfig(), pulumi.getProject()),
  ];
  try {
    const validated = validateClusterConfig(input, pulumi.getStack());
    if (problems.length > 0) throw new ConfigError(problems);
    return validated;
  } catch (err) {
    if (err instanceof ConfigError) {
      throw new ConfigError([...problems, ...err.problems.filter((p) => !problems.includes(p))]);
    }
    throw err;
  }
}

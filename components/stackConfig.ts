/**
 * The only reader of `pulumi.Config`. It reads every key of this project's namespace as raw
 * text, parses numbers and JSON where the key is structured, and hands the result to
 * `checkClusterConfig`, which applies defaults and reports every problem at once.
 *
 * The CLI stores what `pulumi config set` was given: top-level values as text, values set with
 * `--path` as YAML (integers as numbers), and structured keys reach the program as JSON text
 * (pulumi/pulumi v3.248.0 sdk/go/common/resource/config/value.go). So the mistakes people make
 * show up here in recognisable forms, and each gets a message with the command to type:
 * a list or object set as plain text, `workers.count` set without `--path`, a misspelt key.
 */
import * as pulumi from "@pulumi/pulumi";
import {
  checkClusterConfig,
  ClusterConfig,
  ClusterConfigInput,
  ConfigCheck,
  ConfigError,
} from "../config/clusterConfig";
import { closestKey, quoteForShell } from "../config/configHints";

/** Every key this program reads; any other key in the namespace is reported as unknown. */
export const CONFIG_KEYS = [
  "clusterName",
  "kubernetesVersion",
  "containerRuntime",
  "cni",
  "os",
  "selinux",
  "firewalld",
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
  "publicApi",
  "topology",
  "natGateways",
  "cloudProvider",
  "bastion",
  "adminKubeconfig",
  "upgrade",
  "etcdBackup",
] as const;

const LISTS = new Set(["sshIngressCidrs", "apiIngressCidrs", "nodePortIngressCidrs"]);
const OBJECTS = new Set([
  "controlPlane",
  "workers",
  "bastion",
  "adminKubeconfig",
  "upgrade",
  "etcdBackup",
]);
const NUMERIC = new Set(["availabilityZoneCount"]);
const BOOLEAN = new Set(["publicApi"]);

/** What the stack's config says, before the rules: parsed values and what could not be read. */
export interface RawConfig {
  readonly input: ClusterConfigInput;
  readonly problems: string[];
  /** Keys whose value could not be read at all (their problem is in `problems`). */
  readonly unreadable: Set<string>;
}

/** The `--path` commands that set a list or object a user gave as plain text. */
function pathCommands(key: string, raw: string): string {
  if (LISTS.has(key)) {
    const entries = raw
      .replace(/^\[|\]$/g, "")
      .split(/[\s,]+/)
      .map((e) => e.replace(/^["']|["']$/g, ""))
      .filter(Boolean);
    const sets = (entries.length > 0 ? entries : ["my-ip"]).map(
      (entry, i) => `pulumi config set --path '${key}[${i}]' ${quoteForShell(entry)}`,
    );
    return [`pulumi config rm ${key}`, ...sets].join(" && ");
  }
  if (key === "bastion") {
    const type = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/.test(raw.trim()) ? raw.trim() : "t4g.micro";
    return `pulumi config rm bastion && pulumi config set --path bastion.instanceType ${type}`;
  }
  if (key === "adminKubeconfig") {
    const days = /^\d+$/.test(raw.trim()) ? raw.trim() : "365";
    return `pulumi config rm adminKubeconfig && pulumi config set --path adminKubeconfig.validityDays ${days}`;
  }
  if (key === "etcdBackup") {
    const enabled = raw.trim() === "false" ? "false" : "true";
    return `pulumi config rm etcdBackup && pulumi config set --path etcdBackup.enabled ${enabled}`;
  }
  if (key === "upgrade") {
    const n = /^\d+$/.test(raw.trim()) ? raw.trim() : "1";
    return `pulumi config rm upgrade && pulumi config set --path upgrade.maxUnavailableWorkers ${n}`;
  }
  const count = /^\d+$/.test(raw.trim()) ? raw.trim() : "3";
  return `pulumi config rm ${key} && pulumi config set --path ${key}.count ${count}`;
}

/** Parses a structured key; a value of the wrong shape says how to set it with `--path`. */
function readStructured(key: string, raw: string): { value?: unknown; problem?: string } {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    value = undefined;
  }
  const isList = Array.isArray(value);
  const isObject = typeof value === "object" && value !== null && !isList;
  if ((LISTS.has(key) && isList) || (OBJECTS.has(key) && isObject)) return { value };
  const shape = LISTS.has(key)
    ? "a list"
    : key === "bastion"
      ? "an object with instanceType"
      : key === "adminKubeconfig"
        ? "an object with validityDays and renewBeforeDays"
        : key === "upgrade"
          ? "an object with maxUnavailableWorkers"
          : key === "etcdBackup"
            ? "an object with enabled, intervalMinutes, retentionDays and deleteOnDestroy"
            : "an object with count, instanceType and rootVolumeSizeGiB";
  return {
    problem:
      `${key} must be ${shape}, but it is set to the text ${JSON.stringify(raw)}: set it with ` +
      `--path instead, \`${pathCommands(key, raw)}\`, or write it as YAML in Pulumi.<stack>.yaml`,
  };
}

/** Reads the stack's config into the plain input shape, collecting what cannot be read. */
export function readConfigInput(config: pulumi.Config): RawConfig {
  const input: Record<string, unknown> = {};
  const problems: string[] = [];
  const unreadable = new Set<string>();
  for (const key of CONFIG_KEYS) {
    const raw = config.get(key);
    if (raw === undefined) continue;
    if (LISTS.has(key) || OBJECTS.has(key)) {
      const { value, problem } = readStructured(key, raw);
      if (problem) {
        problems.push(problem);
        unreadable.add(key);
      } else {
        input[key] = value;
      }
    } else if (NUMERIC.has(key)) {
      input[key] = /^-?\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw) : raw;
    } else if (BOOLEAN.has(key)) {
      // The CLI stores a top-level value as text: `pulumi config set publicApi false`.
      const text = raw.trim().toLowerCase();
      input[key] = text === "true" ? true : text === "false" ? false : raw;
    } else {
      input[key] = raw;
    }
  }
  return { input: input as ClusterConfigInput, problems, unreadable };
}

/**
 * Keys set in this project's namespace that the program does not know: a structured key set
 * without `--path` (`workers.count`, `sshIngressCidrs[0]`), or a misspelt one.
 */
export function unknownKeys(allConfig: Record<string, string>, project: string): string[] {
  const known = new Set<string>(CONFIG_KEYS);
  return Object.entries(allConfig)
    .filter(([k]) => k.startsWith(`${project}:`))
    .map(([k, value]) => [k.slice(project.length + 1), value] as const)
    .filter(([k]) => !known.has(k))
    .map(([k, value]) => {
      const root = /^([A-Za-z]+)[.[]/.exec(k)?.[1];
      if (root && (LISTS.has(root) || OBJECTS.has(root))) {
        return (
          `${project}:${k} was set without --path, so it is a key of its own that the program ` +
          `does not read: \`pulumi config rm '${k}' && pulumi config set --path '${k}' ${quoteForShell(value)}\``
        );
      }
      const guess = closestKey(k, CONFIG_KEYS);
      return (
        `${project}:${k} is not a known config key` +
        (guess ? ` (did you mean ${guess}?)` : "") +
        `; the keys are ${CONFIG_KEYS.join(", ")}`
      );
    });
}

/** The stack's config checked, never throwing for a config problem: every problem is listed. */
export function readStackConfig(): ConfigCheck {
  const raw = readConfigInput(new pulumi.Config());
  const check = checkClusterConfig(raw.input, pulumi.getStack(), raw.unreadable);
  return {
    ...check,
    problems: [
      ...raw.problems,
      ...unknownKeys(pulumi.runtime.allConfig(), pulumi.getProject()),
      ...check.problems,
    ],
  };
}

/** Loads and validates the stack's configuration, or throws one error listing every problem. */
export function loadConfig(): ClusterConfig {
  const { config, problems } = readStackConfig();
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

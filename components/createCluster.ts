/**
 * The program's wiring in one place: resolve `my-ip`, read this stack's previous deployment
 * record, run the AWS-backed preflight checks (which compare against that record), then build
 * the cluster. `index.ts`, the render tool, the benchmark and programs that import this project
 * all go through it, so they evaluate exactly the same thing.
 */
import type * as pulumi from "@pulumi/pulumi";
import { resolveMyIp } from "../config/callerIp";
import type { ClusterConfig } from "../config/clusterConfig";
import type { DeploymentRecord } from "../config/deploymentRecord";
import { KubeadmCluster } from "./kubeadmCluster";
import { preflight, PreflightLookups } from "./preflight";
import { readPreviousDeployment } from "./previousDeployment";

export interface CreateClusterOptions {
  /** How `my-ip` finds this machine's address (default: ask checkip.amazonaws.com). */
  readonly detectIp?: () => Promise<string>;
  /** The AWS lookups preflight uses (default: the real EC2 APIs). */
  readonly lookups?: PreflightLookups;
  /**
   * What the last deployment built (default: read from this stack's `deploymentRecord` output).
   * A program that embeds the component under another stack output name passes it here.
   */
  readonly readPrevious?: () => Promise<DeploymentRecord | undefined>;
  readonly opts?: pulumi.ComponentResourceOptions;
}

/** Builds a cluster from a validated config; nothing is created if a check fails. */
export async function createKubeadmCluster(
  config: ClusterConfig,
  options: CreateClusterOptions = {},
): Promise<KubeadmCluster> {
  const resolved = await resolveMyIp(config, options.detectIp);
  const previous = await (options.readPrevious ?? readPreviousDeployment)();
  const checked = await preflight(resolved, options.lookups, previous);
  return new KubeadmCluster(
    resolved.clusterName,
    { config: resolved, preflight: checked },
    options.opts,
  );
}

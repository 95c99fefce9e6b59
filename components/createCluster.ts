/**
 * The program's wiring in one place: resolve `my-ip`, read this stack's previous deployment
 * record, run the AWS-backed preflight checks (which compare against that record), then build
 * the cluster. `index.ts`, the render tool, the benchmark and programs that import this project
 * all go through it, so they evaluate exactly the same thing.
 */
import * as pulumi from "@pulumi/pulumi";
import { resolveMyIp } from "../config/callerIp";
import { ClusterConfig, ConfigCheck, ConfigError } from "../config/clusterConfig";
import { planAdminCredential } from "../config/credentialRenewal";
import { documentationCidrProblems } from "../config/ingressCidrs";
import type { DeploymentRecord } from "../config/deploymentRecord";
import { KubeadmCluster } from "./kubeadmCluster";
import { preflight, PreflightLookups } from "./preflight";
import { readPreviousDeployment } from "./previousDeployment";

/** Awaits `checks`; throws one ConfigError with `problems` and every problem the checks found. */
async function withProblems<T>(problems: readonly string[], checks: Promise<T>): Promise<T> {
  let result: T;
  try {
    result = await checks;
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError([...problems, ...err.problems]);
    throw err;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return result;
}

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
  /**
   * Accept the RFC 5737 documentation ranges in the ingress lists. Only for evaluating the
   * program without a cloud (tests, `npm run render`), where those are the mock's addresses; a
   * real deployment with one could never be reached, so it is refused by default.
   */
  readonly allowDocumentationCidrs?: boolean;
  /**
   * What checking the config found already (components/stackConfig.ts readStackConfig): its
   * problems are reported together with every AWS-backed one, in the same run, and the keys
   * that failed are left out of the checks that would otherwise judge their stand-in defaults.
   */
  readonly configCheck?: Pick<ConfigCheck, "problems" | "invalidKeys" | "explicitKeys">;
  /** The clock the admin certificate's renewal reads (default: the system's; tests set it). */
  readonly now?: () => Date;
  readonly opts?: pulumi.ComponentResourceOptions;
}

/** Builds a cluster from a validated config; nothing is created if a check fails. */
export async function createKubeadmCluster(
  config: ClusterConfig,
  options: CreateClusterOptions = {},
): Promise<KubeadmCluster> {
  const check = options.configCheck;
  const resolved = await resolveMyIp(config, options.detectIp);
  const early = [
    ...(check?.problems ?? []),
    ...(options.allowDocumentationCidrs
      ? []
      : documentationCidrProblems(resolved, check?.explicitKeys)),
  ];
  const previous = await (options.readPrevious ?? readPreviousDeployment)();
  const checked = await withProblems(
    early,
    preflight(resolved, options.lookups, previous, check?.invalidKeys),
  );
  const adminCredential = planAdminCredential(
    previous?.adminCredential,
    resolved.adminKubeconfig,
    (options.now ?? (() => new Date()))(),
  );
  if (adminCredential.reason && adminCredential.reason !== "first issue") {
    void pulumi.log.info(
      `issuing a new admin kubeconfig (${adminCredential.reason}); it is valid until ${adminCredential.notAfter}`,
    );
  }
  return new KubeadmCluster(
    resolved.clusterName,
    {
      config: resolved,
      preflight: checked,
      adminCredential,
      awsProfile: new pulumi.Config("aws").get("profile"),
    },
    options.opts,
  );
}

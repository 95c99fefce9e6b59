/**
 * The rolling Kubernetes upgrade a `kubernetesVersion` change asks for, as pure data: whether the
 * change is one kubeadm can make (one minor at a time, never down: kubeadm's upgrade guide,
 * https://kubernetes.io/docs/tasks/administer-cluster/kubeadm/kubeadm-upgrade/ "Skipping MINOR
 * versions when upgrading is unsupported"), and the order the running nodes go in: the control
 * planes one at a time (the first runs `kubeadm upgrade apply`, the others `kubeadm upgrade node`),
 * then the workers in batches of `upgrade.maxUnavailableWorkers`.
 *
 * The version the cluster runs comes from the deployment record of the last successful `up`;
 * that record is written only once every node has been upgraded (components/kubeadmCluster.ts),
 * so a failed rollout leaves the old version in it and the next `up` plans the same rollout.
 */
import type { ClusterConfig } from "./clusterConfig";

export interface Version {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

export function parseVersion(text: string): Version {
  const m = /^v?(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (!m) throw new Error(`not a Kubernetes version: ${text}`);
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
}

/** Negative when a < b, 0 when equal, positive when a > b. */
export function compareVersions(a: string, b: string): number {
  const x = parseVersion(a);
  const y = parseVersion(b);
  return x.major - y.major || x.minor - y.minor || x.patch - y.patch;
}

/** Why the cluster cannot go from `running` to `target` in one `up`, or nothing. */
export function versionChangeProblems(running: string, target: string): string[] {
  const from = parseVersion(running);
  const to = parseVersion(target);
  const back = `\`pulumi config set kubernetesVersion ${running}\``;
  if (compareVersions(target, running) < 0) {
    return [
      `kubernetesVersion cannot go down: the cluster runs ${running} and the stack now says ${target}; ` +
        `kubeadm upgrades only forwards (a downgrade would put an older API server over data ` +
        `written by a newer one). Set it back with ${back}`,
    ];
  }
  if (to.major !== from.major || to.minor > from.minor + 1) {
    const next = `${from.major}.${from.minor + 1}`;
    return [
      `kubernetesVersion can move one minor version at a time: the cluster runs ${running} and the ` +
        `stack now says ${target}; kubeadm does not skip minor versions. Upgrade to a ${next}.x ` +
        `release first (\`pulumi config set kubernetesVersion ${next}.<patch>\` and \`pulumi up\`), ` +
        `then to ${target}, or set it back with ${back}`,
    ];
  }
  return [];
}

/** One node of the rollout: its logical name, and what kubeadm does on it. */
export interface RolloutNode {
  readonly name: string;
  readonly role: "control-plane" | "worker";
  /** `apply` on the first control plane (exactly once per rollout), `node` everywhere else. */
  readonly kubeadm: "apply" | "node";
}

export interface UpgradePlan {
  readonly from: string;
  readonly to: string;
  /** One at a time, in order. */
  readonly controlPlanes: readonly RolloutNode[];
  /** Batch after batch; the nodes of a batch go together. */
  readonly workerBatches: readonly (readonly RolloutNode[])[];
}

/**
 * The rollout for a version change, or undefined when there is none (a new cluster, an old
 * record without a version, or the same version). Only nodes that ran in the last deployment are
 * upgraded: a node added now installs the target version directly.
 */
export function planUpgrade(
  running: string | undefined,
  config: Pick<ClusterConfig, "clusterName" | "kubernetesVersion" | "upgrade">,
  existing: { readonly controlPlanes: number; readonly workers: number },
  wanted: { readonly controlPlanes: number; readonly workers: number },
): UpgradePlan | undefined {
  if (running === undefined || compareVersions(running, config.kubernetesVersion) === 0) {
    return undefined;
  }
  const cps = Math.min(existing.controlPlanes, wanted.controlPlanes);
  const workers = Math.min(existing.workers, wanted.workers);
  const controlPlanes: RolloutNode[] = Array.from({ length: cps }, (_, i) => ({
    name: `${config.clusterName}-cp-${i}`,
    role: "control-plane",
    kubeadm: i === 0 ? "apply" : "node",
  }));
  const size = config.upgrade.maxUnavailableWorkers;
  const workerBatches: RolloutNode[][] = [];
  for (let i = 0; i < workers; i += size) {
    workerBatches.push(
      Array.from({ length: Math.min(size, workers - i) }, (_, j) => ({
        name: `${config.clusterName}-worker-${i + j}`,
        role: "worker",
        kubeadm: "node",
      })),
    );
  }
  return { from: running, to: config.kubernetesVersion, controlPlanes, workerBatches };
}

/** The rollout in one line per stage, for the preview's log and the plan render. */
export function describeUpgrade(plan: UpgradePlan): string[] {
  return [
    `rolling upgrade ${plan.from} -> ${plan.to}:`,
    ...plan.controlPlanes.map(
      (n, i) => `  ${i + 1}. ${n.name}: drain, kubeadm upgrade ${n.kubeadm}, kubelet, uncordon`,
    ),
    ...plan.workerBatches.map(
      (batch, i) =>
        `  ${plan.controlPlanes.length + i + 1}. ${batch.map((n) => n.name).join(", ")}: ` +
        `drain, kubeadm upgrade node, kubelet, uncordon`,
    ),
  ];
}

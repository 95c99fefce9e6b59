/**
 * The rolling node change an `instanceType` or `amiId` change asks for, as pure data: which
 * running nodes must change (EC2's live answer, so a rollout that stopped half way resumes with
 * the nodes still to do), in what order (control planes first, then workers, one node at a time),
 * and how:
 * - `modify`: an instance-type change within the same CPU architecture. EC2 changes the type of
 *   a stopped instance in place (the AWS provider stops, modifies and starts it): same instance,
 *   root volume, private address and etcd member, so the node comes back as itself.
 * - `replace` (workers only): a new image, or a type of another architecture (which needs another
 *   image). A new instance is created and joins like any replacement (create before delete; the
 *   old one is removed, drained already, at the end of the `up`). Control planes are not
 *   replaced in a chain: a replaced control plane's join and etcd-prune name every other control
 *   plane's address, which would tie each replacement to the next. Their image stays (a warning
 *   says how to move them with `--replace`), and a type of another architecture is refused.
 *
 * Each node is drained first and must be Ready before the next one starts. Creation is never
 * ordered: only nodes that ran in the last deployment roll (config/deploymentRecord.ts).
 */
import type { ClusterConfig, NodeRole } from "./clusterConfig";
import type { DeploymentRecord } from "./deploymentRecord";

/** One running instance of the cluster, as EC2 reports it. */
export interface LiveNode {
  /** The instance's Name tag: the node's logical name, `<cluster>-cp-0`. */
  readonly name: string;
  readonly instanceId: string;
  readonly instanceType: string;
  readonly imageId: string;
  /** Its Kubernetes node name. */
  readonly privateDns: string;
}

export type LiveNodes = Readonly<Record<"controlPlane" | "workers", readonly LiveNode[]>>;

export interface RollNode {
  readonly name: string;
  readonly role: NodeRole;
  readonly how: "modify" | "replace";
  /** The Kubernetes name of the node before the change (the one drained). */
  readonly nodeName: string;
  /** The instance before the change (in the steps' triggers). */
  readonly instanceId: string;
}

export interface RollPlan {
  /** What changes, e.g. "controlPlane.instanceType t3.medium -> m7i.large". */
  readonly changes: readonly string[];
  /** One at a time, in order. */
  readonly nodes: readonly RollNode[];
}

const GROUPS = [
  { key: "controlPlane", role: "control-plane", label: "cp" },
  { key: "workers", role: "worker", label: "worker" },
] as const;

/** What a group's change is: nothing, a type change, an image change, or both. */
function groupChange(
  previous: DeploymentRecord,
  config: ClusterConfig,
  key: "controlPlane" | "workers",
) {
  const type = previous.groups[key].instanceType !== config[key].instanceType;
  // Only an explicit image rolls nodes: a newer image from the lookup applies to new nodes.
  const image = config.amiId !== undefined && previous.amiId !== config.amiId;
  return { type, image };
}

export interface RollFacts {
  readonly live: LiveNodes;
  /** Whether a group's new type runs another CPU architecture than its old one. */
  readonly architectureChanged: Readonly<Record<"controlPlane" | "workers", boolean>>;
}

/** Whether the running nodes must roll at all (then the live nodes are worth asking for). */
export function rollPending(previous: DeploymentRecord, config: ClusterConfig): boolean {
  return GROUPS.some(({ key }) => {
    const running = Math.min(previous.groups[key].count, config[key].count);
    const change = groupChange(previous, config, key);
    return running > 0 && (change.type || change.image);
  });
}

/**
 * The rollout, with the problems that stop it (a running node EC2 does not list cannot be
 * drained by name). Undefined plan when nothing must roll.
 */
export function planRoll(
  previous: DeploymentRecord,
  config: ClusterConfig,
  facts: RollFacts,
): { plan?: RollPlan; problems: string[]; notes: string[] } {
  const changes: string[] = [];
  const nodes: RollNode[] = [];
  const problems: string[] = [];
  /** Warnings for the run's log: what does not roll, and how to move it. */
  const notes: string[] = [];
  for (const { key, role, label } of GROUPS) {
    const running = Math.min(previous.groups[key].count, config[key].count);
    const change = groupChange(previous, config, key);
    if (running === 0 || (!change.type && !change.image)) continue;
    if (change.type) {
      changes.push(
        `${key}.instanceType ${previous.groups[key].instanceType} -> ${config[key].instanceType}`,
      );
    }
    if (change.image && key === "workers") {
      changes.push(`workers image ${previous.amiId ?? "(looked up)"} -> ${config.amiId}`);
    }
    if (key === "controlPlane" && facts.architectureChanged.controlPlane) {
      // A replaced control plane's join and etcd-prune name every other control plane's
      // address, so control planes cannot be replaced in a chain within one `up`; and EC2
      // cannot run an image of one architecture on a type of the other.
      problems.push(
        `controlPlane.instanceType cannot change from ${previous.groups.controlPlane.instanceType} to ` +
          `${config.controlPlane.instanceType} on running control planes: the new type runs another CPU ` +
          `architecture, so every control plane would need a new instance and image, which this ` +
          `program does not roll. Pick a type of the same architecture, or set it back with ` +
          `\`pulumi config set --path controlPlane.instanceType ${previous.groups.controlPlane.instanceType}\``,
      );
      continue;
    }
    // Control planes keep their image (the reason above); new and replaced ones get the new one.
    const rollsImage = change.image && key === "workers";
    if (change.image && key === "controlPlane") {
      notes.push(
        `the running control planes keep their image; new and replaced ones use ${config.amiId}. ` +
          `Move them one at a time with \`pulumi up --replace <urn of ${config.clusterName}-nodes-cp-N>\` ` +
          `(README: "Replace any node")`,
      );
      if (!change.type) continue;
    }
    const how = rollsImage || facts.architectureChanged[key] ? "replace" : "modify";
    for (let i = 0; i < running; i++) {
      const name = `${config.clusterName}-${label}-${i}`;
      const live = facts.live[key].find((n) => n.name === name);
      if (!live) {
        problems.push(
          `${key}.instanceType or amiId cannot roll over ${name}: EC2 lists no running instance ` +
            `named ${name} in this cluster. Run \`pulumi refresh\`, then \`pulumi up\` again`,
        );
        continue;
      }
      const wrongType = change.type && live.instanceType !== config[key].instanceType;
      const wrongImage = rollsImage && live.imageId !== config.amiId;
      if (!wrongType && !wrongImage) continue; // done already (a resumed rollout)
      nodes.push({ name, role, how, nodeName: live.privateDns, instanceId: live.instanceId });
    }
  }
  if (problems.length > 0 || nodes.length === 0) return { problems, notes };
  return { plan: { changes, nodes }, problems, notes };
}

/** The rollout in one line per node, for the preview's log and the plan render. */
export function describeRoll(plan: RollPlan): string[] {
  return [
    `rolling node change (${plan.changes.join("; ")}), one node at a time:`,
    ...plan.nodes.map(
      (n, i) =>
        `  ${i + 1}. ${n.name}: drain, ${n.how === "modify" ? "stop, change type, start" : "replace the instance (new one joins first)"}, Ready`,
    ),
  ];
}

/**
 * The modeled time to a Ready cluster: the longest path, weighted by a modeled duration per
 * resource, through the creation dependency graph the program records under mocks.
 *
 * - A resource starts once every resource it depends on has finished: its dependencies
 *   (explicit and through inputs), its parent and its `deletedWith` target (the Node SDK awaits
 *   the parent's and the deletedWith target's URN before it registers a resource, and a custom
 *   resource's URN resolves once it is created: @pulumi/pulumi runtime/resource.js,
 *   prepareResource). Dependencies that are not in the list are ignored.
 * - Components take 0 s: a resource another one names as parent (unless its type is a custom
 *   resource listed below) or whose type is in this project's component package.
 * - Operations run with unbounded parallelism, as `pulumi up` does by default (`--parallel`
 *   "Defaults to unbounded"; the deploy wrapper sets no limit). No API throttling is modeled.
 * - Durations are modeled estimates per Pulumi type token, and per bootstrap step for a
 *   `command:remote:Command` (from its name, `commandStep`). A type the table does not know
 *   gets `unknown` seconds and is listed in the result, so the table can be completed.
 *
 * Pure: no Pulumi, no I/O; `npm run bench` prints it, test/tools/criticalPath.test.ts checks it.
 */
import { PKG } from "../components/naming";

/** The bootstrap steps a `command:remote:Command` can be, as `commandStep` names them. */
export type CommandStep =
  | "wait-ready"
  | "bastion-tools"
  | "prepare"
  | "init"
  | "etcd-prune"
  | "cni"
  | "join-control-plane"
  | "join-worker"
  | "join-init-node"
  | "member"
  | "cloud-controller"
  | "ebs-csi"
  | "release-cloud-resources"
  | "timers"
  | "cluster-ready";

export interface Durations {
  /**
   * Seconds per Pulumi type token. A key ending in `*` matches every type it is a prefix of
   * (the longest such key wins over a shorter one; an exact key over both).
   */
  readonly byType: Readonly<Record<string, number>>;
  /** Seconds per bootstrap step of a `command:remote:Command`. */
  readonly byStep: Readonly<Partial<Record<CommandStep, number>>>;
  /** Seconds for a type, or a command step, the table does not list. */
  readonly unknown: number;
}

export const COMMAND_TYPE = "command:remote:Command";

/**
 * The modeled durations. Where AWS documents the state the provider waits for but not how long
 * it takes, the figure is an estimate from typical runs in us-east-1 and says so.
 */
export const DURATIONS: Durations = {
  byType: {
    // Components and providers.
    [`${PKG}:*`]: 0, // ComponentResource: registers at once, creates nothing.
    "pulumi:pulumi:Stack": 0, // The stack is a component too.
    "pulumi:providers:*": 1, // Provider configure, local. Estimate.

    // VPC and its plumbing: synchronous EC2 calls plus the provider's wait for "available".
    "aws:ec2/vpc:Vpc": 5, // CreateVpc, then DescribeVpcs until available. Estimate from typical runs.
    "aws:ec2/subnet:Subnet": 5, // CreateSubnet until available, plus ModifySubnetAttribute. Estimate.
    "aws:ec2/internetGateway:InternetGateway": 5, // Create plus AttachInternetGateway. Estimate.
    "aws:ec2/internetGatewayAttachment:InternetGatewayAttachment": 3, // One API call. Estimate.
    "aws:ec2/routeTable:RouteTable": 3, // CreateRouteTable, then read back. Estimate.
    "aws:ec2/route:Route": 3, // CreateRoute, then read back until it is there. Estimate.
    "aws:ec2/routeTableAssociation:RouteTableAssociation": 2, // One API call. Estimate.
    "aws:ec2/securityGroup:SecurityGroup": 3, // CreateSecurityGroup, revoke default egress. Estimate.
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": 2, // One API call. Estimate.
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": 2, // One API call. Estimate.
    "aws:ec2/securityGroupRule:SecurityGroupRule": 2, // One API call. Estimate.
    "aws:ec2/keyPair:KeyPair": 1, // ImportKeyPair, synchronous. Estimate.
    "aws:ec2/eip:Eip": 2, // AllocateAddress, synchronous. Estimate.
    "aws:ec2/eipAssociation:EipAssociation": 3, // AssociateAddress, then read back. Estimate.
    // The provider waits for "available" (AWS VPC User Guide, "Work with NAT gateways": Pending,
    // then Available; no duration documented). 1-3 min in typical runs: estimate 120 s.
    "aws:ec2/natGateway:NatGateway": 120,
    // RunInstances, then the provider waits for "running" (EC2 User Guide, instance lifecycle:
    // pending -> running; no duration documented). Estimate from typical runs: ~30 s.
    "aws:ec2/instance:Instance": 30,

    // Elastic Load Balancing.
    // The provider waits for state "active" (ELB API Reference, LoadBalancerState: provisioning
    // until fully set up; no duration documented). An NLB takes 2-4 min in typical runs: 180 s.
    "aws:lb/loadBalancer:LoadBalancer": 180,
    "aws:lb/targetGroup:TargetGroup": 2, // CreateTargetGroup, synchronous. Estimate.
    "aws:lb/listener:Listener": 2, // CreateListener, synchronous. Estimate.
    // RegisterTargets returns at once, but the NLB routes to the target only once "the
    // registration process completes and the targets pass the initial health checks", which
    // "can take a few minutes" (ELB NLB User Guide, "Register targets"). Modeled 30 s: a
    // registration plus healthyThreshold x interval (2 x 10 s in components/apiLoadBalancer.ts).
    "aws:lb/targetGroupAttachment:TargetGroupAttachment": 30,

    // Route 53: the provider waits for the change to be INSYNC; "Changes generally propagate to
    // all Route 53 name servers within 60 seconds" (Route 53 Developer Guide, "Editing
    // records"; a new zone is PENDING until INSYNC, API Reference, CreateHostedZone). 40 s.
    "aws:route53/zone:Zone": 40,
    "aws:route53/record:Record": 40,
    "aws:route53/zoneAssociation:ZoneAssociation": 40, // A VPC association is a change too.

    // IAM: CreateRole and PutRolePolicy are synchronous; an instance profile is usable by EC2
    // only once IAM has propagated it ("changes ... are eventually consistent", IAM User Guide,
    // "Troubleshoot IAM"; the AWS provider retries RunInstances meanwhile). Estimates.
    "aws:iam/role:Role": 2,
    "aws:iam/rolePolicy:RolePolicy": 2,
    "aws:iam/instanceProfile:InstanceProfile": 10,
    // S3 bucket and its configurations: each a synchronous call that returns at once
    // (CreateBucket, PutPublicAccessBlock, ...). Estimate: ~2 s each.
    "aws:s3/*": 2,
    // A local command with only a delete (the destroy sweep) does nothing on create.
    "command:local:Command": 0,

    // Local providers: computed on the machine running Pulumi, no cloud call. Estimate.
    "tls:*": 1,
    "random:*": 1,
  },
  byStep: {
    // First SSH contact with a booting instance (sshd up) until cloud-init is done and apt is
    // idle (guest/wait-ready.sh). Estimate from typical runs: ~90 s after "running".
    "wait-ready": 90,
    // apt: containerd, kubeadm, kubelet, kubectl; kernel settings; image pre-pull
    // (guest/prepare.sh). Estimate from typical runs: ~3 min.
    prepare: 180,
    // kubectl from pkgs.k8s.io on the bastion (guest/bastion-tools.sh): one small package. ~30 s.
    "bastion-tools": 30,
    // kubeadm init: certificates, static pods, waiting for a healthy API server, addons
    // (guest/init.sh). Estimate from typical runs: ~2 min.
    init: 120,
    // One `etcdctl member list` through kubectl exec from the bastion; nothing to remove at
    // creation (guest/etcd-prune.sh). Estimate: ~5 s.
    "etcd-prune": 5,
    // Apply the pinned CNI manifests and wait for the rollout (guest/cni.sh). Estimate: ~1 min.
    cni: 60,
    // kubeadm join of a control plane: etcd member add, control-plane static pods, waiting for
    // its API server and etcd to be healthy (guest/join.sh). Estimate from typical runs: ~90 s.
    "join-control-plane": 90,
    // kubeadm join of a worker: TLS bootstrap of the kubelet (guest/join.sh). Estimate: ~1 min.
    "join-worker": 60,
    // The join of the node init ran on, at creation: it finds itself joined and stops. ~3 s.
    "join-init-node": 3,
    // Wait for the Node object, label a worker (guest/register-node.sh). Estimate: ~10 s.
    member: 10,
    // Helm installs from the bastion, then the roll-out (guest/helm-release.sh): the controller
    // manager's DaemonSet on the control planes (one image pull, ~1 min), the CSI controller's
    // Deployment and sidecars (several images, ~1.5 min). Estimates.
    "cloud-controller": 60,
    "ebs-csi": 90,
    // Its create only counts the LoadBalancer Services and volumes. ~5 s.
    "release-cloud-resources": 5,
    // Writes two scripts and four units, daemon-reload, enables two timers
    // (guest/node-timers.sh). Estimate: ~5 s.
    timers: 5,
    // Every node Ready (the CNI pods started on it) and CoreDNS rolled out
    // (guest/cluster-ready.sh). Estimate from typical runs: ~1 min after the last join.
    "cluster-ready": 60,
  },
  // A type the table does not list: a typical synchronous AWS call. Listed in the result.
  unknown: 5,
};

/** What the model reads of a recorded resource (tools/mockCloud.ts RecordedResource). */
export interface GraphResource {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  readonly dependencies: readonly string[];
  readonly parentUrn: string;
  /** The URN of its `deletedWith` target, or "" (optional). */
  readonly deletedWith?: string;
}

export interface PathStep {
  readonly name: string;
  readonly type: string;
  /** Modeled seconds from the start of `pulumi up`. */
  readonly start: number;
  readonly end: number;
}

export interface CriticalPath {
  /** When the last resource finishes: the end of the path. */
  readonly seconds: number;
  /** The longest chain, first resource first; each starts when the one before it ends. */
  readonly path: PathStep[];
  /** Types (or command steps) the durations table does not list, which got `unknown`. */
  readonly unknownTypes: string[];
}

const STEP_SUFFIXES: readonly (readonly [string, CommandStep | "join"])[] = [
  ["-wait-ready", "wait-ready"],
  ["-bastion-tools", "bastion-tools"],
  ["-prepare", "prepare"],
  ["-init", "init"],
  ["-etcd-prune", "etcd-prune"],
  ["-cni", "cni"],
  ["-join", "join"],
  ["-member", "member"],
  ["-cloud-controller", "cloud-controller"],
  ["-ebs-csi", "ebs-csi"],
  ["-release-cloud-resources", "release-cloud-resources"],
  ["-timers", "timers"],
  ["-cluster-ready", "cluster-ready"],
];

/**
 * The bootstrap step a command is, from its resource name: the suffix names the step, and a
 * join's role is whichever of `-cp-` (control plane) and `-worker-` comes last in its name (the
 * node's own name, right before `-join`; a cluster name may contain either). Undefined for a
 * name this does not recognise.
 */
export function commandStep(name: string): CommandStep | undefined {
  const found = STEP_SUFFIXES.find(([suffix]) => name.endsWith(suffix));
  if (!found) return undefined;
  if (found[1] !== "join") return found[1];
  const node = name.slice(0, -"-join".length);
  const cp = node.lastIndexOf("-cp-");
  const worker = node.lastIndexOf("-worker-");
  if (cp < 0 && worker < 0) return undefined;
  return cp > worker ? "join-control-plane" : "join-worker";
}

/** Seconds for a type from `byType`: exact key, else the longest matching `prefix*` key. */
function typeSeconds(type: string, durations: Durations): number | undefined {
  if (Object.hasOwn(durations.byType, type)) return durations.byType[type];
  let best: [string, number] | undefined;
  for (const [key, seconds] of Object.entries(durations.byType)) {
    if (!key.endsWith("*")) continue;
    const prefix = key.slice(0, -1);
    if (type.startsWith(prefix) && (!best || prefix.length > best[0].length)) {
      best = [prefix, seconds];
    }
  }
  return best?.[1];
}

/** The modeled duration of one resource, or the label it is listed under when unknown. */
function durationOf(
  r: GraphResource,
  isParent: boolean,
  durations: Durations,
  initNodes: ReadonlySet<string>,
): { seconds: number; unknown?: string } {
  if (r.type === COMMAND_TYPE) {
    let step = commandStep(r.name);
    // On the instance that ran init, at creation, the join finds the node joined (guest/join.sh).
    if (step === "join-control-plane" && initNodes.has(r.name.slice(0, -"-join".length))) {
      step = "join-init-node";
    }
    const seconds = step === undefined ? undefined : durations.byStep[step];
    if (seconds !== undefined) return { seconds };
    const label = step ?? `*-${r.name.split("-").pop()}`;
    return { seconds: durations.unknown, unknown: `${COMMAND_TYPE} (step ${label})` };
  }
  const seconds = typeSeconds(r.type, durations);
  if (seconds !== undefined) return { seconds };
  if (isParent) return { seconds: 0 }; // A component of another package.
  return { seconds: durations.unknown, unknown: r.type };
}

/**
 * The longest duration-weighted path through the creation graph of `resources`. Throws on a
 * duplicate URN and on a dependency cycle (naming the resources on it).
 */
export function criticalPath(
  resources: readonly GraphResource[],
  durations: Durations = DURATIONS,
): CriticalPath {
  const byUrn = new Map<string, GraphResource>();
  for (const r of resources) {
    if (byUrn.has(r.urn)) throw new Error(`two resources share the URN ${r.urn}`);
    byUrn.set(r.urn, r);
  }
  const parents = new Set(resources.map((r) => r.parentUrn).filter((urn) => urn !== ""));
  const depsOf = new Map<string, string[]>();
  for (const r of resources) {
    const deps = [...r.dependencies, r.parentUrn, r.deletedWith ?? ""];
    depsOf.set(
      r.urn,
      [...new Set(deps)].filter((urn) => byUrn.has(urn)),
    );
  }

  const initNodes = new Set(
    resources
      .filter((r) => r.type === COMMAND_TYPE && commandStep(r.name) === "init")
      .map((r) => r.name.slice(0, -"-init".length)),
  );
  const unknownTypes = new Set<string>();
  const seconds = new Map<string, number>();
  for (const r of resources) {
    const d = durationOf(r, parents.has(r.urn), durations, initNodes);
    seconds.set(r.urn, d.seconds);
    if (d.unknown) unknownTypes.add(d.unknown);
  }

  // Kahn's algorithm: a resource is timed once all its dependencies are.
  const waiting = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const r of resources) {
    const deps = depsOf.get(r.urn)!;
    waiting.set(r.urn, deps.length);
    for (const dep of deps) {
      if (!dependents.has(dep)) dependents.set(dep, []);
      dependents.get(dep)!.push(r.urn);
    }
  }
  const ready = resources.filter((r) => waiting.get(r.urn) === 0).map((r) => r.urn);
  const start = new Map<string, number>();
  const end = new Map<string, number>();
  const via = new Map<string, string | undefined>();
  const order = new Map(resources.map((r, i) => [r.urn, i]));
  // Among equally late dependencies, the one that does work (longer), then the first recorded.
  const later = (a: string, b: string) =>
    end.get(a)! - end.get(b)! || seconds.get(a)! - seconds.get(b)! || order.get(b)! - order.get(a)!;
  while (ready.length > 0) {
    const urn = ready.pop()!;
    const deps = depsOf.get(urn)!;
    const last = deps.reduce<string | undefined>(
      (best, dep) => (best === undefined || later(dep, best) > 0 ? dep : best),
      undefined,
    );
    const s = last === undefined ? 0 : end.get(last)!;
    start.set(urn, s);
    end.set(urn, s + seconds.get(urn)!);
    via.set(urn, last);
    for (const next of dependents.get(urn) ?? []) {
      const left = waiting.get(next)! - 1;
      waiting.set(next, left);
      if (left === 0) ready.push(next);
    }
  }
  if (end.size < resources.length) throw new Error(cycleMessage(resources, depsOf, end));

  if (resources.length === 0) return { seconds: 0, path: [], unknownTypes: [] };
  let tail = resources[0]!.urn;
  for (const r of resources) if (later(r.urn, tail) > 0) tail = r.urn;
  const path: PathStep[] = [];
  for (let urn: string | undefined = tail; urn !== undefined; urn = via.get(urn)) {
    const r = byUrn.get(urn)!;
    path.push({ name: r.name, type: r.type, start: start.get(urn)!, end: end.get(urn)! });
  }
  path.reverse();
  return { seconds: end.get(tail)!, path, unknownTypes: [...unknownTypes].sort() };
}

/** Names one cycle among the resources Kahn's algorithm could not time. */
function cycleMessage(
  resources: readonly GraphResource[],
  depsOf: ReadonlyMap<string, string[]>,
  timed: ReadonlyMap<string, number>,
): string {
  const nameOf = new Map(resources.map((r) => [r.urn, r.name]));
  // Every untimed resource waits on an untimed dependency: walk those until one repeats.
  const seen: string[] = [];
  let urn = resources.find((r) => !timed.has(r.urn))!.urn;
  while (!seen.includes(urn)) {
    seen.push(urn);
    urn = depsOf.get(urn)!.find((dep) => !timed.has(dep))!;
  }
  const cycle = [...seen.slice(seen.indexOf(urn)), urn].reverse();
  return `the creation graph has a dependency cycle: ${cycle.map((u) => nameOf.get(u)).join(" -> ")}`;
}

/** True when a resource whose type starts with `typePrefix` is on the critical path. */
export function onPath(result: CriticalPath, typePrefix: string): boolean {
  return result.path.some((step) => step.type.startsWith(typePrefix));
}

/** Seconds as `m:ss`. */
export function clock(seconds: number): string {
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** Seconds as `N min S s`. */
export function minutes(seconds: number): string {
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** A short label for a type token: `aws:ec2/vpc:Vpc` -> `vpc`, `command:remote:Command` -> `command`. */
export function shortType(type: string): string {
  const last = type.split(":").pop() ?? type;
  return last.charAt(0).toLowerCase() + last.slice(1);
}

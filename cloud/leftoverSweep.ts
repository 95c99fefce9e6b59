/**
 * The destroy sweep: what Kubernetes made in AWS and did not remove before the cluster went.
 *
 * The cloud controller manager makes a load balancer (with its target groups, security group and
 * network interfaces) for each `LoadBalancer` Service; the EBS CSI driver makes a volume for each
 * claim. A destroy first deletes those Services and claims from the bastion so the controllers
 * tidy up (guest/release-cloud-resources.sh). Whatever is still there once the nodes are gone is
 * removed here, found by the cluster tag `kubernetes.io/cluster/<name>: owned`, never touching
 * what Pulumi manages (tagged `managed-by: pulumi`): load balancers, then target groups, then the
 * load balancers' network interfaces (waited for: ELB removes its own), then security groups
 * (after revoking the rules other groups hold on them), then volumes. Otherwise the VPC's delete
 * fails on their dependencies (kubernetes-sigs/cluster-api-provider-aws#3478, #3810).
 *
 * Pure logic over the `SweepApi` port, so behaviour tests drive it with a fake; cloud/awsSweepApi.ts
 * is the AWS SDK behind it and cloud/sweepCli.ts the command the destroy runs.
 */

export interface Tagged {
  readonly id: string;
  readonly tags: Readonly<Record<string, string>>;
}

export interface LoadBalancer extends Tagged {
  /** v2: network or application load balancers (id = ARN); classic: id = its name. */
  readonly kind: "v2" | "classic";
  readonly vpcId?: string;
}

export interface NetworkInterface extends Tagged {
  readonly status: string;
  readonly description: string;
}

export interface SecurityGroup extends Tagged {
  readonly name: string;
  /** Ids of the groups this group's rules name as a source or destination. */
  readonly references: readonly string[];
}

export interface Volume extends Tagged {
  readonly state: string;
}

/** What the sweep asks of AWS, scoped to one region (and VPC where it says so). */
export interface SweepApi {
  loadBalancers(vpcId: string): Promise<LoadBalancer[]>;
  deleteLoadBalancer(lb: LoadBalancer): Promise<void>;
  targetGroups(vpcId: string): Promise<Tagged[]>;
  deleteTargetGroup(id: string): Promise<void>;
  networkInterfaces(vpcId: string): Promise<NetworkInterface[]>;
  deleteNetworkInterface(id: string): Promise<void>;
  securityGroups(vpcId: string): Promise<SecurityGroup[]>;
  /** Removes every rule of `groupId` that names `referencedId`. */
  revokeReferences(groupId: string, referencedId: string): Promise<void>;
  deleteSecurityGroup(id: string): Promise<void>;
  /** Volumes carrying the cluster tag key (the CSI driver's volumes, and Pulumi's root volumes). */
  volumes(clusterTagKey: string): Promise<Volume[]>;
  deleteVolume(id: string): Promise<void>;
}

export interface SweepOptions {
  readonly clusterName: string;
  readonly vpcId: string;
  /** Bound on the waits for AWS to let go of interfaces and volumes. */
  readonly timeoutSeconds: number;
  readonly pollSeconds?: number;
  readonly log?: (line: string) => void;
  /** For tests: the clock and the pause between polls. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

export interface SweepReport {
  readonly deleted: string[];
  /** What could not be removed within the bound; the destroy stops with these. */
  readonly remaining: string[];
}

/** Made by Kubernetes for this cluster: the cluster tag, and not Pulumi's. */
export function madeByKubernetes(tags: Readonly<Record<string, string>>, clusterName: string) {
  const value = tags[`kubernetes.io/cluster/${clusterName}`];
  return (value === "owned" || value === "shared") && tags["managed-by"] !== "pulumi";
}

/** An interface a load balancer owns: ELB names them "ELB <type>/<name>/<id>" or "ELB <name>". */
const isLoadBalancerInterface = (eni: NetworkInterface) => eni.description.startsWith("ELB ");

export async function sweepLeftovers(api: SweepApi, o: SweepOptions): Promise<SweepReport> {
  const log = o.log ?? (() => undefined);
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = o.now ?? Date.now;
  const pollMs = (o.pollSeconds ?? 10) * 1000;
  const deadline = now() + o.timeoutSeconds * 1000;
  const ours = (r: Tagged) => madeByKubernetes(r.tags, o.clusterName);
  const deleted: string[] = [];
  const remove = async (what: string, action: () => Promise<void>) => {
    log(`deleting ${what}`);
    await action();
    deleted.push(what);
  };

  /** Polls `pending` until it returns nothing or the bound is reached; returns what is left. */
  const waitUntilGone = async <T>(what: string, pending: () => Promise<T[]>): Promise<T[]> => {
    let left = await pending();
    while (left.length > 0 && now() < deadline) {
      log(`waiting for ${left.length} ${what} to go`);
      await sleep(pollMs);
      left = await pending();
    }
    return left;
  };

  for (const lb of (await api.loadBalancers(o.vpcId)).filter(ours)) {
    await remove(`load balancer ${lb.id}`, () => api.deleteLoadBalancer(lb));
  }
  for (const tg of (await api.targetGroups(o.vpcId)).filter(ours)) {
    await remove(`target group ${tg.id}`, () => api.deleteTargetGroup(tg.id));
  }

  // A deleted load balancer's interfaces go by themselves, some minutes later; one left
  // detached and ours is deleted. They hold the security groups and the subnets.
  const interfaces = async () =>
    (await api.networkInterfaces(o.vpcId)).filter((e) => isLoadBalancerInterface(e) || ours(e));
  for (const eni of (await interfaces()).filter((e) => e.status === "available" && ours(e))) {
    await remove(`network interface ${eni.id}`, () => api.deleteNetworkInterface(eni.id));
  }
  const stuckInterfaces = await waitUntilGone("load balancer network interfaces", interfaces);

  const groups = await api.securityGroups(o.vpcId);
  for (const sg of groups.filter(ours)) {
    for (const holder of groups.filter((g) => g.id !== sg.id && g.references.includes(sg.id))) {
      log(`revoking the rules of ${holder.id} that name ${sg.id}`);
      await api.revokeReferences(holder.id, sg.id);
    }
  }
  const stuckGroups: string[] = [];
  for (const sg of groups.filter(ours)) {
    try {
      await remove(`security group ${sg.id} (${sg.name})`, () => api.deleteSecurityGroup(sg.id));
    } catch (err) {
      stuckGroups.push(`security group ${sg.id} (${sg.name}): ${(err as Error).message}`);
    }
  }

  const clusterTagKey = `kubernetes.io/cluster/${o.clusterName}`;
  const volumes = async () => (await api.volumes(clusterTagKey)).filter(ours);
  const settled = (v: Volume) => ["available", "deleting", "deleted"].includes(v.state);
  // An attached one detaches once its instance is gone; then it is deleted like the rest.
  const stuckVolumes = await waitUntilGone("attached volumes", async () =>
    (await volumes()).filter((v) => !settled(v)),
  );
  for (const v of (await volumes()).filter((v) => v.state === "available")) {
    await remove(`volume ${v.id}`, () => api.deleteVolume(v.id));
  }

  const remaining = [
    ...stuckInterfaces.map((e) => `network interface ${e.id} (${e.description}, ${e.status})`),
    ...stuckGroups,
    ...stuckVolumes
      .filter((v) => v.state !== "available")
      .map((v) => `volume ${v.id} (${v.state})`),
  ];
  return { deleted, remaining };
}

/**
 * The destroy sweep against a fake AWS (an in-memory account that behaves as AWS does where it
 * matters: a load balancer's interfaces go some polls after it, a group held by another group's
 * rule or an interface cannot be deleted, an attached volume cannot be deleted).
 */
import {
  LoadBalancer,
  NetworkInterface,
  SecurityGroup,
  SweepApi,
  sweepLeftovers,
  Volume,
} from "../../cloud/leftoverSweep";

const CLUSTER = "demo";
const VPC = "vpc-0abc";
const OWNED = { "kubernetes.io/cluster/demo": "owned" };
const PULUMI = { "kubernetes.io/cluster/demo": "owned", "managed-by": "pulumi" };

/** An account with some resources; records every call. */
class FakeAws implements SweepApi {
  calls: string[] = [];
  lbs: LoadBalancer[] = [];
  tgs: { id: string; tags: Record<string, string> }[] = [];
  enis: (NetworkInterface & { goesAfterPolls?: number })[] = [];
  groups: SecurityGroup[] = [];
  vols: (Volume & { detachesAfterPolls?: number })[] = [];
  polls = 0;

  async loadBalancers(vpcId: string) {
    this.calls.push(`list lbs ${vpcId}`);
    return this.lbs;
  }
  async deleteLoadBalancer(lb: LoadBalancer) {
    this.calls.push(`delete lb ${lb.id}`);
    this.lbs = this.lbs.filter((l) => l.id !== lb.id);
  }
  async targetGroups() {
    return this.tgs;
  }
  async deleteTargetGroup(id: string) {
    this.calls.push(`delete tg ${id}`);
    if (this.lbs.some((l) => l.tags["uses"] === id)) throw new Error("ResourceInUse");
    this.tgs = this.tgs.filter((t) => t.id !== id);
  }
  async networkInterfaces() {
    this.polls++;
    this.enis = this.enis.filter((e) => (e.goesAfterPolls ?? Infinity) > this.polls);
    return this.enis;
  }
  async deleteNetworkInterface(id: string) {
    this.calls.push(`delete eni ${id}`);
    this.enis = this.enis.filter((e) => e.id !== id);
  }
  async securityGroups() {
    return this.groups;
  }
  async revokeReferences(groupId: string, referencedId: string) {
    this.calls.push(`revoke ${groupId} -> ${referencedId}`);
    this.groups = this.groups.map((g) =>
      g.id === groupId ? { ...g, references: g.references.filter((r) => r !== referencedId) } : g,
    );
  }
  async deleteSecurityGroup(id: string) {
    this.calls.push(`delete sg ${id}`);
    if (this.groups.some((g) => g.references.includes(id))) throw new Error("DependencyViolation");
    if (this.enis.length > 0) throw new Error("DependencyViolation: an interface uses it");
    this.groups = this.groups.filter((g) => g.id !== id);
  }
  async volumes() {
    this.vols = this.vols.map((v) =>
      v.state === "in-use" && this.polls >= (v.detachesAfterPolls ?? Infinity)
        ? { ...v, state: "available" }
        : v,
    );
    this.polls++;
    return this.vols;
  }
  async deleteVolume(id: string) {
    this.calls.push(`delete volume ${id}`);
    const v = this.vols.find((x) => x.id === id);
    if (v?.state !== "available") throw new Error("VolumeInUse");
    this.vols = this.vols.filter((x) => x.id !== id);
  }
}

/** A clock that moves only when the sweep sleeps. */
function clock() {
  let t = 0;
  return { now: () => t, sleep: async (ms: number) => void (t += ms), elapsed: () => t };
}

test("a sweep with nothing to do deletes nothing, waits for nothing, and is quick", async () => {
  const aws = new FakeAws();
  aws.groups = [{ id: "sg-nodes", name: "demo-nodes", tags: PULUMI, references: [] }];
  aws.vols = [{ id: "vol-root", state: "in-use", tags: PULUMI }];
  const c = clock();
  const started = Date.now();
  const report = await sweepLeftovers(aws, {
    clusterName: CLUSTER,
    vpcId: VPC,
    timeoutSeconds: 600,
    ...c,
  });
  expect(report).toEqual({ deleted: [], remaining: [] });
  expect(c.elapsed()).toBe(0);
  expect(Date.now() - started).toBeLessThan(100);
  expect(aws.calls.filter((x) => x.startsWith("delete"))).toEqual([]);
});

test("what the controllers left is deleted in an order AWS accepts, Pulumi's own untouched", async () => {
  const aws = new FakeAws();
  aws.lbs = [
    { kind: "v2", id: "arn:lb/net/k8s-web", tags: { ...OWNED, uses: "arn:tg/k8s-web" } },
    { kind: "classic", id: "a1b2c3", tags: OWNED },
    { kind: "v2", id: "arn:lb/net/demo-api", tags: PULUMI },
    { kind: "v2", id: "arn:lb/net/other", tags: { "kubernetes.io/cluster/other": "owned" } },
  ];
  aws.tgs = [
    { id: "arn:tg/k8s-web", tags: OWNED },
    { id: "arn:tg/demo-api", tags: PULUMI },
  ];
  // The NLB's interface goes by itself two polls after the NLB; one detached one is ours.
  aws.enis = [
    {
      id: "eni-lb",
      status: "in-use",
      description: "ELB net/k8s-web/50dc6c49",
      tags: {},
      goesAfterPolls: 3,
    },
    { id: "eni-left", status: "available", description: "", tags: OWNED },
    { id: "eni-node", status: "in-use", description: "", tags: PULUMI },
  ].filter((e) => e.id !== "eni-node");
  aws.groups = [
    { id: "sg-nodes", name: "demo-nodes", tags: PULUMI, references: ["sg-elb"] },
    { id: "sg-elb", name: "k8s-elb-a1b2c3", tags: OWNED, references: [] },
  ];
  aws.vols = [
    { id: "vol-pvc", state: "available", tags: OWNED },
    { id: "vol-attached", state: "in-use", tags: OWNED, detachesAfterPolls: 6 },
    { id: "vol-root", state: "in-use", tags: PULUMI },
  ];
  const c = clock();
  const report = await sweepLeftovers(aws, {
    clusterName: CLUSTER,
    vpcId: VPC,
    timeoutSeconds: 600,
    ...c,
  });
  expect(report.remaining).toEqual([]);
  const deletes = aws.calls.filter((x) => /^(delete|revoke)/.test(x));
  expect(deletes).toEqual([
    "delete lb arn:lb/net/k8s-web",
    "delete lb a1b2c3",
    "delete tg arn:tg/k8s-web",
    "delete eni eni-left",
    "revoke sg-nodes -> sg-elb",
    "delete sg sg-elb",
    "delete volume vol-pvc",
    "delete volume vol-attached",
  ]);
  // It waited for the load balancer's interface and the attached volume, nothing longer.
  expect(c.elapsed()).toBeGreaterThan(0);
  expect(c.elapsed()).toBeLessThan(120_000);
  expect(aws.lbs.map((l) => l.id)).toEqual(["arn:lb/net/demo-api", "arn:lb/net/other"]);
  expect(aws.groups.map((g) => g.id)).toEqual(["sg-nodes"]);
  expect(aws.vols.map((v) => v.id)).toEqual(["vol-root"]);
});

test("what AWS does not release within the bound is reported, not waited for forever", async () => {
  const aws = new FakeAws();
  aws.enis = [{ id: "eni-stuck", status: "in-use", description: "ELB net/k8s-web/1", tags: {} }];
  aws.groups = [{ id: "sg-elb", name: "k8s-elb-x", tags: OWNED, references: [] }];
  aws.vols = [{ id: "vol-stuck", state: "in-use", tags: OWNED }];
  const c = clock();
  const report = await sweepLeftovers(aws, {
    clusterName: CLUSTER,
    vpcId: VPC,
    timeoutSeconds: 60,
    ...c,
  });
  expect(report.remaining).toEqual([
    "network interface eni-stuck (ELB net/k8s-web/1, in-use)",
    "security group sg-elb (k8s-elb-x): DependencyViolation: an interface uses it",
    "volume vol-stuck (in-use)",
  ]);
  expect(c.elapsed()).toBeLessThanOrEqual(70_000);
});

test("the sweep command refuses to run without its cluster, region and VPC", async () => {
  const { main } = await import("../../cloud/sweepCli");
  const errors: string[] = [];
  const spy = jest.spyOn(console, "error").mockImplementation((m: string) => void errors.push(m));
  try {
    expect(await main(["--cluster", "demo"])).toBe(2);
  } finally {
    spy.mockRestore();
  }
  expect(errors).toEqual(["sweep: missing --region, --vpc"]);
});

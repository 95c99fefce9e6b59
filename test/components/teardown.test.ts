/**
 * Teardown under mocks, for 3 + 3 in the private topology: the delete order the engine derives from the recorded
 * dependency graph (test/support/engineGraph.ts) never cuts an SSH step's path, a whole-cluster
 * destroy runs no remote command at all, and a scale-down still drains the leaving node.
 */
import {
  Harness,
  installMocks,
  RecordedResource,
  settle,
  MOCK_CLUSTER_OPTIONS,
} from "../../tools/mockCloud";
import { EngineGraph } from "../support/engineGraph";

let h: Harness;
let graph: EngineGraph;
const NAME = "td";

/** What an SSH step's path and work rely on: gateway, route, associations, every rule. */
const PATH_TYPES = new Set([
  "aws:ec2/internetGateway:InternetGateway",
  "aws:ec2/eipAssociation:EipAssociation",
  "aws:ec2/natGateway:NatGateway",
  "aws:ec2/route:Route",
  "aws:ec2/routeTableAssociation:RouteTableAssociation",
  "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
]);

const commands = () => h.resources.filter((r) => r.type === "command:remote:Command");
/** The path every step shares: the network's, and the bastion every step goes through. */
const pathResources = () =>
  h.resources.filter(
    (r) =>
      PATH_TYPES.has(r.type) ||
      (r.type === "aws:ec2/instance:Instance" && r.name.endsWith("-bastion")),
  );
const instanceOf = (node: string) => h.byName(`${NAME}-nodes-${node}`);

/** The instance a command's SSH connection goes to: a node's private address, or the bastion. */
function hostOf(command: RecordedResource): RecordedResource {
  const host = command.inputs.connection.host;
  const bastionIp = h.find("aws:ec2/eip:Eip", `${NAME}-bastion`).outputs.publicIp;
  if (host === bastionIp) return h.find("aws:ec2/instance:Instance", `${NAME}-bastion`);
  const found = h.resources.filter(
    (r) => r.type === "aws:ec2/instance:Instance" && r.outputs.privateIp === host,
  );
  expect(found).toHaveLength(1);
  return found[0]!;
}

beforeAll(async () => {
  h = await installMocks();
  const lib = await import("../../components");
  const config = lib.validateClusterConfig({
    clusterName: NAME,
    sshIngressCidrs: ["203.0.113.10/32"],
    nodePortIngressCidrs: ["198.51.100.0/24"],
    controlPlane: { count: 3 },
    workers: { count: 3 },
    availabilityZoneCount: 3,
    // The private topology has the longest path: bastion, edge routes, NAT gateways, private routes.
    topology: "private",
    natGateways: "perZone",
  });
  const cluster = await lib.createKubeadmCluster(config, MOCK_CLUSTER_OPTIONS);
  await settle(cluster.kubeconfig, cluster.nodes);
  graph = new EngineGraph(h.resources);
});

describe("pulumi destroy", () => {
  test("deletes every SSH step before any gateway, route or rule it needs", () => {
    const batch = graph.deleteBatch();
    expect(pathResources().length).toBeGreaterThan(10);
    expect(commands().length).toBe(36);
    const late = commands().flatMap((c) =>
      pathResources()
        .filter((p) => batch.get(c.urn)! >= batch.get(p.urn)!)
        .map((p) => `${c.name} (batch ${batch.get(c.urn)}) not before ${p.name}`),
    );
    expect(late).toEqual([]);
  });

  test("keeps a step's whole path when its delete fails: every path resource is a dependency", () => {
    // The executor holds back the transitive dependencies of a failed delete, so a retry finds
    // port 22, the route and the gateway still there.
    const missing = commands().flatMap((c) => {
      const deps = graph.transitiveDependencies(c);
      return pathResources()
        .filter((p) => !deps.has(p.urn))
        .map((p) => `${c.name} lacks ${p.name}`);
    });
    expect(missing).toEqual([]);
  });

  const members = () => commands().filter((c) => c.name.endsWith("-member"));

  test("runs one remote command, the release of what Kubernetes made in AWS; every node removal is skipped", () => {
    const all = new Set(h.resources.map((r) => r.urn));
    const withDelete = commands().filter((c) => c.inputs.delete !== undefined);
    expect(withDelete.map((c) => c.name).sort()).toEqual(
      ["cp-0", "cp-1", "cp-2", "worker-0", "worker-1", "worker-2"]
        .map((n) => `${NAME}-${n}-member`)
        .concat(`${NAME}-release-cloud-resources`)
        .sort(),
    );
    expect(withDelete.filter((c) => graph.deleteRuns(c, all)).map((c) => c.name)).toEqual([
      `${NAME}-release-cloud-resources`,
    ]);
  });

  test("releases cloud resources first, while every node, the bastion and the controllers still run", () => {
    const batch = graph.deleteBatch();
    const release = h.byName(`${NAME}-release-cloud-resources`);
    const later = h.resources.filter(
      (r) =>
        r.type === "aws:ec2/instance:Instance" ||
        r.name.endsWith("-cloud-controller") ||
        r.name.endsWith("-ebs-csi") ||
        PATH_TYPES.has(r.type) ||
        r.type === "aws:lb/loadBalancer:LoadBalancer" ||
        r.type === "aws:iam/rolePolicy:RolePolicy",
    );
    expect(later.length).toBeGreaterThan(20);
    const early = later.filter((r) => batch.get(r.urn)! <= batch.get(release.urn)!);
    expect(early.map((r) => r.name)).toEqual([]);
  });

  test("sweeps what is left after the nodes and the bastion go, before the network does", () => {
    const batch = graph.deleteBatch();
    const sweep = h.find("command:local:Command", `${NAME}-aws-sweep`);
    expect(sweep.inputs.delete).toMatch(
      new RegExp(
        `^node -r ts-node/register/transpile-only cloud/sweepCli\\.ts --cluster ${NAME} --region us-east-1 --vpc td-net-vpc-id --timeout 600$`,
      ),
    );
    expect(sweep.inputs.create).toBeUndefined();
    const instances = h.byType("aws:ec2/instance:Instance");
    expect(instances.filter((i) => batch.get(i.urn)! >= batch.get(sweep.urn)!)).toEqual([]);
    // What the load balancers and volumes live in or hold on to (routes and rules need not wait).
    const network = h.resources.filter((r) =>
      [
        "aws:ec2/vpc:Vpc",
        "aws:ec2/subnet:Subnet",
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:ec2/internetGateway:InternetGateway",
      ].includes(r.type),
    );
    expect(network.length).toBeGreaterThan(10);
    expect(
      network.filter((n) => batch.get(n.urn)! <= batch.get(sweep.urn)!).map((n) => n.name),
    ).toEqual([]);
  });

  test("every removal step runs on the bastion and is deleted with the VPC, which only a destroy deletes", () => {
    const vpc = h.find("aws:ec2/vpc:Vpc", `${NAME}-net-vpc`);
    for (const c of members()) {
      expect(c.deletedWith).toBe(vpc.urn);
      expect(hostOf(c).name).toBe(`${NAME}-bastion`);
    }
  });
});

describe("replacing cp-0 (`pulumi up --replace` its instance)", () => {
  /** What a replacement of the instance condemns: the instance and what its id triggers. */
  const replaced = () => {
    const instance = instanceOf("cp-0");
    return new Set(
      h.resources
        .filter(
          (r) =>
            r.urn === instance.urn ||
            (Array.isArray(r.inputs.triggers) && r.inputs.triggers.includes(`${instance.name}-id`)),
        )
        .map((r) => r.urn),
    );
  };

  test("condemns cp-0's own steps, never init: the new cp-0 joins the cluster", () => {
    const names = commands()
      .filter((c) => replaced().has(c.urn))
      .map((c) => c.name)
      .sort();
    expect(names).toEqual(
      [
        "cp-0-join",
        "cp-0-member",
        "cp-0-prepare",
        "cp-0-timers",
        "cp-0-wait-ready",
        "cluster-ready",
        // It removes the old cp-0's etcd member first if that instance is dead.
        "etcd-prune",
      ]
        .map((n) => `${NAME}-${n}`)
        .sort(),
    );
  });

  test("the old cp-0's removal runs (its Node and etcd member go), from the bastion", () => {
    const member = h.byName(`${NAME}-cp-0-member`);
    expect(graph.deleteRuns(member, replaced())).toBe(true);
    expect(hostOf(member).name).toBe(`${NAME}-bastion`);
  });
});

describe("a scale-down (worker-2 and cp-2 leave, the rest stays)", () => {
  const leaving = () =>
    new Set(
      h.resources
        .filter((r) => /-(worker-2|cp-2)(-|$)/.test(r.name) && r.name.startsWith(`${NAME}-`))
        .map((r) => r.urn),
    );

  test("drains and removes each leaving node: its removal runs", () => {
    const condemned = leaving();
    for (const node of ["worker-2", "cp-2"]) {
      const member = h.byName(`${NAME}-${node}-member`);
      expect(condemned.has(member.urn)).toBe(true);
      expect(graph.deleteRuns(member, condemned)).toBe(true);
    }
  });

  test("removes a node from the cluster before its instance goes", () => {
    const batch = graph.deleteBatch(leaving());
    for (const node of ["worker-2", "cp-2"]) {
      expect(batch.get(h.byName(`${NAME}-${node}-member`).urn)!).toBeLessThan(
        batch.get(instanceOf(node).urn)!,
      );
    }
  });

  test("touches no path resource: those stay for the next steps", () => {
    const condemned = leaving();
    expect(pathResources().filter((p) => condemned.has(p.urn))).toEqual([]);
  });
});

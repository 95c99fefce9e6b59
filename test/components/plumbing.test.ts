/**
 * The private plumbing under mocks, for 3 + 3 and 3 + 64 nodes and both topologies: rules that
 * never grow with the nodes, every SSH step through the bastion to a private address, an init
 * that waits for no load balancer or DNS record, and the fixed name in every kubeadm document.
 */
import { parse } from "yaml";
import type { ClusterConfigInput } from "../../config/clusterConfig";
import {
  Harness,
  installMocks,
  MOCK_CLUSTER_OPTIONS,
  RecordedResource,
  settle,
  valueOf,
} from "../../tools/mockCloud";
import { bundleEntries } from "../support/bundles";
import { EngineGraph } from "../support/engineGraph";

let h: Harness;
let lib: typeof import("../../components");

async function build(name: string, input: ClusterConfigInput) {
  const config = lib.validateClusterConfig({
    clusterName: name,
    sshIngressCidrs: ["203.0.113.10/32"],
    controlPlane: { count: 3 },
    availabilityZoneCount: 3,
    ...input,
  });
  const cluster = await lib.createKubeadmCluster(config, MOCK_CLUSTER_OPTIONS);
  await settle(cluster.kubeconfig, cluster.nodes);
  const mine = h.resources.filter((r) => r.name.startsWith(`${name}-`));
  const of = (type: string) => mine.filter((r) => r.type === type);
  const artifacts = await Promise.all(
    [...cluster.bootstrapArtifacts].map(async ([rel, out]) => [rel, await valueOf(out)] as const),
  );
  return { cluster, mine, of, artifacts, kubeconfig: await valueOf(cluster.kubeconfig) };
}

type Built = Awaited<ReturnType<typeof build>>;
const built = new Map<string, Built>();
const RULE_TYPES = [
  "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
];

beforeAll(async () => {
  h = await installMocks();
  lib = await import("../../components");
  built.set("small", await build("small", { workers: { count: 3 } }));
  // Past the old per-node rules' cap of about 58 nodes (review-2026-12-day2), and a group size a
  // real cluster has; 3 + 200 costs four times the evaluation for the same assertion.
  built.set("large", await build("large", { workers: { count: 64 } }));
  built.set("priv", await build("priv", { workers: { count: 3 }, topology: "private" }));
  built.set(
    "pzn",
    await build("pzn", { workers: { count: 3 }, topology: "private", natGateways: "perZone" }),
  );
  built.set("nopub", await build("nopub", { workers: { count: 3 }, publicApi: false }));
}, 60_000);

const b = (name: string) => built.get(name)!;
const commands = (x: Built) => x.of("command:remote:Command");
const ruleCount = (x: Built) => RULE_TYPES.reduce((n, t) => n + x.of(t).length, 0);

describe("security-group rules", () => {
  test("are as many for 3 + 64 nodes as for 3 + 3: they reference groups, not nodes", () => {
    expect(ruleCount(b("small"))).toBeGreaterThan(10);
    expect(ruleCount(b("large"))).toBe(ruleCount(b("small")));
    expect(
      b("large")
        .of(RULE_TYPES[0]!)
        .filter(
          (r) => /\/32$/.test(r.inputs.cidrIpv4 ?? "") && r.inputs.cidrIpv4 !== "203.0.113.10/32",
        ),
    ).toEqual([]);
  });
});

describe.each(["small", "large", "priv"])("every remote step of %s", (name) => {
  test("connects to a node's private address through the bastion's Elastic IP, or to the bastion itself", async () => {
    const bastionIp = await valueOf(b(name).cluster.bastionIp);
    const bad = commands(b(name)).filter((c) =>
      c.inputs.connection.host === bastionIp
        ? c.inputs.connection.proxy !== undefined
        : !/^10\.0\./.test(c.inputs.connection.host) ||
          c.inputs.connection.proxy?.host !== bastionIp,
    );
    expect(commands(b(name)).length).toBeGreaterThan(20);
    expect(
      bad.map(
        (c) => `${c.name} -> ${c.inputs.connection.host} via ${c.inputs.connection.proxy?.host}`,
      ),
    ).toEqual([]);
  });

  test("depends on the bastion, so no step outlives its SSH hop on a destroy", () => {
    const graph = new EngineGraph(h.resources);
    const bastion = h.find("aws:ec2/instance:Instance", `${name}-bastion`);
    for (const c of commands(b(name)))
      expect(graph.transitiveDependencies(c).has(bastion.urn)).toBe(true);
  });
});

describe.each(["small", "large"])("kubeadm init of %s", (name) => {
  test("waits for no load balancer and no DNS record", () => {
    const graph = new EngineGraph(h.resources);
    const init = h.byName(`${name}-cp-0-init`);
    const waitsFor = [...graph.transitiveDependencies(init)].map((u) => graph.get(u).type);
    expect(waitsFor.filter((t) => t.startsWith("aws:lb/") || t.startsWith("aws:route53/"))).toEqual(
      [],
    );
  });

  test("and neither does a control-plane join; a worker's join does, created before and deleted after", () => {
    const graph = new EngineGraph(h.resources);
    const typesOf = (r: RecordedResource) =>
      [...graph.transitiveDependencies(r)].map((u) => graph.get(u).type);
    expect(
      typesOf(h.byName(`${name}-cp-2-join`)).filter(
        (t) => t.startsWith("aws:lb/") || t.startsWith("aws:route53/"),
      ),
    ).toEqual([]);
    expect(typesOf(h.byName(`${name}-worker-0-join`))).toEqual(
      expect.arrayContaining(["aws:route53/record:Record"]),
    );
  });
});

describe("the fixed API name", () => {
  test("is controlPlaneEndpoint and a SAN in every kubeadm document", () => {
    for (const name of ["small", "priv"]) {
      const docs = b(name).artifacts.filter(([rel]) => /kubeadm-(init|join)\.yaml$/.test(rel));
      expect(docs.length).toBe(7);
      for (const [rel, text] of docs) {
        const host = `api.${name}.k8s.internal`;
        if (rel.endsWith("init.yaml")) {
          const cluster = text
            .split("---\n")
            .map((d) => parse(d))
            .find((d) => d.kind === "ClusterConfiguration");
          expect(cluster.controlPlaneEndpoint).toBe(`${host}:6443`);
          expect(cluster.apiServer.certSANs).toContain(host);
        } else {
          // A join finds the API through the discovery file the program wrote for its node.
          expect(parse(text).discovery.file.kubeConfigPath).toBe("__DISCOVERY_FILE__");
          const node = rel.split("/")[0]!;
          const stdin = bundleEntries(h.byName(`${node}-join`).inputs.stdin);
          expect(parse(stdin["discovery.conf"]!).clusters[0].cluster.server).toBe(
            `https://${host}:6443`,
          );
        }
      }
    }
  });

  test("the exported kubeconfig names the public NLB, verifying the certificate against the fixed name", () => {
    const kubeconfig = parse(b("small").kubeconfig);
    expect(kubeconfig.clusters[0].cluster).toMatchObject({
      server: "https://small-api-0123456789abcdef.elb.us-east-1.amazonaws.com:6443",
      "tls-server-name": "api.small.k8s.internal",
    });
  });

  test("without publicApi there is no internet-facing NLB, and the kubeconfig names the private name", () => {
    expect(
      b("nopub")
        .of("aws:lb/loadBalancer:LoadBalancer")
        .map((l) => l.inputs.internal),
    ).toEqual([true]);
    expect(parse(b("nopub").kubeconfig).clusters[0].cluster.server).toBe(
      "https://api.nopub.k8s.internal:6443",
    );
    expect(parse(b("nopub").kubeconfig).clusters[0].cluster["tls-server-name"]).toBeUndefined();
    expect(
      b("nopub")
        .of("aws:ec2/securityGroup:SecurityGroup")
        .map((g) => g.name),
    ).not.toContain("nopub-net-apiPublic");
  });
});

describe("topology private", () => {
  const nodes = (x: Built) =>
    x.of("aws:ec2/instance:Instance").filter((i) => i.name.includes("-nodes-"));

  test("gives no node a public address, and puts the nodes in private subnets", () => {
    expect(nodes(b("priv")).map((i) => i.inputs.associatePublicIpAddress)).toEqual(
      Array(6).fill(false),
    );
    const subnets = b("priv").of("aws:ec2/subnet:Subnet");
    const nodeSubnets = subnets.filter((s) => s.name.includes("-nodes-"));
    expect(nodeSubnets.map((s) => s.inputs.mapPublicIpOnLaunch)).toEqual([false, false, false]);
    expect(
      subnets
        .filter((s) => s.name.includes("-edge-"))
        .map((s) => [s.inputs.cidrBlock, s.inputs.mapPublicIpOnLaunch]),
    ).toEqual([
      ["10.0.224.0/22", true],
      ["10.0.228.0/22", true],
      ["10.0.232.0/22", true],
    ]);
  });

  test("routes the node subnets to one NAT gateway (single) or to each zone's own (perZone)", () => {
    const natRoutes = (x: Built) =>
      x
        .of("aws:ec2/route:Route")
        .filter((r) => r.inputs.natGatewayId)
        .map((r) => r.inputs.natGatewayId);
    expect(natRoutes(b("priv"))).toEqual(["priv-net-nat-0-id"]);
    expect(natRoutes(b("pzn"))).toEqual([
      "pzn-net-nat-0-id",
      "pzn-net-nat-1-id",
      "pzn-net-nat-2-id",
    ]);
    const assoc = b("pzn")
      .of("aws:ec2/routeTableAssociation:RouteTableAssociation")
      .filter((a) => a.name.includes("-private-"));
    expect(assoc.map((a) => [a.inputs.subnetId, a.inputs.routeTableId])).toEqual([
      ["pzn-net-nodes-0-id", "pzn-net-private-0-id"],
      ["pzn-net-nodes-1-id", "pzn-net-private-1-id"],
      ["pzn-net-nodes-2-id", "pzn-net-private-2-id"],
    ]);
  });

  test("puts the bastion and the public NLB in the edge subnets, and is otherwise the same plan", () => {
    expect(h.find("aws:ec2/instance:Instance", "priv-bastion").inputs.subnetId).toBe(
      "priv-net-edge-0-id",
    );
    expect(h.find("aws:lb/loadBalancer:LoadBalancer", "priv-api").inputs.subnets).toEqual([
      "priv-net-edge-0-id",
      "priv-net-edge-1-id",
      "priv-net-edge-2-id",
    ]);
    const steps = (x: Built, prefix: string) =>
      commands(x)
        .map((c) => c.name.replace(prefix, ""))
        .sort();
    expect(steps(b("priv"), "priv-")).toEqual(steps(b("small"), "small-"));
  });
});

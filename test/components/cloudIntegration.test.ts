/**
 * The AWS integration under mocks, for 3 + 3 in both topologies (and once with cloudProvider
 * none): instance profiles and least-privilege policies, the tags the cloud controller manager
 * reads, the external cloud provider in every kubeadm document, the add-ons at their pins, and the
 * destroy's release and sweep ordered around what they need.
 */
import { parse } from "yaml";
import { UNSCOPED_DESCRIBE_ACTIONS } from "../../config/iamPolicies";
import { CLOUD_CONTROLLER_CHART, EBS_CSI_CHART } from "../../render/cloudAddons";
import { PINNED } from "../../render/versions";
import {
  Harness,
  installMocks,
  MOCK_CLUSTER_OPTIONS,
  RecordedResource,
  settle,
  valueOf,
} from "../../tools/mockCloud";
import { EngineGraph } from "../support/engineGraph";

let h: Harness;
let lib: typeof import("../../components");
const built = new Map<string, { resources: RecordedResource[]; artifacts: [string, string][] }>();

const TOPOLOGIES = [
  ["pub", { topology: "public" }],
  ["prv", { topology: "private" }],
  ["off", { cloudProvider: "none" }],
] as const;

beforeAll(async () => {
  h = await installMocks();
  lib = await import("../../components");
  for (const [name, input] of TOPOLOGIES) {
    const before = h.resources.length;
    const config = lib.validateClusterConfig({
      clusterName: name,
      sshIngressCidrs: ["203.0.113.10/32"],
      controlPlane: { count: 3 },
      workers: { count: 3 },
      availabilityZoneCount: 3,
      ...input,
    });
    const cluster = await lib.createKubeadmCluster(config, MOCK_CLUSTER_OPTIONS);
    await settle(cluster.kubeconfig, cluster.nodes);
    const artifacts: [string, string][] = [];
    for (const [rel, text] of cluster.bootstrapArtifacts)
      artifacts.push([rel, await valueOf(text)]);
    built.set(name, { resources: h.resources.slice(before), artifacts });
  }
});

const of = (name: string, type: string) =>
  built.get(name)!.resources.filter((r) => r.type === type);
const instances = (name: string) => of(name, "aws:ec2/instance:Instance");
/** The role policies of the AWS integration (the etcd backups' own is in etcdBackups.test.ts). */
const cloudPolicies = (name: string) =>
  of(name, "aws:iam/rolePolicy:RolePolicy").filter((p) => !p.name.endsWith("-etcd-backups-write"));

describe.each(["pub", "prv"])("cloudProvider aws, topology %s", (name) => {
  test("every instance has an instance profile: its role's", () => {
    const profiles = new Map(
      of(name, "aws:iam/instanceProfile:InstanceProfile").map((p) => [p.inputs.name, p]),
    );
    expect([...profiles.keys()].sort()).toEqual(
      [`${name}-bastion`, `${name}-controlPlane`, `${name}-workers`].sort(),
    );
    for (const i of instances(name)) {
      const role = i.name.endsWith("-bastion")
        ? "bastion"
        : i.name.includes("-cp-")
          ? "controlPlane"
          : "workers";
      expect({ instance: i.name, profile: i.inputs.iamInstanceProfile }).toEqual({
        instance: i.name,
        profile: `${name}-${role}`,
      });
    }
    for (const role of of(name, "aws:iam/role:Role")) {
      const trust = JSON.parse(role.inputs.assumeRolePolicy);
      expect(trust.Statement).toEqual([
        { Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" },
      ]);
    }
  });

  test("only the control planes have permissions, and every one is least-privilege", () => {
    const policies = cloudPolicies(name);
    expect(policies.map((p) => p.inputs.role)).toEqual([`${name}-controlPlane`]);
    expect(of(name, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")).toEqual([]);
    const doc = JSON.parse(policies[0]!.inputs.policy);
    expect(doc.Version).toBe("2012-10-17");
    const sids = new Set<string>();
    for (const st of doc.Statement) {
      expect(sids.has(st.Sid)).toBe(false);
      sids.add(st.Sid);
      expect(st.Effect).toBe("Allow");
      for (const action of st.Action) {
        expect(action).not.toContain("*");
        expect(action).toMatch(/^(ec2|elasticloadbalancing|autoscaling|iam):[A-Z][A-Za-z]+$/);
      }
      const resources: string[] = [st.Resource].flat();
      if (resources.includes("*")) {
        // Only describe calls, which take no resource-level permissions.
        expect(resources).toEqual(["*"]);
        for (const action of st.Action) {
          expect(UNSCOPED_DESCRIBE_ACTIONS).toContain(action);
          expect(action).toMatch(/:Describe/);
        }
      } else {
        for (const arn of resources) {
          // This account, and this region for everything regional.
          expect(arn).toMatch(
            /^arn:aws:(ec2|elasticloadbalancing):us-east-1:123456789012:|^arn:aws:iam::123456789012:role\/aws-service-role\/elasticloadbalancing\.amazonaws\.com\/\*$/,
          );
        }
      }
    }
    // Security groups are created only in the cluster's VPC.
    const create = doc.Statement.find(
      (s: { Sid: string }) => s.Sid === "CreateLoadBalancerSecurityGroups",
    );
    expect(create.Resource).toContain(`arn:aws:ec2:us-east-1:123456789012:vpc/${name}-net-vpc-id`);
    // Changes to existing groups and instances only on those tagged for this cluster.
    for (const sid of ["ClusterSecurityGroups", "ClusterInstances"]) {
      const st = doc.Statement.find((s: { Sid: string }) => s.Sid === sid);
      expect(st.Condition).toEqual({
        StringEquals: { [`aws:ResourceTag/kubernetes.io/cluster/${name}`]: "owned" },
      });
    }
  });

  test("IMDS hop limit 2 only on the control planes, where the EBS CSI controller runs", () => {
    for (const i of instances(name)) {
      expect({ i: i.name, hops: i.inputs.metadataOptions.httpPutResponseHopLimit }).toEqual({
        i: i.name,
        hops: i.name.includes("-nodes-cp-") ? 2 : 1,
      });
    }
  });

  test("every node and subnet carries the cluster tag, and each instance has exactly one tagged group", () => {
    const tag = `kubernetes.io/cluster/${name}`;
    const groups = new Map(
      of(name, "aws:ec2/securityGroup:SecurityGroup").map((g) => [`${g.name}-id`, g]),
    );
    for (const i of instances(name).filter((i) => i.name.includes("-nodes-"))) {
      expect(i.inputs.tags[tag]).toBe("owned");
      const tagged = (i.inputs.vpcSecurityGroupIds as string[]).filter(
        (id) => groups.get(id)?.inputs.tags[tag] === "owned",
      );
      expect({ i: i.name, tagged }).toEqual({ i: i.name, tagged: [`${name}-net-nodes-id`] });
    }
    const subnets = of(name, "aws:ec2/subnet:Subnet");
    for (const s of subnets) expect(s.inputs.tags[tag]).toBe("owned");
    const roles = (kind: string) =>
      subnets
        .filter((s) => s.name.includes(`-${kind}-`))
        .map((s) => [
          s.inputs.tags["kubernetes.io/role/elb"],
          s.inputs.tags["kubernetes.io/role/internal-elb"],
        ]);
    if (name === "pub") {
      expect(roles("nodes")).toEqual(Array(3).fill(["1", "1"]));
    } else {
      // Internet-facing load balancers in the edge subnets, internal ones beside the nodes.
      expect(roles("edge")).toEqual(Array(3).fill(["1", undefined]));
      expect(roles("nodes")).toEqual(Array(3).fill([undefined, "1"]));
    }
  });

  test("every kubeadm document runs the kubelet with the external cloud provider", () => {
    const docs = built
      .get(name)!
      .artifacts.filter(([rel]) => /kubeadm-(init|join)\.yaml$/.test(rel));
    expect(docs).toHaveLength(7);
    for (const [rel, text] of docs) {
      const registration = text
        .split("---\n")
        .map((d) => parse(d))
        .find(
          (d) => d.kind === "InitConfiguration" || d.kind === "JoinConfiguration",
        )!.nodeRegistration;
      expect({ rel, args: registration.kubeletExtraArgs }).toEqual({
        rel,
        args: expect.arrayContaining([{ name: "cloud-provider", value: "external" }]),
      });
    }
  });

  test("the cloud controller and the EBS CSI driver are installed at their pins, from the bastion", () => {
    const byName = (n: string) => built.get(name)!.resources.find((r) => r.name === n)!;
    const ccm = byName(`${name}-cloud-controller`).inputs.create as string;
    expect(ccm).toContain(`readonly CHART_URL=${CLOUD_CONTROLLER_CHART.url}`);
    expect(ccm).toContain(`readonly CHART_SHA256=${CLOUD_CONTROLLER_CHART.sha256}`);
    // Kubernetes 1.34 (the default): cloud-provider-aws v1.34.3.
    expect(ccm).toContain("tag: v1.34.3");
    expect(ccm).toContain("hostNetworking: true");
    expect(ccm).toContain("--configure-cloud-routes=false");
    const csi = byName(`${name}-ebs-csi`).inputs.create as string;
    expect(csi).toContain(`readonly CHART_URL=${EBS_CSI_CHART.url}`);
    expect(csi).toContain(`readonly CHART_SHA256=${EBS_CSI_CHART.sha256}`);
    expect(csi).toContain(`k8sTagClusterId: ${name}`);
    expect(csi).toContain("metadataSources: kubernetes");
    const values = parse(
      built.get(name)!.artifacts.find(([rel]) => rel === "aws-ebs-csi-driver.values.yaml")![1],
    );
    expect(values.storageClasses).toEqual([
      {
        name: "gp3",
        annotations: { "storageclass.kubernetes.io/is-default-class": "true" },
        volumeBindingMode: "WaitForFirstConsumer",
        allowVolumeExpansion: true,
        reclaimPolicy: "Delete",
        parameters: { type: "gp3", encrypted: "true" },
      },
    ]);
    expect([CLOUD_CONTROLLER_CHART.version, EBS_CSI_CHART.version]).toEqual([
      PINNED.awsCloudControllerChart,
      PINNED.awsEbsCsiChart,
    ]);
    const tools = byName(`${name}-bastion-tools`).inputs.create as string;
    expect(tools).toContain(`readonly HELM_VERSION=${PINNED.helm}`);
    for (const step of [`${name}-cloud-controller`, `${name}-ebs-csi`]) {
      expect(byName(step).inputs.connection.proxy).toBeUndefined();
    }
  });

  test("a destroy releases cloud resources before the nodes and controllers go, and sweeps before the network goes", () => {
    const graph = new EngineGraph(h.resources);
    const batch = graph.deleteBatch(built.get(name)!.resources.map((r) => r.urn));
    const at = (r: RecordedResource) => batch.get(r.urn)!;
    const release = built
      .get(name)!
      .resources.find((r) => r.name === `${name}-release-cloud-resources`)!;
    const sweep = of(name, "command:local:Command")[0]!;
    for (const i of instances(name)) {
      expect(at(i)).toBeGreaterThan(at(release));
      expect(at(i)).toBeLessThan(at(sweep));
    }
    for (const n of [
      ...of(name, "aws:ec2/vpc:Vpc"),
      ...of(name, "aws:ec2/subnet:Subnet"),
      ...of(name, "aws:ec2/internetGateway:InternetGateway"),
      ...of(name, "aws:ec2/securityGroup:SecurityGroup"),
    ]) {
      expect({ n: n.name, after: at(n) > at(sweep) }).toEqual({ n: n.name, after: true });
    }
  });

  test("the cluster is Ready only once the cloud controller has initialised every node", () => {
    const ready = built.get(name)!.resources.find((r) => r.name === `${name}-cluster-ready`)!;
    expect(ready.inputs.create).toContain("readonly CLOUD_INITIALISED=true");
  });
});

describe("cloudProvider none", () => {
  test("no permissions, no add-ons, no release or sweep, no external cloud provider", () => {
    expect(cloudPolicies("off")).toEqual([]);
    expect(of("off", "command:local:Command")).toEqual([]);
    const names = of("off", "command:remote:Command").map((c) => c.name);
    expect(names.filter((n) => /cloud-controller|ebs-csi|release-cloud/.test(n))).toEqual([]);
    const joins = built.get("off")!.artifacts.filter(([rel]) => rel.endsWith("kubeadm-join.yaml"));
    for (const [, text] of joins) expect(text).not.toContain("cloud-provider");
    for (const i of instances("off")) {
      expect(i.inputs.metadataOptions.httpPutResponseHopLimit).toBe(1);
      expect(i.inputs.iamInstanceProfile).toBeDefined();
    }
    const tools = of("off", "command:remote:Command").find((c) => c.name === "off-bastion-tools")!;
    expect(tools.inputs.create).toContain("readonly HELM_VERSION=''");
  });
});

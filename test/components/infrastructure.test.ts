/**
 * The AWS layer under Pulumi mocks, for the dev stack (1 + 1) and a 3 + 3 cluster:
 * resource types and counts, zone spread, every security-group rule, instance hardening,
 * the API load balancer's settings and the secret outputs.
 */
import * as pulumi from "@pulumi/pulumi";
import {
  Harness,
  installMocks,
  RecordedResource,
  settle,
  valueOf,
  MOCK_CLUSTER_OPTIONS,
} from "../../tools/mockCloud";

let h: Harness;
let lib: typeof import("../../components");

const SSH = "203.0.113.10/32";

async function build(name: string, input: Parameters<typeof lib.validateClusterConfig>[0]) {
  const config = lib.validateClusterConfig({ clusterName: name, sshIngressCidrs: [SSH], ...input });
  const cluster = await lib.createKubeadmCluster(config, MOCK_CLUSTER_OPTIONS);
  await settle(cluster.kubeconfig, cluster.nodes);
  const mine = (r: RecordedResource) => r.name.startsWith(`${name}-`) || r.name === name;
  const of = (type: string) => h.byType(type).filter(mine);
  return { cluster, of };
}

let dev: Awaited<ReturnType<typeof build>>;
let big: Awaited<ReturnType<typeof build>>;

beforeAll(async () => {
  h = await installMocks();
  lib = await import("../../components");
  dev = await build("dev", {});
  big = await build("big", {
    controlPlane: { count: 3 },
    workers: { count: 3 },
    availabilityZoneCount: 3,
    cni: "calico",
    nodePortIngressCidrs: ["198.51.100.0/24"],
  });
});

const count = (b: typeof dev, type: string) => b.of(type).length;

describe("resources", () => {
  test.each([
    ["aws:ec2/vpc:Vpc", 1, 1],
    ["aws:ec2/subnet:Subnet", 2, 3],
    ["aws:ec2/internetGateway:InternetGateway", 1, 1],
    ["aws:ec2/routeTable:RouteTable", 1, 1],
    ["aws:ec2/route:Route", 1, 1],
    ["aws:ec2/routeTableAssociation:RouteTableAssociation", 2, 3],
    ["aws:ec2/securityGroup:SecurityGroup", 5, 5],
    // The nodes plus the bastion.
    ["aws:ec2/instance:Instance", 3, 7],
    ["aws:ec2/eip:Eip", 1, 1],
    ["aws:ec2/eipAssociation:EipAssociation", 1, 1],
    ["aws:ec2/natGateway:NatGateway", 0, 0],
    ["aws:ec2/keyPair:KeyPair", 1, 1],
    // Internal and internet-facing.
    ["aws:lb/loadBalancer:LoadBalancer", 2, 2],
    ["aws:lb/targetGroup:TargetGroup", 2, 2],
    ["aws:lb/listener:Listener", 2, 2],
    ["aws:lb/targetGroupAttachment:TargetGroupAttachment", 2, 6],
    ["aws:route53/zone:Zone", 1, 1],
    ["aws:route53/record:Record", 1, 1],
    // SSH, three CAs, service accounts; the admin, the program; one join credential per node.
    ["tls:index/privateKey:PrivateKey", 5 + 2 + 2, 5 + 2 + 6],
    ["tls:index/selfSignedCert:SelfSignedCert", 3, 3],
    ["tls:index/certRequest:CertRequest", 2 + 2, 2 + 6],
    ["tls:index/locallySignedCert:LocallySignedCert", 2 + 2, 2 + 6],
  ])("%s: %i in dev, %i in 3 + 3", (type, devCount, bigCount) => {
    expect(count(dev, type)).toBe(devCount);
    expect(count(big, type)).toBe(bigCount);
  });

  test("the VPC resolves EC2 private DNS names (they are the node names)", () => {
    expect(dev.of("aws:ec2/vpc:Vpc")[0]!.inputs).toMatchObject({
      cidrBlock: "10.0.0.0/16",
      enableDnsHostnames: true,
      enableDnsSupport: true,
    });
  });

  test("subnets are public, one per zone, in the zone's fixed slot of the VPC", () => {
    const subnets = big.of("aws:ec2/subnet:Subnet").map((s) => s.inputs);
    expect(subnets.map((s) => [s.availabilityZone, s.cidrBlock])).toEqual([
      ["us-east-1a", "10.0.0.0/19"],
      ["us-east-1b", "10.0.32.0/19"],
      ["us-east-1c", "10.0.64.0/19"],
    ]);
    expect(subnets.every((s) => s.mapPublicIpOnLaunch === true)).toBe(true);
  });

  test("the default route goes to the internet gateway", () => {
    expect(dev.of("aws:ec2/route:Route")[0]!.inputs).toMatchObject({
      destinationCidrBlock: "0.0.0.0/0",
      gatewayId: "dev-net-igw-id",
    });
  });
});

describe("instances", () => {
  test("three control planes land in three different zones, and so do three workers", () => {
    const zones = Object.fromEntries(
      big
        .of("aws:ec2/instance:Instance")
        .filter((i) => i.name.startsWith("big-nodes-"))
        .map((i) => [i.name, i.inputs.availabilityZone]),
    );
    expect(zones).toEqual({
      "big-nodes-cp-0": "us-east-1a",
      "big-nodes-cp-1": "us-east-1b",
      "big-nodes-cp-2": "us-east-1c",
      "big-nodes-worker-0": "us-east-1a",
      "big-nodes-worker-1": "us-east-1b",
      "big-nodes-worker-2": "us-east-1c",
    });
  });

  test("every instance requires IMDSv2 and has an encrypted gp3 root volume", () => {
    for (const i of [
      ...dev.of("aws:ec2/instance:Instance"),
      ...big.of("aws:ec2/instance:Instance"),
    ]) {
      // Two hops only for the control planes, where the EBS CSI controller runs in the pod
      // network with the instance's credentials (cloudProvider aws, the default).
      expect(i.inputs.metadataOptions).toEqual({
        httpEndpoint: "enabled",
        httpTokens: "required",
        httpPutResponseHopLimit: i.name.includes("-nodes-cp-") ? 2 : 1,
      });
      expect(i.inputs.rootBlockDevice).toMatchObject({
        volumeType: "gp3",
        encrypted: true,
        deleteOnTermination: true,
      });
    }
  });

  test("instances are tagged with the cluster and their role, and use the looked-up image", () => {
    const cp = big.of("aws:ec2/instance:Instance").find((i) => i.name === "big-nodes-cp-1")!;
    expect(cp.inputs.tags).toMatchObject({
      Name: "big-cp-1",
      "kubeadm-aws/cluster": "big",
      "kubeadm-aws/role": "control-plane",
    });
    expect(cp.inputs.ami).toBe("ami-0bbbbbbbbbbbbbbb2");
    expect(cp.inputs.rootBlockDevice.volumeSize).toBe(30);
  });

  test("nodes in the public topology get an address for egress only", () => {
    const nodes = dev
      .of("aws:ec2/instance:Instance")
      .filter((i) => i.name.startsWith("dev-nodes-"));
    expect(nodes.map((i) => i.inputs.associatePublicIpAddress)).toEqual([true, true]);
  });

  test("control planes carry the control-plane and node groups, workers only the node group", () => {
    const groups = Object.fromEntries(
      dev.of("aws:ec2/instance:Instance").map((i) => [i.name, i.inputs.vpcSecurityGroupIds]),
    );
    expect(groups["dev-nodes-cp-0"]).toEqual(["dev-net-nodes-id", "dev-net-controlPlane-id"]);
    expect(groups["dev-nodes-worker-0"]).toEqual(["dev-net-nodes-id"]);
  });

  test("the image is looked up per architecture (Graviton control plane, amd64 workers)", async () => {
    const before = h.invokes.length;
    const arm = await build("arm", { controlPlane: { instanceType: "t4g.medium" } });
    const amis = h.invokes.slice(before).filter((i) => i.token === "aws:ec2/getAmi:getAmi");
    expect(
      amis
        .map((a) => (a.args.filters as any[]).find((f) => f.name === "architecture").values[0])
        .sort(),
    ).toEqual(["arm64", "x86_64"]);
    expect(amis[0]!.args.owners).toEqual(["099720109477"]);
    const ami = Object.fromEntries(
      arm.of("aws:ec2/instance:Instance").map((i) => [i.name, i.inputs.ami]),
    );
    expect(ami).toEqual({
      "arm-nodes-cp-0": "ami-0aaaaaaaaaaaaaaa1",
      "arm-nodes-worker-0": "ami-0bbbbbbbbbbbbbbb2",
      // The bastion's t4g.micro is Graviton too.
      "arm-bastion": "ami-0aaaaaaaaaaaaaaa1",
    });
  });

  test("an explicit amiId is used for every node instead of the lookup by name", async () => {
    const before = h.invokes.length;
    const pinned = await build("pin", { amiId: "ami-0bbbbbbbbbbbbbbb2", workers: { count: 2 } });
    const lookups = h.invokes.slice(before).filter((i) => i.token === "aws:ec2/getAmi:getAmi");
    // The amiId itself (checked by preflight), then the bastion's own image by name.
    expect(lookups.map((l) => (l.args.filters as any[])[0].name)).toEqual(["image-id", "name"]);
    const nodes = pinned.of("aws:ec2/instance:Instance").filter((i) => i.name.includes("-nodes-"));
    expect(new Set(nodes.map((i) => i.inputs.ami))).toEqual(new Set(["ami-0bbbbbbbbbbbbbbb2"]));
  });

  test("Debian 12 uses Debian's image owner and the admin login", async () => {
    const before = h.invokes.length;
    const deb = await build("deb", { os: "debian-12" });
    const ami = h.invokes.slice(before).find((i) => i.token === "aws:ec2/getAmi:getAmi")!;
    expect(ami.args.owners).toEqual(["136693071363"]);
    expect((ami.args.filters as any[])[0].values).toEqual(["debian-12-amd64-*"]);
    expect(deb.cluster.sshUser).toBe("admin");
  });
});

describe("security groups", () => {
  /** Every ingress/egress rule as `group proto from-to source`. */
  function rules(b: typeof dev, prefix: string): string[] {
    const groupOf = (id: string) => id.replace(`${prefix}-net-`, "").replace(/-id$/, "");
    const describe = (r: RecordedResource, dir: string) => {
      const i = r.inputs;
      const peer = i.cidrIpv4 ?? `sg:${groupOf(i.referencedSecurityGroupId)}`;
      const ports = i.ipProtocol === "-1" ? "all" : `${i.fromPort}-${i.toPort}`;
      return `${dir} ${groupOf(i.securityGroupId)} ${i.ipProtocol} ${ports} ${peer}`;
    };
    return [
      ...b
        .of("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        .map((r) => describe(r, "in")),
      ...b
        .of("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
        .map((r) => describe(r, "out")),
    ].sort();
  }

  test("dev with Flannel opens exactly the kubeadm and Flannel ports, between groups", () => {
    expect(rules(dev, "dev")).toEqual(
      [
        `in bastion tcp 22-22 ${SSH}`,
        "in apiInternal tcp 6443-6443 sg:nodes",
        "in apiInternal tcp 6443-6443 sg:bastion",
        `in apiPublic tcp 6443-6443 ${SSH}`,
        "in controlPlane tcp 6443-6443 sg:apiInternal",
        "in controlPlane icmp 3-4 sg:apiInternal",
        "in controlPlane tcp 6443-6443 sg:apiPublic",
        "in controlPlane icmp 3-4 sg:apiPublic",
        "in controlPlane tcp 6443-6443 sg:bastion",
        "in controlPlane tcp 6443-6443 sg:nodes",
        "in controlPlane tcp 2379-2380 sg:controlPlane",
        "in nodes tcp 22-22 sg:bastion",
        "in nodes tcp 10250-10250 sg:nodes",
        "in nodes tcp 10256-10256 sg:nodes",
        "in nodes udp 8472-8472 sg:nodes",
        "out bastion tcp 22-22 sg:nodes",
        "out bastion tcp 6443-6443 sg:apiInternal",
        "out bastion tcp 6443-6443 sg:controlPlane",
        "out bastion tcp 80-80 0.0.0.0/0",
        "out bastion tcp 443-443 0.0.0.0/0",
        "out apiInternal tcp 6443-6443 sg:controlPlane",
        "out apiPublic tcp 6443-6443 sg:controlPlane",
        "out nodes -1 all 0.0.0.0/0",
      ].sort(),
    );
  });

  test("Calico opens VXLAN 4789 and Typha 5473 instead of Flannel's 8472; NodePorts only from their CIDRs", () => {
    const r = rules(big, "big");
    expect(r).toContain("in nodes udp 4789-4789 sg:nodes");
    expect(r).toContain("in nodes tcp 5473-5473 sg:nodes");
    expect(r).toContain("in nodes tcp 30000-32767 198.51.100.0/24");
    expect(r.filter((x) => x.includes("8472"))).toEqual([]);
    expect(r.filter((x) => x.includes("179"))).toEqual([]);
  });

  test("nothing is open to 0.0.0.0/0 inbound unless configured", () => {
    for (const b of [dev, big]) {
      const open = b
        .of("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        .filter((r) => r.inputs.cidrIpv4 === "0.0.0.0/0");
      expect(open).toEqual([]);
    }
  });

  test("etcd is reachable only from control-plane nodes", () => {
    const etcd = big
      .of("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
      .filter((r) => r.inputs.fromPort === 2379);
    expect(etcd).toHaveLength(1);
    expect(etcd[0]!.inputs).toMatchObject({
      securityGroupId: "big-net-controlPlane-id",
      referencedSecurityGroupId: "big-net-controlPlane-id",
      toPort: 2380,
    });
    expect(etcd[0]!.inputs.cidrIpv4).toBeUndefined();
  });

  test("SSH comes from the configured CIDRs to the bastion only, and to the nodes from the bastion only", () => {
    const ssh = big
      .of("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
      .filter((r) => r.inputs.fromPort === 22)
      .map((r) => [
        r.inputs.securityGroupId,
        r.inputs.cidrIpv4 ?? r.inputs.referencedSecurityGroupId,
      ]);
    expect(ssh).toEqual([
      ["big-net-bastion-id", SSH],
      ["big-net-nodes-id", "big-net-bastion-id"],
    ]);
  });
});

describe("API load balancers", () => {
  const lbs = () =>
    Object.fromEntries(big.of("aws:lb/loadBalancer:LoadBalancer").map((l) => [l.name, l.inputs]));

  test("an internal NLB in the node subnets, and an internet-facing one, each behind its own group", () => {
    expect(lbs()["big-api-int"]).toMatchObject({
      loadBalancerType: "network",
      internal: true,
      enableCrossZoneLoadBalancing: true,
      subnets: ["big-net-nodes-0-id", "big-net-nodes-1-id", "big-net-nodes-2-id"],
      securityGroups: ["big-net-apiInternal-id"],
    });
    expect(lbs()["big-api"]).toMatchObject({
      internal: false,
      subnets: ["big-net-nodes-0-id", "big-net-nodes-1-id", "big-net-nodes-2-id"],
      securityGroups: ["big-net-apiPublic-id"],
    });
  });

  test("the target groups forward 6443 with client-IP preservation off, an HTTPS /readyz check and connection termination", () => {
    for (const tg of dev.of("aws:lb/targetGroup:TargetGroup")) {
      expect(tg.inputs).toMatchObject({
        port: 6443,
        protocol: "TCP",
        targetType: "instance",
        preserveClientIp: "false",
        deregistrationDelay: 30,
        connectionTermination: true,
        healthCheck: {
          protocol: "HTTPS",
          path: "/readyz",
          port: "traffic-port",
          healthyThreshold: 2,
          unhealthyThreshold: 2,
        },
      });
    }
  });

  test("the listeners forward TCP 6443 to their target groups", () => {
    for (const l of dev.of("aws:lb/listener:Listener")) {
      expect(l.inputs).toMatchObject({
        port: 6443,
        protocol: "TCP",
        defaultActions: [{ type: "forward" }],
      });
    }
  });

  test("every control plane is behind both, no worker is", () => {
    const targets = big
      .of("aws:lb/targetGroupAttachment:TargetGroupAttachment")
      .map((a) => a.inputs.targetId);
    expect(targets.sort()).toEqual(
      ["big-nodes-cp-0-id", "big-nodes-cp-1-id", "big-nodes-cp-2-id"].flatMap((t) => [t, t]),
    );
  });

  test("the private zone is attached to the cluster's VPC and aliases the fixed name to the internal NLB", () => {
    expect(big.of("aws:route53/zone:Zone")[0]!.inputs).toMatchObject({
      name: "big.k8s.internal",
      vpcs: [{ vpcId: "big-net-vpc-id" }],
      forceDestroy: true,
    });
    expect(big.of("aws:route53/record:Record")[0]!.inputs).toMatchObject({
      name: "api.big.k8s.internal",
      type: "A",
      aliases: [
        {
          name: "internal-big-api-int-0123456789abcdef.elb.us-east-1.amazonaws.com",
          zoneId: "Z26RNL4JYFTOTI",
          evaluateTargetHealth: false,
        },
      ],
    });
  });
});

describe("the bastion", () => {
  const bastion = () => dev.of("aws:ec2/instance:Instance").find((i) => i.name === "dev-bastion")!;

  test("is a small Graviton instance in zone 0's public subnet, behind its own group, with IMDSv2 and an encrypted disk", () => {
    expect(bastion().inputs).toMatchObject({
      instanceType: "t4g.micro",
      subnetId: "dev-net-nodes-0-id",
      vpcSecurityGroupIds: ["dev-net-bastion-id"],
      associatePublicIpAddress: false,
      metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 1 },
      rootBlockDevice: { encrypted: true, volumeType: "gp3" },
    });
    expect(bastion().ignoreChanges).toEqual(["ami"]);
  });

  test("keeps one Elastic IP, associated with it", () => {
    expect(dev.of("aws:ec2/eipAssociation:EipAssociation")[0]!.inputs).toEqual({
      allocationId: "dev-bastion-id",
      instanceId: "dev-bastion-id",
    });
  });

  test("raises sshd's limits in its user data, which holds no secret", () => {
    const userData = bastion().inputs.userData as string;
    expect(userData).toContain("MaxStartups");
    expect(userData).not.toMatch(/PRIVATE KEY|c0ffee/);
  });
});

describe("outputs", () => {
  test("operators reach the API at the public NLB; inside the VPC it is the fixed private name", async () => {
    expect(await valueOf(dev.cluster.apiEndpoint)).toBe(
      "https://dev-api-0123456789abcdef.elb.us-east-1.amazonaws.com:6443",
    );
    expect(dev.cluster.privateApiEndpoint).toBe("https://api.dev.k8s.internal:6443");
    expect(await valueOf(dev.cluster.bastionIp)).toMatch(/^198\.51\.100\.\d+$/);
  });

  test("every node is exported with its name, role, zone and addresses", async () => {
    const nodes = await valueOf(big.cluster.nodes);
    expect(nodes).toHaveLength(6);
    expect(nodes[0]).toMatchObject({
      name: "big-cp-0",
      role: "control-plane",
      availabilityZone: "us-east-1a",
    });
    expect(nodes[0]!.publicIp).toMatch(/^203\.0\.113\.\d+$/);
    expect(nodes[0]!.nodeName).toBe(`ip-${nodes[0]!.privateIp.replace(/\./g, "-")}.ec2.internal`);
    expect(nodes[5]).toMatchObject({ name: "big-worker-2", role: "worker" });
  });

  test("the SSH private key and the kubeconfig are secrets", async () => {
    expect(await pulumi.isSecret(dev.cluster.sshPrivateKey)).toBe(true);
    expect(await pulumi.isSecret(dev.cluster.kubeconfig)).toBe(true);
    expect(dev.cluster.sshUser).toBe("ubuntu");
  });
});

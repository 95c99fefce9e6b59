import {
  checkClusterConfig,
  ClusterConfigInput,
  ConfigError,
  DEFAULTS,
  validateClusterConfig,
} from "../../config/clusterConfig";

const SSH = ["203.0.113.10/32"];

/** The problems a config produces, or [] when it is valid. */
function problemsOf(input: ClusterConfigInput): string[] {
  try {
    validateClusterConfig({ sshIngressCidrs: SSH, ...input });
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
}

function expectProblem(input: ClusterConfigInput, ...fragments: string[]): void {
  const problems = problemsOf(input);
  const match = problems.find((p) => fragments.every((f) => p.includes(f)));
  if (!match) {
    throw new Error(
      `expected a problem containing ${JSON.stringify(fragments)}, got ${JSON.stringify(problems)}`,
    );
  }
}

describe("defaults", () => {
  test("a config with only SSH CIDRs is a small, cheap dev cluster", () => {
    const c = validateClusterConfig({ sshIngressCidrs: SSH }, "dev");
    expect(c).toMatchObject({
      clusterName: "k8s-dev",
      kubernetesVersion: DEFAULTS.kubernetesVersion,
      containerRuntime: "containerd",
      cni: "flannel",
      os: "ubuntu-24.04",
      controlPlane: { count: 1, instanceType: "t3.medium", rootVolumeSizeGiB: 30 },
      workers: { count: 1, instanceType: "t3.medium", rootVolumeSizeGiB: 30 },
      vpcCidr: "10.0.0.0/16",
      availabilityZoneCount: 2,
      podCidr: "10.244.0.0/16",
      serviceCidr: "10.96.0.0/12",
      nodePortIngressCidrs: [],
    });
  });

  test("the API is reachable from the SSH CIDRs unless apiIngressCidrs is set", () => {
    expect(validateClusterConfig({ sshIngressCidrs: SSH }).apiIngressCidrs).toEqual(SSH);
    expect(
      validateClusterConfig({ sshIngressCidrs: SSH, apiIngressCidrs: ["198.51.100.0/24"] })
        .apiIngressCidrs,
    ).toEqual(["198.51.100.0/24"]);
  });

  test("the result is frozen, nested objects included", () => {
    const c = validateClusterConfig({ sshIngressCidrs: SSH });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.controlPlane)).toBe(true);
    expect(Object.isFrozen(c.sshIngressCidrs)).toBe(true);
  });

  test("partial node groups keep the defaults of the keys not given", () => {
    const c = validateClusterConfig({ sshIngressCidrs: SSH, workers: { count: 5 } });
    expect(c.workers).toEqual({ count: 5, instanceType: "t3.medium", rootVolumeSizeGiB: 30 });
  });
});

describe("the default cluster name", () => {
  test.each([
    ["dev", "k8s-dev"],
    ["production-east-blue", "k8s-production-east"],
    ["Team_A.staging", "k8s-team-a-staging"],
    ["a--b", "k8s-a-b"],
  ])("from the stack %s is the valid %s", (stack, name) => {
    expect(validateClusterConfig({ sshIngressCidrs: SSH }, stack).clusterName).toBe(name);
  });
});

describe("validation names the key, the value and what is allowed", () => {
  test("missing SSH CIDRs explain how to set them", () => {
    const problems = (() => {
      try {
        validateClusterConfig({});
        return [];
      } catch (e) {
        return (e as ConfigError).problems;
      }
    })();
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain("sshIngressCidrs is required");
    expect(problems[0]).toContain("pulumi config set --path 'sshIngressCidrs[0]'");
  });

  test.each([
    [{ containerRuntime: "docker" }, "containerRuntime", "containerd, cri-dockerd", '"docker"'],
    [{ cni: "cilium" }, "cni", "flannel, calico", '"cilium"'],
    [{ os: "centos-7" }, "os", "ubuntu-24.04, ubuntu-22.04, debian-12", '"centos-7"'],
  ])("unknown names: %j", (input, key, allowed, got) => {
    expectProblem(input as ClusterConfigInput, key, allowed, got);
  });

  test.each([
    ["v1.34.2", "must be a release 1.29.x to 1.35.x"],
    ["1.34", "which is what YAML makes of an unquoted number (1.30 becomes 1.3)"],
    ["1.3", 'write the full version in quotes, e.g. kubernetesVersion: "1.34.2"'],
    ["latest", "must be a release"],
    ["1.28.9", "1.28.9 is not supported"],
    ["1.40.0", "1.40.0 is not supported"],
  ])("Kubernetes version %s is rejected", (version, fragment) => {
    expectProblem({ kubernetesVersion: version }, "kubernetesVersion", fragment);
  });

  test("supported versions at both ends are accepted", () => {
    expect(problemsOf({ kubernetesVersion: "1.29.15" })).toEqual([]);
    expect(problemsOf({ kubernetesVersion: "1.35.0" })).toEqual([]);
  });

  test("two control-plane nodes are refused because they lose quorum when either fails", () => {
    expectProblem({ controlPlane: { count: 2 } }, "controlPlane.count", "odd", "got 2", "quorum");
  });

  test.each([0, 4, 9, -1, 1.5])("control-plane count %p is refused", (count) => {
    expectProblem({ controlPlane: { count } }, "controlPlane.count", `got ${count}`);
  });

  test.each([-1, 2.5, 501])("worker count %p is refused", (count) => {
    expectProblem(
      { workers: { count } },
      "workers.count",
      "whole number from 0 to 500",
      `${count}`,
    );
  });

  test("zero workers is allowed (control-plane-only cluster)", () => {
    expect(problemsOf({ workers: { count: 0 } })).toEqual([]);
  });

  test("a number written as text says to drop the quotes, with the command that stores a number", () => {
    expectProblem(
      { controlPlane: { count: "3" as unknown as number } },
      'controlPlane.count is the text "3", not a number: drop the quotes',
      "`pulumi config set --path controlPlane.count 3`",
    );
  });

  test("root volumes below 20 GiB are refused", () => {
    expectProblem(
      { workers: { rootVolumeSizeGiB: 8 } },
      "workers.rootVolumeSizeGiB",
      "20",
      "got 8",
    );
  });

  test("a malformed instance type is refused", () => {
    expectProblem(
      { controlPlane: { instanceType: "large" } },
      "controlPlane.instanceType",
      '"large"',
    );
  });

  test("an unknown key inside a node group is reported", () => {
    expectProblem(
      { workers: { count: 1, size: 3 } as unknown as { count: number } },
      "workers",
      "unknown key",
      "size",
    );
  });

  test.each([
    ["10.0.0.0/33", "is not an IPv4 CIDR"],
    ["10.0.0.0", "is not an IPv4 CIDR"],
    ["10.0.300.0/16", "is not an IPv4 CIDR"],
    ["10.0.1.0/16", "has host bits set (the network is 10.0.0.0/16)"],
  ])("malformed VPC CIDR %s", (cidr, fragment) => {
    expectProblem({ vpcCidr: cidr }, "vpcCidr", cidr, fragment);
  });

  test("a malformed SSH CIDR names its position in the list", () => {
    expectProblem({ sshIngressCidrs: ["203.0.113.10/32", "nope"] }, "sshIngressCidrs[1]", '"nope"');
  });

  test("my-ip is accepted in ingress lists but not as a network CIDR", () => {
    expect(problemsOf({ sshIngressCidrs: ["my-ip"] })).toEqual([]);
    expectProblem({ podCidr: "my-ip" }, "podCidr", "is not an IPv4 CIDR");
  });

  test.each([
    [{ podCidr: "10.0.0.0/16" }, "vpcCidr 10.0.0.0/16 overlaps podCidr 10.0.0.0/16"],
    [{ serviceCidr: "10.0.128.0/20" }, "vpcCidr 10.0.0.0/16 overlaps serviceCidr 10.0.128.0/20"],
    [
      { podCidr: "10.96.0.0/16", serviceCidr: "10.96.0.0/12" },
      "podCidr 10.96.0.0/16 overlaps serviceCidr 10.96.0.0/12",
    ],
  ])("overlapping networks %j", (input, message) => {
    expectProblem(input, message);
  });

  test("a VPC too small for its subnets is refused with a suggested size", () => {
    expectProblem(
      { vpcCidr: "10.0.0.0/27" },
      "vpcCidr 10.0.0.0/27 is too small: each zone gets an eighth of it, a /30 subnet",
      "use a /25 or larger",
    );
    expectProblem(
      { vpcCidr: "10.0.0.0/26", workers: { count: 40 } },
      "vpcCidr 10.0.0.0/26 is too small",
      "21 node(s)",
      "use a /23 or larger",
    );
  });

  test("a pod CIDR without a /24 per node is refused", () => {
    expectProblem(
      { podCidr: "10.244.0.0/23", workers: { count: 2 } },
      "podCidr 10.244.0.0/23 has room for 2 node pod ranges",
      "3 nodes",
      "use a /22 or larger",
    );
  });

  test("a cluster bigger than the default pod CIDR is told the size that fits", () => {
    expectProblem(
      { workers: { count: 400 } },
      "podCidr 10.244.0.0/16 has room for 256 node pod ranges (/24 each) but the cluster has 401 nodes; use a /15 or larger (a /15 holds 512 nodes)",
    );
  });

  test("a service CIDR larger than /12 is refused", () => {
    expectProblem({ serviceCidr: "10.64.0.0/10" }, "serviceCidr 10.64.0.0/10 must be between /12");
  });

  test("availability zone count below two is refused with the reason", () => {
    expectProblem({ availabilityZoneCount: 1 }, "availabilityZoneCount", "at least two zones");
  });

  test("cluster names that would break AWS names are refused", () => {
    expectProblem({ clusterName: "My_Cluster" }, "clusterName", '"My_Cluster"');
    expectProblem({ clusterName: "a-very-long-cluster-name" }, "clusterName", "32 characters");
  });

  test("an AMI id must look like one", () => {
    expectProblem({ amiId: "ubuntu" }, "amiId", "ami-0123456789abcdef0", '"ubuntu"');
  });

  test("several problems are reported together, schema and cross-field ones alike", () => {
    const problems = problemsOf({
      containerRuntime: "podman" as never,
      cni: "weave" as never,
      controlPlane: { count: 2 },
      podCidr: "10.0.0.0/16",
      sshIngressCidrs: [],
    });
    expect(problems.length).toBeGreaterThanOrEqual(5);
    expect(problems.join("\n")).toMatch(/containerRuntime[\s\S]*cni[\s\S]*controlPlane\.count/);
    expect(problems.join("\n")).toContain("overlaps podCidr");
    expect(problems.join("\n")).toContain("sshIngressCidrs is required");
  });

  test("the error message lists every problem on its own line", () => {
    try {
      validateClusterConfig({ cni: "x" as never, os: "y" as never, sshIngressCidrs: SSH });
      throw new Error("expected a ConfigError");
    } catch (err) {
      expect((err as Error).message).toMatch(
        /^Invalid cluster configuration \(2 problems\):\n {2}- cni/,
      );
    }
  });
});

describe("the RHEL-family keys selinux and firewalld", () => {
  const RHEL = ["rocky-9", "almalinux-9", "amazon-linux-2023", "oracle-linux-9"] as const;
  const APT = ["ubuntu-24.04", "ubuntu-22.04", "debian-12"] as const;

  test.each(RHEL)("%s defaults to SELinux permissive and firewalld stopped", (os) => {
    expect(validateClusterConfig({ sshIngressCidrs: SSH, os })).toMatchObject({
      os,
      selinux: "permissive",
      firewalld: "stopped",
    });
  });

  test.each(RHEL)("%s takes enforcing and cluster-ports", (os) => {
    const c = validateClusterConfig({
      sshIngressCidrs: SSH,
      os,
      selinux: "enforcing",
      firewalld: "cluster-ports",
    });
    expect([c.selinux, c.firewalld]).toEqual(["enforcing", "cluster-ports"]);
  });

  test.each(APT)("%s has neither key, and its validated config validates again", (os) => {
    const c = validateClusterConfig({ sshIngressCidrs: SSH, os });
    expect(c.selinux).toBeUndefined();
    expect(c.firewalld).toBeUndefined();
    // KubeadmCluster checks the config it is given again: nothing may look explicit then.
    expect(validateClusterConfig(c as ClusterConfigInput)).toEqual(c);
    const rocky = validateClusterConfig({ sshIngressCidrs: SSH, os: "rocky-9" });
    expect(validateClusterConfig(rocky as ClusterConfigInput)).toEqual(rocky);
  });

  test.each([
    ...APT.map((os) => [os, "selinux", "enforcing"] as const),
    ...APT.map((os) => [os, "firewalld", "cluster-ports"] as const),
    // Even the RHEL default: with this OS it would do nothing, which is not what was meant.
    ["ubuntu-24.04", "selinux", "permissive"] as const,
    ["debian-12", "firewalld", "stopped"] as const,
  ])("with %s, %s set to %s is refused, with the command that removes it", (os, key, value) => {
    const problems = problemsOf({ os, [key]: value });
    expect(problems).toEqual([
      `${key} ${value} has no effect with os ${os}: ${key} applies to rocky-9, almalinux-9, ` +
        `amazon-linux-2023 and oracle-linux-9 only; remove it with \`pulumi config rm ${key}\``,
    ]);
  });

  test("with the default OS, both keys set are two problems in the same round", () => {
    const problems = problemsOf({ selinux: "enforcing", firewalld: "cluster-ports" });
    expect(problems.map((p) => p.split(" ")[0])).toEqual(["selinux", "firewalld"]);
    expect(problems.join("\n")).toContain("os ubuntu-24.04");
  });

  test.each([
    ["selinux", "disabled", "permissive, enforcing"],
    ["selinux", "Enforcing", "permissive, enforcing"],
    ["firewalld", "running", "stopped, cluster-ports"],
    ["firewalld", "off", "stopped, cluster-ports"],
  ])("%s %s is refused, listing the allowed values", (key, value, allowed) => {
    const problems = problemsOf({ os: "rocky-9", [key]: value } as ClusterConfigInput);
    expect(problems).toEqual([`${key} must be one of ${allowed} (got "${value}")`]);
  });

  test("a bad value with an apt OS gets both problems: the fix is to remove the key", () => {
    const problems = problemsOf({ os: "debian-12", selinux: "disabled" } as never);
    expect(problems).toEqual([
      'selinux must be one of permissive, enforcing (got "disabled")',
      expect.stringContaining("remove it with `pulumi config rm selinux`"),
    ]);
  });

  test("a misspelt os is reported once, without judging the RHEL keys against it", () => {
    const problems = problemsOf({ os: "rocky-8" as never, selinux: "enforcing" });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^os must be one of .*rocky-9.*\(got "rocky-8"\)$/);
  });

  test("a failed key falls back to its OS's default in the config later checks use", () => {
    const rocky = checkClusterConfig({
      sshIngressCidrs: SSH,
      os: "rocky-9",
      selinux: "x" as never,
    });
    expect(rocky.config.selinux).toBe("permissive");
    expect(rocky.invalidKeys).toContain("selinux");
    const deb = checkClusterConfig({
      sshIngressCidrs: SSH,
      os: "debian-12",
      firewalld: "x" as never,
    });
    expect(deb.config.firewalld).toBeUndefined();
  });
});

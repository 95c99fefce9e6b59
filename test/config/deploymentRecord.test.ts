import { ClusterConfigInput, validateClusterConfig } from "../../config/clusterConfig";
import {
  buildRecord,
  createOnlyProblems,
  DeploymentRecord,
  groupChangeProblems,
  parseRecord,
  placeNodes,
} from "../../config/deploymentRecord";

const config = (input: ClusterConfigInput = {}) =>
  validateClusterConfig({ clusterName: "prod", sshIngressCidrs: ["203.0.113.10/32"], ...input });

/** The record a cluster built from `input` left behind. */
const built = (input: ClusterConfigInput = {}, zones = ["us-east-1a", "us-east-1b"]) => {
  const c = config(input);
  return buildRecord(c, "us-east-1", zones, {
    controlPlane: placeNodes(undefined, c.controlPlane.count, zones.length),
    workers: placeNodes(undefined, c.workers.count, zones.length),
  });
};

describe("the deployment record", () => {
  test("round-trips through the stack output as plain JSON", () => {
    const record = built({ cni: "calico", workers: { count: 3 } });
    expect(parseRecord(JSON.parse(JSON.stringify(record)))).toEqual(record);
    expect(record.settings).toEqual({
      clusterName: "prod",
      vpcCidr: "10.0.0.0/16",
      podCidr: "10.244.0.0/16",
      serviceCidr: "10.96.0.0/12",
      cni: "calico",
      containerRuntime: "containerd",
      os: "ubuntu-24.04",
      topology: "public",
      cloudProvider: "aws",
    });
  });

  test("is absent for a stack never deployed, and refused when unreadable", () => {
    expect(parseRecord(undefined)).toBeUndefined();
    expect(() => parseRecord({ version: 2 })).toThrow(
      "the stack output deploymentRecord is not a deployment record this program can read",
    );
  });
});

describe("create-only settings", () => {
  test.each([
    ["cni", { cni: "calico" }, "flannel", "calico", "`pulumi config set cni flannel`"],
    [
      "podCidr",
      { podCidr: "10.200.0.0/16" },
      "10.244.0.0/16",
      "10.200.0.0/16",
      "set podCidr 10.244.0.0/16",
    ],
    [
      "serviceCidr",
      { serviceCidr: "10.100.0.0/16" },
      "10.96.0.0/12",
      "10.100.0.0/16",
      "serviceCidr",
    ],
    ["vpcCidr", { vpcCidr: "10.1.0.0/16" }, "10.0.0.0/16", "10.1.0.0/16", "primary CIDR"],
    [
      "containerRuntime",
      { containerRuntime: "cri-dockerd" },
      "containerd",
      "cri-dockerd",
      "prepared once",
    ],
    ["os", { os: "debian-12" }, "ubuntu-24.04", "debian-12", "SSH user"],
    ["clusterName", { clusterName: "prod2" }, "prod", "prod2", "tags every AWS resource"],
  ] as const)(
    "%s: a change is refused naming the key, both values and what to type",
    (key, input, was, now, hint) => {
      const [problem, ...rest] = createOnlyProblems(built(), config(input), "us-east-1");
      expect(rest).toEqual([]);
      expect(problem).toContain(
        `${key} is create-only: this cluster was built with ${was} and the stack now says ${now}`,
      );
      expect(problem).toContain(hint);
      expect(problem).toContain("or build a new cluster in a new stack");
    },
  );

  test("every change is reported in one run, the region too", () => {
    const problems = createOnlyProblems(
      built(),
      config({ cni: "calico", os: "debian-12", podCidr: "10.200.0.0/16" }),
      "eu-west-1",
    );
    expect(problems.map((p) => p.split(" ")[0])).toEqual(["aws:region", "podCidr", "cni", "os"]);
    expect(problems[0]).toContain("`pulumi config set aws:region us-east-1`");
  });

  test("changes that are not create-only pass", () => {
    const next = config({
      workers: { count: 9, rootVolumeSizeGiB: 60 },
      controlPlane: { count: 3 },
      sshIngressCidrs: ["198.51.100.0/24"],
      kubernetesVersion: "1.34.3",
      availabilityZoneCount: 3,
    });
    expect(createOnlyProblems(built(), next, "us-east-1")).toEqual([]);
    expect(groupChangeProblems(built(), next)).toEqual([]);
  });
});

describe("changes a running group cannot take at once", () => {
  test("a group with no running node may change type", () => {
    expect(
      groupChangeProblems(
        built({ workers: { count: 0 } }),
        config({ workers: { count: 2, instanceType: "t3.large" } }),
      ),
    ).toEqual([]);
  });

  test("volumes only grow, and zones in use stay", () => {
    const previous: DeploymentRecord = built({}, ["us-east-1a", "us-east-1b", "us-east-1c"]);
    const problems = groupChangeProblems(
      previous,
      config({ workers: { rootVolumeSizeGiB: 25 }, availabilityZoneCount: 2 }),
    );
    expect(problems).toEqual([
      "workers.rootVolumeSizeGiB cannot shrink from 30 to 25: EBS volumes only grow. Set it back with `pulumi config set --path workers.rootVolumeSizeGiB 30`",
      "availabilityZoneCount cannot go down from 3 to 2: the cluster has subnets and nodes in us-east-1c. Set it back with `pulumi config set availabilityZoneCount 3`",
    ]);
  });
});

describe("node placement", () => {
  test("a new cluster spreads each role round-robin over the zones", () => {
    expect(placeNodes(undefined, 5, 3)).toEqual([0, 1, 2, 0, 1]);
  });

  test("an existing node keeps its zone when zones are added", () => {
    const before = placeNodes(undefined, 4, 2); // [0, 1, 0, 1]
    const after = placeNodes(before, 6, 3);
    expect(after.slice(0, 4)).toEqual(before);
    // New nodes fill the new zone first.
    expect(after.slice(4)).toEqual([2, 2]);
  });

  test("a gap left by a removed node is refilled where it is least loaded", () => {
    expect(placeNodes([0, 1, 2], 3, 3)).toEqual([0, 1, 2]);
    expect(placeNodes([0, 0, 1], 4, 3)).toEqual([0, 0, 1, 2]);
  });
});

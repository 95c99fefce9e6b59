/**
 * Day-2 runs under mocks: the same stack evaluated again with a changed config and the previous
 * run's `deploymentRecord` output fed back (as `pulumi:pulumi:readStackOutputs` returns it).
 * Existing nodes keep their zone and subnet whatever the counts; create-only changes stop the run
 * before a single resource is registered, and an instance-type change rolls (rollingNodes.test.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import type { ClusterConfigInput } from "../../config/clusterConfig";
import { ConfigError } from "../../config/clusterConfig";
import {
  Harness,
  installMocks,
  settle,
  valueOf,
  MOCK_CLUSTER_OPTIONS,
} from "../../tools/mockCloud";

let h: Harness;
let lib: typeof import("../../components");
const NAME = "d2";

beforeAll(async () => {
  h = await installMocks();
  lib = await import("../../components");
});

beforeEach(() => {
  h.reset();
  h.setPreviousOutputs({});
  h.setLiveInstances({});
  pulumi.runtime.setAllConfig({});
});

/** One `pulumi up` of the stack: returns the record it exports and where each node went. */
async function up(input: ClusterConfigInput) {
  h.reset();
  const config = lib.validateClusterConfig({
    clusterName: NAME,
    sshIngressCidrs: ["203.0.113.10/32"],
    ...input,
  });
  const cluster = await lib.createKubeadmCluster(config, MOCK_CLUSTER_OPTIONS);
  await settle(cluster.kubeconfig, cluster.nodes);
  await valueOf(cluster.nodes);
  const subnetCidr = (id: string) =>
    h.resources.find((r) => `${r.name}-id` === id && r.type === "aws:ec2/subnet:Subnet")!.inputs
      .cidrBlock as string;
  const placement = Object.fromEntries(
    h
      .byType("aws:ec2/instance:Instance")
      .map((i) => [
        i.name.replace(`${NAME}-nodes-`, ""),
        `${i.inputs.availabilityZone} ${subnetCidr(i.inputs.subnetId)}`,
      ]),
  );
  return { record: cluster.deploymentRecord, placement };
}

/** Runs `up` once per config in turn, each reading back the record of the run before. */
async function days(...inputs: ClusterConfigInput[]) {
  const runs = [];
  for (const input of inputs) {
    const run = await up(input);
    h.setPreviousOutputs({ deploymentRecord: JSON.parse(JSON.stringify(run.record)) });
    runs.push(run);
  }
  return runs;
}

/** The entries of `later` for the nodes that `earlier` had. */
const existing = (earlier: Record<string, string>, later: Record<string, string>) =>
  Object.fromEntries(Object.keys(earlier).map((node) => [node, later[node]]));

describe("existing nodes keep their zone and subnet", () => {
  test("for 1, 3 and 5 control planes", async () => {
    const [one, three, five] = await days(
      { controlPlane: { count: 1 }, workers: { count: 4 }, availabilityZoneCount: 3 },
      { controlPlane: { count: 3 }, workers: { count: 4 }, availabilityZoneCount: 3 },
      { controlPlane: { count: 5 }, workers: { count: 4 }, availabilityZoneCount: 3 },
    );
    expect(existing(one!.placement, three!.placement)).toEqual(one!.placement);
    expect(existing(three!.placement, five!.placement)).toEqual(three!.placement);
    expect(one!.placement["worker-1"]).toBe("us-east-1b 10.0.32.0/19");
  });

  test("for 2, 3 and 6 zones", async () => {
    // m4.large is offered in all six us-east-1 zones (t3.medium is not in us-east-1e).
    const types = { instanceType: "m4.large" };
    const [two, three, six] = await days(
      {
        controlPlane: { count: 3, ...types },
        workers: { count: 4, ...types },
        availabilityZoneCount: 2,
      },
      {
        controlPlane: { count: 3, ...types },
        workers: { count: 6, ...types },
        availabilityZoneCount: 3,
      },
      {
        controlPlane: { count: 3, ...types },
        workers: { count: 9, ...types },
        availabilityZoneCount: 6,
      },
    );
    expect(existing(two!.placement, three!.placement)).toEqual(two!.placement);
    expect(existing(three!.placement, six!.placement)).toEqual(three!.placement);
    expect(two!.placement).toMatchObject({
      "cp-2": "us-east-1a 10.0.0.0/19",
      "worker-2": "us-east-1a 10.0.0.0/19",
      "worker-3": "us-east-1b 10.0.32.0/19",
    });
    // New nodes go where their role has the fewest nodes: the new zones first.
    expect(three!.placement).toMatchObject({
      "worker-4": "us-east-1c 10.0.64.0/19",
      "worker-5": "us-east-1c 10.0.64.0/19",
    });
    expect(six!.placement).toMatchObject({
      "worker-6": "us-east-1d 10.0.96.0/19",
      "worker-7": "us-east-1e 10.0.128.0/19",
      "worker-8": "us-east-1f 10.0.160.0/19",
    });
    expect(six!.record.zones).toEqual([
      "us-east-1a",
      "us-east-1b",
      "us-east-1c",
      "us-east-1d",
      "us-east-1e",
      "us-east-1f",
    ]);
  });

  test("reads the record from this stack's own outputs, by its fully qualified name", async () => {
    await up({});
    const reads = h.invokes.filter((i) => i.token === "pulumi:pulumi:readStackOutputs");
    expect(reads).toEqual([
      { token: "pulumi:pulumi:readStackOutputs", args: { name: "organization/kubeadm-aws/dev" } },
    ]);
  });
});

describe("a change a running cluster cannot take stops the run before anything is registered", () => {
  async function refused(day2: ClusterConfigInput): Promise<string[]> {
    const [first] = await days({ controlPlane: { count: 3 }, workers: { count: 2 } });
    expect(first).toBeDefined();
    h.reset();
    try {
      await up(day2);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect(h.resources).toEqual([]);
      return [...(err as ConfigError).problems];
    }
    throw new Error("the run was not refused");
  }

  test("create-only settings, all of them in one run", async () => {
    const problems = await refused({
      controlPlane: { count: 3 },
      workers: { count: 2 },
      cni: "calico",
      containerRuntime: "cri-dockerd",
    });
    expect(problems).toEqual([
      expect.stringMatching(
        /^cni is create-only: this cluster was built with flannel and the stack now says calico/,
      ),
      expect.stringMatching(
        /^containerRuntime is create-only: this cluster was built with containerd/,
      ),
    ]);
  });

  test("the region", async () => {
    const [first] = await days({});
    expect(first).toBeDefined();
    pulumi.runtime.setAllConfig({ "aws:region": "eu-west-1" });
    h.reset();
    await expect(up({})).rejects.toThrow(
      "aws:region is create-only: this cluster was built with us-east-1 and the stack now says eu-west-1",
    );
    expect(h.resources).toEqual([]);
  });
});

describe("an instance-type change of a running group", () => {
  test("an instance-type change of the running control planes goes through as a roll", async () => {
    await days({ controlPlane: { count: 3 }, workers: { count: 2 } });
    const live = Object.fromEntries(
      [0, 1, 2].map((i) => [
        `i-cp${i}`,
        {
          cluster: NAME,
          role: "control-plane" as const,
          instanceType: "t3.medium",
          name: `${NAME}-cp-${i}`,
        },
      ]),
    );
    h.setLiveInstances(live);
    const { record } = await up({
      controlPlane: { count: 3, instanceType: "m7i.large" },
      workers: { count: 2 },
    });
    expect(record.groups.controlPlane.instanceType).toBe("m7i.large");
    expect(h.resources.some((r) => r.name === `${NAME}-cp-0-roll-drain`)).toBe(true);
  });

  test("nothing rolls once EC2 reports every control plane already on the new type", async () => {
    await days({ controlPlane: { count: 3 }, workers: { count: 2 } });
    const live = Object.fromEntries(
      [0, 1, 2].map((i) => [
        `i-cp${i}`,
        {
          cluster: NAME,
          role: "control-plane" as const,
          instanceType: "m7i.large",
          name: `${NAME}-cp-${i}`,
        },
      ]),
    );
    h.setLiveInstances(live);
    const { record } = await up({
      controlPlane: { count: 3, instanceType: "m7i.large" },
      workers: { count: 2 },
    });
    expect(record.groups.controlPlane.instanceType).toBe("m7i.large");
    expect(h.resources.some((r) => r.name.includes("-roll-"))).toBe(false);
  });
});

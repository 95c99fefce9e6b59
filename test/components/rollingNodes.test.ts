/**
 * Rolling instance-type and image changes under mocks: a 3 + 3 cluster built, then evaluated
 * again with the change and the first run's record fed back, and EC2's live instances stood in
 * by the mock (`setLiveInstances`, what `getInstances`/`getInstance` answer). The order comes
 * from the recorded dependency graph: an instance's change starts only after its drain, and the
 * next node's drain only after the previous node is Ready again.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ClusterConfigInput } from "../../config/clusterConfig";
import { ConfigError } from "../../config/clusterConfig";
import {
  Harness,
  installMocks,
  LiveInstance,
  MOCK_CLUSTER_OPTIONS,
  RecordedResource,
  settle,
  valueOf,
} from "../../tools/mockCloud";
import { EngineGraph } from "../support/engineGraph";

let h: Harness;
let lib: typeof import("../../components");
const NAME = "rl";
const NEW_IMAGE = "ami-0ddddddddddddddd4";

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

const base: ClusterConfigInput = {
  clusterName: NAME,
  sshIngressCidrs: ["203.0.113.10/32"],
  controlPlane: { count: 3 },
  workers: { count: 3 },
};

async function up(input: ClusterConfigInput = {}) {
  h.reset();
  const config = lib.validateClusterConfig({ ...base, ...input });
  const cluster = await lib.createKubeadmCluster(config, MOCK_CLUSTER_OPTIONS);
  await settle(cluster.kubeconfig, cluster.nodes);
  const record = await valueOf(cluster.deploymentRecordOutput);
  h.setPreviousOutputs({ deploymentRecord: JSON.parse(JSON.stringify(record)) });
  return { cluster, record };
}

/** What EC2 reports: every node of the first run, with the given type or image overrides. */
function live(overrides: Record<string, Partial<LiveInstance>> = {}): void {
  const nodes: Record<string, LiveInstance> = {};
  for (const [role, label] of [
    ["control-plane", "cp"],
    ["worker", "worker"],
  ] as const) {
    for (let i = 0; i < 3; i++) {
      const name = `${NAME}-${label}-${i}`;
      nodes[`i-${label}${i}`] = {
        cluster: NAME,
        role,
        instanceType: "t3.medium",
        name,
        privateDns: `ip-10-0-0-${label === "cp" ? i + 10 : i + 20}.ec2.internal`,
        ...overrides[name],
      };
    }
  }
  h.setLiveInstances(nodes);
}

const instance = (node: string) => h.find("aws:ec2/instance:Instance", `${NAME}-nodes-${node}`);
const command = (name: string) => h.find("command:remote:Command", `${NAME}-${name}`);
const rollSteps = () =>
  h.byType("command:remote:Command").filter((c) => /-roll-(drain|restore)$/.test(c.name));
const names = (rs: RecordedResource[]) => rs.map((r) => r.name.replace(`${NAME}-`, "")).sort();

describe("a control-plane instance-type change rolls one node at a time, in place", () => {
  let graph: EngineGraph;
  const after = (later: RecordedResource, earlier: RecordedResource) =>
    graph.transitiveDependencies(later).has(earlier.urn);
  let saved: RecordedResource[] = [];
  beforeAll(async () => {
    await up();
    live();
    await up({ controlPlane: { count: 3, instanceType: "m7i.large" } });
    saved = [...h.resources];
    graph = new EngineGraph(saved);
  });
  beforeEach(() => h.resources.splice(0, h.resources.length, ...saved));

  test("only the control planes roll: a drain and a restore each", () => {
    expect(names(rollSteps())).toEqual(
      ["cp-0", "cp-1", "cp-2"].flatMap((n) => [`${n}-roll-drain`, `${n}-roll-restore`]).sort(),
    );
  });

  test("each instance changes after its own drain, and Ready comes back before the next drain", () => {
    for (const i of [0, 1, 2]) {
      const cp = `cp-${i}`;
      expect(instance(cp).inputs.instanceType).toBe("m7i.large");
      // In place: the image stays ignored, so EC2 stops, re-types and starts the same instance.
      expect(instance(cp).ignoreChanges).toEqual(["ami"]);
      expect(after(instance(cp), command(`${cp}-roll-drain`))).toBe(true);
      expect(after(command(`${cp}-roll-restore`), instance(cp))).toBe(true);
      if (i > 0) {
        expect(after(command(`${cp}-roll-drain`), command(`cp-${i - 1}-roll-restore`))).toBe(true);
      }
    }
  });

  test("drains name the node as EC2 knows it now; the triggers name the change", () => {
    const drain = String(command("cp-1-roll-drain").inputs.create);
    expect(drain).toContain("readonly PHASE=drain");
    expect(drain).toContain("readonly NODE_NAME=ip-10-0-0-11.ec2.internal");
    expect(drain).toContain("readonly TARGET_VERSION=''");
    expect(command("cp-1-roll-drain").inputs.triggers).toEqual([
      "i-cp1",
      "controlPlane.instanceType t3.medium -> m7i.large",
    ]);
  });

  test("workers are untouched and wait for nothing of the roll", () => {
    for (const i of [0, 1, 2]) {
      const w = instance(`worker-${i}`);
      expect(w.inputs.instanceType).toBe("t3.medium");
      expect(rollSteps().filter((c) => after(w, c))).toEqual([]);
    }
  });

  test("cluster-ready waits for the whole roll", () => {
    for (const c of rollSteps()) expect(after(command("cluster-ready"), c)).toBe(true);
  });
});

test("a resumed roll skips the nodes EC2 already reports on the new type", async () => {
  await up();
  live({ [`${NAME}-cp-0`]: { instanceType: "m7i.large" } });
  await up({ controlPlane: { count: 3, instanceType: "m7i.large" } });
  expect(names(rollSteps())).toEqual(
    ["cp-1", "cp-2"].flatMap((n) => [`${n}-roll-drain`, `${n}-roll-restore`]).sort(),
  );
  const graph = new EngineGraph(h.resources);
  expect(graph.dependenciesOf(instance("cp-0")).some((u) => u.includes("-roll-"))).toBe(false);
});

test("a new image rolls the workers by replacement, each joining before the next drains", async () => {
  await up();
  live();
  const { cluster } = await up({ amiId: NEW_IMAGE });
  const graph = new EngineGraph(h.resources);
  const after = (later: RecordedResource, earlier: RecordedResource) =>
    graph.transitiveDependencies(later).has(earlier.urn);
  expect(names(rollSteps())).toEqual(
    ["worker-0", "worker-1", "worker-2"]
      .flatMap((n) => [`${n}-roll-drain`, `${n}-roll-restore`])
      .sort(),
  );
  for (const i of [0, 1, 2]) {
    const w = `worker-${i}`;
    expect(instance(w).inputs.ami).toBe(NEW_IMAGE);
    expect(instance(w).ignoreChanges).toEqual([]); // the new image replaces it
    expect(after(instance(w), command(`${w}-roll-drain`))).toBe(true);
    expect(after(command(`${w}-roll-restore`), command(`${w}-member`))).toBe(true);
    if (i > 0) {
      expect(after(command(`${w}-roll-drain`), command(`worker-${i - 1}-roll-restore`))).toBe(true);
    }
  }
  // Control planes keep their image; the plan says how to move them.
  for (const i of [0, 1, 2]) expect(instance(`cp-${i}`).ignoreChanges).toEqual(["ami"]);
  const plan = await valueOf(cluster.bootstrapArtifacts.get("roll-plan.txt")!);
  expect(plan).toContain(
    `  1. ${NAME}-worker-0: drain, replace the instance (new one joins first), Ready`,
  );
});

test("the record waits for cluster-ready while a roll is pending", async () => {
  await up();
  live();
  const { cluster, record } = await up({ workers: { count: 3, instanceType: "t3.large" } });
  expect(record.groups.workers.instanceType).toBe("t3.large");
  const deps = await (
    cluster.deploymentRecordOutput as unknown as { allResources(): Promise<Set<pulumi.Resource>> }
  ).allResources();
  const urns = await Promise.all([...deps].map((r) => valueOf(r.urn)));
  expect(urns).toContain(command("cluster-ready").urn);
});

describe("refused before anything is created", () => {
  async function refusal(input: ClusterConfigInput): Promise<string> {
    const config = lib.validateClusterConfig({ ...base, ...input });
    h.reset();
    const err = await lib.createKubeadmCluster(config, MOCK_CLUSTER_OPTIONS).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(h.resources).toEqual([]);
    return (err as ConfigError).problems.join("\n");
  }

  test("control planes moving to another CPU architecture", async () => {
    await up();
    live();
    expect(await refusal({ controlPlane: { count: 3, instanceType: "t4g.medium" } })).toContain(
      "controlPlane.instanceType cannot change from t3.medium to t4g.medium on running control planes: the new type runs another CPU architecture",
    );
  });

  test("an upgrade and a roll in the same up", async () => {
    await up({ kubernetesVersion: "1.33.6" });
    live();
    expect(
      await refusal({
        kubernetesVersion: "1.34.2",
        workers: { count: 3, instanceType: "t3.large" },
      }),
    ).toContain(
      "kubernetesVersion (1.33.6 -> 1.34.2) and workers.instanceType t3.medium -> t3.large change in the same `up`",
    );
  });

  test("a running node EC2 does not list", async () => {
    await up();
    h.setLiveInstances({});
    expect(await refusal({ workers: { count: 3, instanceType: "t3.large" } })).toContain(
      `cannot roll over ${NAME}-worker-0: EC2 lists no running instance named ${NAME}-worker-0`,
    );
  });
});

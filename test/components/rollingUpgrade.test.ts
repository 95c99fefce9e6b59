/**
 * Rolling upgrades under mocks: a 3 + 3 cluster built at 1.33.6, then the same stack evaluated
 * again at 1.34.2 with the first run's deploymentRecord fed back (as readStackOutputs returns
 * it). The order is read from the recorded dependency graph, the way the engine schedules
 * creates: a resource starts once everything it depends on has finished.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ClusterConfigInput } from "../../config/clusterConfig";
import { ConfigError } from "../../config/clusterConfig";
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
const NAME = "up";
const OLD = "1.33.6";
const NEW = "1.34.2";

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

/** One `pulumi up`; its record becomes the previous deployment of the next. */
async function up(input: ClusterConfigInput) {
  h.reset();
  const config = lib.validateClusterConfig({ ...base, ...input });
  const cluster = await lib.createKubeadmCluster(config, MOCK_CLUSTER_OPTIONS);
  await settle(cluster.kubeconfig, cluster.nodes);
  const record = await valueOf(cluster.deploymentRecordOutput);
  h.setPreviousOutputs({ deploymentRecord: JSON.parse(JSON.stringify(record)) });
  return { cluster, record };
}

const commands = () => h.byType("command:remote:Command");
const upgradeSteps = () => commands().filter((c) => /-upgrade(-|$)/.test(c.name));
const step = (name: string) => h.find("command:remote:Command", `${NAME}-${name}`);
const script = (c: RecordedResource) => String(c.inputs.create);

describe("a kubernetesVersion change on a running 3 + 3 cluster", () => {
  let graph: EngineGraph;
  /** True when `later` cannot start before `earlier` has finished. */
  const after = (later: string, earlier: string) =>
    graph.transitiveDependencies(step(later)).has(step(earlier).urn);

  beforeAll(async () => {
    h.setPreviousOutputs({});
    await up({ kubernetesVersion: OLD });
    await up({ kubernetesVersion: NEW, upgrade: { maxUnavailableWorkers: 2 } });
    saved = [...h.resources];
    graph = new EngineGraph(saved);
  });
  // The file's beforeEach empties the record of resources: put the upgrade run's back.
  let saved: RecordedResource[] = [];
  beforeEach(() => h.resources.splice(0, h.resources.length, ...saved));

  test("upgrades every node that ran before: drain, upgrade, restore each", () => {
    const nodes = ["cp-0", "cp-1", "cp-2", "worker-0", "worker-1", "worker-2"];
    expect(
      upgradeSteps()
        .map((c) => c.name.replace(`${NAME}-`, ""))
        .sort(),
    ).toEqual(
      [
        "upgrade-preflight",
        "cp-0-upgrade-check",
        ...nodes.flatMap((n) => [`${n}-upgrade-drain`, `${n}-upgrade`, `${n}-upgrade-restore`]),
      ].sort(),
    );
  });

  test("runs kubeadm upgrade apply exactly once, on cp-0, and upgrade node everywhere else", () => {
    const apply = upgradeSteps().filter((c) => script(c).includes("readonly KUBEADM_ACTION=apply"));
    const node = upgradeSteps().filter(
      (c) =>
        script(c).includes("readonly MODE=upgrade") && script(c).includes("KUBEADM_ACTION=node"),
    );
    expect(apply.map((c) => c.name)).toEqual([`${NAME}-cp-0-upgrade`]);
    expect(node.map((c) => c.name).sort()).toEqual(
      ["cp-1", "cp-2", "worker-0", "worker-1", "worker-2"].map((n) => `${NAME}-${n}-upgrade`),
    );
  });

  test("checks the skew policy on the bastion and the version on a node before any drain", () => {
    for (const drain of upgradeSteps().filter((c) => c.name.endsWith("-upgrade-drain"))) {
      const name = drain.name.replace(`${NAME}-`, "");
      expect(after(name, "upgrade-preflight")).toBe(true);
      expect(after(name, "cp-0-upgrade-check")).toBe(true);
    }
    expect(script(step("upgrade-preflight"))).toContain(`readonly TARGET_VERSION=${NEW}`);
    expect(script(step("cp-0-upgrade-check"))).toContain("readonly MODE=check");
  });

  test("control planes go one at a time: drain, upgrade, restore, then the next", () => {
    const order = ["cp-0", "cp-1", "cp-2"].flatMap((n) => [
      `${n}-upgrade-drain`,
      `${n}-upgrade`,
      `${n}-upgrade-restore`,
    ]);
    for (let i = 1; i < order.length; i++) expect(after(order[i]!, order[i - 1]!)).toBe(true);
  });

  test("workers go after the control planes, in batches of maxUnavailableWorkers", () => {
    for (const w of ["worker-0", "worker-1", "worker-2"]) {
      expect(after(`${w}-upgrade-drain`, "cp-2-upgrade-restore")).toBe(true);
    }
    // Batch 1: worker-0 and worker-1 together; batch 2: worker-2 after both.
    expect(after("worker-1-upgrade-drain", "worker-0-upgrade-restore")).toBe(false);
    expect(after("worker-0-upgrade-drain", "worker-1-upgrade-restore")).toBe(false);
    expect(after("worker-2-upgrade-drain", "worker-0-upgrade-restore")).toBe(true);
    expect(after("worker-2-upgrade-drain", "worker-1-upgrade-restore")).toBe(true);
  });

  test("every step's triggers include the target version", () => {
    expect(upgradeSteps().length).toBe(20);
    for (const c of upgradeSteps()) expect(c.inputs.triggers).toContain(NEW);
  });

  test("the add-ons that track the minor move after the control planes; cluster-ready waits for all", () => {
    const controller = step("cloud-controller");
    expect(controller.inputs.triggers).toEqual(["v1.34.3"]);
    expect(after("cloud-controller", "cp-2-upgrade-restore")).toBe(true);
    for (const c of upgradeSteps()) {
      expect(graph.transitiveDependencies(step("cluster-ready")).has(c.urn)).toBe(true);
    }
    expect(step("cluster-ready").inputs.triggers).toContain(NEW);
    expect(step("bastion-tools").inputs.triggers).toContain(NEW);
    expect(script(step("bastion-tools"))).toContain(`readonly KUBERNETES_VERSION=${NEW}`);
  });
});

test("the plan lists the rollout, stage by stage", async () => {
  await up({ kubernetesVersion: OLD });
  const { cluster } = await up({ kubernetesVersion: NEW });
  const plan = await valueOf(cluster.bootstrapArtifacts.get("upgrade-plan.txt")!);
  expect(plan.split("\n").filter(Boolean)).toEqual([
    `rolling upgrade ${OLD} -> ${NEW}:`,
    `  1. ${NAME}-cp-0: drain, kubeadm upgrade apply, kubelet, uncordon`,
    `  2. ${NAME}-cp-1: drain, kubeadm upgrade node, kubelet, uncordon`,
    `  3. ${NAME}-cp-2: drain, kubeadm upgrade node, kubelet, uncordon`,
    `  4. ${NAME}-worker-0: drain, kubeadm upgrade node, kubelet, uncordon`,
    `  5. ${NAME}-worker-1: drain, kubeadm upgrade node, kubelet, uncordon`,
    `  6. ${NAME}-worker-2: drain, kubeadm upgrade node, kubelet, uncordon`,
  ]);
});

test("a node added during the upgrade installs the target and joins after the control planes", async () => {
  await up({ kubernetesVersion: OLD });
  await up({ kubernetesVersion: NEW, workers: { count: 4 } });
  const graph = new EngineGraph(h.resources);
  expect(upgradeSteps().some((c) => c.name.includes("worker-3"))).toBe(false);
  expect(script(step("worker-3-prepare"))).toContain(`readonly KUBERNETES_VERSION=${NEW}`);
  expect(
    graph.transitiveDependencies(step("worker-3-join")).has(step("cp-2-upgrade-restore").urn),
  ).toBe(true);
});

test("the record keeps the old version until the rollout is done: it waits for cluster-ready", async () => {
  await up({ kubernetesVersion: OLD });
  const { cluster, record } = await up({ kubernetesVersion: NEW });
  expect(record.kubernetesVersion).toBe(NEW);
  // The output's dependencies: a failed rollout never resolves it, so the stack keeps its old one.
  const deps = await (
    cluster.deploymentRecordOutput as unknown as { allResources(): Promise<Set<pulumi.Resource>> }
  ).allResources();
  const urns = await Promise.all([...deps].map((r) => valueOf(r.urn)));
  expect(urns).toContain(step("cluster-ready").urn);
});

test("a new cluster, or one at its version (after a finished rollout), has no upgrade step", async () => {
  await up({ kubernetesVersion: NEW });
  expect(upgradeSteps()).toEqual([]);
  const fresh = commands().length;
  h.setPreviousOutputs({});
  await up({ kubernetesVersion: OLD });
  await up({ kubernetesVersion: NEW });
  expect(upgradeSteps().length).toBeGreaterThan(0);
  // The rollout's record says NEW: the next run plans nothing, and its record is not held back.
  const { cluster } = await up({ kubernetesVersion: NEW });
  expect(upgradeSteps()).toEqual([]);
  expect(commands().length).toBe(fresh);
  const deps = await (
    cluster.deploymentRecordOutput as unknown as { allResources(): Promise<Set<pulumi.Resource>> }
  ).allResources();
  expect(deps.size).toBe(0);
});

describe("refused before anything is created", () => {
  async function refusal(from: string, to: string): Promise<string> {
    await up({ kubernetesVersion: from });
    const config = lib.validateClusterConfig({ ...base, kubernetesVersion: to });
    h.reset();
    const err = await lib.createKubeadmCluster(config, MOCK_CLUSTER_OPTIONS).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(h.resources).toEqual([]);
    return (err as ConfigError).problems.join("\n");
  }

  test("a skipped minor names both versions and the step in between", async () => {
    expect(await refusal("1.33.6", "1.35.0")).toMatch(
      /kubernetesVersion can move one minor version at a time: the cluster runs 1\.33\.6 and the stack now says 1\.35\.0.*Upgrade to a 1\.34\.x release first \(`pulumi config set kubernetesVersion 1\.34\.<patch>`/,
    );
  });

  test("a downgrade, even of a patch, says how to set it back", async () => {
    expect(await refusal("1.34.2", "1.34.1")).toMatch(
      /kubernetesVersion cannot go down: the cluster runs 1\.34\.2 and the stack now says 1\.34\.1.*`pulumi config set kubernetesVersion 1\.34\.2`/,
    );
  });
});

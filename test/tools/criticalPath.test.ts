/**
 * The modeled time to Ready (tools/criticalPath.ts): the algorithm on small hand-made graphs,
 * then on the program's real creation graph under mocks for 3 + 3. What is on the real path (the
 * load balancer or not) is left to `npm run bench`: it changes as the program is reshaped.
 */
import {
  commandStep,
  COMMAND_TYPE,
  criticalPath,
  DURATIONS,
  Durations,
  GraphResource,
  onPath,
  clock,
  minutes,
} from "../../tools/criticalPath";
import {
  Harness,
  installMocks,
  MOCK_CLUSTER_OPTIONS,
  RecordedResource,
  settle,
} from "../../tools/mockCloud";

const TABLE: Durations = {
  byType: { "t:fast": 10, "t:slow": 20, "t:end": 5, "t:prefix*": 7, "t:prefix/long*": 9 },
  byStep: { init: 100, "join-worker": 60, "join-control-plane": 90 },
  unknown: 3,
};

function res(
  name: string,
  type: string,
  dependencies: string[] = [],
  more: { parent?: string; deletedWith?: string } = {},
): GraphResource {
  return {
    urn: `urn:${name}`,
    type,
    name,
    dependencies: dependencies.map((d) => `urn:${d}`),
    parentUrn: more.parent ? `urn:${more.parent}` : "",
    deletedWith: more.deletedWith ? `urn:${more.deletedWith}` : "",
  };
}

const names = (r: ReturnType<typeof criticalPath>) => r.path.map((step) => step.name);

describe("criticalPath on hand-made graphs", () => {
  test("of two parallel branches the longer one is the path", () => {
    const r = criticalPath(
      [
        res("a", "t:fast"),
        res("b", "t:slow"),
        res("c", "t:end", ["a", "b"]),
        res("d", "t:fast", ["a"]),
      ],
      TABLE,
    );
    expect(r.seconds).toBe(25);
    expect(r.path).toEqual([
      { name: "b", type: "t:slow", start: 0, end: 20 },
      { name: "c", type: "t:end", start: 20, end: 25 },
    ]);
    expect(r.unknownTypes).toEqual([]);
  });

  test("a parent counts as a dependency; a component takes 0 s and is not unknown", () => {
    const r = criticalPath(
      [
        res("slow", "t:slow"),
        res("comp", "pkg:mod:Component", ["slow"]),
        res("child", "t:fast", [], { parent: "comp" }),
        res("custom-parent", "t:fast"),
        res("custom-child", "t:fast", [], { parent: "custom-parent" }),
      ],
      TABLE,
    );
    expect(names(r)).toEqual(["slow", "comp", "child"]);
    expect(r.path[1]).toEqual({ name: "comp", type: "pkg:mod:Component", start: 20, end: 20 });
    expect(r.seconds).toBe(30);
    expect(r.unknownTypes).toEqual([]);
    // A custom resource as parent keeps its own duration: its child starts after it.
    const alone = criticalPath(
      [
        res("custom-parent", "t:slow"),
        res("custom-child", "t:fast", [], { parent: "custom-parent" }),
      ],
      TABLE,
    );
    expect(alone.seconds).toBe(30);
  });

  test("a deletedWith target is waited for; dependencies outside the list are ignored", () => {
    const r = criticalPath(
      [res("target", "t:slow"), res("cmd", "t:end", ["not-recorded"], { deletedWith: "target" })],
      TABLE,
    );
    expect(names(r)).toEqual(["target", "cmd"]);
    expect(r.seconds).toBe(25);
  });

  test("unknown types and command steps get the default and are listed once", () => {
    const r = criticalPath(
      [
        res("x", "aws:new/thing:Thing"),
        res("y", "aws:new/thing:Thing", ["x"]),
        res("lab-cp-0-drain", COMMAND_TYPE, ["y"]),
        res("lab-cp-0-prepare", COMMAND_TYPE, ["y"]), // A known step the table leaves out.
        res("lab-cp-0-init", COMMAND_TYPE, ["y"]),
      ],
      TABLE,
    );
    expect(r.unknownTypes).toEqual([
      "aws:new/thing:Thing",
      `${COMMAND_TYPE} (step *-drain)`,
      `${COMMAND_TYPE} (step prepare)`,
    ]);
    expect(names(r)).toEqual(["x", "y", "lab-cp-0-init"]);
    expect(r.seconds).toBe(3 + 3 + 100);
  });

  test("prefix keys match, the longest first, an exact key before both", () => {
    const one = (type: string) => criticalPath([res("r", type)], TABLE).seconds;
    expect(one("t:prefix/short:A")).toBe(7);
    expect(one("t:prefix/long:B")).toBe(9);
    expect(one("t:fast")).toBe(10);
    expect(criticalPath([res("k", "tls:index/privateKey:PrivateKey")]).seconds).toBe(1);
  });

  test("a cycle throws and names the resources on it", () => {
    expect(() =>
      criticalPath(
        [res("a", "t:fast", ["c"]), res("b", "t:fast", ["a"]), res("c", "t:fast", ["b"])],
        TABLE,
      ),
    ).toThrow(/cycle: (a -> b -> c -> a|b -> c -> a -> b|c -> a -> b -> c)/);
    expect(() => criticalPath([res("self", "t:fast", ["self"])], TABLE)).toThrow(/self -> self/);
    expect(() =>
      criticalPath([res("p", "t:fast", [], { parent: "q" }), res("q", "t:fast", ["p"])], TABLE),
    ).toThrow(/cycle/);
  });

  test("an empty graph is 0 s", () => {
    expect(criticalPath([], TABLE)).toEqual({ seconds: 0, path: [], unknownTypes: [] });
  });

  test("onPath tells whether a type prefix is on the path", () => {
    const r = criticalPath(
      [
        res("lb", "aws:lb/loadBalancer:LoadBalancer"),
        res("rec", "aws:route53/record:Record"),
        res("init", COMMAND_TYPE, ["lb"]),
      ],
      { ...TABLE, byType: { "aws:lb/*": 180, "aws:route53/record:Record": 40 } },
    );
    expect(names(r)).toEqual(["lb", "init"]);
    expect(onPath(r, "aws:lb/")).toBe(true);
    expect(onPath(r, "aws:route53/record:")).toBe(false);
    expect(onPath(r, COMMAND_TYPE)).toBe(true);
  });

  test("commandStep reads the step from the name suffix and a join's role from -cp-/-worker-", () => {
    expect(commandStep("lab-cp-0-wait-ready")).toBe("wait-ready");
    expect(commandStep("lab-worker-3-prepare")).toBe("prepare");
    expect(commandStep("lab-cp-0-init")).toBe("init");
    expect(commandStep("lab-cni")).toBe("cni");
    expect(commandStep("lab-bastion-wait-ready")).toBe("wait-ready");
    expect(commandStep("lab-bastion-tools")).toBe("bastion-tools");
    expect(commandStep("lab-cp-1-join")).toBe("join-control-plane");
    expect(commandStep("lab-worker-1-join")).toBe("join-worker");
    // The node's own role wins over a cluster name that contains the other one.
    expect(commandStep("my-cp-lab-worker-1-join")).toBe("join-worker");
    expect(commandStep("my-worker-lab-cp-2-join")).toBe("join-control-plane");
    expect(commandStep("lab-worker-1-member")).toBe("member");
    expect(commandStep("lab-cluster-ready")).toBe("cluster-ready");
    expect(commandStep("lab-kubeconfig")).toBeUndefined();
    expect(commandStep("lab-bastion-join")).toBeUndefined();
    expect(commandStep("lab-cp-0-drain")).toBeUndefined();
  });

  test("times print as m:ss and N min S s", () => {
    expect(clock(0)).toBe("0:00");
    expect(clock(65)).toBe("1:05");
    expect(clock(702)).toBe("11:42");
    expect(minutes(702)).toBe("11 min 42 s");
  });
});

describe("criticalPath on the program, 3 + 3 under mocks", () => {
  let h: Harness;
  let result: ReturnType<typeof criticalPath>;
  const byName = (name: string, type: string): RecordedResource =>
    h.resources.find((r) => r.name === name && r.type === type)!;

  beforeAll(async () => {
    h = await installMocks();
    const lib = await import("../../components");
    const config = lib.validateClusterConfig({
      clusterName: "cpath",
      sshIngressCidrs: ["203.0.113.10/32"],
      controlPlane: { count: 3 },
      workers: { count: 3 },
      availabilityZoneCount: 3,
    });
    const cluster = await lib.createKubeadmCluster(config, MOCK_CLUSTER_OPTIONS);
    await settle(cluster.kubeconfig, cluster.nodes);
    result = criticalPath(h.resources);
  });

  test("the path ends at the cluster-ready step, when the last resource ends", () => {
    const last = result.path[result.path.length - 1]!;
    expect(last.type).toBe(COMMAND_TYPE);
    expect(commandStep(last.name)).toBe("cluster-ready");
    expect(last.end).toBe(result.seconds);
  });

  test("the path starts at 0 s at a resource with no dependencies and is a chain of the graph", () => {
    const first = byName(result.path[0]!.name, result.path[0]!.type);
    expect(result.path[0]!.start).toBe(0);
    expect({ deps: first.dependencies, parent: first.parentUrn, with: first.deletedWith }).toEqual({
      deps: [],
      parent: "",
      with: "",
    });
    for (let i = 1; i < result.path.length; i++) {
      const [prev, step] = [result.path[i - 1]!, result.path[i]!];
      const r = byName(step.name, step.type);
      const before = byName(prev.name, prev.type).urn;
      expect([...r.dependencies, r.parentUrn, r.deletedWith]).toContain(before);
      expect(step.start).toBe(prev.end);
    }
  });

  test("it is at least as long as instance -> wait-ready -> prepare -> init", () => {
    const { byType, byStep } = DURATIONS;
    const chain =
      byType["aws:ec2/instance:Instance"]! + byStep["wait-ready"]! + byStep.prepare! + byStep.init!;
    expect(result.seconds).toBeGreaterThanOrEqual(chain);
  });

  test("cp-0's join, where init ran, is modeled as the no-op it is; every step is known", () => {
    expect(result.unknownTypes).toEqual([]);
    const cp0 = result.path.find((s) => s.name === "cpath-cp-0-join");
    if (cp0) expect(cp0.end - cp0.start).toBe(DURATIONS.byStep["join-init-node"]);
  });

  test("every join of the program has a role", () => {
    const joins = h.resources.filter((r) => r.type === COMMAND_TYPE && r.name.endsWith("-join"));
    expect(joins.length).toBeGreaterThan(0);
    for (const join of joins) {
      expect([join.name, commandStep(join.name)]).toEqual([
        join.name,
        join.name.includes("-cp-") ? "join-control-plane" : "join-worker",
      ]);
    }
  });
});

/**
 * The bootstrap chain under mocks, for 3 control planes + 3 workers with (containerd, Flannel)
 * and (cri-dockerd, Calico): the dependency graph has the shape of DESIGN.md, secrets travel
 * on stdin only, and the kubeconfig output is secret.
 */
import * as pulumi from "@pulumi/pulumi";
import {
  stdoutMarker,
  mockToken,
  Harness,
  installMocks,
  settle,
  valueOf,
  MOCK_CLUSTER_OPTIONS,
} from "../../tools/mockCloud";

let h: Harness;
let lib: typeof import("../../components");

type Built = Awaited<ReturnType<typeof build>>;

async function build(name: string, input: Parameters<typeof lib.validateClusterConfig>[0]) {
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
  const commands = h.byType("command:remote:Command").filter((r) => r.name.startsWith(`${name}-`));
  const byUrn = new Map(h.resources.map((r) => [r.urn, r]));
  const urnOf = (resource: string) => h.byName(resource).urn;
  /** Names of the resources `resource` depends on directly. */
  const direct = (resource: string): Set<string> =>
    new Set(h.byName(resource).dependencies.map(h.nameOfUrn));
  /** Everything `resource` depends on, transitively (walked by URN). */
  const closureResources = (resource: string) =>
    [...closureUrns(resource)].map((u) => byUrn.get(u)!);
  /** Names of everything `resource` depends on, transitively (walked by URN). */
  const closure = (resource: string): Set<string> =>
    new Set([...closureUrns(resource)].map(h.nameOfUrn));
  function closureUrns(resource: string): Set<string> {
    const seen = new Set<string>();
    const stack = [urnOf(resource)];
    while (stack.length) {
      for (const dep of byUrn.get(stack.pop()!)?.dependencies ?? []) {
        if (!seen.has(dep)) {
          seen.add(dep);
          stack.push(dep);
        }
      }
    }
    return seen;
  }
  const create = (resource: string): string => h.byName(resource).inputs.create as string;
  return { name, cluster, commands, direct, closure, closureResources, create };
}

const scenarios: [string, Parameters<typeof lib.validateClusterConfig>[0]][] = [
  ["cf", { containerRuntime: "containerd", cni: "flannel" }],
  ["dc", { containerRuntime: "cri-dockerd", cni: "calico", os: "ubuntu-22.04" }],
];
const built = new Map<string, Built>();

beforeAll(async () => {
  h = await installMocks();
  lib = await import("../../components");
  for (const [name, input] of scenarios) built.set(name, await build(name, input));
});

describe.each(scenarios.map(([name]) => name))("the %s cluster's command graph", (name) => {
  const b = () => built.get(name)!;
  const cp = (i: number) => `${name}-cp-${i}`;
  const w = (i: number) => `${name}-worker-${i}`;

  test("has one wait-ready and prepare per node and one creds/join/member per joining node", () => {
    const names = b().commands.map((c) => c.name);
    expect(names).toHaveLength(6 * 2 + 2 + 5 * 3 + 2);
    for (const node of [cp(0), cp(1), cp(2), w(0), w(1), w(2)]) {
      expect(names).toEqual(expect.arrayContaining([`${node}-wait-ready`, `${node}-prepare`]));
    }
    expect(names).toEqual(
      expect.arrayContaining([
        `${cp(0)}-init`,
        `${name}-cni`,
        `${name}-cluster-ready`,
        `${name}-kubeconfig`,
      ]),
    );
    expect(names.filter((n) => n.endsWith("-join"))).toHaveLength(5);
  });

  test("prepare waits for its own node only, never for the load balancer", () => {
    for (const node of [cp(0), cp(2), w(1)]) {
      const deps = [...b().closure(`${node}-prepare`)];
      expect(deps).toContain(`${node}-wait-ready`);
      const lb = b()
        .closureResources(`${node}-prepare`)
        .filter((r) => r.type.startsWith("aws:lb/"));
      expect(lb.map((r) => r.name)).toEqual([]);
      expect(deps.filter((d) => d.endsWith("-prepare") || d.endsWith("-init"))).toEqual([]);
    }
  });

  test("init runs on the first control plane right after its prepare, waiting for no load balancer", () => {
    const deps = b().direct(`${cp(0)}-init`);
    expect(deps).toContain(`${cp(0)}-prepare`);
    const lb = b()
      .closureResources(`${cp(0)}-init`)
      .filter((r) => r.type.startsWith("aws:lb/") || r.type.startsWith("aws:route53/"));
    expect(lb.map((r) => r.name)).toEqual([]);
  });

  test("every join comes after init, each right after its own fresh credentials", () => {
    for (const node of [cp(1), cp(2), w(0), w(1), w(2)]) {
      expect(b().closure(`${node}-join`)).toContain(`${cp(0)}-init`);
      expect(b().direct(`${node}-join`)).toContain(`${node}-creds`);
      expect(b().direct(`${node}-creds`)).toEqual(expect.any(Set));
      expect([...b().direct(`${node}-creds`)]).toEqual(
        expect.arrayContaining([`${cp(0)}-init`, `${node}-prepare`]),
      );
    }
  });

  test("control-plane nodes join one at a time", () => {
    expect(b().closure(`${cp(2)}-creds`)).toContain(`${cp(1)}-join`);
    expect(b().closure(`${cp(1)}-join`)).not.toContain(`${cp(2)}-join`);
  });

  test("control-plane members are removed in reverse order (each depends on the previous)", () => {
    expect(b().direct(`${cp(2)}-member`)).toContain(`${cp(2)}-join`);
    expect(b().closure(`${cp(2)}-member`)).toContain(`${cp(1)}-member`);
  });

  test("workers join in parallel: no worker waits for another worker or for a control-plane join", () => {
    for (const node of [w(0), w(1), w(2)]) {
      const deps = [...b().closure(`${node}-join`)];
      expect(deps.filter((d) => /-(join|member)$/.test(d))).toEqual([]);
    }
  });

  test("the CNI goes on after init; cluster-ready waits for it, every join and every member", () => {
    expect(b().direct(`${name}-cni`)).toContain(`${cp(0)}-init`);
    const ready = b().closure(`${name}-cluster-ready`);
    for (const node of [cp(1), cp(2), w(0), w(1), w(2)]) {
      expect(ready).toContain(`${node}-join`);
      expect(ready).toContain(`${node}-member`);
    }
    expect(ready).toContain(`${name}-cni`);
    expect(b().direct(`${name}-kubeconfig`)).toContain(`${name}-cluster-ready`);
  });

  test("the chain is at most init -> creds/join per control plane -> ready deep", () => {
    // Longest path in commands: wait-ready, prepare, init, (creds, join) x 2, member x 2, ready, kubeconfig.
    const depth = new Map<string, number>();
    const isCommand = (n: string) => b().commands.some((c) => c.name === n);
    // direct() works on names; command names are unique.
    const d = (n: string): number => {
      if (!depth.has(n)) {
        const deps = [...b().direct(n)].filter(isCommand);
        depth.set(n, 1 + Math.max(0, ...deps.map(d)));
      }
      return depth.get(n)!;
    };
    expect(d(`${name}-kubeconfig`)).toBeLessThanOrEqual(11);
  });

  test("scripts carry no secrets; the token and keys travel on stdin", async () => {
    const tokens = b()
      .commands.filter((c) => c.name.endsWith("-creds"))
      .map((c) => mockToken(c.name));
    expect(tokens.length).toBeGreaterThan(0);
    for (const c of b().commands) {
      const text = `${c.inputs.create ?? ""}${c.inputs.delete ?? ""}${c.inputs.update ?? ""}`;
      for (const token of tokens) expect(text).not.toContain(token);
      expect(text).not.toContain("c0ffee");
      expect(text).not.toContain("PRIVATE KEY");
      expect(c.inputs.environment).toBeUndefined();
      expect(c.inputs.addPreviousOutputInEnv).toBe(false);
    }
    const joinCp = h.byName(`${cp(1)}-join`).inputs.stdin as string;
    const entries = Object.fromEntries(
      joinCp
        .trim()
        .split("\n")
        .map((l) => [l.split(" ")[0], Buffer.from(l.split(" ")[1]!, "base64").toString()]),
    );
    expect(entries).toEqual({
      token: mockToken(`${cp(1)}-creds`),
      "certificate-key": "c0ffee".padEnd(64, "0"),
    });
    const joinWorker = h.byName(`${w(0)}-join`).inputs.stdin as string;
    expect(
      joinWorker
        .trim()
        .split("\n")
        .map((l) => l.split(" ")[0]),
    ).toEqual(["token"]);
    const init = h.byName(`${cp(0)}-init`).inputs.stdin as string;
    expect(
      init
        .trim()
        .split("\n")
        .map((l) => l.split(" ")[0]),
    ).toEqual([
      "certificate-key",
      "pki/ca.crt",
      "pki/ca.key",
      "pki/etcd/ca.crt",
      "pki/etcd/ca.key",
      "pki/front-proxy-ca.crt",
      "pki/front-proxy-ca.key",
      "pki/sa.key",
      "pki/sa.pub",
    ]);
  });

  test("steps that print secrets keep stdout out of the logs and mark it secret", () => {
    for (const step of [`${cp(1)}-creds`, `${w(2)}-creds`, `${name}-kubeconfig`]) {
      expect(h.byName(step).additionalSecretOutputs).toContain("stdout");
      expect(h.byName(step).inputs.logging).toBe("stderr");
    }
    expect(h.byName(`${cp(0)}-init`).inputs.logging).toBe("stdoutAndStderr");
  });

  test("secret inputs stay secret: join stdin and the kubeconfig output", async () => {
    const join = b().cluster.bootstrapCommands.get(`${w(0)}-join`)!;
    expect(await pulumi.isSecret(join.stdin as pulumi.Output<string>)).toBe(true);
    expect(await pulumi.isSecret(b().cluster.kubeconfig)).toBe(true);
    // The kubeconfig the cluster printed, pointed at the public load balancer.
    const kubeconfig = await valueOf(b().cluster.kubeconfig);
    expect(kubeconfig).toContain(stdoutMarker(`${name}-kubeconfig`));
    expect(kubeconfig).toContain(`tls-server-name: api.${name}.k8s.internal`);
  });

  test("bootstrap steps re-run only when their instances are replaced", () => {
    const instanceId = (node: string) => `${node.replace(`${name}-`, `${name}-nodes-`)}-id`;
    expect(h.byName(`${w(1)}-prepare`).inputs.triggers).toEqual([instanceId(w(1))]);
    expect(h.byName(`${w(1)}-creds`).inputs.triggers).toEqual([
      instanceId(cp(0)),
      instanceId(w(1)),
    ]);
    expect(h.byName(`${w(1)}-join`).inputs.update).toContain("running nodes are left as they are");
  });

  test("removing a node drains it and deletes it from the API (and etcd for control planes)", () => {
    const worker = h.byName(`${w(0)}-member`).inputs.delete as string;
    expect(worker).toContain("readonly NODE_ROLE=worker");
    expect(worker).toMatch(/readonly NODE_NAME=ip-10-0-\d+-\d+\.ec2\.internal/);
    const control = h.byName(`${cp(2)}-member`).inputs.delete as string;
    expect(control).toContain("readonly NODE_ROLE=control-plane");
  });
});

describe("runtime and CNI specifics reach the scripts", () => {
  test("cri-dockerd's socket is given to kubeadm on init and every join", () => {
    expect(h.byName("dc-cp-0-init").inputs.create).toContain("unix:///run/cri-dockerd.sock");
    expect(h.byName("dc-worker-0-join").inputs.create).toContain(
      "criSocket: unix:///run/cri-dockerd.sock",
    );
    expect(h.byName("cf-worker-0-join").inputs.create).toContain(
      "criSocket: unix:///run/containerd/containerd.sock",
    );
  });

  test("Calico is installed in VXLAN mode with the pod CIDR; Flannel gets the pod CIDR to patch in", () => {
    const calico = h.byName("dc-cni").inputs.create as string;
    expect(calico).toContain("readonly CNI=calico");
    expect(calico).toContain("encapsulation: VXLAN");
    expect(calico).toContain("cidr: 10.244.0.0/16");
    const flannel = h.byName("cf-cni").inputs.create as string;
    expect(flannel).toContain("readonly CNI=flannel");
    expect(flannel).toContain("readonly POD_CIDR=10.244.0.0/16");
    expect(flannel).toMatch(
      /flannel-io\/flannel\/releases\/download\/v0\.\d+\.\d+\/kube-flannel\.yml/,
    );
  });

  test("the kubeadm config names the fixed private API name as controlPlaneEndpoint and SAN", () => {
    const init = h.byName("cf-cp-0-init").inputs.create as string;
    expect(init).toContain("controlPlaneEndpoint: api.cf.k8s.internal:6443");
    expect(init).toContain("- api.cf.k8s.internal");
    expect(init).toContain("readonly API_ENDPOINT_HOST=api.cf.k8s.internal");
    expect(init).toContain("kubeadm.k8s.io/v1beta4");
  });

  test("joins pin the CA by the hash computed in the program", () => {
    expect(h.byName("cf-worker-1-join").inputs.create).toMatch(
      /caCertHashes:\n\s+- sha256:[0-9a-f]{64}/,
    );
  });
});

describe("an update never empties an output the program uses", () => {
  /** Every string in a resource's inputs, with secret-bundle values decoded. */
  function strings(value: unknown): string[] {
    if (typeof value === "string") {
      const bundle = /^([a-z0-9][a-z0-9._/-]* [A-Za-z0-9+/=]*\n)+$/.test(value);
      return bundle
        ? [
            value,
            ...value
              .trim()
              .split("\n")
              .map((l) => Buffer.from(l.split(" ")[1]!, "base64").toString()),
          ]
        : [value];
    }
    if (Array.isArray(value)) return value.flatMap(strings);
    if (value && typeof value === "object") return Object.values(value).flatMap(strings);
    return [];
  }

  test("each command whose stdout reaches another resource or an output prints it again on update", async () => {
    const cf = built.get("cf")!;
    const consumed = new Set<string>();
    const elsewhere = h.resources.map((r) => ({
      name: r.name,
      text: strings(r.inputs).join("\n"),
    }));
    const outputs = [await valueOf(cf.cluster.kubeconfig)];
    for (const c of cf.commands) {
      const marker = stdoutMarker(c.name);
      const used =
        elsewhere.some((r) => r.name !== c.name && r.text.includes(marker)) ||
        outputs.some((o) => o.includes(marker));
      if (used) consumed.add(c.name);
    }
    // The ones the program reads: each node's credentials and the kubeconfig.
    expect([...consumed].sort()).toEqual(
      [
        ...["cp-1", "cp-2", "worker-0", "worker-1", "worker-2"].map((n) => `cf-${n}-creds`),
        "cf-kubeconfig",
      ].sort(),
    );
    for (const c of cf.commands) {
      if (consumed.has(c.name)) {
        // pulumi-command replaces stdout with the update command's: it must be the script again.
        expect(c.inputs.update).toBe(c.inputs.create);
      } else {
        expect(c.inputs.update).toContain("running nodes are left as they are");
      }
    }
  });
});

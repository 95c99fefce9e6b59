/**
 * The bootstrap chain under mocks, for 3 control planes + 3 workers with (containerd, Flannel)
 * and (cri-dockerd, Calico): the dependency graph has the shape of DESIGN.md, no node is special
 * (cp-0 runs its own steps and init, nothing else), credentials travel on stdin only, and no
 * step's output is read by the program.
 */
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import {
  Harness,
  installMocks,
  MOCK_CLUSTER_OPTIONS,
  RecordedResource,
  settle,
  stdoutMarker,
  valueOf,
} from "../../tools/mockCloud";
import { libraryText } from "../../render/script";
import { bundleEntries } from "../support/bundles";

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
  const nodes = await valueOf(cluster.nodes);
  const bastionIp = await valueOf(cluster.bastionIp);
  /** Where a command runs: a node's name, or "bastion". */
  const runsOn = (c: RecordedResource): string => {
    const host = c.inputs.connection.host as string;
    if (host === bastionIp) return "bastion";
    const node = nodes.find((n) => n.privateIp === host);
    if (!node) throw new Error(`${c.name} runs on an unknown host ${host}`);
    return node.name;
  };
  return { name, cluster, commands, direct, closure, closureResources, runsOn, bastionIp };
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

/** Every script a command would run: create, update and delete. */
const scriptsOf = (c: RecordedResource) =>
  [c.inputs.create, c.inputs.update, c.inputs.delete].filter(Boolean).join("\n");

describe.each(scenarios.map(([name]) => name))("the %s cluster's command graph", (name) => {
  const b = () => built.get(name)!;
  const cp = (i: number) => `${name}-cp-${i}`;
  const w = (i: number) => `${name}-worker-${i}`;
  const nodes = () => [cp(0), cp(1), cp(2), w(0), w(1), w(2)];

  test("has wait-ready, prepare, join and member per node, timers per control plane, and nine cluster steps", () => {
    const names = b().commands.map((c) => c.name);
    for (const node of nodes()) {
      expect(names).toEqual(
        expect.arrayContaining(
          ["wait-ready", "prepare", "join", "member"].map((s) => `${node}-${s}`),
        ),
      );
    }
    expect(names).toEqual(
      expect.arrayContaining([
        `${name}-bastion-wait-ready`,
        `${name}-bastion-tools`,
        `${cp(0)}-init`,
        `${name}-etcd-prune`,
        `${name}-cni`,
        `${name}-cluster-ready`,
        // cloudProvider aws (the default): the two add-ons and the release on destroy.
        `${name}-cloud-controller`,
        `${name}-ebs-csi`,
        `${name}-release-cloud-resources`,
      ]),
    );
    // Each control plane's etcd snapshot and certificate renewal jobs.
    for (const i of [0, 1, 2]) expect(names).toContain(`${cp(i)}-timers`);
    expect(names).toHaveLength(6 * 4 + 3 + 9);
  });

  test("no command runs on cp-0 except cp-0's own node steps and init", () => {
    const onCp0 = b()
      .commands.filter((c) => b().runsOn(c) === cp(0))
      .map((c) => c.name);
    expect(onCp0.sort()).toEqual(
      ["init", "join", "prepare", "timers", "wait-ready"].map((s) => `${cp(0)}-${s}`).sort(),
    );
  });

  test("each node runs only its own steps; every cluster-level step runs on the bastion", () => {
    for (const c of b().commands) {
      const where = b().runsOn(c);
      if (c.name === `${cp(0)}-init`) continue;
      const own = nodes().find((n) => c.name.startsWith(`${n}-`) && !c.name.endsWith("-member"));
      expect({ step: c.name, where }).toEqual({ step: c.name, where: own ?? "bastion" });
    }
    for (const step of [
      `${name}-cni`,
      `${name}-cluster-ready`,
      `${w(1)}-member`,
      `${cp(2)}-member`,
    ]) {
      expect(h.byName(step).inputs.connection.proxy).toBeUndefined();
    }
    expect(h.byName(`${w(1)}-join`).inputs.connection.proxy.host).toBe(b().bastionIp);
  });

  test("a join depends on no command of another node, apart from init and the previous control-plane join", () => {
    for (const node of nodes()) {
      const join = `${node}-join`;
      const deps = b().commands.filter((c) => b().direct(join).has(c.name));
      const others = deps
        .filter((c) => ![node, "bastion"].includes(b().runsOn(c)))
        .map((c) => c.name);
      // On the bastion, a control-plane join waits for the etcd check only; a worker for nothing.
      const onBastion = deps.filter((c) => b().runsOn(c) === "bastion").map((c) => c.name);
      expect({ join, onBastion }).toEqual({
        join,
        onBastion: node.includes("-cp-") ? [`${name}-etcd-prune`] : [],
      });
      const i = nodes().indexOf(node);
      // cp-0's join runs where init ran (a no-op there); every other join waits for init.
      const allowed = [
        ...(node === cp(0) ? [] : [`${cp(0)}-init`]),
        ...(node.includes("-cp-") && i > 0 ? [`${cp(i - 1)}-join`] : []),
      ];
      expect({ join, others: others.sort() }).toEqual({ join, others: allowed.sort() });
      expect(b().direct(join)).toContain(`${node}-prepare`);
    }
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

  test("init waits for cp-0's prepare and no load balancer; control-plane joins for no load balancer either", () => {
    expect(b().direct(`${cp(0)}-init`)).toContain(`${cp(0)}-prepare`);
    for (const step of [`${cp(0)}-init`, `${cp(1)}-join`, `${cp(2)}-join`]) {
      const api = b()
        .closureResources(step)
        .filter((r) => r.type.startsWith("aws:lb/") || r.type.startsWith("aws:route53/"));
      expect({ step, api: api.map((r) => r.name) }).toEqual({ step, api: [] });
    }
  });

  test("init runs once for the cluster: no triggers, and it ignores changes to every input", () => {
    const init = h.byName(`${cp(0)}-init`);
    expect(init.inputs.triggers).toEqual([]);
    for (const key of Object.keys(init.inputs)) expect(init.ignoreChanges).toContain(key);
  });

  test("the etcd check runs after init, before every control-plane join, and again when a control plane is replaced", () => {
    expect([...b().direct(`${name}-etcd-prune`)]).toEqual(
      expect.arrayContaining([`${cp(0)}-init`, `${name}-bastion-tools`]),
    );
    const instanceId = (node: string) => `${node.replace(`${name}-`, `${name}-nodes-`)}-id`;
    expect(h.byName(`${name}-etcd-prune`).inputs.triggers).toEqual(
      [cp(0), cp(1), cp(2)].map(instanceId),
    );
    const script = h.byName(`${name}-etcd-prune`).inputs.create as string;
    expect(script).toMatch(/CONTROL_PLANE_IPS=\(10\.0\.\d+\.\d+ 10\.0\.\d+\.\d+ 10\.0\.\d+\.\d+\)/);
    // It reaches the API servers directly, so no load balancer or DNS record is in its way.
    const api = b()
      .closureResources(`${name}-etcd-prune`)
      .filter((r) => r.type.startsWith("aws:lb/") || r.type.startsWith("aws:route53/"));
    expect(api).toEqual([]);
  });

  test("control planes join one at a time, cp-0 first, and leave in reverse order", () => {
    expect(b().direct(`${cp(0)}-join`)).toContain(`${cp(0)}-init`);
    expect(b().direct(`${cp(1)}-join`)).toContain(`${cp(0)}-join`);
    expect(b().direct(`${cp(2)}-join`)).toContain(`${cp(1)}-join`);
    expect(b().closure(`${cp(1)}-join`)).not.toContain(`${cp(2)}-join`);
    expect(b().direct(`${cp(2)}-member`)).toContain(`${cp(2)}-join`);
    expect(b().direct(`${cp(2)}-member`)).toContain(`${cp(1)}-member`);
    expect(b().direct(`${cp(1)}-member`)).toContain(`${cp(0)}-member`);
  });

  test("workers join in parallel: no worker waits for another node's join or member", () => {
    for (const node of [w(0), w(1), w(2)]) {
      const deps = [...b().closure(`${node}-join`)];
      expect(deps.filter((d) => /-(join|member)$/.test(d))).toEqual([]);
    }
  });

  test("the CNI goes on after init from the bastion; cluster-ready waits for it and every member", () => {
    expect([...b().direct(`${name}-cni`)]).toEqual(
      expect.arrayContaining([`${cp(0)}-init`, `${name}-bastion-tools`]),
    );
    const ready = b().closure(`${name}-cluster-ready`);
    for (const node of nodes()) {
      expect(ready).toContain(`${node}-join`);
      expect(ready).toContain(`${node}-member`);
    }
    expect(ready).toContain(`${name}-cni`);
  });

  test("no script creates a token, uploads certificates, reads admin.conf or carries a secret", () => {
    for (const c of b().commands) {
      const text = scriptsOf(c);
      expect({ step: c.name, tokenCreate: /token\s+create/.test(text) }).toEqual({
        step: c.name,
        tokenCreate: false,
      });
      expect(text).not.toMatch(/upload-certs/);
      expect(text).not.toContain("-----BEGIN");
      expect(c.inputs.environment).toBeUndefined();
      expect(c.inputs.addPreviousOutputInEnv).toBe(false);
    }
    // The shared libraries name admin.conf (init and join use it); no bastion step's own body does.
    for (const step of [`${name}-cni`, `${name}-cluster-ready`, `${w(0)}-member`]) {
      const body = scriptsOf(h.byName(step)).replaceAll(libraryText(), "");
      expect(body).not.toMatch(/admin\.conf/);
      expect(body).toContain("use_cluster_credentials");
    }
  });

  test("credentials travel on stdin: the discovery file, the CA files for control planes, the program's kubeconfig for the bastion", async () => {
    const keys = (step: string) => Object.keys(bundleEntries(h.byName(step).inputs.stdin)).sort();
    const pki = [
      "pki/ca.crt",
      "pki/ca.key",
      "pki/etcd/ca.crt",
      "pki/etcd/ca.key",
      "pki/front-proxy-ca.crt",
      "pki/front-proxy-ca.key",
      "pki/sa.key",
      "pki/sa.pub",
    ];
    expect(keys(`${cp(0)}-init`)).toEqual(pki);
    for (const i of [0, 1, 2]) expect(keys(`${cp(i)}-join`)).toEqual(["discovery.conf", ...pki]);
    // Workers get no CA files: kubeadm's preflight refuses a worker with pki/ca.crt in place.
    expect(keys(`${w(0)}-join`)).toEqual(["discovery.conf"]);
    for (const step of [`${name}-cni`, `${name}-cluster-ready`, `${w(2)}-member`]) {
      expect(keys(step)).toEqual(["kubeconfig"]);
    }
    for (const step of [`${w(0)}-join`, `${cp(1)}-join`, `${cp(0)}-init`, `${name}-cni`]) {
      const command = b().cluster.bootstrapCommands.get(step)!;
      expect(await pulumi.isSecret(command.stdin as pulumi.Output<string>)).toBe(true);
    }
  });

  test("each join's discovery file names the node, the cluster CA and the private API name", () => {
    for (const node of [cp(1), w(2)]) {
      const discovery = parse(
        bundleEntries(h.byName(`${node}-join`).inputs.stdin)["discovery.conf"]!,
      );
      expect(discovery["current-context"]).toBe(discovery.contexts[0].name);
      expect(discovery.clusters[0].cluster.server).toBe(`https://api.${name}.k8s.internal:6443`);
      expect(discovery.users[0].name).toMatch(/^system:node:ip-10-0-\d+-\d+\.ec2\.internal$/);
    }
  });

  test("the bastion's kubeconfig is the program's own identity, at the private name", () => {
    const ops = parse(bundleEntries(h.byName(`${name}-cni`).inputs.stdin).kubeconfig!);
    expect(ops.users[0].name).toBe("kubeadm-aws:operations");
    expect(ops.clusters[0].cluster.server).toBe(`https://api.${name}.k8s.internal:6443`);
    expect(ops.clusters[0].cluster["tls-server-name"]).toBeUndefined();
  });

  test("node steps re-run only when their instance is replaced; the bastion's when the bastion or the version changes", () => {
    const instanceId = (node: string) => `${node.replace(`${name}-`, `${name}-nodes-`)}-id`;
    for (const step of ["prepare", "join", "member"]) {
      expect(h.byName(`${w(1)}-${step}`).inputs.triggers).toEqual([instanceId(w(1))]);
      expect(h.byName(`${cp(0)}-${step}`).inputs.triggers).toEqual([instanceId(cp(0))]);
    }
    // kubectl on the bastion follows the cluster's version (a rolling upgrade re-runs it).
    expect(h.byName(`${name}-bastion-tools`).inputs.triggers).toEqual([
      `${name}-bastion-id`,
      "1.34.2",
    ]);
    expect(h.byName(`${name}-cni`).inputs.triggers).toEqual([]);
    expect(h.byName(`${w(1)}-join`).inputs.update).toContain("running nodes are left as they are");
  });

  test("removing a node drains it and deletes it from the API (and etcd for control planes), from the bastion", () => {
    const worker = h.byName(`${w(0)}-member`).inputs.delete as string;
    expect(worker).toContain("readonly NODE_ROLE=worker");
    expect(worker).toMatch(/readonly NODE_NAME=ip-10-0-\d+-\d+\.ec2\.internal/);
    const control = h.byName(`${cp(0)}-member`).inputs.delete as string;
    expect(control).toContain("readonly NODE_ROLE=control-plane");
    expect(control).toMatch(/readonly NODE_IP=10\.0\.\d+\.\d+/);
  });

  test("the admin kubeconfig output is secret and names the public load balancer with the private name", async () => {
    expect(await pulumi.isSecret(b().cluster.kubeconfig)).toBe(true);
    const kubeconfig = parse(await valueOf(b().cluster.kubeconfig));
    expect(kubeconfig.clusters[0].cluster.server).toMatch(
      /^https:\/\/.*-api-.*\.elb\.us-east-1\.amazonaws\.com:6443$/,
    );
    expect(kubeconfig.clusters[0].cluster["tls-server-name"]).toBe(`api.${name}.k8s.internal`);
    expect(kubeconfig.users[0].name).toBe("kubernetes-admin");
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

  test("joins discover the cluster through a file, and a joining control plane knows the others' addresses", async () => {
    const artifacts = built.get("cf")!.cluster.bootstrapArtifacts;
    for (const node of ["cf-worker-1", "cf-cp-0", "cf-cp-2"]) {
      const join = await valueOf(artifacts.get(`${node}/kubeadm-join.yaml`)!);
      expect(join).toContain('kubeConfigPath: "__DISCOVERY_FILE__"');
      expect(join).not.toMatch(/bootstrapToken|caCertHashes|certificateKey/);
      expect(h.byName(`${node}-join`).inputs.create).toContain(join);
    }
    const cp1 = h.byName("cf-cp-1-join").inputs.create as string;
    expect(cp1).toMatch(/CONTROL_PLANE_IPS=\(10\.0\.\d+\.\d+ 10\.0\.\d+\.\d+\)/);
  });
});

test("the program reads no step's output: an update, which replaces stdout, loses nothing", async () => {
  const cf = built.get("cf")!;
  const texts = [
    ...h.resources.map((r) => JSON.stringify(r.inputs)),
    await valueOf(cf.cluster.kubeconfig),
    JSON.stringify(await valueOf(cf.cluster.nodes)),
  ];
  for (const c of cf.commands) {
    const marker = stdoutMarker(c.name);
    expect({ step: c.name, read: texts.some((t) => t.includes(marker)) }).toEqual({
      step: c.name,
      read: false,
    });
    expect(c.inputs.update).toContain("running nodes are left as they are");
  }
});

/**
 * The steps that run on the bastion against the API with the program's kubeconfig on stdin:
 * register-node, cni, cluster-ready (and remove-node, see remove-node.test.ts). The bastion has no
 * admin.conf; the kubeconfig lives in a private tmpfs directory while the step runs.
 */
import * as fs from "fs";

import {
  renderClusterReady,
  renderCni,
  renderRegisterNode,
  renderRemoveNode,
} from "../../render/steps";
import { callsOf, sandboxTest } from "./sandbox";
import {
  calicoInputs,
  CLUSTER_KUBECONFIG,
  clusterBundle,
  flannelInputs,
  SECRET_MARKERS,
} from "./params";

/** The bastion's stdin for these steps. */
const stdin = clusterBundle();

describe.each([
  [
    "register-node",
    renderRegisterNode({ nodeName: "ip-192-0-2-21", role: "worker", timeoutSeconds: 30 }),
    { DOUBLE_NODES: "cp-0=True ip-192-0-2-21=True" },
  ],
  ["cni", renderCni(flannelInputs), {}],
  ["cluster-ready", renderClusterReady({ nodeNames: ["cp-0"], timeoutSeconds: 30 }), {}],
  [
    "remove-node",
    renderRemoveNode({
      nodeName: "w-0",
      nodeIp: "192.0.2.21",
      role: "worker",
      drainTimeoutSeconds: 60,
      apiWaitSeconds: 1,
    }),
    { DOUBLE_NODES: "cp-0=True w-0=True" },
  ],
] as const)("%s on the bastion", (_name, script, env) => {
  sandboxTest(
    "reads the kubeconfig from stdin into tmpfs, uses it for every kubectl call, and removes it on exit",
    async (sb) => {
      const r = await sb.run(script, { stdin, env });
      expect(r.code).toBe(0);
      expect(callsOf(sb, "kubectl").length).toBeGreaterThan(0);
      // One "KUBECONFIG mode" line per kubectl call, as the double saw it.
      const used = [...new Set(sb.stateFile("kubeconfigs").trim().split("\n"))];
      expect(used).toHaveLength(1);
      const [file = "", mode] = used[0]!.split(" ");
      // make_private_dir's directory: /run/kubeadm-aws/<step>.XXXXXX (tmpfs on the bastion).
      expect(file.startsWith(sb.path("/run/kubeadm-aws/"))).toBe(true);
      expect(file.slice(sb.path("/run/kubeadm-aws/").length)).toMatch(
        /^[a-z-]+\.\w{6}\/secrets\/kubeconfig$/,
      );
      expect(mode).toBe("600");
      expect(fs.existsSync(file)).toBe(false);
      expect(fs.readdirSync(sb.path("/run/kubeadm-aws"))).toEqual([]);
      expect(fs.readdirSync(sb.path("/etc"))).toEqual([]); // nothing under /etc, no admin.conf
      for (const secret of SECRET_MARKERS) {
        expect(r.stderr + r.stdout + sb.calls().join("\n")).not.toContain(secret);
      }
    },
  );

  sandboxTest(
    "refuses to run without the kubeconfig on stdin, before any kubectl call",
    async (sb) => {
      const r = await sb.run(script, { env });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("the secret bundle on stdin has no 'kubeconfig' entry");
      expect(callsOf(sb, "kubectl")).toEqual([]);
    },
  );
});

sandboxTest("a kubeconfig on stdin without a current context is refused", async (sb) => {
  const r = await sb.run(
    renderRegisterNode({ nodeName: "cp-1", role: "control-plane", timeoutSeconds: 30 }),
    { stdin: clusterBundle(CLUSTER_KUBECONFIG.replace(/^current-context: .*\n/m, "")) },
  );
  expect(r.code).toBe(1);
  expect(r.stderr).toContain("the kubeconfig entry on stdin: it has no current-context");
  expect(callsOf(sb, "kubectl")).toEqual([]);
});

describe("register-node", () => {
  sandboxTest("waits for the Node object, then labels a worker", async (sb) => {
    const r = await sb.run(
      renderRegisterNode({ nodeName: "ip-192-0-2-21", role: "worker", timeoutSeconds: 30 }),
      {
        stdin,
        env: { DOUBLE_NODES: "cp-0=True ip-192-0-2-21=False", DOUBLE_NODE_APPEARS_AFTER: "3" },
      },
    );
    expect(r.code).toBe(0);
    const kubectl = callsOf(sb, "kubectl");
    expect(kubectl.filter((c) => c.includes("get node ip-192-0-2-21"))).toHaveLength(3);
    expect(kubectl[kubectl.length - 1]).toBe(
      "kubectl --request-timeout=30s label node ip-192-0-2-21 --overwrite node-role.kubernetes.io/worker=",
    );
  });

  sandboxTest("does not label a control plane (kubeadm already did)", async (sb) => {
    const r = await sb.run(
      renderRegisterNode({ nodeName: "cp-1", role: "control-plane", timeoutSeconds: 30 }),
      { stdin, env: { DOUBLE_NODES: "cp-0=True cp-1=True" } },
    );
    expect(r.code).toBe(0);
    expect(callsOf(sb, "kubectl").some((c) => c.includes(" label "))).toBe(false);
  });

  sandboxTest("fails after its timeout when the node never registers", async (sb) => {
    const r = await sb.run(
      renderRegisterNode({ nodeName: "ip-192-0-2-99", role: "worker", timeoutSeconds: 1 }),
      { stdin },
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("timed out after 1s waiting for node ip-192-0-2-99 to register");
    expect(r.stderr).toContain('nodes "ip-192-0-2-99" not found');
  });
});

describe("cni", () => {
  sandboxTest(
    "Flannel: sets the pod CIDR in net-conf.json, applies, waits for the DaemonSet; a re-run converges",
    async (sb) => {
      const script = renderCni(flannelInputs);
      const r = await sb.run(script, { stdin });
      expect(r.code).toBe(0);
      const applied = sb.stateFile("applied.1");
      expect(applied).toContain('"Network": "10.32.0.0/16"');
      expect(applied).not.toContain("10.244.0.0/16");
      expect(applied).toContain("name: kube-flannel-ds");
      expect(callsOf(sb, "curl")).toContainEqual(
        expect.stringContaining(
          "https://github.com/flannel-io/flannel/releases/download/v0.27.4/kube-flannel.yml",
        ),
      );
      expect(callsOf(sb, "kubectl")).toContain(
        "kubectl -n kube-flannel rollout status daemonset/kube-flannel-ds --timeout=300s",
      );

      const again = await sb.run(script, { stdin });
      expect(again.code).toBe(0);
      expect(sb.stateFile("applied.2")).toBe(applied);
    },
  );

  sandboxTest(
    "Flannel: refuses a manifest whose net-conf no longer has the default network",
    async (sb) => {
      const r = await sb.run(renderCni(flannelInputs), {
        stdin,
        env: { DOUBLE_FLANNEL_FIXTURE: "kube-flannel-changed-shape.yml" },
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("the manifest's shape changed");
      expect(callsOf(sb, "kubectl").some((c) => c.includes(" apply "))).toBe(false);
    },
  );

  sandboxTest(
    "Calico: CRDs and operator server-side, waits for the CRD, applies the Installation, waits for Available",
    async (sb) => {
      const r = await sb.run(renderCni(calicoInputs), { stdin });
      expect(r.code).toBe(0);
      const kubectl = callsOf(sb, "kubectl").map((c) => c.replace(/ -f \S+/, " -f FILE"));
      expect(kubectl).toEqual([
        "kubectl --request-timeout=60s apply --server-side --force-conflicts -f FILE",
        "kubectl --request-timeout=60s apply --server-side --force-conflicts -f FILE",
        "kubectl wait --for=condition=Established --timeout=120s crd/installations.operator.tigera.io",
        "kubectl --request-timeout=60s apply --server-side --force-conflicts -f FILE",
        `kubectl --request-timeout=10s get tigerastatus calico -o jsonpath={.status.conditions[?(@.type=="Available")].status}`,
      ]);
      expect(sb.stateFile("applied.1")).toContain("operator-crds.yaml");
      expect(sb.stateFile("applied.2")).toContain("tigera-operator.yaml");
      expect(sb.stateFile("applied.3")).toBe(calicoInputs.calicoResources);
    },
  );

  sandboxTest("Calico: refuses resources whose IP pool does not match the pod CIDR", async (sb) => {
    const r = await sb.run(renderCni({ ...calicoInputs, podCidr: "10.99.0.0/16" }), { stdin });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("does not mention the pod CIDR 10.99.0.0/16");
  });
});

describe("cluster-ready", () => {
  sandboxTest("passes when every expected node is Ready and CoreDNS has rolled out", async (sb) => {
    const r = await sb.run(renderClusterReady({ nodeNames: ["cp-0", "w-0"], timeoutSeconds: 30 }), {
      stdin,
      env: { DOUBLE_NODES: "cp-0=True w-0=True" },
    });
    expect(r.code).toBe(0);
    expect(callsOf(sb, "kubectl")).toContainEqual(
      expect.stringMatching(
        /^kubectl -n kube-system rollout status deployment\/coredns --timeout=\d+s$/,
      ),
    );
    expect(r.stderr).toContain("cluster ready: 2 node(s) Ready");
  });

  sandboxTest(
    "gives up after its timeout and prints node conditions, stuck pods and events (no kubelet journal: the bastion runs none)",
    async (sb) => {
      const r = await sb.run(
        renderClusterReady({ nodeNames: ["cp-0", "w-0"], timeoutSeconds: 2 }),
        { stdin, env: { DOUBLE_NODES: "cp-0=True w-0=False" } },
      );
      expect(r.code).not.toBe(0);
      expect(r.ms).toBeLessThan(10000);
      expect(r.stderr).toContain("timed out after 2s waiting for 2 Ready node(s)");
      expect(r.stderr).toContain("1/2 nodes Ready; not Ready: w-0; not registered: none");
      expect(r.stderr).toContain("DIAG-NODE-CONDITIONS w-0: Ready=False");
      expect(r.stderr).toContain("DIAG-PODS kube-system coredns");
      expect(r.stderr).toContain("DIAG-EVENTS");
      expect(r.stderr).not.toContain("DIAG-KUBELET-JOURNAL");
      expect(r.stderr).not.toContain("DIAG-CRICTL-PS");
      expect(r.stderr).toContain("the cluster did not reach 2 Ready node(s) within 2s");
      expect(callsOf(sb, "kubectl").some((c) => c.includes("rollout status"))).toBe(false);
    },
  );

  sandboxTest("waits for a named node that has not registered yet", async (sb) => {
    const r = await sb.run(renderClusterReady({ nodeNames: ["cp-0", "w-1"], timeoutSeconds: 1 }), {
      stdin,
      env: { DOUBLE_NODES: "cp-0=True w-0=True" },
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("1/2 nodes Ready; not Ready: none; not registered: w-1");
  });

  sandboxTest(
    "with the cloud controller, waits until it has initialised every node (the uninitialized taint gone)",
    async (sb) => {
      const r = await sb.run(
        renderClusterReady({
          nodeNames: ["cp-0", "w-0"],
          cloudInitialised: true,
          timeoutSeconds: 30,
        }),
        {
          stdin,
          env: {
            DOUBLE_NODES: "cp-0=True w-0=True",
            DOUBLE_TAINTED: "w-0",
            DOUBLE_TAINT_LISTS: "3",
          },
        },
      );
      expect(r.code).toBe(0);
      // The third list is the first without the taint: it waited for that one.
      expect(
        callsOf(sb, "kubectl").filter((c) => c.includes("get nodes -o jsonpath")),
      ).toHaveLength(3);
      expect(r.stderr).toContain("cluster ready: 2 node(s) Ready");
    },
  );

  sandboxTest("without the cloud controller the taint is not waited for", async (sb) => {
    const r = await sb.run(renderClusterReady({ nodeNames: ["cp-0"], timeoutSeconds: 5 }), {
      stdin,
      env: { DOUBLE_NODES: "cp-0=True", DOUBLE_TAINTED: "cp-0" },
    });
    expect(r.code).toBe(0);
    expect(callsOf(sb, "kubectl").filter((c) => c.includes("get nodes -o jsonpath"))).toHaveLength(
      1,
    );
  });

  sandboxTest(
    "a node the cloud controller never initialises is named when it gives up",
    async (sb) => {
      const r = await sb.run(
        renderClusterReady({ nodeNames: ["cp-0"], cloudInitialised: true, timeoutSeconds: 1 }),
        { stdin, env: { DOUBLE_NODES: "cp-0=True", DOUBLE_TAINTED: "cp-0" } },
      );
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("not initialised by the cloud controller yet: cp-0");
    },
  );

  sandboxTest("is not blocked by a node outside the list (one being removed)", async (sb) => {
    const r = await sb.run(renderClusterReady({ nodeNames: ["cp-0"], timeoutSeconds: 5 }), {
      stdin,
      env: { DOUBLE_NODES: "cp-0=True w-0=False" },
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("cluster ready: 1 node(s) Ready, CoreDNS available");
  });
});

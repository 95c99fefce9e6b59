/**
 * The steps that run on the first control plane against the API: register-node, cni,
 * cluster-ready and kubeconfig.
 */
import {
  renderClusterReady,
  renderCni,
  renderKubeconfig,
  renderRegisterNode,
} from "../../render/steps";
import { callsOf, Sandbox, sandboxTest } from "./sandbox";
import { calicoInputs, flannelInputs } from "./params";

const ADMIN_CONF =
  "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: https://dev-api-0123456789.elb.us-east-1.amazonaws.com:6443\n";

function controlPlane(sb: Sandbox): Sandbox {
  sb.write("/etc/kubernetes/admin.conf", ADMIN_CONF, 0o600);
  return sb;
}

describe("register-node", () => {
  sandboxTest("waits for the Node object, then labels a worker", async (sb) => {
    controlPlane(sb);
    const r = await sb.run(
      renderRegisterNode({ nodeName: "ip-192-0-2-21", role: "worker", timeoutSeconds: 30 }),
      { env: { DOUBLE_NODES: "cp-0=True ip-192-0-2-21=False", DOUBLE_NODE_APPEARS_AFTER: "3" } },
    );
    expect(r.code).toBe(0);
    const kubectl = callsOf(sb, "kubectl");
    expect(kubectl.filter((c) => c.includes("get node ip-192-0-2-21"))).toHaveLength(3);
    expect(kubectl[kubectl.length - 1]).toBe(
      "kubectl --request-timeout=30s label node ip-192-0-2-21 --overwrite node-role.kubernetes.io/worker=",
    );
  });

  sandboxTest("does not label a control plane (kubeadm already did)", async (sb) => {
    controlPlane(sb);
    const r = await sb.run(
      renderRegisterNode({ nodeName: "cp-1", role: "control-plane", timeoutSeconds: 30 }),
      { env: { DOUBLE_NODES: "cp-0=True cp-1=True" } },
    );
    expect(r.code).toBe(0);
    expect(callsOf(sb, "kubectl").some((c) => c.includes(" label "))).toBe(false);
  });

  sandboxTest("fails after its timeout when the node never registers", async (sb) => {
    controlPlane(sb);
    const r = await sb.run(
      renderRegisterNode({ nodeName: "ip-192-0-2-99", role: "worker", timeoutSeconds: 1 }),
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
      controlPlane(sb);
      const script = renderCni(flannelInputs);
      const r = await sb.run(script);
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

      const again = await sb.run(script);
      expect(again.code).toBe(0);
      expect(sb.stateFile("applied.2")).toBe(applied);
    },
  );

  sandboxTest(
    "Flannel: refuses a manifest whose net-conf no longer has the default network",
    async (sb) => {
      controlPlane(sb);
      const r = await sb.run(renderCni(flannelInputs), {
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
      controlPlane(sb);
      const r = await sb.run(renderCni(calicoInputs));
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
    controlPlane(sb);
    const r = await sb.run(renderCni({ ...calicoInputs, podCidr: "10.99.0.0/16" }));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("does not mention the pod CIDR 10.99.0.0/16");
  });
});

describe("cluster-ready", () => {
  sandboxTest("passes when every expected node is Ready and CoreDNS has rolled out", async (sb) => {
    controlPlane(sb);
    const r = await sb.run(renderClusterReady({ nodeNames: ["cp-0", "w-0"], timeoutSeconds: 30 }), {
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
    "gives up after its timeout and prints node conditions, stuck pods, events and the kubelet journal",
    async (sb) => {
      controlPlane(sb);
      const r = await sb.run(
        renderClusterReady({ nodeNames: ["cp-0", "w-0"], timeoutSeconds: 2 }),
        {
          env: { DOUBLE_NODES: "cp-0=True w-0=False" },
        },
      );
      expect(r.code).not.toBe(0);
      expect(r.ms).toBeLessThan(10000);
      expect(r.stderr).toContain("timed out after 2s waiting for 2 Ready node(s)");
      expect(r.stderr).toContain("1/2 nodes Ready; not Ready: w-0; not registered: none");
      expect(r.stderr).toContain("DIAG-NODE-CONDITIONS w-0: Ready=False");
      expect(r.stderr).toContain("DIAG-PODS kube-system coredns");
      expect(r.stderr).toContain("DIAG-EVENTS");
      expect(r.stderr).toContain("DIAG-KUBELET-JOURNAL");
      expect(r.stderr).toContain("the cluster did not reach 2 Ready node(s) within 2s");
      expect(callsOf(sb, "kubectl").some((c) => c.includes("rollout status"))).toBe(false);
    },
  );

  sandboxTest("waits for a named node that has not registered yet", async (sb) => {
    controlPlane(sb);
    const r = await sb.run(renderClusterReady({ nodeNames: ["cp-0", "w-1"], timeoutSeconds: 1 }), {
      env: { DOUBLE_NODES: "cp-0=True w-0=True" },
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("1/2 nodes Ready; not Ready: none; not registered: w-1");
  });

  sandboxTest("is not blocked by a node outside the list (one being removed)", async (sb) => {
    controlPlane(sb);
    const r = await sb.run(renderClusterReady({ nodeNames: ["cp-0"], timeoutSeconds: 5 }), {
      env: { DOUBLE_NODES: "cp-0=True w-0=False" },
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("cluster ready: 1 node(s) Ready, CoreDNS available");
  });
});

describe("kubeconfig", () => {
  sandboxTest("prints admin.conf and nothing else on stdout", async (sb) => {
    controlPlane(sb);
    const r = await sb.run(renderKubeconfig());
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(ADMIN_CONF);
  });

  sandboxTest("fails with nothing on stdout when the node has no admin.conf", async (sb) => {
    const r = await sb.run(renderKubeconfig());
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("admin.conf is missing");
  });
});

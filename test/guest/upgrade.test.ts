/**
 * The rolling upgrade's guest steps, run for real in bash against recording doubles:
 * - upgrade-preflight (bastion): every refusal of the version skew policy, each naming the API
 *   server's version, the target and what to do; a resumed rollout passes;
 * - upgrade-node (node): kubeadm first, `kubeadm upgrade apply` or `node`, then the kubelet; a
 *   second run changes nothing; a node at the target, or not joined yet, is left alone; the
 *   check mode asks the target's repository without touching the node's sources;
 * - node-rollout (bastion): drain respecting PodDisruptionBudgets, a failed drain stops with
 *   diagnostics and leaves the node cordoned, a re-run resumes, restore waits for the target
 *   kubelet and uncordons only what it cordoned.
 */
import * as steps from "../../render/steps";
import { clusterBundle } from "./params";
import { callsOf, runTwice, Sandbox, sandboxTest } from "./sandbox";

const stdin = clusterBundle();
const NODES = "cp-0=True cp-1=True cp-2=True w-0=True";

const preflight = (target: string) =>
  steps.renderUpgradePreflight({ targetVersion: target, apiWaitSeconds: 1 });

async function preflightRun(sb: Sandbox, target: string, env: Record<string, string>) {
  return sb.run(preflight(target), { stdin, env: { DOUBLE_NODES: NODES, ...env } });
}

describe("upgrade-preflight", () => {
  sandboxTest("passes an upgrade by one minor within the skew policy", async (sb) => {
    const r = await preflightRun(sb, "1.35.0", { DOUBLE_SERVER_VERSION: "v1.34.2" });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("the upgrade to 1.35.0 is within the version skew policy");
    expect(r.stderr).toContain("kubelets: cp-0=v1.34.2, cp-1=v1.34.2, cp-2=v1.34.2, w-0=v1.34.2");
  });

  sandboxTest("passes a rollout that stopped half way (API server at the target)", async (sb) => {
    const r = await preflightRun(sb, "1.35.0", {
      DOUBLE_SERVER_VERSION: "v1.35.0",
      DOUBLE_KUBELET_VERSIONS: "cp-0=v1.35.0 cp-1=v1.34.2",
    });
    expect(r.code).toBe(0);
  });

  sandboxTest("refuses a downgrade, naming both versions and the command", async (sb) => {
    const r = await preflightRun(sb, "1.33.5", { DOUBLE_SERVER_VERSION: "v1.34.2" });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "the API server runs v1.34.2 and kubernetesVersion says 1.33.5: kubeadm does not downgrade a cluster; set kubernetesVersion back to 1.34.2 (`pulumi config set kubernetesVersion 1.34.2`)",
    );
    expect(r.stderr).toContain("nothing has changed on any node");
  });

  sandboxTest("refuses a skipped minor, naming the release to go to first", async (sb) => {
    const r = await preflightRun(sb, "1.35.0", {
      DOUBLE_SERVER_VERSION: "v1.33.6",
      DOUBLE_KUBELET_VERSIONS: "cp-0=v1.33.6 cp-1=v1.33.6 cp-2=v1.33.6 w-0=v1.33.6",
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "the API server runs v1.33.6 and kubernetesVersion says 1.35.0: upgrade one minor version at a time, to a 1.34.x release first (`pulumi config set kubernetesVersion 1.34.<patch>`, `pulumi up`), then to 1.35.0",
    );
  });

  sandboxTest("refuses when a kubelet is newer than the API server", async (sb) => {
    const r = await preflightRun(sb, "1.35.0", {
      DOUBLE_SERVER_VERSION: "v1.34.2",
      DOUBLE_KUBELET_VERSIONS: "w-0=v1.35.0",
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "node w-0's kubelet runs v1.35.0, newer than the API server v1.34.2: the version skew policy forbids a kubelet newer than its API server",
    );
  });

  sandboxTest("refuses when a kubelet would fall more than three minors behind", async (sb) => {
    const r = await preflightRun(sb, "1.35.0", {
      DOUBLE_SERVER_VERSION: "v1.34.2",
      DOUBLE_KUBELET_VERSIONS: "w-0=v1.31.4",
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "node w-0's kubelet runs v1.31.4, which an API server at 1.35.0 would leave more than three minor versions behind",
    );
  });

  sandboxTest("reports every problem at once", async (sb) => {
    const r = await preflightRun(sb, "1.36.0", {
      DOUBLE_SERVER_VERSION: "v1.34.2",
      DOUBLE_KUBELET_VERSIONS: "w-0=v1.35.0",
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("upgrade one minor version at a time");
    expect(r.stderr).toContain("newer than the API server");
    expect(r.stderr).toContain("2 problem(s) above");
  });
});

const APISERVER = "/etc/kubernetes/manifests/kube-apiserver.yaml";
const manifest = (v: string) =>
  `apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: kube-apiserver\n    image: registry.k8s.io/kube-apiserver:v${v}\n`;

/** A node that joined at 1.34.2: packages installed and held, the repository at v1.34. */
function joinedNode(sb: Sandbox, role: "control-plane" | "worker", version = "1.34.2"): void {
  for (const p of ["kubeadm", "kubelet", "kubectl"]) {
    sb.installPackage(p, `${version}-1.1`);
    sb.write(`/../state/hold/${p}`, "");
  }
  sb.startUnit("kubelet");
  sb.write("/etc/kubernetes/kubelet.conf", "apiVersion: v1\nkind: Config\n");
  sb.write("/etc/apt/keyrings/kubernetes-apt-keyring.gpg", "key");
  sb.write(
    "/etc/apt/sources.list.d/kubernetes.list",
    "deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] https://pkgs.k8s.io/core:/stable:/v1.34/deb/ /\n",
  );
  if (role === "control-plane") sb.write(APISERVER, manifest(version));
}

const upgradeNode = (
  role: "control-plane" | "worker",
  kubeadmAction: "apply" | "node",
  mode: "check" | "upgrade" = "upgrade",
) =>
  steps.renderUpgradeNode({
    mode,
    kubeadmAction,
    role,
    targetVersion: "1.35.0",
    packageManager: "apt",
    timeoutSeconds: 30,
  });

const TARGET_REPO = { DOUBLE_MADISON_VERSIONS: "1.35.0-1.1 1.34.2-1.1" };
const kubeadmCalls = (sb: Sandbox) => callsOf(sb, "kubeadm");
const installs = (calls: string[]) =>
  calls.filter((c) => c.startsWith("apt-get ") && c.includes(" install "));

describe("upgrade-node", () => {
  sandboxTest(
    "on the first control plane: kubeadm, upgrade apply, then kubelet and kubectl; a second run changes nothing",
    async (sb) => {
      joinedNode(sb, "control-plane");
      const runs = await runTwice(sb, upgradeNode("control-plane", "apply"), { env: TARGET_REPO });
      expect(runs.first.code).toBe(0);
      const calls = runs.firstCalls;
      const at = (needle: string) => calls.findIndex((c) => c.includes(needle));
      expect(calls.filter((c) => c.startsWith("kubeadm "))).toEqual([
        "kubeadm upgrade apply v1.35.0 --yes",
      ]);
      expect(installs(calls).map((c) => c.replace(/^.* install /, ""))).toEqual([
        "--no-install-recommends --allow-downgrades --allow-change-held-packages kubeadm=1.35.0-1.1",
        "--no-install-recommends --allow-downgrades --allow-change-held-packages kubelet=1.35.0-1.1 kubectl=1.35.0-1.1",
      ]);
      // kubeadm's guide: the kubeadm package, the upgrade, then the kubelet and its restart.
      expect(at("kubeadm=1.35.0")).toBeLessThan(at("kubeadm upgrade apply"));
      expect(at("kubeadm upgrade apply")).toBeLessThan(at("kubelet=1.35.0"));
      expect(at("kubelet=1.35.0")).toBeLessThan(at("systemctl restart kubelet"));
      expect(sb.read("/etc/apt/sources.list.d/kubernetes.list")).toContain("/stable:/v1.35/deb/");
      expect(sb.read(APISERVER)).toContain("kube-apiserver:v1.35.0");
      for (const p of ["kubeadm", "kubelet", "kubectl"]) {
        expect(sb.exists(`/../state/hold/${p}`)).toBe(true);
      }
      expect(runs.second.code).toBe(0);
      expect(runs.second.stderr).toContain("already at 1.35.0; nothing to do");
      expect(runs.secondCalls.filter((c) => c.startsWith("kubeadm "))).toEqual([]);
      expect(installs(runs.secondCalls)).toEqual([]);
      expect(runs.changed).toEqual([]);
    },
  );

  sandboxTest("on a worker: kubeadm upgrade node, never apply", async (sb) => {
    joinedNode(sb, "worker");
    const r = await sb.run(upgradeNode("worker", "node"), {
      env: { ...TARGET_REPO, DOUBLE_UPGRADE_TO: "v1.35.0" },
    });
    expect(r.code).toBe(0);
    expect(kubeadmCalls(sb)).toEqual(["kubeadm upgrade node"]);
    expect(sb.read("/../state/pkg/kubelet").trim()).toBe("1.35.0-1.1");
  });

  sandboxTest("on another control plane: kubeadm upgrade node", async (sb) => {
    joinedNode(sb, "control-plane");
    const r = await sb.run(upgradeNode("control-plane", "node"), {
      env: { ...TARGET_REPO, DOUBLE_UPGRADE_TO: "v1.35.0" },
    });
    expect(r.code).toBe(0);
    expect(kubeadmCalls(sb)).toEqual(["kubeadm upgrade node"]);
    expect(sb.read(APISERVER)).toContain("kube-apiserver:v1.35.0");
  });

  sandboxTest("resumes after the control plane was upgraded but not the kubelet", async (sb) => {
    joinedNode(sb, "control-plane");
    sb.write(APISERVER, manifest("1.35.0"));
    const r = await sb.run(upgradeNode("control-plane", "apply"), { env: TARGET_REPO });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("already run 1.35.0; skipping kubeadm upgrade apply");
    expect(kubeadmCalls(sb)).toEqual([]);
    expect(sb.read("/../state/pkg/kubelet").trim()).toBe("1.35.0-1.1");
  });

  sandboxTest("does nothing on a node already at the target", async (sb) => {
    joinedNode(sb, "control-plane", "1.35.0");
    const r = await sb.run(upgradeNode("control-plane", "apply"), { env: TARGET_REPO });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("already at 1.35.0; nothing to do");
    expect(kubeadmCalls(sb)).toEqual([]);
    expect(callsOf(sb, "apt-get")).toEqual([]);
  });

  sandboxTest("does nothing on a replacement that has not joined yet", async (sb) => {
    const r = await sb.run(upgradeNode("control-plane", "apply"), { env: TARGET_REPO });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("this node has not joined yet");
    expect(sb.calls().filter((c) => /^(kubeadm|apt-get) /.test(c))).toEqual([]);
  });

  sandboxTest("a failed kubeadm upgrade stops before the kubelet moves", async (sb) => {
    joinedNode(sb, "control-plane");
    const r = await sb.run(upgradeNode("control-plane", "apply"), {
      env: { ...TARGET_REPO, DOUBLE_KUBEADM_UPGRADE_FAILS: "1" },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("there are NotReady control-planes in the cluster");
    expect(r.stderr).toContain("kubeadm upgrade apply v1.35.0 failed");
    expect(r.stderr).toContain("run `pulumi up` again");
    expect(sb.read("/../state/pkg/kubelet").trim()).toBe("1.34.2-1.1");
  });

  sandboxTest(
    "check: finds the target in its minor's repository, changing nothing on the node",
    async (sb) => {
      joinedNode(sb, "control-plane");
      const before = sb.read("/etc/apt/sources.list.d/kubernetes.list");
      const r = await sb.run(upgradeNode("control-plane", "node", "check"), { env: TARGET_REPO });
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(
        "kubeadm 1.35.0 is available (1.35.0-1.1) in the v1.35 repository",
      );
      const update = callsOf(sb, "apt-get").find((c) => c.endsWith(" update"))!;
      expect(update).toMatch(/-o Dir::Etc::sourcelist=\S+\/kubernetes-target\.list/);
      expect(update).toContain("-o Dir::Etc::sourceparts=-");
      expect(sb.read("/etc/apt/sources.list.d/kubernetes.list")).toBe(before);
      expect(installs(sb.calls())).toEqual([]);
      expect(kubeadmCalls(sb)).toEqual([]);
    },
  );

  sandboxTest(
    "check: a version the repository lacks is refused, listing what it has",
    async (sb) => {
      joinedNode(sb, "control-plane");
      const r = await sb.run(upgradeNode("control-plane", "node", "check"), {
        env: { DOUBLE_MADISON_VERSIONS: "1.35.1-1.1 1.35.2-1.1" },
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        "Kubernetes 1.35.0 is not in pkgs.k8s.io's v1.35 repository; its kubeadm releases there:",
      );
      expect(r.stderr).toContain("  1.35.2-1.1");
      expect(r.stderr).toContain("set kubernetesVersion to one of the releases above");
    },
  );
});

const rollout = (phase: "drain" | "restore", waitTimeoutSeconds = 10) =>
  steps.renderNodeRollout({
    phase,
    nodeName: "w-0",
    targetVersion: "1.35.0",
    reason: "upgrade to 1.35.0",
    drainTimeoutSeconds: 120,
    waitTimeoutSeconds,
  });

const kubectl = (sb: Sandbox) =>
  callsOf(sb, "kubectl").map((c) => c.replace(/^kubectl (--request-timeout=\S+ )?/, ""));

describe("node-rollout", () => {
  sandboxTest(
    "drain: marks the node, drains it through evictions (PodDisruptionBudgets respected)",
    async (sb) => {
      const r = await sb.run(rollout("drain"), { stdin, env: { DOUBLE_NODES: NODES } });
      expect(r.code).toBe(0);
      expect(kubectl(sb)).toEqual(
        expect.arrayContaining([
          "annotate node w-0 --overwrite kubeadm-aws/rollout=upgrade to 1.35.0",
          "drain w-0 --ignore-daemonsets --delete-emptydir-data --force --timeout=120s",
        ]),
      );
      expect(kubectl(sb).some((c) => c.includes("--disable-eviction"))).toBe(false);
      expect(sb.exists("/../state/cordoned.w-0")).toBe(true);
    },
  );

  sandboxTest("drain: a node already at the target is not drained", async (sb) => {
    const r = await sb.run(rollout("drain"), {
      stdin,
      env: { DOUBLE_NODES: NODES, DOUBLE_KUBELET_VERSIONS: "w-0=v1.35.0" },
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("w-0 already runs v1.35.0; not draining it");
    expect(kubectl(sb).some((c) => c.startsWith("drain "))).toBe(false);
  });

  sandboxTest(
    "drain: a drain a PodDisruptionBudget blocks stops the rollout with diagnostics; the re-run resumes",
    async (sb) => {
      const failed = await sb.run(rollout("drain"), {
        stdin,
        env: { DOUBLE_NODES: NODES, DOUBLE_DRAIN_RC: "1" },
      });
      expect(failed.code).toBe(1);
      expect(failed.stderr).toContain("would violate the pod's disruption budget");
      expect(failed.stderr).toContain("pods still on w-0:");
      expect(failed.stderr).toContain("PodDisruptionBudgets that allow no disruption now:");
      expect(failed.stderr).toContain("default/web (healthy 2, desired 2)");
      expect(failed.stderr).toContain(
        "the node stays cordoned and nothing on it has changed. Fix the cause and run `pulumi up` again: the rollout resumes at this node",
      );
      expect(sb.exists("/../state/cordoned.w-0")).toBe(true);
      // The next `up` creates the failed step again: it finds its own mark and drains.
      sb.clearCalls();
      const resumed = await sb.run(rollout("drain"), { stdin, env: { DOUBLE_NODES: NODES } });
      expect(resumed.code).toBe(0);
      expect(kubectl(sb)).toContain(
        "drain w-0 --ignore-daemonsets --delete-emptydir-data --force --timeout=120s",
      );
      const restored = await sb.run(rollout("restore"), {
        stdin,
        env: { DOUBLE_NODES: NODES, DOUBLE_KUBELET_VERSIONS: "w-0=v1.35.0" },
      });
      expect(restored.code).toBe(0);
      expect(sb.exists("/../state/cordoned.w-0")).toBe(false);
    },
  );

  sandboxTest(
    "restore: waits for the kubelet at the target, then uncordons and drops its mark",
    async (sb) => {
      await sb.run(rollout("drain"), { stdin, env: { DOUBLE_NODES: NODES } });
      sb.clearCalls();
      const r = await sb.run(rollout("restore"), {
        stdin,
        env: {
          DOUBLE_NODES: NODES,
          DOUBLE_KUBELET_UPGRADES_TO: "v1.35.0",
          DOUBLE_KUBELET_UPGRADES_AFTER: "3",
        },
      });
      expect(r.code).toBe(0);
      expect(kubectl(sb).filter((c) => c.startsWith("get node w-0")).length).toBeGreaterThan(2);
      expect(kubectl(sb)).toEqual(
        expect.arrayContaining(["uncordon w-0", "annotate node w-0 kubeadm-aws/rollout-"]),
      );
      expect(sb.exists("/../state/cordoned.w-0")).toBe(false);
      expect(sb.exists("/../state/annotation.w-0")).toBe(false);
      expect(r.stderr).toContain("w-0 is Ready (kubelet v1.35.0) and schedulable again");
    },
  );

  sandboxTest("a node cordoned before the rollout stays cordoned", async (sb) => {
    const env = { DOUBLE_NODES: NODES, DOUBLE_CORDONED: "w-0" };
    expect((await sb.run(rollout("drain"), { stdin, env })).stderr).toContain(
      "w-0 was cordoned before this rollout; it stays cordoned afterwards",
    );
    const r = await sb.run(rollout("restore"), {
      stdin,
      env: { ...env, DOUBLE_KUBELET_VERSIONS: "w-0=v1.35.0" },
    });
    expect(r.code).toBe(0);
    expect(kubectl(sb).some((c) => c.startsWith("uncordon"))).toBe(false);
    expect(sb.exists("/../state/cordoned.w-0")).toBe(true);
  });

  sandboxTest("restore: a node that does not come back fails within its bound", async (sb) => {
    const r = await sb.run(rollout("restore", 2), {
      stdin,
      env: { DOUBLE_NODES: "cp-0=True w-0=False", DOUBLE_KUBELET_VERSIONS: "w-0=v1.35.0" },
    });
    expect(r.code).toBe(1);
    expect(r.ms).toBeLessThan(10_000);
    expect(r.stderr).toContain("w-0 is not Ready at v1.35.0 after 2s; it stays cordoned");
  });

  sandboxTest("a node that is not registered is left alone", async (sb) => {
    const r = await sb.run(rollout("drain"), { stdin, env: { DOUBLE_NODES: "cp-0=True" } });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("node w-0 is not registered");
    expect(kubectl(sb).some((c) => c.startsWith("drain"))).toBe(false);
  });
});

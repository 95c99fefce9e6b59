/**
 * helm-release, on the bastion with the program's kubeconfig on stdin: the chart file must match
 * its pinned sha256, the values reach Helm as rendered, Helm keeps nothing outside the step's
 * tmpfs folder, and the release's workloads are waited for, with diagnostics when they do not
 * roll out.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import { renderHelmRelease } from "../../render/steps";
import { callsOf, sandboxTest } from "./sandbox";
import { clusterBundle } from "./params";

const stdin = clusterBundle();
const CHART_URL = "https://github.com/example/releases/download/c-1.0.0/c-1.0.0.tgz";
/** What the curl double serves for an unknown URL: its text is known, so is its sha256. */
const served = `# downloaded from ${CHART_URL}\napiVersion: v1\nkind: List\nitems: []\n`;
const SHA = createHash("sha256").update(served).digest("hex");
const VALUES = "controller:\n  region: us-east-1\n  k8sTagClusterId: demo\n";

const release = (chartSha256 = SHA) =>
  renderHelmRelease({
    releaseName: "aws-ebs-csi-driver",
    namespace: "kube-system",
    chartUrl: CHART_URL,
    chartSha256,
    values: VALUES,
    rollouts: ["deployment/ebs-csi-controller"],
    timeoutSeconds: 30,
  });

sandboxTest(
  "installs the checked chart with the rendered values, then waits for its workloads",
  async (sb) => {
    const r = await sb.run(release(), { stdin });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
    const helm = callsOf(sb, "helm");
    expect(helm).toHaveLength(1);
    expect(helm[0]).toMatch(
      /^helm upgrade --install aws-ebs-csi-driver \S+\/run\/kubeadm-aws\/helm-release\.\w+\/chart\.tgz --namespace kube-system --values \S+\/values\.yaml --timeout 30s$/,
    );
    expect(sb.stateFile("helm-values.aws-ebs-csi-driver")).toBe(VALUES);
    expect(callsOf(sb, "kubectl")).toContainEqual(
      expect.stringContaining(
        "-n kube-system rollout status deployment/ebs-csi-controller --timeout=30s",
      ),
    );
    // The chart, the values and Helm's own folders went with the step's tmpfs folder.
    expect(fs.readdirSync(sb.path("/run/kubeadm-aws"))).toEqual([]);
  },
);

sandboxTest("a chart whose sha256 is not the pinned one is not installed", async (sb) => {
  const r = await sb.run(release("0".repeat(64)), { stdin });
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain(`has sha256 ${SHA}, not the pinned ${"0".repeat(64)}`);
  expect(callsOf(sb, "helm")).toEqual([]);
});

sandboxTest(
  "a workload that does not roll out fails the step with the namespace's pods and events",
  async (sb) => {
    const r = await sb.run(release(), { stdin, env: { DOUBLE_ROLLOUT_RC: "1" } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      "kube-system/deployment/ebs-csi-controller did not roll out within 30s",
    );
    expect(callsOf(sb, "kubectl")).toContainEqual(
      expect.stringContaining("-n kube-system get pods -o wide"),
    );
  },
);

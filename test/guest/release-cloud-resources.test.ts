/**
 * release-cloud-resources, on the bastion with the program's kubeconfig on stdin: the first step
 * of a destroy deletes what makes the controllers hold AWS resources (LoadBalancer Services;
 * claims of volumes with reclaim policy Delete, after the pods that mount them), waits within a
 * bound while they clean up, and never stops a destroy.
 */
import { renderReleaseCloudResources } from "../../render/steps";
import { callsOf, sandboxTest } from "./sandbox";
import { clusterBundle } from "./params";

const stdin = clusterBundle();
const release = (releaseTimeoutSeconds = 5) =>
  renderReleaseCloudResources({ mode: "release", apiWaitSeconds: 1, releaseTimeoutSeconds });
const CLOUD = {
  DOUBLE_LB_SERVICES: "web/front default/api",
  DOUBLE_PVS: "pvc-1a2b=data/db-0",
  DOUBLE_CLAIM_PODS: "data/db-0=db-0 data/backup=db-0",
};
const kubectl = (sb: Parameters<typeof callsOf>[0]) =>
  callsOf(sb, "kubectl").map((c) => c.replace(/^kubectl --request-timeout=\S+ /, ""));

sandboxTest(
  "deletes each LoadBalancer Service, then the pods mounting a deleted claim, then the claim, and waits until they are gone",
  async (sb) => {
    const r = await sb.run(release(), { stdin, env: { ...CLOUD, DOUBLE_CONTROLLER_LISTS: "2" } });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
    const deletes = kubectl(sb).filter((c) => c.startsWith("delete "));
    expect(deletes).toEqual([
      "delete service -n web front --wait=false --ignore-not-found",
      "delete service -n default api --wait=false --ignore-not-found",
      "delete pods -n data db-0 --grace-period=30 --wait=false --ignore-not-found",
      "delete pods -n data backup --grace-period=30 --wait=false --ignore-not-found",
      "delete pvc -n data db-0 --wait=false --ignore-not-found",
    ]);
    expect(r.stderr).toContain("every load balancer and volume Kubernetes made is released");
  },
);

sandboxTest("with nothing to release it deletes nothing and finishes at once", async (sb) => {
  const r = await sb.run(release(), { stdin });
  expect(r.code).toBe(0);
  expect(r.ms).toBeLessThan(3000);
  expect(kubectl(sb).filter((c) => c.startsWith("delete "))).toEqual([]);
});

sandboxTest(
  "a controller that does not finish in time is a warning: the sweep removes the rest",
  async (sb) => {
    const r = await sb.run(release(1), {
      stdin,
      env: { ...CLOUD, DOUBLE_CONTROLLER_LISTS: "never" },
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("the sweep removes them once the nodes are gone");
    expect(r.stderr).toContain("service web/front");
    expect(r.stderr).toContain("volume pvc-1a2b (claim data/db-0)");
  },
);

sandboxTest(
  "an API that does not answer leaves everything to the sweep, without failing",
  async (sb) => {
    const r = await sb.run(release(), { stdin, env: { ...CLOUD, DOUBLE_API: "down" } });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("leaving what Kubernetes made in AWS to the sweep");
  },
);

sandboxTest("its create only reports what a destroy would release", async (sb) => {
  const report = renderReleaseCloudResources({
    mode: "report",
    apiWaitSeconds: 1,
    releaseTimeoutSeconds: 5,
  });
  const r = await sb.run(report, { stdin, env: CLOUD });
  expect(r.code).toBe(0);
  expect(r.stderr).toContain(
    "a destroy would release 2 LoadBalancer Service(s) and 1 volume(s) now",
  );
  expect(kubectl(sb).filter((c) => c.startsWith("delete "))).toEqual([]);
});

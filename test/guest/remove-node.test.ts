/**
 * remove-node: never hangs, succeeds when the node or the whole cluster is gone, and fails only
 * when the API is up and a control plane's etcd member cannot be removed.
 */
import { renderRemoveNode } from "../../render/steps";
import { callsOf, Sandbox, sandboxTest } from "./sandbox";

function controlPlane(sb: Sandbox): Sandbox {
  sb.write("/etc/kubernetes/admin.conf", "apiVersion: v1\nkind: Config\n", 0o600);
  return sb;
}

const removeCp1 = renderRemoveNode({
  nodeName: "cp-1",
  role: "control-plane",
  drainTimeoutSeconds: 120,
  apiWaitSeconds: 1,
});
const removeWorker = renderRemoveNode({
  nodeName: "w-0",
  role: "worker",
  drainTimeoutSeconds: 60,
  apiWaitSeconds: 1,
});

/** A three-member control plane, seen from cp-0. */
const HA = {
  DOUBLE_NODES: "cp-0=True cp-1=True cp-2=True w-0=True",
  DOUBLE_ETCD_PODS: "etcd-cp-1 cp-1\\netcd-cp-0 cp-0\\netcd-cp-2 cp-2",
  DOUBLE_ETCD_MEMBERS: [
    "8e9e05c52164694d, started, cp-0, https://192.0.2.10:2380, https://192.0.2.10:2379, false",
    "91bc3c398fb3c146, started, cp-1, https://192.0.2.11:2380, https://192.0.2.11:2379, false",
    "fd422379fda50e48, started, cp-2, https://192.0.2.12:2380, https://192.0.2.12:2379, false",
  ].join("\\n"),
};

sandboxTest("remove-node exits 0 quickly when the API server does not answer", async (sb) => {
  controlPlane(sb);
  const r = await sb.run(removeCp1, { env: { ...HA, DOUBLE_API: "down" } });
  expect(r.code).toBe(0);
  expect(r.ms).toBeLessThan(5000);
  expect(r.stderr).toContain("assuming the cluster is gone");
  expect(callsOf(sb, "kubectl").every((c) => c.includes("get --raw /readyz"))).toBe(true);
});

sandboxTest("remove-node exits 0 when this node has no admin.conf", async (sb) => {
  const r = await sb.run(removeWorker);
  expect(r.code).toBe(0);
  expect(r.stderr).toContain("nothing to remove");
  expect(callsOf(sb, "kubectl")).toEqual([]);
});

sandboxTest(
  "removing a control plane drains it, removes its etcd member via a surviving etcd pod, deletes the node",
  async (sb) => {
    controlPlane(sb);
    const r = await sb.run(removeCp1, { env: HA });
    expect(r.code).toBe(0);
    const kubectl = callsOf(sb, "kubectl").map((c) =>
      c.replace(/^kubectl (--request-timeout=\S+ )?/, ""),
    );
    const etcdctl =
      "etcdctl --endpoints=https://127.0.0.1:2379 --cacert /etc/kubernetes/pki/etcd/ca.crt --cert /etc/kubernetes/pki/etcd/healthcheck-client.crt --key /etc/kubernetes/pki/etcd/healthcheck-client.key";
    expect(kubectl).toEqual(
      expect.arrayContaining([
        "drain cp-1 --ignore-daemonsets --delete-emptydir-data --force --timeout=120s",
        `-n kube-system exec etcd-cp-0 -- ${etcdctl} member list -w simple`,
        `-n kube-system exec etcd-cp-0 -- ${etcdctl} member remove 91bc3c398fb3c146`,
        "delete node cp-1 --ignore-not-found",
      ]),
    );
    const order = ["drain cp-1", "member remove", "delete node cp-1"].map((s) =>
      kubectl.findIndex((c) => c.includes(s)),
    );
    expect(order).toEqual([...order].sort((a, b) => a - b));
  },
);

sandboxTest(
  "remove-node fails when the API is up but the etcd member cannot be removed",
  async (sb) => {
    controlPlane(sb);
    const r = await sb.run(removeCp1, { env: { ...HA, DOUBLE_ETCD_REMOVE_RC: "1" } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("could not remove cp-1's etcd member 91bc3c398fb3c146");
    expect(callsOf(sb, "kubectl").some((c) => c.includes("delete node"))).toBe(false);
  },
);

sandboxTest(
  "remove-node skips the drain of a node object that is gone and finds its member already removed",
  async (sb) => {
    controlPlane(sb);
    const r = await sb.run(removeCp1, {
      env: {
        ...HA,
        DOUBLE_NODES: "cp-0=True cp-2=True",
        DOUBLE_ETCD_MEMBERS:
          "8e9e05c52164694d, started, cp-0, https://192.0.2.10:2380, https://192.0.2.10:2379, false",
      },
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("node cp-1 does not exist; nothing to drain");
    expect(r.stderr).toContain("cp-1 has no etcd member (already removed)");
    const kubectl = callsOf(sb, "kubectl");
    expect(kubectl.some((c) => c.includes(" drain "))).toBe(false);
    expect(kubectl.some((c) => c.includes("member remove"))).toBe(false);
  },
);

sandboxTest(
  "remove-node treats a drain that times out as a warning and still deletes a worker",
  async (sb) => {
    controlPlane(sb);
    const r = await sb.run(removeWorker, { env: { ...HA, DOUBLE_DRAIN_RC: "1" } });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("drain of w-0 did not finish; continuing");
    const kubectl = callsOf(sb, "kubectl");
    expect(kubectl.some((c) => c.includes("etcdctl"))).toBe(false);
    expect(kubectl[kubectl.length - 1]).toBe(
      "kubectl --request-timeout=60s delete node w-0 --ignore-not-found",
    );
  },
);

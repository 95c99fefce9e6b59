/**
 * remove-node, on the bastion with the program's kubeconfig on stdin: never hangs, succeeds when
 * the node or the whole cluster is gone, works when the old instance is dead (the drain runs into
 * its bound, the etcd member goes through another node's etcd pod), and fails only when the API is
 * up and a control plane's etcd member cannot be removed.
 */
import { renderRemoveNode } from "../../render/steps";
import { callsOf, sandboxTest } from "./sandbox";
import { clusterBundle } from "./params";

const stdin = clusterBundle();

const removeCp1 = renderRemoveNode({
  nodeName: "cp-1",
  nodeIp: "192.0.2.11",
  role: "control-plane",
  drainTimeoutSeconds: 120,
  apiWaitSeconds: 1,
});
const removeWorker = renderRemoveNode({
  nodeName: "w-0",
  nodeIp: "192.0.2.21",
  role: "worker",
  drainTimeoutSeconds: 60,
  apiWaitSeconds: 1,
});

const ETCDCTL =
  "etcdctl --endpoints=https://127.0.0.1:2379 --cacert /etc/kubernetes/pki/etcd/ca.crt --cert /etc/kubernetes/pki/etcd/healthcheck-client.crt --key /etc/kubernetes/pki/etcd/healthcheck-client.key";

/** A three-member control plane, all healthy. */
const HA = {
  DOUBLE_NODES: "cp-0=True cp-1=True cp-2=True w-0=True",
  DOUBLE_ETCD_PODS: "etcd-cp-1 cp-1 True\\netcd-cp-0 cp-0 True\\netcd-cp-2 cp-2 True",
  DOUBLE_ETCD_MEMBERS: [
    "8e9e05c52164694d, started, cp-0, https://192.0.2.10:2380, https://192.0.2.10:2379, false",
    "91bc3c398fb3c146, started, cp-1, https://192.0.2.11:2380, https://192.0.2.11:2379, false",
    "fd422379fda50e48, started, cp-2, https://192.0.2.12:2380, https://192.0.2.12:2379, false",
  ].join("\\n"),
};

/** kubectl calls without the binary and the request timeout. */
const kubectlCalls = (calls: string[]): string[] =>
  calls.map((c) => c.replace(/^kubectl (--request-timeout=\S+ )?/, ""));

sandboxTest("remove-node exits 0 quickly when the API server does not answer", async (sb) => {
  const r = await sb.run(removeCp1, { stdin, env: { ...HA, DOUBLE_API: "down" } });
  expect(r.code).toBe(0);
  expect(r.ms).toBeLessThan(5000);
  expect(r.stderr).toContain("assuming the cluster is gone");
  expect(callsOf(sb, "kubectl").every((c) => c.includes("get --raw /readyz"))).toBe(true);
});

sandboxTest(
  "removing a control plane drains it, removes its etcd member via a surviving etcd pod, deletes the node",
  async (sb) => {
    const r = await sb.run(removeCp1, { stdin, env: HA });
    expect(r.code).toBe(0);
    const kubectl = kubectlCalls(callsOf(sb, "kubectl"));
    expect(kubectl).toEqual(
      expect.arrayContaining([
        "drain cp-1 --ignore-daemonsets --delete-emptydir-data --force --timeout=120s",
        `-n kube-system exec etcd-cp-0 -- ${ETCDCTL} member list -w simple`,
        `-n kube-system exec etcd-cp-0 -- ${ETCDCTL} member remove 91bc3c398fb3c146`,
        "delete node cp-1 --ignore-not-found",
      ]),
    );
    expect(kubectl.some((c) => c.includes("exec etcd-cp-1 "))).toBe(false); // its own pod
    const order = ["drain cp-1", "member remove", "delete node cp-1"].map((s) =>
      kubectl.findIndex((c) => c.includes(s)),
    );
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(r.stderr).not.toContain("did not finish");
  },
);

sandboxTest(
  "replacing a control plane whose old instance is unreachable: the drain times out (bounded), the unnamed etcd member is removed by NODE_IP through another node's pod, the Node deleted",
  async (sb) => {
    const dead = renderRemoveNode({
      nodeName: "cp-1",
      nodeIp: "192.0.2.11",
      role: "control-plane",
      drainTimeoutSeconds: 1,
      apiWaitSeconds: 1,
    });
    const r = await sb.run(dead, {
      stdin,
      env: {
        // cp-1 is NotReady; its etcd pod still shows Running but not Ready, and its member never
        // got a name (it had not started when the instance died). The Node reports another
        // InternalIP than NODE_IP, so only NODE_IP finds the member.
        DOUBLE_NODES: "cp-0=True cp-1=False cp-2=True",
        DOUBLE_ETCD_EXEC_DOWN: "etcd-cp-1", // its kubelet does not answer
        DOUBLE_NODE_IP: "198.51.100.7",
        DOUBLE_ETCD_PODS: "etcd-cp-1 cp-1 False\\netcd-cp-2 cp-2 False\\netcd-cp-0 cp-0 True",
        DOUBLE_ETCD_MEMBERS: [
          "8e9e05c52164694d, started, cp-0, https://192.0.2.10:2380, https://192.0.2.10:2379, false",
          "91bc3c398fb3c146, unstarted, , https://192.0.2.11:2380, , false",
          "fd422379fda50e48, started, cp-2, https://192.0.2.12:2380, https://192.0.2.12:2379, false",
        ].join("\\n"),
      },
    });
    expect(r.code).toBe(0);
    expect(r.ms).toBeLessThan(10000);
    expect(r.stderr).toContain("cp-1 is not Ready (Ready=False)");
    expect(r.stderr).toContain("global timeout reached: 1s");
    expect(r.stderr).toContain("drain of cp-1 did not finish; continuing with its removal");
    const kubectl = kubectlCalls(callsOf(sb, "kubectl"));
    // The Ready etcd pod on another node first.
    expect(kubectl.filter((c) => c.includes(" exec "))).toEqual([
      `-n kube-system exec etcd-cp-0 -- ${ETCDCTL} member list -w simple`,
      `-n kube-system exec etcd-cp-0 -- ${ETCDCTL} member remove 91bc3c398fb3c146`,
    ]);
    expect(kubectl.at(-1)).toBe("delete node cp-1 --ignore-not-found");
  },
);

sandboxTest("an etcd pod whose exec does not answer is skipped for the next one", async (sb) => {
  const r = await sb.run(removeCp1, {
    stdin,
    env: { ...HA, DOUBLE_ETCD_EXEC_DOWN: "etcd-cp-0" },
  });
  expect(r.code).toBe(0);
  expect(r.stderr).toContain("etcdctl in etcd-cp-0 does not answer; trying the next etcd pod");
  expect(kubectlCalls(callsOf(sb, "kubectl"))).toContain(
    `-n kube-system exec etcd-cp-2 -- ${ETCDCTL} member remove 91bc3c398fb3c146`,
  );
});

sandboxTest(
  "remove-node fails when the API is up but the etcd member cannot be removed",
  async (sb) => {
    const r = await sb.run(removeCp1, { stdin, env: { ...HA, DOUBLE_ETCD_REMOVE_RC: "1" } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("could not remove cp-1's etcd member 91bc3c398fb3c146");
    expect(callsOf(sb, "kubectl").some((c) => c.includes("delete node"))).toBe(false);
  },
);

sandboxTest(
  "remove-node skips the drain of a node object that is gone and finds its member already removed",
  async (sb) => {
    const r = await sb.run(removeCp1, {
      stdin,
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
  "remove-node treats a drain that fails as a warning and still deletes a worker",
  async (sb) => {
    const r = await sb.run(removeWorker, { stdin, env: { ...HA, DOUBLE_DRAIN_RC: "1" } });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("drain of w-0 did not finish; continuing");
    const kubectl = callsOf(sb, "kubectl");
    expect(kubectl.some((c) => c.includes("etcdctl"))).toBe(false);
    expect(kubectl[kubectl.length - 1]).toBe(
      "kubectl --request-timeout=60s delete node w-0 --ignore-not-found",
    );
  },
);

/**
 * etcd-prune, on the bastion with the program's kubeconfig on stdin, before the control planes
 * join: removes the etcd members of instances that are gone and cannot answer (a dead control
 * plane being replaced, or a member a failed join left unstarted), never one that answers, and
 * reaches the API servers at their own addresses.
 */
import { renderEtcdPrune } from "../../render/steps";
import { callsOf, sandboxTest } from "./sandbox";
import { clusterBundle } from "./params";

const stdin = clusterBundle();
const API = "api.k8s-test.k8s.internal";
const prune = (controlPlaneIps: string[], apiWaitSeconds = 2) =>
  renderEtcdPrune({ controlPlaneIps, apiEndpointHost: API, apiWaitSeconds });

const member = (id: string, status: string, name: string, ip: string) =>
  `${id}, ${status}, ${name}, https://${ip}:2380, ${status === "started" ? `https://${ip}:2379` : ""}, false`;
const CP0 = member("8e9e05c52164694d", "started", "cp-0", "192.0.2.10");
const CP1 = member("91bc3c398fb3c146", "started", "cp-1", "192.0.2.11");
const CP2 = member("fd422379fda50e48", "started", "cp-2", "192.0.2.12");
const PODS = "etcd-cp-0 cp-0 True\\netcd-cp-1 cp-1 True\\netcd-cp-2 cp-2 True";

const kubectl = (sb: Parameters<typeof callsOf>[0]) => callsOf(sb, "kubectl");
const removals = (sb: Parameters<typeof callsOf>[0]) =>
  kubectl(sb)
    .filter((c) => c.includes("member remove"))
    .map((c) => c.split(" ").pop());

sandboxTest(
  "at creation, right after init, it finds only cp-0's member and removes nothing",
  async (sb) => {
    const r = await sb.run(prune(["192.0.2.10", "192.0.2.11", "192.0.2.12"]), {
      stdin,
      env: { DOUBLE_ETCD_PODS: "etcd-cp-0 cp-0 True", DOUBLE_ETCD_MEMBERS: CP0 },
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("nothing to remove");
    expect(removals(sb)).toEqual([]);
    // The API server at cp-0's own address, its certificate checked against the API's name.
    expect(
      kubectl(sb).every((c) =>
        c.includes(`--server https://192.0.2.10:6443 --tls-server-name ${API}`),
      ),
    ).toBe(true);
  },
);

sandboxTest(
  "replacing a control plane whose old instance is dead: its member goes before the new one joins",
  async (sb) => {
    // cp-1's old instance (192.0.2.11) is dead; its replacement is 192.0.2.21.
    const r = await sb.run(prune(["192.0.2.10", "192.0.2.21", "192.0.2.12"]), {
      stdin,
      env: {
        DOUBLE_ETCD_PODS: "etcd-cp-1 cp-1 False\\netcd-cp-0 cp-0 True\\netcd-cp-2 cp-2 True",
        DOUBLE_ETCD_MEMBERS: [CP0, CP1, CP2].join("\\n"),
        DOUBLE_ETCD_DOWN_IPS: "192.0.2.11",
      },
    });
    expect(r.code).toBe(0);
    expect(removals(sb)).toEqual(["91bc3c398fb3c146"]);
    // Through the Ready pod, and the dead member was checked before it went.
    expect(
      kubectl(sb)
        .filter((c) => c.includes(" exec "))
        .every((c) => c.includes("exec etcd-cp-0 ")),
    ).toBe(true);
    expect(
      kubectl(sb).some(
        (c) => c.includes("--endpoints=https://192.0.2.11:2379") && c.includes("endpoint health"),
      ),
    ).toBe(true);
    expect(r.stderr).toContain("removed 1 etcd member(s)");
  },
);

sandboxTest(
  "a planned replacement keeps the old member while it answers: its own removal step takes it later",
  async (sb) => {
    const r = await sb.run(prune(["192.0.2.10", "192.0.2.21", "192.0.2.12"]), {
      stdin,
      env: { DOUBLE_ETCD_PODS: PODS, DOUBLE_ETCD_MEMBERS: [CP0, CP1, CP2].join("\\n") },
    });
    expect(r.code).toBe(0);
    expect(removals(sb)).toEqual([]);
    expect(r.stderr).toContain("is not in the stack but answers");
  },
);

sandboxTest(
  "a member a failed join left unstarted goes, even on an address of the stack",
  async (sb) => {
    const stale = member("a1b2c3d4e5f60718", "unstarted", "", "192.0.2.21");
    const r = await sb.run(prune(["192.0.2.10", "192.0.2.21", "192.0.2.12"]), {
      stdin,
      env: { DOUBLE_ETCD_PODS: PODS, DOUBLE_ETCD_MEMBERS: [CP0, stale, CP2].join("\\n") },
    });
    expect(r.code).toBe(0);
    expect(removals(sb)).toEqual(["a1b2c3d4e5f60718"]);
  },
);

sandboxTest(
  "replacing a dead cp-0: the API is reached at a surviving control plane",
  async (sb) => {
    const r = await sb.run(prune(["192.0.2.30", "192.0.2.11", "192.0.2.12"]), {
      stdin,
      env: {
        DOUBLE_API_DOWN_IPS: "192.0.2.30",
        DOUBLE_ETCD_PODS: "etcd-cp-0 cp-0 False\\netcd-cp-1 cp-1 True\\netcd-cp-2 cp-2 True",
        DOUBLE_ETCD_MEMBERS: [CP0, CP1, CP2].join("\\n"),
        DOUBLE_ETCD_DOWN_IPS: "192.0.2.10",
      },
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("using the API server at 192.0.2.11");
    expect(removals(sb)).toEqual(["8e9e05c52164694d"]);
  },
);

sandboxTest("with no API server answering it stops, saying a restore is needed", async (sb) => {
  const r = await sb.run(prune(["192.0.2.10"], 1), { stdin, env: { DOUBLE_API: "down" } });
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain("restore from a backup");
});

sandboxTest("a removal etcd refuses stops the step", async (sb) => {
  const r = await sb.run(prune(["192.0.2.10", "192.0.2.21", "192.0.2.12"]), {
    stdin,
    env: {
      DOUBLE_ETCD_PODS: PODS,
      DOUBLE_ETCD_MEMBERS: [CP0, CP1, CP2].join("\\n"),
      DOUBLE_ETCD_DOWN_IPS: "192.0.2.11",
      DOUBLE_ETCD_REMOVE_RC: "1",
    },
  });
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain("could not remove etcd member 91bc3c398fb3c146");
});

/**
 * join: waits for the API endpoint, joins once (guarded), resets and retries a failed join once,
 * explains token problems, routes a joining control plane to the first control plane, and then
 * recreates a kube-proxy pod that kept the join-time copy of /etc/hosts.
 */
import * as fs from "fs";

import { renderJoin } from "../../render/steps";
import { callsOf, runTwice, Sandbox, sandboxTest, scenario } from "./sandbox";
import {
  API_HOST,
  CERT_KEY,
  CP0_IP,
  joinBundle,
  joinInputs,
  NODE_NAME,
  SECRET_MARKERS,
  TOKEN,
} from "./params";

const worker = renderJoin(joinInputs("worker"));
const controlPlane = renderJoin(joinInputs("control-plane"));

function fresh(sb: Sandbox): Sandbox {
  sb.write("/etc/hosts", "127.0.0.1 localhost\n");
  return sb;
}

const verbs = (sb: Sandbox): string[] =>
  callsOf(sb, "kubeadm")
    .filter((c) => !c.startsWith("kubeadm config validate"))
    .map((c) => c.split(" ").slice(0, 2).join(" "));

describe("a worker join, then a second run of the step", () => {
  const join = scenario((sb) =>
    runTwice(fresh(sb), worker, { stdin: joinBundle("worker"), env: { DOUBLE_READYZ_FAILS: "2" } }),
  );

  test("waits for /readyz through the endpoint, then joins with the token in a 0600 config", () => {
    const { sb, first, firstCalls } = join();
    expect(first.stderr).toContain("joined the cluster as a worker");
    expect(first.code).toBe(0);
    const probes = firstCalls.filter((c) => c.startsWith("curl ") && c.endsWith("/readyz"));
    expect(probes).toHaveLength(3);
    expect(probes[0]).toContain(`https://${API_HOST}:6443/readyz`);
    expect(firstCalls.filter((c) => c.startsWith("kubeadm ") && !c.includes("validate"))).toEqual([
      `kubeadm join --config ${sb.root}/etc/kubernetes/kubeadm/join.yaml`,
    ]);
    const config = sb.read("/etc/kubernetes/kubeadm/join.yaml");
    expect(config).toContain(`    token: ${TOKEN}\n`);
    expect(config).toContain(`  tlsBootstrapToken: ${TOKEN}\n`);
    expect(sb.mode("/etc/kubernetes/kubeadm/join.yaml")).toBe(0o600);
    expect(sb.read("/etc/hosts")).toBe("127.0.0.1 localhost\n"); // workers use the load balancer
  });

  test("never prints the token nor passes it on a command line", () => {
    const { first, firstCalls } = join();
    expect(first.stdout).toBe("");
    expect(first.stderr).toContain("[discovery] Using token: <redacted-token>");
    for (const secret of SECRET_MARKERS) {
      expect(first.stderr + firstCalls.join("\n")).not.toContain(secret);
    }
  });

  test("is not repeated on a node that already joined, and the second run changes nothing", () => {
    const { second, secondCalls, changed } = join();
    expect(second.code).toBe(0);
    expect(second.stderr).toContain("already joined");
    expect(secondCalls.filter((c) => c.startsWith("kubeadm "))).toEqual([]);
    expect(changed).toEqual([]);
  });
});

describe("a control-plane join", () => {
  sandboxTest(
    "reaches the first control plane during the join and its own API server afterwards",
    async (sb) => {
      fresh(sb);
      const r = await sb.run(controlPlane, { stdin: joinBundle("control-plane") });
      expect(r.code).toBe(0);
      expect(sb.stateFile("hosts-during-join")).toContain(`${CP0_IP} ${API_HOST} # kubeadm-aws\n`);
      expect(sb.read("/etc/hosts")).toBe(
        `127.0.0.1 localhost\n127.0.0.1 ${API_HOST} # kubeadm-aws\n`,
      );
      expect(sb.read("/etc/kubernetes/kubeadm/join.yaml")).toContain(
        `  certificateKey: ${CERT_KEY}\n`,
      );
      expect(sb.read("/root/.kube/config")).toBe(sb.read("/etc/kubernetes/admin.conf"));
    },
  );

  sandboxTest("needs the certificate key in the bundle", async (sb) => {
    fresh(sb);
    const r = await sb.run(controlPlane, { stdin: joinBundle("worker") });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("no 'certificate-key' entry");
    expect(callsOf(sb, "kubeadm")).toEqual([]);
  });
});

describe("a failed join", () => {
  sandboxTest("is reset and retried once", async (sb) => {
    fresh(sb);
    const r = await sb.run(worker, {
      stdin: joinBundle("worker"),
      env: { DOUBLE_KUBEADM_JOIN_FAILS: "1" },
    });
    expect(r.code).toBe(0);
    expect(verbs(sb)).toEqual(["kubeadm join", "kubeadm reset", "kubeadm join"]);
    expect(callsOf(sb, "kubeadm")).toContain(
      "kubeadm reset -f --cri-socket unix:///run/containerd/containerd.sock",
    );
    expect(r.stderr).toContain("retrying kubeadm join once");
  });

  sandboxTest("exits non-zero after the second failure, with the node reset again", async (sb) => {
    fresh(sb);
    sb.write("/etc/cni/net.d/10-flannel.conflist", "{}\n");
    const r = await sb.run(worker, {
      stdin: joinBundle("worker"),
      env: { DOUBLE_KUBEADM_JOIN_FAILS: "2" },
    });
    expect(r.code).toBe(1);
    expect(verbs(sb)).toEqual(["kubeadm join", "kubeadm reset", "kubeadm join", "kubeadm reset"]);
    expect(r.stderr).toContain("kubeadm join failed twice: first attempt exit 1, retry exit 1");
    expect(sb.exists("/etc/cni/net.d/10-flannel.conflist")).toBe(false);
    expect(r.stderr).not.toContain("pulumi up --replace");
  });

  sandboxTest("caused by an expired token says how to get a fresh one", async (sb) => {
    fresh(sb);
    const r = await sb.run(worker, {
      stdin: joinBundle("worker"),
      env: {
        DOUBLE_KUBEADM_JOIN_FAILS: "2",
        DOUBLE_KUBEADM_JOIN_ERROR:
          'error execution phase preflight: couldn\'t validate the identity of the API Server: could not find a JWS signature in the cluster-info ConfigMap for token ID "k8saws"',
      },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("invalid or expired bootstrap token");
    expect(r.stderr).toContain("pulumi up --replace <URN of that creds command>");
  });
});

sandboxTest("join gives up when the API endpoint never answers", async (sb) => {
  fresh(sb);
  const r = await sb.run(worker, {
    stdin: joinBundle("worker"),
    env: { DOUBLE_READYZ_FAILS: "1000", KUBEADM_AWS_READYZ_WAIT_SECONDS: "1" },
  });
  expect(r.code).toBe(1);
  expect(r.stderr).toContain(`timed out after 1s waiting for the API server at ${API_HOST}:6443`);
  expect(r.stderr).toContain("the API endpoint did not answer");
  expect(callsOf(sb, "kubeadm")).toEqual([]);
});

describe("kube-proxy's copy of /etc/hosts on a joined control plane", () => {
  const PODS = "/var/lib/kubelet/pods";
  const LIST =
    `kubectl --request-timeout=15s -n kube-system get pods -l k8s-app=kube-proxy ` +
    `--field-selector spec.nodeName=${NODE_NAME} -o jsonpath=` +
    `{range .items[*]}{.metadata.uid}{" "}{.metadata.name}{" "}{.status.phase}{"\\n"}{end}`;
  const FINAL = `127.0.0.1 ${API_HOST} # kubeadm-aws\n`;
  const lists = (sb: Sandbox): string[] => callsOf(sb, "kubectl").filter((c) => c === LIST);
  const deletes = (sb: Sandbox): string[] =>
    callsOf(sb, "kubectl").filter((c) => c.includes(" delete pod "));
  /** The copy of /etc/hosts of every pod directory the kubelet double holds now. */
  const copies = (sb: Sandbox): string[] =>
    sb.exists(PODS)
      ? fs.readdirSync(sb.path(PODS)).map((uid) => sb.read(`${PODS}/${uid}/etc-hosts`))
      : [];

  sandboxTest(
    "a pod started during the join (endpoint -> first CP) is deleted after the flip, and the step waits for its Running replacement",
    async (sb) => {
      fresh(sb);
      const r = await sb.run(controlPlane, {
        stdin: joinBundle("control-plane"),
        env: { DOUBLE_KUBE_PROXY_PENDING: "2" },
      });
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(`kube-proxy pod kube-proxy-00001 maps ${API_HOST} to ${CP0_IP}`);
      expect(deletes(sb)).toEqual([
        "kubectl --request-timeout=15s -n kube-system delete pod kube-proxy-00001 --ignore-not-found --wait=false",
      ]);
      expect(sb.stateFile("deleted-pods")).toBe("kube-proxy-00001\n");
      // The first list, then the wait: Pending, Pending, Running.
      expect(lists(sb)).toHaveLength(4);
      expect(r.stderr).toMatch(
        /a Running kube-proxy pod on \S+ whose copy of \/etc\/hosts maps \S+ to 127\.0\.0\.1: ready after/,
      );
      // Only the replacement is left, and its copy was made from the final /etc/hosts.
      const left = copies(sb);
      expect(left).toHaveLength(1);
      expect(left[0]).toContain(FINAL);
      expect(left[0]).not.toContain(CP0_IP);
      expect(r.stderr).toContain("joined the cluster as a control-plane");
    },
  );

  sandboxTest(
    "a pod whose copy already maps the endpoint to 127.0.0.1 is left alone",
    async (sb) => {
      fresh(sb);
      // A comment that names the endpoint does not count; the live line does.
      const copy = `# Kubernetes-managed hosts file (host network).\n127.0.0.1 localhost\n# ${CP0_IP} ${API_HOST} (join time)\n${FINAL}`;
      sb.kubeProxyPod("5e0c2a0f-1b7d-4c55-9f0e-2f0b8a6d1c3e", "kube-proxy-ab12c", copy);
      const r = await sb.run(controlPlane, { stdin: joinBundle("control-plane") });
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(
        `kube-proxy pod kube-proxy-ab12c already maps ${API_HOST} to 127.0.0.1`,
      );
      expect(deletes(sb)).toEqual([]);
      expect(lists(sb)).toHaveLength(1);
      expect(sb.read(`${PODS}/5e0c2a0f-1b7d-4c55-9f0e-2f0b8a6d1c3e/etc-hosts`)).toBe(copy);
    },
  );

  sandboxTest(
    "a pod that has not started yet is not deleted but waited for, and then holds the final copy",
    async (sb) => {
      fresh(sb);
      sb.kubeProxyPod("7d3b9e21-0c4a-4f6e-8a5d-1e2f3a4b5c6d", "kube-proxy-zz9x8", undefined, 2);
      const r = await sb.run(controlPlane, { stdin: joinBundle("control-plane") });
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(
        "kube-proxy pod kube-proxy-zz9x8 (Pending) has no copy of /etc/hosts yet",
      );
      expect(deletes(sb)).toEqual([]);
      expect(lists(sb)).toHaveLength(3);
      expect(sb.read(`${PODS}/7d3b9e21-0c4a-4f6e-8a5d-1e2f3a4b5c6d/etc-hosts`)).toContain(FINAL);
    },
  );

  sandboxTest("a worker join and its re-run never touch kube-proxy", async (sb) => {
    fresh(sb);
    const stale = `127.0.0.1 localhost\n${CP0_IP} ${API_HOST}\n`;
    sb.kubeProxyPod("0b6a4f3e-2d1c-4b5a-9e8f-7a6b5c4d3e2f", "kube-proxy-w0001", stale);
    const { first, firstCalls, second, secondCalls } = await runTwice(sb, worker, {
      stdin: joinBundle("worker"),
    });
    expect(first.code).toBe(0);
    expect(second.code).toBe(0);
    expect(second.stderr).toContain("already joined");
    expect([...firstCalls, ...secondCalls].filter((c) => c.startsWith("kubectl"))).toEqual([]);
    expect(sb.read(`${PODS}/0b6a4f3e-2d1c-4b5a-9e8f-7a6b5c4d3e2f/etc-hosts`)).toBe(stale);
    expect(first.stderr + second.stderr).not.toContain("kube-proxy");
  });

  describe("a control plane whose step failed after the join, then two re-runs", () => {
    const play = scenario(async (sb) => {
      fresh(sb);
      // The API server answers nothing for the five listing attempts: the step fails after the join.
      const failed = await sb.run(controlPlane, {
        stdin: joinBundle("control-plane"),
        env: { DOUBLE_KUBE_PROXY_LIST_FAILS: "5" },
      });
      const failedCalls = sb.calls();
      sb.clearCalls();
      return {
        failed,
        failedCalls,
        ...(await runTwice(sb, controlPlane, { stdin: joinBundle("control-plane") })),
      };
    });

    test("the failed run joined, flipped /etc/hosts and left the join-time kube-proxy running", () => {
      const { sb, failed, failedCalls } = play();
      expect(failed.code).toBe(1);
      expect(failed.stderr).toContain(`cannot list the kube-proxy pods on ${NODE_NAME}`);
      expect(failedCalls.filter((c) => c.startsWith("kubeadm join"))).toHaveLength(1);
      // Five attempts, then one more for the diagnostics, which show the stale copy.
      expect(failedCalls.filter((c) => c === LIST)).toHaveLength(6);
      expect(failed.stderr).toMatch(
        new RegExp(`kube-proxy-00001 \\(Running\\): \\S+/etc-hosts maps ${API_HOST} to ${CP0_IP}`),
      );
      expect(failedCalls.some((c) => c.includes(" delete pod "))).toBe(false);
      expect(sb.exists("/var/lib/kubeadm-aws/join.done")).toBe(false);
      expect(sb.read("/etc/hosts")).toContain(FINAL);
    });

    test("the first re-run does not join again but recreates the stale kube-proxy pod", () => {
      const { sb, first, firstCalls } = play();
      expect(first.code).toBe(0);
      expect(first.stderr).toContain("already joined");
      expect(firstCalls.filter((c) => c.startsWith("kubeadm "))).toEqual([]);
      expect(firstCalls.filter((c) => c.includes(" delete pod kube-proxy-00001 "))).toHaveLength(1);
      expect(sb.stateFile("deleted-pods")).toBe("kube-proxy-00001\n");
      const left = copies(sb);
      expect(left).toHaveLength(1);
      expect(left[0]).toContain(FINAL);
    });

    test("the second re-run checks again, deletes nothing and changes nothing", () => {
      const { second, secondCalls, changed } = play();
      expect(second.code).toBe(0);
      expect(secondCalls.filter((c) => c === LIST)).toHaveLength(1);
      expect(secondCalls.filter((c) => c.includes(" delete pod "))).toEqual([]);
      expect(second.stderr).toContain("kube-proxy pod kube-proxy-00002 already maps");
      expect(changed).toEqual([]);
    });
  });

  sandboxTest(
    "a kube-proxy pod that never comes back fails the step after its bound, with diagnostics",
    async (sb) => {
      fresh(sb);
      const r = await sb.run(controlPlane, {
        stdin: joinBundle("control-plane"),
        env: { DOUBLE_KUBE_PROXY_RECREATE: "never", KUBEADM_AWS_KUBE_PROXY_WAIT_SECONDS: "1" },
      });
      expect(r.code).toBe(1);
      expect(r.ms).toBeLessThan(10000);
      expect(deletes(sb)).toHaveLength(1);
      expect(r.stderr).toContain(
        `timed out after 1s waiting for a Running kube-proxy pod on ${NODE_NAME} whose copy of /etc/hosts maps ${API_HOST} to 127.0.0.1`,
      );
      expect(r.stderr).toContain(`no kube-proxy pod on ${NODE_NAME} yet`);
      for (const diag of [
        "DIAG-KUBE-PROXY-PODS",
        "DIAG-KUBE-PROXY-DS",
        "BackOff pod/kube-proxy",
        "DIAG-KUBELET-JOURNAL",
        "DIAG-NODES-WIDE",
      ]) {
        expect(r.stderr).toContain(diag);
      }
      expect(r.stderr).not.toContain("pod/coredns"); // only kube-proxy's events
      expect(r.stderr).toContain("re-running this step retries");
      expect(sb.exists("/var/lib/kubeadm-aws/join.done")).toBe(false);
    },
  );
});

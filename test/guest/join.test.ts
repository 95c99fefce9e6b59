/**
 * join: waits for the API endpoint (a worker through the VPC's DNS and the internal load balancer,
 * logging each state change once and explaining a timeout), joins once (guarded), resets and
 * retries a failed join once, explains token problems, routes a joining control plane to the
 * first control plane, and then recreates a kube-proxy pod that kept the join-time copy of
 * /etc/hosts.
 */
import * as fs from "fs";

import { renderJoin } from "../../render/steps";
import { callsOf, runTwice, Sandbox, sandboxTest, scenario } from "./sandbox";
import {
  API_HOST,
  API_NAME,
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

describe("a worker waiting for the fixed private name", () => {
  const fixedWorker = renderJoin(joinInputs("worker", API_NAME));
  const fixedControlPlane = renderJoin(joinInputs("control-plane", API_NAME));
  /** The VPC's DNS as the getent and curl doubles see it: the name's two load balancer addresses. */
  const DNS = { DOUBLE_GETENT_NAME: API_NAME, DOUBLE_GETENT_ADDRESSES: "10.0.1.5 10.0.33.7" };
  const WAIT = `the API server at ${API_NAME}:6443`;
  const READYZ = `https://${API_NAME}:6443/readyz`;
  /** The lookups, probes and join of a run, in order: "getent", "readyz", "join". */
  const sequence = (sb: Sandbox): string[] =>
    sb.calls().flatMap((c) => {
      if (c === `getent ahosts ${API_NAME}`) return ["getent"];
      if (c.startsWith("curl ") && c.endsWith(READYZ)) return ["readyz"];
      if (c.startsWith("kubeadm join ")) return ["join"];
      return [];
    });
  /** The state changes the wait logged, in order. */
  const states = (stderr: string): string[] =>
    stderr
      .split("\n")
      .filter((line) => line.includes(`[INFO] [join] ${WAIT}: `))
      .map((line) => line.slice(line.indexOf(`${WAIT}: `) + WAIT.length + 2));

  sandboxTest(
    "polls the name until it resolves and /readyz answers, and joins only after the first answer",
    async (sb) => {
      fresh(sb);
      const r = await sb.run(fixedWorker, {
        stdin: joinBundle("worker"),
        env: { ...DNS, DOUBLE_GETENT_AFTER: "2", DOUBLE_READYZ_FAILS: "2" },
      });
      expect(r.code).toBe(0);
      expect(r.stderr).toContain("joined the cluster as a worker");
      // Two lookups find nothing (no probe), then two probes fail, the third answers, then the join.
      expect(sequence(sb)).toEqual([
        "getent",
        "getent",
        "getent",
        "readyz",
        "getent",
        "readyz",
        "getent",
        "readyz",
        "join",
      ]);
      const calls = sb.calls();
      const firstAnswer = calls.filter((c) => c.endsWith(READYZ))[2] as string;
      expect(calls.findIndex((c) => c.startsWith("kubeadm join "))).toBeGreaterThan(
        calls.lastIndexOf(firstAnswer),
      );
      expect(r.stderr).toMatch(new RegExp(`${WAIT}: ready after \\d+s`));
      expect(r.stderr).not.toContain("---- why");
      expect(sb.read("/etc/hosts")).toBe("127.0.0.1 localhost\n"); // DNS, not /etc/hosts
    },
  );

  sandboxTest("logs each state change once, not every poll", async (sb) => {
    fresh(sb);
    const r = await sb.run(fixedWorker, {
      stdin: joinBundle("worker"),
      env: {
        ...DNS,
        DOUBLE_GETENT_AFTER: "3",
        DOUBLE_READYZ_FAILS: "3",
        DOUBLE_READYZ_UNREADY: "3",
      },
    });
    expect(r.code).toBe(0);
    // Ten polls: three per state, then ready.
    expect(sequence(sb).filter((c) => c === "getent")).toHaveLength(10);
    expect(states(r.stderr)).toEqual([
      `${API_NAME} does not resolve yet`,
      `${API_NAME} resolves to 10.0.1.5, 10.0.33.7; /readyz answers 000 (curl exit 7: no TCP connection: refused, or no route)`,
      `${API_NAME} resolves to 10.0.1.5, 10.0.33.7; /readyz answers 500 (an API server answers but is not ready)`,
      expect.stringMatching(/^ready after \d+s$/),
    ]);
  });

  /** The AWS checklist every timeout prints. */
  const AWS_HINTS = [
    "what to check in AWS:",
    "the internal load balancer's target group for port 6443: are the control-plane nodes registered and healthy?",
    "aws elbv2 describe-target-health --target-group-arn <ARN>",
    "the control-plane security group allows 6443/tcp from the load balancer's security group",
    `the Route 53 private hosted zone is associated with this VPC and has an alias record ${API_NAME}`,
  ];

  sandboxTest(
    "a name that never resolves: gives up after its bound, says so with the resolver and the AWS checks, and does not join",
    async (sb) => {
      fresh(sb);
      sb.write(
        "/etc/resolv.conf",
        "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch ec2.internal\n",
      );
      sb.write("/run/systemd/resolve/resolv.conf", "nameserver 10.0.0.2\nsearch ec2.internal\n");
      const r = await sb.run(fixedWorker, {
        stdin: joinBundle("worker"),
        env: { ...DNS, DOUBLE_GETENT_AFTER: "never", KUBEADM_AWS_READYZ_WAIT_SECONDS: "1" },
      });
      expect(r.code).toBe(1);
      expect(r.ms).toBeLessThan(10000);
      expect(r.stderr).toContain(`timed out after 1s waiting for ${WAIT}`);
      expect(states(r.stderr)).toEqual([`${API_NAME} does not resolve yet`]);
      for (const expected of [
        `---- why ${API_NAME}:6443 did not answer ----`,
        `getent ahosts ${API_NAME} finds no address (exit 2, not found): the name does not resolve on this node`,
        "The Route 53 private hosted zone that holds it is not associated with this node's VPC, or the zone has no record",
        `through the name: curl exit 6 (curl cannot resolve the name); no TCP connection; no TLS session; HTTP 000`,
        `curl said: curl: (6) Could not resolve host: ${API_NAME}`,
        "  nameserver 127.0.0.53",
        "    nameserver 10.0.0.2",
        "likely cause: the name does not resolve: check the private hosted zone and its record first",
        ...AWS_HINTS,
        "the API endpoint did not answer within 1s (diagnostics above)",
      ]) {
        expect(r.stderr).toContain(expected);
      }
      expect(r.stderr).not.toContain("search ec2.internal"); // only the nameserver lines
      expect(callsOf(sb, "kubeadm")).toEqual([]);
      expect(sb.exists("/etc/kubernetes/kubeadm/join.yaml")).toBe(false);
    },
  );

  sandboxTest(
    "a name that resolves to a load balancer that never answers: probes each address and points at the targets and security groups",
    async (sb) => {
      fresh(sb);
      const r = await sb.run(fixedWorker, {
        stdin: joinBundle("worker"),
        env: {
          ...DNS,
          DOUBLE_READYZ_FAILS: "1000",
          DOUBLE_READYZ_ERROR: "timeout",
          KUBEADM_AWS_READYZ_WAIT_SECONDS: "1",
        },
      });
      expect(r.code).toBe(1);
      expect(r.ms).toBeLessThan(10000);
      expect(states(r.stderr)).toEqual([
        `${API_NAME} resolves to 10.0.1.5, 10.0.33.7; /readyz answers 000 (curl exit 28: timed out: no TCP answer within 5s or no HTTP answer within 10s (dropped packets?))`,
      ]);
      for (const expected of [
        `getent ahosts ${API_NAME} resolves it to 10.0.1.5, 10.0.33.7 (its STREAM lines:)`,
        `  10.0.1.5        STREAM ${API_NAME}`,
        "through the name: curl exit 28 (timed out",
        "to 10.0.1.5: curl exit 28",
        "to 10.0.33.7: curl exit 28",
        "curl said: curl: (28) Connection timed out after 5001 milliseconds",
        "(no /etc/resolv.conf)",
        "likely cause: connections time out: most often no healthy target, or a security group that drops 6443/tcp",
        ...AWS_HINTS,
      ]) {
        expect(r.stderr).toContain(expected);
      }
      // The probes of each address pin it, bounded like every probe.
      const pinned = callsOf(sb, "curl").filter((c) => c.includes(" --resolve "));
      expect(pinned).toEqual([
        expect.stringContaining(`--resolve ${API_NAME}:6443:10.0.1.5 ${READYZ}`),
        expect.stringContaining(`--resolve ${API_NAME}:6443:10.0.33.7 ${READYZ}`),
      ]);
      for (const probe of callsOf(sb, "curl")) {
        expect(probe).toContain("-ksS -o /dev/null --connect-timeout 5 --max-time 10 -w ");
      }
      expect(callsOf(sb, "kubeadm")).toEqual([]);
    },
  );

  sandboxTest("a TLS failure behind the name is told apart from a TCP failure", async (sb) => {
    fresh(sb);
    const r = await sb.run(fixedWorker, {
      stdin: joinBundle("worker"),
      env: {
        ...DNS,
        DOUBLE_READYZ_FAILS: "1000",
        DOUBLE_READYZ_ERROR: "tls",
        KUBEADM_AWS_READYZ_WAIT_SECONDS: "1",
      },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "through the name: curl exit 35 (TCP connected, the TLS handshake failed); TCP connected to 10.0.1.5:6443; TLS handshake failed; HTTP 000",
    );
    expect(r.stderr).toContain(
      "likely cause: something accepts TCP connections but does not speak TLS",
    );
  });

  sandboxTest(
    "a control plane never waits for the load balancer: it reaches the first control plane through /etc/hosts",
    async (sb) => {
      fresh(sb);
      const r = await sb.run(fixedControlPlane, {
        stdin: joinBundle("control-plane"),
        env: { ...DNS, DOUBLE_GETENT_AFTER: "never" },
      });
      expect(r.code).toBe(0);
      expect(sb.stateFile("hosts-during-join")).toContain(`${CP0_IP} ${API_NAME} # kubeadm-aws\n`);
      expect(callsOf(sb, "getent")).toEqual([]);
      expect(callsOf(sb, "curl").filter((c) => c.endsWith(READYZ))).toHaveLength(1);
      expect(r.stderr).toContain("joined the cluster as a control-plane");
    },
  );
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

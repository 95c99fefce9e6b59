/**
 * join: every node joins with the discovery file the program minted (no token, no certificate
 * key). A worker waits for the API endpoint through the VPC's DNS and the internal load balancer
 * (logging each state change once and explaining a timeout) and writes nothing to pki/; a control
 * plane installs the shared CA files and joins through the first other control plane that answers,
 * or the name when none does. The join runs once (guarded, a no-op on the instance that ran
 * init), a failure is reset and retried once, credential problems are explained, and a joined
 * control plane recreates a kube-proxy pod that kept the join-time copy of /etc/hosts.
 */
import * as fs from "fs";

import { renderSecretBundle } from "../../render/script";
import { renderInit, renderJoin } from "../../render/steps";
import { callsOf, runTwice, Sandbox, sandboxTest, scenario } from "./sandbox";
import {
  API_HOST,
  API_NAME,
  CP0_IP,
  CP2_IP,
  discoveryConf,
  initBundle,
  initInputs,
  joinBundle,
  joinConfig,
  joinInputs,
  NODE_NAME,
  PKI_SECRETS,
  SECRET_MARKERS,
} from "./params";

const worker = renderJoin(joinInputs("worker"));
const controlPlane = renderJoin(joinInputs("control-plane"));
const workerBundle = joinBundle("worker");
const cpBundle = joinBundle("control-plane");

function fresh(sb: Sandbox): Sandbox {
  sb.write("/etc/hosts", "127.0.0.1 localhost\n");
  return sb;
}

const verbs = (sb: Sandbox): string[] =>
  callsOf(sb, "kubeadm")
    .filter((c) => !c.startsWith("kubeadm config validate"))
    .map((c) => c.split(" ").slice(0, 2).join(" "));

/** The /readyz URLs curl was asked for, in order. */
const readyzProbes = (sb: Sandbox): string[] =>
  callsOf(sb, "curl")
    .filter((c) => c.endsWith("/readyz"))
    .map((c) => c.slice(c.lastIndexOf(" ") + 1));

/** The discovery file as the kubeadm double saw it during `kubeadm join`: path, mode, content. */
function discoveryDuringJoin(sb: Sandbox): { file: string; mode: string; content: string } {
  const [file = "", mode = ""] = sb.stateFile("discovery-during-join").trim().split(" ");
  return { file, mode, content: sb.stateFile("discovery-during-join.conf") };
}

/** Checks what every join that ran kubeadm leaves: the tmpfs discovery file, gone afterwards. */
function expectTmpfsDiscoveryFile(sb: Sandbox, apiEndpointHost = API_HOST): void {
  const { file, mode, content } = discoveryDuringJoin(sb);
  expect(file.startsWith(`${sb.path("/run/kubeadm-aws/join.")}`)).toBe(true);
  expect(file.endsWith("/discovery.conf")).toBe(true);
  expect(file).not.toBe(sb.path("/etc/kubernetes/bootstrap-kubelet.conf"));
  expect(mode).toBe("600");
  expect(content).toBe(discoveryConf(apiEndpointHost));
  expect(sb.read("/etc/kubernetes/kubeadm/join.yaml")).toContain(`    kubeConfigPath: "${file}"\n`);
  expect(fs.existsSync(file)).toBe(false);
  expect(fs.readdirSync(sb.path("/run/kubeadm-aws"))).toEqual([]);
}

describe("a worker join with a discovery file, then a second run of the step", () => {
  const join = scenario((sb) =>
    runTwice(fresh(sb), worker, { stdin: workerBundle, env: { DOUBLE_READYZ_FAILS: "2" } }),
  );

  test("waits for /readyz through the endpoint, then joins with the JoinConfiguration from the program", () => {
    const { sb, first, firstCalls } = join();
    expect(first.stderr).toContain("joined the cluster as a worker");
    expect(first.code).toBe(0);
    const probes = firstCalls.filter((c) => c.startsWith("curl ") && c.endsWith("/readyz"));
    expect(probes).toHaveLength(3);
    expect(probes[0]).toContain(`https://${API_HOST}:6443/readyz`);
    expect(firstCalls.filter((c) => c.startsWith("kubeadm ") && !c.includes("validate"))).toEqual([
      `kubeadm join --config ${sb.root}/etc/kubernetes/kubeadm/join.yaml`,
    ]);
    const { file } = discoveryDuringJoin(sb);
    expect(sb.read("/etc/kubernetes/kubeadm/join.yaml")).toBe(
      joinConfig(false).replace("__DISCOVERY_FILE__", file),
    );
    expect(sb.mode("/etc/kubernetes/kubeadm/join.yaml")).toBe(0o600);
  });

  test("passes the discovery file 0600 from the step's tmpfs directory, and removes it afterwards", () => {
    expectTmpfsDiscoveryFile(join().sb);
  });

  test("writes nothing to /etc/kubernetes/pki (a pre-placed ca.crt fails kubeadm's preflight) nor to /etc/hosts", () => {
    const { sb } = join();
    expect(sb.exists("/etc/kubernetes/pki")).toBe(false);
    expect(sb.read("/etc/hosts")).toBe("127.0.0.1 localhost\n"); // workers use the load balancer
  });

  test("never prints a credential nor passes one on a command line", () => {
    const { first, firstCalls } = join();
    expect(first.stdout).toBe("");
    for (const secret of SECRET_MARKERS) {
      expect(first.stderr + firstCalls.join("\n")).not.toContain(secret);
    }
  });

  test("is not repeated on a node that already joined, and the second run changes nothing", () => {
    const { second, secondCalls, changed } = join();
    expect(second.code).toBe(0);
    expect(second.stderr).toContain("already joined");
    expect(secondCalls.filter((c) => c.startsWith("kubeadm ") || c.startsWith("curl "))).toEqual(
      [],
    );
    expect(changed).toEqual([]);
  });
});

describe("a control-plane join", () => {
  const join = scenario(async (sb) => ({
    result: await fresh(sb).run(controlPlane, { stdin: cpBundle }),
  }));

  test("installs the shared CA files (keys 0600, certificates 0644), and no admin.conf, before kubeadm join", () => {
    const { sb, result } = join();
    expect(result.code).toBe(0);
    for (const [entry, content] of Object.entries(PKI_SECRETS)) {
      expect(sb.read(`/etc/kubernetes/${entry}`)).toBe(content);
      expect(sb.mode(`/etc/kubernetes/${entry}`)).toBe(entry.endsWith(".key") ? 0o600 : 0o644);
    }
    // The kubeadm double refuses a join without them, or with a pre-placed admin.conf.
    expect(result.stderr).toContain("This node has joined the cluster");
    expect(sb.read("/etc/kubernetes/kubeadm/join.yaml")).not.toContain("certificateKey");
  });

  test("joins through the first listed control plane that answers, by its IP, and through its own API server afterwards", () => {
    const { sb, result } = join();
    expect(readyzProbes(sb)).toEqual([`https://${CP0_IP}:6443/readyz`]);
    expect(result.stderr).toContain(`joining through the control plane at ${CP0_IP}`);
    expect(sb.stateFile("hosts-during-join")).toContain(`${CP0_IP} ${API_HOST} # kubeadm-aws\n`);
    expect(sb.read("/etc/hosts")).toBe(
      `127.0.0.1 localhost\n127.0.0.1 ${API_HOST} # kubeadm-aws\n`,
    );
    expect(sb.read("/root/.kube/config")).toBe(sb.read("/etc/kubernetes/admin.conf"));
    expect(result.stderr).toContain("joined the cluster as a control-plane");
  });

  test("passes the discovery file 0600 from the step's tmpfs directory, and removes it afterwards", () => {
    expectTmpfsDiscoveryFile(join().sb);
  });

  sandboxTest(
    "polls the listed control planes in turn and skips one that does not answer",
    async (sb) => {
      fresh(sb);
      const r = await sb.run(controlPlane, {
        stdin: cpBundle,
        env: { DOUBLE_READYZ_DOWN: CP0_IP, DOUBLE_READYZ_FAILS: "1" },
      });
      expect(r.code).toBe(0);
      // cp-0 is dead; cp-2's API server answers its second probe.
      expect(readyzProbes(sb)).toEqual(
        [CP0_IP, CP2_IP, CP0_IP, CP2_IP].map((ip) => `https://${ip}:6443/readyz`),
      );
      expect(r.stderr).toContain(
        `no other control plane answers /readyz yet (${CP0_IP}: no answer; ${CP2_IP}: no answer)`,
      );
      expect(sb.stateFile("hosts-during-join")).toContain(`${CP2_IP} ${API_HOST} # kubeadm-aws\n`);
      expect(sb.stateFile("hosts-during-join")).not.toContain(CP0_IP);
    },
  );

  /** The VPC's DNS as the getent and curl doubles see it: the load balancer's addresses. */
  const DNS = { DOUBLE_GETENT_NAME: API_NAME, DOUBLE_GETENT_ADDRESSES: "10.0.1.5 10.0.33.7" };

  sandboxTest(
    "falls back to the endpoint's name (DNS, the load balancer) when no listed control plane answers",
    async (sb) => {
      // A mapping left by an earlier attempt must not hide the name's DNS answer.
      sb.write("/etc/hosts", `127.0.0.1 localhost\n${CP0_IP} ${API_NAME} # kubeadm-aws\n`);
      const r = await sb.run(renderJoin(joinInputs("control-plane", API_NAME)), {
        stdin: joinBundle("control-plane", API_NAME),
        env: {
          ...DNS,
          DOUBLE_READYZ_DOWN: `${CP0_IP} ${CP2_IP}`,
          KUBEADM_AWS_READYZ_WAIT_SECONDS: "1",
        },
      });
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(
        `none of the other control planes (${CP0_IP} ${CP2_IP}) answered within 1s; falling back to ${API_NAME} itself`,
      );
      const probes = readyzProbes(sb);
      expect(probes.at(-1)).toBe(`https://${API_NAME}:6443/readyz`);
      expect(probes.slice(0, -1).every((url) => !url.includes(API_NAME))).toBe(true);
      expect(sb.stateFile("hosts-during-join")).toBe("127.0.0.1 localhost\n");
      expect(sb.read("/etc/hosts")).toBe(
        `127.0.0.1 localhost\n127.0.0.1 ${API_NAME} # kubeadm-aws\n`,
      );
      expect(r.stderr).toContain("joined the cluster as a control-plane");
    },
  );

  sandboxTest(
    "with no other control plane listed, joins through the endpoint's name at once",
    async (sb) => {
      fresh(sb);
      const r = await sb.run(renderJoin(joinInputs("control-plane", API_NAME, [])), {
        stdin: joinBundle("control-plane", API_NAME),
        env: DNS,
      });
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(
        `no other control plane is listed; joining through ${API_NAME} itself`,
      );
      expect(readyzProbes(sb)).toEqual([`https://${API_NAME}:6443/readyz`]);
      expect(sb.stateFile("hosts-during-join")).toBe("127.0.0.1 localhost\n");
    },
  );

  sandboxTest(
    "refuses CA files that differ from the ones on disk (another cluster's), before kubeadm runs",
    async (sb) => {
      fresh(sb);
      sb.write(
        "/etc/kubernetes/pki/front-proxy-ca.crt",
        "-----BEGIN CERTIFICATE-----\nOTHER\n-----END CERTIFICATE-----\n",
      );
      const r = await sb.run(controlPlane, { stdin: cpBundle });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("front-proxy-ca.crt exists with different content");
      expect(callsOf(sb, "kubeadm")).toEqual([]);
      expect(sb.read("/etc/kubernetes/pki/front-proxy-ca.crt")).toContain("OTHER");
    },
  );

  sandboxTest("needs the CA files in the bundle", async (sb) => {
    fresh(sb);
    const r = await sb.run(controlPlane, { stdin: workerBundle });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("no 'pki/ca.crt' entry");
    expect(callsOf(sb, "kubeadm")).toEqual([]);
  });

  sandboxTest(
    "a failed join is reset, the CA files re-installed and the join retried once",
    async (sb) => {
      fresh(sb);
      const r = await sb.run(controlPlane, {
        stdin: cpBundle,
        env: { DOUBLE_KUBEADM_JOIN_FAILS: "1" },
      });
      expect(r.code).toBe(0);
      expect(verbs(sb)).toEqual(["kubeadm join", "kubeadm reset", "kubeadm join"]);
      // kubeadm reset deleted pki/; the double's retry found every CA file again.
      expect(sb.read("/etc/kubernetes/pki/etcd/ca.key")).toBe(PKI_SECRETS["pki/etcd/ca.key"]);
      expect(r.stderr).toContain("joined the cluster as a control-plane");
    },
  );
});

describe("cp-0's join on the instance that ran init", () => {
  const cp0 = scenario(async (sb) => {
    fresh(sb);
    const init = await sb.run(renderInit(initInputs), { stdin: initBundle() });
    // A reboot regenerated /etc/hosts without the endpoint line: the join converges it.
    sb.write("/etc/hosts", "127.0.0.1 localhost\n");
    sb.clearCalls();
    return { init, ...(await runTwice(sb, controlPlane, { stdin: cpBundle })) };
  });

  test("runs no kubeadm join and asks no other control plane", () => {
    const { init, first, firstCalls } = cp0();
    expect(init.code).toBe(0);
    expect(first.code).toBe(0);
    expect(first.stderr).toContain("this instance ran kubeadm init; nothing to join");
    expect(firstCalls.filter((c) => c.startsWith("kubeadm "))).toEqual([]);
    expect(firstCalls.filter((c) => c.startsWith("curl "))).toEqual([]);
  });

  test("maps the endpoint to itself again, keeps root's kubeconfig, and checks kube-proxy's copy of /etc/hosts", () => {
    const { sb, first, firstCalls } = cp0();
    expect(sb.read("/etc/hosts")).toBe(
      `127.0.0.1 localhost\n127.0.0.1 ${API_HOST} # kubeadm-aws\n`,
    );
    expect(sb.read("/root/.kube/config")).toBe(sb.read("/etc/kubernetes/admin.conf"));
    expect(firstCalls.some((c) => c.includes("get pods -l k8s-app=kube-proxy"))).toBe(true);
    expect(first.stderr).toContain(`already maps ${API_HOST} to 127.0.0.1`);
  });

  test("a second run changes nothing", () => {
    const { second, secondCalls, changed } = cp0();
    expect(second.code).toBe(0);
    expect(secondCalls.filter((c) => c.startsWith("kubeadm "))).toEqual([]);
    expect(changed).toEqual([]);
  });
});

sandboxTest("a joined control plane whose CA is not the stack's is refused", async (sb) => {
  fresh(sb);
  sb.write("/etc/kubernetes/kubelet.conf", "apiVersion: v1\nkind: Config\n");
  sb.write(
    "/etc/kubernetes/pki/ca.crt",
    "-----BEGIN CERTIFICATE-----\nOTHER\n-----END CERTIFICATE-----\n",
  );
  const r = await sb.run(controlPlane, { stdin: cpBundle });
  expect(r.code).toBe(1);
  expect(r.stderr).toContain("this node was set up with another cluster CA");
  expect(callsOf(sb, "kubectl")).toEqual([]);
});

describe("JOIN_CONFIG and discovery.conf are checked before anything happens", () => {
  const discovery = discoveryConf();
  const withDiscovery = (text: string) =>
    joinBundle("worker", API_HOST, { "discovery.conf": text });
  const cases: [string, string, string, string][] = [
    [
      "a JOIN_CONFIG without the discovery file placeholder",
      renderJoin({
        ...joinInputs("worker"),
        joinConfig: joinConfig(false).replace(
          '"__DISCOVERY_FILE__"',
          "/etc/kubernetes/discovery.conf",
        ),
      }),
      workerBundle,
      "JOIN_CONFIG has no __DISCOVERY_FILE__ placeholder",
    ],
    [
      "a control plane's JOIN_CONFIG with a certificateKey",
      renderJoin({
        ...joinInputs("control-plane"),
        joinConfig: `${joinConfig(true)}  certificateKey: ""\n`,
      }),
      cpBundle,
      "JOIN_CONFIG has a certificateKey",
    ],
    [
      "a worker's JOIN_CONFIG with a controlPlane section",
      renderJoin({ ...joinInputs("worker"), joinConfig: joinConfig(true) }),
      workerBundle,
      "JOIN_CONFIG of a worker has a controlPlane section",
    ],
    [
      "a bundle without discovery.conf",
      worker,
      renderSecretBundle({}),
      "no 'discovery.conf' entry",
    ],
    [
      "a discovery.conf without current-context",
      worker,
      withDiscovery(discovery.replace(/^current-context: .*\n/m, "")),
      "discovery.conf on stdin: it has no current-context",
    ],
    [
      "a discovery.conf whose current-context names no context in it",
      worker,
      withDiscovery(discovery.replace(/^current-context: .*$/m, "current-context: nobody@k8s-dev")),
      'its current-context "nobody@k8s-dev" names no context in it',
    ],
    [
      "a discovery.conf without a client key",
      worker,
      withDiscovery(discovery.replace(/^ *client-key-data: .*\n/m, "")),
      "has no embedded client certificate and key",
    ],
    [
      "a discovery.conf for another API server",
      worker,
      withDiscovery(discoveryConf(API_NAME)),
      `is not https://${API_HOST}:6443, the name this step routes to the API`,
    ],
  ];
  for (const [what, script, stdin, message] of cases) {
    sandboxTest(what, async (sb) => {
      fresh(sb);
      const r = await sb.run(script, { stdin });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(message);
      expect(callsOf(sb, "kubeadm")).toEqual([]);
      expect(callsOf(sb, "curl")).toEqual([]);
      expect(sb.exists("/etc/kubernetes/pki")).toBe(false);
    });
  }
});

describe("a failed join", () => {
  sandboxTest("is reset and retried once", async (sb) => {
    fresh(sb);
    const r = await sb.run(worker, {
      stdin: workerBundle,
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
      stdin: workerBundle,
      env: { DOUBLE_KUBEADM_JOIN_FAILS: "2" },
    });
    expect(r.code).toBe(1);
    expect(verbs(sb)).toEqual(["kubeadm join", "kubeadm reset", "kubeadm join", "kubeadm reset"]);
    expect(r.stderr).toContain("kubeadm join failed twice: first attempt exit 1, retry exit 1");
    expect(sb.exists("/etc/cni/net.d/10-flannel.conflist")).toBe(false);
    expect(r.stderr).not.toContain("discovery credentials");
  });

  sandboxTest(
    "caused by a rejected client certificate says how to have the program mint a fresh one",
    async (sb) => {
      fresh(sb);
      const r = await sb.run(worker, {
        stdin: workerBundle,
        env: {
          DOUBLE_KUBEADM_JOIN_FAILS: "2",
          DOUBLE_KUBEADM_JOIN_ERROR:
            'error execution phase preflight: unable to fetch the kubeadm-config ConfigMap: failed to get config map: Get "https://api:6443/api/v1/namespaces/kube-system/configmaps/kubeadm-config": tls: failed to verify certificate: x509: certificate has expired or is not yet valid',
        },
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("a problem with the discovery credentials in discovery.conf");
      expect(r.stderr).toContain(`it must be system:node:${NODE_NAME} in system:nodes`);
      expect(r.stderr).toContain(
        "`pulumi up --replace <URN>`, the URN of this node's <node>-join-credential",
      );
    },
  );
});

sandboxTest("join gives up when the API endpoint never answers", async (sb) => {
  fresh(sb);
  const r = await sb.run(worker, {
    stdin: workerBundle,
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
        stdin: joinBundle("worker", API_NAME),
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
      stdin: joinBundle("worker", API_NAME),
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
        stdin: joinBundle("worker", API_NAME),
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
        stdin: joinBundle("worker", API_NAME),
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
      stdin: joinBundle("worker", API_NAME),
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
    "a control plane never waits for the load balancer: it reaches an answering control plane by its IP",
    async (sb) => {
      fresh(sb);
      const r = await sb.run(fixedControlPlane, {
        stdin: joinBundle("control-plane", API_NAME),
        env: { ...DNS, DOUBLE_GETENT_AFTER: "never" },
      });
      expect(r.code).toBe(0);
      expect(sb.stateFile("hosts-during-join")).toContain(`${CP0_IP} ${API_NAME} # kubeadm-aws\n`);
      expect(callsOf(sb, "getent")).toEqual([]);
      expect(callsOf(sb, "curl").filter((c) => c.endsWith(READYZ))).toEqual([]);
      expect(readyzProbes(sb)).toEqual([`https://${CP0_IP}:6443/readyz`]);
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
        stdin: cpBundle,
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
      const r = await sb.run(controlPlane, { stdin: cpBundle });
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
      const r = await sb.run(controlPlane, { stdin: cpBundle });
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
      stdin: workerBundle,
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
        stdin: cpBundle,
        env: { DOUBLE_KUBE_PROXY_LIST_FAILS: "5" },
      });
      const failedCalls = sb.calls();
      sb.clearCalls();
      return {
        failed,
        failedCalls,
        ...(await runTwice(sb, controlPlane, { stdin: cpBundle })),
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
        stdin: cpBundle,
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

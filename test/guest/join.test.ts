/**
 * join: waits for the API endpoint, joins once (guarded), resets and retries a failed join once,
 * explains token problems, and routes a joining control plane to the first control plane.
 */
import { renderJoin } from "../../render/steps";
import { callsOf, runTwice, Sandbox, sandboxTest, scenario } from "./sandbox";
import {
  API_HOST,
  CERT_KEY,
  CP0_IP,
  joinBundle,
  joinInputs,
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

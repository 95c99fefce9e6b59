/**
 * join: waits for the API endpoint, joins once (guarded), resets and retries a failed join once,
 * explains token problems, and routes a joining control plane to the first control plane.
 */
import { renderJoin } from "../../scripts/steps";
import { callsOf, Sandbox, useSandbox } from "./harness";
import {
  API_HOST,
  CERT_KEY,
  CP0_IP,
  joinBundle,
  joinInputs,
  SECRET_MARKERS,
  TOKEN,
} from "./params";

const sandbox = useSandbox();
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

describe("a worker join", () => {
  test("waits for /readyz through the endpoint, then joins with the token in a 0600 config", async () => {
    const sb = fresh(sandbox());
    const r = await sb.run(worker, {
      stdin: joinBundle("worker"),
      env: { DOUBLE_READYZ_FAILS: "2" },
    });
    expect(r.stderr).toContain("joined the cluster as a worker");
    expect(r.code).toBe(0);
    expect(
      callsOf(sb, "curl").filter((c) => c.endsWith(`https://${API_HOST}:6443/readyz`)),
    ).toHaveLength(3);
    expect(verbs(sb)).toEqual(["kubeadm join"]);
    expect(callsOf(sb, "kubeadm")).toContain(
      `kubeadm join --config ${sb.root}/etc/kubernetes/kubeadm/join.yaml`,
    );
    const config = sb.read("/etc/kubernetes/kubeadm/join.yaml");
    expect(config).toContain(`    token: ${TOKEN}\n`);
    expect(config).toContain(`  tlsBootstrapToken: ${TOKEN}\n`);
    expect(sb.mode("/etc/kubernetes/kubeadm/join.yaml")).toBe(0o600);
    expect(sb.read("/etc/hosts")).toBe("127.0.0.1 localhost\n"); // workers use the load balancer
  });

  test("never prints the token nor passes it on a command line", async () => {
    const sb = fresh(sandbox());
    const r = await sb.run(worker, { stdin: joinBundle("worker") });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("[discovery] Using token: <redacted-token>");
    for (const secret of SECRET_MARKERS) {
      expect(r.stderr + sb.calls().join("\n")).not.toContain(secret);
    }
  });

  test("is not repeated on a node that already joined", async () => {
    const sb = fresh(sandbox());
    expect((await sb.run(worker, { stdin: joinBundle("worker") })).code).toBe(0);
    const before = sb.snapshot();
    sb.clearCalls();
    const second = await sb.run(worker, { stdin: joinBundle("worker") });
    expect(second.code).toBe(0);
    expect(second.stderr).toContain("already joined");
    expect(callsOf(sb, "kubeadm")).toEqual([]);
    expect(sb.snapshot()).toEqual(before);
  });
});

describe("a control-plane join", () => {
  test("reaches the first control plane during the join and its own API server afterwards", async () => {
    const sb = fresh(sandbox());
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
  });

  test("needs the certificate key in the bundle", async () => {
    const sb = fresh(sandbox());
    const r = await sb.run(controlPlane, { stdin: joinBundle("worker") });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("no 'certificate-key' entry");
    expect(callsOf(sb, "kubeadm")).toEqual([]);
  });
});

describe("a failed join", () => {
  test("is reset and retried once", async () => {
    const sb = fresh(sandbox());
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

  test("exits non-zero after the second failure, with the node reset again", async () => {
    const sb = fresh(sandbox());
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

  test("caused by an expired token says how to get a fresh one", async () => {
    const sb = fresh(sandbox());
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

test("join gives up when the API endpoint never answers", async () => {
  const sb = fresh(sandbox());
  const r = await sb.run(worker, {
    stdin: joinBundle("worker"),
    env: { DOUBLE_READYZ_FAILS: "1000", KUBEADM_AWS_READYZ_WAIT_SECONDS: "1" },
  });
  expect(r.code).toBe(1);
  expect(r.stderr).toContain(`timed out after 1s waiting for the API server at ${API_HOST}:6443`);
  expect(r.stderr).toContain("the API endpoint did not answer");
  expect(callsOf(sb, "kubeadm")).toEqual([]);
});

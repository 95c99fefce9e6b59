/**
 * init: the cluster PKI arrives on stdin, kubeadm init runs once (guarded) without uploading
 * certificates, a failure is reset and retried once, and no secret ever reaches stdout, stderr or
 * a command line.
 */
import * as fs from "fs";

import { renderInit } from "../../render/steps";
import { callsOf, runTwice, Sandbox, sandboxTest, scenario } from "./sandbox";
import { API_HOST, INIT_TOKEN, initBundle, initInputs, SECRET_MARKERS } from "./params";

const script = renderInit(initInputs);

function prepared(sb: Sandbox): Sandbox {
  sb.write("/etc/hosts", "127.0.0.1 localhost\n");
  return sb;
}

const kubeadmVerbs = (sb: Sandbox): string[] =>
  callsOf(sb, "kubeadm")
    .filter((c) => !c.startsWith("kubeadm config validate"))
    .map((c) => c.split(" ").slice(0, 2).join(" "));

describe("a first init, then a second run of the step", () => {
  const init = scenario((sb) => runTwice(prepared(sb), script, { stdin: initBundle() }));

  test("installs the PKI (keys 0600, certificates 0644) and runs kubeadm init without --upload-certs", () => {
    const { sb, first, firstCalls } = init();
    expect(first.stderr).toContain("control plane initialised");
    expect(first.code).toBe(0);
    // The eight PKI files are the whole bundle: there is no certificate key any more.
    expect(first.stderr).toContain("read 8 secret(s) from stdin: pki/ca.crt pki/ca.key");
    expect(sb.read("/etc/kubernetes/pki/ca.key")).toContain("SECRET-CLUSTER-CA-KEY");
    for (const key of ["ca.key", "front-proxy-ca.key", "etcd/ca.key", "sa.key"]) {
      expect(sb.mode(`/etc/kubernetes/pki/${key}`)).toBe(0o600);
    }
    for (const cert of ["ca.crt", "front-proxy-ca.crt", "etcd/ca.crt", "sa.pub"]) {
      expect(sb.mode(`/etc/kubernetes/pki/${cert}`)).toBe(0o644);
    }
    const config = `${sb.root}/etc/kubernetes/kubeadm/init.yaml`;
    expect(firstCalls.filter((c) => c.startsWith("kubeadm "))).toEqual([
      "kubeadm config validate --help",
      `kubeadm config validate --config ${config}`,
      `kubeadm init --config ${config} --skip-token-print`,
    ]);
  });

  test("deletes kubeadm's default bootstrap token with admin.conf, on the first run and the second", () => {
    const { firstCalls, secondCalls } = init();
    const deletes = (calls: string[]) =>
      calls.filter((c) =>
        c.includes("delete secret --field-selector type=bootstrap.kubernetes.io/token"),
      );
    expect(deletes(firstCalls)).toHaveLength(1);
    expect(deletes(secondCalls)).toHaveLength(1);
    expect(deletes(firstCalls)[0]).toContain("-n kube-system");
  });

  test("writes the kubeadm config as rendered, 0600 in a 0700 directory", () => {
    const { sb } = init();
    expect(sb.read("/etc/kubernetes/kubeadm/init.yaml")).toBe(initInputs.kubeadmConfig);
    expect(sb.mode("/etc/kubernetes/kubeadm/init.yaml")).toBe(0o600);
    expect(sb.mode("/etc/kubernetes/kubeadm")).toBe(0o700);
  });

  test("maps the API endpoint to this node and copies admin.conf to /root/.kube/config", () => {
    const { sb } = init();
    expect(sb.read("/etc/hosts")).toBe(
      `127.0.0.1 localhost\n127.0.0.1 ${API_HOST} # kubeadm-aws\n`,
    );
    expect(sb.read("/root/.kube/config")).toBe(sb.read("/etc/kubernetes/admin.conf"));
    expect(sb.mode("/root/.kube/config")).toBe(0o600);
  });

  test("never prints a secret, never passes one on a command line, and leaves no bundle behind", () => {
    const { sb, first, firstCalls } = init();
    expect(first.stdout).toBe("");
    const seen = first.stderr + firstCalls.join("\n");
    for (const secret of SECRET_MARKERS) {
      expect(seen).not.toContain(secret);
    }
    // kubeadm printed the token its bootstrap-token phase made; we hid it.
    expect(first.stderr).toContain(`--token <redacted-token>`);
    expect(first.stderr).not.toContain(INIT_TOKEN);
    expect(fs.readdirSync(sb.path("/run/kubeadm-aws"))).toEqual([]);
  });

  test("is not repeated on an initialised node, and the second run changes nothing", () => {
    const { second, secondCalls, changed } = init();
    expect(second.code).toBe(0);
    expect(second.stderr).toContain("already initialised");
    expect(secondCalls.filter((c) => c.startsWith("kubeadm "))).toEqual([]);
    expect(changed).toEqual([]);
  });
});

sandboxTest(
  "init refuses to run against a node initialised with another cluster CA",
  async (sb) => {
    prepared(sb);
    sb.write("/etc/kubernetes/admin.conf", "kind: Config\n");
    sb.write(
      "/etc/kubernetes/pki/ca.crt",
      "-----BEGIN CERTIFICATE-----\nOTHER\n-----END CERTIFICATE-----\n",
    );
    const r = await sb.run(script, { stdin: initBundle() });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("another cluster CA");
  },
);

sandboxTest("a failed init is reset, the PKI re-installed, and init retried once", async (sb) => {
  prepared(sb);
  const r = await sb.run(script, {
    stdin: initBundle(),
    env: { DOUBLE_KUBEADM_INIT_FAILS: "1" },
  });
  expect(r.code).toBe(0);
  expect(kubeadmVerbs(sb)).toEqual(["kubeadm init", "kubeadm reset", "kubeadm init"]);
  expect(callsOf(sb, "kubeadm")).toContain(
    "kubeadm reset -f --cri-socket unix:///run/containerd/containerd.sock",
  );
  expect(r.stderr).toContain("kubeadm init failed (exit 1)");
  expect(r.stderr).toContain("retrying kubeadm init once");
  expect(sb.read("/etc/kubernetes/pki/ca.key")).toContain("SECRET-CLUSTER-CA-KEY");
});

sandboxTest(
  "a second init failure exits with the first failure's code and leaves a clean node",
  async (sb) => {
    prepared(sb);
    const r = await sb.run(script, {
      stdin: initBundle(),
      env: { DOUBLE_KUBEADM_INIT_FAILS: "2", DOUBLE_KUBEADM_INIT_RC: "3" },
    });
    expect(r.code).toBe(3);
    expect(kubeadmVerbs(sb)).toEqual([
      "kubeadm init",
      "kubeadm reset",
      "kubeadm init",
      "kubeadm reset",
    ]);
    expect(r.stderr).toContain("kubeadm init failed twice: first attempt exit 3, retry exit 3");
    expect(r.stderr).toContain("DIAG-KUBELET-JOURNAL");
    expect(sb.exists("/etc/kubernetes/admin.conf")).toBe(false);
  },
);

describe("init refuses bad input before touching the node", () => {
  sandboxTest("a bundle without the etcd CA key", async (sb) => {
    prepared(sb);
    const r = await sb.run(script, { stdin: initBundle({ "pki/etcd/ca.key": "" }) });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("no 'pki/etcd/ca.key' entry");
    expect(callsOf(sb, "kubeadm")).toEqual([]);
  });

  sandboxTest("a kubeadm config that still waits for a certificate key", async (sb) => {
    prepared(sb);
    const old = renderInit({
      ...initInputs,
      kubeadmConfig: initInputs.kubeadmConfig.replace(
        "kind: InitConfiguration\n",
        "kind: InitConfiguration\ncertificateKey: __CERTIFICATE_KEY__\n",
      ),
    });
    const r = await sb.run(old, { stdin: initBundle() });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("KUBEADM_CONFIG still has a __CERTIFICATE_KEY__ placeholder");
    expect(callsOf(sb, "kubeadm")).toEqual([]);
  });

  sandboxTest("another cluster's PKI file on disk", async (sb) => {
    prepared(sb);
    sb.write(
      "/etc/kubernetes/pki/sa.key",
      "-----BEGIN PRIVATE KEY-----\nOLD\n-----END PRIVATE KEY-----\n",
    );
    const r = await sb.run(script, { stdin: initBundle() });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("exists with different content");
    expect(callsOf(sb, "kubeadm").some((c) => c.startsWith("kubeadm init"))).toBe(false);
  });
});

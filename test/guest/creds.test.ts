/**
 * creds: stdout is exactly the token, the certificate re-upload (which prints the key) stays off
 * stdout, and token creation is retried.
 */
import { renderCreds } from "../../render/steps";
import { callsOf, Sandbox, sandboxTest } from "./sandbox";
import { CERT_KEY, TOKEN } from "./params";

/** The first control plane after init: admin.conf and init.yaml with the certificate key. */
function initialised(sb: Sandbox): Sandbox {
  sb.write("/etc/kubernetes/admin.conf", "apiVersion: v1\nkind: Config\n", 0o600);
  sb.write(
    "/etc/kubernetes/kubeadm/init.yaml",
    `apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\ncertificateKey: ${CERT_KEY}\n`,
    0o600,
  );
  return sb;
}

const env = { DOUBLE_KUBEADM_TOKEN: TOKEN };

sandboxTest(
  "creds for a control plane re-uploads the certificates, then prints only the token",
  async (sb) => {
    initialised(sb);
    const r = await sb.run(renderCreds({ joinRole: "control-plane", tokenTtl: "2h" }), { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${TOKEN}\n`);
    const calls = callsOf(sb, "kubeadm");
    expect(calls).toEqual([
      `kubeadm init phase upload-certs --upload-certs --skip-certificate-key-print --config ${sb.root}/etc/kubernetes/kubeadm/init.yaml --kubeconfig ${sb.root}/etc/kubernetes/admin.conf`,
      `kubeadm token create --kubeconfig ${sb.root}/etc/kubernetes/admin.conf --ttl 2h --description kubeadm-aws: join of a control-plane node`,
    ]);
    expect(r.stderr).not.toContain(CERT_KEY); // upload-certs printed it
    expect(r.stderr).not.toContain(TOKEN);
  },
);

sandboxTest("creds for a worker only creates a token", async (sb) => {
  initialised(sb);
  const r = await sb.run(renderCreds({ joinRole: "worker", tokenTtl: "30m" }), { env });
  expect(r.code).toBe(0);
  expect(r.stdout).toBe(`${TOKEN}\n`);
  expect(callsOf(sb, "kubeadm").map((c) => c.split(" --")[0])).toEqual(["kubeadm token create"]);
});

sandboxTest("creds retries token creation", async (sb) => {
  initialised(sb);
  const r = await sb.run(renderCreds({ joinRole: "worker", tokenTtl: "2h" }), {
    env: { ...env, DOUBLE_KUBEADM_TOKEN_FAILS: "2" },
  });
  expect(r.code).toBe(0);
  expect(r.stdout).toBe(`${TOKEN}\n`);
  expect(callsOf(sb, "kubeadm")).toHaveLength(3);
});

sandboxTest("creds prints nothing on stdout when kubeadm does not produce a token", async (sb) => {
  initialised(sb);
  const r = await sb.run(renderCreds({ joinRole: "worker", tokenTtl: "2h" }), {
    env: { DOUBLE_KUBEADM_TOKEN: "not a token" },
  });
  expect(r.code).toBe(1);
  expect(r.stdout).toBe("");
  expect(r.stderr).toContain("could not create a bootstrap token");
});

sandboxTest("creds refuses a malformed TTL", async (sb) => {
  const r = await initialised(sb).run(renderCreds({ joinRole: "worker", tokenTtl: "two hours" }));
  expect(r.code).toBe(1);
  expect(r.stderr).toContain("TOKEN_TTL must be a duration");
});

sandboxTest(
  "creds fails with nothing on stdout on a node that was never initialised",
  async (sb) => {
    const r = await sb.run(renderCreds({ joinRole: "worker", tokenTtl: "2h" }));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("admin.conf is missing");
  },
);

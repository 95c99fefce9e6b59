/** index.ts end to end under mocks: stack config in, validated cluster out, outputs exported. */
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { Harness, installMocks, settle, valueOf } from "../../tools/mockCloud";

/** index.ts uses `export =` (what the Pulumi runtime calls); require it as such. */
const program = (): Promise<Record<string, any>> => require("../../index")();

function setConfig(values: Record<string, unknown>): void {
  pulumi.runtime.setAllConfig(
    Object.fromEntries(
      Object.entries(values).map(([k, v]) => [
        `kubeadm-aws:${k}`,
        typeof v === "string" ? v : JSON.stringify(v),
      ]),
    ),
  );
}

let h: Harness;

beforeAll(async () => {
  h = await installMocks("dev");
});

test("the program exports the endpoint, nodes, SSH user and the secrets", async () => {
  // A VPN range: the program refuses the documentation ranges a real deployment cannot use.
  setConfig({ sshIngressCidrs: ["10.20.0.0/16"], workers: { count: 2 } });
  const out = await program();
  expect(out.clusterName).toBe("k8s-dev");
  expect(out.sshUser).toBe("ubuntu");
  expect(await valueOf(out.apiEndpoint)).toMatch(
    /^https:\/\/k8s-dev-api-.*\.elb\.us-east-1\.amazonaws\.com:6443$/,
  );
  expect((await valueOf<{ name: string }[]>(out.nodes)).map((n) => n.name)).toEqual([
    "k8s-dev-cp-0",
    "k8s-dev-worker-0",
    "k8s-dev-worker-1",
  ]);
  expect(await pulumi.isSecret(out.kubeconfig)).toBe(true);
  expect(await pulumi.isSecret(out.sshPrivateKey)).toBe(true);
  // The program's own admin kubeconfig, pointed at the public API load balancer.
  const kubeconfig = parse(await valueOf(out.kubeconfig));
  expect(kubeconfig.users[0].name).toBe("kubernetes-admin");
  expect(kubeconfig.clusters[0].cluster["tls-server-name"]).toBe("api.k8s-dev.k8s.internal");
  expect(Date.parse(out.kubeconfigExpiry)).toBeGreaterThan(Date.now() + 364 * 24 * 3600 * 1000);
  expect(out.privateApiEndpoint).toBe("https://api.k8s-dev.k8s.internal:6443");
  expect(await valueOf(out.bastionIp)).toMatch(/^198\.51\.100\.\d+$/);
  expect(out.bastionUser).toBe("ubuntu");
  // The drift report checks each node's runtime against it.
  expect(out.containerRuntime).toBe("containerd");
  // The deployment record the next run reads back: zones, placement, create-only settings.
  expect(await valueOf(out.deploymentRecord)).toMatchObject({
    kubernetesVersion: "1.34.2",
    version: 1,
    region: "us-east-1",
    zones: ["us-east-1a", "us-east-1b"],
    placement: { controlPlane: [0], workers: [0, 1] },
    settings: { clusterName: "k8s-dev", cni: "flannel", podCidr: "10.244.0.0/16" },
  });
});

/** Waits until the last run's registrations have all reached the mock. */
async function quiet(): Promise<void> {
  let count = -1;
  while (count !== h.resources.length) {
    count = h.resources.length;
    await settle();
  }
}

/** The problems a run of the program reports, asserting it created nothing. */
async function refusal(): Promise<string[]> {
  await quiet();
  const before = h.resources.length;
  try {
    await program();
  } catch (err) {
    expect(h.resources.length).toBe(before);
    return [...(err as { problems: string[] }).problems];
  }
  throw new Error("the program ran");
}

test("bad config stops the program before any resource is created", async () => {
  setConfig({ cni: "weave", controlPlane: { count: 2 } });
  expect((await refusal()).map((p) => p.split(" ")[0])).toEqual([
    "cni",
    "controlPlane.count",
    "sshIngressCidrs",
  ]);
});

test("a config typo does not hide an AWS-backed problem: both come back in one run", async () => {
  setConfig({
    sshIngressCidrs: ["10.20.0.0/16"],
    cni: "calcio",
    workers: { count: 2, instanceType: "t3.mediun" },
  });
  const found = await refusal();
  expect(found).toEqual([
    expect.stringMatching(/^cni must be one of flannel, calico \(got "calcio"\)/),
    expect.stringMatching(
      /^workers\.instanceType t3\.mediun is not an instance type offered in this region/,
    ),
  ]);
});

test("documentation addresses in the ingress lists are refused before anything is created", async () => {
  setConfig({ sshIngressCidrs: ["198.51.100.0/24"], nodePortIngressCidrs: ["203.0.113.7/32"] });
  expect(await refusal()).toEqual([
    expect.stringMatching(
      /^sshIngressCidrs\[0\] 198\.51\.100\.0\/24 is in 198\.51\.100\.0\/24, a documentation range \(RFC 5737\)/,
    ),
    expect.stringMatching(/^nodePortIngressCidrs\[0\] 203\.0\.113\.7\/32 is in 203\.0\.113\.0\/24/),
  ]);
});

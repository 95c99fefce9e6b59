import * as pulumi from "@pulumi/pulumi";

/** Reads config through the real pulumi.Config, as `pulumi up` would. */
async function load(values: Record<string, string>) {
  pulumi.runtime.setAllConfig(
    Object.fromEntries(Object.entries(values).map(([k, v]) => [`kubeadm-aws:${k}`, v])),
  );
  const { loadConfig } = await import("../../components/stackConfig");
  return loadConfig();
}

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    { newResource: (a) => ({ id: a.name, state: a.inputs }), call: (a) => a.inputs },
    "kubeadm-aws",
    "prod",
    false,
  );
});

describe("loadConfig reads the stack config", () => {
  test("structured keys come as JSON, numbers as text, like `pulumi config set --path` stores them", async () => {
    const c = await load({
      controlPlane: JSON.stringify({ count: 3, instanceType: "m7i.large", rootVolumeSizeGiB: 50 }),
      workers: JSON.stringify({ count: 3 }),
      availabilityZoneCount: "3",
      cni: "calico",
      sshIngressCidrs: JSON.stringify(["198.51.100.0/24"]),
    });
    expect(c.clusterName).toBe("k8s-prod");
    expect(c.controlPlane).toEqual({ count: 3, instanceType: "m7i.large", rootVolumeSizeGiB: 50 });
    expect(c.workers.count).toBe(3);
    expect(c.availabilityZoneCount).toBe(3);
    expect(c.cni).toBe("calico");
  });

  test("a non-numeric zone count is reported with its key", async () => {
    await expect(
      load({ availabilityZoneCount: "three", sshIngressCidrs: '["198.51.100.0/24"]' }),
    ).rejects.toThrow(/availabilityZoneCount must be a number \(got "three"\)/);
  });

  test("a list given as plain text says how to set it", async () => {
    await expect(load({ sshIngressCidrs: "198.51.100.0/24" })).rejects.toThrow(
      /sshIngressCidrs must be structured \(set it with `pulumi config set --path 'sshIngressCidrs/,
    );
  });

  test("a misspelt key is reported with the list of known keys", async () => {
    await expect(
      load({ sshIngressCidrs: '["198.51.100.0/24"]', workerCount: "3" }),
    ).rejects.toThrow(
      /kubeadm-aws:workerCount is not a known config key; the keys are clusterName/,
    );
  });
});

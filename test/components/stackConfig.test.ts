/**
 * Reading the stack config through the real pulumi.Config, as `pulumi up` would, with the
 * mistakes people make: each gets one message that names the key, the value and what to type.
 */
import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "../../config/clusterConfig";

/** The config values as the CLI hands them to the program (structured keys as JSON text). */
function setConfig(values: Record<string, string>): void {
  pulumi.runtime.setAllConfig(
    Object.fromEntries(Object.entries(values).map(([k, v]) => [`kubeadm-aws:${k}`, v])),
  );
}

async function load(values: Record<string, string>) {
  setConfig(values);
  const { loadConfig } = await import("../../components/stackConfig");
  return loadConfig();
}

/** Every problem reading `values` produces. */
async function problems(values: Record<string, string>): Promise<string[]> {
  try {
    await load(values);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
}

const SSH = JSON.stringify(["10.20.0.0/16"]);

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
    expect(await problems({ availabilityZoneCount: "three", sshIngressCidrs: SSH })).toEqual([
      'availabilityZoneCount must be a number (got "three")',
    ]);
  });
});

describe("messages that say what to type", () => {
  test("a list set as plain text gets the exact --path commands, and no second message", async () => {
    expect(await problems({ sshIngressCidrs: "198.51.100.0/24" })).toEqual([
      'sshIngressCidrs must be a list, but it is set to the text "198.51.100.0/24": set it with --path instead, ' +
        "`pulumi config rm sshIngressCidrs && pulumi config set --path 'sshIngressCidrs[0]' 198.51.100.0/24`, " +
        "or write it as YAML in Pulumi.<stack>.yaml",
    ]);
  });

  test("several entries in one text become one --path command each", async () => {
    const [problem] = await problems({
      sshIngressCidrs: "10.1.0.0/16, 10.2.0.0/16",
      apiIngressCidrs: SSH,
    });
    expect(problem).toContain(
      "pulumi config set --path 'sshIngressCidrs[0]' 10.1.0.0/16 && pulumi config set --path 'sshIngressCidrs[1]' 10.2.0.0/16",
    );
  });

  test("a node group set as a number says to set its count with --path", async () => {
    expect(await problems({ workers: "5", sshIngressCidrs: SSH })).toEqual([
      expect.stringContaining(
        'workers must be an object with count, instanceType and rootVolumeSizeGiB, but it is set to the text "5": ' +
          "set it with --path instead, `pulumi config rm workers && pulumi config set --path workers.count 5`",
      ),
    ]);
  });

  test("an error in an SSH CIDR is reported once, under sshIngressCidrs, never as apiIngressCidrs[0]", async () => {
    const found = await problems({ sshIngressCidrs: JSON.stringify(["10.20.0.1/16"]) });
    expect(found).toEqual([
      'sshIngressCidrs[0] "10.20.0.1/16" has host bits set (the network is 10.20.0.0/16) (or use my-ip for this machine\'s address)',
    ]);
  });

  test("a number written as text in a node group says to drop the quotes", async () => {
    expect(
      await problems({ workers: JSON.stringify({ count: "3" }), sshIngressCidrs: SSH }),
    ).toEqual([
      'workers.count is the text "3", not a number: drop the quotes in Pulumi.<stack>.yaml, or set it with ' +
        "`pulumi config set --path workers.count 3` (which stores a number)",
    ]);
  });

  test("workers.count set without --path says to use --path", async () => {
    expect(await problems({ "workers.count": "5", sshIngressCidrs: SSH })).toEqual([
      "kubeadm-aws:workers.count was set without --path, so it is a key of its own that the program does not read: " +
        "`pulumi config rm 'workers.count' && pulumi config set --path 'workers.count' 5`",
    ]);
  });

  test("a version YAML read as a number says to quote it", async () => {
    const [problem] = await problems({ kubernetesVersion: "1.3", sshIngressCidrs: SSH });
    expect(problem).toBe(
      'kubernetesVersion is "1.3", which is what YAML makes of an unquoted number (1.30 becomes 1.3): ' +
        'write the full version in quotes, e.g. kubernetesVersion: "1.34.2" (a release 1.29.x to 1.35.x)',
    );
  });

  test.each([
    ["workerCount", "workers"],
    ["availabilityZones", "availabilityZoneCount"],
    ["sshIngresCidrs", "sshIngressCidrs"],
    ["kubernetesversion", "kubernetesVersion"],
    ["cin", "cni"],
    ["selinx", "selinux"],
    ["firewall", "firewalld"],
  ])("a misspelt key %s names the closest known key, %s", async (typo, meant) => {
    const [problem] = await problems({ [typo]: "x", sshIngressCidrs: SSH });
    expect(problem).toMatch(
      new RegExp(
        `^kubeadm-aws:${typo} is not a known config key \\(did you mean ${meant}\\?\\); the keys are clusterName`,
      ),
    );
  });

  test("every problem of every key comes back in one round", async () => {
    const found = await problems({
      cni: "calcio",
      sshIngressCidrs: "my-ip",
      "workers.count": "2",
      controlPlane: JSON.stringify({ count: 2, instanceType: "t3.medium" }),
    });
    expect(found.map((p) => p.split(" ")[0])).toEqual([
      "sshIngressCidrs",
      "kubeadm-aws:workers.count",
      "cni",
      "controlPlane.count",
    ]);
  });
});

describe("the RHEL-family keys", () => {
  test("are read as text, as `pulumi config set selinux enforcing` stores them", async () => {
    const c = await load({
      os: "rocky-9",
      selinux: "enforcing",
      firewalld: "cluster-ports",
      sshIngressCidrs: SSH,
    });
    expect([c.os, c.selinux, c.firewalld]).toEqual(["rocky-9", "enforcing", "cluster-ports"]);
  });

  test("set with an apt OS, each says to remove it, in the same round as the rest", async () => {
    expect(
      await problems({
        selinux: "enforcing",
        firewalld: "stopped",
        cni: "calcio",
        sshIngressCidrs: SSH,
      }),
    ).toEqual([
      expect.stringMatching(/^cni must be one of/),
      "selinux enforcing has no effect with os ubuntu-24.04: selinux applies to rocky-9, almalinux-9, " +
        "amazon-linux-2023 and oracle-linux-9 only; remove it with `pulumi config rm selinux`",
      "firewalld stopped has no effect with os ubuntu-24.04: firewalld applies to rocky-9, almalinux-9, " +
        "amazon-linux-2023 and oracle-linux-9 only; remove it with `pulumi config rm firewalld`",
    ]);
  });
});

import { validateClusterConfig, ConfigError } from "../../config/clusterConfig";
import { PreflightLookups, preflight } from "../../components/preflight";
import { resolveMyIp } from "../../config/callerIp";
import type { LiveNode } from "../../config/rollPlan";
import { INSTANCE_TYPES, offeringsOf, zonesOf } from "../../tools/mockCloud";

/**
 * Lookups answering from the mock cloud's catalogue (us-east-1: six zones, us-east-1e without
 * the newer types), like EC2 would; `live` is what EC2 reports the running instances to be.
 */
const lookups = (
  zones: readonly string[] = zonesOf("us-east-1"),
  live: Record<string, LiveNode[]> = {},
  quotas: Record<string, number> = {},
): PreflightLookups => ({
  region: async () => "us-east-1",
  instanceTypeOfferings: async (type) => offeringsOf("us-east-1", type),
  liveNodes: async (_cluster, role) => live[role] ?? [],
  quota: async (_service, code) => quotas[code],
  async instanceType(name) {
    const facts = INSTANCE_TYPES[name];
    if (!facts) throw new Error(`InvalidInstanceType: The instance type '${name}' does not exist`);
    return { defaultVcpus: facts[0], memorySize: facts[1], supportedArchitectures: facts[2] };
  },
  availabilityZones: async () => zones,
  async imageArchitecture(amiId) {
    const images: Record<string, string> = {
      "ami-0aaaaaaaaaaaaaaa1": "arm64",
      "ami-0bbbbbbbbbbbbbbb2": "x86_64",
      "ami-0ccccccccccccccc3": "i386",
    };
    if (!images[amiId]) throw new Error(`no image ${amiId}`);
    return images[amiId]!;
  },
});

const config = (input: Parameters<typeof validateClusterConfig>[0]) =>
  validateClusterConfig({ sshIngressCidrs: ["203.0.113.10/32"], ...input });

async function problems(p: Promise<unknown>): Promise<string[]> {
  try {
    await p;
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return [...e.problems];
    throw e;
  }
}

describe("preflight (AWS-backed checks before any resource)", () => {
  test("picks the architecture of each group and the first zones in name order", async () => {
    const result = await preflight(
      config({ controlPlane: { instanceType: "t4g.medium" }, availabilityZoneCount: 3 }),
      lookups(["us-east-1c", "us-east-1a", "us-east-1b", "us-east-1d"]),
    );
    expect(result).toEqual({
      controlPlaneArch: "arm64",
      workerArch: "x86_64",
      bastionArch: "arm64",
      region: "us-east-1",
      availabilityZones: ["us-east-1a", "us-east-1b", "us-east-1c"],
      placement: { controlPlane: [0], workers: [0] },
    });
  });

  test("uses only zones that offer every instance type of the cluster (EC2's offerings per zone)", async () => {
    const result = await preflight(
      config({ workers: { count: 5, instanceType: "t4g.medium" }, availabilityZoneCount: 5 }),
      lookups(),
    );
    // us-east-1e offers neither t3.medium nor t4g.medium.
    expect(result.availabilityZones).toEqual([
      "us-east-1a",
      "us-east-1b",
      "us-east-1c",
      "us-east-1d",
      "us-east-1f",
    ]);
    expect(result.placement.workers).toEqual([0, 1, 2, 3, 4]);
  });

  test("names the zone and the type when too few zones offer it", async () => {
    const found = await problems(preflight(config({ availabilityZoneCount: 6 }), lookups()));
    expect(found).toEqual([
      expect.stringContaining(
        "availabilityZoneCount 6 is more than the 5 zone(s) of this region that offer controlPlane.instanceType t3.medium and workers.instanceType t3.medium",
      ),
    ]);
    expect(found[0]).toContain("us-east-1e (no t3.medium)");
  });

  test("an instance type that supports i386 and x86_64 builds for x86_64", async () => {
    const result = await preflight(config({ workers: { instanceType: "t2.micro" } }), lookups());
    expect(result.workerArch).toBe("x86_64");
  });

  test("a control plane below 2 vCPU / 2 GiB is refused with the numbers", async () => {
    const found = await problems(
      preflight(config({ controlPlane: { instanceType: "t3.micro" } }), lookups()),
    );
    expect(found).toEqual([
      expect.stringMatching(
        /^controlPlane\.instanceType t3\.micro has 2 vCPU and 1024 MiB; kubeadm needs at least 2 vCPU and 2 GiB/,
      ),
    ]);
  });

  test("a worker below 1 GiB is refused", async () => {
    const found = await problems(
      preflight(config({ workers: { instanceType: "t3a.nano" } }), lookups()),
    );
    expect(found[0]).toContain("workers.instanceType t3a.nano has 2 vCPU and 512 MiB");
  });

  test("an instance type whose architecture has no image is refused", async () => {
    const found = await problems(
      preflight(config({ workers: { instanceType: "mac1.metal" } }), lookups()),
    );
    expect(found[0]).toBe(
      "workers.instanceType mac1.metal runs x86_64_mac, but images exist only for x86_64 and arm64",
    );
  });

  test("an unknown instance type and too few zones are reported together", async () => {
    const found = await problems(
      preflight(
        config({ controlPlane: { instanceType: "z9.huge" }, availabilityZoneCount: 4 }),
        lookups(["us-east-1a", "us-east-1b"]),
      ),
    );
    expect(found).toHaveLength(2);
    expect(found[0]).toContain("controlPlane.instanceType z9.huge is not an instance type offered");
    // The unknown type is reported once, as unknown; the zone count against the type that exists.
    expect(found[1]).toBe(
      "availabilityZoneCount 4 is more than the 2 zone(s) of this region that offer workers.instanceType t3.medium (us-east-1a, us-east-1b); lower availabilityZoneCount or pick types offered in more zones",
    );
  });

  test("workers are not looked up when there are none", async () => {
    const seen: string[] = [];
    const l = lookups();
    await preflight(config({ workers: { count: 0, instanceType: "z9.huge" } }), {
      ...l,
      instanceType: (n) => (seen.push(n), l.instanceType(n)),
    });
    // The control planes' type and the bastion's.
    expect(seen).toEqual(["t3.medium", "t4g.micro"]);
  });
});

describe("an explicit amiId", () => {
  test("fixes the architecture of both groups when the instance types can run it", async () => {
    const result = await preflight(
      config({
        amiId: "ami-0aaaaaaaaaaaaaaa1",
        controlPlane: { instanceType: "t4g.medium" },
        workers: { instanceType: "m7g.large" },
      }),
      lookups(),
    );
    expect([result.controlPlaneArch, result.workerArch]).toEqual(["arm64", "arm64"]);
  });

  test("of another architecture than an instance type is refused before anything boots", async () => {
    const found = await problems(
      preflight(
        config({ amiId: "ami-0aaaaaaaaaaaaaaa1", controlPlane: { instanceType: "t4g.medium" } }),
        lookups(),
      ),
    );
    expect(found).toEqual([
      "amiId ami-0aaaaaaaaaaaaaaa1 is built for arm64, but workers.instanceType t3.medium runs x86_64; pick an instance type or image of the same architecture",
    ]);
  });

  test("that does not exist, or is 32-bit, is reported", async () => {
    expect(
      (await problems(preflight(config({ amiId: "ami-0ddddddddddddddd4" }), lookups())))[0],
    ).toContain(
      "amiId ami-0ddddddddddddddd4 was not found in this region (no image ami-0ddddddddddddddd4)",
    );
    expect(
      (await problems(preflight(config({ amiId: "ami-0ccccccccccccccc3" }), lookups())))[0],
    ).toBe("amiId ami-0ccccccccccccccc3 is built for i386; only x86_64 and arm64 are supported");
  });
});

describe("my-ip", () => {
  test("is replaced by the detected address as a /32 in every ingress list", async () => {
    const c = await resolveMyIp(
      config({ sshIngressCidrs: ["my-ip", "198.51.100.0/24"], nodePortIngressCidrs: ["my-ip"] }),
      async () => "192.0.2.44",
    );
    expect(c.sshIngressCidrs).toEqual(["192.0.2.44/32", "198.51.100.0/24"]);
    expect(c.apiIngressCidrs).toEqual(["192.0.2.44/32", "198.51.100.0/24"]);
    expect(c.nodePortIngressCidrs).toEqual(["192.0.2.44/32"]);
  });

  test("fails closed when detection fails, never opening to the internet", async () => {
    const found = await problems(
      resolveMyIp(config({ sshIngressCidrs: ["my-ip"] }), async () => {
        throw new Error("getaddrinfo ENOTFOUND checkip.amazonaws.com");
      }),
    );
    expect(found[0]).toContain(
      "my-ip in the ingress CIDRs could not be resolved (getaddrinfo ENOTFOUND",
    );
  });

  test("rejects an answer that is not an IPv4 address", async () => {
    const found = await problems(
      resolveMyIp(
        config({ sshIngressCidrs: ["my-ip"] }),
        async () => "<html>captive portal</html>",
      ),
    );
    expect(found[0]).toContain("is not an IPv4 address");
  });

  test("is not looked up when no list uses it", async () => {
    const detect = jest.fn();
    const c = config({});
    expect(await resolveMyIp(c, detect)).toBe(c);
    expect(detect).not.toHaveBeenCalled();
  });
});

describe("account limits that would stop an up half-way", () => {
  test("a vCPU quota smaller than the cluster is refused with the sum", async () => {
    const found = await problems(
      preflight(
        config({
          controlPlane: { count: 3, instanceType: "m7i.large" },
          workers: { count: 3, instanceType: "m7i.xlarge" },
          availabilityZoneCount: 3,
        }),
        lookups(undefined, {}, { "L-1216C47A": 16 }),
      ),
    );
    expect(found).toEqual([
      "the cluster needs 18 vCPUs of On-Demand Standard instances (3 × m7i.large (2 vCPU) + 3 × m7i.xlarge (4 vCPU)), " +
        "more than this account's quota of 16 in this region: request an increase of Service Quotas L-1216C47A first, or use fewer or smaller nodes",
    ]);
  });

  test("a vCPU quota that cannot be read is not guessed", async () => {
    // 40 x 4 vCPU; Service Quotas does not answer (no permission).
    const result = await preflight(
      config({ workers: { count: 40, instanceType: "m7i.xlarge" } }),
      lookups(),
    );
    expect(result.placement.workers).toHaveLength(40);
  });

  test("rules never grow with the nodes: 200 workers need no more than 3", async () => {
    const few = await preflight(
      config({ workers: { count: 3 } }),
      lookups(undefined, {}, { "L-0EA8095F": 60 }),
    );
    const many = await preflight(
      config({ workers: { count: 200 } }),
      lookups(undefined, {}, { "L-0EA8095F": 60 }),
    );
    expect([few.placement.workers.length, many.placement.workers.length]).toEqual([3, 200]);
  });

  test("too many CIDRs for one group's rules quota are refused up front, naming the list", async () => {
    const cidrs = Array.from({ length: 61 }, (_, i) => `10.${i}.0.0/16`);
    const found = await problems(
      preflight(
        config({ sshIngressCidrs: cidrs, apiIngressCidrs: ["10.200.0.0/16"] }),
        lookups(undefined, {}, { "L-0EA8095F": 60 }),
      ),
    );
    expect(found).toEqual([
      "the bastion security group would need 61 inbound rules (one per entry of sshIngressCidrs, plus the cluster's own), " +
        "more than the 60 AWS allows (Service Quotas L-0EA8095F): list fewer, wider CIDRs, or raise the quota first",
    ]);
  });

  test("a raised rules quota is honoured", async () => {
    const cidrs = Array.from({ length: 61 }, (_, i) => `10.${i}.0.0/16`);
    const result = await preflight(
      config({ sshIngressCidrs: cidrs, apiIngressCidrs: ["10.200.0.0/16"] }),
      lookups(undefined, {}, { "L-0EA8095F": 200 }),
    );
    expect(result.placement.workers).toHaveLength(1);
  });

  test("the bastion's type must exist and be offered in the cluster's first zone", async () => {
    const found = await problems(
      preflight(
        config({
          bastion: { instanceType: "t4g.micro" },
          controlPlane: { instanceType: "m4.large" },
          workers: { instanceType: "m4.large" },
        }),
        {
          ...lookups(["us-east-1e", "us-east-1a"]),
          availabilityZones: async () => ["us-east-1e", "us-east-1f"],
        },
      ),
    );
    expect(found).toEqual([
      "bastion.instanceType t4g.micro is not offered in us-east-1e, the cluster's first zone, where the bastion goes; pick a type offered there",
    ]);
    const unknown = await problems(
      preflight(config({ bastion: { instanceType: "z9.tiny" } }), lookups()),
    );
    expect(unknown[0]).toMatch(
      /^bastion\.instanceType z9\.tiny is not an instance type offered in this region/,
    );
  });
});

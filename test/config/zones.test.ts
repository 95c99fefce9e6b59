import { ClusterConfigInput, validateClusterConfig } from "../../config/clusterConfig";
import { chooseZones } from "../../config/zones";
import { offeringsOf, zonesOf } from "../../tools/mockCloud";

const config = (input: ClusterConfigInput) =>
  validateClusterConfig({ clusterName: "zz", sshIngressCidrs: ["203.0.113.10/32"], ...input });

/** DescribeInstanceTypeOfferings in us-east-1, per type, from the mock cloud's catalogue. */
const offerings = (...types: string[]) =>
  new Map(types.map((t) => [t, new Set(offeringsOf("us-east-1", t))]));

const choose = (input: ClusterConfigInput, previous?: string[]) => {
  const c = config(input);
  return chooseZones({
    config: c,
    previous,
    regionZones: zonesOf("us-east-1"),
    offerings: offerings(c.controlPlane.instanceType, c.workers.instanceType),
  });
};

describe("choosing zones", () => {
  test("takes zones in name order, skipping one that does not offer a type the cluster runs", () => {
    expect(choose({ availabilityZoneCount: 5 })).toEqual({
      zones: ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1f"],
      problems: [],
    });
  });

  test("too few zones offering the types: names each type and the zones that lack it", () => {
    const { problems } = choose({
      availabilityZoneCount: 6,
      workers: { instanceType: "t4g.medium" },
    });
    expect(problems).toEqual([
      "availabilityZoneCount 6 is more than the 5 zone(s) of this region that offer controlPlane.instanceType t3.medium and workers.instanceType t4g.medium " +
        "(us-east-1a, us-east-1b, us-east-1c, us-east-1d, us-east-1f); the others lack the type: us-east-1e (no t3.medium or t4g.medium); " +
        "lower availabilityZoneCount or pick types offered in more zones",
    ]);
  });

  test("keeps the zones in use at their index and appends new ones", () => {
    expect(choose({ availabilityZoneCount: 4 }, ["us-east-1c", "us-east-1a"]).zones).toEqual([
      "us-east-1c",
      "us-east-1a",
      "us-east-1b",
      "us-east-1d",
    ]);
  });

  test("a zone in use that lacks a new type is named, not silently dropped", () => {
    const { zones, problems } = choose(
      { controlPlane: { instanceType: "m4.large" }, workers: { instanceType: "t3.large" } },
      ["us-east-1e", "us-east-1a"],
    );
    expect(zones).toEqual(["us-east-1e", "us-east-1a"]);
    expect(problems).toEqual([
      "workers.instanceType t3.large is not offered in us-east-1e, which this cluster already uses; pick a type that every zone of the cluster offers (us-east-1e, us-east-1a)",
    ]);
  });

  test("workers that do not exist do not restrict the zones", () => {
    expect(
      choose({
        availabilityZoneCount: 6,
        controlPlane: { instanceType: "m4.large" },
        workers: { count: 0, instanceType: "t3.large" },
      }).zones,
    ).toHaveLength(6);
  });
});

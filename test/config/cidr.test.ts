import {
  cidrProblem,
  cidrsOverlap,
  edgeSubnetCidr,
  nodeSubnetCidr,
  nthSubnet,
  SUBNET_LAYOUT,
} from "../../config/cidr";

describe("the subnet layout", () => {
  test("gives a /16 eight /19 slots: zone k's nodes in slot k", () => {
    expect([0, 1, 2].map((k) => nodeSubnetCidr("10.0.0.0/16", k))).toEqual([
      "10.0.0.0/19",
      "10.0.32.0/19",
      "10.0.64.0/19",
    ]);
    expect(nodeSubnetCidr("172.16.0.0/16", 5)).toBe("172.16.160.0/19");
  });

  test("never depends on the number of zones: a zone's subnet is a function of its index only", () => {
    // The layout functions take no zone count at all; this pins the values a 2-zone cluster
    // got, which a 3- or 6-zone cluster must keep.
    const twoZones = [0, 1].map((k) => nodeSubnetCidr("10.0.0.0/16", k));
    const sixZones = [0, 1, 2, 3, 4, 5].map((k) => nodeSubnetCidr("10.0.0.0/16", k));
    expect(sixZones.slice(0, 2)).toEqual(twoZones);
  });

  test("puts edge subnets in the last slot, none overlapping a node subnet", () => {
    const edges = [0, 1, 2, 3, 4, 5].map((k) => edgeSubnetCidr("10.0.0.0/16", k));
    expect(edges[0]).toBe("10.0.224.0/22");
    expect(edges[5]).toBe("10.0.244.0/22");
    const nodes = [0, 1, 2, 3, 4, 5].map((k) => nodeSubnetCidr("10.0.0.0/16", k));
    const all = [...nodes, ...edges];
    for (let i = 0; i < all.length; i++) {
      for (let j = i + 1; j < all.length; j++) expect(cidrsOverlap(all[i]!, all[j]!)).toBe(false);
    }
  });

  test("refuses a zone index past the sixth zone", () => {
    expect(() => nodeSubnetCidr("10.0.0.0/16", SUBNET_LAYOUT.maxZones)).toThrow(
      "zone index 6 is outside 0..5",
    );
  });

  test("nthSubnet refuses a subnet that does not fit", () => {
    expect(() => nthSubnet("10.0.0.0/24", 26, 4)).toThrow("10.0.0.0/24 holds 4 /26 subnets");
  });
});

describe("CIDR maths", () => {
  test("overlap is detected in both directions and disjoint networks pass", () => {
    expect(cidrsOverlap("10.0.0.0/8", "10.244.0.0/16")).toBe(true);
    expect(cidrsOverlap("10.244.0.0/16", "10.0.0.0/8")).toBe(true);
    expect(cidrsOverlap("10.0.0.0/16", "10.96.0.0/12")).toBe(false);
  });

  test("host bits are reported with the network they belong to", () => {
    expect(cidrProblem("192.168.1.7/24")).toBe("has host bits set (the network is 192.168.1.0/24)");
    expect(cidrProblem("0.0.0.0/0")).toBeUndefined();
  });
});

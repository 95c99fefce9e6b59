import { cidrsOverlap, splitCidr, subnetPrefixFor, cidrProblem } from "../../config/cidr";

describe("CIDR maths", () => {
  test("splits a /16 for 2 or 3 zones into /18 subnets, leaving room to grow", () => {
    expect(subnetPrefixFor("10.0.0.0/16", 2)).toBe(18);
    expect(subnetPrefixFor("10.0.0.0/16", 3)).toBe(18);
    expect(splitCidr("10.0.0.0/16", 18, 3)).toEqual([
      "10.0.0.0/18",
      "10.0.64.0/18",
      "10.0.128.0/18",
    ]);
  });

  test("six zones need eight slots", () => {
    expect(subnetPrefixFor("172.16.0.0/16", 6)).toBe(19);
    expect(splitCidr("172.16.0.0/16", 19, 6).at(-1)).toBe("172.16.160.0/19");
  });

  test("refuses to split into more subnets than fit", () => {
    expect(() => splitCidr("10.0.0.0/24", 26, 5)).toThrow("holds only 4 /26 subnets, 5 requested");
  });

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

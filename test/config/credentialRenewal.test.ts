import { planAdminCredential } from "../../config/credentialRenewal";
import { checkClusterConfig } from "../../config/clusterConfig";

const DAY = 24 * 3600 * 1000;
const NOW = new Date("2026-12-04T00:00:00Z");
const ago = (days: number) => new Date(NOW.getTime() - days * DAY).toISOString();
const settings = { validityDays: 365, renewBeforeDays: 30 };

describe("planAdminCredential", () => {
  test("issues generation 1 on a first deployment", () => {
    expect(planAdminCredential(undefined, settings, NOW)).toEqual({
      generation: 1,
      issuedAt: NOW.toISOString(),
      validityDays: 365,
      notAfter: "2027-12-04T00:00:00.000Z",
      reason: "first issue",
    });
  });

  test.each([
    [0, undefined],
    [334, undefined],
    [335, "renewal window"],
    [364, "renewal window"],
    [365, "expired"],
    [900, "expired"],
  ])("a certificate issued %i days ago: %s", (days, reason) => {
    const plan = planAdminCredential(
      { generation: 4, issuedAt: ago(days), validityDays: 365 },
      settings,
      NOW,
    );
    expect(plan.reason).toBe(reason);
    expect(plan.generation).toBe(reason ? 5 : 4);
    expect(plan.issuedAt).toBe(reason ? NOW.toISOString() : ago(days));
  });

  test("a changed validity starts a new generation now", () => {
    const plan = planAdminCredential(
      { generation: 2, issuedAt: ago(10), validityDays: 365 },
      { validityDays: 90, renewBeforeDays: 7 },
      NOW,
    );
    expect(plan).toMatchObject({ generation: 3, validityDays: 90, reason: "validity changed" });
  });

  test("renewBeforeDays 0 renews only once expired", () => {
    const keep = planAdminCredential(
      { generation: 1, issuedAt: ago(364), validityDays: 365 },
      { validityDays: 365, renewBeforeDays: 0 },
      NOW,
    );
    expect(keep.reason).toBeUndefined();
  });
});

describe("adminKubeconfig in the config", () => {
  const check = (adminKubeconfig: object) =>
    checkClusterConfig({ sshIngressCidrs: ["198.51.100.7/32"], adminKubeconfig } as never).problems;

  test("defaults to a year, renewed in the last 30 days", () => {
    const { config } = checkClusterConfig({ sshIngressCidrs: ["198.51.100.7/32"] });
    expect(config.adminKubeconfig).toEqual({ validityDays: 365, renewBeforeDays: 30 });
  });

  test("refuses a renewal window as long as the validity, saying what to set", () => {
    expect(check({ validityDays: 30, renewBeforeDays: 30 })).toEqual([
      expect.stringMatching(
        /^adminKubeconfig\.renewBeforeDays 30 must be less than adminKubeconfig\.validityDays 30.*set it to 2/,
      ),
    ]);
  });

  test("reports a bad field by its path, and no cross-field rule on top", () => {
    expect(check({ validityDays: 0 })).toEqual([
      "adminKubeconfig.validityDays must be a whole number from 1 to 1825 (got 0)",
    ]);
    expect(check({ validity: 5 })).toEqual(["adminKubeconfig has unknown key(s) validity"]);
  });
});

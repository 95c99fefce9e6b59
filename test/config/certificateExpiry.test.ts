import { expiryWarning, WARN_WITHIN_DAYS } from "../../config/certificateExpiry";

const now = new Date("2026-12-04T00:00:00Z");
const inDays = (d: number) => new Date(now.getTime() + d * 86_400_000);

test("warns with the date inside 90 days, and after expiry; says nothing before", () => {
  expect(WARN_WITHIN_DAYS).toBe(90);
  expect(expiryWarning("the cluster CA", inDays(91), now, "plan a new cluster")).toBeUndefined();
  expect(expiryWarning("the cluster CA", inDays(90), now, "plan a new cluster")).toBe(
    "the cluster CA expires on 2027-03-04, in 90 days: plan a new cluster",
  );
  expect(expiryWarning("the admin kubeconfig's certificate", inDays(-2), now, "run up")).toBe(
    "the admin kubeconfig's certificate expired on 2026-12-02: run up",
  );
});

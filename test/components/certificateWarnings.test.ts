/**
 * `pulumi up` warns about a real certificate that expires within 90 days, read from its PEM;
 * a certificate with years left, and a PEM that does not parse, give no warning.
 */
import * as pulumi from "@pulumi/pulumi";
import { warnAboutExpiry } from "../../components/certificateWarnings";
import { selfSignedCertificate } from "../support/selfSignedCertificate";

const certificate = (days: number): string => selfSignedCertificate(days);

test("a CA within 90 days of its end is named with its date; others are not", async () => {
  const warn = jest.spyOn(pulumi.log, "warn").mockResolvedValue();
  warnAboutExpiry([
    { what: "the cluster CA", certPem: pulumi.output(certificate(40)), whatToDo: "plan ahead" },
    { what: "the etcd CA", certPem: pulumi.output(certificate(3650)), whatToDo: "plan ahead" },
    {
      what: "a mock",
      certPem: pulumi.output("-----BEGIN CERTIFICATE-----\nMOCK\n-----END CERTIFICATE-----\n"),
      whatToDo: "-",
    },
  ]);
  await new Promise((r) => setTimeout(r, 50));
  expect(warn.mock.calls.map((c) => c[0])).toEqual([
    expect.stringMatching(
      /^the cluster CA expires on \d{4}-\d\d-\d\d, in (39|40) days: plan ahead$/,
    ),
  ]);
  warn.mockRestore();
});

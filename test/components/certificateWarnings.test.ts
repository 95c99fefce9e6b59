/**
 * `pulumi up` warns about a real certificate that expires within 90 days, read from its PEM;
 * a certificate with years left, and a PEM that does not parse, give no warning.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { warnAboutExpiry } from "../../components/certificateWarnings";

function certificate(days: number): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kubeadm-aws-cert-"));
  try {
    const r = spawnSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        path.join(dir, "k.pem"),
        "-out",
        path.join(dir, "c.pem"),
        "-days",
        String(days),
        "-subj",
        "/CN=kubernetes",
      ],
      { encoding: "utf8" },
    );
    expect(r.status).toBe(0);
    return fs.readFileSync(path.join(dir, "c.pem"), "utf8");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

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

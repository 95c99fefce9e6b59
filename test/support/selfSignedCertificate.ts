/**
 * A real self-signed certificate (P-256) from openssl, valid for DAYS from now, as PEM: the
 * expiry checks read it as they would a node's or a CA's.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export function selfSignedCertificate(days: number, commonName = "kubernetes"): string {
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
        `/CN=${commonName}`,
      ],
      { encoding: "utf8" },
    );
    if (r.status !== 0) throw new Error(`openssl req failed: ${r.stderr}`);
    return fs.readFileSync(path.join(dir, "c.pem"), "utf8");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

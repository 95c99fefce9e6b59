/**
 * Real keys and certificates for the mock cloud (`installMocks(stack, { realCertificates: true })`),
 * made with the openssl CLI the way the TLS provider makes them, so a test can parse and verify
 * what the program issues: each node's join certificate, the admin's, the CAs'.
 *
 * What it mirrors of the provider (hashicorp/terraform-provider-tls internal/provider/
 * common_cert.go, createCertificate): validity starts now and lasts validityPeriodHours;
 * allowed uses map to key usages (digital_signature, key_encipherment, cert_signing) and extended
 * key usages (client_auth, server_auth); a CA certificate is marked as one. Subjects carry the
 * request's common name, organization and serial number. Keys are PKCS#8 PEM (openssl's form;
 * the provider writes RSA as PKCS#1, which no consumer here tells apart).
 *
 * Off by default: an RSA CA key takes openssl tens of milliseconds, too slow for every test. A
 * resource evaluated again with the same name and inputs gets the state it got before, as an
 * unchanged resource keeps its state in a real `up`; a changed input makes a new one.
 */
import { execFileSync } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const KEY_USAGES: Record<string, string> = {
  digital_signature: "digitalSignature",
  key_encipherment: "keyEncipherment",
  cert_signing: "keyCertSign",
  crl_signing: "cRLSign",
};
const EXTENDED_USAGES: Record<string, string> = {
  client_auth: "clientAuth",
  server_auth: "serverAuth",
};

const made = new Map<string, Record<string, string>>();

/** The state made for `name` with these inputs before, else a new one. */
export function remembered(
  kind: string,
  name: string,
  inputs: Record<string, any>,
  make: () => Record<string, string> | undefined,
): Record<string, string> | undefined {
  const key = `${kind} ${name} ${JSON.stringify(inputs)}`;
  if (!made.has(key)) {
    const state = make();
    if (!state) return undefined;
    made.set(key, state);
  }
  return made.get(key);
}

function inTempDir<T>(work: (dir: string) => T): T {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mock-tls-"));
  try {
    return work(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function openssl(args: string[], input?: string): string {
  return execFileSync("openssl", args, {
    input,
    encoding: "utf8",
    stdio: ["pipe", "pipe", "pipe"],
  });
}

/** A PrivateKey's state: RSA or ECDSA made for real; ED25519 (the SSH key) is left to the caller. */
export function realPrivateKey(inputs: Record<string, any>): Record<string, string> | undefined {
  const algorithm = String(inputs.algorithm ?? "RSA");
  let pem: string;
  if (algorithm === "RSA") {
    const bits = String(inputs.rsaBits ?? 2048);
    pem = openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", `rsa_keygen_bits:${bits}`]);
  } else if (algorithm === "ECDSA") {
    const curve = { P224: "P-224", P256: "P-256", P384: "P-384", P521: "P-521" }[
      String(inputs.ecdsaCurve ?? "P224")
    ];
    if (!curve) throw new Error(`mock TLS: unknown ECDSA curve ${inputs.ecdsaCurve}`);
    pem = openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", `ec_paramgen_curve:${curve}`]);
  } else {
    return undefined;
  }
  return { privateKeyPem: pem, publicKeyPem: openssl(["pkey", "-pubout"], pem) };
}

/** `/O=…/CN=…/serialNumber=…` for openssl's -subj, with its separators escaped. */
function subjectArg(subject: Record<string, any> | undefined): string {
  const escape = (v: unknown) => String(v).replace(/[\\/+=]/g, (c) => `\\${c}`);
  const parts: [string, unknown][] = [
    ["O", subject?.organization],
    ["OU", subject?.organizationalUnit],
    ["CN", subject?.commonName],
    ["serialNumber", subject?.serialNumber],
  ];
  const rdns = parts.filter(([, v]) => v !== undefined && v !== "");
  return rdns.length ? rdns.map(([k, v]) => `/${k}=${escape(v)}`).join("") : "/";
}

function extensions(allowedUses: readonly string[], isCa: boolean): string {
  const usage = allowedUses.map((u) => KEY_USAGES[u]).filter(Boolean);
  const extended = allowedUses.map((u) => EXTENDED_USAGES[u]).filter(Boolean);
  return [
    `basicConstraints = critical, CA:${isCa ? "TRUE" : "FALSE"}`,
    ...(usage.length ? [`keyUsage = critical, ${usage.join(", ")}`] : []),
    ...(extended.length ? [`extendedKeyUsage = ${extended.join(", ")}`] : []),
    ...(isCa ? ["subjectKeyIdentifier = hash"] : []),
  ].join("\n");
}

/** openssl counts validity in days; the program only asks for whole days. */
function days(hours: unknown): string {
  const h = Number(hours);
  if (!Number.isInteger(h) || h % 24 !== 0) {
    throw new Error(`mock TLS: validityPeriodHours ${hours} is not a whole number of days`);
  }
  return String(h / 24);
}

function validity(hours: unknown): { validityStartTime: string; validityEndTime: string } {
  const start = new Date();
  return {
    validityStartTime: start.toISOString(),
    validityEndTime: new Date(start.getTime() + Number(hours) * 3_600_000).toISOString(),
  };
}

export function realSelfSignedCert(inputs: Record<string, any>): Record<string, string> {
  return inTempDir((dir) => {
    const key = path.join(dir, "ca.key");
    const ext = path.join(dir, "ext.cnf");
    fs.writeFileSync(key, String(inputs.privateKeyPem));
    fs.writeFileSync(
      ext,
      `[v3]\n${extensions(inputs.allowedUses ?? [], !!inputs.isCaCertificate)}\n`,
    );
    const certPem = openssl([
      "req",
      "-x509",
      "-new",
      "-key",
      key,
      "-subj",
      subjectArg(inputs.subject),
      "-days",
      days(inputs.validityPeriodHours),
      "-config",
      ext,
      "-extensions",
      "v3",
      "-set_serial",
      `0x${randomBytes(16).toString("hex")}`,
    ]);
    return { certPem, ...validity(inputs.validityPeriodHours) };
  });
}

export function realCertRequest(inputs: Record<string, any>): Record<string, string> {
  return inTempDir((dir) => {
    const key = path.join(dir, "request.key");
    fs.writeFileSync(key, String(inputs.privateKeyPem));
    const cfg = path.join(dir, "req.cnf");
    fs.writeFileSync(cfg, "[req]\ndistinguished_name = dn\n[dn]\n");
    return {
      certRequestPem: openssl([
        "req",
        "-new",
        "-key",
        key,
        "-subj",
        subjectArg(inputs.subject),
        "-config",
        cfg,
      ]),
    };
  });
}

export function realLocallySignedCert(inputs: Record<string, any>): Record<string, string> {
  return inTempDir((dir) => {
    const file = (name: string, text: unknown) => {
      const p = path.join(dir, name);
      fs.writeFileSync(p, String(text));
      return p;
    };
    const certPem = openssl([
      "x509",
      "-req",
      "-in",
      file("request.csr", inputs.certRequestPem),
      "-CA",
      file("ca.crt", inputs.caCertPem),
      "-CAkey",
      file("ca.key", inputs.caPrivateKeyPem),
      "-days",
      days(inputs.validityPeriodHours),
      "-extfile",
      file("ext.cnf", `${extensions(inputs.allowedUses ?? [], !!inputs.isCaCertificate)}\n`),
      "-set_serial",
      `0x${randomBytes(16).toString("hex")}`,
    ]);
    return { certPem, ...validity(inputs.validityPeriodHours) };
  });
}

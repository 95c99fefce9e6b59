/**
 * Pure PKI helpers used by the program (no `@pulumi/*`): today, the kubeadm discovery hash that
 * pins the cluster CA in every `JoinConfiguration`.
 */
import { createHash, X509Certificate } from "node:crypto";

/** The form kubeadm expects in `discovery.bootstrapToken.caCertHashes`: `sha256:<64 hex>`. */
export const CA_CERT_HASH_PATTERN = /^sha256:[0-9a-f]{64}$/;

const PEM_CERTIFICATE_BEGIN = /-----BEGIN CERTIFICATE-----/g;

/**
 * The kubeadm discovery hash: "sha256:" + hex SHA-256 of the CA certificate's DER
 * SubjectPublicKeyInfo, the same value `kubeadm init` prints in its join command and that
 * `openssl x509 -pubkey | openssl pkey -pubin -outform der | sha256sum` computes
 * (https://kubernetes.io/docs/reference/setup-tools/kubeadm/kubeadm-join/#token-based-discovery-with-ca-pinning).
 *
 * Only the public key is hashed, so the value survives re-issuing the CA certificate with the
 * same key. The input must be exactly one PEM certificate, and a CA (basicConstraints CA:TRUE):
 * hashing the first certificate of a bundle, or a leaf, would pin the wrong key and every join
 * would fail discovery with an unhelpful message much later.
 */
export function caCertHashFromCertPem(caCertPem: string): string {
  const blocks = caCertPem.match(PEM_CERTIFICATE_BEGIN)?.length ?? 0;
  if (blocks !== 1) {
    throw new Error(
      `the cluster CA certificate must be exactly one PEM "CERTIFICATE" block (found ${blocks})`,
    );
  }
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(caCertPem);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`the cluster CA certificate is not a readable PEM certificate: ${reason}`);
  }
  if (!certificate.ca) {
    throw new Error(
      `the cluster CA certificate (subject ${JSON.stringify(certificate.subject)}) is not a CA ` +
        `certificate (basicConstraints CA:TRUE is missing); kubeadm pins the CA that signs the ` +
        `API server certificate`,
    );
  }
  const spki = certificate.publicKey.export({ type: "spki", format: "der" });
  return `sha256:${createHash("sha256").update(spki).digest("hex")}`;
}

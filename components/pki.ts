/**
 * Pki: every key the cluster needs, made by the program so they live (encrypted) in Pulumi state:
 * the SSH key of the nodes, the three kubeadm CAs (cluster, front-proxy, etcd), the
 * service-account signing key pair, and the certificate key for `--upload-certs`.
 *
 * Pre-generating the CAs means the discovery hash is computed here, before any node exists,
 * and a re-created first control-plane node comes back with the same cluster identity.
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import { caCertHashFromCertPem } from "../render/caCertHash";
import { typeToken } from "./naming";

/** Ten years, as kubeadm does for its own CAs. */
const CA_VALIDITY_HOURS = 24 * 365 * 10;

export interface CaPair {
  readonly certPem: pulumi.Output<string>;
  readonly keyPem: pulumi.Output<string>;
}

export interface PkiArgs {
  readonly clusterName: string;
}

export class Pki extends pulumi.ComponentResource {
  public readonly sshPublicKey: pulumi.Output<string>;
  /** OpenSSH private key of the nodes' login user (secret). */
  public readonly sshPrivateKey: pulumi.Output<string>;
  public readonly clusterCa: CaPair;
  public readonly frontProxyCa: CaPair;
  public readonly etcdCa: CaPair;
  public readonly serviceAccountKeyPem: pulumi.Output<string>;
  public readonly serviceAccountPublicPem: pulumi.Output<string>;
  /** 32 random bytes, hex: the key that encrypts certificates uploaded for control-plane joins. */
  public readonly certificateKey: pulumi.Output<string>;
  /** `sha256:<hex>` of the cluster CA's public key, for `caCertHashes` in joins. */
  public readonly caCertHash: pulumi.Output<string>;

  constructor(name: string, args: PkiArgs, opts?: pulumi.ComponentResourceOptions) {
    super(typeToken("Pki"), name, {}, opts);
    const parent = { parent: this };

    const ssh = new tls.PrivateKey(`${name}-ssh`, { algorithm: "ED25519" }, parent);
    this.sshPublicKey = ssh.publicKeyOpenssh;
    this.sshPrivateKey = pulumi.secret(ssh.privateKeyOpenssh);

    const ca = (suffix: string, commonName: string): CaPair => {
      const key = new tls.PrivateKey(
        `${name}-${suffix}`,
        { algorithm: "RSA", rsaBits: 2048 },
        parent,
      );
      const cert = new tls.SelfSignedCert(
        `${name}-${suffix}`,
        {
          privateKeyPem: key.privateKeyPem,
          isCaCertificate: true,
          validityPeriodHours: CA_VALIDITY_HOURS,
          subject: { commonName, organization: args.clusterName },
          allowedUses: ["cert_signing", "key_encipherment", "digital_signature"],
          setSubjectKeyId: true,
        },
        parent,
      );
      return { certPem: cert.certPem, keyPem: pulumi.secret(key.privateKeyPem) };
    };
    // Common names match what kubeadm itself would generate.
    this.clusterCa = ca("ca", "kubernetes");
    this.frontProxyCa = ca("front-proxy-ca", "front-proxy-ca");
    this.etcdCa = ca("etcd-ca", "etcd-ca");

    const sa = new tls.PrivateKey(`${name}-sa`, { algorithm: "RSA", rsaBits: 2048 }, parent);
    this.serviceAccountKeyPem = pulumi.secret(sa.privateKeyPem);
    this.serviceAccountPublicPem = sa.publicKeyPem;

    const certificateKey = new random.RandomBytes(
      `${name}-certificate-key`,
      { length: 32 },
      parent,
    );
    this.certificateKey = pulumi.secret(certificateKey.hex);

    this.caCertHash = this.clusterCa.certPem.apply(caCertHashFromCertPem);

    this.registerOutputs({
      sshPublicKey: this.sshPublicKey,
      caCertHash: this.caCertHash,
    });
  }

  /** The files `init.sh` installs under /etc/kubernetes, as secret-bundle entries. */
  public initBundle(): pulumi.Output<Record<string, string>> {
    return pulumi
      .all([
        this.clusterCa.certPem,
        this.clusterCa.keyPem,
        this.frontProxyCa.certPem,
        this.frontProxyCa.keyPem,
        this.etcdCa.certPem,
        this.etcdCa.keyPem,
        this.serviceAccountKeyPem,
        this.serviceAccountPublicPem,
        this.certificateKey,
      ])
      .apply(
        ([caCrt, caKey, fpCrt, fpKey, etcdCrt, etcdKey, saKey, saPub, certKey]): Record<
          string,
          string
        > => ({
          "pki/ca.crt": caCrt,
          "pki/ca.key": caKey,
          "pki/front-proxy-ca.crt": fpCrt,
          "pki/front-proxy-ca.key": fpKey,
          "pki/etcd/ca.crt": etcdCrt,
          "pki/etcd/ca.key": etcdKey,
          "pki/sa.key": saKey,
          "pki/sa.pub": saPub,
          "certificate-key": certKey,
        }),
      );
  }
}

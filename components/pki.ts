/**
 * Pki: every key the cluster needs, made by the program so they live (encrypted) in Pulumi state:
 * the SSH key of the nodes, the three kubeadm CAs (cluster, front-proxy, etcd) and the
 * service-account signing key pair.
 *
 * Holding the CAs is what lets the program issue every client credential itself
 * (credentials.ts) and hand a joining control plane the shared files kubeadm would otherwise
 * park in the kubeadm-certs Secret: no node is needed to add a node, whichever it replaces.
 */
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
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

    this.registerOutputs({ sshPublicKey: this.sshPublicKey });
  }

  /**
   * The files every control plane shares, as secret-bundle entries under `pki/`: what init
   * installs, and what a control-plane join needs on disk before kubeadm runs (its manual
   * certificate distribution: https://kubernetes.io/docs/setup/production-environment/tools/kubeadm/high-availability/#manual-certs).
   */
  public controlPlaneFiles(): pulumi.Output<Record<string, string>> {
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
      ])
      .apply(
        ([caCrt, caKey, fpCrt, fpKey, etcdCrt, etcdKey, saKey, saPub]): Record<string, string> => ({
          "pki/ca.crt": caCrt,
          "pki/ca.key": caKey,
          "pki/front-proxy-ca.crt": fpCrt,
          "pki/front-proxy-ca.key": fpKey,
          "pki/etcd/ca.crt": etcdCrt,
          "pki/etcd/ca.key": etcdKey,
          "pki/sa.key": saKey,
          "pki/sa.pub": saPub,
        }),
      );
  }
}

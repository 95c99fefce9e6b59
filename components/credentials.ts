/**
 * Credentials: client certificates the program issues from the cluster CA it holds (pki.ts), so
 * no join and no cluster operation has to ask a node for anything (docs/kubeadm-credentials.md).
 * - Each node's join credential: CN `system:node:<nodeName>`, O `system:nodes`. kubeadm uses the
 *   client certificate in the discovery file for the whole join, so no bootstrap token exists;
 *   the kubelet then asks for its own certificate and kubeadm's
 *   `kubeadm:node-autoapprove-certificate-rotation` binding approves a node's request for itself.
 * - The admin: O `kubeadm:cluster-admins`, which kubeadm binds to cluster-admin (1.29+,
 *   KEP-4214). Deleting that binding revokes it; `system:masters` could never be revoked.
 * - Operations: the program's own identity on the bastion (CNI, readiness, node removal), in the
 *   same group but with its own name, so the API's audit log tells the program from people.
 *
 * Keys are ECDSA P-256, as the kubelet's own. Allowed uses map to x509 key usages as the TLS
 * provider does (hashicorp/terraform-provider-tls internal/provider/common_cert.go, keyUsages and
 * extendedKeyUsages): client_auth alone among the extended uses, so none of them can serve TLS.
 */
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { AdminCredentialPlan } from "../config/credentialRenewal";
import type { CaPair } from "./pki";

export const CLIENT_USES = ["client_auth", "digital_signature", "key_encipherment"];
/** The group kubeadm binds to cluster-admin (kubeadm:cluster-admins ClusterRoleBinding). */
export const ADMINS_GROUP = "kubeadm:cluster-admins";
export const ADMIN_USER = "kubernetes-admin";
export const OPERATIONS_USER = "kubeadm-aws:operations";
/**
 * A join credential lives as long as the kubelet's own client certificate would (the CSR
 * signer's default duration, kube-controller-manager --cluster-signing-duration 8760h). It is
 * only used by the join; a replaced instance gets a new one (its id is in the subject).
 */
export const JOIN_VALIDITY_HOURS = 8760;

export interface ClientCertificate {
  readonly certPem: pulumi.Output<string>;
  /** Secret. */
  readonly keyPem: pulumi.Output<string>;
}

export interface ClientSubject {
  readonly commonName: pulumi.Input<string>;
  readonly organization: string;
  /** Changing it re-issues the certificate (a new request, hence a new certificate). */
  readonly serialNumber?: pulumi.Input<string>;
}

/** A key, a request for `subject` and the CA's signature on it: three tls resources. */
export function issueClientCertificate(
  name: string,
  ca: CaPair,
  subject: ClientSubject,
  validityHours: number,
  parent: pulumi.Resource,
  /** Re-issued by the first `up` this many hours before its end (the tls provider's window). */
  earlyRenewalHours?: number,
): ClientCertificate {
  const opts = { parent };
  const key = new tls.PrivateKey(name, { algorithm: "ECDSA", ecdsaCurve: "P256" }, opts);
  const request = new tls.CertRequest(
    name,
    {
      privateKeyPem: key.privateKeyPem,
      subject: {
        commonName: subject.commonName,
        organization: subject.organization,
        ...(subject.serialNumber !== undefined ? { serialNumber: subject.serialNumber } : {}),
      },
    },
    opts,
  );
  const cert = new tls.LocallySignedCert(
    name,
    {
      certRequestPem: request.certRequestPem,
      caCertPem: ca.certPem,
      caPrivateKeyPem: ca.keyPem,
      validityPeriodHours: validityHours,
      allowedUses: CLIENT_USES,
      ...(earlyRenewalHours !== undefined ? { earlyRenewalHours } : {}),
    },
    opts,
  );
  return { certPem: cert.certPem, keyPem: pulumi.secret(key.privateKeyPem) };
}

/** The admin's and the program's own certificates, re-issued together by `plan`'s generation. */
export function issueClusterAdmins(
  clusterName: string,
  ca: CaPair,
  plan: AdminCredentialPlan,
  parent: pulumi.Resource,
): { admin: ClientCertificate; operations: ClientCertificate } {
  const hours = plan.validityDays * 24;
  const serialNumber = String(plan.generation);
  return {
    admin: issueClientCertificate(
      `${clusterName}-admin`,
      ca,
      { commonName: ADMIN_USER, organization: ADMINS_GROUP, serialNumber },
      hours,
      parent,
    ),
    operations: issueClientCertificate(
      `${clusterName}-operations`,
      ca,
      { commonName: OPERATIONS_USER, organization: ADMINS_GROUP, serialNumber },
      hours,
      parent,
    ),
  };
}

/** A node's join credential: its Kubernetes name, and its instance (so each instance has its own). */
export function issueJoinCredential(
  nodeName: string,
  node: { readonly privateDns: pulumi.Output<string>; readonly instanceId: pulumi.Output<string> },
  ca: CaPair,
  parent: pulumi.Resource,
): ClientCertificate {
  return issueClientCertificate(
    `${nodeName}-join-credential`,
    ca,
    {
      commonName: pulumi.interpolate`system:node:${node.privateDns}`,
      organization: "system:nodes",
      serialNumber: node.instanceId,
    },
    JOIN_VALIDITY_HOURS,
    parent,
    // Inside the last 30 days an `up` issues a fresh one (terraform-provider-tls: the resource is
    // replaced once ready_for_renewal), so a node that joins late never gets an expired one.
    30 * 24,
  );
}

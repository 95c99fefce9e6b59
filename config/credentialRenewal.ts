/**
 * When `pulumi up` issues a fresh admin certificate. The TLS provider cannot renew by itself in
 * Pulumi: `earlyRenewalHours` only marks a certificate in a refresh, which `up` never acts on
 * (pulumi/pulumi-tls#39). So the program keeps the issue date in its deployment record and bumps
 * a generation number, written into the certificate's subject, once the renewal window opens:
 * the changed subject replaces the request and with it the certificate.
 *
 * Pure data; the record field is optional so records of earlier versions still parse.
 */
import type { AdminKubeconfigConfig } from "./clusterConfig";

export interface AdminCredentialRecord {
  /** Goes up by one with every re-issue; the certificate's subject serialNumber. */
  readonly generation: number;
  /** When this generation was issued (ISO 8601, UTC). */
  readonly issuedAt: string;
  readonly validityDays: number;
}

export interface AdminCredentialPlan extends AdminCredentialRecord {
  /** Why this run issues a certificate, or undefined when it keeps the one it has. */
  readonly reason?: "first issue" | "validity changed" | "renewal window" | "expired";
  /** When the certificate this plan describes stops working. */
  readonly notAfter: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export function planAdminCredential(
  previous: AdminCredentialRecord | undefined,
  settings: AdminKubeconfigConfig,
  now: Date,
): AdminCredentialPlan {
  const fresh = (generation: number, reason: AdminCredentialPlan["reason"]) => ({
    generation,
    issuedAt: now.toISOString(),
    validityDays: settings.validityDays,
    notAfter: new Date(now.getTime() + settings.validityDays * DAY_MS).toISOString(),
    reason,
  });
  if (!previous) return fresh(1, "first issue");
  // The provider re-issues on a validity change by itself; the new generation records it.
  if (previous.validityDays !== settings.validityDays) {
    return fresh(previous.generation + 1, "validity changed");
  }
  const notAfter = Date.parse(previous.issuedAt) + previous.validityDays * DAY_MS;
  if (now.getTime() >= notAfter) return fresh(previous.generation + 1, "expired");
  if (now.getTime() >= notAfter - settings.renewBeforeDays * DAY_MS) {
    return fresh(previous.generation + 1, "renewal window");
  }
  return { ...previous, notAfter: new Date(notAfter).toISOString() };
}

/**
 * `pulumi up` (and preview) warns, with the date, when the cluster's CAs or the program's own
 * client certificates expire within 90 days (config/certificateExpiry.ts). The PEMs are read
 * with Node's X509Certificate; a PEM that does not parse (the unit tests' mock certificates) is
 * skipped rather than guessed at.
 */
import { X509Certificate } from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { expiryWarning } from "../config/certificateExpiry";

export interface WatchedCertificate {
  readonly what: string;
  readonly certPem: pulumi.Output<string>;
  readonly whatToDo: string;
}

export function warnAboutExpiry(
  certificates: readonly WatchedCertificate[],
  now: () => Date = () => new Date(),
): void {
  for (const c of certificates) {
    c.certPem.apply((pem) => {
      let notAfter: Date;
      try {
        notAfter = new Date(new X509Certificate(pem).validTo);
      } catch {
        return;
      }
      const warning = expiryWarning(c.what, notAfter, now(), c.whatToDo);
      if (warning) void pulumi.log.warn(warning);
    });
  }
}

/**
 * When a certificate's end is near enough to say so on `pulumi up`: within WARN_WITHIN_DAYS of
 * its notAfter, or past it. The cluster's CAs are never renewed by the program (a new CA would
 * invalidate every certificate the cluster holds), so the warning is what keeps their expiry
 * from going unnoticed; the program's client certificates renew themselves in their windows.
 */
export const WARN_WITHIN_DAYS = 90;

const DAY_MS = 86_400_000;

/** The warning for one certificate, or undefined when it has more than WARN_WITHIN_DAYS left. */
export function expiryWarning(
  what: string,
  notAfter: Date,
  now: Date,
  whatToDo: string,
): string | undefined {
  const days = Math.floor((notAfter.getTime() - now.getTime()) / DAY_MS);
  const date = notAfter.toISOString().slice(0, 10);
  if (days < 0) return `${what} expired on ${date}: ${whatToDo}`;
  if (days > WARN_WITHIN_DAYS) return undefined;
  return `${what} expires on ${date}, in ${days} days: ${whatToDo}`;
}

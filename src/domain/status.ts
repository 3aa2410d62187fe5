/**
 * Certificate status, derived at read time from validity, revocation and deletion against an
 * injected clock. Never stored: a stored flag goes stale the second a certificate expires.
 */
import type { Certificate } from './model.ts';

export type CertificateStatus = 'VALID' | 'NOT_YET_VALID' | 'EXPIRED' | 'REVOKED' | 'DELETED';
export type ValidityStatus = Extract<CertificateStatus, 'VALID' | 'NOT_YET_VALID' | 'EXPIRED'>;

/** Where `now` falls in a validity window; both ends are inside (RFC 5280 §4.1.2.5). */
export function validityStatus(facts: { notBefore: Date; notAfter: Date }, now: Date): ValidityStatus {
  const t = now.getTime();
  if (t > facts.notAfter.getTime()) return 'EXPIRED';
  if (t < facts.notBefore.getTime()) return 'NOT_YET_VALID';
  return 'VALID';
}

/** Deletion outranks revocation, which outranks the validity window. */
export function certificateStatus(
  certificate: Pick<Certificate, 'deletedAt' | 'revokedAt'> & { facts: { notBefore: Date; notAfter: Date } },
  now: Date,
): CertificateStatus {
  if (certificate.deletedAt) return 'DELETED';
  if (certificate.revokedAt) return 'REVOKED';
  return validityStatus(certificate.facts, now);
}

/** Whole days until notAfter (negative once expired), rounded down. */
export function daysToExpiry(notAfter: Date, now: Date): number {
  return Math.floor((notAfter.getTime() - now.getTime()) / 86_400_000);
}

/**
 * Whether a DNS name is one a certificate covers (RFC 6125 §6.4): the rule NHN uploads apply
 * (the certificate name must be covered, code 52004), and what issuance and search need too.
 */
import { asciiLower } from '../text.ts';
import type { CertificateFacts } from './types.ts';

/**
 * The certificate names that cover `name` (ASCII lower-cased): the name itself and, for a name
 * of two labels or more that is not a wildcard, the wildcard one label up: `www.example.com` is
 * covered by `www.example.com` and `*.example.com`, never by `*.com`'s parent rules nor by
 * `*.www.example.com` (exactly one label, RFC 6125 §6.4.3). A wildcard is covered only by itself.
 * The store's "covers host" search looks these up as they are (repositories/certificate-search.ts).
 */
export function namesCovering(name: string): string[] {
  const wanted = asciiLower(name);
  if (wanted.startsWith('*.')) return [wanted];
  const dot = wanted.indexOf('.');
  return dot > 0 && dot < wanted.length - 1 ? [wanted, `*${wanted.slice(dot)}`] : [wanted];
}

/**
 * True when `name` equals, ASCII case-insensitively, the subject CN or a SAN dNSName, or is
 * matched by a wildcard one: `*.example.com` covers `www.example.com`, exactly one label, not
 * `example.com` nor `a.b.example.com` (RFC 6125 §6.4.3). A wildcard `name` is covered only by the
 * same wildcard.
 */
export function nameCoveredByCertificate(name: string, facts: Pick<CertificateFacts, 'commonName' | 'sans'>): boolean {
  const covering = namesCovering(name);
  const patterns = [...facts.sans.dns, ...(facts.commonName ? [facts.commonName] : [])].map(asciiLower);
  return patterns.some((pattern) => covering.includes(pattern));
}

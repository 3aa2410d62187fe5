/**
 * Whether a DNS name is one a certificate covers (RFC 6125 §6.4): the rule NHN uploads apply
 * (the certificate name must be covered, code 52004), and what issuance and search need too.
 */
import { asciiLower } from '../text.ts';
import type { CertificateFacts } from './types.ts';

/**
 * True when `name` equals, ASCII case-insensitively, the subject CN or a SAN dNSName, or is
 * matched by a wildcard one: `*.example.com` covers `www.example.com`, exactly one label, not
 * `example.com` nor `a.b.example.com` (RFC 6125 §6.4.3). A wildcard `name` is covered only by the
 * same wildcard.
 */
export function nameCoveredByCertificate(name: string, facts: Pick<CertificateFacts, 'commonName' | 'sans'>): boolean {
  const wanted = asciiLower(name);
  const patterns = [...facts.sans.dns, ...(facts.commonName ? [facts.commonName] : [])].map(asciiLower);
  return patterns.some((pattern) => {
    if (pattern === wanted) return true;
    if (!pattern.startsWith('*.') || wanted.startsWith('*.')) return false;
    const dot = wanted.indexOf('.');
    return dot > 0 && wanted.slice(dot) === pattern.slice(1);
  });
}

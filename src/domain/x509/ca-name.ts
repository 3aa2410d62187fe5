/**
 * The CA name every face prints for a certificate: NCP `caInfo` (API 1.0), NHN `authority`, the
 * console's and the CLI's `caName`. One rule, here, so a certificate never has two CA names
 * (docs/compat/x509.md, "The CA name").
 *
 * The rule: the issuer's CN, else its O, else the issuer DN (`""` for an issuer with no name). The
 * CN names the issuing CA itself (`ZeroSSL RSA Domain Secure Site CA`, `R11`), where the O names
 * the company behind many CAs (`ZeroSSL`, `Let's Encrypt`), and NCP's documented examples print the
 * CN. Computed from stored facts at read time, so certificates imported before this rule print
 * the same as new ones.
 */
import type { CertificateFacts } from './types.ts';

export function caNameOf(facts: Pick<CertificateFacts, 'issuerCommonName' | 'caName'>): string {
  return facts.issuerCommonName ?? facts.caName;
}

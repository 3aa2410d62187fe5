/**
 * The import policy of the NCP face (docs/compat/ncp.md, "Import policy"):
 * - a private key is required (NCP documents `privateKey` as Required on both APIs);
 * - key types RSA and EC only: NCP documents RSA and EC key types (`RSA2048`, `RSA4096`,
 *   `EC256`, `EC521`) and prints Java `Sun RSA`/`Sun EC` key info; Ed25519 is refused;
 * - the name rule `^[A-Za-z][A-Za-z0-9-]{2,19}$` (code 2000). A replacement keeps the stored name,
 *   so it is not re-checked there.
 */
import type { ImportOptions } from '../../core/certificates.ts';
import type { CertificateOrigin } from '../../domain/model.ts';
import { NCP_TEXT } from './errors.ts';
import { NAME_RULE } from './schemas.ts';

const nameRule = { test: (name: string): boolean => NAME_RULE.test(name), description: NCP_TEXT.nameRule };

export function importOptions(origin: CertificateOrigin): ImportOptions {
  return { origin, policy: { requireKey: true, allowEd25519: false, nameRule } };
}

export function replaceOptions(origin: CertificateOrigin): ImportOptions {
  return { origin, policy: { requireKey: true, allowEd25519: false, nameRule: null } };
}

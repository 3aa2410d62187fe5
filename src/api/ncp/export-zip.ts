/**
 * DownloadCertificate's ZIP (the NCP documents promise "certificate zip file (*.zip)" and leave
 * the layout open; docs/compat/ncp.md records certkeeper's):
 *
 *   certificate.pem   the leaf
 *   chain.pem         the issuers, the leaf's issuer first (absent when there are none)
 *   private_key.pem   the key, unencrypted PKCS#8 (absent when the certificate has none)
 *
 * Entries are stored in that order with the certificate's last change as their time, so the same
 * certificate always gives the same bytes.
 */
import { zipSync } from 'fflate';
import type { CertificateBundle } from '../../core/certificates.ts';

export const ZIP_ENTRIES = {
  certificate: 'certificate.pem',
  chain: 'chain.pem',
  privateKey: 'private_key.pem',
} as const;

export function certificateZip(bundle: CertificateBundle): Buffer {
  const files: Record<string, Uint8Array> = { [ZIP_ENTRIES.certificate]: Buffer.from(bundle.certificatePem, 'utf8') };
  if (bundle.chainPems.length > 0) files[ZIP_ENTRIES.chain] = Buffer.from(bundle.chainPems.join(''), 'utf8');
  if (bundle.privateKeyPem !== null) files[ZIP_ENTRIES.privateKey] = Buffer.from(bundle.privateKeyPem, 'utf8');
  return Buffer.from(zipSync(files, { mtime: bundle.certificate.updatedAt }));
}

/** `<name>.zip`, reduced to characters that are safe inside a quoted header parameter. */
export function zipFileName(certificateName: string): string {
  return `${certificateName.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100) || 'certificate'}.zip`;
}

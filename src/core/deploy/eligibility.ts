/**
 * Which certificates a slot may publish: a live certificate of the actor's tenant, inside its
 * validity window, not revoked, with its private key (a target needs the key). Another tenant's
 * certificate answers exactly like a number never used.
 */
import { AppError } from '../../domain/errors.ts';
import type { ItemRegion } from '../../domain/edge-slot.ts';
import type { Certificate } from '../../domain/model.ts';
import { certificateStatus } from '../../domain/status.ts';
import type { Store } from '../ports.ts';

export async function deployableCertificate(
  store: Pick<Store, 'certificates'>,
  tenantId: number,
  certificateNo: number,
  now: Date,
  field: string,
): Promise<Certificate> {
  const certificate = await store.certificates.get(tenantId, certificateNo);
  if (!certificate || certificate.deletedAt)
    throw new AppError('not_found', `No certificate number ${certificateNo}.`, { field });
  const named = `Certificate ${certificateNo} ('${certificate.name}')`;
  switch (certificateStatus(certificate, now)) {
    case 'REVOKED':
      throw new AppError('invalid_argument', `${named} is revoked; it cannot be provisioned.`, { field });
    case 'EXPIRED':
      throw new AppError(
        'certificate_expired',
        `${named} expired at ${certificate.facts.notAfter.toISOString()}; it cannot be provisioned.`,
        { field },
      );
    case 'NOT_YET_VALID':
      throw new AppError(
        'certificate_not_yet_valid',
        `${named} is not valid before ${certificate.facts.notBefore.toISOString()}; it cannot be provisioned yet.`,
        { field },
      );
    case 'DELETED':
      throw new AppError('not_found', `No certificate number ${certificateNo}.`, { field });
    case 'VALID':
      break;
  }
  if (!certificate.hasPrivateKey)
    throw new AppError('key_missing', `${named} has no private key; a slot publishes the certificate with its key.`, {
      field,
    });
  return certificate;
}

/**
 * THE rule of which certificate fills which item of a slot: a Global Edge Dedicated certificate
 * (`NCP_GLOBAL_EDGE_DEDICATED`, issued for edge slots only) is a slot's GLOBAL item and nothing
 * else; the Korea/Japan item is any other deployable certificate. Both must be deployable
 * (deployableCertificate). The refusal is `invalid_argument` naming the certificate's role.
 */
export async function certificateForItem(
  store: Pick<Store, 'certificates'>,
  tenantId: number,
  certificateNo: number,
  region: ItemRegion,
  now: Date,
  field: string,
): Promise<Certificate> {
  const certificate = await deployableCertificate(store, tenantId, certificateNo, now, field);
  const ged = isGlobalEdgeDedicated(certificate);
  if (region === 'GLOBAL' && !ged)
    throw new AppError(
      'invalid_argument',
      `Certificate ${certificateNo} ('${certificate.name}') is not a Global Edge Dedicated certificate; only those serve the global region (request one with requestGedCertificateIssuance).`,
      { field },
    );
  if (region === 'KR_JP' && ged)
    throw new AppError(
      'invalid_argument',
      `Certificate ${certificateNo} ('${certificate.name}') is a Global Edge Dedicated certificate; it serves only the global region of a KR_JP_GLOBAL slot, not Korea/Japan.`,
      { field },
    );
  return certificate;
}

export const isGlobalEdgeDedicated = (certificate: Pick<Certificate, 'type'>): boolean =>
  certificate.type === 'NCP_GLOBAL_EDGE_DEDICATED';

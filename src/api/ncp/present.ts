/**
 * Domain → NCP wire: certificate items of API 1.0 and 2.0, field by field, in the order the NCP
 * documents print them, and the success envelopes. docs/compat/x509.md maps each fact, and
 * docs/compat/ncp.md records the choices (status names, omitted fields, issueType).
 *
 * Fields that are null are left out, as NCP's Jackson output does (the seed `withExternal`
 * example has no `revokeDate`, no `usedInstanceNoList` and no `issueDate`).
 */
import { X509Certificate } from 'node:crypto';
import type { CertificateBundle } from '../../core/certificates.ts';
import type { CertificateSummary } from '../../domain/model.ts';
import { certificateStatus } from '../../domain/status.ts';
import { isSelfSigned } from '../../domain/x509/chain.ts';
import { formatV1Date, formatV2Date, type ApiZone } from './dates.ts';
import { caNameOf } from '../../domain/x509/ca-name.ts';

export const SUCCESS = { returnCode: '0', returnMessage: 'Success' } as const;

export interface PresentContext {
  memberNo: string;
  now: Date;
  zone: ApiZone;
}

export interface NcpStatus {
  statusCode: string;
  statusName: string;
}

/**
 * Status from the derived status. Names are the English descriptions of NCP's enum table, which
 * is what both documented examples print (`Normal`, `Revoked`). A revocation the CA has not
 * confirmed yet is -7 REQUEST_REVOKE; a Global Edge dedicated certificate in its validity window
 * is 3 (its key serves edge slots only).
 */
export function ncpStatus(certificate: CertificateSummary, now: Date): NcpStatus {
  switch (certificateStatus(certificate, now)) {
    case 'DELETED':
      return { statusCode: '-6', statusName: 'Deleted' };
    case 'REVOKED':
      return { statusCode: '-5', statusName: 'Revoked' };
    case 'EXPIRED':
      return { statusCode: '-2', statusName: 'Period expired' };
    case 'VALID':
    case 'NOT_YET_VALID':
      if (certificate.revocationRequestedAt) return { statusCode: '-7', statusName: 'Revoking' };
      if (!certificate.hasPrivateKey) return { statusCode: '2', statusName: 'Normal (private key not registered)' };
      return certificate.type === 'NCP_GLOBAL_EDGE_DEDICATED'
        ? { statusCode: '3', statusName: 'Normal (Global Edge Dedicated)' }
        : { statusCode: '1', statusName: 'Normal' };
  }
}

/** The representative domain: the CN, else the first DNS name, else empty. */
function domainAddress(certificate: CertificateSummary): string {
  return certificate.facts.commonName ?? certificate.facts.domains[0] ?? '';
}

/** An `sslCertificateList` item of API 1.0 (also the item of API 2.0 `withExternal`, in v2 dates). */
export function presentV1Item(
  certificate: CertificateSummary,
  usedBy: readonly number[],
  ctx: PresentContext,
  format: (date: Date, zone: ApiZone) => string = formatV1Date,
) {
  const { facts } = certificate;
  const main = domainAddress(certificate);
  const date = (d: Date): string => format(d, ctx.zone);
  return {
    certificateNo: certificate.certificateNo,
    certificateType: certificate.type,
    certificateName: certificate.name,
    memberNo: ctx.memberNo,
    dnInfo: facts.subjectDn,
    domainAddress: main,
    subDomainAddress: facts.domains.filter((d) => d !== main).join(','),
    regDate: date(certificate.createdAt),
    validStartDate: date(facts.notBefore),
    validEndDate: date(facts.notAfter),
    ...(certificate.revokedAt ? { revokeDate: date(certificate.revokedAt) } : {}),
    ...ncpStatus(certificate, ctx.now),
    externalYn: certificate.type === 'EXT' ? 'Y' : 'N',
    domainCode: 'PUB',
    caInfo: caNameOf(facts),
    certSerialNumber: facts.serialNumber,
    certPublicKeyInfo: facts.publicKeyInfo,
    certSignAlgorithmName: facts.signatureAlgorithm,
    ...(usedBy.length > 0 ? { usedInstanceNoList: usedBy.join(',') } : {}),
    updateDate: date(certificate.updatedAt),
  };
}

/** An `sslCertificateList` item of API 2.0 lists (seed 001, plus the 2026-09-17 fields). */
export function presentV2Item(certificate: CertificateSummary, ctx: PresentContext) {
  const { facts } = certificate;
  const date = (d: Date): string => formatV2Date(d, ctx.zone);
  return {
    certificateNo: certificate.certificateNo,
    certificateName: certificate.name,
    memberNo: ctx.memberNo,
    commonName: domainAddress(certificate),
    dnsName: facts.domains.join(','),
    ...ncpStatus(certificate, ctx.now),
    certificateType: certificate.type,
    domainCode: 'PUB',
    updateDate: date(certificate.updatedAt),
    issueType: 'ORIGINAL',
    subjectDN: facts.subjectDn,
    registDate: date(certificate.createdAt),
    certPublicKeyInfo: facts.publicKeyInfo,
    issuer: facts.issuerDn,
    serialNumber: facts.serialNumber,
    signatureAlgorithm: facts.signatureAlgorithm,
  };
}

/**
 * GetCertificateChain: the leaf, the intermediates (leaf's issuer first, concatenated) and the
 * root when the stored path ends at one (a path may stop at an intermediate: then `""`).
 */
export function presentChain(bundle: CertificateBundle) {
  const chain = [...bundle.chainPems];
  const last = chain.at(-1);
  const root = last !== undefined && isSelfSigned(new X509Certificate(last)) ? (chain.pop() as string) : '';
  return {
    ...SUCCESS,
    totalRows: 1,
    subjectCommonName: domainAddress(bundle.certificate),
    certificate: bundle.certificatePem,
    subCaCertificate: chain.join(''),
    rootCaCertificate: root,
  };
}

/** ListCertificateTypes: the one type this deployment holds. */
export const CERTIFICATE_TYPES = {
  ...SUCCESS,
  totalCount: 1,
  certificatetype: [{ certificateType: 'EXT', certificateTypeName: 'External certificate' }],
};

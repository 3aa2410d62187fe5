/**
 * Domain → console JSON. Dates are ISO 8601 UTC strings (the browser shows them in the user's
 * time zone); status is derived against the injected clock; nothing secret is ever presented
 * (a certificate says whether it has a key, never the key).
 */
import type { AuditEvent, CertificateSummary, Credential } from '../../domain/model.ts';
import { certificateStatus, daysToExpiry } from '../../domain/status.ts';
import type { CertificateFacts, KeyDescription } from '../../domain/x509/types.ts';
import { caNameOf } from '../../domain/x509/ca-name.ts';

export const keyText = (key: KeyDescription): string =>
  key.algorithm === 'EC'
    ? `EC ${key.curve ?? `${key.bits} bits`}`
    : key.algorithm === 'RSA' || key.algorithm === 'RSA-PSS'
      ? `${key.algorithm} ${key.bits}`
      : key.algorithm;

export function certificateSummary(certificate: CertificateSummary, now: Date) {
  const { facts } = certificate;
  return {
    certificateNo: certificate.certificateNo,
    name: certificate.name,
    type: certificate.type,
    origin: certificate.origin,
    status: certificateStatus(certificate, now),
    commonName: facts.commonName,
    domains: facts.domains,
    caName: caNameOf(facts),
    key: keyText(facts.key),
    notBefore: facts.notBefore.toISOString(),
    notAfter: facts.notAfter.toISOString(),
    daysToExpiry: daysToExpiry(facts.notAfter, now),
    hasPrivateKey: certificate.hasPrivateKey,
    hasChain: certificate.hasChain,
    createdAt: certificate.createdAt.toISOString(),
    updatedAt: certificate.updatedAt.toISOString(),
  };
}

/** Every X.509 fact, as the detail page shows it. */
export function factsOf(facts: CertificateFacts) {
  return {
    subjectDn: facts.subjectDn,
    commonName: facts.commonName,
    sans: facts.sans,
    domains: facts.domains,
    issuerDn: facts.issuerDn,
    issuerCommonName: facts.issuerCommonName,
    caName: caNameOf(facts),
    serialNumber: facts.serialNumber,
    notBefore: facts.notBefore.toISOString(),
    notAfter: facts.notAfter.toISOString(),
    key: { ...facts.key, text: keyText(facts.key) },
    signatureAlgorithm: facts.signatureAlgorithm,
    signatureAlgorithmOid: facts.signatureAlgorithmOid,
    publicKeyInfo: facts.publicKeyInfo,
    fingerprintSha256: facts.fingerprintSha256,
    publicKeyFingerprintSha256: facts.publicKeyFingerprintSha256,
    keyUsage: facts.keyUsage,
    extendedKeyUsage: facts.extendedKeyUsage,
    isCa: facts.isCa,
    selfSigned: facts.selfSigned,
  };
}

export function auditEvent(event: AuditEvent) {
  return {
    id: event.id,
    at: event.at.toISOString(),
    actor: event.actor,
    action: event.action,
    target: event.target,
    result: event.result,
    remoteAddress: event.remoteAddress,
    detail: event.detail,
  };
}

export function credentialOf(credential: Credential, currentAccessKey: string) {
  return {
    accessKey: credential.accessKey,
    role: credential.role,
    description: credential.description,
    createdAt: credential.createdAt.toISOString(),
    revokedAt: credential.revokedAt?.toISOString() ?? null,
    current: credential.accessKey === currentAccessKey,
  };
}

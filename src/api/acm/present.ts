/**
 * Domain → wire for the ACM face: ARNs, CertificateDetail, CertificateSummary. Pure functions.
 *
 * Timestamps are JSON numbers of epoch seconds (AWS JSON 1.1), with milliseconds as the fraction.
 * Imported certificates are `Type: IMPORTED`, `RenewalEligibility: INELIGIBLE`, status ISSUED or
 * EXPIRED (REVOKED when revoked), DomainValidationOptions one per domain without a validation
 * method (ACM fills no method for imported certificates). Certificates from certkeeper's issuance
 * (origin `acme`) are `AMAZON_ISSUED`, with DNS validation records; requested ones not issued yet
 * are presented from their order (`requestedDetailOf`). docs/compat/acm.md records each choice.
 */
import { requestStatusOf, type AcmIssuanceView, type AcmListedCertificate } from '../../core/acm.ts';
import type { CertificateKeyKind, RevocationReason } from '../../core/issuance/issuer.ts';
import type { IssuanceOrder, OrderStep } from '../../core/issuance/ports.ts';
import type { VerificationRecord } from '../../core/issuance/service.ts';
import type { Certificate, CertificateSummary } from '../../domain/model.ts';
import type { CertificateFacts } from '../../domain/x509/types.ts';

export interface ArnParts {
  region: string;
  account: string;
  arnId: string;
}

export const arnOf = (parts: ArnParts): string =>
  `arn:aws:acm:${parts.region}:${parts.account}:certificate/${parts.arnId}`;

/** The ARN of an edge slot using a certificate (InUseBy): certkeeper's own resource type. */
export const slotArn = (region: string, account: string, slotId: number): string =>
  `arn:aws:certkeeper:${region}:${account}:edge-slot/${slotId}`;

const seconds = (at: Date): number => at.getTime() / 1000;

/** ACM's KeyAlgorithm of a certificate's key; null for a key ACM has no name for. */
export function keyAlgorithmOf(facts: CertificateFacts): string | null {
  const { algorithm, bits } = facts.key;
  if (algorithm === 'RSA' && [1024, 2048, 3072, 4096].includes(bits)) return `RSA_${bits}`;
  if (algorithm === 'EC') {
    if (bits === 256) return 'EC_prime256v1';
    if (bits === 384) return 'EC_secp384r1';
    if (bits === 521) return 'EC_secp521r1';
  }
  return null;
}

/** ACM's key algorithm names → the stored (algorithm, bits). */
export const KEY_TYPES: Readonly<Record<string, { algorithm: string; bits: number }>> = {
  RSA_1024: { algorithm: 'RSA', bits: 1024 },
  RSA_2048: { algorithm: 'RSA', bits: 2048 },
  RSA_3072: { algorithm: 'RSA', bits: 3072 },
  RSA_4096: { algorithm: 'RSA', bits: 4096 },
  EC_prime256v1: { algorithm: 'EC', bits: 256 },
  EC_secp384r1: { algorithm: 'EC', bits: 384 },
  EC_secp521r1: { algorithm: 'EC', bits: 521 },
};

/** RFC 5280 key usage names → ACM's. */
export const KEY_USAGES: Readonly<Record<string, string>> = {
  digitalSignature: 'DIGITAL_SIGNATURE',
  nonRepudiation: 'NON_REPUDIATION',
  contentCommitment: 'NON_REPUDIATION',
  keyEncipherment: 'KEY_ENCIPHERMENT',
  dataEncipherment: 'DATA_ENCIPHERMENT',
  keyAgreement: 'KEY_AGREEMENT',
  keyCertSign: 'CERTIFICATE_SIGNING',
  cRLSign: 'CRL_SIGNING',
  encipherOnly: 'ENCIPHER_ONLY',
  decipherOnly: 'DECIPHER_ONLY',
};

/** Extended key usage names (or OIDs) → ACM's name and OID. */
const EKUS: Readonly<Record<string, { name: string; oid: string }>> = {
  serverAuth: { name: 'TLS_WEB_SERVER_AUTHENTICATION', oid: '1.3.6.1.5.5.7.3.1' },
  clientAuth: { name: 'TLS_WEB_CLIENT_AUTHENTICATION', oid: '1.3.6.1.5.5.7.3.2' },
  codeSigning: { name: 'CODE_SIGNING', oid: '1.3.6.1.5.5.7.3.3' },
  emailProtection: { name: 'EMAIL_PROTECTION', oid: '1.3.6.1.5.5.7.3.4' },
  ipsecEndSystem: { name: 'IPSEC_END_SYSTEM', oid: '1.3.6.1.5.5.7.3.5' },
  ipsecTunnel: { name: 'IPSEC_TUNNEL', oid: '1.3.6.1.5.5.7.3.6' },
  ipsecUser: { name: 'IPSEC_USER', oid: '1.3.6.1.5.5.7.3.7' },
  timeStamping: { name: 'TIME_STAMPING', oid: '1.3.6.1.5.5.7.3.8' },
  OCSPSigning: { name: 'OCSP_SIGNING', oid: '1.3.6.1.5.5.7.3.9' },
  anyExtendedKeyUsage: { name: 'ANY', oid: '2.5.29.37.0' },
};
const EKU_BY_OID = new Map(Object.values(EKUS).map((e) => [e.oid, e]));

export function extendedKeyUsagesOf(facts: CertificateFacts): Array<{ name: string; oid: string }> {
  return facts.extendedKeyUsage.map((e) => EKUS[e] ?? EKU_BY_OID.get(e) ?? { name: 'CUSTOM', oid: e });
}

export const keyUsagesOf = (facts: CertificateFacts): string[] => [
  ...new Set(facts.keyUsage.map((k) => KEY_USAGES[k] ?? 'CUSTOM')),
];

export function statusOf(certificate: Pick<CertificateSummary, 'revokedAt' | 'facts'>, now: Date): string {
  if (certificate.revokedAt) return 'REVOKED';
  return now.getTime() > certificate.facts.notAfter.getTime() ? 'EXPIRED' : 'ISSUED';
}

/** ACM's DomainName: the subject CN, else the first domain. */
const domainNameOf = (facts: CertificateFacts): string | undefined => facts.commonName ?? facts.domains[0];

/** ACM's SubjectAlternativeNames: every DNS name, the CN first when it is one of them. */
function subjectAlternativeNames(facts: CertificateFacts): string[] {
  const names = [...facts.sans.dns, ...facts.sans.ip];
  return names.length > 0 ? names : facts.domains;
}

/** At most this many SANs in a summary, as ACM (HasAdditionalSubjectAlternativeNames says there are more). */
const SUMMARY_SANS = 100;

export function summaryOf(
  summary: CertificateSummary,
  arn: string,
  options: { inUse: boolean; now: Date },
): Record<string, unknown> {
  const { facts } = summary;
  const sans = subjectAlternativeNames(facts);
  const keyAlgorithm = keyAlgorithmOf(facts);
  return {
    CertificateArn: arn,
    ...(domainNameOf(facts) !== undefined ? { DomainName: domainNameOf(facts) } : {}),
    SubjectAlternativeNameSummaries: sans.slice(0, SUMMARY_SANS),
    HasAdditionalSubjectAlternativeNames: sans.length > SUMMARY_SANS,
    Status: statusOf(summary, options.now),
    Type: typeOf(summary),
    ...(keyAlgorithm !== null ? { KeyAlgorithm: keyAlgorithm } : {}),
    KeyUsages: keyUsagesOf(facts),
    ExtendedKeyUsages: extendedKeyUsagesOf(facts).map((e) => e.name),
    InUse: options.inUse,
    RenewalEligibility: issuedHere(summary) ? 'ELIGIBLE' : 'INELIGIBLE',
    NotBefore: seconds(facts.notBefore),
    NotAfter: seconds(facts.notAfter),
    CreatedAt: seconds(summary.createdAt),
    ...(issuedHere(summary) ? { IssuedAt: seconds(summary.updatedAt) } : { ImportedAt: seconds(summary.updatedAt) }),
    ...(summary.revokedAt ? { RevokedAt: seconds(summary.revokedAt) } : {}),
  };
}

/** Certificates issued through certkeeper's ACME issuance are ACM's AMAZON_ISSUED. */
const issuedHere = (certificate: Pick<CertificateSummary, 'origin'>): boolean => certificate.origin === 'acme';
const typeOf = (certificate: Pick<CertificateSummary, 'origin'>): string =>
  issuedHere(certificate) ? 'AMAZON_ISSUED' : 'IMPORTED';

/** ACM's KeyAlgorithm of an issuance key kind. */
export const KEY_ALGORITHM_OF_KIND: Readonly<Record<CertificateKeyKind, string>> = {
  'rsa-2048': 'RSA_2048',
  'ec-p256': 'EC_prime256v1',
  'ec-p384': 'EC_secp384r1',
};

/** ACM prints DNS names of records fully qualified, with the final dot. */
const fqdn = (name: string): string => (name.endsWith('.') ? name : `${name}.`);

/**
 * One DomainValidation per name: DNS validation by the `_acme-challenge` CNAME of its base domain
 * (a wildcard and its apex share one). `status` is the name's ValidationStatus.
 */
function domainValidation(
  name: string,
  records: readonly VerificationRecord[],
  status: (record: VerificationRecord | undefined) => string,
): Record<string, unknown> {
  const base = name.startsWith('*.') ? name.slice(2) : name;
  const record = records.find((r) => r.domain === base);
  return {
    DomainName: name,
    ValidationDomain: name,
    ValidationStatus: status(record),
    ...(record
      ? { ResourceRecord: { Name: fqdn(record.recordName), Type: record.recordType, Value: fqdn(record.recordValue) } }
      : {}),
    ValidationMethod: 'DNS',
  };
}

/** RFC 5280 CRLReason codes → the model's RevocationReason (its spelling, `SUPERCEDED` included). */
const REVOCATION_REASON_NAMES: Readonly<Record<RevocationReason, string>> = {
  0: 'UNSPECIFIED',
  1: 'KEY_COMPROMISE',
  2: 'CA_COMPROMISE',
  3: 'AFFILIATION_CHANGED',
  4: 'SUPERCEDED',
  5: 'CESSATION_OF_OPERATION',
  6: 'CERTIFICATE_HOLD',
  8: 'REMOVE_FROM_CRL',
  9: 'PRIVILEGE_WITHDRAWN',
  10: 'A_A_COMPROMISE',
};

/** What an order has come to: its step, or for `cleanup` the outcome it leads to. */
const endedOf = (order: IssuanceOrder): OrderStep =>
  order.step === 'cleanup' ? (order.outcome ?? 'cleanup') : order.step;

/**
 * RFC 8555 problem types → the model's FailureReason: a CAA refusal, a name the CA will not issue
 * for (policy), a name that is not a public DNS name it supports; anything else OTHER.
 */
function failureReasonOf(order: IssuanceOrder): string {
  const problem = order.problem?.type ?? '';
  if (problem.endsWith(':caa')) return 'CAA_ERROR';
  if (problem.endsWith(':rejectedIdentifier')) return 'DOMAIN_NOT_ALLOWED';
  if (problem.endsWith(':unsupportedIdentifier')) return 'INVALID_PUBLIC_DOMAIN';
  return 'OTHER';
}

/**
 * RenewalSummary of an issued certificate whose newest order renews or reissues it (ACM's
 * managed renewal): PENDING_VALIDATION while a `_acme-challenge` CNAME is not found, else
 * PENDING_AUTO_RENEWAL while it runs; SUCCESS once the new certificate is stored; FAILED with
 * RenewalStatusReason when it ended without one. UpdatedAt: the order's last step. Absent for a
 * certificate never renewed (its newest order is the one that issued it), as ACM omits it.
 */
function renewalSummaryOf(
  order: IssuanceOrder | null,
  records: readonly VerificationRecord[],
): Record<string, unknown> | null {
  if (order === null || (order.kind !== 'renew' && order.kind !== 'reissue')) return null;
  const ended = endedOf(order);
  const failed = ended === 'failed' || ended === 'validation_failed' || ended === 'validation_expired';
  const status =
    ended === 'done'
      ? 'SUCCESS'
      : failed
        ? 'FAILED'
        : order.step === 'awaiting_cname' && order.authorizations.some((a) => a.cname !== undefined && a.cname !== 'ok')
          ? 'PENDING_VALIDATION'
          : 'PENDING_AUTO_RENEWAL';
  return {
    RenewalStatus: status,
    DomainValidationOptions: order.names.map((name) =>
      domainValidation(name, records, () =>
        status === 'SUCCESS' ? 'SUCCESS' : status === 'FAILED' ? 'FAILED' : 'PENDING_VALIDATION',
      ),
    ),
    ...(failed ? { RenewalStatusReason: failureReasonOf(order) } : {}),
    UpdatedAt: seconds(order.updatedAt),
  };
}

/**
 * A requested certificate not issued (yet): PENDING_VALIDATION while its order runs, then
 * FAILED or VALIDATION_TIMED_OUT. A name's ValidationStatus is SUCCESS only once the certificate
 * exists (so `aws acm wait certificate-validated` returns when it can be used), FAILED when its
 * validation failed or timed out, PENDING_VALIDATION otherwise.
 */
export function requestedDetailOf(view: AcmIssuanceView, arn: string, requestedAt: Date): Record<string, unknown> {
  const { order, records } = view;
  const status = requestStatusOf(endedOf(order));
  const failureReason = failureReasonOf(order);
  return {
    CertificateArn: arn,
    DomainName: order.names[0],
    SubjectAlternativeNames: [...order.names],
    DomainValidationOptions: order.names.map((name) =>
      domainValidation(name, records, (record) =>
        record?.state === 'invalid' || record?.state === 'expired' ? 'FAILED' : 'PENDING_VALIDATION',
      ),
    ),
    // The request's time: ListCertificates prints it, and the certificate keeps it when it lands.
    CreatedAt: seconds(requestedAt),
    Status: status,
    ...(status === 'FAILED' ? { FailureReason: failureReason } : {}),
    KeyAlgorithm: KEY_ALGORITHM_OF_KIND[order.keyKind],
    InUseBy: [],
    Type: 'AMAZON_ISSUED',
    KeyUsages: [],
    ExtendedKeyUsages: [],
    RenewalEligibility: 'INELIGIBLE',
    Options: { CertificateTransparencyLoggingPreference: 'ENABLED' },
  };
}

/**
 * A requested certificate not issued (yet) in ListCertificates: what its request says (names, key
 * algorithm, creation time) and its status; no validity, key usages or use yet.
 */
export function requestedSummaryOf(
  item: Extract<AcmListedCertificate, { kind: 'requested' }>,
  arn: string,
): Record<string, unknown> {
  return {
    CertificateArn: arn,
    DomainName: item.names[0],
    SubjectAlternativeNameSummaries: item.names.slice(0, SUMMARY_SANS),
    HasAdditionalSubjectAlternativeNames: item.names.length > SUMMARY_SANS,
    Status: item.status,
    Type: 'AMAZON_ISSUED',
    KeyAlgorithm: KEY_ALGORITHM_OF_KIND[item.keyKind],
    KeyUsages: [],
    ExtendedKeyUsages: [],
    InUse: false,
    RenewalEligibility: 'INELIGIBLE',
    CreatedAt: seconds(item.createdAt),
  };
}

export function detailOf(
  certificate: Certificate,
  arn: string,
  options: {
    inUseBy: string[];
    now: Date;
    records: readonly VerificationRecord[] | null;
    /** The newest order about it (issued here), for RenewalSummary; null otherwise. */
    order?: IssuanceOrder | null;
    /** The RFC 5280 code it was revoked with, when known (revoked here); else UNSPECIFIED. */
    revocationReason?: RevocationReason | null;
  },
): Record<string, unknown> {
  const { facts } = certificate;
  const renewal = issuedHere(certificate) ? renewalSummaryOf(options.order ?? null, options.records ?? []) : null;
  const keyAlgorithm = keyAlgorithmOf(facts);
  const sans = subjectAlternativeNames(facts);
  const issued = issuedHere(certificate);
  return {
    CertificateArn: arn,
    ...(domainNameOf(facts) !== undefined ? { DomainName: domainNameOf(facts) } : {}),
    SubjectAlternativeNames: sans,
    DomainValidationOptions: issued
      ? facts.domains.map((domain) => domainValidation(domain, options.records ?? [], () => 'SUCCESS'))
      : facts.domains.map((domain) => ({ DomainName: domain })),
    // ACM prints the serial as colon-separated lower-case hex bytes.
    Serial: (facts.serialNumber.match(/../g) ?? []).join(':'),
    Subject: facts.subjectDn,
    Issuer: facts.caName,
    CreatedAt: seconds(certificate.createdAt),
    ...(issued ? { IssuedAt: seconds(certificate.updatedAt) } : { ImportedAt: seconds(certificate.updatedAt) }),
    Status: statusOf(certificate, options.now),
    ...(certificate.revokedAt
      ? {
          RevokedAt: seconds(certificate.revokedAt),
          RevocationReason: REVOCATION_REASON_NAMES[options.revocationReason ?? 0],
        }
      : {}),
    NotBefore: seconds(facts.notBefore),
    NotAfter: seconds(facts.notAfter),
    ...(keyAlgorithm !== null ? { KeyAlgorithm: keyAlgorithm } : {}),
    SignatureAlgorithm: signatureAlgorithmOf(facts),
    InUseBy: options.inUseBy,
    Type: typeOf(certificate),
    KeyUsages: keyUsagesOf(facts).map((name) => ({ Name: name })),
    ExtendedKeyUsages: extendedKeyUsagesOf(facts).map((e) => ({ Name: e.name, OID: e.oid })),
    RenewalEligibility: issued ? 'ELIGIBLE' : 'INELIGIBLE',
    ...(renewal ? { RenewalSummary: renewal } : {}),
    Options: { CertificateTransparencyLoggingPreference: issued ? 'ENABLED' : 'DISABLED' },
  };
}

/** ACM prints `SHA256WITHRSA`, `SHA384WITHECDSA`: the Java name upper-cased. */
const signatureAlgorithmOf = (facts: CertificateFacts): string => facts.signatureAlgorithm.toUpperCase();

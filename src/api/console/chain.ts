/**
 * The chain of a stored certificate as the detail page shows it: one level per certificate, root
 * first, leaf last, each with subject, issuer, validity and its status at the clock's reading.
 * Issuers are parsed here with the domain's own parser (they were parsed and verified at import;
 * this only reads their facts again).
 */
import { X509Certificate } from 'node:crypto';
import type { Certificate } from '../../domain/model.ts';
import { validityStatus, type ValidityStatus } from '../../domain/status.ts';
import { parseCertificateDer } from '../../domain/x509/inspect.ts';
import type { CertificateFacts } from '../../domain/x509/types.ts';
import { keyText } from './present.ts';

export interface ChainLevel {
  role: 'root' | 'intermediate' | 'leaf';
  subjectDn: string;
  commonName: string | null;
  issuerDn: string;
  notBefore: string;
  notAfter: string;
  /** The level's own validity window at the clock's reading (revocation is the leaf's, shown elsewhere). */
  status: ValidityStatus;
  isCa: boolean;
  selfSigned: boolean;
  key: string;
  signatureAlgorithm: string;
  serialNumber: string;
  fingerprintSha256: string;
}

export interface ChainView {
  /** Root (or topmost issuer given) first, leaf last. */
  levels: ChainLevel[];
  /** True when the topmost certificate is self-signed, i.e. the root was uploaded with the chain. */
  complete: boolean;
}

function level(facts: CertificateFacts, role: ChainLevel['role'], now: Date): ChainLevel {
  return {
    role,
    subjectDn: facts.subjectDn,
    commonName: facts.commonName,
    issuerDn: facts.issuerDn,
    notBefore: facts.notBefore.toISOString(),
    notAfter: facts.notAfter.toISOString(),
    status: validityStatus(facts, now),
    isCa: facts.isCa,
    selfSigned: facts.selfSigned,
    key: keyText(facts.key),
    signatureAlgorithm: facts.signatureAlgorithm,
    serialNumber: facts.serialNumber,
    fingerprintSha256: facts.fingerprintSha256,
  };
}

export function chainView(certificate: Certificate, now: Date): ChainView {
  const issuers = certificate.chainPems.map(
    (pem) => parseCertificateDer(Buffer.from(new X509Certificate(pem).raw)).facts,
  );
  const top = issuers.at(-1);
  const levels = [
    ...issuers
      .map((facts, i) => level(facts, i === issuers.length - 1 && facts.selfSigned ? 'root' : 'intermediate', now))
      .reverse(),
    level(certificate.facts, certificate.chainPems.length === 0 && certificate.facts.selfSigned ? 'root' : 'leaf', now),
  ];
  return { levels, complete: top ? top.selfSigned : certificate.facts.selfSigned };
}

/**
 * `POST …/certificates/{certificateName}/files`: NHN's import policy and its own checks.
 *
 * Order: the name's syntax (before the body is read, see routes.ts), then the file (multipart.ts:
 * count, size), then core's upsert by name, whose single ladder pass runs the ladder's steps (PEM,
 * key, validity, chain, key type) and, last, NHN's two checks that need the certificate's facts
 * (`policy.check`): the name must be one the certificate covers (52004) and its CA name must be
 * valid (52006). Core then imports a new name or replaces an existing one in place (same
 * certificateNo). A refusal writes nothing.
 */
import type { ImportOptions } from '../../core/certificates.ts';
import type { ImportInput, NameRule } from '../../domain/x509/ladder.ts';
import { nameCoveredByCertificate } from '../../domain/x509/hostname.ts';
import type { CertificateFacts } from '../../domain/x509/types.ts';
import { documentedError } from './errors.ts';
import type { UploadedFile } from './multipart.ts';
import { sanitizeFileName } from './present.ts';

const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const DNS_NAME = new RegExp(`^(?:\\*\\.)?(?:${LABEL}\\.)*${LABEL}$`);

/** A DNS host name (labels of letters, digits and inner hyphens), optionally `*.` first; ≤ 253 characters. */
export const NHN_NAME_RULE: NameRule = {
  test: (name) => name.length <= 253 && DNS_NAME.test(name),
  description: 'an NHN certificate name is a DNS name the certificate covers, such as example.com or *.example.com.',
};

/** NHN's checks on the candidate's facts (ladder step 11), with NHN's documented codes. */
function nhnChecks(candidate: { name: string; facts: CertificateFacts }): void {
  if (!nameCoveredByCertificate(candidate.name, candidate.facts)) throw documentedError('name_invalid', 400, 52004);
  if (!caNameValid(candidate.facts)) throw documentedError('certificate_invalid', 400, 52006);
}

export const NHN_IMPORT_OPTIONS: ImportOptions = {
  origin: 'nhn',
  // The file may hold the certificate and chain alone (inventory, expiry tracking); a key, when
  // present, must match. Ed25519 is refused: no public CA issues it and TLS clients reject it.
  policy: { requireKey: false, allowEd25519: false, nameRule: NHN_NAME_RULE, check: nhnChecks },
};

/** Refuses a name that cannot be a DNS name, before any body byte is read. */
export function checkNameSyntax(name: string): void {
  if (!NHN_NAME_RULE.test(name)) throw documentedError('name_invalid', 400, 52004);
}

// Letters, marks, numbers, punctuation, symbols and spaces: no control, format, private-use or
// unassigned characters, and no U+FFFD (what an undecodable name decodes to).
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}\p{Zs}]+$/u;

/**
 * A valid CA name (52006): the issuer has an O or a CN (`caName` is not the whole-DN fallback), it
 * is not blank, at most 256 characters, and printable.
 */
export function caNameValid(facts: Pick<CertificateFacts, 'caName' | 'issuerDn'>): boolean {
  const name = facts.caName;
  return (
    name !== facts.issuerDn &&
    name.trim() !== '' &&
    name.length <= 256 &&
    PRINTABLE.test(name) &&
    !name.includes('\uFFFD')
  );
}

/** The upload as core's input: the file's name made safe, `<certificateName>.pem` when it has none. */
export function uploadInput(certificateName: string, file: UploadedFile): ImportInput {
  return {
    name: certificateName,
    file: { name: sanitizeFileName(file.fileName ?? '', `${certificateName}.pem`), bytes: file.bytes },
  };
}

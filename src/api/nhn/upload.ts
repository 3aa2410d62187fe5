/**
 * `POST …/certificates/{certificateName}/files`: NHN's own checks around the core import.
 *
 * Order: the name's syntax (before the body is read, see routes.ts), then the file (multipart.ts:
 * count, size), then the import ladder as a pure pre-pass (PEM, key, validity, chain, key type),
 * then NHN's two checks that need the certificate's facts: the name must be one the certificate
 * covers (52004) and its CA name must be valid (52006). Only then does core write: a new name is
 * imported, an existing one replaced in place (same certificateNo). A refusal writes nothing.
 */
import type { Actor } from '../../core/actor.ts';
import type { ImportOptions } from '../../core/certificates.ts';
import type { Core } from '../../core/core.ts';
import { isAppError, isAppErrorWithCode } from '../../domain/errors.ts';
import type { Certificate } from '../../domain/model.ts';
import { runImportLadder, type ImportInput, type NameRule } from '../../domain/x509/ladder.ts';
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

export const NHN_IMPORT_OPTIONS: ImportOptions = {
  origin: 'nhn',
  // The file may hold the certificate and chain alone (inventory, expiry tracking); a key, when
  // present, must match. Ed25519 is refused: no public CA issues it and TLS clients reject it.
  policy: { requireKey: false, allowEd25519: false, nameRule: NHN_NAME_RULE },
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

export async function storeUploadedFile(
  core: Core,
  actor: Actor,
  certificateName: string,
  file: UploadedFile,
): Promise<Certificate> {
  const input: ImportInput = {
    name: certificateName,
    file: { name: sanitizeFileName(file.fileName ?? '', `${certificateName}.pem`), bytes: file.bytes },
  };
  try {
    // The ladder is pure; core runs it again when it writes. Running it here first lets NHN's
    // checks below see the facts, and keeps the ladder's own refusals ahead of them.
    const candidate = runImportLadder(input, { ...NHN_IMPORT_OPTIONS.policy, now: core.clock.now() });
    if (!nameCoveredByCertificate(certificateName, candidate.facts)) throw documentedError('name_invalid', 400, 52004);
    if (!caNameValid(candidate.facts)) throw documentedError('certificate_invalid', 400, 52006);
  } catch (error) {
    // Core audits the refusals it makes; these happen before core is asked.
    if (isAppError(error)) {
      await core.audit.record(actor, 'certificate.import', `certificate-name:${certificateName}`, 'failure', {
        origin: 'nhn',
        code: error.code,
      });
    }
    throw error;
  }
  const existing = await findByName(core, actor, certificateName);
  if (existing) return core.certificates.replace(actor, existing.certificateNo, input, NHN_IMPORT_OPTIONS);
  try {
    return await core.certificates.import(actor, input, NHN_IMPORT_OPTIONS);
  } catch (error) {
    // Two uploads of a new name at once: the second replaces what the first created.
    if (!isAppErrorWithCode(error, 'already_exists') || error.field !== 'name') throw error;
    const created = await findByName(core, actor, certificateName);
    if (!created) throw error;
    return core.certificates.replace(actor, created.certificateNo, input, NHN_IMPORT_OPTIONS);
  }
}

async function findByName(core: Core, actor: Actor, name: string): Promise<Certificate | null> {
  try {
    return await core.certificates.getByName(actor, name);
  } catch (error) {
    if (isAppErrorWithCode(error, 'not_found')) return null;
    throw error;
  }
}

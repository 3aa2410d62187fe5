/**
 * The console's import: its body, and the console's import policy.
 *
 * Body (JSON), one of:
 *   `{"name", "certificate"?, "privateKey"?, "chain"?}`: each field PEM text (pasted), or a picked
 *     file `{"name"?, "contentBase64"}` holding PEM or DER (domain/x509/der.ts tells them apart
 *     and armours DER);
 *   `{"name", "file": {"name", "contentBase64"}}`: one NHN-style file (leaf, chain and key in one
 *     PEM file, kept byte for byte, hence base64);
 *   `{"name", "pkcs12": {"contentBase64", "passphrase"?}}`: a .p12/.pfx file and its passphrase
 *     (domain/x509/pkcs12.ts opens it; its errors name the field `pkcs12` or `passphrase`).
 * DER and PKCS#12 are converted to the ladder's PEM input here, when core asks for the fields
 * inside its audited import (so a refused file is audited like any refused import); then core runs
 * the ladder, the same as for pasted PEM. Its AppError's `field` says which form field the message belongs next to.
 *
 * Policy: the key is optional (an inventory may hold certificates deployed elsewhere; edge slots
 * need one); Ed25519 is refused (browsers do not accept Ed25519 server certificates); names are
 * 1–63 letters, digits, ".", "_" or "-", starting with a letter or digit (safe in URLs, file names
 * and every face's lists).
 */
import type { ImportOptions, ImportUpload } from '../../core/certificates.ts';
import { AppError, isAppError } from '../../domain/errors.ts';
import { uploadToPem, type UploadField } from '../../domain/x509/der.ts';
import { IMPORT_LIMITS, nameRefusal, type ImportInput, type NameRule } from '../../domain/x509/ladder.ts';
import { PKCS12_MAX_BYTES, pkcs12ToImportFields } from '../../domain/x509/pkcs12.ts';
import { FieldErrors } from './errors.ts';
import { objectBody, optionalString, requiredString, type Json } from './body.ts';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export const CONSOLE_NAME_RULE: NameRule = {
  test: (name) => NAME.test(name),
  description: 'use 1 to 63 letters, digits, ".", "_" or "-", starting with a letter or digit.',
};

export const CONSOLE_IMPORT: ImportOptions = {
  origin: 'console',
  policy: { requireKey: false, allowEd25519: false, nameRule: CONSOLE_NAME_RULE },
};

/** Text fields may be a little over the ladder's byte caps in characters; the ladder measures bytes. */
const SLACK = 1024;

/** The longest passphrase taken; far more than anyone types, small enough to bound the KDF input. */
const PASSPHRASE_MAX = 1024;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The bytes of a picked file `{"name"?, "contentBase64"}` sent in `field`, at most `maxBytes`. */
function pickedFile(value: unknown, field: string, maxBytes: number): Buffer {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new AppError('invalid_argument', 'Pick the file again.', { field });
  const content = (value as Json).contentBase64;
  if (typeof content !== 'string' || !BASE64.test(content))
    throw new AppError('invalid_argument', 'The picked file could not be read. Pick it again.', { field });
  if (content === '')
    throw new AppError('invalid_argument', 'The picked file is empty. Pick the right file.', { field });
  // Measured on the base64, before decoding: the converter measures the bytes again, exactly.
  const actual = Math.floor((content.length * 3) / 4);
  if (actual > maxBytes + SLACK)
    throw new AppError('input_too_large', `The picked file is about ${actual} bytes; the limit is ${maxBytes} bytes.`, {
      field,
      details: { limit: maxBytes, actual },
    });
  return Buffer.from(content, 'base64');
}

/** A certificate, key or chain field: pasted PEM text, or a picked file (PEM or DER). */
function pemField(source: Json, field: UploadField, maxBytes: number): string | undefined {
  const value = source[field];
  if (typeof value === 'object' && value !== null) return uploadToPem(pickedFile(value, field, maxBytes), field);
  return optionalString(source, field, maxBytes + SLACK);
}

/**
 * The import a body asks for. Only the name is read here; the rest (decoding and converting the
 * picked files) is read when core runs `fields`, inside the audited import, so a refused file is
 * audited like any other refused import (core/certificates.ts, `ImportUpload`).
 */
export function importInput(body: unknown): ImportUpload {
  const source = objectBody(body);
  const name = requiredString(source, 'name', IMPORT_LIMITS.nameBytes, 'certificate name').trim();
  return { name, fields: () => importFields(source) };
}

function importFields(source: Json): Omit<ImportInput, 'name'> {
  const pkcs12 = source.pkcs12;
  if (pkcs12 !== undefined && pkcs12 !== null) {
    if (['file', 'certificate', 'privateKey', 'chain'].some((f) => source[f] !== undefined && source[f] !== ''))
      throw new AppError('invalid_argument', 'Send either a PKCS#12 file, or the certificate fields; not both.', {
        field: 'pkcs12',
      });
    const bytes = pickedFile(pkcs12, 'pkcs12', PKCS12_MAX_BYTES);
    const passphrase = optionalString(pkcs12 as Json, 'passphrase', PASSPHRASE_MAX) ?? '';
    return pkcs12ToImportFields(bytes, passphrase);
  }
  const file = source.file;
  if (file !== undefined && file !== null) {
    const bytes = pickedFile(file, 'file', IMPORT_LIMITS.fileBytes);
    const fileName = optionalString(file as Json, 'name', 255) ?? 'certificate.pem';
    return { file: { name: fileName, bytes } };
  }
  return {
    certificate: pemField(source, 'certificate', IMPORT_LIMITS.certificateBytes),
    privateKey: pemField(source, 'privateKey', IMPORT_LIMITS.privateKeyBytes),
    chain: pemField(source, 'chain', IMPORT_LIMITS.chainBytes),
  };
}

/**
 * Runs core's validate or import, and when it refuses a field other than the name, adds the
 * name's own refusal (the ladder's rule, `nameRefusal`) so the form shows both at once: the ladder
 * stops at its first failed step, and the name is the one field checked without the others.
 */
export async function withEveryFieldError<T>(input: { name: string }, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!isAppError(error) || error.field === 'name' || error.field === undefined) throw error;
    const name = nameRefusal(input.name, CONSOLE_NAME_RULE);
    throw name === null ? error : new FieldErrors([error, name]);
  }
}

/**
 * The console's import: its body, and the console's import policy.
 *
 * Body (JSON): `{"name", "certificate"?, "privateKey"?, "chain"?}` with PEM text pasted or read
 * from picked files, or `{"name", "file": {"name", "contentBase64"}}` for one NHN-style file
 * (leaf, chain and key in one PEM file, kept byte for byte, hence base64). Then core runs the
 * ladder; its AppError's `field` says which form field the message belongs next to.
 *
 * Policy: the key is optional (an inventory may hold certificates deployed elsewhere; edge slots
 * need one); Ed25519 is refused (browsers do not accept Ed25519 server certificates); names are
 * 1–63 letters, digits, ".", "_" or "-", starting with a letter or digit (safe in URLs, file names
 * and every face's lists).
 */
import type { ImportOptions } from '../../core/certificates.ts';
import { AppError, isAppError } from '../../domain/errors.ts';
import { IMPORT_LIMITS, nameRefusal, type ImportInput, type NameRule } from '../../domain/x509/ladder.ts';
import { FieldErrors } from './errors.ts';
import { objectBody, optionalString, requiredString } from './body.ts';

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

export function importInput(body: unknown): ImportInput {
  const source = objectBody(body);
  const name = requiredString(source, 'name', IMPORT_LIMITS.nameBytes, 'certificate name').trim();
  const file = source.file;
  if (file !== undefined && file !== null) {
    if (typeof file !== 'object' || Array.isArray(file))
      throw new AppError('invalid_argument', 'Pick one certificate file.', { field: 'file' });
    const fileName = optionalString(file as Record<string, unknown>, 'name', 255) ?? 'certificate.pem';
    const content = optionalString(
      file as Record<string, unknown>,
      'contentBase64',
      Math.ceil((IMPORT_LIMITS.fileBytes * 4) / 3) + SLACK,
    );
    if (content === undefined || !/^[A-Za-z0-9+/]*={0,2}$/.test(content))
      throw new AppError('invalid_argument', 'The picked file could not be read. Pick it again.', { field: 'file' });
    return { name, file: { name: fileName, bytes: Buffer.from(content, 'base64') } };
  }
  return {
    name,
    certificate: optionalString(source, 'certificate', IMPORT_LIMITS.certificateBytes + SLACK),
    privateKey: optionalString(source, 'privateKey', IMPORT_LIMITS.privateKeyBytes + SLACK),
    chain: optionalString(source, 'chain', IMPORT_LIMITS.chainBytes + SLACK),
  };
}

/**
 * Runs core's validate or import, and when it refuses a field other than the name, adds the
 * name's own refusal (the ladder's rule, `nameRefusal`) so the form shows both at once: the ladder
 * stops at its first failed step, and the name is the one field checked without the others.
 */
export async function withEveryFieldError<T>(input: ImportInput, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!isAppError(error) || error.field === 'name' || error.field === undefined) throw error;
    const name = nameRefusal(input.name, CONSOLE_NAME_RULE);
    throw name === null ? error : new FieldErrors([error, name]);
  }
}

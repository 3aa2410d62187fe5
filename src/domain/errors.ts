/**
 * The one error type that domain/ and core/ throw.
 *
 * Contract:
 * - `code` says what went wrong in words every face can map (each face keeps a table
 *   `satisfies Record<ErrorCode, …>` from code to its wire form, so a new code does not compile
 *   until every face has decided how to render it).
 * - `message` is safe to show to the caller: it never contains a secret, key material or a stack.
 * - `field` names the input the caller must fix (`certificate`, `privateKey`, `chain`, `name`,
 *   `file`, …), when there is one.
 * - `cause` is for logs only and is never rendered on the wire.
 * - No HTTP status lives here: that is the face's decision.
 */
export const ERROR_CODES = [
  // The import ladder (docs/ARCHITECTURE.md, "The import ladder"), one code per step or failure.
  'input_too_large', //          1. a field is over its size cap
  'pem_malformed', //            2. not PEM: DER, bare base64, junk, broken armour or base64
  'pem_too_many_blocks', //      2. more PEM blocks than any real bundle has
  'certificate_missing', //      3. no certificate where one is required
  'certificate_multiple', //     3. more than one certificate in the certificate field
  'certificate_invalid', //      3. armour is right but the DER is not an X.509 certificate
  'key_missing', //              4. no private key where one is required
  'key_multiple', //             4. more than one private key
  'key_invalid', //              4. the key does not parse
  'key_encrypted', //            4. the key is password-protected
  'key_mismatch', //             5. the key does not belong to the certificate
  'certificate_expired', //      6. notAfter is in the past
  'certificate_not_yet_valid', // 6. notBefore is in the future
  'chain_invalid', //            7. a chain entry is not a certificate
  'chain_issuer_missing', //     7. a link of the path is absent
  'chain_signature_invalid', //  7. a link is present but its signature does not verify
  'chain_not_ca', //             7. an issuer in the path is not a CA certificate
  'chain_expired', //            7. an issuer in the path is outside its validity window
  'chain_unrelated', //          7. the chain holds certificates that are not on the leaf's path
  'chain_ambiguous', //          7. more than one possible issuer; order cannot be repaired safely
  'key_type_unsupported', //     8. key algorithm or size not allowed
  'already_exists', //           9. duplicate certificate, key or name
  'name_invalid', //            10. the face's name rule
  // Everything else.
  'invalid_argument',
  'not_found',
  'in_use',
  'key_not_exportable', //      the certificate's key serves edge slots only (Global Edge dedicated)
  'unauthenticated',
  'permission_denied',
  'conflict',
  'rate_limited', //             the caller's credential is over its request rate (core/rate-limit.ts)
  'unavailable',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** Which user input an error is about. Faces translate these to their own field names. */
export type InputField = 'name' | 'certificate' | 'privateKey' | 'chain' | 'file' | (string & {});

export interface AppErrorOptions {
  field?: InputField;
  /** Extra facts a face may render (never secrets), e.g. `{ limit: 524288, actual: 524289 }`. */
  details?: Readonly<Record<string, string | number | boolean>>;
  cause?: unknown;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly field: InputField | undefined;
  readonly details: Readonly<Record<string, string | number | boolean>> | undefined;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.field = options.field;
    this.details = options.details;
  }
}

export function isAppError(value: unknown): value is AppError {
  return value instanceof AppError;
}

export function isAppErrorWithCode(value: unknown, code: ErrorCode): value is AppError {
  return value instanceof AppError && value.code === code;
}

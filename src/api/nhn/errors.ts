/**
 * Code → wire for the NHN face: every `ErrorCode` of src/domain/errors.ts has an HTTP status and
 * an NHN `resultCode` here (`satisfies Record<ErrorCode, …>`, so a new code does not compile until
 * this face decides), plus the face's own failures (authentication, multipart) as `NhnWireError`.
 *
 * resultCodes: 52000–52009 are NHN's documented codes, sent with NHN's documented message text
 * exactly (52008 with its two numbers filled in), except 52004: NHN's sentence alone does not say
 * what a valid name is, so certkeeper's rule follows it (a client comparing the prefix still matches). Where NHN documents nothing, certkeeper uses its
 * own codes, sent with certkeeper's specific message: 40000–50300 (HTTP status × 100 + n) for
 * protocol, authentication and server failures, 59000–59099 for import-ladder steps NHN has no code
 * for. docs/compat/nhn.md has the full table.
 */
import { AppError, type ErrorCode } from '../../domain/errors.ts';

/** NHN's documented messages (v1.3 English; the seed's wording where revisions differ). */
export const NHN_MESSAGES = {
  52000: 'Certificate name does not exist.',
  52001: 'Certificate file does not exist.',
  52002: 'There are more than one certificate file.',
  52003: 'The certificate file is not a PEM file.',
  52004:
    'The certificate name in the file is different from the requested certificate name. The name must be a DNS name the certificate covers: its subject CN, one of its DNS SANs, or a name one label under a wildcard SAN.',
  52005: 'Certificate file has expired.',
  52006: 'The certificate has an invalid certificate authority name.',
  52007: 'The requested certificate file should be one.',
  52009: 'Certificate id does not exist.',
} as const;
export type NhnDocumentedCode = keyof typeof NHN_MESSAGES;

/** 52008, with both byte counts. */
export const sizeMessage = (limit: number, requested: number | string): string =>
  `Maximum permitted size is ${limit} bytes. But, requested ${requested} bytes.`;

/** certkeeper's own resultCodes, where NHN documents none. */
export const FACE_CODES = {
  invalidParameter: 40000,
  malformedRequest: 40001,
  credentialsMissing: 40100,
  authorizationMalformed: 40101,
  tokenUnknown: 40102,
  tokenExpired: 40103,
  tokenRevoked: 40104,
  accessKeyInvalid: 40105,
  appKeyAuthUnavailable: 40106,
  roleInsufficient: 40300,
  appKeyForbidden: 40301,
  noSuchApi: 40400,
  conflict: 40900,
  unsupportedMediaType: 41500,
  rateLimited: 42900,
  internal: 50000,
  unavailable: 50300,
} as const;

export interface NhnWire {
  status: number;
  resultCode: number;
  resultMessage: string;
}

/** How one ErrorCode renders: a fixed NHN message, the AppError's own (safe) message, or a function of it. */
interface WireRule {
  status: number;
  resultCode: number;
  message: string | 'own' | ((error: AppError) => string);
}

const documented = (status: number, resultCode: NhnDocumentedCode): WireRule => ({
  status,
  resultCode,
  message: NHN_MESSAGES[resultCode],
});
const own = (status: number, resultCode: number): WireRule => ({ status, resultCode, message: 'own' });

export const ERROR_TABLE = {
  input_too_large: {
    status: 413,
    resultCode: 52008,
    message: (e) => sizeMessage(Number(e.details?.limit ?? 524_288), String(e.details?.actual ?? 'more')),
  },
  pem_malformed: documented(400, 52003),
  pem_too_many_blocks: documented(400, 52003),
  certificate_missing: documented(400, 52003),
  certificate_multiple: documented(400, 52002),
  certificate_invalid: documented(400, 52003),
  key_missing: own(400, 59001),
  key_multiple: own(400, 59002),
  key_invalid: own(400, 59003),
  key_encrypted: own(400, 59004),
  key_mismatch: own(400, 59005),
  certificate_expired: documented(400, 52005),
  certificate_not_yet_valid: own(400, 59006),
  chain_invalid: own(400, 59010),
  chain_issuer_missing: own(400, 59011),
  chain_signature_invalid: own(400, 59012),
  chain_not_ca: own(400, 59013),
  chain_expired: own(400, 59014),
  chain_unrelated: own(400, 59015),
  chain_ambiguous: own(400, 59016),
  key_type_unsupported: own(400, 59020),
  already_exists: own(409, 59030),
  name_invalid: documented(400, 52004),
  invalid_argument: own(400, FACE_CODES.invalidParameter),
  not_found: documented(404, 52000),
  in_use: own(409, FACE_CODES.conflict),
  // A Global Edge dedicated certificate: its file holds the key, which is never exported.
  key_not_exportable: own(403, 59040),
  unauthenticated: own(401, FACE_CODES.credentialsMissing),
  permission_denied: own(403, FACE_CODES.roleInsufficient),
  // NHN documents no throttling answer: HTTP 429 (RFC 6585) with certkeeper's own code.
  rate_limited: own(429, FACE_CODES.rateLimited),
  conflict: own(409, FACE_CODES.conflict),
  unavailable: {
    status: 503,
    resultCode: FACE_CODES.unavailable,
    message: 'The service is temporarily unavailable. Try again shortly.',
  },
  internal: { status: 500, resultCode: FACE_CODES.internal, message: 'Internal server error.' },
} satisfies Record<ErrorCode, WireRule>;

/**
 * A failure the face decides itself (authentication, multipart framing, NHN-only checks), with its
 * wire form fixed at the throw. An AppError, so the face mechanism hands it to `renderError`.
 */
export class NhnWireError extends AppError {
  readonly wire: NhnWire;
  /** Answer with `Connection: close`: the request body was left unread and must not be drained. */
  readonly closeConnection: boolean;

  constructor(code: ErrorCode, wire: NhnWire, options: { closeConnection?: boolean; field?: string } = {}) {
    super(code, wire.resultMessage, options.field === undefined ? {} : { field: options.field });
    this.wire = wire;
    this.closeConnection = options.closeConnection ?? false;
  }
}

/** An NhnWireError carrying one of NHN's documented codes and messages. */
export function documentedError(
  code: ErrorCode,
  status: number,
  resultCode: NhnDocumentedCode,
  options: { closeConnection?: boolean } = {},
): NhnWireError {
  return new NhnWireError(code, { status, resultCode, resultMessage: NHN_MESSAGES[resultCode] }, options);
}

/** 52008, HTTP 413. */
export function tooLargeError(
  limit: number,
  requested: number,
  options: { closeConnection?: boolean } = {},
): NhnWireError {
  return new NhnWireError(
    'input_too_large',
    { status: 413, resultCode: 52008, resultMessage: sizeMessage(limit, requested) },
    options,
  );
}

/** The wire form of any AppError. */
export function wireOf(error: AppError): NhnWire {
  if (error instanceof NhnWireError) return error.wire;
  const rule: WireRule = ERROR_TABLE[error.code];
  const resultMessage =
    typeof rule.message === 'function' ? rule.message(error) : rule.message === 'own' ? error.message : rule.message;
  return { status: rule.status, resultCode: rule.resultCode, resultMessage };
}

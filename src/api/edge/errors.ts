/**
 * Code → wire for the Global Edge face (reference cloud-apis.md §4.1; docs/compat/edge.md lists
 * every row with the reason for it).
 *
 * Two envelopes, as behind the real gateway:
 * - service answers `{"code":"<code>","message":"<text>"}` (success adds `"result"`):
 *   `0040` Field validation Error (HTTP 400): input that is malformed or names something unusable;
 *   `0032` not allowed (HTTP 403): the slot's state or the deployment's configuration forbids it;
 *   `9999` Unknown Error (HTTP 500): anything unexpected, cause in the log only;
 * - gateway answers (authentication 200, permission 210, routing 300, size 430, malformed URL
 *   100, rate limit 420, unavailable store 500), shared with the NCP face: src/api/ncp-gateway/errors.ts.
 *
 * `ERROR_TABLE` maps every core `ErrorCode` (`satisfies`: a new code does not compile until it is
 * mapped here).
 */
import { AppError, type ErrorCode } from '../../domain/errors.ts';
import { withRetryAfter, type FaceReply } from '../../server/index.ts';
import { gatewayReply, UNAVAILABLE_DETAILS, type GatewayError } from '../ncp-gateway/errors.ts';

/** The documented texts of the Global Edge codes certkeeper answers. */
export const EDGE_CODES = {
  success: { code: '0000', status: 200, text: 'Success' },
  fieldValidation: { code: '0040', status: 400, text: 'Field validation Error' },
  notAllowed: { code: '0032', status: 403, text: '허용되지 않은 요청입니다.' },
  unknown: { code: '9999', status: 500, text: 'Unknown Error' },
} as const;

export type EdgeCode = keyof typeof EDGE_CODES;
export type EdgeWire =
  { kind: 'service'; edge: Exclude<EdgeCode, 'success'> } | { kind: 'gateway'; gateway: GatewayError };

const field: EdgeWire = { kind: 'service', edge: 'fieldValidation' };
const notAllowed: EdgeWire = { kind: 'service', edge: 'notAllowed' };

export const ERROR_TABLE = {
  // The import ladder: the face imports nothing, but core's eligibility check reuses
  // certificate_expired, certificate_not_yet_valid and key_missing. All are input the caller fixes.
  input_too_large: field,
  pem_malformed: field,
  pem_too_many_blocks: field,
  certificate_missing: field,
  certificate_multiple: field,
  certificate_invalid: field,
  key_missing: field,
  key_multiple: field,
  key_invalid: field,
  key_encrypted: field,
  key_mismatch: field,
  certificate_expired: field,
  certificate_not_yet_valid: field,
  chain_invalid: field,
  chain_issuer_missing: field,
  chain_signature_invalid: field,
  chain_not_ca: field,
  chain_expired: field,
  chain_unrelated: field,
  chain_ambiguous: field,
  key_type_unsupported: field,
  already_exists: field,
  name_invalid: field,
  invalid_argument: field,
  // A slot or certificate id that is not the caller's (missing, or another tenant's): bad input.
  not_found: field,
  // The slot's state (DELETING, DELETED) or the tenant's setup (no deployment target) forbids it.
  conflict: notAllowed,
  in_use: notAllowed,
  key_not_exportable: notAllowed,
  unauthenticated: { kind: 'gateway', gateway: 'authenticationFailed' },
  permission_denied: { kind: 'gateway', gateway: 'permissionDenied' },
  rate_limited: { kind: 'gateway', gateway: 'rateLimited' },
  unavailable: { kind: 'gateway', gateway: 'endpointError' },
  internal: { kind: 'service', edge: 'unknown' },
} as const satisfies Record<ErrorCode, EdgeWire>;

/** `{"code","message"}` (+ `result` on success). The documented text, then certkeeper's reason. */
export function edgeReply(edge: EdgeCode, reason?: string): FaceReply {
  const { code, status, text } = EDGE_CODES[edge];
  const message = reason === undefined ? text : `${text}${text.endsWith('.') ? ' ' : ': '}${reason}`;
  return { status, body: { code, message } };
}

/** Unknown errors: the fixed text only; the cause is logged under the request id. */
export const unknownReply = (): FaceReply => edgeReply('unknown');

/** An error the face answers with a fixed reply (e.g. the gateway's 404 for an empty slot id). */
export class EdgeReplyError extends AppError {
  readonly reply: FaceReply;

  constructor(message: string, reply: FaceReply) {
    super('invalid_argument', message);
    this.name = 'EdgeReplyError';
    this.reply = reply;
  }
}

export function renderEdgeError(error: AppError): FaceReply {
  if (error instanceof EdgeReplyError) return error.reply;
  const wire: EdgeWire = ERROR_TABLE[error.code];
  if (wire.kind === 'gateway') {
    if (wire.gateway === 'endpointError') return gatewayReply('endpointError', UNAVAILABLE_DETAILS);
    return withRetryAfter(gatewayReply(wire.gateway, error.message), error);
  }
  if (wire.edge === 'unknown') return unknownReply();
  return edgeReply(wire.edge, error.message);
}

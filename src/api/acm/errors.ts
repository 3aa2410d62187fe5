/**
 * Code → wire for the ACM face. AWS JSON 1.1 errors: HTTP status, `{"__type": "<Exception>",
 * "message": "…"}` and the `x-amzn-ErrorType` header; the exception names are the API model's
 * (botocore `acm/2015-12-08/service-2.json`) or AWS's common ones (ValidationException,
 * AccessDeniedException, the signature exceptions, InternalFailure, ServiceUnavailable).
 *
 * Every `ErrorCode` has a rule here (`satisfies Record<ErrorCode, …>`). Where one code means
 * different exceptions, the AppError's `field` or `details.reason` decides (tags, ARNs), in
 * `wireOf`. Failures the face decides itself carry their exception (`AcmWireError`).
 */
import { AppError, type ErrorCode } from '../../domain/errors.ts';

export interface AcmWire {
  status: number;
  type: string;
  message: string;
}

/** The ladder's refusals: ACM answers an unusable certificate, key or chain with this. */
const param = { status: 400, type: 'ValidationException' } as const;

export const ERROR_TABLE = {
  input_too_large: param,
  pem_malformed: param,
  pem_too_many_blocks: param,
  certificate_missing: param,
  certificate_multiple: param,
  certificate_invalid: param,
  key_missing: param,
  key_multiple: param,
  key_invalid: param,
  key_encrypted: param,
  key_mismatch: param,
  certificate_expired: param,
  certificate_not_yet_valid: param,
  chain_invalid: param,
  chain_issuer_missing: param,
  chain_signature_invalid: param,
  chain_not_ca: param,
  chain_expired: param,
  chain_unrelated: param,
  chain_ambiguous: param,
  key_type_unsupported: param,
  // A duplicate certificate or key in the tenant: certkeeper's rule (ACM itself allows it); an
  // exception ImportCertificate's model lists, with certkeeper's message naming the other one.
  already_exists: { status: 400, type: 'InvalidParameterException' },
  name_invalid: param,
  invalid_argument: { status: 400, type: 'InvalidParameterException' },
  not_found: { status: 400, type: 'ResourceNotFoundException' },
  in_use: { status: 400, type: 'ResourceInUseException' },
  // ExportCertificate of a certificate whose key is not exportable: ACM's answer for a public one.
  key_not_exportable: { status: 400, type: 'ValidationException' },
  unauthenticated: { status: 400, type: 'UnrecognizedClientException' },
  permission_denied: { status: 400, type: 'AccessDeniedException' },
  conflict: { status: 400, type: 'ConflictException' },
  // The model's exception for a caller over its request rate; the AWS SDKs and CLI retry it with
  // their own backoff (AWS JSON has no Retry-After).
  rate_limited: { status: 400, type: 'ThrottlingException' },
  unavailable: { status: 503, type: 'ServiceUnavailable' },
  internal: { status: 500, type: 'InternalFailure' },
} satisfies Record<ErrorCode, { status: number; type: string }>;

/** `details.reason` values core uses where ACM distinguishes exceptions ACM's way. */
const BY_REASON: Record<string, string> = {
  invalid_tag: 'InvalidTagException',
  too_many_tags: 'TooManyTagsException',
  invalid_parameter: 'InvalidParameterException',
  // RequestCertificate / RenewCertificate without issuance configured: an exception
  // RequestCertificate's model lists, a 400 that SDKs do not retry (docs/compat/acm.md).
  issuance_unavailable: 'LimitExceededException',
  imported: 'ValidationException',
  // ImportCertificate over a certificate it may not replace: one issued here, another key type or
  // size, a key usage removed (core/acm.ts `reimportCheck`).
  reimport: 'ValidationException',
  imported_state: 'InvalidStateException',
  email_validation: 'InvalidParameterException',
  // GetCertificate / ExportCertificate of a requested certificate not issued (pending, failed or
  // timed out): the exception both list in the model; the message names the status.
  request_in_progress: 'RequestInProgressException',
};

/** A failure whose AWS exception the face fixed at the throw. */
export class AcmWireError extends AppError {
  readonly wire: AcmWire;
  constructor(code: ErrorCode, type: string, message: string, status = 400) {
    super(code, message);
    this.wire = { status, type, message };
  }
}

export const validation = (message: string): AcmWireError =>
  new AcmWireError('invalid_argument', 'ValidationException', message);

export const invalidArn = (arn: string): AcmWireError =>
  new AcmWireError('invalid_argument', 'InvalidArnException', `String '${arn.slice(0, 2048)}' is not a valid ARN.`);

export function wireOf(error: AppError): AcmWire {
  if (error instanceof AcmWireError) return error.wire;
  const reason = error.details?.reason;
  if (typeof reason === 'string' && BY_REASON[reason] !== undefined)
    return { status: 400, type: BY_REASON[reason], message: error.message };
  if (error.code === 'invalid_argument' && error.field === 'NextToken')
    return { status: 400, type: 'InvalidArgsException', message: error.message };
  if (error.code === 'invalid_argument' && error.field === 'DaysBeforeExpiry')
    return { status: 400, type: 'ValidationException', message: error.message };
  const rule = ERROR_TABLE[error.code];
  const message =
    error.code === 'internal'
      ? 'An internal error occurred.'
      : error.code === 'unavailable'
        ? 'The service is temporarily unavailable. Try again shortly.'
        : error.message;
  return { status: rule.status, type: rule.type, message };
}

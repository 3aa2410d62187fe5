/**
 * Code → wire for the console face. The console's own JSON envelope:
 *
 *   {"error": {"code": "<ErrorCode or face code>", "message": "<safe text for a person>", "field": "<form field>"?,
 *              "errors": [{"code", "message", "field"?}, …]?}}
 *
 * `errors` is there when one request had problems in several fields (FieldErrors): every one of
 * them, the first being the one `code`, `message` and `field` name, so a form shows them all.
 *
 * Every ErrorCode has an HTTP status here (`satisfies Record<ErrorCode, number>`, so a new code
 * does not compile until the console decides). The message is the AppError's own: core and the
 * ladder write theirs for people, so the browser shows it as is. `field` is the AppError's field
 * as is: the console's forms and query parameters use the ladder's and core's input names
 * (`name`, `certificate`, `privateKey`, `chain`, `file`, `role`, `description`, `accessKey`, …),
 * and the browser puts the message next to the control of that name.
 */
import { AppError, type ErrorCode } from '../../domain/errors.ts';
import type { FaceReply } from '../../server/index.ts';

export const STATUS = {
  input_too_large: 413,
  pem_malformed: 400,
  pem_too_many_blocks: 400,
  certificate_missing: 400,
  certificate_multiple: 400,
  certificate_invalid: 400,
  key_missing: 400,
  key_multiple: 400,
  key_invalid: 400,
  key_encrypted: 400,
  key_mismatch: 400,
  certificate_expired: 400,
  certificate_not_yet_valid: 400,
  chain_invalid: 400,
  chain_issuer_missing: 400,
  chain_signature_invalid: 400,
  chain_not_ca: 400,
  chain_expired: 400,
  chain_unrelated: 400,
  chain_ambiguous: 400,
  key_type_unsupported: 400,
  already_exists: 409,
  name_invalid: 400,
  invalid_argument: 400,
  not_found: 404,
  in_use: 409,
  key_not_exportable: 403,
  unauthenticated: 401,
  permission_denied: 403,
  conflict: 409,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
} satisfies Record<ErrorCode, number>;

export interface ConsoleErrorBody {
  error: {
    code: string;
    message: string;
    field?: string;
    errors?: Array<{ code: string; message: string; field?: string }>;
  };
}

/** Problems in several fields of one request; the first is the error's own code, message and field. */
export class FieldErrors extends AppError {
  readonly all: readonly AppError[];

  constructor(all: readonly [AppError, ...AppError[]]) {
    const [first] = all;
    super(first.code, first.message, {
      ...(first.field === undefined ? {} : { field: first.field }),
      ...(first.details === undefined ? {} : { details: first.details }),
    });
    this.all = all;
  }
}

export function errorBody(code: string, message: string, field?: string): ConsoleErrorBody {
  return { error: { code, message, ...(field === undefined ? {} : { field }) } };
}

const NO_STORE = { 'cache-control': 'no-store' };

/** A failure the face decides itself (session, CSRF, throttling), with its status fixed at the throw. */
export class ConsoleWireError extends AppError {
  readonly status: number;
  readonly wireCode: string;
  readonly headers: Record<string, string>;

  constructor(
    code: ErrorCode,
    status: number,
    wireCode: string,
    message: string,
    headers: Record<string, string> = {},
  ) {
    super(code, message);
    this.status = status;
    this.wireCode = wireCode;
    this.headers = headers;
  }
}

export function renderConsoleError(error: AppError): FaceReply {
  if (error instanceof ConsoleWireError) {
    return {
      status: error.status,
      body: errorBody(error.wireCode, error.message),
      headers: { ...NO_STORE, ...error.headers },
    };
  }
  const body = errorBody(error.code, safeMessage(error), error.field);
  if (error instanceof FieldErrors)
    body.error.errors = error.all.map((each) => errorBody(each.code, safeMessage(each), each.field).error);
  return { status: STATUS[error.code], body, headers: NO_STORE };
}

/** Internal errors never show their text; everything else was written to be shown. */
function safeMessage(error: AppError): string {
  if (error.code === 'internal')
    return 'Something went wrong on the server. Try again; if it keeps happening, the server log has the details.';
  if (error.code === 'unavailable') return 'The service is temporarily unavailable. Try again shortly.';
  return error.message;
}

export const internalReply = (): FaceReply => ({
  status: 500,
  body: errorBody(
    'internal',
    'Something went wrong on the server. Try again; if it keeps happening, the server log has the details.',
  ),
  headers: NO_STORE,
});

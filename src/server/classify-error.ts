/**
 * Sorts whatever reached an error handler into the few cases a face renders differently.
 *
 * Contract:
 * - An `AppError` stays an `AppError`: its code and safe message are the face's to render.
 * - Fastify's own request refusals (`FST_*` errors with a 4xx status: body over the limit,
 *   malformed or empty JSON, unsupported content type, bad content-length, schema validation) are
 *   protocol problems. Their wire text is ours, written here; Fastify's message is never sent.
 * - A body that stopped short because the client went away (Node's `aborted`, which Fastify's body
 *   reader passes on as a 400 `ECONNRESET`) is `client_gone`: not a server error, and no one is
 *   left to answer. Logged once at info, so a client cannot write error lines with stacks at will.
 * - Everything else is `internal`: the caller logs it and renders a generic error. Neither its
 *   message nor its stack may reach the client, whatever `statusCode` it claims, because only
 *   our own code decides what is safe to show.
 */
import { AppError, isAppError } from '../domain/errors.ts';

/** A request the framework refused before any handler ran, other than an oversized body. */
export interface BadRequestProblem {
  kind: 'invalid_json' | 'empty_json' | 'unsupported_media_type' | 'invalid_content_length' | 'malformed';
  /** The HTTP status the problem calls for (400, or 415 for the media type). Faces may override. */
  status: 400 | 415;
  /** Safe English text describing the problem; faces may use it as their message. */
  message: string;
}

export type ClassifiedError =
  | { kind: 'app'; error: AppError }
  | { kind: 'body_too_large' }
  | { kind: 'bad_request'; problem: BadRequestProblem }
  | { kind: 'client_gone' }
  | { kind: 'internal' };

const PROBLEMS: Record<string, BadRequestProblem> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { kind: 'invalid_json', status: 400, message: 'The request body is not valid JSON.' },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    kind: 'empty_json',
    status: 400,
    message: 'The request body is empty but the content type is application/json.',
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    kind: 'unsupported_media_type',
    status: 415,
    message: 'The content type of the request body is not supported here.',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    kind: 'invalid_content_length',
    status: 400,
    message: 'The request body size does not match its Content-Length.',
  },
};

/** What a face is asked to render for a client that went away (no one reads it). */
export const CLIENT_GONE: BadRequestProblem = PROBLEMS.FST_ERR_CTP_INVALID_CONTENT_LENGTH!;

const MALFORMED: BadRequestProblem = { kind: 'malformed', status: 400, message: 'The request is malformed.' };

interface FrameworkErrorShape {
  code?: unknown;
  message?: unknown;
  statusCode?: unknown;
  validation?: unknown;
  validationContext?: unknown;
}

export function classifyError(error: unknown): ClassifiedError {
  if (isAppError(error)) return { kind: 'app', error };
  if (typeof error !== 'object' || error === null) return { kind: 'internal' };
  const { code, statusCode, message } = error as FrameworkErrorShape;
  if (code === 'ECONNRESET' && statusCode === 400 && message === 'aborted') return { kind: 'client_gone' };
  if (typeof code !== 'string' || !code.startsWith('FST_')) return { kind: 'internal' };
  if (typeof statusCode !== 'number' || statusCode < 400 || statusCode > 499) return { kind: 'internal' };
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE' || statusCode === 413) return { kind: 'body_too_large' };
  if (code === 'FST_ERR_VALIDATION') return { kind: 'app', error: validationToAppError(error as FrameworkErrorShape) };
  return {
    kind: 'bad_request',
    problem: PROBLEMS[code] ?? (statusCode === 415 ? PROBLEMS.FST_ERR_CTP_INVALID_MEDIA_TYPE! : MALFORMED),
  };
}

interface AjvIssue {
  instancePath?: string;
  message?: string;
  params?: { missingProperty?: unknown; additionalProperty?: unknown };
}

/**
 * A route schema rejected the request (faces that use Fastify schemas). Becomes
 * `invalid_argument` with the offending field, so faces render it through their code table.
 * Ajv's messages name the rule (`must match pattern …`), never the value, so they are safe.
 */
function validationToAppError(error: FrameworkErrorShape): AppError {
  const issues = Array.isArray(error.validation) ? (error.validation as AjvIssue[]) : [];
  const first = issues[0];
  const where = typeof error.validationContext === 'string' ? error.validationContext : 'request';
  const pathField = first?.instancePath?.split('/').filter(Boolean)[0];
  const named = first?.params?.missingProperty ?? first?.params?.additionalProperty;
  const field = pathField ?? (typeof named === 'string' ? named : undefined);
  const message = first
    ? `${where}${first.instancePath ?? ''} ${first.message ?? 'is invalid'}`
    : `${where} is invalid`;
  return new AppError('invalid_argument', message, { ...(field === undefined ? {} : { field }), cause: error });
}

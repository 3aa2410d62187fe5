/**
 * Structured JSON logs (pino through Fastify), one line per event, with the request id.
 *
 * One line per request, written when the response is done (`msg: 'request completed'`): the
 * request (`req`, below), `res.statusCode` and `responseTime` in milliseconds (OneLinePerRequest).
 * There is no "incoming request" line; a request that hangs is still visible through the lines
 * its handler writes, all of which carry the request id.
 *
 * What is logged for a request: method, url, host, remote address and port, and the request
 * headers with every credential-bearing header replaced by `[REDACTED]` (NCP signatures, NHN
 * secret and token, Authorization, cookies). Headers are logged because wire-compatibility bugs
 * are usually header bugs; the redaction list is the price. Bodies are never logged: they hold
 * private keys.
 *
 * Contract for the rest of the code: log an error as `{ err }` (stack and cause included);
 * never pass a body, a key, a secret or a token to the logger. A new secret header goes in
 * `SECRET_HEADERS` here.
 */
import { LogController, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { LogLevel } from '../config/config.ts';

/** Lower-case header names whose values are credentials. */
export const SECRET_HEADERS = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-ncp-apigw-signature-v1',
  'x-ncp-apigw-signature-v2',
  'x-ncp-apigw-api-key',
  'x-tc-authentication-secret',
  'x-nhn-authorization',
] as const;

/**
 * pino redact paths: the headers under `req` (our request serializer), under `res` (should a
 * response ever be logged with headers) and under any other top-level key or a bare `headers`.
 */
export const REDACT_PATHS: string[] = SECRET_HEADERS.flatMap((h) => [
  `req.headers["${h}"]`,
  `res.headers["${h}"]`,
  `headers["${h}"]`,
  `*.headers["${h}"]`,
]);

export const REDACTED = '[REDACTED]';

function serializeRequest(request: FastifyRequest) {
  return {
    method: request.method,
    url: request.url,
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
    // A copy: redaction must never touch the live headers the handlers read.
    headers: { ...request.headers },
  };
}

/** Where pino writes: anything with `write(line)`, e.g. `process.stdout` or a test collector. */
export interface LogStream {
  write(line: string): void;
}

export interface LoggerSettings {
  level: LogLevel;
  /** Where JSON lines go; stdout when absent. Tests pass a collecting stream. */
  stream?: LogStream | undefined;
}

/** Fastify `logger` options: level, destination, redaction and our request serializer. */
export function loggerOptions(settings: LoggerSettings): NonNullable<FastifyServerOptions['logger']> {
  return {
    level: settings.level,
    ...(settings.stream ? { stream: settings.stream } : {}),
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    serializers: { req: serializeRequest },
  };
}

/**
 * Fastify's per-request log lines, made one: no "incoming request" line, and the "request
 * completed" (or "request errored", when writing the response failed) line carries the request
 * as well as the status and the time taken. Fastify calls `requestCompleted` for every request that
 * reaches a response, the server's own routes and the pre-routing errors included.
 */
export class OneLinePerRequest extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null, request: FastifyRequest, reply: FastifyReply): void {
    const fields = { req: request, res: reply, responseTime: reply.elapsedTime };
    if (error) reply.log.error({ ...fields, err: error }, 'request errored');
    else reply.log.info(fields, 'request completed');
  }
}

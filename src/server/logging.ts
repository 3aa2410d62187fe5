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
 * Where redaction happens: as a line is written, by `withoutSecretHeaders` below: a `headers`
 * object at the top of what is logged, or one level under any top-level key (`req` through its
 * serializer, `err`, anything else), is written with each secret header's value replaced, header
 * names compared case-insensitively. A child logger's bindings are written as given (pino formats
 * a child's bindings without the root's formatters): bind names and ids, never headers. Not pino's
 * `redact` paths: their `*.headers[...]` wildcard ran @pinojs/redact over every top-level value
 * and every child binding, parsing each of the 36 paths anew each time, so Fastify's child logger
 * for each request cost about 3 µs and a "request completed" line about 25 µs (against 0.2 and 2
 * without; docs/performance.md, "Bytes allocated a request").
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

export const REDACTED = '[REDACTED]';

const SECRET_HEADER_NAMES: ReadonlySet<string> = new Set(SECRET_HEADERS);

type LoggedHeaders = Readonly<Record<string, unknown>>;

const isObject = (value: unknown): value is object => typeof value === 'object' && value !== null;

/**
 * `headers` as it may be logged: a copy with every secret header's value replaced by `[REDACTED]`
 * (names compared in lower case), or `headers` itself when it holds none. Never changes `headers`.
 */
export function redactedHeaders(headers: LoggedHeaders): LoggedHeaders {
  let copy: Record<string, unknown> | undefined;
  for (const name of Object.keys(headers)) {
    if (!SECRET_HEADER_NAMES.has(name.toLowerCase())) continue;
    copy ??= { ...headers };
    copy[name] = REDACTED;
  }
  return copy ?? headers;
}

/**
 * `value` with its `headers` (own or inherited) redacted, or `value` itself when they hold no
 * secret. A plain object is copied. Anything else (an Error, another class's instance) is seen
 * through a proxy that answers `headers` redacted and every other property from `value` itself:
 * a copy would lose what only `value` can answer (an Error's `stack` accessor answers nothing
 * for another receiver), and `value` is never changed.
 */
function withRedactedHeadersOf(value: object): object {
  const headers = (value as { headers?: unknown }).headers;
  if (!isObject(headers) || Array.isArray(headers)) return value;
  const redacted = redactedHeaders(headers as LoggedHeaders);
  if (redacted === headers) return value;
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype === Object.prototype || prototype === null) return { ...value, headers: redacted };
  return new Proxy(value, {
    get: (target, key) => (key === 'headers' ? redacted : Reflect.get(target, key, target)),
  });
}

/**
 * What a log line may write: `record` with a top-level `headers` redacted
 * and the `headers` of each top-level object value redacted (`req` aside: its serializer does it,
 * and a Fastify request is not to be copied). Returns `record` itself when nothing is secret, so a
 * line without headers costs a loop over its few keys.
 */
export function withoutSecretHeaders(record: Record<string, unknown>): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(record)) {
    const value = record[key];
    if (!isObject(value) || key === 'req') continue;
    const redacted =
      key === 'headers' && !Array.isArray(value)
        ? redactedHeaders(value as LoggedHeaders)
        : withRedactedHeadersOf(value);
    if (redacted === value) continue;
    copy ??= { ...record };
    copy[key] = redacted;
  }
  return copy ?? record;
}

function serializeRequest(request: FastifyRequest) {
  return {
    method: request.method,
    url: request.url,
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
    // A copy when it holds a secret: the live headers the handlers read are never changed.
    headers: isObject(request.headers) ? redactedHeaders(request.headers as LoggedHeaders) : request.headers,
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
    // Before serializers (pino's order): `req`'s serializer redacts its own copy of the headers.
    formatters: { log: withoutSecretHeaders },
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

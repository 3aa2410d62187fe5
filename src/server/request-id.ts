/**
 * Request ids: every request gets one, it is bound to every log line of the request (`reqId`)
 * and echoed in the `x-request-id` response header so a client can quote it in a bug report.
 *
 * An incoming `x-request-id` (from a load balancer or the client) is kept when it is a sane
 * token, so one id follows the request across hops. Anything else (too long, spaces, control
 * characters, a repeated header joined with ", ") is replaced by a fresh UUID rather than being
 * trusted into logs and headers.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const REQUEST_ID_HEADER = 'x-request-id';

const SANE_REQUEST_ID = /^[A-Za-z0-9._:+=@/-]{1,128}$/;

export function isSaneRequestId(value: unknown): value is string {
  return typeof value === 'string' && SANE_REQUEST_ID.test(value);
}

/** Fastify `genReqId`: the incoming id when sane, else a new UUID. */
export function genRequestId(req: IncomingMessage): string {
  const incoming = req.headers[REQUEST_ID_HEADER];
  return isSaneRequestId(incoming) ? incoming : randomUUID();
}

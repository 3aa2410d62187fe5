/**
 * PostgreSQL going away (stopped, restarting, unreachable, out of connections) is the store being
 * unavailable, not an internal error: each face answers its 503-class error and the request can be
 * retried. Recognised by codes and by the driver's own signal, never by message text:
 *
 * - any failure to get a connection from the pool (refused, reset, timed out, the server starting
 *   up or shutting down, no slots left): the query never ran;
 * - a query on a connection whose client emitted 'error' (the socket ended under it: `pg` rejects
 *   the active query, then emits 'error'; the query's rejection is handled after the event);
 * - SQLSTATE class 08 (connection exception), 57P01–57P03 (admin or crash shutdown, cannot connect
 *   now), 53300 (too many connections), the socket errors of node:net, and postgres.js's codes
 *   for a connection that closed or could not open (the statement pipeline).
 *
 * A query cut off this way may or may not have committed; the store's writes are single
 * transactions, so it committed whole or not at all, and the client is told to retry.
 */
import { AppError } from '../domain/errors.ts';

const UNAVAILABLE_SQLSTATES: ReadonlySet<string> = new Set(['57P01', '57P02', '57P03', '53300']);
const SOCKET_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  // postgres.js (the statement pipeline, postgres-pipeline.ts): the connection closed under the
  // statement or before it was sent, the pool ended, or no connection within the timeout.
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
  'CONNECTION_ENDED',
  'CONNECT_TIMEOUT',
]);

export const STORE_UNAVAILABLE_MESSAGE = 'The database is not reachable.';

/** Whether `error`'s code says the connection, not the statement, failed. */
export function isConnectionFailureCode(error: unknown): boolean {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  if (typeof code !== 'string') return false;
  return code.startsWith('08') || UNAVAILABLE_SQLSTATES.has(code) || SOCKET_CODES.has(code);
}

/** `AppError('unavailable')` carrying the driver error as its cause (logged, never sent). */
export function storeUnavailable(cause: unknown): AppError {
  return new AppError('unavailable', STORE_UNAVAILABLE_MESSAGE, { cause });
}

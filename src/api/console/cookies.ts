/**
 * The session cookie. Attributes, always: HttpOnly (no script reads it), SameSite=Strict (no
 * cross-site request carries it), no Domain, no Max-Age (it ends with the browser; the server
 * ends it earlier at the session's idle or absolute end).
 *
 * - Served over TLS (`request.protocol === 'https'`): `__Host-ck_console`, `Secure`, `Path=/`.
 *   The `__Host-` prefix makes browsers refuse it unless it is Secure, host-only and Path=/, so a
 *   sibling subdomain cannot plant or shadow it.
 * - Over plain HTTP (loopback, or a proxy that terminates TLS without telling us): `ck_console`,
 *   `Path=/console`, not Secure (a Secure cookie would not come back over HTTP).
 */
import type { FastifyRequest } from 'fastify';

const SECURE_NAME = '__Host-ck_console';
const PLAIN_NAME = 'ck_console';

const isTls = (request: FastifyRequest): boolean => request.protocol === 'https';

export const sessionCookieName = (request: FastifyRequest): string => (isTls(request) ? SECURE_NAME : PLAIN_NAME);

function attributes(request: FastifyRequest): string {
  return isTls(request) ? 'Path=/; Secure; HttpOnly; SameSite=Strict' : 'Path=/console; HttpOnly; SameSite=Strict';
}

/** `Set-Cookie` value that hands the session id to the browser. */
export function sessionCookie(request: FastifyRequest, sessionId: string): string {
  return `${sessionCookieName(request)}=${sessionId}; ${attributes(request)}`;
}

/** `Set-Cookie` value that makes the browser drop the session cookie. */
export function clearedSessionCookie(request: FastifyRequest): string {
  return `${sessionCookieName(request)}=; ${attributes(request)}; Max-Age=0`;
}

/** The session id the request carries, or undefined. Only the cookie of the request's scheme counts. */
export function sessionIdOf(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (typeof header !== 'string' || header.length > 8192) return undefined;
  const name = sessionCookieName(request);
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim();
    // Ids are base64url; anything else was not issued by us.
    return /^[A-Za-z0-9_-]{1,128}$/.test(value) ? value : undefined;
  }
  return undefined;
}

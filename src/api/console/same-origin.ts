/**
 * Cross-site request refusal for every state change (and for login, against login CSRF), on top
 * of the per-session CSRF token (auth.ts) and SameSite=Strict:
 *
 * - `Sec-Fetch-Site`, when the browser sends it, must be `same-origin`;
 * - `Origin`, when the browser sends it, must be exactly this server's origin
 *   (`<request.protocol>://<Host header>`); `Origin: null` (sandboxed frames, some redirects) is refused.
 *
 * Browsers send at least one of them on every cross-origin POST/PUT/DELETE; a client that sends
 * neither (curl, scripts) is not a browser a third-party page can drive, and still needs the
 * session cookie and the CSRF token. Behind a proxy that changes the Host header or terminates
 * TLS, the origin seen here differs from the browser's: see docs/console.md.
 */
import type { FastifyRequest } from 'fastify';
import { ConsoleWireError } from './errors.ts';

const header = (request: FastifyRequest, name: string): string | undefined => {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
};

export const ownOrigin = (request: FastifyRequest): string => `${request.protocol}://${request.host}`;

export function checkSameOrigin(request: FastifyRequest): void {
  const site = header(request, 'sec-fetch-site');
  if (site !== undefined && site !== 'same-origin') {
    throw new ConsoleWireError(
      'permission_denied',
      403,
      'cross_site',
      'This request came from another site and was refused. Use the console itself.',
    );
  }
  const origin = header(request, 'origin');
  if (origin !== undefined && origin !== ownOrigin(request)) {
    throw new ConsoleWireError(
      'permission_denied',
      403,
      'cross_site',
      'This request came from another origin and was refused. Use the console itself.',
    );
  }
}

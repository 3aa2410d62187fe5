/**
 * Host checking (`CERTKEEPER_ALLOWED_HOSTS`): a request whose `Host` names a host this server is
 * not known by is answered `421 Misdirected Request` before any face, the console, `/metrics` or
 * the health routes see it.
 *
 * Why: a DNS-rebinding page (the attacker's name, re-pointed at 127.0.0.1 or at an address inside
 * the network) makes the victim's browser send same-origin requests to certkeeper, with the
 * attacker's name in `Host`; the console's Origin check passes, since Origin and Host are both the
 * attacker's name. Refusing unknown names stops it. An IP address in `Host` cannot come from
 * rebinding (the browser only sends a name it resolved), so IP literals are always served; so are
 * `localhost` and `CERTKEEPER_HOST` when it is a name. Any other name must be listed. `*` turns
 * the check off (behind a proxy that already checks Host, say).
 *
 * Names compare case-insensitively, without the port and a trailing dot.
 */
import { isIP } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { asciiLower } from '../domain/text.ts';

export interface AllowedHosts {
  /** True when every host is allowed (`*`). */
  any: boolean;
  /** Lower-case host names (no port, no trailing dot), besides IP literals and `localhost`. */
  names: ReadonlySet<string>;
}

/** The host part of a Host header value: no port, no brackets, lower case, no trailing dot; null when malformed. */
export function hostOf(header: string): string | null {
  let host = header.trim();
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    if (end < 0) return null;
    host = host.slice(1, end);
    return isIP(host) === 6 ? asciiLower(host) : null;
  }
  const colon = host.lastIndexOf(':');
  if (colon >= 0) {
    if (!/^\d{1,5}$/.test(host.slice(colon + 1))) return null;
    host = host.slice(0, colon);
  }
  if (host.endsWith('.')) host = host.slice(0, -1);
  return host === '' ? null : asciiLower(host);
}

export function isAllowedHost(allowed: AllowedHosts, header: string | undefined): boolean {
  if (allowed.any) return true;
  if (header === undefined) return false;
  const host = hostOf(header);
  if (host === null) return false;
  return isIP(host) !== 0 || host === 'localhost' || allowed.names.has(host);
}

export function checkAllowedHosts(app: FastifyInstance, allowed: AllowedHosts): void {
  app.addHook('onRequest', async (request, reply) => {
    if (isAllowedHost(allowed, request.headers.host)) return;
    reply.header('cache-control', 'no-store');
    return reply.code(421).send({
      error: 'Misdirected Request',
      message:
        'This server does not answer to that host name. The operator lists the names it is reached by in CERTKEEPER_ALLOWED_HOSTS.',
    });
  });
}

/**
 * Security headers on every response under `/console` (pages, files, API and errors alike).
 *
 * The Content-Security-Policy allows only this origin's own files: no inline script or style, no
 * eval, no other origin (no CDN), no plugins, no framing, no <base>. Trusted Types are required
 * and no policy may be created, so an HTML string can never reach a DOM sink (web/ builds every
 * element with createElement/textContent).
 */
import type { FastifyInstance } from 'fastify';

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=(), usb=()',
};

/** Every answer under this path is `Cache-Control: no-store` (docs/console.md): tenant data, never cached. */
export const CONSOLE_API_PATH = '/console/api/';

/**
 * Adds the headers in the console's scope (an onRequest hook, so errors and 404s get them too),
 * and `Cache-Control: no-store` on every console API answer, whatever the route.
 */
export function installSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    reply.headers(SECURITY_HEADERS);
    if (request.url.startsWith(CONSOLE_API_PATH)) reply.header('cache-control', 'no-store');
  });
}

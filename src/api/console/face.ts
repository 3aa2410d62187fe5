/**
 * The web console: certkeeper's own face, at `/console`, served by the same process.
 *
 * - `/console`, `/console/` and `/console/static/…`: the browser app (web/, allow-listed files,
 *   static.ts). It talks JSON to `/console/api/…` only (docs/console.md lists the endpoints).
 * - Authentication: a session cookie from logging in with an access key and secret key
 *   (core/sessions.ts, cookies.ts, auth.ts); CSRF token + same-origin checks on every state
 *   change; failed logins throttled per access key and per address (throttle.ts).
 * - Errors: `{"error":{"code","message","field"?}}` (errors.ts); every response under the prefix
 *   carries the strict Content-Security-Policy and friends (headers.ts).
 * - Request bodies are JSON only: text/plain (what a cross-site form can send without a
 *   preflight) is refused with 415.
 */
import type { FastifyInstance } from 'fastify';
import type { Core } from '../../core/core.ts';
import type { IssuanceService } from '../../core/issuance/service.ts';
import { withRetryAfter, type FacePlugin, type FaceReply } from '../../server/index.ts';
import { loadAssets } from './assets.ts';
import { errorBody, internalReply, renderConsoleError } from './errors.ts';
import { installSecurityHeaders, SECURITY_HEADERS } from './headers.ts';
import { CONSOLE_OPENAPI } from './openapi.ts';
import { registerCertificateRoutes } from './routes-certificates.ts';
import { registerCredentialRoutes } from './routes-credentials.ts';
import { registerDownloadRoutes } from './routes-download.ts';
import { registerEdgeRoutes } from './routes-edge.ts';
import { registerIssuanceRoutes } from './routes-issuance.ts';
import { registerNotificationRoutes } from './routes-notifications.ts';
import { registerSessionRoutes } from './routes-session.ts';
import { registerWriteRoutes } from './routes-write.ts';
import { registerStaticRoutes } from './static.ts';
import { registerTargetRoutes } from './routes-targets.ts';
import { registerVersionRoutes } from './routes-versions.ts';
import { DEFAULT_THROTTLE, LoginThrottle, type ThrottleOptions } from './throttle.ts';

export const CONSOLE_PREFIX = '/console';

export interface ConsoleFaceOptions {
  throttle?: ThrottleOptions;
  /** Certificate issuance (routes-issuance.ts); absent or off, those routes say it is not configured. */
  issuance?: IssuanceService | null;
  /** `CERTKEEPER_CONSOLE_TARGET_EDIT=on`: sessions whose role allows it may change deployment targets (routes-targets.ts). */
  targetEdit?: boolean;
}

const withHeaders = (out: FaceReply): FaceReply => ({
  ...out,
  headers: { ...SECURITY_HEADERS, 'cache-control': 'no-store', ...out.headers },
});

export function createConsoleFace(core: Core, options: ConsoleFaceOptions = {}): FacePlugin {
  const throttle = new LoginThrottle(core.clock, options.throttle ?? DEFAULT_THROTTLE);
  return {
    name: 'console',
    prefixes: [CONSOLE_PREFIX],
    openapi: CONSOLE_OPENAPI,

    async register(app: FastifyInstance) {
      installSecurityHeaders(app);
      app.removeContentTypeParser('text/plain');
      registerStaticRoutes(app, await loadAssets());
      registerSessionRoutes(app, core, throttle);
      registerCertificateRoutes(app, core);
      registerWriteRoutes(app, core);
      registerDownloadRoutes(app, core);
      registerCredentialRoutes(app, core);
      registerEdgeRoutes(app, core);
      registerTargetRoutes(app, core, { edit: options.targetEdit === true });
      registerNotificationRoutes(app, core);
      registerVersionRoutes(app, core);
      registerIssuanceRoutes(app, core, options.issuance ?? null);
    },

    renderError: (error) => withHeaders(withRetryAfter(renderConsoleError(error), error)),
    renderInternalError: () => withHeaders(internalReply()),
    renderNotFound: (request) =>
      withHeaders({
        status: 404,
        body: errorBody(
          'not_found',
          `Nothing at ${request.method} ${(request.raw.url ?? request.url).split('?', 1)[0]?.slice(0, 200)}.`,
        ),
      }),
    renderBodyTooLarge: (_request, limitBytes) =>
      withHeaders({
        status: 413,
        body: errorBody(
          'input_too_large',
          `The request is larger than ${Math.floor(limitBytes / 1024 / 1024)} MiB. Certificates, keys and chains are far smaller: check what was picked.`,
        ),
      }),
    renderBadRequest: (_request, problem) =>
      withHeaders({ status: problem.status, body: errorBody(problem.kind, problem.message) }),
  };
}

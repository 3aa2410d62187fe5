/**
 * The NHN Cloud Certificate Manager face: API v1.0–v1.3 under `/certmanager`, and the User Access
 * Key token endpoint under `/oauth2/token`. Certmanager failures use NHN's envelope
 * (`{"header":{"resultCode","resultMessage","isSuccessful":false},"body":{}}`), token endpoint
 * failures OAuth's (`{"error","error_description"}`). docs/compat/nhn.md records every choice.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../../config/config.ts';
import type { Core } from '../../core/core.ts';
import type { AppError } from '../../domain/errors.ts';
import { withRetryAfter, type FacePlugin, type FaceReply } from '../../server/index.ts';
import { FACE_CODES, NhnWireError, sizeMessage, wireOf, type NhnWire } from './errors.ts';
import { notMultipartError } from './multipart.ts';
import { NHN_OPENAPI } from './openapi.ts';
import { failure } from './present.ts';
import { CERTMANAGER_PREFIX, isUploadRoute, registerCertmanagerRoutes, UPLOAD_LIMITS } from './routes.ts';
import {
  OAUTH_PREFIX,
  oauthReply,
  oauthReplyOf,
  OAuthWireError,
  registerTokenRoute,
  type OAuthReply,
} from './tokens.ts';

const isOAuth = (request: FastifyRequest): boolean => (request.raw.url ?? request.url).startsWith(OAUTH_PREFIX);

function fromOAuth(out: OAuthReply): FaceReply {
  return { status: out.status, body: out.body, headers: { 'cache-control': 'no-store', ...out.headers } };
}

/**
 * `Connection: close` when a refused request's body is still unread and unbounded: draining it
 * (what Node does otherwise, to keep the connection) could mean reading any amount.
 */
function closeHeaders(request: FastifyRequest, error?: AppError): Record<string, string> {
  if (error instanceof NhnWireError && error.closeConnection) return { connection: 'close' };
  if (request.method !== 'POST' || request.raw.complete) return {};
  const length = Number(request.headers['content-length'] ?? Number.NaN);
  return Number.isFinite(length) && length <= UPLOAD_LIMITS.fileBytes + UPLOAD_LIMITS.framingBytes
    ? {}
    : { connection: 'close' };
}

/**
 * Every certmanager answer is tenant data (certificates, and files that may hold a private key):
 * `Cache-Control: no-store`, on failures as on successes, so no proxy or browser keeps a copy.
 */
const NO_STORE = { 'cache-control': 'no-store' } as const;

function fromWire(request: FastifyRequest, wire: NhnWire, error?: AppError): FaceReply {
  return { status: wire.status, body: failure(wire), headers: { ...NO_STORE, ...closeHeaders(request, error) } };
}

export function createNhnFace(
  core: Core,
  config: Pick<Config, 'tokenTtlSeconds' | 'apiTimezoneOffsetMinutes'>,
): FacePlugin {
  return {
    name: 'nhn',
    prefixes: [CERTMANAGER_PREFIX, OAUTH_PREFIX],
    openapi: NHN_OPENAPI,

    async register(app: FastifyInstance) {
      app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
        done(null, new URLSearchParams(body as string));
      });
      // Uploads stream the body themselves (multipart.ts); no other route takes multipart.
      app.addContentTypeParser('multipart/form-data', (request, _payload, done) => {
        if (isUploadRoute(request)) done(null, undefined);
        else if (isOAuth(request))
          done(
            new OAuthWireError(
              'invalid_argument',
              400,
              'invalid_request',
              'Send grant_type=client_credentials as application/x-www-form-urlencoded.',
            ),
            undefined,
          );
        else done(notMultipartError(), undefined);
      });
      app.addHook('onSend', async (_request, reply) => {
        if (!reply.hasHeader('cache-control')) reply.header('cache-control', NO_STORE['cache-control']);
      });
      registerTokenRoute(app, core, config);
      registerCertmanagerRoutes(app, core, { offsetMinutes: config.apiTimezoneOffsetMinutes });
    },

    renderError(error, request) {
      if (isOAuth(request)) return fromOAuth(oauthReplyOf(error));
      const wire = wireOf(error);
      // NHN's documented codes carry NHN's fixed text; the specific (safe) reason goes to the log.
      if (wire.resultMessage !== error.message)
        request.log.info({ resultCode: wire.resultCode, reason: error.message }, 'nhn: refused');
      return withRetryAfter(fromWire(request, wire, error), error);
    },

    renderInternalError(request) {
      if (isOAuth(request)) return fromOAuth(oauthReply(500, 'server_error', 'Internal server error.'));
      return fromWire(request, {
        status: 500,
        resultCode: FACE_CODES.internal,
        resultMessage: 'Internal server error.',
      });
    },

    renderNotFound(request) {
      if (isOAuth(request))
        return fromOAuth(
          oauthReply(404, 'invalid_request', 'No such endpoint; the token endpoint is POST /oauth2/token/create.'),
        );
      const path = (request.raw.url ?? request.url).split('?', 1)[0];
      return fromWire(request, {
        status: 404,
        resultCode: FACE_CODES.noSuchApi,
        resultMessage: `No such API: ${request.method} ${path}.`,
      });
    },

    renderBodyTooLarge(request, limitBytes): FaceReply {
      const declared = request.headers['content-length'];
      if (isOAuth(request)) {
        return {
          status: 413,
          body: oauthReply(413, 'invalid_request', `The request body is over ${limitBytes} bytes.`).body,
          headers: { 'cache-control': 'no-store', connection: 'close' },
        };
      }
      const resultMessage = sizeMessage(limitBytes, declared ?? `more than ${limitBytes}`);
      return {
        status: 413,
        body: failure({ status: 413, resultCode: 52008, resultMessage }),
        headers: { ...NO_STORE, connection: 'close' },
      };
    },

    renderBadRequest(request, problem) {
      if (isOAuth(request)) return fromOAuth(oauthReply(problem.status, 'invalid_request', problem.message));
      const resultCode = problem.status === 415 ? FACE_CODES.unsupportedMediaType : FACE_CODES.malformedRequest;
      return fromWire(request, { status: problem.status, resultCode, resultMessage: problem.message });
    },
  };
}

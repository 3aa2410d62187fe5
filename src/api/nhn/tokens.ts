/**
 * `POST /oauth2/token/create`: NHN's User Access Key token endpoint, OAuth 2.0 client credentials
 * (RFC 6749 §4.4). `Authorization: Basic base64(accessKey:secretKey)`, form body
 * `grant_type=client_credentials` → `{"access_token","token_type":"Bearer","expires_in"}`.
 *
 * Errors are OAuth-style (RFC 6749 §5.2), not NHN envelopes: `{"error","error_description"}`.
 * Checked in this order: the Authorization header (missing or not Basic: 401 invalid_client;
 * Basic but undecodable: 400 invalid_request), the body (not a form, grant_type missing or
 * repeated: 400 invalid_request; another grant: 400 unsupported_grant_type), then the key pair
 * (wrong, unknown or revoked: 401 invalid_client). A `scope` parameter is accepted and ignored.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../../config/config.ts';
import type { Core } from '../../core/core.ts';
import { AppError, type ErrorCode } from '../../domain/errors.ts';

export const TOKEN_PATH = '/oauth2/token/create';
export const OAUTH_PREFIX = '/oauth2/token';
/** Form bodies of the token endpoint are tiny; anything larger is refused (413). */
export const TOKEN_BODY_LIMIT_BYTES = 8192;

export type OAuthErrorName =
  'invalid_request' | 'invalid_client' | 'unsupported_grant_type' | 'server_error' | 'temporarily_unavailable';

export interface OAuthReply {
  status: number;
  body: { error: OAuthErrorName; error_description: string };
  headers?: Record<string, string>;
}

/** An OAuth failure of the token endpoint, rendered as is by the face. */
export class OAuthWireError extends AppError {
  readonly oauth: OAuthReply;
  constructor(code: ErrorCode, status: number, error: OAuthErrorName, description: string) {
    super(code, description);
    this.oauth = {
      status,
      body: { error, error_description: description },
      ...(status === 401 ? { headers: { 'www-authenticate': 'Basic realm="certkeeper"' } } : {}),
    };
  }
}

/** Any error under the token endpoint's prefix, OAuth-style. */
export function oauthReplyOf(error: AppError): OAuthReply {
  if (error instanceof OAuthWireError) return error.oauth;
  if (error.code === 'internal') return oauthReply(500, 'server_error', 'Internal server error.');
  if (error.code === 'unavailable')
    return oauthReply(503, 'temporarily_unavailable', 'The service is temporarily unavailable. Try again shortly.');
  return oauthReply(400, 'invalid_request', error.message);
}

export function oauthReply(status: number, error: OAuthErrorName, description: string): OAuthReply {
  return { status, body: { error, error_description: description } };
}

const BASIC = /^basic +([A-Za-z0-9+/]+={0,2}) *$/i;

function basicCredentials(request: FastifyRequest): { accessKey: string; secretKey: string } {
  const header = request.headers.authorization;
  if (header === undefined || header.trim() === '') {
    throw new OAuthWireError(
      'unauthenticated',
      401,
      'invalid_client',
      'Client authentication required: send Authorization: Basic base64(accessKey:secretKey).',
    );
  }
  if (!/^basic(?: |$)/i.test(header.trim())) {
    throw new OAuthWireError(
      'unauthenticated',
      401,
      'invalid_client',
      'Unsupported client authentication: use Authorization: Basic base64(accessKey:secretKey).',
    );
  }
  const match = BASIC.exec(header.trim());
  const decoded = match ? Buffer.from(match[1] as string, 'base64').toString('utf8') : '';
  const colon = decoded.indexOf(':');
  if (colon <= 0 || colon === decoded.length - 1) {
    throw new OAuthWireError(
      'invalid_argument',
      400,
      'invalid_request',
      'The Authorization header is malformed: expected Basic and the base64 of accessKey:secretKey.',
    );
  }
  return { accessKey: decoded.slice(0, colon), secretKey: decoded.slice(colon + 1) };
}

function checkGrant(body: unknown): void {
  if (!(body instanceof URLSearchParams)) {
    throw new OAuthWireError(
      'invalid_argument',
      400,
      'invalid_request',
      'Send grant_type=client_credentials as application/x-www-form-urlencoded.',
    );
  }
  const grants = body.getAll('grant_type');
  if (grants.length === 0)
    throw new OAuthWireError('invalid_argument', 400, 'invalid_request', 'grant_type is required.');
  if (grants.length > 1)
    throw new OAuthWireError('invalid_argument', 400, 'invalid_request', 'grant_type is given more than once.');
  if (grants[0] !== 'client_credentials') {
    throw new OAuthWireError(
      'invalid_argument',
      400,
      'unsupported_grant_type',
      'Only grant_type=client_credentials is supported.',
    );
  }
}

export function registerTokenRoute(app: FastifyInstance, core: Core, config: Pick<Config, 'tokenTtlSeconds'>): void {
  app.post(TOKEN_PATH, { bodyLimit: TOKEN_BODY_LIMIT_BYTES }, async (request, reply) => {
    const { accessKey, secretKey } = basicCredentials(request);
    checkGrant(request.body);
    const issued = await core.tokens.issue(accessKey, secretKey, {
      ttlSeconds: config.tokenTtlSeconds,
      remoteAddress: request.ip,
    });
    if (!issued)
      throw new OAuthWireError(
        'unauthenticated',
        401,
        'invalid_client',
        'The access key or secret key is wrong, or the key has been revoked.',
      );
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    return { access_token: issued.accessToken, token_type: 'Bearer', expires_in: issued.expiresIn };
  });
}

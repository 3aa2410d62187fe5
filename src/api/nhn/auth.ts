/**
 * Who is calling, per NHN API version, and whether they may touch the appKey in the path.
 *
 * - v1.3: `X-NHN-AUTHORIZATION: Bearer <token>` (a token from `POST /oauth2/token/create`).
 * - v1.1: `X-TC-AUTHENTICATION-ID` + `X-TC-AUTHENTICATION-SECRET` (access key and secret).
 * - v1.0, v1.2: the appKey in the path alone, only for tenants whose operator switched it on
 *   (`certkeeper tenant appkey-auth NAME on`); such callers act as VIEWER. A request that also
 *   carries `X-TC-AUTHENTICATION-ID` or `-SECRET` is authenticated by them exactly as on v1.1
 *   (whether appKey-only access is on or off, with the credential's role): it is at least as
 *   authenticated as the appKey alone, and NHN SDKs send them on v1.0. Wrong keys are refused as
 *   on v1.1 (401, 40105), never downgraded to appKey-only access.
 *
 * With a token or a credential, the appKey must be the credential's own tenant's: another
 * tenant's appKey answers exactly like one that does not exist (403, 40301). For appKey-only
 * versions, an unknown appKey and one without appKey access answer alike (401, 40106).
 * Authentication runs in the route's `onRequest` hook, before any body is read; the caller's
 * request rate is checked right after it (core.rateLimit: 429, resultCode 42900, when over).
 */
import type { FastifyRequest } from 'fastify';
import { credentialActor, type Actor } from '../../core/actor.ts';
import type { Core } from '../../core/core.ts';
import type { CredentialCheck } from '../../core/ports.ts';
import type { Credential, Tenant } from '../../domain/model.ts';
import { FACE_CODES, NhnWireError } from './errors.ts';
import type { NhnVersion } from './present.ts';

export interface NhnCaller {
  actor: Actor;
  tenant: Tenant;
  /** How the caller authenticated, for logs. */
  via: 'token' | 'access-key' | 'appkey';
}

const callers = new WeakMap<FastifyRequest, NhnCaller>();

/** The caller `authenticate` stored for this request; a route without the hook is a bug. */
export function callerOf(request: FastifyRequest): NhnCaller {
  const caller = callers.get(request);
  if (!caller) throw new Error('NHN route reached without authentication');
  return caller;
}

const MAX_APPKEY_LENGTH = 64;
/** RFC 6750 `b64token` after `Bearer`, scheme case-insensitive. */
const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

const fail = (status: 401 | 403, resultCode: number, resultMessage: string): NhnWireError =>
  new NhnWireError(status === 401 ? 'unauthenticated' : 'permission_denied', { status, resultCode, resultMessage });

const MESSAGES = {
  tokenMissing:
    'Authentication required: send X-NHN-AUTHORIZATION: Bearer <token> (POST /oauth2/token/create issues one).',
  tokenMalformed: 'The X-NHN-AUTHORIZATION header is malformed; expected "Bearer <token>".',
  tokenUnknown: 'The token is not valid. Request a new one from POST /oauth2/token/create.',
  tokenExpired: 'The token has expired. Request a new one from POST /oauth2/token/create.',
  tokenRevoked: 'The credential this token was issued to has been revoked.',
  keysMissing: 'Authentication required: send X-TC-AUTHENTICATION-ID and X-TC-AUTHENTICATION-SECRET.',
  keysInvalid: 'The User Access Key ID or Secret Access Key is wrong, or the key has been revoked.',
  appKeyAuth:
    'This appKey cannot be used alone: it does not exist or appKey authentication is off for it. Use v1.3 with a token or v1.1 with an access key.',
  appKeyForbidden: 'The credential has no access to this appKey.',
} as const;

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
}

/** How this face refuses a token whose credential was revoked, or that is gone (pruned). */
const tokenRefusal = (state: 'revoked' | 'unknown'): NhnWireError =>
  state === 'revoked'
    ? fail(401, FACE_CODES.tokenRevoked, MESSAGES.tokenRevoked)
    : fail(401, FACE_CODES.tokenUnknown, MESSAGES.tokenUnknown);

/**
 * The token's credential and that credential's tenant (read together). `cached`: the route's
 * use-case confirms the token in its own read, so one this process verified before may serve
 * from memory (core/tokens.ts), with the `check` that read answers.
 */
async function tokenCredential(
  core: Core,
  request: FastifyRequest,
  cached: boolean,
): Promise<{ credential: Credential; tenant: Tenant; check?: CredentialCheck }> {
  const value = header(request, 'x-nhn-authorization');
  if (value === undefined || value.trim() === '') throw fail(401, FACE_CODES.credentialsMissing, MESSAGES.tokenMissing);
  const match = BEARER.exec(value.trim());
  if (!match) throw fail(401, FACE_CODES.authorizationMalformed, MESSAGES.tokenMalformed);
  const check = await core.tokens.verify(match[1] as string, { cached });
  if (check.ok)
    return { credential: check.credential, tenant: check.tenant, ...(check.check ? { check: check.check } : {}) };
  if (check.reason === 'expired') throw fail(401, FACE_CODES.tokenExpired, MESSAGES.tokenExpired);
  throw tokenRefusal(check.reason);
}

async function accessKeyCredential(core: Core, request: FastifyRequest): Promise<Credential> {
  const accessKey = header(request, 'x-tc-authentication-id');
  const secretKey = header(request, 'x-tc-authentication-secret');
  if (!accessKey || !secretKey) throw fail(401, FACE_CODES.credentialsMissing, MESSAGES.keysMissing);
  const credential = await core.credentials.verifySecret(accessKey, secretKey);
  if (!credential) throw fail(401, FACE_CODES.accessKeyInvalid, MESSAGES.keysInvalid);
  return credential;
}

async function tenantOf(core: Core, appKey: string): Promise<Tenant | null> {
  if (appKey.length === 0 || appKey.length > MAX_APPKEY_LENGTH) return null;
  return core.tenants.getByAppKey(appKey);
}

export async function authenticate(
  core: Core,
  request: FastifyRequest,
  version: NhnVersion,
  appKey: string,
  confirmsInRead = false,
): Promise<NhnCaller> {
  const remoteAddress = request.ip;
  const sendsKeys =
    header(request, 'x-tc-authentication-id') !== undefined ||
    header(request, 'x-tc-authentication-secret') !== undefined;
  if ((version === 'v1.0' || version === 'v1.2') && !sendsKeys) {
    const tenant = await tenantOf(core, appKey);
    if (!tenant || !tenant.appKeyAuthEnabled) throw fail(401, FACE_CODES.appKeyAuthUnavailable, MESSAGES.appKeyAuth);
    return { tenant, via: 'appkey', actor: { tenantId: tenant.id, id: 'appkey', role: 'VIEWER', remoteAddress } };
  }
  let credential: Credential;
  let tenant: Tenant | null;
  let check: CredentialCheck | undefined;
  if (version === 'v1.3') {
    // The token's lookup brings the credential's tenant: its appKey must be the one asked for.
    ({ credential, tenant, check } = await tokenCredential(core, request, confirmsInRead));
    if (tenant.appKey !== appKey) tenant = null;
  } else {
    credential = await accessKeyCredential(core, request);
    tenant = await tenantOf(core, appKey);
  }
  // Another tenant's appKey answers exactly like an appKey that does not exist.
  if (!tenant || tenant.id !== credential.tenantId)
    throw fail(403, FACE_CODES.appKeyForbidden, MESSAGES.appKeyForbidden);
  return {
    tenant,
    via: version === 'v1.3' ? 'token' : 'access-key',
    actor: credentialActor(
      credential,
      remoteAddress,
      check ? { confirmation: { check }, refuse: tokenRefusal } : undefined,
    ),
  };
}

/**
 * The `onRequest` hook of every certmanager route. `confirmsInRead`: the route's use-case
 * confirms the credential in its own read (core/actor.ts), so a v1.3 token this process verified
 * before is taken from memory (the list and the downloads: one statement on PostgreSQL).
 */
export function authHook(core: Core, version: NhnVersion, options: { confirmsInRead?: boolean } = {}) {
  return async (request: FastifyRequest): Promise<void> => {
    const { appKey } = request.params as { appKey: string };
    const caller = await authenticate(core, request, version, appKey, options.confirmsInRead === true);
    // Per credential; appKey-only callers share one bucket per tenant.
    core.rateLimit.take(caller.actor);
    callers.set(request, caller);
  };
}

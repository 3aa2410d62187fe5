/**
 * The NCP API Gateway's authentication and permission check, shared by every face behind it
 * (Certificate Manager, Global Edge: same credentials, same signature, same 401 bodies), as one
 * `onRequest` hook per route, so they
 * run before the body is read (an anonymous or read-only caller cannot make the server parse a
 * large body).
 *
 * - The signature is checked by src/auth/ncp-signature.ts on the raw request target
 *   (`request.raw.url`), against `core.clock`; a failure is `unauthenticated` with the failure's
 *   own `details` text (gateway 401, errorCode 200).
 * - The Actor's tenant comes from the credential, never from the request: a request signed for
 *   one tenant only ever reaches that tenant's data.
 * - Then the credential's request rate (core.rateLimit: gateway 429/420 when over).
 * - The route's action is checked with core's policy here as well as in core, so a VIEWER that
 *   writes gets 210 before its input is looked at (core checks again: it is the authority).
 */
import type { FastifyRequest } from 'fastify';
import { credentialActor, type Actor } from '../../core/actor.ts';
import type { VerifiableCredential } from '../../core/credentials.ts';
import type { Core } from '../../core/core.ts';
import { authorize, type Action } from '../../core/policy.ts';
import { AppError } from '../../domain/errors.ts';
import { NCP_AUTH_DETAILS, verifyNcpRequest } from '../../auth/ncp-signature.ts';

const actors = new WeakMap<FastifyRequest, Actor>();

/** The `onRequest` hook of a route that needs `action`. */
export function ncpAuth(core: Core, action: Action) {
  return async function authenticate(request: FastifyRequest): Promise<void> {
    const seen: { credential: VerifiableCredential | null } = { credential: null };
    const result = await verifyNcpRequest({
      method: request.raw.method ?? request.method,
      rawUrl: request.raw.url ?? request.url,
      headers: request.raw.headersDistinct,
      now: core.clock.now(),
      lookupSecret: async (accessKey) => {
        seen.credential = await core.credentials.lookupForVerification(accessKey);
        return seen.credential?.signingKey ?? null;
      },
    });
    if (!result.ok || seen.credential === null) {
      const failure = result.ok ? 'unknown_access_key' : result.failure;
      throw new AppError('unauthenticated', NCP_AUTH_DETAILS[failure], { details: { failure } });
    }
    const { credential } = seen.credential;
    const actor = credentialActor(credential, request.ip);
    core.rateLimit.take(actor);
    authorize(actor, action);
    actors.set(request, actor);
  };
}

/** The authenticated actor of a request that passed `ncpAuth`. */
export function actorOf(request: FastifyRequest): Actor {
  const actor = actors.get(request);
  if (!actor) throw new AppError('internal', 'NCP gateway route without authentication hook');
  return actor;
}

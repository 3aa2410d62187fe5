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
 * - Routes whose use-case confirms the credential in its own read (`confirmsInRead`: the lists)
 *   check the signature with the secret this process keeps and leave the credential to that
 *   read (core/actor.ts); a revoked credential is then refused by core with this hook's 401.
 */
import type { FastifyRequest } from 'fastify';
import { credentialActor, type Actor } from '../../core/actor.ts';
import type { VerifiableCredential } from '../../core/credentials.ts';
import type { Core } from '../../core/core.ts';
import { authorize, type Action } from '../../core/policy.ts';
import { AppError } from '../../domain/errors.ts';
import { NCP_AUTH_DETAILS, verifyNcpRequest } from '../../auth/ncp-signature.ts';

const actors = new WeakMap<FastifyRequest, Actor>();

export interface NcpAuthOptions {
  /**
   * The route's use-case confirms an unconfirmed actor in its own read (core/actor.ts): the
   * signature may then be checked with the secret this process keeps, without reading the
   * credential first (one statement per request on PostgreSQL instead of two).
   */
  confirmsInRead?: boolean;
}

/** What this hook answers for a credential that is unknown or revoked. */
const unknownAccessKey = (): AppError =>
  new AppError('unauthenticated', NCP_AUTH_DETAILS.unknown_access_key, { details: { failure: 'unknown_access_key' } });

/** The `onRequest` hook of a route that needs `action`. */
export function ncpAuth(core: Core, action: Action, options: NcpAuthOptions = {}) {
  return async function authenticate(request: FastifyRequest): Promise<void> {
    const signed = {
      method: request.raw.method ?? request.method,
      rawUrl: request.raw.url ?? request.url,
      headers: request.raw.headersDistinct,
      now: core.clock.now(),
    };
    let actor: Actor | null = null;
    if (options.confirmsInRead) {
      const kept: { credential: ReturnType<Core['credentials']['cachedForVerification']> } = { credential: null };
      const result = await verifyNcpRequest({
        ...signed,
        lookupSecret: async (accessKey) => {
          kept.credential = core.credentials.cachedForVerification(accessKey);
          return kept.credential?.signingKey ?? null;
        },
      });
      // Verified with the kept secret: the route's read confirms the credential is still live,
      // and refuses it as below (a revoked key reads as unknown) when it is not.
      if (result.ok && kept.credential) {
        actor = credentialActor(kept.credential.credential, request.ip, {
          confirmation: { check: kept.credential.check },
          refuse: unknownAccessKey,
        });
      }
      // Anything else (nothing kept, or a failure) is decided on the credential as read now,
      // so a refusal is exactly the one a read gives.
    }
    if (!actor) {
      const seen: { credential: VerifiableCredential | null } = { credential: null };
      const result = await verifyNcpRequest({
        ...signed,
        lookupSecret: async (accessKey) => {
          seen.credential = await core.credentials.lookupForVerification(accessKey);
          return seen.credential?.signingKey ?? null;
        },
      });
      if (!result.ok || seen.credential === null) {
        const failure = result.ok ? 'unknown_access_key' : result.failure;
        throw new AppError('unauthenticated', NCP_AUTH_DETAILS[failure], { details: { failure } });
      }
      actor = credentialActor(seen.credential.credential, request.ip);
    }
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

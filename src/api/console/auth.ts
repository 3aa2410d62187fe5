/**
 * Who is calling the console API: the `onRequest` hook of every `/console/api` route but login.
 *
 * - The session comes from the cookie (cookies.ts) and is verified by core (idle and absolute
 *   ends, revocation of its credential). No valid session: 401, and the cookie is cleared.
 * - Every state change (any method but GET/HEAD) must also pass the same-origin checks
 *   (same-origin.ts) and carry the session's CSRF token in `X-CSRF-Token`: 403 otherwise.
 * - A route that needs an action (`certificate.write`, …) checks it here with core's policy, so a
 *   VIEWER is refused before its input is read; core checks again (it is the authority).
 * - The session's credential has a request rate (core.rateLimit): 429 with Retry-After when over.
 * - The Actor's tenant is the credential's: a session only ever reaches its own tenant's data.
 */
import type { FastifyRequest } from 'fastify';
import { credentialActor, type Actor } from '../../core/actor.ts';
import type { Core } from '../../core/core.ts';
import { authorize, type Action } from '../../core/policy.ts';
import { csrfTokenMatches, type SessionInfo } from '../../core/sessions.ts';
import { clearedSessionCookie, sessionIdOf } from './cookies.ts';
import { ConsoleWireError } from './errors.ts';
import { checkSameOrigin } from './same-origin.ts';

export interface ConsoleCaller {
  actor: Actor;
  session: SessionInfo;
  sessionId: string;
}

const callers = new WeakMap<FastifyRequest, ConsoleCaller>();

/** The caller `consoleAuth` stored for this request; a route without the hook is a bug. */
export function callerOf(request: FastifyRequest): ConsoleCaller {
  const caller = callers.get(request);
  if (!caller) throw new Error('console route reached without authentication');
  return caller;
}

const SAFE_METHODS = new Set(['GET', 'HEAD']);

const REASONS = {
  missing: 'Log in to use the console.',
  unknown: 'Your session has ended. Log in again.',
  expired: 'Your session reached its maximum length. Log in again.',
  idle: 'Your session ended after a period of inactivity. Log in again.',
  revoked: 'The access key of this session has been revoked.',
} as const;

function unauthenticated(request: FastifyRequest, reason: keyof typeof REASONS): ConsoleWireError {
  const headers: Record<string, string> =
    sessionIdOf(request) === undefined ? {} : { 'set-cookie': clearedSessionCookie(request) };
  return new ConsoleWireError(
    'unauthenticated',
    401,
    reason === 'missing' ? 'session_required' : `session_${reason}`,
    REASONS[reason],
    headers,
  );
}

/** Resolves the caller of a request, or throws the 401/403 to send. */
export async function authenticate(core: Core, request: FastifyRequest): Promise<ConsoleCaller> {
  const sessionId = sessionIdOf(request);
  if (sessionId === undefined) throw unauthenticated(request, 'missing');
  const check = await core.sessions.verify(sessionId);
  if (!check.ok) throw unauthenticated(request, check.reason);
  if (!SAFE_METHODS.has(request.method)) {
    checkSameOrigin(request);
    const presented = request.headers['x-csrf-token'];
    if (!csrfTokenMatches(check.csrfToken, typeof presented === 'string' ? presented : undefined)) {
      throw new ConsoleWireError(
        'permission_denied',
        403,
        'csrf_token_invalid',
        'The request is missing its security token (CSRF). Reload the console and try again.',
      );
    }
  }
  const { ok: _ok, ...session } = check;
  const actor = credentialActor(session.credential, request.ip);
  return { actor, session, sessionId };
}

/** The `onRequest` hook of a console API route; with `action`, the caller's role must allow it. */
export function consoleAuth(core: Core, action?: Action) {
  return async (request: FastifyRequest): Promise<void> => {
    const caller = await authenticate(core, request);
    core.rateLimit.take(caller.actor);
    if (action) authorize(caller.actor, action);
    callers.set(request, caller);
  };
}

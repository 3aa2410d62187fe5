/**
 * `/console/api/session`: log in (POST), who am I (GET), log out (DELETE).
 *
 * Login takes `{"accessKey","secretKey"}` as JSON, after the same-origin checks (against login
 * CSRF) and the throttle (throttle.ts); a wrong pair and a revoked key answer alike (401). The
 * session id goes only into the cookie; the body carries what the browser needs, including the
 * CSRF token it must echo in `X-CSRF-Token`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Core } from '../../core/core.ts';
import { can } from '../../core/policy.ts';
import type { SessionInfo } from '../../core/sessions.ts';
import type { Tenant } from '../../domain/model.ts';
import { callerOf, consoleAuth } from './auth.ts';
import { objectBody, requiredString } from './body.ts';
import { clearedSessionCookie, sessionCookie } from './cookies.ts';
import { ConsoleWireError } from './errors.ts';
import { checkSameOrigin } from './same-origin.ts';
import { throttleKeys, type LoginThrottle } from './throttle.ts';

export const SESSION_PATH = '/console/api/session';

/** What the browser knows about its session. */
export function sessionBody(session: SessionInfo, tenant: Tenant | null) {
  const { role, accessKey, description } = session.credential;
  return {
    accessKey,
    description,
    role,
    tenant: tenant?.name ?? null,
    csrfToken: session.csrfToken,
    createdAt: session.createdAt.toISOString(),
    idleExpiresAt: session.idleExpiresAt.toISOString(),
    expiresAt: session.expiresAt.toISOString(),
    /** What the UI offers; the server refuses the rest anyway (core's policy). */
    can: {
      writeCertificates: can(role, 'certificate.write'),
      readPrivateKeys: can(role, 'certificate.key.read'),
      manageCredentials: can(role, 'credential.write'),
      readAudit: can(role, 'audit.read'),
      manageTargets: can(role, 'deploy-target.write'),
    },
  };
}

const LOGIN_FAILED = 'The access key or secret key is wrong, or the key has been revoked.';

export function registerSessionRoutes(app: FastifyInstance, core: Core, throttle: LoginThrottle): void {
  app.post(SESSION_PATH, async (request, reply) => {
    checkSameOrigin(request);
    const body = objectBody(request.body);
    const accessKey = requiredString(body, 'accessKey', 256, 'access key').trim();
    const secretKey = requiredString(body, 'secretKey', 256, 'secret key');
    const keys = throttleKeys(accessKey, request.ip);
    const check = throttle.check(keys);
    if (!check.allowed) throw throttled(check.retryAfterMs);
    const started = await core.sessions.login(accessKey, secretKey, { remoteAddress: request.ip });
    if (!started) {
      throttle.fail(keys);
      request.log.info({ accessKey }, 'console: login failed');
      throw new ConsoleWireError('unauthenticated', 401, 'login_failed', LOGIN_FAILED);
    }
    throttle.clear(keys[0] as string);
    const tenant = await core.tenants.getById(started.credential.tenantId);
    return reply
      .header('set-cookie', sessionCookie(request, started.sessionId))
      .header('cache-control', 'no-store')
      .send(sessionBody(started, tenant));
  });

  app.get(SESSION_PATH, { onRequest: consoleAuth(core) }, async (request, reply) => {
    const { session } = callerOf(request);
    const tenant = await core.tenants.getById(session.credential.tenantId);
    return reply.header('cache-control', 'no-store').send(sessionBody(session, tenant));
  });

  app.delete(SESSION_PATH, { onRequest: consoleAuth(core) }, async (request: FastifyRequest, reply) => {
    const { sessionId, actor } = callerOf(request);
    await core.sessions.logout(sessionId, actor);
    return reply.header('set-cookie', clearedSessionCookie(request)).code(204).send();
  });
}

function throttled(retryAfterMs: number): ConsoleWireError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  const wait = seconds < 120 ? `${seconds} second${seconds === 1 ? '' : 's'}` : `${Math.ceil(seconds / 60)} minutes`;
  return new ConsoleWireError(
    'unauthenticated',
    429,
    'login_throttled',
    `Too many failed logins. Wait ${wait} before trying again.`,
    { 'retry-after': String(seconds) },
  );
}

/**
 * Console sessions: the web console (`/console`) logs in with an access key and secret key, like
 * MinIO's console, and gets a session.
 *
 * Contract:
 * - A session id is 32 random bytes (base64url), handed out once (the face puts it in an HttpOnly
 *   cookie); the store keeps only its SHA-256. Sessions live in the store, so several processes on
 *   one PostgreSQL share them.
 * - A session ends at the first of: its absolute end (`absoluteMs` after login, default 12 h),
 *   `idleMs` without use (default 30 min), logout, or the revocation of its credential
 *   (verification reads the credential's current state; the role a session acts with is the
 *   credential's role now). All instants come from the injected clock.
 * - Use is recorded (`lastSeenAt`) at most once per `touchEveryMs` (default 60 s), so a busy
 *   console does not write on every request; the idle end can therefore come up to that much early.
 * - The CSRF token of a session is derived from its id (HMAC-SHA256 keyed by the id), so it is
 *   per session, stored nowhere, and useless without the cookie.
 * - Logins are audited (`console.login`, success, or failure for a known access key); logouts too.
 *   Throttling of failed logins is the face's job (it knows the remote address).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Credential } from '../domain/model.ts';
import { credentialActor, type Actor } from './actor.ts';
import type { AuditService } from './audit.ts';
import type { CredentialService } from './credentials.ts';
import { newToken } from './ids.ts';
import type { Clock, Store } from './ports.ts';
import { hashToken } from './tokens.ts';

export interface SessionLimits {
  idleMs: number;
  absoluteMs: number;
  touchEveryMs: number;
  /** Live sessions one credential may hold; one more login drops the soonest-ending. */
  maxPerCredential: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = {
  idleMs: 30 * 60_000,
  absoluteMs: 12 * 60 * 60_000,
  touchEveryMs: 60_000,
  maxPerCredential: 20,
};

export interface SessionInfo {
  credential: Credential;
  /** Send back in `X-CSRF-Token` on every state change. */
  csrfToken: string;
  createdAt: Date;
  /** When the session ends if unused from now on. */
  idleExpiresAt: Date;
  /** When the session ends whatever happens. */
  expiresAt: Date;
}

export interface StartedSession extends SessionInfo {
  /** The secret session id: shown once (the cookie value), never stored in clear. */
  sessionId: string;
}

export type SessionCheck =
  | ({ ok: true } & SessionInfo)
  /** `unknown`: never issued, logged out or pruned; `expired`: absolute end; `idle`: unused too long; `revoked`: its credential was revoked. */
  | { ok: false; reason: 'unknown' | 'expired' | 'idle' | 'revoked' };

export interface SessionService {
  readonly limits: SessionLimits;
  /** Starts a session for a right access key and secret; null when the pair is wrong or revoked. */
  login(
    accessKey: string,
    secretKey: string,
    options: { remoteAddress: string | null },
  ): Promise<StartedSession | null>;
  verify(sessionId: string): Promise<SessionCheck>;
  /** Ends the session; ending an unknown one is not an error. */
  logout(sessionId: string, actor: Actor | null): Promise<void>;
}

/** Longer than any id certkeeper issues by far; longer input is not hashed, just refused. */
const MAX_SESSION_ID_LENGTH = 128;
const MAX_KEY_LENGTH = 256;

export const csrfTokenOf = (sessionId: string): string =>
  createHmac('sha256', sessionId).update('certkeeper console csrf v1').digest('base64url');

/** Constant-time comparison of a presented CSRF token with the session's. */
export function csrfTokenMatches(expected: string, presented: string | undefined): boolean {
  if (presented === undefined) return false;
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(presented, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

export function createSessionService(
  store: Store,
  clock: Clock,
  credentials: CredentialService,
  audit: AuditService,
  limits: SessionLimits = DEFAULT_SESSION_LIMITS,
): SessionService {
  return {
    limits,

    async login(accessKey, secretKey, options) {
      if (accessKey.length === 0 || accessKey.length > MAX_KEY_LENGTH || secretKey.length > MAX_KEY_LENGTH) return null;
      const credential = await credentials.verifySecret(accessKey, secretKey);
      if (!credential) {
        // A failure against a real access key goes to that tenant's audit trail.
        const known = await store.credentials.getByAccessKey(accessKey);
        if (known)
          await audit.record(
            credentialActor(known.credential, options.remoteAddress),
            'console.login',
            `credential:${accessKey}`,
            'failure',
            { reason: known.credential.revokedAt ? 'revoked' : 'wrong_secret' },
          );
        return null;
      }
      const sessionId = newToken();
      const createdAt = clock.now();
      const expiresAt = new Date(createdAt.getTime() + limits.absoluteMs);
      await store.sessions.insert(
        { idHash: hashToken(sessionId), credentialId: credential.id, createdAt, expiresAt },
        { idleCutoff: new Date(createdAt.getTime() - limits.idleMs), maxLivePerCredential: limits.maxPerCredential },
      );
      await audit.record(
        credentialActor(credential, options.remoteAddress),
        'console.login',
        `credential:${credential.accessKey}`,
        'success',
        { expiresAt: expiresAt.toISOString() },
      );
      return {
        sessionId,
        credential,
        csrfToken: csrfTokenOf(sessionId),
        createdAt,
        idleExpiresAt: idleEnd(createdAt, expiresAt),
        expiresAt,
      };
    },

    async verify(sessionId) {
      if (sessionId.length === 0 || sessionId.length > MAX_SESSION_ID_LENGTH) return { ok: false, reason: 'unknown' };
      const idHash = hashToken(sessionId);
      const found = await store.sessions.findByHash(idHash);
      if (!found) return { ok: false, reason: 'unknown' };
      if (found.credential.revokedAt) return { ok: false, reason: 'revoked' };
      const now = clock.now();
      // Valid for [createdAt, expiresAt) and while used at least every idleMs.
      if (now.getTime() >= found.expiresAt.getTime()) return { ok: false, reason: 'expired' };
      if (now.getTime() >= found.lastSeenAt.getTime() + limits.idleMs) return { ok: false, reason: 'idle' };
      let lastSeenAt = found.lastSeenAt;
      if (now.getTime() - lastSeenAt.getTime() >= limits.touchEveryMs) {
        await store.sessions.touch(idHash, now);
        lastSeenAt = now;
      }
      return {
        ok: true,
        credential: found.credential,
        csrfToken: csrfTokenOf(sessionId),
        createdAt: found.createdAt,
        idleExpiresAt: idleEnd(lastSeenAt, found.expiresAt),
        expiresAt: found.expiresAt,
      };
    },

    async logout(sessionId, actor) {
      if (sessionId.length === 0 || sessionId.length > MAX_SESSION_ID_LENGTH) return;
      await store.sessions.delete(hashToken(sessionId));
      if (actor) await audit.record(actor, 'console.logout', `credential:${actor.id}`, 'success');
    },
  };

  /** The idle end as the user sees it: from the last use (at most `touchEveryMs` ago), capped by the absolute end. */
  function idleEnd(lastSeenAt: Date, expiresAt: Date): Date {
    return new Date(Math.min(lastSeenAt.getTime() + limits.idleMs, expiresAt.getTime()));
  }
}

/**
 * Bearer tokens for the NHN face (`POST /oauth2/token/create`, then `X-NHN-AUTHORIZATION:
 * Bearer …`). A token is 32 random bytes (base64url), handed out once; the store keeps only its
 * SHA-256. It expires after the lifetime the caller asks for (config `tokenTtlSeconds`, 60–86,400 s)
 * and dies with its credential: verification reads the credential's current state, so a revoked
 * credential's tokens fail at once, and the role a token acts with is the credential's role now.
 */
import { createHash } from 'node:crypto';
import { AppError } from '../domain/errors.ts';
import type { Credential, Tenant } from '../domain/model.ts';
import type { AuditService } from './audit.ts';
import type { CredentialService } from './credentials.ts';
import { newToken } from './ids.ts';
import type { Clock, CredentialCheck, Store } from './ports.ts';

export const TOKEN_TTL_MIN_SECONDS = 60;
export const TOKEN_TTL_MAX_SECONDS = 86_400;
/** Live tokens one credential may hold; issuing one more drops the soonest-expiring. */
export const MAX_LIVE_TOKENS_PER_CREDENTIAL = 100;

export interface IssuedToken {
  /** The bearer token: shown once, never stored in clear. */
  accessToken: string;
  /** Lifetime in seconds. */
  expiresIn: number;
  expiresAt: Date;
  credential: Credential;
}

export type TokenCheck =
  | {
      ok: true;
      credential: Credential;
      tenant: Tenant;
      expiresAt: Date;
      /** Set when answered from this process's cache: the request's own read must confirm it. */
      check?: CredentialCheck;
    }
  /** `unknown`: never issued (or pruned); `expired`: past its lifetime; `revoked`: its credential was revoked. */
  | { ok: false; reason: 'unknown' | 'expired' | 'revoked' };

export interface TokenService {
  /** Exchanges an access key and secret for a token, or null when the pair is wrong or revoked. */
  issue(
    accessKey: string,
    secretKey: string,
    options: { ttlSeconds: number; remoteAddress: string | null },
  ): Promise<IssuedToken | null>;
  /**
   * The token's credential and tenant, read now. With `cached`, a token this process verified
   * before and that has not expired is answered from memory, with the `check` the request's own
   * read must confirm (core/actor.ts): a token or credential row changes only by being pruned or
   * revoked, which that read sees. Face routes pass `cached` only where their use-case confirms.
   */
  verify(token: string, options?: { cached?: boolean }): Promise<TokenCheck>;
}

export const hashToken = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

/** Longer than any token certkeeper issues by far; longer input is not hashed, just refused. */
const MAX_TOKEN_LENGTH = 512;

/** Verified tokens kept per process (see `verify`'s `cached`). */
const VERIFIED_TOKENS_MAX = 10_000;

export function createTokenService(
  store: Store,
  clock: Clock,
  credentials: CredentialService,
  audit: AuditService,
): TokenService {
  /** Tokens found live by a read, by hash: what a later `cached` verify answers without one. */
  const verified = new Map<string, { credential: Credential; tenant: Tenant; expiresAt: Date }>();
  return {
    async issue(accessKey, secretKey, options) {
      const { ttlSeconds } = options;
      if (!Number.isInteger(ttlSeconds) || ttlSeconds < TOKEN_TTL_MIN_SECONDS || ttlSeconds > TOKEN_TTL_MAX_SECONDS) {
        throw new AppError(
          'internal',
          `Token lifetime ${ttlSeconds} s is outside ${TOKEN_TTL_MIN_SECONDS}–${TOKEN_TTL_MAX_SECONDS} s.`,
        );
      }
      const credential = await credentials.verifySecret(accessKey, secretKey);
      if (!credential) return null;
      const accessToken = newToken();
      const issuedAt = clock.now();
      const expiresAt = new Date(issuedAt.getTime() + ttlSeconds * 1000);
      await store.tokens.insert(
        { tokenHash: hashToken(accessToken), credentialId: credential.id, issuedAt, expiresAt },
        MAX_LIVE_TOKENS_PER_CREDENTIAL,
      );
      await audit.record(
        {
          tenantId: credential.tenantId,
          id: credential.accessKey,
          role: credential.role,
          remoteAddress: options.remoteAddress,
        },
        'token.issue',
        `credential:${credential.accessKey}`,
        'success',
        { expiresAt: expiresAt.toISOString() },
      );
      return { accessToken, expiresIn: ttlSeconds, expiresAt, credential };
    },

    async verify(token, options = {}) {
      if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: 'unknown' };
      const tokenHash = hashToken(token);
      const now = clock.now().getTime();
      const kept = options.cached ? verified.get(tokenHash) : undefined;
      // Valid for [issuedAt, expiresAt): at expiresAt itself the token is dead. An expired kept
      // token is read again, so it is refused exactly as a read refuses it.
      if (kept && now < kept.expiresAt.getTime()) return { ok: true, ...kept, check: { tokenHash } };
      const found = await store.tokens.findByHash(tokenHash);
      if (!found || found.credential.revokedAt || now >= found.expiresAt.getTime()) verified.delete(tokenHash);
      if (!found) return { ok: false, reason: 'unknown' };
      if (found.credential.revokedAt) return { ok: false, reason: 'revoked' };
      if (now >= found.expiresAt.getTime()) return { ok: false, reason: 'expired' };
      const { credential, tenant, expiresAt } = found;
      // Bounded: past the bound, start over rather than grow.
      if (verified.size >= VERIFIED_TOKENS_MAX) verified.clear();
      verified.set(tokenHash, { credential, tenant, expiresAt });
      return { ok: true, credential, tenant, expiresAt };
    },
  };
}

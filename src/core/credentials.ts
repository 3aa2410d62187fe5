/**
 * Credentials: an access key and a secret key with a role, in one tenant. The secret is shown
 * once, at creation, and stored sealed (the NCP signature check needs it in clear, so it cannot be
 * a one-way hash). Revoked credentials stay listed, and stop authenticating at once.
 */
import { createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { AppError, isAppErrorWithCode } from '../domain/errors.ts';
import type { Credential, Role } from '../domain/model.ts';
import { ROLES } from '../domain/model.ts';
import { hasControlCharacter } from '../domain/text.ts';
import type { Actor } from './actor.ts';
import type { AuditService } from './audit.ts';
import { newAccessKey, newSecretKey } from './ids.ts';
import { authorize } from './policy.ts';
import type { Clock, CredentialCheck, Store } from './ports.ts';

export interface CreatedCredential {
  credential: Credential;
  /** Returned once; never stored in clear, never logged. */
  secretKey: string;
}

/** A live credential with its secret opened, for signature verification inside an auth hook. */
export interface VerifiableCredential {
  credential: Credential;
  secretKey: string;
  /** The secret's UTF-8 bytes as a secret KeyObject: the HMAC key of NCP signatures. */
  signingKey: KeyObject;
}

export interface CredentialService {
  /** Operator path (CLI, first start): no actor check. */
  createForTenant(tenantId: number, role: Role, description?: string): Promise<CreatedCredential>;
  /** Face path (console): ADMIN of the same tenant only. */
  create(actor: Actor, role: Role, description?: string): Promise<CreatedCredential>;
  list(actor: Actor | null, tenantId?: number): Promise<Credential[]>;
  revoke(actor: Actor | null, accessKey: string): Promise<void>;
  /** The live credential and its secret, or null when unknown or revoked. */
  lookupForVerification(accessKey: string): Promise<VerifiableCredential | null>;
  /**
   * The credential as this process's last `lookupForVerification` found it live, without a
   * read, or null when it has none. It may have been revoked since (by any process): a face
   * uses it only on routes whose use-case confirms it in its own read (`check`; core/actor.ts).
   */
  cachedForVerification(accessKey: string): (VerifiableCredential & { check: CredentialCheck }) | null;
  /** Checks an access key and secret pair (NHN Basic auth, console login) in constant time. */
  verifySecret(accessKey: string, secretKey: string): Promise<Credential | null>;
}

const secretContext = (accessKey: string): string => `credential-secret:${accessKey}`;

/** Opened secrets kept per process (see `lookupForVerification`). */
const OPENED_SECRETS_MAX = 10_000;

export function createCredentialService(store: Store, clock: Clock, audit: AuditService): CredentialService {
  async function createForTenant(
    tenantId: number,
    role: Role,
    description = '',
    actor: Actor | null = null,
  ): Promise<CreatedCredential> {
    if (!ROLES.includes(role))
      throw new AppError('invalid_argument', `The role must be one of ${ROLES.join(', ')}.`, { field: 'role' });
    if (description.length > 200)
      throw new AppError('invalid_argument', 'The description is at most 200 characters.', { field: 'description' });
    for (let attempt = 0; ; attempt++) {
      const accessKey = newAccessKey();
      const secretKey = newSecretKey();
      try {
        const sealedSecret = await store.vault.seal(Buffer.from(secretKey, 'utf8'), secretContext(accessKey));
        const credential = await store.credentials.create(
          { tenantId, accessKey, sealedSecret, role, description },
          clock.now(),
        );
        await audit.record(
          actor ?? { tenantId, id: 'cli', role: 'ADMIN', remoteAddress: null },
          'credential.create',
          `credential:${accessKey}`,
          'success',
          { role },
        );
        return { credential, secretKey };
      } catch (error) {
        if (!isAppErrorWithCode(error, 'already_exists') || attempt >= 5) throw error;
      }
    }
  }

  /**
   * Opened secrets by access key, each with the sealed blob it was opened from. Every lookup still
   * reads the credential row (a revocation, even by another process, takes effect on the next
   * request), but the secret is decrypted again only when the row's sealed blob differs from the
   * one kept: per request that saves an AES-GCM open and an HMAC key conversion. The opened
   * secrets stay in this process's memory, where the data keys that open them already are.
   *
   * `cachedForVerification` answers from here without the read: a credential row changes only
   * when it is revoked (no role change, no secret rotation: a new secret is a new credential),
   * so what the entry holds is the row as it is while `revoked_at` is null, and the request's
   * own read confirms exactly that (store/credential-check.ts). Should a credential's role or
   * secret ever become changeable, that check must compare them too.
   */
  const opened = new Map<
    string,
    { dataKeyId: number; blob: Buffer; secretKey: string; signingKey: KeyObject; credential: Credential }
  >();

  async function lookupForVerification(accessKey: string): Promise<VerifiableCredential | null> {
    // No access key holds a control character (domain/text.ts); such a key is unknown on every store.
    if (accessKey.length === 0 || accessKey.length > 128 || hasControlCharacter(accessKey)) return null;
    const found = await store.credentials.getByAccessKey(accessKey);
    if (!found || found.credential.revokedAt) {
      opened.delete(accessKey);
      return null;
    }
    const { dataKeyId, blob } = found.sealedSecret;
    let entry = opened.get(accessKey);
    if (!entry || entry.dataKeyId !== dataKeyId || !entry.blob.equals(blob)) {
      const secret = await store.vault.open(found.sealedSecret, secretContext(accessKey));
      entry = {
        dataKeyId,
        blob: Buffer.from(blob),
        secretKey: secret.toString('utf8'),
        signingKey: createSecretKey(secret),
        credential: found.credential,
      };
      // Bounded: past the bound, start over rather than grow (credentials are few in practice).
      if (opened.size >= OPENED_SECRETS_MAX) opened.clear();
      opened.set(accessKey, entry);
    }
    return { credential: found.credential, secretKey: entry.secretKey, signingKey: entry.signingKey };
  }

  function cachedForVerification(accessKey: string): (VerifiableCredential & { check: CredentialCheck }) | null {
    const entry = opened.get(accessKey);
    if (!entry) return null;
    const { credential, secretKey, signingKey } = entry;
    return { credential, secretKey, signingKey, check: { credentialId: credential.id } };
  }

  return {
    createForTenant: (tenantId, role, description) => createForTenant(tenantId, role, description),
    async create(actor, role, description) {
      authorize(actor, 'credential.write');
      return createForTenant(actor.tenantId, role, description, actor);
    },
    async list(actor, tenantId) {
      if (actor) authorize(actor, 'credential.read');
      return store.credentials.list(actor ? actor.tenantId : (tenantId ?? null));
    },
    async revoke(actor, accessKey) {
      if (actor) authorize(actor, 'credential.write');
      const found = await store.credentials.getByAccessKey(accessKey);
      // Another tenant's credential answers exactly like a missing one.
      if (!found || (actor && found.credential.tenantId !== actor.tenantId)) {
        throw new AppError('not_found', 'No such access key.', { field: 'accessKey' });
      }
      if (!found.credential.revokedAt) await store.credentials.revoke(accessKey, clock.now());
      // This process's next request with it reads the row again (others' reads confirm it: above).
      opened.delete(accessKey);
      await audit.record(
        actor ?? { tenantId: found.credential.tenantId, id: 'cli', role: 'ADMIN', remoteAddress: null },
        'credential.revoke',
        `credential:${accessKey}`,
        'success',
      );
    },
    lookupForVerification,
    cachedForVerification,
    async verifySecret(accessKey, secretKey) {
      const found = await lookupForVerification(accessKey);
      if (!found) return null;
      const a = Buffer.from(found.secretKey, 'utf8');
      const b = Buffer.from(secretKey, 'utf8');
      return a.length === b.length && timingSafeEqual(a, b) ? found.credential : null;
    },
  };
}

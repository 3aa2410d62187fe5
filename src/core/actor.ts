/**
 * Who is acting, as every use-case receives it. Faces build it after authenticating; the CLI
 * builds the local operator. Authorisation happens in core (policy.ts), so a face cannot forget it.
 */
import { AppError } from '../domain/errors.ts';
import type { Credential, Role } from '../domain/model.ts';
import type { CredentialConfirmation, Store } from './ports.ts';

export interface Actor {
  tenantId: number;
  /** Access key of the credential, or `cli` for the local operator. */
  id: string;
  role: Role;
  remoteAddress: string | null;
  /**
   * Set when the face verified the request with a credential kept in this process rather than
   * one read for this request: the use-case must confirm it in its own read before it answers
   * (`pendingCheck`, `settleCredential`). Faces set it only on routes whose use-case does.
   */
  unconfirmed?: UnconfirmedCredential;
}

/** A credential a face verified from this process's cache, and how that face refuses it. */
export interface UnconfirmedCredential {
  readonly confirmation: CredentialConfirmation;
  /**
   * The error the face's auth hook throws for this credential when it is revoked or unknown (a
   * token pruned since): the request is refused exactly as the hook would have refused it.
   */
  refuse(state: 'revoked' | 'unknown'): Error;
}

/** The check to hand to the store's read, while the actor's credential is not yet confirmed. */
export function pendingCheck(actor: Actor): CredentialConfirmation | undefined {
  const confirmation = actor.unconfirmed?.confirmation;
  return confirmation && confirmation.state === undefined ? confirmation : undefined;
}

/**
 * After the read that carried `pendingCheck`: throws the face's refusal unless the credential
 * was live in that read's snapshot. Every use-case that accepts an unconfirmed actor calls it
 * before it presents, unseals or audits anything.
 */
export function settleCredential(actor: Actor): void {
  const unconfirmed = actor.unconfirmed;
  if (!unconfirmed) return;
  const { state } = unconfirmed.confirmation;
  if (state === 'live') return;
  if (state === undefined) throw new AppError('internal', 'A credential check was not answered by the store.');
  throw unconfirmed.refuse(state);
}

/**
 * For a use-case whose reads did not carry the check (a miss decided without reading): the
 * check by a read of its own, then `settleCredential`.
 */
export async function confirmCredential(store: Pick<Store, 'credentials'>, actor: Actor): Promise<void> {
  const pending = pendingCheck(actor);
  if (pending) await store.credentials.confirm(pending);
  settleCredential(actor);
}

/** True when the actor may act on anything: no credential check is outstanding or failed. */
export const isConfirmed = (actor: Actor): boolean =>
  actor.unconfirmed === undefined || actor.unconfirmed.confirmation.state === 'live';

/** The local operator of the CLI: full rights on the tenant it names. */
export function cliActor(tenantId: number): Actor {
  return { tenantId, id: 'cli', role: 'ADMIN', remoteAddress: null };
}

/**
 * The actor of a request authenticated as `credential` (every face's one way to build it: the
 * credential's own tenant and role, never values the request claims).
 */
export function credentialActor(
  credential: Pick<Credential, 'tenantId' | 'accessKey' | 'role'>,
  remoteAddress: string | null,
  unconfirmed?: UnconfirmedCredential,
): Actor {
  const actor: Actor = {
    tenantId: credential.tenantId,
    id: credential.accessKey,
    role: credential.role,
    remoteAddress,
  };
  if (unconfirmed) actor.unconfirmed = unconfirmed;
  return actor;
}

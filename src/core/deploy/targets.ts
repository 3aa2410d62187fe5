/**
 * Deployment targets, per tenant: set, show, clear (the CLI's `certkeeper target …`). Setting a
 * target republishes every live slot of the tenant to it (the old target keeps what it has).
 * A webhook target gets a new random secret each time it is set; it is returned once, to be
 * printed, and stored sealed by the vault. Clearing is refused while the tenant has slots that
 * are not DELETED: they would have nowhere to go (or be removed from).
 */
import { randomBytes } from 'node:crypto';
import type { DeployTarget } from '../../domain/deploy-target.ts';
import { AppError } from '../../domain/errors.ts';
import type { Actor } from '../actor.ts';
import type { AuditService } from '../audit.ts';
import { authorize } from '../policy.ts';
import type { Clock, Store } from '../ports.ts';
import { deployTargetSpec, type DeployTargetInput } from './target-spec.ts';

export const targetSecretContext = (tenantId: number): string => `deploy-target-secret:${tenantId}`;

export interface SetTargetResult {
  target: DeployTarget;
  /** The webhook secret, in clear: shown once, never again. Null for directory targets. */
  secret: string | null;
  /** Slots marked for republishing to the new target. */
  republished: number[];
}

export interface DeployTargetService {
  get(actor: Actor): Promise<DeployTarget | null>;
  set(actor: Actor, input: DeployTargetInput): Promise<SetTargetResult>;
  clear(actor: Actor): Promise<boolean>;
}

export function createDeployTargetService(
  store: Store,
  clock: Clock,
  audit: AuditService,
  notify: () => void,
): DeployTargetService {
  return {
    async get(actor) {
      authorize(actor, 'certificate.read');
      return (await store.targets.get(actor.tenantId))?.target ?? null;
    },

    async set(actor, input) {
      authorize(actor, 'certificate.write');
      try {
        const spec = deployTargetSpec(input);
        const secret = spec.kind === 'webhook' ? randomBytes(32).toString('base64url') : null;
        const sealed =
          secret === null
            ? null
            : await store.vault.seal(Buffer.from(secret, 'utf8'), targetSecretContext(actor.tenantId));
        const target = await store.targets.set(actor.tenantId, spec, sealed, clock.now());
        const republished = await store.slots.republishTenant(actor.tenantId, clock.now());
        await audit.record(actor, 'deploy-target.set', `tenant:${actor.tenantId}`, 'success', {
          kind: spec.kind,
          republished: republished.length,
        });
        if (republished.length > 0) notify();
        return { target, secret, republished };
      } catch (error) {
        await audit.record(actor, 'deploy-target.set', `tenant:${actor.tenantId}`, 'failure', {
          code: error instanceof AppError ? error.code : 'internal',
        });
        throw error;
      }
    },

    async clear(actor) {
      authorize(actor, 'certificate.write');
      const live = await store.slots.countLive(actor.tenantId);
      if (live > 0) {
        await audit.record(actor, 'deploy-target.clear', `tenant:${actor.tenantId}`, 'failure', { code: 'conflict' });
        throw new AppError(
          'conflict',
          `The tenant has ${live} provisioned slot(s); delete them first (their certificates would have nowhere to go, and could not be removed from the target).`,
        );
      }
      const cleared = await store.targets.clear(actor.tenantId);
      await audit.record(actor, 'deploy-target.clear', `tenant:${actor.tenantId}`, 'success', { cleared });
      return cleared;
    },
  };
}

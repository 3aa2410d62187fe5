/**
 * Deployment targets, per tenant: set, show, clear (the CLI's `certkeeper target …`). Setting a
 * target republishes every live slot of the tenant to it (the old target keeps what it has).
 * A webhook target gets a new random secret each time it is set; it is returned once, to be
 * printed, and stored sealed by the vault. Clearing is refused while the tenant has slots that
 * are not DELETED: they would have nowhere to go (or be removed from).
 *
 * `update` is the one way a person changes a target (the CLI's `target set`, the console's edit):
 * it merges the change into the current target (target-spec.ts `mergeTargetChange`), checks it,
 * looks at a directory target's folder (refused when missing unless `create`), then sets it.
 * Setting, changing and clearing need `deploy-target.write`.
 */
import { randomBytes } from 'node:crypto';
import type { DeployTarget, LastDeployment } from '../../domain/deploy-target.ts';
import { AppError } from '../../domain/errors.ts';
import type { Actor } from '../actor.ts';
import type { AuditService } from '../audit.ts';
import { authorize } from '../policy.ts';
import type { Clock, Store } from '../ports.ts';
import type { TargetFolders } from './deployer.ts';
import { deployTargetSpec, mergeTargetChange, type DeployTargetChange, type DeployTargetInput } from './target-spec.ts';

export const targetSecretContext = (tenantId: number): string => `deploy-target-secret:${tenantId}`;

export interface SetTargetResult {
  target: DeployTarget;
  /** The webhook secret, in clear: shown once, never again. Null for directory targets. */
  secret: string | null;
  /** Slots marked for republishing to the new target. */
  republished: number[];
}

export interface UpdateTargetResult extends SetTargetResult {
  /** The directory target's folder did not exist and was created (`create`). */
  createdDirectory: boolean;
}

export interface DeployTargetService {
  get(actor: Actor): Promise<DeployTarget | null>;
  /**
   * The target and the worker's last publish or removal to it (success or failure), kept on the
   * target's row; null before the first one since the target was set.
   */
  show(actor: Actor): Promise<{ target: DeployTarget | null; lastDeployment: LastDeployment | null }>;
  /** Sets the target as given, whole (no merge, no folder check): tests and internal callers. */
  set(actor: Actor, input: DeployTargetInput): Promise<SetTargetResult>;
  /** Changes the target: the change merged into the current one, the folder checked (see above). */
  update(actor: Actor, change: DeployTargetChange, options?: { create?: boolean }): Promise<UpdateTargetResult>;
  clear(actor: Actor): Promise<boolean>;
}

export function createDeployTargetService(
  store: Store,
  clock: Clock,
  audit: AuditService,
  notify: () => void,
  /** The directory check of `update` (src/deployers/target-folders.ts); null: `update` of a directory is refused. */
  folders: TargetFolders | null = null,
): DeployTargetService {
  async function write(actor: Actor, prepare: () => Promise<{ input: DeployTargetInput; created: boolean }>) {
    authorize(actor, 'deploy-target.write');
    try {
      const { input, created } = await prepare();
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
        createdDirectory: created,
      });
      if (republished.length > 0) notify();
      return { target, secret, republished, createdDirectory: created };
    } catch (error) {
      await audit.record(actor, 'deploy-target.set', `tenant:${actor.tenantId}`, 'failure', {
        code: error instanceof AppError ? error.code : 'internal',
        ...(error instanceof AppError && error.field !== undefined ? { field: error.field } : {}),
      });
      throw error;
    }
  }

  return {
    async get(actor) {
      authorize(actor, 'certificate.read');
      return (await store.targets.get(actor.tenantId))?.target ?? null;
    },

    async show(actor) {
      authorize(actor, 'certificate.read');
      const stored = await store.targets.get(actor.tenantId);
      return { target: stored?.target ?? null, lastDeployment: stored?.lastDeployment ?? null };
    },

    async set(actor, input) {
      const { createdDirectory: _, ...result } = await write(actor, async () => ({ input, created: false }));
      return result;
    },

    async update(actor, change, options = {}) {
      return write(actor, async () => {
        const current = (await store.targets.get(actor.tenantId))?.target.spec ?? null;
        const input = mergeTargetChange(current, change);
        // Bad values are refused before the folder is looked at (or created).
        const spec = deployTargetSpec(input);
        if (spec.kind !== 'directory') return { input, created: false };
        if (folders === null) throw new Error('deploy targets: no folder check wired (createCore folders)');
        const found = await folders.prepare(spec.path, options.create === true);
        if (found === 'not-directory')
          throw new AppError('invalid_argument', `${spec.path} exists and is not a directory.`, { field: 'path' });
        if (found === 'missing')
          throw new AppError(
            'invalid_argument',
            `The directory ${spec.path} does not exist. Create it first, or ask for it to be created (--create on the command line; "Create the directory" in the console).`,
            { field: 'path', details: { missing: true } },
          );
        return { input, created: found === 'created' };
      });
    },

    async clear(actor) {
      authorize(actor, 'deploy-target.write');
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

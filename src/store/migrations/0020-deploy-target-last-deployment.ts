/**
 * Migration 0020: the tenant's deployment target remembers its last deployment (issue 21: the
 * console's target card and `certkeeper target show`). The deploy worker writes it with each
 * publish or removal it records (success or failure); `set` of a new target clears it.
 *
 * Why a row of its own and not the audit log: the log has the same facts, but the newest
 * deployment of one tenant needs an index on (tenant, action, id), one more index write on every
 * audited event of every tenant, for a card that is read now and then. Four nullable columns on a
 * one-row-per-tenant table cost one update per deployment, which is rare.
 *
 * Deployments before this migration are not carried over: the card says none until the next one.
 * Numbered 0020: 0019 is left to another branch; the names only have to sort in order.
 */
import type { Kysely, Migration } from 'kysely';

const COLUMNS = [
  ['last_deployment_slot_id', 'bigint'],
  ['last_deployment_action', 'text'],
  ['last_deployment_result', 'text'],
  ['last_deployment_at', 'bigint'],
] as const;

export function deployTargetLastDeploymentSchema(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      for (const [name, type] of COLUMNS) await db.schema.alterTable('deploy_targets').addColumn(name, type).execute();
    },
    async down(db: Kysely<unknown>) {
      for (const [name] of COLUMNS) await db.schema.alterTable('deploy_targets').dropColumn(name).execute();
    },
  };
}

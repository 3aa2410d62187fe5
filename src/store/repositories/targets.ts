/**
 * DeployTargetRepository over Kysely (both dialects): one row per tenant, upserted. The webhook
 * secret arrives sealed by core (vault context `deploy-target-secret:<tenantId>`); this file never
 * sees it in clear.
 */
import type { Kysely } from 'kysely';
import type { DeployTargetRepository } from '../../core/ports.ts';
import type { DeployTargetKind } from '../../domain/deploy-target.ts';
import { queryTemplate } from '../query-template.ts';
import { ms } from '../rows.ts';
import type { Database } from '../schema.ts';
import { targetFromRow, type SlotTables } from './slot-rows.ts';

/** Every Edge request (the tenant's target decides how slots are published and shown). */
const byTenant = queryTemplate((db: Kysely<Database & SlotTables>, tenantId: number) =>
  db.selectFrom('deploy_targets').selectAll().where('tenant_id', '=', tenantId),
);

/**
 * The kind of the tenant's target, null when none is set: the `kind` column, which `set` writes
 * with the spec it stores (`targetFromRow(row).spec.kind`).
 */
export async function targetKindOf(base: Kysely<Database>, tenantId: number): Promise<DeployTargetKind | null> {
  return (
    ((await byTenant.first(base.withTables<SlotTables>(), tenantId))?.kind as DeployTargetKind | undefined) ?? null
  );
}

export function deployTargetRepository(base: Kysely<Database>): DeployTargetRepository {
  const db = base.withTables<SlotTables>();
  return {
    async get(tenantId) {
      const row = await byTenant.first(db, tenantId);
      if (!row) return null;
      const sealedSecret =
        row.secret_blob !== null && row.secret_data_key_id !== null
          ? { dataKeyId: Number(row.secret_data_key_id), blob: row.secret_blob }
          : null;
      const lastDeployment =
        row.last_deployment_at !== null && row.last_deployment_slot_id !== null
          ? {
              slotId: Number(row.last_deployment_slot_id),
              action: row.last_deployment_action === 'remove' ? ('remove' as const) : ('publish' as const),
              result: row.last_deployment_result === 'failure' ? ('failure' as const) : ('success' as const),
              at: new Date(Number(row.last_deployment_at)),
            }
          : null;
      return { target: targetFromRow(row), sealedSecret, lastDeployment };
    },

    async set(tenantId, spec, sealedSecret, at) {
      const values = {
        kind: spec.kind,
        config: JSON.stringify(spec),
        secret_data_key_id: sealedSecret?.dataKeyId ?? null,
        secret_blob: sealedSecret?.blob ?? null,
        updated_at: ms(at),
        last_deployment_slot_id: null,
        last_deployment_action: null,
        last_deployment_result: null,
        last_deployment_at: null,
      };
      const row = await db
        .insertInto('deploy_targets')
        .values({ tenant_id: tenantId, created_at: ms(at), ...values })
        .onConflict((oc) => oc.column('tenant_id').doUpdateSet(values))
        .returningAll()
        .executeTakeFirstOrThrow();
      return targetFromRow(row);
    },

    async recordDeployment(tenantId, deployment) {
      await db
        .updateTable('deploy_targets')
        .set({
          last_deployment_slot_id: deployment.slotId,
          last_deployment_action: deployment.action,
          last_deployment_result: deployment.result,
          last_deployment_at: ms(deployment.at),
        })
        .where('tenant_id', '=', tenantId)
        .execute();
    },

    async clear(tenantId) {
      const result = await db.deleteFrom('deploy_targets').where('tenant_id', '=', tenantId).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
  };
}

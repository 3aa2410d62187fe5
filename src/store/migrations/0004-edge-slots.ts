/**
 * Migration 0004: Global Edge slots, their certificates, and the tenants' deployment targets
 * (repositories/slots.ts, repositories/targets.ts; docs/compat/edge.md).
 *
 * - `edge_slots`: one row per slot, never deleted (a DELETED slot stays readable by id). The
 *   worker's state lives here, so it survives restarts: `generation` (bumped by every user
 *   change), `deployed_generation`, the retry backoff (`attempts`, `next_attempt_at`,
 *   `last_error`, `last_error_at`) and the claim (`claimed_by`, `lease_until`), taken with one
 *   conditional UPDATE by whichever process gets there first.
 * - `edge_slot_items`: the certificates of a slot, one per region (`KR_JP`, `GLOBAL`);
 *   `deployed_fingerprint` is the certificate the target last accepted, so a replacement whose
 *   republish request was lost (crash) is found and republished.
 * - `deploy_targets`: one per tenant, the target's settings as JSON and, for webhooks, the HMAC
 *   secret sealed by the vault (AAD `deploy-target-secret:<tenant_id>`).
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { StoreDialect } from '../dialect.ts';

export function edgeSlotsSchema(d: StoreDialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('edge_slots')
        .addColumn('slot_id', d.idType, (c) => d.autoId(c))
        .addColumn('tenant_id', d.idType, (c) => c.notNull().references('tenants.id'))
        .addColumn('service_region', 'text', (c) => c.notNull())
        .addColumn('tls_version', 'text', (c) => c.notNull())
        .addColumn('cipher_profile', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('generation', 'integer', (c) => c.notNull())
        .addColumn('deployed_generation', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('last_error', 'text')
        .addColumn('last_error_at', 'bigint')
        .addColumn('next_attempt_at', 'bigint')
        .addColumn('claimed_by', 'text')
        .addColumn('lease_until', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('provisioned_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('deleted_at', 'bigint')
        .execute();
      // The face's list: the tenant's slots that are not DELETED, newest first.
      await db.schema
        .createIndex('edge_slots_tenant_listed')
        .on('edge_slots')
        .columns(['tenant_id', 'slot_id'])
        .where(sql<boolean>`status <> 'DELETED'`)
        .execute();
      // The worker's scan: slots with work, by the time they are due.
      await db.schema
        .createIndex('edge_slots_due')
        .on('edge_slots')
        .columns(['next_attempt_at', 'slot_id'])
        .where(sql<boolean>`status in ('READY', 'PUBLISHING', 'DELETING')`)
        .execute();

      await db.schema
        .createTable('edge_slot_items')
        .addColumn('item_id', d.idType, (c) => d.autoId(c))
        .addColumn('slot_id', d.idType, (c) => c.notNull().references('edge_slots.slot_id'))
        .addColumn('tenant_id', d.idType, (c) => c.notNull())
        .addColumn('region', 'text', (c) => c.notNull())
        .addColumn('certificate_no', d.idType, (c) => c.notNull().references('certificates.certificate_no'))
        .addColumn('deployed_fingerprint', 'text')
        .addUniqueConstraint('edge_slot_items_slot_region', ['slot_id', 'region'])
        .execute();
      // usedBy: the slots using a certificate.
      await db.schema
        .createIndex('edge_slot_items_certificate')
        .on('edge_slot_items')
        .columns(['tenant_id', 'certificate_no', 'slot_id'])
        .execute();

      await db.schema
        .createTable('deploy_targets')
        .addColumn('tenant_id', d.idType, (c) => c.primaryKey().references('tenants.id'))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('config', 'text', (c) => c.notNull())
        .addColumn('secret_data_key_id', d.idType, (c) => c.references('data_keys.id'))
        .addColumn('secret_blob', d.binaryType)
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
    },

    async down(db: Kysely<unknown>) {
      for (const table of ['deploy_targets', 'edge_slot_items', 'edge_slots'])
        await db.schema.dropTable(table).execute();
    },
  };
}

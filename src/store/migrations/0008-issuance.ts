/**
 * Migration 0008: certificate issuance through ACME (issue 16; repositories/issuance.ts, the port
 * core/issuance/ports.ts). Numbered 0008, not 0007: 0007 is taken by another branch of the same
 * session (issue15-metrics, 0007-expiry-day-sums); the names only have to sort in order.
 *
 * - `acme_accounts`: one ACME account per directory URL; its key sealed by the vault
 *   (AAD `acme-account-key:<directory_url>`), `account_url` filled once the CA confirmed it.
 * - `issuance_secrets`: installation secrets created once (the delegation-label key), sealed
 *   (AAD `issuance-secret:<name>`).
 * - `issuance_orders`: the durable order table, one row per job; the worker's whole state (step,
 *   ACME URLs, authorizations as JSON, the certificate key sealed with AAD
 *   `issuance-order-key:<order_id>`, the CA's problem document as JSON, retry backoff, lease).
 * - `issuance_order_names`: the names of active orders, unique: a name is in at most one active
 *   order (of any tenant) at a time; rows go when their order reaches a final step.
 * - `issuance_http_tokens`: HTTP-01 tokens of active orders and the body to serve for each.
 * - `issued_certificates`: what the renewal scan needs of each certificate issued here.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { StoreDialect } from '../dialect.ts';

/** Steps with work left (core/issuance/ports.ts ORDER_STEPS minus FINAL_STEPS), as literals. */
export const ACTIVE_ORDER_STEPS_SQL =
  "step in ('new', 'account', 'ordered', 'publishing', 'awaiting_cname', 'responding', 'polling', 'finalizing', 'downloading', 'storing', 'cleanup')";

export function issuanceSchema(d: StoreDialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('acme_accounts')
        .addColumn('account_id', d.idType, (c) => d.autoId(c))
        .addColumn('directory_url', 'text', (c) => c.notNull())
        .addColumn('account_url', 'text')
        .addColumn('key_data_key_id', d.idType, (c) => c.notNull().references('data_keys.id'))
        .addColumn('key_blob', d.binaryType, (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('acme_accounts_directory_key', ['directory_url'])
        .execute();

      await db.schema
        .createTable('issuance_secrets')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('data_key_id', d.idType, (c) => c.notNull().references('data_keys.id'))
        .addColumn('blob', d.binaryType, (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('issuance_orders')
        .addColumn('order_id', d.idType, (c) => d.autoId(c))
        .addColumn('tenant_id', d.idType, (c) => c.notNull().references('tenants.id'))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('certificate_name', d.sortableTextType, (c) => c.notNull())
        .addColumn('certificate_no', d.idType)
        .addColumn('names', 'text', (c) => c.notNull())
        .addColumn('key_kind', 'text', (c) => c.notNull())
        .addColumn('method', 'text', (c) => c.notNull())
        .addColumn('renewal', 'integer', (c) => c.notNull())
        .addColumn('step', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text')
        .addColumn('account_id', d.idType, (c) => c.references('acme_accounts.account_id'))
        .addColumn('order_url', 'text')
        .addColumn('finalize_url', 'text')
        .addColumn('certificate_url', 'text')
        .addColumn('replaces', 'text')
        .addColumn('authorizations', 'text', (c) => c.notNull())
        .addColumn('key_data_key_id', d.idType, (c) => c.references('data_keys.id'))
        .addColumn('key_blob', d.binaryType)
        .addColumn('certificate_pem', 'text')
        .addColumn('problem', 'text')
        .addColumn('last_error', 'text')
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_at', 'bigint')
        .addColumn('awaiting_since', 'bigint')
        .addColumn('claimed_by', 'text')
        .addColumn('lease_until', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      // The worker's scan: active orders by due time (the predicate is written as literals so
      // both planners can prove the partial index applies; see repositories/slots.ts).
      await db.schema
        .createIndex('issuance_orders_due')
        .on('issuance_orders')
        .columns(['next_attempt_at', 'order_id'])
        .where(sql.raw<boolean>(ACTIVE_ORDER_STEPS_SQL))
        .execute();
      await db.schema
        .createIndex('issuance_orders_tenant')
        .on('issuance_orders')
        .columns(['tenant_id', 'order_id'])
        .execute();
      await db.schema
        .createIndex('issuance_orders_certificate')
        .on('issuance_orders')
        .columns(['tenant_id', 'certificate_no', 'order_id'])
        .execute();

      await db.schema
        .createTable('issuance_order_names')
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('order_id', d.idType, (c) => c.notNull().references('issuance_orders.order_id'))
        .addColumn('tenant_id', d.idType, (c) => c.notNull())
        .addUniqueConstraint('issuance_order_names_name_key', ['name'])
        .execute();
      await db.schema
        .createIndex('issuance_order_names_order')
        .on('issuance_order_names')
        .columns(['order_id'])
        .execute();

      await db.schema
        .createTable('issuance_http_tokens')
        .addColumn('token', 'text', (c) => c.primaryKey())
        .addColumn('order_id', d.idType, (c) => c.notNull().references('issuance_orders.order_id'))
        .addColumn('key_authorization', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('issuance_http_tokens_order')
        .on('issuance_http_tokens')
        .columns(['order_id'])
        .execute();

      await db.schema
        .createTable('issued_certificates')
        .addColumn('tenant_id', d.idType, (c) => c.notNull().references('tenants.id'))
        .addColumn('certificate_no', d.idType, (c) => c.notNull())
        .addColumn('certificate_name', 'text', (c) => c.notNull())
        .addColumn('names', 'text', (c) => c.notNull())
        .addColumn('key_kind', 'text', (c) => c.notNull())
        .addColumn('method', 'text', (c) => c.notNull())
        .addColumn('renewal', 'integer', (c) => c.notNull())
        .addColumn('next_check_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('issued_certificates_pkey', ['tenant_id', 'certificate_no'])
        .execute();
      await db.schema
        .createIndex('issued_certificates_due')
        .on('issued_certificates')
        .columns(['next_check_at'])
        .where(sql.raw<boolean>('renewal = 1'))
        .execute();
    },

    async down(db: Kysely<unknown>) {
      for (const table of [
        'issued_certificates',
        'issuance_http_tokens',
        'issuance_order_names',
        'issuance_orders',
        'issuance_secrets',
        'acme_accounts',
      ])
        await db.schema.dropTable(table).execute();
    },
  };
}

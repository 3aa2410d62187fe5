/**
 * Migration 0027 (issue 23: a `/metrics` scrape makes no pass over every row): the number of
 * finished notification deliveries (outbox rows of migration 0010 whose status is `sent` or
 * `failed`) per tenant and status, kept by repositories/notifications.ts in the same transaction
 * as the two writes that change it (the attempt that finishes a delivery, the prune), so
 * `certkeeper_notification_deliveries{status}` reads at most two rows a tenant plus the pending
 * rows (through the partial index `notify_deliveries_due`) instead of grouping the whole outbox.
 * Backfilled here from the deliveries that exist. Derived data, like the certificate counters
 * (0003) and the edge slot counts (0006).
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { StoreDialect } from '../dialect.ts';

export function notifyDeliveryCountsSchema(d: StoreDialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('notify_delivery_counts')
        .addColumn('tenant_id', d.idType, (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('n', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('notify_delivery_counts_pkey', ['tenant_id', 'status'])
        .execute();
      await backfillNotifyDeliveryCounts(db);
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('notify_delivery_counts').execute();
    },
  };
}

/** Sets every count from the deliveries (the migration; a benchmark's seeding after bulk inserts). */
export async function backfillNotifyDeliveryCounts(db: Kysely<unknown>): Promise<void> {
  await sql`delete from notify_delivery_counts`.execute(db);
  await sql`insert into notify_delivery_counts (tenant_id, status, n) select tenant_id, status, count(*) from notify_deliveries where status <> 'pending' group by tenant_id, status`.execute(
    db,
  );
}

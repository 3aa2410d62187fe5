/**
 * Migration 0006: the number of listed edge slots per tenant (every status but DELETED), kept by
 * repositories/slots.ts in the same transaction as the slot writes that change it (a slot is
 * created; DELETING becomes DELETED), so the Global Edge list's `totalCount` reads one row
 * instead of counting the tenant's slots (40 µs at 1,000 slots on SQLite, growing with them).
 * Backfilled here from the slots that exist. Derived data, like the certificate counters (0003).
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { StoreDialect } from '../dialect.ts';

export function edgeSlotCountsSchema(d: StoreDialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('edge_slot_counts')
        .addColumn('tenant_id', d.idType, (c) => c.primaryKey())
        .addColumn('listed', 'bigint', (c) => c.notNull())
        .execute();
      await backfillEdgeSlotCounts(db);
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('edge_slot_counts').execute();
    },
  };
}

/** Sets every tenant's count from its slots (the migration; the benchmark's seeding after bulk inserts). */
export async function backfillEdgeSlotCounts(db: Kysely<unknown>): Promise<void> {
  await sql`delete from edge_slot_counts`.execute(db);
  await sql`insert into edge_slot_counts (tenant_id, listed) select tenant_id, count(*) from edge_slots where status <> 'DELETED' group by tenant_id`.execute(
    db,
  );
}

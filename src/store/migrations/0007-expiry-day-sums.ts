/**
 * Migration 0007: `certificate_expiry_days.ms_sum`, so the /metrics days-to-expiry histogram
 * (its `_sum` sample) is read from the expiry-day counters instead of a pass over every live
 * certificate (281 ms on SQLite, 435 ms on PostgreSQL at 1,000,000 certificates).
 *
 * `ms_sum` of a (tenant_id, day) row = Σ (not_after − day × 86 400 000) over the live
 * certificates counted in its `n`: each certificate's milliseconds into its UTC expiry day, in
 * [0, 86 400 000). With `n` it gives the exact sum of their notAfters,
 * Σ not_after = day × 86 400 000 × n + ms_sum, and the offsets keep every sum small (a day of a
 * million certificates sums under 2^47; the notAfters themselves would pass 2^63 at five million).
 * repositories/certificate-counters.ts keeps it in the same statement as `n`, in the write
 * transaction of every insert, replace and deletion. A row whose `n` drops to zero has
 * `ms_sum` zero too and is deleted, as before.
 *
 * Backfilled here from the live rows: one pass over them grouped by tenant and day (as 0003's
 * backfill of `n`), joined to the day rows on their primary key (`UPDATE … FROM`: SQLite 3.33+,
 * PostgreSQL). A correlated subquery per day row, tried first, took 7.6 s on PostgreSQL for 5,400
 * freshly bulk-loaded rows (1,057 day rows): the cost grew with rows × days.
 * The column defaults to 0 only so that the ALTER works on a table with rows (SQLite demands a
 * default for NOT NULL); every writer sets it.
 */
import { sql, type Kysely, type Migration } from 'kysely';

export function expiryDaySumsSchema(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable('certificate_expiry_days')
        .addColumn('ms_sum', 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();
      await backfillExpiryDaySums(db);
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('certificate_expiry_days').dropColumn('ms_sum').execute();
    },
  };
}

/**
 * Sets every day row's `ms_sum` from the live certificates of its tenant and day (the migration;
 * the benchmarks' seeding, after 0003's `backfillCertificateCounters` has rebuilt the day rows).
 */
export async function backfillExpiryDaySums(db: Kysely<unknown>): Promise<void> {
  await sql`
    update certificate_expiry_days set ms_sum = sums.ms_sum
    from (
      select tenant_id, day, sum(not_after - day * 86400000) as ms_sum from (
        select tenant_id, not_after, (not_after - ((not_after % 86400000) + 86400000) % 86400000) / 86400000 as day
        from certificates where deleted_at is null
      ) as expiring
      group by tenant_id, day
    ) as sums
    where certificate_expiry_days.tenant_id = sums.tenant_id and certificate_expiry_days.day = sums.day
  `.execute(db);
}

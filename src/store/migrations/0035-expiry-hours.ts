/**
 * Migration 0035 (issue 23 part 1): `certificate_expiry_hours` (tenant_id, hour, n), live
 * certificates per UTC hour of their `not_after` (`hour` = floor(not_after / 3 600 000), whole
 * hours since 1970-01-01 UTC), kept like the day counters of migration 0003 by the same
 * statements that write the certificate rows (repositories/certificate-counters.ts); rows at zero
 * are deleted.
 *
 * Why: every counted list (the NCP v2 list, the NHN list) reads its EXPIRED/UNEXPIRED total as
 * "the days before today from the counters, plus an exact COUNT of the certificates expiring
 * today before the instant". With day counters only, that COUNT read up to half a day of the
 * tenant's certificates: at 1,000,000 about 554 index entries and 560 buffers, about 0.35 ms of
 * PostgreSQL's time on every list request (docs/performance.md). With hour counters it reads at
 * most half an hour of them, and the hours of today before it are a sum over at most 24 counter
 * rows.
 *
 * SQLite stores the table WITHOUT ROWID, in its primary key's order, as migration 0032 does for
 * the other counter tables (a sum over a key range then reads no table row per entry).
 * Cost on an existing install: one pass over the live certificate rows.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { StoreDialect } from '../dialect.ts';

/** Width of a `certificate_expiry_hours` row, in milliseconds. */
export const HOUR_MS = 3_600_000;

export function expiryHoursSchema(d: StoreDialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('certificate_expiry_hours')
        .addColumn('tenant_id', d.idType, (c) => c.notNull())
        .addColumn('hour', 'bigint', (c) => c.notNull())
        .addColumn('n', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('certificate_expiry_hours_pkey', ['tenant_id', 'hour'])
        .$call((table) => (d.label === 'SQLite' ? table.modifyEnd(sql`without rowid`) : table))
        .execute();
      await backfillExpiryHours(db);
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('certificate_expiry_hours').execute();
    },
  };
}

/**
 * Fills the (empty) hour counters from the live certificate rows (the migration; the benchmarks'
 * seeding, which writes rows behind the repository's back). `hour` is written as truncating
 * integer division of a multiple of the hour length (the same on both dialects), so instants
 * before 1970 land on the right hour, as 0003's days do.
 */
export async function backfillExpiryHours(db: Kysely<unknown>): Promise<void> {
  await sql`
    insert into certificate_expiry_hours (tenant_id, hour, n)
    select tenant_id, hour, count(*) from (
      select tenant_id, (not_after - ((not_after % ${sql.lit(HOUR_MS)}) + ${sql.lit(HOUR_MS)}) % ${sql.lit(HOUR_MS)}) / ${sql.lit(HOUR_MS)} as hour
      from certificates where deleted_at is null
    ) as expiring
    group by tenant_id, hour
  `.execute(db);
}

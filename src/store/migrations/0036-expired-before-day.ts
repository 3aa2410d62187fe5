/**
 * Migration 0036 (issue 23 part 1): `certificate_counts` gains `past_day` and `past`, the
 * tenant's live certificates expiring before UTC day `past_day` (`past` = Σ n of its
 * `certificate_expiry_days` rows with day < past_day), kept by the same statements that keep the
 * other counters (repositories/certificate-counters.ts).
 *
 * Why: every counted list (the NCP v2 list, the NHN list) reads its EXPIRED/UNEXPIRED total, and
 * the days before today were a sum over one counter row per past day of the tenant's history,
 * more rows every day the tenant keeps expired certificates. With the prefix, the sum runs only
 * over the days between `past_day` and today, which the retention pass moves forward
 * (`advanceExpiredBefore`): usually none. Measured at 1,000,000 (200 past days), PostgreSQL: the
 * NHN list's statement 0.193–0.195 → 0.176–0.177 ms (pgbench, one client), its backends' CPU a
 * request 132–136 → 124–127 µs through HTTP (docs/performance.md, "The expired prefix").
 *
 * Existing rows (and a tenant's first row) start at `past_day` = EARLIEST_DAY with `past` 0: no
 * certificate expires before it, so the prefix holds at once and a read sums every past day, as
 * before, until the first pass moves it. Cost on an existing install: two columns with defaults.
 */
import type { Kysely, Migration } from 'kysely';

/**
 * The `past_day` of a prefix that covers nothing: before any day a certificate can name (X.509
 * dates are years 0–9999; day −2^31 is about 5.9 million years before 1970).
 */
export const EARLIEST_DAY = -2_147_483_648;

export function expiredBeforeDaySchema(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable('certificate_counts')
        .addColumn('past_day', 'bigint', (c) => c.notNull().defaultTo(EARLIEST_DAY))
        .execute();
      await db.schema
        .alterTable('certificate_counts')
        .addColumn('past', 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('certificate_counts').dropColumn('past').execute();
      await db.schema.alterTable('certificate_counts').dropColumn('past_day').execute();
    },
  };
}

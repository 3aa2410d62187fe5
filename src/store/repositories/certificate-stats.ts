/**
 * CertificateStatsRepository: figures for the console's dashboard, read from the counters of
 * migration 0003 (certificate-counters.ts keeps them) so their cost does not grow with the tenant.
 *
 * Live certificates with notAfter in [from, to), with F = UTC day of `from`, T = UTC day of `to`:
 *
 *   Σ n(day) for F ≤ day < T  −  count[start of F, from)  +  count[start of T, to)
 *
 * The two counts are exact COUNTs over the (tenant_id, not_after) partial index, each bounded by
 * one day's certificates. All windows are read in ONE statement (one snapshot).
 */
import { sql, type Kysely } from 'kysely';
import type { CertificateStatsRepository } from '../../core/ports.ts';
import { ms } from '../rows.ts';
import type { Database } from '../schema.ts';
import { DAY_MS, utcDay } from './certificate-counters.ts';

const num = (value: unknown): number => (value === null || value === undefined ? 0 : Number(value));

export function certificateStatsRepository(db: Kysely<Database>): CertificateStatsRepository {
  return {
    async countNotAfterBetween(tenantId, windows) {
      if (windows.length === 0) return [];
      const rangeCount = (lo: number, hi: number) =>
        sql`(select count(*) from certificates where tenant_id = ${tenantId} and deleted_at is null and not_after >= ${lo} and not_after < ${hi})`;
      const columns = windows.map((window, i) => {
        const from = ms(window.from);
        const to = Math.max(ms(window.to), from);
        const fromDay = utcDay(from);
        const toDay = utcDay(to);
        return sql`
          (select sum(n) from certificate_expiry_days where tenant_id = ${tenantId} and day >= ${fromDay} and day < ${toDay}) as ${sql.ref(`days${i}`)},
          ${rangeCount(fromDay * DAY_MS, from)} as ${sql.ref(`head${i}`)},
          ${rangeCount(toDay * DAY_MS, to)} as ${sql.ref(`tail${i}`)}`;
      });
      const { rows } = await sql<Record<string, unknown>>`select ${sql.join(columns, sql`, `)}`.execute(db);
      const row = rows[0] ?? {};
      return windows.map((_, i) => num(row[`days${i}`]) - num(row[`head${i}`]) + num(row[`tail${i}`]));
    },
  };
}

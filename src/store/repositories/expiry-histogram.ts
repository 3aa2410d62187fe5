/**
 * The days-to-expiry histogram behind /metrics (`CertificateRepository.expiryHistogram`), read
 * from the expiry-day counters (migrations 0003 and 0007; certificate-counters.ts keeps them),
 * so a scrape costs the same at a million certificates as at ten.
 *
 * At instant `asOf`, a live certificate's days to expiry are (not_after − asOf) / 86 400 000:
 * fractional, negative once expired. Exactly, in one statement (one snapshot):
 *
 * - bucket `le = b`: days ≤ b  ⇔  not_after ≤ asOf + b days  ⇔  not_after < ⌊asOf + b days⌋ + 1
 *   (instants are whole milliseconds): the counters' "not_after < cut" (`cutAt`,
 *   `countBefore`, the EXPIRED total's own technique): the days before the cut's day, that day's
 *   hours before the cut's hour (migration 0035), and an exact COUNT over at most half of that
 *   hour's certificates;
 * - count: Σ n;
 * - sum: with asOf = A × 86 400 000 + r (A its UTC day) and each day row contributing
 *   n × day × 86 400 000 + ms_sum to Σ not_after,
 *     Σ days to expiry = (Σ n × day − count × A) + (Σ ms_sum − count × r) / 86 400 000,
 *   both brackets integers (exact in a double below 2^53, that is below a hundred million
 *   certificates), one rounding in the division and one in the addition.
 *
 * Cost: one pass over the day rows in scope (one tenant's, or every tenant's: a few hundred to a
 * few thousand rows each, independent of how many certificates they count) and, per bucket
 * bound, one range of at most 24 hour rows and one index range of at most half an hour's
 * certificates per tenant.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { countBefore, cutAt, cutHoursSum, cutPartCount, DAY_MS, num, utcDay } from './certificate-counters.ts';

export interface ExpiryHistogramCounts {
  /** `cumulativeCounts[i]`: live certificates with days to expiry ≤ `upperBoundsDays[i]`. */
  cumulativeCounts: number[];
  count: number;
  sumDays: number;
}

export async function expiryHistogram(
  db: Kysely<Database>,
  tenantId: number | null,
  asOf: number,
  upperBoundsDays: readonly number[],
): Promise<ExpiryHistogramCounts> {
  const cuts = upperBoundsDays.map((bound) => cutAt(Math.floor(asOf + bound * DAY_MS) + 1));
  const bucketColumns = cuts.map(
    (cut, i) => sql`
      sum(case when day < ${cut.day} then n else 0 end) as ${sql.ref(`past${i}`)},
      ${cutHoursSum(tenantId, cut)} as ${sql.ref(`hours${i}`)},
      ${cutPartCount(tenantId, cut)} as ${sql.ref(`part${i}`)}`,
  );
  const { rows } = await sql<Record<string, unknown>>`
    select sum(n) as live, sum(n * day) as n_days, sum(ms_sum) as ms_sum
      ${sql.join(
        bucketColumns.map((columns) => sql`, ${columns}`),
        sql``,
      )}
    from certificate_expiry_days
    ${tenantId === null ? sql`` : sql`where tenant_id = ${tenantId}`}
  `.execute(db);
  const row = rows[0] ?? {};
  const count = num(row.live);
  const asOfDay = utcDay(asOf);
  const intoDay = asOf - asOfDay * DAY_MS;
  return {
    cumulativeCounts: cuts.map((cut, i) => countBefore(cut, row[`past${i}`], row[`hours${i}`], row[`part${i}`])),
    count,
    sumDays: num(row.n_days) - count * asOfDay + (num(row.ms_sum) - count * intoDay) / DAY_MS,
  };
}

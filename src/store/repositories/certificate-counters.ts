/**
 * Certificate counters (tables of migration 0003): exact totals without counting rows.
 *
 * What is kept, per tenant, always equal to what the certificate rows say:
 * - `certificate_counts.live`: live certificates (`deleted_at IS NULL`);
 * - `certificate_expiry_days(day).n`: live certificates whose `not_after` falls on that UTC day
 *   (`day = floor(not_after / 86 400 000)`), and `.ms_sum` (migration 0007): the sum of their
 *   `not_after − day × 86 400 000`, so Σ not_after is known without reading them (the /metrics
 *   histogram's sum, expiry-histogram.ts);
 * - `certificate_expiry_hours(hour).n` (migration 0035): live certificates whose `not_after`
 *   falls in that UTC hour (`hour = floor(not_after / 3 600 000)`);
 * - `certificate_number_blocks(block).n`: live certificates whose number is in that block of
 *   4096 numbers (`block = floor(certificate_no / 4096)`);
 * - `certificate_counts.past` (migration 0036): live certificates expiring before UTC day
 *   `certificate_counts.past_day`, i.e. Σ n of the day rows before it: the expired days' prefix,
 *   which `advanceExpiredBefore` moves forward (the retention pass), so a total sums only the days
 *   since. A change to a day before `past_day` changes `past` with it (`adjustCounters`).
 * Day, hour and block rows at zero are deleted, so sums read only rows that hold certificates.
 *
 * How: every write that changes them (insert, replace when notAfter changes, markDeleted)
 * calls `adjustCounters` inside its own write transaction, as its last statements before commit.
 * No triggers. Each change is one `INSERT … ON CONFLICT (key) DO UPDATE SET n = n + excluded.n`,
 * atomic per row on both dialects, so concurrent writers (PostgreSQL, several processes) never
 * lose an update; a write that fails (unique violation, injected fault) rolls its counters back
 * with everything else. Lock order, to rule out deadlocks between concurrent writers of one
 * tenant: the certificate row first, then the tenant's `certificate_counts` row, taken by every
 * change (with 0 when the live count stays: a replace that moves notAfter), then its block rows,
 * then day rows, then hour rows. The live row is thus the tenant's counters lock: a group of single
 * inserts (write-group.ts) takes block, day and hour rows in its members' order, not ascending,
 * which is safe only because nobody reaches them without holding it. PostgreSQL holds that lock
 * from the update to commit, so writes of one tenant commit one at a time (a group of inserts
 * counts as one; SQLite's `BEGIN IMMEDIATE` serializes every writer anyway); reads never wait for it.
 *
 * Reading, at instant `asOf` with `D` its UTC day and `H` its UTC hour (EXPIRED is
 * `not_after < asOf`, as in certificate-list.ts; a certificate is valid through its notAfter
 * instant):
 *   expired   = Σ n over days < D  +  Σ n over D's hours < H  +  (live rows with not_after in [start of H, asOf))
 *   where Σ n over days < D = past + Σ n over days in [past_day, D)  (or − Σ n over [D, past_day)
 *   when D is before past_day: an `asOf` in the past, another node's clock)
 *   unexpired = live − expired
 * The last term is an exact COUNT over the (tenant_id, not_after) partial index, bounded by one
 * hour's certificates; when `asOf` is past the half hour it counts the other half of the hour
 * instead, [asOf, end of H), and subtracts it from the hours through H (`cutAt`, `countBefore`:
 * the same rule answers "not_after < cut" for any cut, such as the histogram's bucket bounds).
 * Everything a total needs is read in ONE statement, so it is one snapshot on PostgreSQL and one
 * read transaction on SQLite: the answer is exact as of that moment, never a cached one.
 *
 * Costs (independent of the tenant's N certificates and of its history): two primary-key reads,
 * a primary-key range of the days since `past_day` (none once the retention pass has moved it
 * to today; all K past days of the tenant before its first pass), one of at most 24 hours, and
 * a covering index range of at most half of one hour's certificates.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { NUMBER_BLOCK } from '../migrations/0003-certificate-counters.ts';
import { HOUR_MS } from '../migrations/0035-expiry-hours.ts';
import type { StoreDialect } from '../dialect.ts';
import { queryTemplate, templateOf } from '../query-template.ts';
import type { Database } from '../schema.ts';
import { inTransaction } from '../transaction.ts';

export const DAY_MS = 86_400_000;

/** UTC day number of an instant (whole days since 1970-01-01 UTC, floored). */
export const utcDay = (ms: number): number => Math.floor(ms / DAY_MS);

/** UTC hour number of an instant (whole hours since 1970-01-01 UTC, floored). */
export const utcHour = (ms: number): number => Math.floor(ms / HOUR_MS);

/** Block of `certificate_number_blocks` holding a certificate number. */
export const numberBlock = (certificateNo: number): number => Math.floor(certificateNo / NUMBER_BLOCK);

/** One counted change: live certificate `certificateNo`, expiring at `notAfter`, appears (+1) or goes (−1). */
export interface CounterChange {
  certificateNo: number;
  notAfter: number;
  delta: 1 | -1;
}

/** Sums the deltas per key, ascending by key (the lock order), dropping those that cancel out. */
function netByKey(changes: readonly CounterChange[], key: (change: CounterChange) => number): Array<[number, number]> {
  const sums = new Map<number, number>();
  for (const change of changes) sums.set(key(change), (sums.get(key(change)) ?? 0) + change.delta);
  return [...sums].filter(([, delta]) => delta !== 0).sort((a, b) => a[0] - b[0]);
}

/**
 * Per UTC day: the net change of `n` and of `ms_sum` (each certificate's milliseconds into its
 * day), ascending by day (the lock order). A replace that moves notAfter within one day nets
 * n = 0 but still changes ms_sum; only days where both cancel out are dropped.
 */
function netByDay(changes: readonly CounterChange[]): Array<{ day: number; n: number; msSum: number }> {
  const sums = new Map<number, { day: number; n: number; msSum: number }>();
  for (const change of changes) {
    const day = utcDay(change.notAfter);
    const sum = sums.get(day) ?? { day, n: 0, msSum: 0 };
    sum.n += change.delta;
    sum.msSum += change.delta * (change.notAfter - day * DAY_MS);
    sums.set(day, sum);
  }
  return [...sums.values()].filter((s) => s.n !== 0 || s.msSum !== 0).sort((a, b) => a.day - b.day);
}

// The statements of `adjustCounters`, built and compiled once (query-template.ts): every import,
// replace and deletion runs four of them, and building an upsert costs Kysely more than SQLite
// takes to run it.
const addLive = queryTemplate((db: Kysely<Database>, tenantId: number, live: number) =>
  db
    .insertInto('certificate_counts')
    .values({ tenant_id: tenantId, live })
    .onConflict((oc) =>
      oc.column('tenant_id').doUpdateSet({ live: (eb) => eb('certificate_counts.live', '+', eb.ref('excluded.live')) }),
    )
    .returning('past_day'),
);
const addToPast = queryTemplate((db: Kysely<Database>, tenantId: number, n: number) =>
  db
    .updateTable('certificate_counts')
    .set({ past: (eb) => eb('past', '+', n) })
    .where('tenant_id', '=', tenantId),
);
const addToBlock = queryTemplate((db: Kysely<Database>, tenantId: number, block: number, n: number) =>
  db
    .insertInto('certificate_number_blocks')
    .values({ tenant_id: tenantId, block, n })
    .onConflict((oc) =>
      oc
        .columns(['tenant_id', 'block'])
        .doUpdateSet({ n: (eb) => eb('certificate_number_blocks.n', '+', eb.ref('excluded.n')) }),
    )
    .returning('n'),
);
const dropEmptyBlock = queryTemplate((db: Kysely<Database>, tenantId: number, block: number) =>
  db
    .deleteFrom('certificate_number_blocks')
    .where('tenant_id', '=', tenantId)
    .where('block', '=', block)
    .where('n', '=', 0),
);
const addToDay = queryTemplate((db: Kysely<Database>, tenantId: number, day: number, n: number, msSum: number) =>
  db
    .insertInto('certificate_expiry_days')
    .values({ tenant_id: tenantId, day, n, ms_sum: msSum })
    .onConflict((oc) =>
      oc.columns(['tenant_id', 'day']).doUpdateSet({
        n: (eb) => eb('certificate_expiry_days.n', '+', eb.ref('excluded.n')),
        ms_sum: (eb) => eb('certificate_expiry_days.ms_sum', '+', eb.ref('excluded.ms_sum')),
      }),
    )
    .returning('n'),
);
const dropEmptyDay = queryTemplate((db: Kysely<Database>, tenantId: number, day: number) =>
  db.deleteFrom('certificate_expiry_days').where('tenant_id', '=', tenantId).where('day', '=', day).where('n', '=', 0),
);
const addToHour = queryTemplate((db: Kysely<Database>, tenantId: number, hour: number, n: number) =>
  db
    .insertInto('certificate_expiry_hours')
    .values({ tenant_id: tenantId, hour, n })
    .onConflict((oc) =>
      oc
        .columns(['tenant_id', 'hour'])
        .doUpdateSet({ n: (eb) => eb('certificate_expiry_hours.n', '+', eb.ref('excluded.n')) }),
    )
    .returning('n'),
);
const dropEmptyHour = queryTemplate((db: Kysely<Database>, tenantId: number, hour: number) =>
  db
    .deleteFrom('certificate_expiry_hours')
    .where('tenant_id', '=', tenantId)
    .where('hour', '=', hour)
    .where('n', '=', 0),
);

/**
 * PostgreSQL (`dialect.arrayParameters`): changes that only add (every net change positive: an
 * insert, a batch of them) in one statement instead of four. The same upserts in the same lock
 * order: the live count, then the blocks, then the days, then the hours, each table's rows in ascending key order
 * (`unnest` keeps the arrays' order), each insert reading the previous one's result (`exists`,
 * run once before its first row) so that it runs after it. Nothing can reach zero, so nothing
 * is dropped.
 */
const addAll = templateOf<Database, unknown>(14, (_db, values) => {
  const [
    liveTenant,
    live,
    pastDays,
    pastNs,
    blockTenant,
    blocks,
    blockNs,
    dayTenant,
    days,
    dayNs,
    dayMsSums,
    hourTenant,
    hours,
    hourNs,
  ] = values;
  // A new tenant's row starts with the empty prefix (its defaults); an existing one's `past`
  // takes the days before its `past_day`, read from the row as locked by this upsert.
  return sql`with live as (
      insert into certificate_counts (tenant_id, live) values (${liveTenant}, ${live})
      on conflict (tenant_id) do update set live = certificate_counts.live + excluded.live,
        past = certificate_counts.past + (
          select coalesce(sum(e.n), 0) from unnest(${pastDays}::bigint[], ${pastNs}::bigint[]) as e (day, n)
          where e.day < certificate_counts.past_day
        )
      returning 1
    ), blocks as (
      insert into certificate_number_blocks (tenant_id, block, n)
      select ${blockTenant}::bigint, b.block, b.n from unnest(${blocks}::bigint[], ${blockNs}::bigint[]) as b (block, n)
      where exists (select from live)
      on conflict (tenant_id, block) do update set n = certificate_number_blocks.n + excluded.n
      returning 1
    ), days as (
      insert into certificate_expiry_days (tenant_id, day, n, ms_sum)
      select ${dayTenant}::bigint, d.day, d.n, d.ms_sum
      from unnest(${days}::bigint[], ${dayNs}::bigint[], ${dayMsSums}::bigint[]) as d (day, n, ms_sum)
      where exists (select from blocks)
      on conflict (tenant_id, day) do update
        set n = certificate_expiry_days.n + excluded.n, ms_sum = certificate_expiry_days.ms_sum + excluded.ms_sum
      returning 1
    )
    insert into certificate_expiry_hours (tenant_id, hour, n)
    select ${hourTenant}::bigint, h.hour, h.n from unnest(${hours}::bigint[], ${hourNs}::bigint[]) as h (hour, n)
    where exists (select from days)
    on conflict (tenant_id, hour) do update set n = certificate_expiry_hours.n + excluded.n`;
});

/**
 * Applies changes to a tenant's counters; call inside the write transaction (`trx`), after the
 * certificate row is written. A replace that keeps notAfter passes nothing to do. `oneStatement`
 * (PostgreSQL's `dialect.arrayParameters`): changes that only add are one statement (`addAll`).
 */
export async function adjustCounters(
  trx: Kysely<Database>,
  tenantId: number,
  changes: readonly CounterChange[],
  oneStatement = false,
): Promise<void> {
  const live = changes.reduce((sum, c) => sum + c.delta, 0);
  const blocks = netByKey(changes, (c) => numberBlock(c.certificateNo));
  const days = netByDay(changes);
  const hours = netByKey(changes, (c) => utcHour(c.notAfter));
  if (oneStatement && live > 0) {
    if (blocks.every(([, n]) => n > 0) && days.every((d) => d.n > 0) && hours.every(([, n]) => n > 0)) {
      await addAll.all(
        trx,
        tenantId,
        live,
        days.map((d) => d.day),
        days.map((d) => d.n),
        tenantId,
        blocks.map(([block]) => block),
        blocks.map(([, n]) => n),
        tenantId,
        days.map((d) => d.day),
        days.map((d) => d.n),
        days.map((d) => d.msSum),
        tenantId,
        hours.map(([hour]) => hour),
        hours.map(([, n]) => n),
      );
      return;
    }
  }
  if (live === 0 && blocks.length === 0 && days.length === 0 && hours.length === 0) return;
  // First, even when the live count does not change (a replace that moves notAfter): the tenant's
  // live row is the lock every counter change takes before its block and day rows, and it says
  // which days the expired prefix holds (held still by that lock until commit).
  const pastDay = Number((await addLive.first(trx, tenantId, live))!.past_day);
  const toPast = days.reduce((sum, d) => (d.day < pastDay ? sum + d.n : sum), 0);
  if (toPast !== 0) await addToPast.all(trx, tenantId, toPast);
  for (const [block, delta] of blocks) {
    const row = await addToBlock.first(trx, tenantId, block, delta);
    if (Number(row!.n) === 0) await dropEmptyBlock.all(trx, tenantId, block);
  }
  for (const { day, n, msSum } of days) {
    const row = await addToDay.first(trx, tenantId, day, n, msSum);
    // Only days that hold certificates stay, so the "days before D" sum reads no dead rows.
    // A row at n = 0 has ms_sum = 0 too (the sum over no certificates).
    if (Number(row!.n) === 0) await dropEmptyDay.all(trx, tenantId, day);
  }
  for (const [hour, delta] of hours) {
    const row = await addToHour.first(trx, tenantId, hour, delta);
    if (Number(row!.n) === 0) await dropEmptyHour.all(trx, tenantId, hour);
  }
}

/**
 * Moves the expired prefix (`past`, `past_day`) of at most `limit` tenants whose `past_day` is
 * before `day` to `day`, adding the days in between; returns how many moved. The retention pass
 * runs it, so a list's expired total sums no day rows once the pass has run on its day.
 *
 * One transaction per tenant: its counters row is locked first (the lock every counter change
 * takes before its day rows, held to commit), then the days are summed by a second statement,
 * whose snapshot (PostgreSQL, read committed) is taken under that lock, so no change of this
 * tenant's days is in flight and every committed one is in the sum. A single statement would not
 * do: waiting for a writer's lock, it would sum the days as of its start. The update is
 * conditional on `past_day` still being earlier, so processes running it at once move each
 * tenant once. On SQLite every write transaction runs alone anyway.
 */
export async function advanceExpiredBefore(
  db: Kysely<Database>,
  dialect: StoreDialect,
  day: number,
  limit: number,
): Promise<number> {
  const due = await db
    .selectFrom('certificate_counts')
    .select('tenant_id')
    .where('past_day', '<', day)
    .orderBy('tenant_id')
    .limit(limit)
    .execute();
  let moved = 0;
  for (const { tenant_id: tenantId } of due) {
    const done = await inTransaction(db, dialect, async (trx) => {
      const locked = await trx
        .updateTable('certificate_counts')
        .set({ past_day: (eb) => eb.ref('past_day') })
        .where('tenant_id', '=', tenantId)
        .where('past_day', '<', day)
        .returning('past_day')
        .executeTakeFirst();
      if (!locked) return false;
      const from = Number(locked.past_day);
      await sql`update certificate_counts set past_day = ${day}, past = past + coalesce((
          select sum(n) from certificate_expiry_days where tenant_id = ${tenantId} and day >= ${from} and day < ${day}
        ), 0) where tenant_id = ${tenantId}`.execute(trx);
      return true;
    });
    if (done) moved += 1;
  }
  return moved;
}

export interface ValidityTotals {
  live: number;
  expired: number;
}

export interface ValidityCounts {
  valid: number;
  expired: number;
  notYetValid: number;
}

export const num = (value: unknown): number => (value === null || value === undefined ? 0 : Number(value));

/**
 * How "live certificates with not_after < cut" is read exactly (the EXPIRED total is the case
 * cut = asOf; the /metrics histogram's buckets are other cuts, repositories/expiry-histogram.ts):
 *
 *   Σ n over days < day  +  Σ n over the day's hours < hour  +  count[lo, hi)   (head: cut in the first half of its hour)
 *   Σ n over days < day  +  Σ n over the day's hours ≤ hour  −  count[lo, hi)   (tail: past the half hour)
 *
 * where [lo, hi) is [start of hour, cut) or [cut, end of hour): whichever half of the cut's hour
 * is shorter, so the exact COUNT over the (tenant_id, not_after) index reads at most half of one
 * hour's certificates, and the hours summed are those of the cut's own day, [hoursFrom, hoursTo):
 * at most 24 counter rows. `countBefore` puts the three read terms together.
 */
export interface Cut {
  /** UTC day of the cut. */
  day: number;
  /** The cut's day's hours summed: from its first hour up to (head) or through (tail) the cut's hour. */
  hoursFrom: number;
  hoursTo: number;
  lo: number;
  hi: number;
  /** True: [lo, hi) is the rest of the hour after the cut, subtracted from the hours through it. */
  tail: boolean;
}

export function cutAt(cut: number): Cut {
  const day = utcDay(cut);
  const hour = utcHour(cut);
  const start = hour * HOUR_MS;
  const tail = cut - start > HOUR_MS / 2;
  const hoursFrom = day * (DAY_MS / HOUR_MS);
  return tail
    ? { day, hoursFrom, hoursTo: hour + 1, lo: cut, hi: start + HOUR_MS, tail }
    : { day, hoursFrom, hoursTo: hour, lo: start, hi: cut, tail };
}

/** Live certificates with not_after < the cut, from Σ n of the days before, of its day's hours and count[lo, hi). */
export function countBefore(cut: Cut, past: unknown, hours: unknown, part: unknown): number {
  return num(past) + num(hours) + (cut.tail ? -num(part) : num(part));
}

/**
 * SQL scalar: `ofOne` (a scalar subquery over the tenant whose id it is given) for one tenant,
 * or summed over every tenant (`null`): then once per tenant, driven by certificate_counts (a
 * range over all tenants at once would not use the (tenant_id, …) indexes).
 */
function perTenant(tenantId: number | null, ofOne: (tenant: unknown) => RawBuilder<unknown>): RawBuilder<unknown> {
  if (tenantId !== null) return ofOne(tenantId);
  return sql`(select sum(k) from (select ${ofOne(sql.ref('t.tenant_id'))} as k from certificate_counts t) as per_tenant)`;
}

/** SQL scalar subquery: live certificates matching `condition` (over the alias `c`) of one tenant, or of every tenant (`null`). */
export const liveCount = (tenantId: number | null, condition: RawBuilder<unknown>): RawBuilder<unknown> =>
  perTenant(
    tenantId,
    (tenant) =>
      sql`(select count(*) from certificates c where c.tenant_id = ${tenant} and c.deleted_at is null and ${condition})`,
  );

/** `liveCount` of the cut's bounded range [lo, hi) of not_after. */
export const cutPartCount = (tenantId: number | null, cut: Cut): RawBuilder<unknown> =>
  liveCount(tenantId, sql`c.not_after >= ${cut.lo} and c.not_after < ${cut.hi}`);

/** SQL scalar subquery: Σ n of the cut's day's hours [hoursFrom, hoursTo), of one tenant or of every tenant (`null`). */
export const cutHoursSum = (tenantId: number | null, cut: Cut): RawBuilder<unknown> =>
  perTenant(
    tenantId,
    (tenant) =>
      sql`(select sum(n) from certificate_expiry_hours h where h.tenant_id = ${tenant} and h.hour >= ${cut.hoursFrom} and h.hour < ${cut.hoursTo})`,
  );

type TotalsRow = { live: unknown; past: unknown; hours: unknown; part: unknown };

/**
 * Live and expired totals of one tenant at `asOf`, from the counters (one statement). Used by
 * list() for the validity-only queries (ALL, EXPIRED, UNEXPIRED).
 */
const validityTotalsQuery = templateOf<Database, TotalsRow>(10, (_db, values) => validityTotalsSql(values));

/**
 * Whether a list with this validity filter needs the expired count. Without a filter the total
 * is the live count alone: the expired days' sum, the hours' and the partial hour's count (what
 * `validityTotalsSql` reads besides it, about 0.11 of the NHN list statement's 0.24 ms on
 * PostgreSQL at 1,000,000: docs/performance.md) only split it, so those lists read `liveTotalSql`.
 */
export const countsExpired = (validity: 'all' | 'expired' | 'unexpired' | undefined): boolean =>
  validity === 'expired' || validity === 'unexpired';

/**
 * The live total's one-row select, in `validityTotalsSql`'s columns (the others null), over
 * `liveTotalValues`: for the lists without a validity filter (`countsExpired`).
 */
export function liveTotalSql(values: readonly unknown[]): RawBuilder<TotalsRow> {
  return sql<TotalsRow>`select (select live from certificate_counts where tenant_id = ${values[0]}) as live, null as past, null as hours, null as part`;
}

/** The values of `liveTotalSql`, in its order. */
export const liveTotalValues = (tenantId: number): unknown[] => [tenantId];

const liveTotalQuery = templateOf<Database, TotalsRow>(1, (_db, values) => liveTotalSql(values));

/** The live total of one tenant, from the counters (one statement). */
export async function liveTotal(db: Kysely<Database>, tenantId: number): Promise<number> {
  const rows = await liveTotalQuery.all(db, ...liveTotalValues(tenantId));
  return num(rows[0]?.live);
}

/** The values of `validityTotalsSql`, in its order. */
export function validityTotalsValues(tenantId: number, asOf: number): unknown[] {
  const cut = cutAt(asOf);
  return [tenantId, tenantId, cut.day, cut.day, tenantId, cut.hoursFrom, cut.hoursTo, tenantId, cut.lo, cut.hi];
}

/**
 * SQL scalar: one tenant's live certificates expiring before UTC day `day`, from its expired
 * prefix (`past`, the days before `past_day`) and the days between `past_day` and `day` (added
 * when `day` is later, taken away when it is earlier; one of the two ranges is empty). `dayAgain`
 * is `day` as a second placeholder (a query template binds each placeholder once). Null when the
 * tenant has no counters row (no certificate).
 */
export function expiredBeforeDaySql(tenant: unknown, day: unknown, dayAgain: unknown = day): RawBuilder<unknown> {
  return sql`(select c.past
      + coalesce((select sum(e.n) from certificate_expiry_days e where e.tenant_id = c.tenant_id and e.day >= c.past_day and e.day < ${day}), 0)
      - coalesce((select sum(e.n) from certificate_expiry_days e where e.tenant_id = c.tenant_id and e.day >= ${dayAgain} and e.day < c.past_day), 0)
    from certificate_counts c where c.tenant_id = ${tenant})`;
}

/**
 * The validity totals' one-row select over `validityTotalsValues` (or placeholders in their
 * place), for `validityTotals` and for statements that read the totals beside other rows
 * (certificate-list.ts, PostgreSQL). `validityTotalsFromRow` reads its row.
 *
 * `hiddenRange` (PostgreSQL, a statement meant to keep a generic plan: certificate-list.ts
 * `PageShape.fetch`): the hour and half-hour bounds are read as `(select $n)`, which a custom
 * plan cannot fold to constants either, so both plans estimate those ranges alike. With plain
 * parameters a custom plan saw the range's few rows and the generic one 0.5 % of the tenant's
 * (2,697 certificates at 1,000,000), and PostgreSQL kept re-planning. The same index ranges are
 * read.
 */
export function validityTotalsSql(values: readonly unknown[], hiddenRange = false): RawBuilder<TotalsRow> {
  const [tenant1, tenant2, day, dayAgain, tenant3, hoursFrom, hoursTo, tenant4, lo, hi] = values;
  const hidden = (value: unknown) => (hiddenRange ? sql`(select ${value}::bigint)` : sql`${value}`);
  return sql<TotalsRow>`
    select
      (select live from certificate_counts where tenant_id = ${tenant1}) as live,
      ${expiredBeforeDaySql(tenant2, day, dayAgain)} as past,
      (select sum(n) from certificate_expiry_hours where tenant_id = ${tenant3} and hour >= ${hidden(hoursFrom)} and hour < ${hidden(hoursTo)}) as hours,
      (select count(*) from certificates where tenant_id = ${tenant4} and deleted_at is null and not_after >= ${hidden(lo)} and not_after < ${hidden(hi)}) as part
  `;
}

export function validityTotalsFromRow(asOf: number, row: TotalsRow): ValidityTotals {
  return { live: num(row.live), expired: countBefore(cutAt(asOf), row.past, row.hours, row.part) };
}

export async function validityTotals(db: Kysely<Database>, tenantId: number, asOf: number): Promise<ValidityTotals> {
  const rows = await validityTotalsQuery.all(db, ...validityTotalsValues(tenantId, asOf));
  return validityTotalsFromRow(asOf, rows[0]!);
}

/**
 * `countByValidity`: expired is the cut at asOf; notYetValid (`not_before > asOf`) is an
 * exact COUNT over the (tenant_id, not_before) partial index, a range holding only the
 * certificates whose validity has not begun (the import ladder refuses those, so it is empty or
 * tiny); valid = live − expired − notYetValid + both (a certificate can be both only if its
 * notBefore is after its notAfter; counted in both buckets, as before).
 * `tenantId: null` (metrics, every tenant): the sums run over every tenant's counter rows and the
 * bounded ranges are read per tenant (`perTenant`). One statement.
 */
export async function validityCounts(
  db: Kysely<Database>,
  tenantId: number | null,
  asOf: number,
): Promise<ValidityCounts> {
  const cut = cutAt(asOf);
  const { rows } = await sql<Record<'live' | 'past' | 'hours' | 'part' | 'nyv' | 'nyv_expired', unknown>>`
    select
      (select sum(live) from certificate_counts ${tenantId === null ? sql`` : sql`where tenant_id = ${tenantId}`}) as live,
      ${perTenant(tenantId, (tenant) => expiredBeforeDaySql(tenant, cut.day))} as past,
      ${cutHoursSum(tenantId, cut)} as hours,
      ${cutPartCount(tenantId, cut)} as part,
      ${liveCount(tenantId, sql`c.not_before > ${asOf}`)} as nyv,
      ${liveCount(tenantId, sql`c.not_before > ${asOf} and c.not_after < ${asOf}`)} as nyv_expired
  `.execute(db);
  const row = rows[0]!;
  const live = num(row.live);
  const expired = countBefore(cut, row.past, row.hours, row.part);
  const notYetValid = num(row.nyv);
  return { valid: live - expired - notYetValid + num(row.nyv_expired), expired, notYetValid };
}

/**
 * Where position `offset` of a tenant's live certificates in certificate_no order (`asc` or
 * `desc`) lies: the block holding it and how many live certificates come before that block in
 * that order (`skipped`); no row when the offset is past the end. Reads the tenant's block rows
 * (one per 4096 numbers that hold any of its certificates) and sums them in the database.
 * `locateOffset` runs it alone; a merged deep page (certificate-list.ts, PostgreSQL) joins it to
 * the page that starts there.
 */
export function locateOffsetSql(
  direction: 'asc' | 'desc',
  tenantId: unknown,
  offset: unknown,
): RawBuilder<{ block: unknown; skipped: unknown }> {
  const order = sql.raw(direction === 'asc' ? 'asc' : 'desc');
  return sql<{ block: unknown; skipped: unknown }>`
    select block, skipped from (
      select block, n, sum(n) over (order by block ${order} rows between unbounded preceding and current row) - n as skipped
      from certificate_number_blocks where tenant_id = ${tenantId}
    ) as running
    where skipped + n > ${offset}
    order by block ${order}
    limit 1
  `;
}

const locateOffsetQuery = (direction: 'asc' | 'desc') =>
  queryTemplate((_db: Kysely<Database>, tenantId: number, offset: number) =>
    locateOffsetSql(direction, tenantId, offset),
  );
const locateOffsetQueries = { asc: locateOffsetQuery('asc'), desc: locateOffsetQuery('desc') };

export async function locateOffset(
  db: Kysely<Database>,
  tenantId: number,
  offset: number,
  direction: 'asc' | 'desc',
): Promise<{ block: number; before: number } | null> {
  const rows = await locateOffsetQueries[direction === 'asc' ? 'asc' : 'desc'].all(db, tenantId, offset);
  const row = rows[0];
  return row ? { block: Number(row.block), before: Number(row.skipped) } : null;
}

/**
 * The certificate list query: every CertificateQuery filter, a stable order, an exact total.
 *
 * - Live rows only, unless `changedBetween` is given: then every row whose `updated_at` (set on
 *   create, replace and delete) falls in [from, to), deleted ones included.
 * - Order: the chosen key, then `certificate_no` in the same direction, so pages never overlap or
 *   skip rows with equal keys.
 * - `total` is exact, and read two ways:
 *   - a query whose only filter is `validity` (ALL, EXPIRED, UNEXPIRED: NCP v2 getCertificates
 *     without a name, the NHN list, the console's unfiltered list) takes it from the counters
 *     (certificate-counters.ts): a few rows plus at most half an hour's certificates, whatever the
 *     tenant's size;
 *   - any other filter reads the page first: a page that is not full (and not past the end)
 *     ends the result, so the total is offset + its rows and nothing is counted (`name` and
 *     `certificateNo` always end there). Otherwise it counts the matching rows, each through an
 *     index: `name` (unique among live rows) and `certificateNo` (primary key) match 0 or 1
 *     row, `domain` reads the
 *     (tenant_id, domain) entries of that name, `changedBetween` the (tenant_id, updated_at)
 *     range of the window, `usedByInstanceNo` the slot's items (at most two, through the
 *     (slot_id, region) unique index).
 * - Queries with a search filter (`nameContains`, `coversHost`, `zone`, …: certificate-search.ts
 *   `isSearchQuery`) do not come here: certificate-search.ts answers them from the indexes of
 *   migration 0013. (A name substring used to be answered here by reading every live name:
 *   about half a second at a million.)
 * - Pages: the numbers of the page are read first, then only those rows by primary key (a
 *   "deferred join": the offset is walked in an index, never in the table). Where the walk starts:
 *   - default order (certificateNo, either direction) without any filter (the NCP v2 list): from
 *     offset `listTuning.blockSeekFromOffset` on, the block counters say which block of 4096
 *     certificate numbers holds the offset and how many rows precede it, and the walk starts
 *     there: at most one block's entries, whatever the offset (certificate-counters.ts
 *     `locateOffset`; on PostgreSQL read in the page's own statement, `mergedPage`);
 *   - default order with a validity filter (the NHN list): walk the live (tenant_id,
 *     certificate_no, …, not_after, …) index from the start (notAfter is checked in the index:
 *     certificates_live_list on PostgreSQL, certificates_live_search on SQLite, migration 0024), or read the matching not_after range and sort it,
 *     whichever the counters say is shorter (`walkOrSort`); linear in the offset either way;
 *   - other orders: their sort key's index from the start, linear in the offset.
 *   "Linear" is index entries only: about 35 ns (SQLite) to 150 ns (PostgreSQL) each here, so
 *   about 20 to 75 ms for an offset of 500,000 (bench/store-counts.ts).
 * - `domain` is an exact, case-insensitive match on one of the certificate's DNS names.
 */
import { sql, type Kysely, type SelectQueryBuilder } from 'kysely';
import type { CertificateSummary } from '../../domain/model.ts';
import {
  CERTIFICATE_PAGE_MAX,
  type CertificatePage,
  type CertificateQuery,
  type CertificateSort,
} from '../../core/ports.ts';
import { columnKeys, templateOf, type QueryTemplate, type RowValues } from '../query-template.ts';
import {
  factsInHand,
  hasChainColumn,
  ms,
  summaryColumns,
  SUMMARY_ROW_COLUMNS,
  summaryFromRow,
  summaryFromValues,
  type CertificateSummaryRow,
} from '../rows.ts';
import type { Database } from '../schema.ts';
import { NUMBER_BLOCK } from '../migrations/0003-certificate-counters.ts';
import {
  locateOffset,
  locateOffsetSql,
  countsExpired,
  liveTotal,
  liveTotalSql,
  liveTotalValues,
  num,
  validityTotals,
  validityTotalsFromRow,
  validityTotalsSql,
  validityTotalsValues,
} from './certificate-counters.ts';
import { heldBySlot, usersColumn, usersFromRows } from './certificate-usage.ts';
import { uncheckedReads, type CheckedReads } from '../credential-check.ts';
import { pageKeyOf, readPage } from '../known-facts.ts';

const SORT_COLUMNS = {
  certificateNo: 'certificate_no',
  name: 'name',
  notAfter: 'not_after',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
} as const satisfies Record<CertificateSort, keyof Database['certificates']>;

type CertificateSelect = SelectQueryBuilder<Database, 'certificates', object>;

/**
 * How the validity term is written. `indexed`: plainly, the planner picks. `walk`: `+not_after`,
 * which neither SQLite nor PostgreSQL can match to an index, so the not_after index is not
 * chosen; the term is then checked inside the index being walked (certificates_live_list, or on
 * SQLite certificates_live_search since migration 0024: both hold not_after).
 */
type ValidityTerm = 'indexed' | 'walk';

/**
 * The values a query's filters bind, by name; a filter is present when its value is. Kept apart
 * from the SQL so a page query can be a template per shape (query-template.ts): the same
 * function builds it with placeholders once, then only these values change.
 */
interface FilterValues {
  tenantId: unknown;
  from?: unknown;
  to?: unknown;
  name?: unknown;
  certificateNo?: unknown;
  domainTenantId?: unknown;
  domain?: unknown;
  slotTenantId?: unknown;
  slotId?: unknown;
  asOf?: unknown;
}

function filterValuesOf(query: CertificateQuery): FilterValues {
  const values: FilterValues = { tenantId: query.tenantId };
  if (query.changedBetween) {
    values.from = ms(query.changedBetween.from);
    values.to = ms(query.changedBetween.to);
  }
  if (query.name !== undefined) values.name = query.name;
  if (query.certificateNo !== undefined) values.certificateNo = query.certificateNo;
  if (query.domain !== undefined) {
    values.domainTenantId = query.tenantId;
    values.domain = query.domain.toLowerCase();
  }
  if (query.usedByInstanceNo !== undefined) {
    values.slotTenantId = query.tenantId;
    values.slotId = query.usedByInstanceNo;
  }
  // A certificate is valid through its notAfter instant inclusive (RFC 5280).
  if (query.validity === 'expired' || query.validity === 'unexpired') values.asOf = ms(query.asOf);
  return values;
}

/** What, besides which values are present, decides a filter's SQL. */
interface FilterShape {
  validity: CertificateQuery['validity'];
}

const shapeOf = (query: CertificateQuery): FilterShape => ({ validity: query.validity });

function filtered(
  db: Kysely<Database>,
  shape: FilterShape,
  values: FilterValues,
  validityTerm: ValidityTerm = 'indexed',
): CertificateSelect {
  let select: CertificateSelect = db.selectFrom('certificates').where('tenant_id', '=', values.tenantId as number);
  if (values.from !== undefined) {
    select = select.where('updated_at', '>=', values.from as number).where('updated_at', '<', values.to as number);
  } else {
    select = select.where('deleted_at', 'is', null);
  }
  if (values.name !== undefined) select = select.where('name', '=', values.name as string);
  if (values.certificateNo !== undefined) select = select.where('certificate_no', '=', values.certificateNo as number);
  if (values.domain !== undefined) {
    select = select.where(
      'certificate_no',
      'in',
      db
        .selectFrom('certificate_domains')
        .select('certificate_no')
        .where('tenant_id', '=', values.domainTenantId as number)
        .where('domain', '=', values.domain as string),
    );
  }
  const notAfter = validityTerm === 'walk' ? sql<number>`+${sql.ref('not_after')}` : sql.ref<number>('not_after');
  if (shape.validity === 'expired') select = select.where(notAfter, '<', values.asOf as number);
  if (shape.validity === 'unexpired') select = select.where(notAfter, '>=', values.asOf as number);
  if (values.slotId !== undefined) {
    // The certificates the slot holds (one, two for KR_JP_GLOBAL): "in use" as certificate-usage.ts defines it.
    select = select.where('certificate_no', 'in', heldBySlot(db, values.slotTenantId, values.slotId));
  }
  return select;
}

/**
 * From this offset on, an unfiltered default-order page starts its walk from the block counters
 * (one small query, about what walking a few thousand index entries costs). Tests lower it.
 */
export const listTuning = { blockSeekFromOffset: NUMBER_BLOCK };

/** True when no filter but `validity` applies: the total comes from the counters. */
export function countedByCounters(query: CertificateQuery): boolean {
  return (
    query.changedBetween === undefined &&
    query.name === undefined &&
    query.certificateNo === undefined &&
    query.domain === undefined &&
    query.usedByInstanceNo === undefined
  );
}

/** The exact total, and the tenant's live count when the counters gave it. */
async function totalOf(db: Kysely<Database>, query: CertificateQuery): Promise<{ total: number; live: number | null }> {
  if (countedByCounters(query)) {
    if (!countsExpired(query.validity)) {
      const live = await liveTotal(db, query.tenantId);
      return { total: live, live };
    }
    const { live, expired } = await validityTotals(db, query.tenantId, ms(query.asOf));
    const total = query.validity === 'expired' ? expired : query.validity === 'unexpired' ? live - expired : live;
    return { total, live };
  }
  const { total } = await filtered(db, shapeOf(query), filterValuesOf(query))
    .select((eb) => eb.fn.countAll<number>().as('total'))
    .executeTakeFirstOrThrow();
  return { total: Number(total), live: null };
}

/**
 * Default order with a validity filter (the NHN list): walk the live number-order index
 * (certificates_live_list; certificates_live_search on SQLite) in number order, checking notAfter in the index, or read the matching not_after range and sort it,
 * whichever touches fewer entries. The counters say how many match, so no guessing: the walk
 * passes about (offset + limit) × live / matching entries, the range reads every matching one
 * and sorts them (weighed 3 per entry). A rare EXPIRED set is read as a range; the usual
 * UNEXPIRED majority is walked.
 */
function walkOrSort(offset: number, limit: number, total: number, live: number): 'walk' | 'sort' {
  return (offset + limit) * (live / total) <= 3 * total ? 'walk' : 'sort';
}

/** `reads`: how the page's statement is sent, so it can carry a credential check (credential-check.ts). */
export async function listCertificates(
  db: Kysely<Database>,
  query: CertificateQuery,
  mergesReads = false,
  reads: CheckedReads = uncheckedReads,
): Promise<CertificatePage> {
  const limit = Math.min(Math.max(Math.trunc(query.limit), 0), CERTIFICATE_PAGE_MAX);
  const offset = Math.max(Math.trunc(query.offset), 0);
  if (mergesReads && countedByCounters(query) && limit > 0) {
    const merged = await mergedPage(db, query, limit, offset, reads);
    if (merged) return merged;
  }
  const withUsers = mergesReads && query.withUsers === true;
  if (!countedByCounters(query) && limit > 0) {
    // Filtered: read the page first. A page that is not full ends the result, so when it holds
    // rows (or starts at 0) the total is exactly offset + rows, and the COUNT is not needed: the
    // usual case of the `name` and `certificateNo` filters (0 or 1 row) and of short results.
    const { items, ...users } = await pageOf(db, query, limit, offset, null, null, withUsers, reads);
    if (items.length < limit && (items.length > 0 || offset === 0))
      return { items, total: offset + items.length, totalExact: true, ...users };
    const { total } = await totalOf(db, query);
    return { items, total, totalExact: true, ...users };
  }
  const { total, live } = await totalOf(db, query);
  if (mergesReads) planHints.set(query, total, live);
  if (limit === 0 || offset >= total)
    return { items: [], total, totalExact: true, ...(withUsers ? { usedBy: new Map() } : {}) };
  const { items, ...users } = await pageOf(db, query, limit, offset, total, live, withUsers, reads);
  return { items, total, totalExact: true, ...users };
}

/**
 * PostgreSQL (`dialect.mergesReads`): the counters' totals and the page in one statement, one
 * round trip instead of two (bench/pg-round-trips.ts). For the default order (certificate
 * number) of the counted queries: the NCP v2 list and the NHN list.
 *
 * The page's SQL is the one `pageOf` sends; what it needs from the totals only chooses how the
 * rows are found, never which rows: a validity filter's walk-or-sort plan (`walkOrSort`) is
 * chosen from the totals of this tenant's previous list with that filter (`planHints`), so a
 * first list without a hint takes the two statements. A deep unfiltered page (offset ≥
 * `listTuning.blockSeekFromOffset`) reads its block-counter seek in the same statement too
 * (certificate-counters.ts `locateOffsetSql`, joined laterally: the page walks from the block
 * it names and skips the rest of the offset in it), where `pageOf` sends it first, alone.
 * The totals are this statement's own, so the answer is exactly what the separate statements give.
 * It is written for a generic plan (`PageShape.fetch`): a literal fetch size, the exact limit on
 * the joined rows, no offset on page 1 and a hidden one after, and the totals' hour ranges
 * hidden too (certificate-counters.ts `validityTotalsSql`).
 */
async function mergedPage(
  db: Kysely<Database>,
  query: CertificateQuery,
  limit: number,
  offset: number,
  reads: CheckedReads,
): Promise<CertificatePage | null> {
  if ((query.sort ?? 'certificateNo') !== 'certificateNo') return null;
  const validity = query.validity ?? 'all';
  const direction = query.order ?? 'asc';
  let plan: PageShape['plan'] = null;
  let seek: PageShape['seek'] = null;
  if (validity === 'all') {
    if (offset > 0 && offset >= listTuning.blockSeekFromOffset) seek = direction === 'asc' ? 'from' : 'below';
  } else {
    const hint = planHints.get(query);
    if (!hint) return null;
    plan = walkOrSort(offset, limit, Math.max(hint.total, 1), hint.live);
  }
  // Page 1 binds no offset at all (see `PageShape.fetch`).
  const values: PageValues = {
    ...filterValuesOf(query),
    limit,
    ...(offset > 0 ? { skip: offset } : {}),
    ...(seek !== null ? { seekTenantId: query.tenantId, seekOffset: offset } : {}),
  };
  const withUsers = query.withUsers === true;
  const names = Object.keys(values) as Array<keyof PageValues>;
  const templateFor = (facts: boolean) => {
    const shape: PageShape = {
      ...shapeOf(query),
      sortColumn: 'certificate_no',
      direction,
      plan,
      seek,
      withUsers,
      fetch: fetchSize(limit),
      facts,
    };
    return mergedTemplate(shape, names);
  };
  // Its rows as arrays (query-template.ts `rowSet`): a page of 100 rows of about 20 columns.
  const expiredCounted = countsExpired(validity);
  const statementValues = [
    ...(expiredCounted ? validityTotalsValues(query.tenantId, ms(query.asOf)) : liveTotalValues(query.tenantId)),
    ...names.map((name) => values[name]),
  ];
  const { rows, columns } = await readPage(
    pageKeyOf('merged', query, limit, offset),
    (facts) => reads.rowSet(templateFor(facts), db, statementValues),
    (page) => factsInHand(page.rows as readonly RowValues[], columnKeys(MERGED_COLUMNS, page.columns)),
  );
  const at = columnKeys(MERGED_COLUMNS, columns);
  const first = rows[0]! as RowValues;
  const { live, expired } = expiredCounted
    ? validityTotalsFromRow(ms(query.asOf), {
        live: first[at.totals_live],
        past: first[at.totals_past],
        hours: first[at.totals_hours],
        part: first[at.totals_part],
      })
    : { live: num(first[at.totals_live]), expired: 0 };
  const total = validity === 'expired' ? expired : validity === 'unexpired' ? live - expired : live;
  planHints.set(query, total, live);
  const pageRows = (rows as readonly RowValues[]).filter((row) => row[at.certificate_no] !== null);
  const items = pageRows.map((row) => summaryFromValues(row, at));
  return { items, total, totalExact: true, ...(withUsers ? { usedBy: usersFromRows(pageRows, at) } : {}) };
}

/** The merged page's template for `shape` and its page values `names` (built on first use). */
function mergedTemplate(
  shape: PageShape,
  names: ReadonlyArray<keyof PageValues>,
): QueryTemplate<Database, unknown[], MergedRow> {
  const direction = shape.direction;
  const key = JSON.stringify([shape, names]);
  let template = mergedTemplates.get(key);
  if (!template) {
    const expiredCounted = countsExpired(shape.validity);
    const totalsArity = (expiredCounted ? validityTotalsValues(0, 0) : liveTotalValues(0)).length;
    template = templateOf<Database, MergedRow>(totalsArity + names.length, (d, placeholders) => {
      const pageValues = Object.fromEntries(
        names.map((name, i) => [name, placeholders[totalsArity + i]]),
      ) as unknown as PageValues;
      // The seek's row `s` (none past the end: then no page rows): the walk starts at its block,
      // and skips what is left of the offset there.
      let located = sql``;
      if (shape.seek !== null) {
        located = sql`left join lateral (${locateOffsetSql(direction, pageValues.seekTenantId, pageValues.seekOffset)}) as s on true`;
        pageValues.bound =
          shape.seek === 'from'
            ? sql`s.block * ${sql.lit(NUMBER_BLOCK)}`
            : sql`(s.block + 1) * ${sql.lit(NUMBER_BLOCK)}`;
        pageValues.skip = sql`${pageValues.skip} - s.skipped`;
      }
      // A left join, so the totals' row comes back when the page is empty; the outer order is
      // the page's (a join's output order is not promised otherwise).
      return sql<MergedRow>`select t.live as totals_live, t.past as totals_past, t.hours as totals_hours, t.part as totals_part, p.* from (${expiredCounted ? validityTotalsSql(placeholders.slice(0, totalsArity), true) : liveTotalSql(placeholders.slice(0, totalsArity))}) as t ${located} left join lateral (${pageQuery(d, shape, pageValues)}) as p on true order by p.certificate_no ${sql.raw(direction)}`;
    });
    mergedTemplates.set(key, template);
  }
  return template;
}

type MergedRow = PageRow & { totals_live: unknown; totals_past: unknown; totals_hours: unknown; totals_part: unknown };

/** What `mergedPage` reads of its rows (`used_by` only with `withUsers`). */
const MERGED_COLUMNS = [
  ...SUMMARY_ROW_COLUMNS,
  'used_by',
  'totals_live',
  'totals_past',
  'totals_hours',
  'totals_part',
] as const;

/** Merged templates by page shape, as `pageTemplates`. */
const mergedTemplates = new Map<string, QueryTemplate<Database, unknown[], MergedRow>>();

/**
 * The totals of each tenant's last counted list per validity filter, in this process: only to
 * choose the next merged page's walk-or-sort plan (a stale hint costs time, never rows).
 * Bounded: past the bound it starts over.
 */
const planHints = (() => {
  const hints = new Map<string, { total: number; live: number }>();
  const keyOf = (query: CertificateQuery): string => `${query.tenantId}:${query.validity ?? 'all'}`;
  return {
    get: (query: CertificateQuery) => hints.get(keyOf(query)),
    set(query: CertificateQuery, total: number, live: number | null): void {
      if (live === null) return;
      if (hints.size >= 10_000) hints.clear();
      hints.set(keyOf(query), { total, live });
    },
  };
})();

/**
 * The rows of one page. `total` and `live` come from the counters (validity-only queries) and
 * choose the walk; null for other filters.
 */
async function pageOf(
  db: Kysely<Database>,
  query: CertificateQuery,
  limit: number,
  offset: number,
  total: number | null,
  live: number | null,
  withUsers: boolean,
  reads: CheckedReads,
): Promise<{ items: CertificateSummary[]; usedBy?: Map<number, number[]> }> {
  const direction = query.order ?? 'asc';
  const sortColumn = SORT_COLUMNS[query.sort ?? 'certificateNo'];
  const validity = query.validity ?? 'all';
  const byNumber = sortColumn === 'certificate_no';
  const plan =
    byNumber && validity !== 'all' && live !== null && total !== null ? walkOrSort(offset, limit, total, live) : null;

  const values: PageValues = { ...filterValuesOf(query), limit, skip: offset };
  let seek: PageShape['seek'] = null;
  if (byNumber && validity === 'all' && live !== null && offset >= listTuning.blockSeekFromOffset) {
    const start = await locateOffset(db, query.tenantId, offset, direction);
    // Null only when rows were deleted since the total was read: the page is past the end.
    if (start === null) return { items: [], ...(withUsers ? { usedBy: new Map() } : {}) };
    seek = direction === 'asc' ? 'from' : 'below';
    values.bound = direction === 'asc' ? start.block * NUMBER_BLOCK : (start.block + 1) * NUMBER_BLOCK;
    values.skip = offset - start.before;
  }
  const names = Object.keys(values) as Array<keyof PageValues>;
  const templateFor = (facts: boolean) => {
    const shape: PageShape = { ...shapeOf(query), sortColumn, direction, plan, seek, withUsers, fetch: null, facts };
    const key = JSON.stringify([shape, names]);
    let template = pageTemplates.get(key);
    if (!template) {
      template = templateOf<Database, PageRow>(names.length, (d, placeholders) =>
        pageQuery(
          d,
          shape,
          Object.fromEntries(names.map((name, i) => [name, placeholders[i]])) as unknown as PageValues,
        ),
      );
      pageTemplates.set(key, template);
    }
    return template;
  };
  const rows = await readPage(
    pageKeyOf('page', query, limit, offset),
    (facts) =>
      reads.all(
        templateFor(facts),
        db,
        names.map((name) => values[name]),
      ),
    (page) => factsInHand(page as unknown as readonly RowValues[], columnKeys(SUMMARY_ROW_COLUMNS, null)),
  );
  return { items: rows.map(summaryFromRow), ...(withUsers ? { usedBy: usersFromRows(rows) } : {}) };
}

interface PageValues extends FilterValues {
  /** The first (asc) or end (desc, exclusive) certificate number of the block the walk starts in. */
  bound?: unknown;
  limit: unknown;
  /** Absent: no offset (a merged first page, `PageShape.fetch`). */
  skip?: unknown;
  /** A merged deep page: the tenant and offset its block seek reads (`mergedPage`). */
  seekTenantId?: unknown;
  seekOffset?: unknown;
}

interface PageShape extends FilterShape {
  sortColumn: (typeof SORT_COLUMNS)[CertificateSort];
  direction: 'asc' | 'desc';
  plan: 'walk' | 'sort' | null;
  /** A block-counter seek: numbers from `bound` on (asc) or below it (desc). */
  seek: 'from' | 'below' | null;
  /** The `usersColumn` of each row too (PostgreSQL only: `withUsers` of a merging dialect). */
  withUsers: boolean;
  /** With the `facts` column (known-facts.ts `readPage`: without it when every row's facts are held). */
  facts: boolean;
  /**
   * Null: the page's numbers take `limit` and `skip` as parameters (`pageOf`, both dialects).
   * A number (the merged page, PostgreSQL: `mergedPage`): the statement is written so that its
   * generic plan costs what a custom plan does, and PostgreSQL keeps it instead of planning
   * afresh on every run (planning cost about twice the execution: docs/performance.md).
   * - The numbers' limit is this literal, the page's limit rounded up to a power of two
   *   (`fetchSize`: a dozen texts at most), and the exact `limit` is a parameter of the joined
   *   rows: a parameter limit is costed at 10 % of its input, here 10 % of `fetch` numbers, not
   *   10 % of the tenant's rows. The walk stops as soon as `limit` rows are out, so no row past
   *   the page is read or sent.
   * - The offset: none on a first page (`skip` absent); otherwise `(select $n)`, which the
   *   planner cannot fold to a constant in a custom plan either, so both plans cost it alike
   *   (a bare parameter offset is a constant in custom plans and 10 % of the rows in the
   *   generic one, which then never wins). The plan's shape does not depend on it: the walk
   *   is forced by the index order (`plan`), the rows by primary key per number.
   * - The totals beside it hide their hour ranges the same way (`validityTotalsSql`).
   */
  fetch: number | null;
}

/**
 * The power of two at or above `limit`: the few literal limits of a statement written for a
 * generic plan on PostgreSQL (a merged page's `PageShape.fetch`, acm.ts `CertificateShape.fetch`).
 */
export const fetchSize = (limit: number): number => 2 ** Math.ceil(Math.log2(Math.max(limit, 1)));

type PageRow = CertificateSummaryRow & { used_by?: unknown };

/**
 * Page templates by shape (filters present, sort, direction, plan, seek): a few dozen in
 * practice, a few thousand at most, so the map needs no bound.
 */
const pageTemplates = new Map<string, QueryTemplate<Database, unknown[], PageRow>>();

function pageQuery(db: Kysely<Database>, shape: PageShape, values: PageValues) {
  const { sortColumn, direction, plan } = shape;
  const byNumber = sortColumn === 'certificate_no';
  // The page's numbers first (the offset is walked in an index, never in the table), then their
  // rows by primary key, in the same order.
  let numbers = filtered(db, shape, values, plan === 'walk' ? 'walk' : 'indexed').select('certificate_no');
  // `+certificate_no` cannot be read in index order, so the planner takes the not_after range.
  numbers =
    plan === 'sort'
      ? numbers.orderBy(sql`+${sql.ref('certificate_no')}`, direction)
      : numbers.orderBy(sortColumn, direction);
  if (!byNumber) numbers = numbers.orderBy('certificate_no', direction);
  if (shape.seek === 'from') numbers = numbers.where('certificate_no', '>=', values.bound as number);
  if (shape.seek === 'below') numbers = numbers.where('certificate_no', '<', values.bound as number);
  // Summary columns only (no PEM text), ordered by the page's own columns: SQLite then keeps the
  // page's order through the join instead of sorting the joined rows in a temporary b-tree.
  if (!byNumber) numbers = numbers.select(sortColumn);
  if (shape.fetch === null) numbers = numbers.limit(values.limit as number).offset(values.skip as number);
  else {
    numbers = numbers.limit(sql.lit(shape.fetch));
    if (values.skip !== undefined) numbers = numbers.offset(sql<number>`(select ${values.skip}::bigint)`);
  }
  const rows = db
    .selectFrom(numbers.as('page'))
    .innerJoin('certificates', 'certificates.certificate_no', 'page.certificate_no')
    .select(summaryColumns(shape.facts).map((column) => `certificates.${column}` as const))
    .select(hasChainColumn('certificates'))
    // Evaluated for the page's rows only: the limit is applied inside `page` (a merged page: below, and
    // the walk stops there).
    .$if(shape.withUsers, (q) => q.select(usersColumn(db)));
  const ordered = byNumber
    ? rows.orderBy('page.certificate_no', direction)
    : rows.orderBy(sql.ref(`page.${sortColumn}`), direction).orderBy('page.certificate_no', direction);
  return shape.fetch === null ? ordered : ordered.limit(values.limit as number);
}

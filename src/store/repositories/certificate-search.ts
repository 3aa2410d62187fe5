/**
 * The certificate search (issue 20): the list query when any search filter is present
 * (`isSearchQuery`), read through the indexes of migration 0013. certificate-list.ts keeps the
 * other list queries (the cloud faces'), whose totals are always exact.
 *
 * Every filter is a set of certificate numbers some index can produce (a "driver"), and also a
 * test on one row (a "probe"):
 *
 *   filter            driver (index)                                    probe on a row
 *   coversHost        certificate_names: the key of H and of *.parent(H) EXISTS names (certificate_no, kind, key)
 *   ipAddress         certificate_names: one key                        EXISTS, same primary key
 *   zone              certificate_names: one key range                  EXISTS, key range in the primary key
 *   nameContains      FTS5 trigram MATCH (SQLite) / pg_trgm GIN (PG)    lower(name) LIKE (always applied)
 *   domainContains    FTS5 trigram MATCH / pg_trgm GIN on domains       EXISTS domains LIKE (always applied)
 *   name, domain      certificates_live_name / certificate_domains      the row's name / EXISTS domains
 *   notAfter range    certificates_live_not_after (validity folded in)  the row's not_after
 *   keyType, issuer   certificates_live_key_type / _issuer              the row's columns
 *
 * The plan, decided per request from counts that cost at most T + 1 index entries each:
 * - every driver's match count is read bounded by T (`select count(*) from (… limit T + 1)`);
 * - when the smallest is at most T, that driver is the outer loop (a DISTINCT subquery joined to
 *   certificates by primary key, `CROSS JOIN` so SQLite keeps that order) and the other filters
 *   are probes; its at most T rows are sorted (the "drive" plan). The total is then a count over
 *   the same at most T rows: exact.
 * - otherwise every filter matches more than T rows, so matches are at least T / live of the
 *   tenant: the sort key's index is walked in order with every filter as a probe, and the page
 *   fills after about limit × live / T entries (the "walk" plan). The total is exact when the page
 *   is not full; else a count bounded by T: exact up to T, else "more than T" (`totalExact:
 *   false`).
 * T = sqrt((offset + limit) × live), within [1000, 50 000] (`searchTuning`): where the sort of T rows and the walk
 * of (offset + limit) × live / T entries cost about the same.
 * Filters that each match more than T certificates but few together (a wide zone and a rare
 * substring) are the one slow case: the walk passes many entries per match (at worst the
 * tenant's, about 1 s at a million on SQLite). docs/performance.md, "Search".
 *
 * Orders: name, notAfter, createdAt (registration) or certificateNo, either direction, then
 * certificate_no in the same direction. Paging is by offset or by keyset (`after`: rows strictly
 * after (key, certificate_no)), which never skips or repeats a row while others are written,
 * as long as a row's sort key does not change (a replace can move notAfter).
 *
 * Case: `nameContains` and `domainContains` fold ASCII case only (lower() on SQLite, and on
 * PostgreSQL under the "C" collation of `name`; domains are stored lower-case), as
 * certificate-list.ts does. FTS5's trigram tokenizer folds more (Unicode), so its matches are a
 * superset and the LIKE probe, always applied, gives the exact answer.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { asciiLower } from '../../domain/text.ts';
import { namesCovering } from '../../domain/x509/hostname.ts';
import {
  CERTIFICATE_PAGE_MAX,
  type CertificatePage,
  type CertificateQuery,
  type CertificateSort,
} from '../../core/ports.ts';
import type { StoreDialect } from '../dialect.ts';
import { CERTIFICATE_SUMMARY_COLUMNS, ms, summaryFromRow, type CertificateSummaryRow } from '../rows.ts';
import type { Database } from '../schema.ts';
import { dnsNameKey, NAME_KIND, zoneKeyRange } from './certificate-search-index.ts';

/** The bounds of T (see the top of this file). Tests lower them to exercise the walk plan. */
export const searchTuning = { minT: 1000, maxT: 50_000 };

const SORT_COLUMNS = {
  certificateNo: 'certificate_no',
  name: 'name',
  notAfter: 'not_after',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
} as const satisfies Record<CertificateSort, string>;

/** True when the query uses a filter or paging only the search path serves. */
export function isSearchQuery(query: CertificateQuery): boolean {
  return (
    query.coversHost !== undefined ||
    query.ipAddress !== undefined ||
    query.zone !== undefined ||
    (query.nameContains !== undefined && query.nameContains !== '') ||
    query.domainContains !== undefined ||
    query.notAfterBetween !== undefined ||
    query.keyType !== undefined ||
    query.issuer !== undefined ||
    query.after !== undefined
  );
}

/** LIKE pattern for a literal substring: `\` escapes `%`, `_` and itself (ESCAPE is explicit). */
const containsPattern = (text: string): string => `%${asciiLower(text).replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/**
 * Whether a substring index can find the text: trigram indexes need three characters (FTS5
 * matches nothing shorter). Shorter texts are probes only, read row by row: core refuses them
 * (core/certificate-search.ts), so only the store's own callers get that slow, correct answer.
 */
const trigramIndexed = (text: string): boolean => [...text].length >= 3;

/** An FTS5 query: the text as one phrase (a double quote doubled) in one column. */
const ftsPhrase = (column: 'name' | 'domains', text: string): string => `{${column}} : "${text.replace(/"/g, '""')}"`;

interface Filter {
  /** Certificate numbers (maybe repeated, maybe other tenants' or deleted ones: the join checks). */
  driver: RawBuilder<unknown> | null;
  /** A condition on the row `c` (true when it matches). */
  probe: RawBuilder<boolean>;
  /** In the walk plan, the probe must not steer SQLite off the sort index (see `walkProbe`). */
  walkProbe?: RawBuilder<boolean>;
}

const c = (column: string) => sql.ref(`c.${column}`);

/**
 * A column no index serves, so the walk stays on the sort index: `+x` for numbers (both
 * dialects), `x || ''` for text (PostgreSQL has no unary plus on text).
 */
const unindexedText = (ref: RawBuilder<unknown> | ReturnType<typeof c>) => sql`(${ref} || '')`;

function namesProbe(condition: RawBuilder<unknown>): RawBuilder<boolean> {
  return sql<boolean>`exists (select 1 from certificate_names n where n.certificate_no = c.certificate_no and ${condition})`;
}

/** The notAfter window the query asks for, the validity filter folded in: [lo, hi), null for either end open. */
function notAfterWindow(query: CertificateQuery): { lo: number | null; hi: number | null } | null {
  let lo: number | null = null;
  let hi: number | null = null;
  if (query.notAfterBetween) {
    lo = ms(query.notAfterBetween.from);
    hi = ms(query.notAfterBetween.to);
  }
  // A certificate is valid through its notAfter instant inclusive (RFC 5280): expired is < asOf.
  const asOf = ms(query.asOf);
  if (query.validity === 'expired') hi = hi === null ? asOf : Math.min(hi, asOf);
  if (query.validity === 'unexpired') lo = lo === null ? asOf : Math.max(lo, asOf);
  return lo === null && hi === null ? null : { lo, hi };
}

function filtersOf(dialect: StoreDialect, query: CertificateQuery): Filter[] {
  const tenant = query.tenantId;
  const filters: Filter[] = [];
  const names = (kind: number, condition: RawBuilder<unknown>) =>
    sql`select certificate_no from certificate_names where tenant_id = ${tenant} and kind = ${kind} and ${condition}`;
  if (query.coversHost !== undefined) {
    const keys = namesCovering(query.coversHost).map(dnsNameKey);
    const condition = sql`name_key in (${sql.join(keys)})`;
    filters.push({
      driver: names(NAME_KIND.dns, condition),
      probe: namesProbe(sql`n.kind = ${NAME_KIND.dns} and n.name_key in (${sql.join(keys)})`),
    });
  }
  if (query.ipAddress !== undefined) {
    filters.push({
      driver: names(NAME_KIND.ip, sql`name_key = ${query.ipAddress}`),
      probe: namesProbe(sql`n.kind = ${NAME_KIND.ip} and n.name_key = ${query.ipAddress}`),
    });
  }
  if (query.zone !== undefined) {
    const { from, to } = zoneKeyRange(query.zone);
    filters.push({
      driver: names(NAME_KIND.dns, sql`name_key >= ${from} and name_key < ${to}`),
      probe: namesProbe(sql`n.kind = ${NAME_KIND.dns} and n.name_key >= ${from} and n.name_key < ${to}`),
    });
  }
  if (query.name !== undefined) {
    filters.push({
      driver: sql`select certificate_no from certificates where tenant_id = ${tenant} and deleted_at is null and name = ${query.name}`,
      probe: sql<boolean>`${c('name')} = ${query.name}`,
    });
  }
  if (query.domain !== undefined) {
    const domain = asciiLower(query.domain);
    filters.push({
      driver: sql`select certificate_no from certificate_domains where tenant_id = ${tenant} and domain = ${domain}`,
      probe: sql<boolean>`exists (select 1 from certificate_domains d where d.certificate_no = c.certificate_no and d.domain = ${domain})`,
    });
  }
  if (query.nameContains !== undefined && query.nameContains !== '') {
    const pattern = containsPattern(query.nameContains);
    filters.push({
      driver: !trigramIndexed(query.nameContains)
        ? null
        : dialect.substringIndex === 'fts5'
          ? sql`select rowid as certificate_no from certificate_search where certificate_search match ${ftsPhrase('name', query.nameContains)}`
          : sql`select certificate_no from certificates where tenant_id = ${tenant} and deleted_at is null and lower(name) like ${pattern} escape '\\'`,
      probe: sql<boolean>`lower(${c('name')}) like ${pattern} escape '\\'`,
    });
  }
  if (query.domainContains !== undefined) {
    const pattern = containsPattern(query.domainContains);
    filters.push({
      driver: !trigramIndexed(query.domainContains)
        ? null
        : dialect.substringIndex === 'fts5'
          ? sql`select rowid as certificate_no from certificate_search where certificate_search match ${ftsPhrase('domains', query.domainContains)}`
          : sql`select certificate_no from certificate_domains where tenant_id = ${tenant} and domain like ${pattern} escape '\\'`,
      probe: sql<boolean>`exists (select 1 from certificate_domains d where d.certificate_no = c.certificate_no and d.domain like ${pattern} escape '\\')`,
    });
  }
  const window = notAfterWindow(query);
  if (window) {
    const range = (ref: RawBuilder<unknown>) =>
      sql.join(
        [
          ...(window.lo === null ? [] : [sql`${ref} >= ${window.lo}`]),
          ...(window.hi === null ? [] : [sql`${ref} < ${window.hi}`]),
        ],
        sql` and `,
      );
    filters.push({
      driver: sql`select certificate_no from certificates where tenant_id = ${tenant} and deleted_at is null and ${range(sql.ref('not_after'))}`,
      probe: sql<boolean>`${range(c('not_after'))}`,
      // `+x` is no index column to SQLite nor PostgreSQL: the walk stays on the sort index.
      walkProbe: sql<boolean>`${range(sql`+${c('not_after')}`)}`,
    });
  }
  if (query.keyType !== undefined) {
    const { algorithm, bits } = query.keyType;
    const condition = (walk: boolean) => {
      const algorithmTerm = sql<boolean>`${walk ? unindexedText(c('key_algorithm')) : c('key_algorithm')} = ${algorithm}`;
      return bits === undefined
        ? algorithmTerm
        : sql<boolean>`${algorithmTerm} and ${walk ? sql`+${c('key_bits')}` : c('key_bits')} = ${bits}`;
    };
    filters.push({
      driver: sql`select certificate_no from certificates c where c.tenant_id = ${tenant} and c.deleted_at is null and ${condition(false)}`,
      probe: condition(false),
      walkProbe: condition(true),
    });
  }
  if (query.issuer !== undefined) {
    filters.push({
      driver: sql`select certificate_no from certificates where tenant_id = ${tenant} and deleted_at is null and ca_name = ${query.issuer}`,
      probe: sql<boolean>`${c('ca_name')} = ${query.issuer}`,
      walkProbe: sql<boolean>`${unindexedText(c('ca_name'))} = ${query.issuer}`,
    });
  }
  return filters;
}

const num = (value: unknown): number => (value === null || value === undefined ? 0 : Number(value));

/** Matches of a driver, counted up to `cap + 1`. */
async function boundedCount(db: Kysely<Database>, driver: RawBuilder<unknown>, cap: number): Promise<number> {
  const { rows } = await sql<{ n: unknown }>`select count(*) as n from (${driver} limit ${cap + 1}) as m`.execute(db);
  return num(rows[0]?.n);
}

export async function searchCertificates(
  db: Kysely<Database>,
  dialect: StoreDialect,
  query: CertificateQuery,
): Promise<CertificatePage> {
  const limit = Math.min(Math.max(Math.trunc(query.limit), 0), CERTIFICATE_PAGE_MAX);
  const offset = query.after ? 0 : Math.max(Math.trunc(query.offset), 0);
  const { rows: counted } = await sql<{
    live: unknown;
  }>`select live from certificate_counts where tenant_id = ${query.tenantId}`.execute(db);
  const live = num(counted[0]?.live);
  const t = Math.min(
    searchTuning.maxT,
    Math.max(searchTuning.minT, Math.ceil(Math.sqrt((offset + Math.max(limit, 1)) * live))),
  );

  const filters = filtersOf(dialect, query);
  let driver: { filter: Filter; count: number } | null = null;
  for (const filter of filters) {
    if (!filter.driver) continue;
    const count = await boundedCount(db, filter.driver, t);
    if (driver === null || count < driver.count) driver = { filter, count };
    if (count === 0) break;
  }
  const drive = driver !== null && driver.count <= t;
  if (drive && driver!.count === 0) return { items: [], total: 0, totalExact: true };

  const sortColumn = SORT_COLUMNS[query.sort ?? 'certificateNo'];
  const direction = query.order ?? 'asc';
  const conditions: RawBuilder<unknown>[] = [sql`c.tenant_id = ${query.tenantId}`, sql`c.deleted_at is null`];
  for (const filter of filters) {
    if (drive && filter === driver!.filter && dialect.substringIndex !== 'fts5') continue;
    conditions.push(drive ? filter.probe : (filter.walkProbe ?? filter.probe));
  }
  const from = drive
    ? sql`(select distinct certificate_no from (${driver!.filter.driver}) as k) as m cross join certificates c`
    : sql`certificates c`;
  if (drive) conditions.push(sql`c.certificate_no = m.certificate_no`);
  const where = sql.join(conditions, sql` and `);

  const keyset =
    query.after === undefined
      ? sql`1 = 1`
      : sortColumn === 'certificate_no'
        ? sql`c.certificate_no ${sql.raw(direction === 'asc' ? '>' : '<')} ${query.after.certificateNo}`
        : sql`(${c(sortColumn)}, c.certificate_no) ${sql.raw(direction === 'asc' ? '>' : '<')} (${query.after.key}, ${query.after.certificateNo})`;
  const dir = sql.raw(direction);
  const order =
    sortColumn === 'certificate_no'
      ? sql`c.certificate_no ${dir}`
      : sql`${c(sortColumn)} ${dir}, c.certificate_no ${dir}`;
  const columns = sql.join([
    ...CERTIFICATE_SUMMARY_COLUMNS.map((column) => c(column)),
    sql`case when c.chain_pems = '[]' then 0 else 1 end as has_chain`,
  ]);
  const items =
    limit === 0
      ? []
      : (
          await sql<CertificateSummaryRow>`select ${columns} from ${from} where ${where} and ${keyset}
            order by ${order} limit ${limit} offset ${offset}`.execute(db)
        ).rows.map(summaryFromRow);

  // The total: from the page when it ends the result, else counted (bounded by T in the walk).
  if (query.after === undefined && items.length < limit && (items.length > 0 || offset === 0))
    return { items, total: offset + items.length, totalExact: true };
  const cap = drive ? driver!.count : t;
  // The count has no order to keep: in the walk plan its filters are written plainly, so the
  // planner may read them from their own indexes instead of walking the sort index.
  const countWhere = drive
    ? where
    : sql.join(
        [sql`c.tenant_id = ${query.tenantId}`, sql`c.deleted_at is null`, ...filters.map((f) => f.probe)],
        sql` and `,
      );
  const { rows: totals } = await sql<{
    n: unknown;
  }>`select count(*) as n from (select 1 from ${from} where ${countWhere} limit ${cap + 1}) as matched`.execute(db);
  const total = num(totals[0]?.n);
  return total > cap ? { items, total, totalExact: false } : { items, total, totalExact: true };
}

/**
 * The certificate search (issue 20): the list query when any search filter is present
 * (`isSearchQuery`), read through the indexes of migrations 0013 and 0022. certificate-list.ts keeps the
 * other list queries (the cloud faces'), whose totals are always exact.
 *
 * Every filter is a set of certificate numbers some index can produce (a "driver"), and also a
 * test on one row (a "probe"):
 *
 *   filter            driver (index)                                    probe on a row
 *   coversHost        certificate_names: the key of H and of *.parent(H) EXISTS names (certificate_no, kind, key)
 *   ipAddress         certificate_names: one key                        EXISTS, same primary key
 *   zone              certificate_names: one key range                  EXISTS, key range in the primary key
 *   nameContains      FTS5 trigram MATCH (SQLite) / the rarest          lower(name) LIKE (always applied)
 *                     trigram's certificate_name_grams rows, LIKE on their keys (PG)
 *   domainContains    FTS5 trigram MATCH / pg_trgm GIN on domains       EXISTS domains LIKE (always applied)
 *                     (FTS5: the AND of the text's rarest trigrams, `ftsMatch`; PG: the GIN
 *                     index asked for the text's rarest windows, the LIKE on their rows, `domainWindows`)
 *   name, domain      certificates_live_name / certificate_domains      the row's name / EXISTS domains
 *   notAfter range    certificates_live_not_after (validity folded in)  the row's not_after
 *   keyType, issuer   certificates_live_key_type / _issuer              the row's columns
 *
 * The plan, decided per request from counts that cost at most T + 1 index entries each:
 * - every driver's match count is read bounded by T (`select count(*) from (… limit T + 1)`);
 * - when the smallest is at most T, that driver is the outer loop (a DISTINCT subquery joined to
 *   the narrow index `certificates_live_search` by number, `CROSS JOIN` so SQLite keeps that
 *   order) and the other filters are probes; its at most T entries are sorted (the "drive"
 *   plan). The total is counted by the same statement: exact.
 * - otherwise every filter matches more than T rows, so matches are at least T / live of the
 *   tenant: the sort key's index is walked in order with every filter as a probe, and the page
 *   fills after about limit × live / T entries (the "walk" plan). A key type sorted by name walks
 *   `certificates_live_key_name` (migration 0023) instead, the key type a range of it: its
 *   certificates may all sort far from the start (`walk`). The total is exact when the page
 *   is not full; else a count bounded by T: exact up to T, else "more than T" (`totalExact:
 *   false`).
 * T = sqrt((offset + limit) × live), within [1000, 50 000] (`searchTuning`): where the sort of T rows and the walk
 * of (offset + limit) × live / T entries cost about the same.
 * No plan reads a wide `certificates` row (PEM, chain, facts: about 5 KB) to decide: drives and
 * walks read index entries only (the narrow index holds every column a filter or sort names),
 * and `pageOf` reads the rows of the page's certificates alone, by number.
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
import type { CertificateSummary } from '../../domain/model.ts';
import {
  CERTIFICATE_PAGE_MAX,
  type CertificateCursor,
  type CertificatePage,
  type CertificateQuery,
  type CertificateSort,
} from '../../core/ports.ts';
import type { StoreDialect } from '../dialect.ts';
import { plannedEachRun } from '../postgres-statements.ts';
import { SEARCH_INDEX_COLUMNS } from '../migrations/0022-certificate-search-narrow.ts';
import { NAME_WALK_COLUMNS } from '../migrations/0028-certificate-search-name-cover.ts';
import { CERTIFICATE_SUMMARY_COLUMNS, ms, summaryFromRow, type CertificateSummaryRow } from '../rows.ts';
import type { Database } from '../schema.ts';
import {
  dnsNameKey,
  NAME_GRAM_NAME_START,
  NAME_KIND,
  nameGramKey,
  nameGramKeyRange,
  trigramsOf,
  zoneKeyRange,
} from './certificate-search-index.ts';

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

const num = (value: unknown): number => (value === null || value === undefined ? 0 : Number(value));

/** An FTS5 string: the text quoted, a double quote doubled. */
const ftsString = (text: string): string => `"${text.replace(/"/g, '""')}"`;

/** Trigrams probed for rarity at most, spread over the text; terms kept in the query at most. */
const FTS_PROBED = 12;
const FTS_TERMS = 3;
/** Postings read per probed trigram. */
const FTS_SAMPLE = 32;

/**
 * The FTS5 query for "`column` contains `text`": the AND of the text's rarest trigrams, not the
 * text as a phrase. FTS5 answers a phrase by reading the position lists of every one of its
 * trigrams in full, and the common ones (`exa`, `.co`, `com`: in nearly every domain) cost the
 * whole table however rare the phrase: `z1000.example.n` read 51 ms of postings at 100,000
 * certificates to find 54, where the AND of its three rarest trigrams took 0.6 ms (FTS5 seeks
 * the other terms' doclists to the rarest one's rows). The AND matches a superset (the trigrams
 * anywhere, in any order); the LIKE probe, always applied over FTS5 drivers, gives the exact answer.
 *
 * Rarity without statistics: each probed trigram's first FTS_SAMPLE postings are read (rowid
 * order); a trigram with fewer is rarest, else the later its last sampled rowid, the rarer. That
 * assumes matches spread over rowids, which holds roughly (certificate numbers follow import
 * order); a poor guess costs time, never a wrong answer. At most FTS_PROBED probes of
 * FTS_SAMPLE postings each: about 0.05 ms apiece measured.
 */
async function ftsMatch(db: Kysely<Database>, column: 'name' | 'domains', text: string): Promise<string> {
  const chars = [...text];
  const all = [...new Set(Array.from({ length: chars.length - 2 }, (_, i) => chars.slice(i, i + 3).join('')))];
  if (all.length <= FTS_TERMS) return `{${column}} : ${ftsString(text)}`;
  const step = all.length / Math.min(all.length, FTS_PROBED);
  const probed = Array.from({ length: Math.min(all.length, FTS_PROBED) }, (_, i) => all[Math.floor(i * step)]!);
  const ranked: Array<{ term: string; n: number; last: number }> = [];
  for (const term of probed) {
    const { rows } = await sql<{ n: unknown; last: unknown }>`select count(*) as n, max(rowid) as last from
      (select rowid from certificate_search where certificate_search match ${`{${column}} : ${ftsString(term)}`}
       limit ${FTS_SAMPLE}) as p`.execute(db);
    const n = num(rows[0]?.n);
    if (n === 0) return `{${column}} : ${ftsString(term)}`; // nothing has it: nothing matches
    ranked.push({ term, n, last: num(rows[0]?.last) });
  }
  ranked.sort((a, b) => a.n - b.n || b.last - a.last);
  return `{${column}} : (${ranked
    .slice(0, FTS_TERMS)
    .map((r) => ftsString(r.term))
    .join(' AND ')})`;
}

interface Filter {
  /** Certificate numbers (maybe repeated, maybe other tenants' or deleted ones: the join checks). */
  driver: RawBuilder<unknown> | null;
  /** A condition on the row `c` (true when it matches). */
  probe: RawBuilder<boolean>;
  /** In the walk plan, the probe must not steer SQLite off the sort index (see `walkProbe`). */
  walkProbe?: RawBuilder<boolean>;
  /** The column the filter is a range of: walking that column's index, the range bounds the walk. */
  onColumn?: string;
  /** That range, on the certificates named `alias` (the walked index). */
  sortRange?: (alias: string) => RawBuilder<boolean>;
  /**
   * Walking the name order, the filter is instead a range of `certificates_live_key_name`
   * (migration 0023), on the certificates named `alias`: the walk reads that index.
   */
  keyNameRange?: (alias: string) => RawBuilder<boolean>;
  /**
   * Walking the name order, the filter may walk one of these trigrams' rows in
   * `certificate_name_grams` (migration 0023) instead, testing `gramProbe` on each row's key.
   */
  nameGrams?: string[];
  /** The rarest of them, when already known (`ftsMatches`). */
  nameGram?: string;
  gramProbe?: (alias: string) => RawBuilder<boolean>;
  /** Probe order, cheapest first: 0 a column of the row, 1 a LIKE on one, 2 a subquery per row. */
  cost: 0 | 1 | 2;
  /** The driver yields each matching certificate once and nothing else: its count is the filter's. */
  exact?: true;
  /** The one column of the row the probe reads (cost 0 and 1). */
  column?: string;
  /** The driver yields the tenant's matching live certificates only, some more than once. */
  repeats?: true;
  /**
   * Reading the driver costs more than its rows (a substring index's postings): its count reads
   * the numbers themselves, and a drive by it sorts those numbers instead of reading it again.
   */
  fetched?: true;
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

/**
 * What the substring drivers need to know first: FTS5 MATCH expressions of the query's
 * substrings (SQLite; `ftsMatch`), and on PostgreSQL the name substring's rarest trigram
 * (`rarestGram`).
 */
interface FtsMatches {
  name?: string;
  domains?: string;
  nameGram?: string;
  /** PostgreSQL: the domain substring's rarest windows (`domainWindows`); empty, the text whole. */
  domainWindows?: string[];
}

async function ftsMatches(
  db: Kysely<Database>,
  dialect: StoreDialect,
  query: CertificateQuery,
  t: number,
): Promise<FtsMatches> {
  const named = query.nameContains !== undefined && trigramIndexed(query.nameContains);
  if (dialect.substringIndex !== 'fts5') {
    const pg: FtsMatches = {};
    if (named) pg.nameGram = await rarestGram(db, query.tenantId, trigramsOf(query.nameContains!), gramCap(t));
    if (query.domainContains !== undefined && trigramIndexed(query.domainContains))
      pg.domainWindows = await domainWindows(db, asciiLower(query.domainContains), t);
    return pg;
  }
  const fts: FtsMatches = {};
  if (named) fts.name = await ftsMatch(db, 'name', query.nameContains!);
  if (query.domainContains !== undefined && trigramIndexed(query.domainContains))
    fts.domains = await ftsMatch(db, 'domains', query.domainContains);
  return fts;
}

function filtersOf(dialect: StoreDialect, query: CertificateQuery, fts: FtsMatches): Filter[] {
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
      cost: 2,
      repeats: true,
    });
  }
  if (query.ipAddress !== undefined) {
    filters.push({
      driver: names(NAME_KIND.ip, sql`name_key = ${query.ipAddress}`),
      probe: namesProbe(sql`n.kind = ${NAME_KIND.ip} and n.name_key = ${query.ipAddress}`),
      cost: 2,
      repeats: true,
    });
  }
  if (query.zone !== undefined) {
    const { from, to } = zoneKeyRange(query.zone);
    filters.push({
      driver: names(NAME_KIND.dns, sql`name_key >= ${from} and name_key < ${to}`),
      probe: namesProbe(sql`n.kind = ${NAME_KIND.dns} and n.name_key >= ${from} and n.name_key < ${to}`),
      cost: 2,
      repeats: true,
    });
  }
  if (query.name !== undefined) {
    filters.push({
      driver: sql`select certificate_no from certificates where tenant_id = ${tenant} and deleted_at is null and name = ${query.name}`,
      probe: sql<boolean>`${c('name')} = ${query.name}`,
      cost: 0,
      column: 'name',
      exact: true,
    });
  }
  if (query.domain !== undefined) {
    const domain = asciiLower(query.domain);
    filters.push({
      driver: sql`select certificate_no from certificate_domains where tenant_id = ${tenant} and domain = ${domain}`,
      probe: sql<boolean>`exists (select 1 from certificate_domains d where d.certificate_no = c.certificate_no and d.domain = ${domain})`,
      cost: 2,
    });
  }
  if (query.nameContains !== undefined && query.nameContains !== '') {
    const pattern = containsPattern(query.nameContains);
    filters.push({
      driver: !trigramIndexed(query.nameContains)
        ? null
        : dialect.substringIndex === 'fts5'
          ? sql`select rowid as certificate_no from certificate_search where certificate_search match ${fts.name}`
          : // PostgreSQL: the rarest trigram's rows (migration 0023), the LIKE tested on their keys:
            // index entries only, where the pg_trgm GIN index on the name (dropped by migration 0029)
            // yielded heap tuples (a heap block per candidate: 1,560 to count "shop" up to T at 100,000).
            sql`select certificate_no from certificate_name_grams where tenant_id = ${tenant}
              and gram_key >= ${nameGramKeyRange(fts.nameGram!).from} and gram_key < ${nameGramKeyRange(fts.nameGram!).to}
              and lower(substr(gram_key, ${NAME_GRAM_NAME_START})) like ${pattern} escape '\\'`,
      probe: sql<boolean>`lower(${c('name')}) like ${pattern} escape '\\'`,
      // Not the expression PostgreSQL's GIN index on the name was on (dropped by migration 0029):
      // walking, the planner had to stay on the sort index instead of fetching every match through
      // it (2.4 s at 100,000). Kept as the one walk probe form both stores' plans were checked with.
      walkProbe: sql<boolean>`(lower(${c('name')}) || '') like ${pattern} escape '\\'`,
      ...(trigramIndexed(query.nameContains)
        ? {
            nameGrams: trigramsOf(query.nameContains),
            ...(fts.nameGram === undefined ? {} : { nameGram: fts.nameGram }),
            gramProbe: (alias: string) =>
              sql<boolean>`lower(substr(${sql.ref(`${alias}.gram_key`)}, ${NAME_GRAM_NAME_START})) like ${pattern} escape '\\'`,
          }
        : {}),
      cost: 1,
      column: 'name',
      // FTS5's rows are every tenant's, and its case folding is wider.
      ...(dialect.substringIndex === 'fts5' ? { fetched: true as const } : { exact: true as const }),
    });
  }
  if (query.domainContains !== undefined) {
    const pattern = containsPattern(query.domainContains);
    filters.push({
      driver: !trigramIndexed(query.domainContains)
        ? null
        : dialect.substringIndex === 'fts5'
          ? sql`select rowid as certificate_no from certificate_search where certificate_search match ${fts.domains}`
          : fts.domainWindows === undefined || fts.domainWindows.length === 0
            ? sql`select certificate_no from certificate_domains where tenant_id = ${tenant} and domain like ${pattern} escape '\\'`
            : // PostgreSQL: the GIN index asked for the rarest windows only (`domainWindows`); the
              // whole text tested on the rows they yield, written so the index cannot answer it.
              sql`select certificate_no from certificate_domains where tenant_id = ${tenant}
                and ${sql.join(
                  fts.domainWindows.map((w) => sql`domain like ${containsPattern(w)} escape '\\'`),
                  sql` and `,
                )}
                and (domain || '') like ${pattern} escape '\\'`,
      probe: sql<boolean>`exists (select 1 from certificate_domains d where d.certificate_no = c.certificate_no and d.domain like ${pattern} escape '\\')`,
      cost: 2,
      fetched: true,
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
      onColumn: 'not_after',
      sortRange: (alias) => sql<boolean>`${range(sql.ref(`${alias}.not_after`))}`,
      cost: 0,
      column: 'not_after',
      exact: true,
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
      keyNameRange: (alias) => {
        const algorithmTerm = sql<boolean>`${sql.ref(`${alias}.key_algorithm`)} = ${algorithm}`;
        return bits === undefined
          ? algorithmTerm
          : sql<boolean>`${algorithmTerm} and ${sql.ref(`${alias}.key_bits`)} = ${bits}`;
      },
      cost: 0,
      column: 'key_algorithm',
      exact: true,
    });
  }
  if (query.issuer !== undefined) {
    filters.push({
      driver: sql`select certificate_no from certificates where tenant_id = ${tenant} and deleted_at is null and ca_name = ${query.issuer}`,
      probe: sql<boolean>`${c('ca_name')} = ${query.issuer}`,
      walkProbe: sql<boolean>`${unindexedText(c('ca_name'))} = ${query.issuer}`,
      cost: 0,
      column: 'ca_name',
      exact: true,
    });
  }
  // Cheapest probes first: a row that fails a column test never runs a subquery.
  return filters.sort((a, b) => a.cost - b.cost);
}

/** Matches of a driver, counted up to `cap + 1`. */
async function boundedCount(db: Kysely<Database>, driver: RawBuilder<unknown>, cap: number): Promise<number> {
  const { rows } = await sql<{ n: unknown }>`select count(*) as n from (${driver} limit ${cap + 1}) as m`.execute(db);
  return num(rows[0]?.n);
}

/** What a search did, for the bench and tests (`searchObserver`); no effect on the answer. */
export interface SearchPlanTrace {
  /** `drive`: one index's matches sorted; `walk`: the sort index walked; `walk, then drive`. */
  plan: 'drive' | 'walk' | 'walk, then drive';
  t: number;
  /** Each driver's match count, bounded by T + 1 (in filter order). */
  counts: number[];
  /** Windows of the sort index walked (0 in the drive plan). */
  windows: number;
  /** Sort-index entries the windows spanned at most (their sizes added up). */
  walkBound: number;
  /** The walk's probes read the narrow index, joined by number (see `walk`). */
  narrowJoin?: boolean;
  /** The walk read `certificates_live_key_name`, the key type a range of it (see `walk`). */
  keyNameWalk?: boolean;
  /** The walk read one trigram's name rows (see `walk`). */
  gramWalk?: boolean;
}
export const searchObserver: { onPlan?: (trace: SearchPlanTrace) => void } = {};

interface Plan {
  db: Kysely<Database>;
  dialect: StoreDialect;
  query: CertificateQuery;
  limit: number;
  offset: number;
  t: number;
  filters: Filter[];
  sortColumn: string;
  direction: 'asc' | 'desc';
}

const summaryColumns = () =>
  sql.join([
    ...CERTIFICATE_SUMMARY_COLUMNS.map((column) => c(column)),
    sql`case when c.chain_pems = '[]' then 0 else 1 end as has_chain`,
  ]);

/** The order, on the certificates named `alias` (`c`, or `s` for the walked index in a joined walk). */
function orderBy(plan: Plan, alias = 'c', column = plan.sortColumn): RawBuilder<unknown> {
  const dir = sql.raw(plan.direction);
  const no = sql.ref(`${alias}.certificate_no`);
  return column === 'certificate_no' ? sql`${no} ${dir}` : sql`${sql.ref(`${alias}.${column}`)} ${dir}, ${no} ${dir}`;
}

/** Rows strictly after `position` in the order (`upTo`: rows up to it, itself included). */
function beyond(
  plan: Plan,
  position: CertificateCursor,
  upTo = false,
  alias = 'c',
  column = plan.sortColumn,
): RawBuilder<unknown> {
  const asc = plan.direction === 'asc';
  const op = sql.raw(upTo ? (asc ? '<=' : '>=') : asc ? '>' : '<');
  const no = sql.ref(`${alias}.certificate_no`);
  if (column === 'certificate_no') return sql`${no} ${op} ${position.certificateNo}`;
  // The key alone too, implied by the row value: SQLite bounds an index range by it, not by
  // the row value when the key has other bounds (a trigram's range). Without it, the count of a
  // window's matches read the whole trigram range (1.7 M VM steps for "shop" at 1,000,000).
  const key = sql.ref(`${alias}.${column}`);
  const weak = sql.raw(upTo === asc ? '<=' : '>=');
  return sql`${key} ${weak} ${position.key} and (${key}, ${no}) ${op} (${position.key}, ${position.certificateNo})`;
}

/** The certificates in the narrow index (migration 0022), as `c`; see `drive`. */
const narrowCertificates = (dialect: StoreDialect) =>
  dialect.label === 'SQLite' ? sql`certificates c indexed by certificates_live_search` : sql`certificates c`;

const all = (conditions: RawBuilder<unknown>[]) => sql.join(conditions, sql` and `);

export async function searchCertificates(
  store: Kysely<Database>,
  dialect: StoreDialect,
  query: CertificateQuery,
): Promise<CertificatePage> {
  // Every statement below is planned with its values (unnamed on PostgreSQL): the plans above
  // depend on the ranges and limits of each request, and a generic plan ignores them.
  const db = store.withPlugin(plannedEachRun);
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
  const plan: Plan = {
    db,
    dialect,
    query,
    limit,
    offset,
    t,
    filters: filtersOf(dialect, query, await ftsMatches(db, dialect, query, t)),
    sortColumn: SORT_COLUMNS[query.sort ?? 'certificateNo'],
    direction: query.order ?? 'asc',
  };

  const drivers: Array<{ filter: Filter; count: number; numbers?: number[] }> = [];
  for (const filter of plan.filters) {
    if (!filter.driver) continue;
    let numbers: number[] | undefined;
    if (filter.fetched) {
      const { rows } = await sql<{ no: unknown }>`select certificate_no as no from (${filter.driver}) as m
        limit ${t + 1}`.execute(db);
      numbers = rows.map((r) => num(r.no));
    }
    const count = numbers?.length ?? (await boundedCount(db, filter.driver, t));
    drivers.push({ filter, count, ...(numbers === undefined ? {} : { numbers }) });
    if (count === 0) {
      searchObserver.onPlan?.({ plan: 'drive', t, counts: drivers.map((d) => d.count), windows: 0, walkBound: 0 });
      return { items: [], total: 0, totalExact: true };
    }
  }
  const smallest = drivers.reduce<(typeof drivers)[number] | null>((a, b) => (a && a.count <= b.count ? a : b), null);
  if (smallest && smallest.count <= t) {
    searchObserver.onPlan?.({ plan: 'drive', t, counts: drivers.map((d) => d.count), windows: 0, walkBound: 0 });
    return drive(plan, smallest.filter, smallest.count, smallest.numbers);
  }
  return walk(
    plan,
    drivers.map((d) => d.filter),
    drivers.map((d) => d.count),
  );
}

/**
 * The page's rows, for certificate numbers a plan chose, in that order. Plans pick numbers from
 * indexes alone (where they can: a walk's probe may read a row's column) and only the page's rows
 * are read whole: a row is about as large as a page of the narrow index (migration 0022). Read
 * by number without the live test: a certificate deleted since the plan chose it still shows, as
 * it would had the page been read a moment earlier, and the page is never short for it. The
 * tenant test is `+` (no index column): SQLite otherwise walked the tenant's updated_at index.
 */
async function pageOf(db: Kysely<Database>, plan: Plan, numbers: number[]): Promise<CertificateSummary[]> {
  if (numbers.length === 0) return [];
  const { rows } = await sql<CertificateSummaryRow>`select ${summaryColumns()} from certificates c
    where c.certificate_no in (${sql.join(numbers)}) and +c.tenant_id = ${plan.query.tenantId}`.execute(db);
  const byNumber = new Map(rows.map((row) => [num(row.certificate_no), row]));
  return numbers.flatMap((no) => {
    const row = byNumber.get(no);
    return row ? [summaryFromRow(row)] : [];
  });
}

/**
 * The drive plan: the driver's at most `count` certificates looked up in the narrow index, the
 * other filters probed on each, sorted; then the page's rows. The total is exact: counted by
 * the page's statement, or (a keyset page, or an offset past the end) by a count over the same
 * at most `count` entries.
 */
async function drive(plan: Plan, driver: Filter, count: number, numbers?: number[]): Promise<CertificatePage> {
  const { db, dialect, query, limit, offset } = plan;
  const conditions: RawBuilder<unknown>[] = [sql`c.tenant_id = ${query.tenantId}`, sql`c.deleted_at is null`];
  // FTS5's trigram matches are a superset (Unicode case folding): its LIKE probe stays.
  for (const filter of plan.filters)
    if (filter !== driver || dialect.substringIndex === 'fts5') conditions.push(filter.probe);
  // The driven certificates are looked up in the narrow index, not the rows (migration 0022):
  // every column named here is in it. SQLite would take the rowid; INDEXED BY says which.
  // The driver's numbers, when its count already read them (`fetched`): not read again.
  const from =
    numbers === undefined
      ? sql`(select distinct certificate_no from (${driver.driver}) as k) as m cross join ${narrowCertificates(dialect)}`
      : narrowCertificates(dialect);
  conditions.push(
    numbers === undefined ? sql`c.certificate_no = m.certificate_no` : sql`c.certificate_no in (${sql.join(numbers)})`,
  );
  const where = all(conditions);
  const keyset = query.after === undefined ? sql`1 = 1` : beyond(plan, query.after);
  // Without a cursor the page's statement counts every match too (`count(*) over ()`, taken
  // before the limit): the sort reads them all anyway, and a second pass would read them again.
  const counted = query.after === undefined;
  const { rows: chosen } =
    limit === 0
      ? { rows: [] }
      : await sql<{ no: unknown; n: unknown }>`select c.certificate_no as no,
          ${counted ? sql`count(*) over ()` : sql`null`} as n from ${from} where ${where} and ${keyset}
          order by ${orderBy(plan)} limit ${limit} offset ${offset}`.execute(db);
  const items = await pageOf(
    db,
    plan,
    chosen.map((r) => num(r.no)),
  );
  if (counted && chosen.length > 0) return { items, total: num(chosen[0]!.n), totalExact: true };
  if (counted && offset === 0 && limit > 0) return { items, total: 0, totalExact: true };
  const { rows: totals } = await sql<{
    n: unknown;
  }>`select count(*) as n from (select 1 from ${from} where ${where} limit ${count + 1}) as matched`.execute(db);
  const total = num(totals[0]?.n);
  return { items, total, totalExact: total <= count };
}

/**
 * Windows of three characters the pg_trgm GIN index surely turns into a trigram of its own (it
 * splits text into words of letters and digits, padded with blanks where a word ends): three
 * word characters (`exa`), or two and a separator on either side (`z0.` holds the trigram
 * `z0 `, `.ex` holds ` ex`). A window of separators only yields none: the index would be read
 * whole.
 */
const GIN_WINDOW = /^(?:[a-z0-9]{3}|[a-z0-9]{2}[^a-z0-9]|[^a-z0-9][a-z0-9]{2})$/;

/** Windows ANDed in the domain driver at most. */
const DOMAIN_WINDOWS = 2;

/**
 * For "domain contains `text`" on PostgreSQL (`text` lower-case): the windows of the text
 * (`GIN_WINDOW`) the GIN index is asked for, or none (empty: the text is asked for whole).
 * The pg_trgm GIN index answers a LIKE by reading the posting list of every trigram of the
 * pattern in full, and the common ones (`exa`, `amp`: in nearly every domain) cost the whole
 * table however rare the text: `z0.example.n` read 2,821 index buffers (31 ms) at 1,000,000,
 * its window `z0.` alone 3 buffers (0.14 ms) for 1,100 candidates (556 heap blocks).
 *
 * Rarity comes from the column's statistics sample (pg_stats: its most common values and
 * histogram bounds, about 200 domains; no table read). The rarest window first, the next ones
 * while as rare in the sample (ties: word characters only first, whose trigram is the window
 * itself), at most DOMAIN_WINDOWS. They are asked for only while their candidates, estimated
 * from the sample, are at most 4 (T + 1): the index puts every candidate in a bitmap before a
 * row is read (`org` and `.or`: 110,000 candidates, 11 ms), where the whole text, common, is found
 * by the planner's sequential scan stopping at T + 1 matches (`example.org`: 543 blocks, 9 ms).
 * Without statistics (a table never analyzed) every window ties and they are asked for. A poor
 * guess costs time, never a wrong answer: the driver tests the whole text on every row.
 */
async function domainWindows(db: Kysely<Database>, text: string, t: number): Promise<string[]> {
  const chars = [...text];
  const windows = [
    ...new Set(Array.from({ length: chars.length - 2 }, (_, i) => chars.slice(i, i + 3).join(''))),
  ].filter((w) => GIN_WINDOW.test(w));
  if (windows.length === 0) return [];
  const { rows } = await sql<{ sample: string[] | null; tuples: unknown }>`select
    (select coalesce(most_common_vals::text::text[], '{}') || coalesce(histogram_bounds::text::text[], '{}')
      from pg_stats where schemaname = current_schema() and tablename = 'certificate_domains' and attname = 'domain')
      as sample, reltuples as tuples
    from pg_class where oid = 'certificate_domains'::regclass`.execute(db);
  const sample = rows[0]?.sample ?? [];
  const ranked = windows
    .map((w, i) => ({ w, i, hits: sample.filter((d) => d.includes(w)).length, word: /^[a-z0-9]{3}$/.test(w) ? 0 : 1 }))
    .sort((a, b) => a.hits - b.hits || a.word - b.word || a.i - b.i);
  const chosen = ranked
    .filter((r) => r.hits === ranked[0]!.hits)
    .slice(0, DOMAIN_WINDOWS)
    .map((r) => r.w);
  if (sample.length === 0) return chosen;
  const share = (sample.filter((d) => chosen.every((w) => d.includes(w))).length + 0.5) / (sample.length + 1);
  return share * Math.max(num(rows[0]?.tuples), 1) <= 4 * (t + 1) ? chosen : [];
}

/**
 * Of a substring's trigrams (at most FTS_PROBED, spread over it), the one fewest of the tenant's
 * names hold: each trigram's rows counted up to the rarest so far (the first up to `cap` + 1),
 * so the counts cost at most about `cap` index entries each and less once a rare one is found.
 */
/** Rarity is counted up to T, never less than 1,000 entries (tests lower T to 1). */
const gramCap = (t: number) => Math.max(t, 1000);

async function rarestGram(db: Kysely<Database>, tenantId: number, grams: string[], cap: number): Promise<string> {
  const step = grams.length / Math.min(grams.length, FTS_PROBED);
  const probed = Array.from({ length: Math.min(grams.length, FTS_PROBED) }, (_, i) => grams[Math.floor(i * step)]!);
  let best = probed[0]!;
  let bound = cap + 1;
  for (const gram of probed) {
    const { from, to } = nameGramKeyRange(gram);
    const { rows } = await sql<{ n: unknown }>`select count(*) as n from (select 1 from certificate_name_grams
      where tenant_id = ${tenantId} and gram_key >= ${from} and gram_key < ${to} limit ${bound}) as g`.execute(db);
    const n = num(rows[0]?.n);
    if (n < bound) {
      best = gram;
      bound = n;
    }
    if (n === 0) break;
  }
  return best;
}

/**
 * The walk plan (every driver matched more than T): the sort key's index is read in order with
 * every filter as a probe, in windows: the first of T entries, each next one 4 times longer. A
 * window's end is found by reading the index alone (`limit 1 offset w - 1`), and the walk of that
 * window stops at it, or earlier when the page is full. After each window that leaves the page
 * short, the drivers are counted again with a 4 times larger bound; one that fits is driven
 * instead (`drive`: sorting its rows now costs about what the next window would). So a page costs
 * about twice the cheaper of the two plans, never the whole index when one index range is small.
 *
 * A filter on the sort column itself (a notAfter window sorted by notAfter) is a range of the
 * index walked, not a probe: the walk starts at the window's first entry.
 *
 * The total: exact when the walk reached the index's end (from the start); else, for one filter,
 * its driver's bounded count (more than T); else a count of the matches in the windows walked,
 * bounded by T (a lower bound, at most the windows' entries read again).
 */
async function walk(plan: Plan, drivers: Filter[], counts: number[]): Promise<CertificatePage> {
  const { db, dialect, query, limit, offset, t, sortColumn } = plan;
  // Sorted by name, a substring of the name walks the rows of its rarest trigram (migration
  // 0023), in name order, the LIKE tested on each row's key: the names that hold the trigram
  // only, however far from the start they sort (every `shop-*` after seven eighths of the names).
  const named = sortColumn === 'name' ? plan.filters.find((f) => f.nameGrams) : undefined;
  const gram = named
    ? (named.nameGram ?? (await rarestGram(db, query.tenantId, named.nameGrams!, gramCap(t))))
    : undefined;
  // Else a key type sorted by name walks `certificates_live_key_name` (migration 0023): the key
  // type is a range of it, so a key type whose certificates all sort far from the start (every
  // RSA key a `mail-*`) is not passed over, and the validity window is read from the same entries.
  const keyed = sortColumn === 'name' && !named ? plan.filters.find((f) => f.keyNameRange) : undefined;
  const ranges = plan.filters.filter((f) => f.onColumn === sortColumn || f === keyed || f === named);
  const others = plan.filters.filter((f) => !ranges.includes(f));
  // The columns the walked index holds. PostgreSQL's name order is walked on
  // `certificates_live_name_cover` (migration 0028), which carries every column a probe reads.
  const walkedColumns: string[] = named
    ? []
    : keyed
      ? ['name', 'key_algorithm', 'key_bits', 'not_after']
      : sortColumn === 'name' && dialect.label === 'PostgreSQL'
        ? ['name', ...NAME_WALK_COLUMNS]
        : [sortColumn];
  // The walked index's key: a trigram row's key is the trigram, then the name (`nameGramKey`).
  const keyColumn = named ? 'gram_key' : sortColumn;
  const walkKey = (position: CertificateCursor | undefined): CertificateCursor | undefined =>
    position && gram !== undefined ? { ...position, key: nameGramKey(gram, String(position.key)) } : position;
  // A probe on a column the walked index lacks (issuer under a registration order) would read the wide
  // row of every walked entry: it reads the narrow index instead (migration 0022), joined by
  // number. The walked index is then `s`, the probes' certificates `c` (CROSS JOIN: SQLite keeps
  // `s` outside, in the order walked).
  const joined = others.some((f) => f.column !== undefined && !walkedColumns.includes(f.column));
  const w = joined ? 's' : 'c';
  const probes = [...(named ? [named.gramProbe!(w)] : []), ...others.map((f) => f.walkProbe ?? f.probe)];
  // `start`, `end`: the statement also bounds the walk by a position after which (`after`) and
  // one up to which (`upTo`) it reads. Such a position's key is inside the trigram's range, so
  // that side of the range is left out: SQLite bounds an index range on one bound per side,
  // and took the trigram's (reading all of its rows to count a window's matches).
  const base = (alias: string, start = false, end = false) => {
    const tenant = sql`${sql.ref(`${alias}.tenant_id`)} = ${query.tenantId}`;
    if (gram !== undefined) {
      const { from, to } = nameGramKeyRange(gram);
      const key = sql.ref(`${alias}.gram_key`);
      const asc = plan.direction === 'asc';
      const lowerGiven = asc ? start : end;
      const upperGiven = asc ? end : start;
      return all([
        tenant,
        ...(lowerGiven ? [] : [sql`${key} >= ${from}`]),
        ...(upperGiven ? [] : [sql`${key} < ${to}`]),
      ]);
    }
    return all([
      tenant,
      sql`${sql.ref(`${alias}.deleted_at`)} is null`,
      ...ranges.map((f) => (f === keyed ? f.keyNameRange! : f.sortRange!)(alias)),
    ]);
  };
  // SQLite, left to itself, reads the key type's own index and sorts all its entries.
  const walked = (alias: string) =>
    named
      ? sql`certificate_name_grams ${sql.raw(alias)}`
      : keyed && dialect.label === 'SQLite'
        ? sql`certificates ${sql.raw(alias)} indexed by certificates_live_key_name`
        : sql`certificates ${sql.raw(alias)}`;
  const table = !joined
    ? walked('c')
    : dialect.label === 'SQLite'
      ? sql`${walked('s')} cross join ${narrowCertificates(dialect)}`
      : // PostgreSQL reorders a plain join: it hashed the narrow index's whole tenant (issuer:
        // 1,065 buffers for a page that walks 75 entries). LATERAL with OFFSET 0 (not pulled up)
        // keeps one look-up per walked entry, in the walk's order.
        sql`${walked('s')} cross join lateral (select ${sql.join(
          ['certificate_no', 'tenant_id', 'deleted_at', ...SEARCH_INDEX_COLUMNS].map((col) => sql.ref(`n.${col}`)),
        )} from certificates n where n.tenant_id = s.tenant_id and n.certificate_no = s.certificate_no
          and n.deleted_at is null offset 0) as c`;
  const where = (start: CertificateCursor | undefined, end: CertificateCursor | null) =>
    all([
      base(w, start !== undefined, end !== null),
      ...(joined
        ? [sql`c.certificate_no = s.certificate_no`, sql`c.tenant_id = s.tenant_id`, sql`c.deleted_at is null`]
        : []),
      ...probes,
    ]);
  const after = (position: CertificateCursor | undefined, alias: string) =>
    position === undefined ? sql`1 = 1` : beyond(plan, position, false, alias, keyColumn);
  const upTo = (position: CertificateCursor | null, alias: string) =>
    position === null ? sql`1 = 1` : beyond(plan, position, true, alias, keyColumn);
  const need = offset + limit;
  const rows: number[] = [];
  let from: CertificateCursor | undefined = walkKey(query.after);
  let end: CertificateCursor | null;
  let window = t;
  let walkBound = 0;
  let windows = 0;
  /** The plan this walk ended as, with what it read so far, for the observer (tests, bench). */
  const trace = (ended: 'walk' | 'walk, then drive'): void =>
    searchObserver.onPlan?.({
      plan: ended,
      t,
      counts,
      windows,
      walkBound,
      narrowJoin: joined,
      keyNameWalk: keyed !== undefined,
      gramWalk: named !== undefined,
    });
  // Every plan now reads narrow indexes only: a walked entry (a sort-index entry, maybe a probe's
  // look-up in the narrow index or the names) costs about what a driven row does (a look-up in
  // the narrow index), so the drive's bound is the window's size.
  let cap: number;
  for (;;) {
    const { rows: ends } = await sql<{ k: unknown; no: unknown }>`select ${c(keyColumn)} as k, c.certificate_no as no
      from ${walked('c')} where ${base('c', from !== undefined)} and ${after(from, 'c')} order by ${orderBy(plan, 'c', keyColumn)}
      limit 1 offset ${window - 1}`.execute(db);
    const last = ends[0];
    end = last ? { key: sortColumn === 'name' ? String(last.k) : num(last.k), certificateNo: num(last.no) } : null;
    windows += 1;
    walkBound += window;
    if (need > 0) {
      const page = await sql<{ no: unknown }>`select ${sql.ref(`${w}.certificate_no`)} as no from ${table}
        where ${where(from, end)} and ${after(from, w)} and ${upTo(end, w)} order by ${orderBy(plan, w, keyColumn)}
        limit ${need - rows.length}`.execute(db);
      rows.push(...page.rows.map((r) => num(r.no)));
    }
    if (rows.length >= need || end === null) break;
    from = end;
    window *= 4;
    cap = window;
    if (cap <= t) continue; // every driver is known to match more than T
    for (const driver of drivers) {
      const count = await boundedCount(db, driver.driver!, cap);
      if (count <= cap) {
        trace('walk, then drive');
        return drive(plan, driver, count);
      }
    }
  }
  trace('walk');
  const items = await pageOf(db, plan, rows.slice(offset, offset + limit));
  // Every match from the index's start was read: the total is what the walk found.
  const complete = end === null && query.after === undefined;
  if (complete && rows.length < need) return { items, total: rows.length, totalExact: true };
  // One filter: its driver's count (more than T) is already the answer's, without a query.
  // A names driver (live certificates of the tenant only, repeated per name) counts its distinct
  // certificates instead, up to T + 1: index entries only.
  const single = plan.filters.length === 1 && drivers.length === 1 ? plan.filters[0]! : null;
  if (single?.exact && query.after === undefined)
    return { items, total: Math.max(counts[0]!, offset + items.length), totalExact: false };
  if (single?.repeats && query.after === undefined) {
    const { rows: distinct } = await sql<{ n: unknown }>`select count(*) as n from
      (select distinct certificate_no from (${single.driver}) as k limit ${t + 1}) as m`.execute(db);
    return { items, total: Math.max(num(distinct[0]?.n), offset + items.length), totalExact: false };
  }
  const { rows: totals } = await sql<{ n: unknown }>`select count(*) as n from (select 1 from ${table}
    where ${where(walkKey(query.after), end)} and ${after(walkKey(query.after), w)} and ${upTo(end, w)}
    limit ${t + 1}) as matched`.execute(db);
  const n = num(totals[0]?.n);
  return complete && n <= t
    ? { items, total: n, totalExact: true }
    : { items, total: Math.max(n, offset + items.length), totalExact: false };
}

/**
 * Migration 0013: the search indexes (issue 20), built here for the certificates that exist and
 * kept in step afterwards by the certificate repository (repositories/certificate-search-index.ts
 * says what each holds; repositories/certificate-search.ts reads them).
 *
 * - `certificate_names`, both dialects: reversed-label keys of every DNS name and the canonical
 *   text of every IP SAN of the live certificates: "covers host", "under zone" and "IP SAN" are
 *   b-tree look-ups. Backfilled from each live row's facts (JSON), in batches of BACKFILL_BATCH.
 * - SQLite: `certificate_search`, an FTS5 table with the trigram tokenizer (contentless, with
 *   deletes), over the name and the DNS names: "name contains" and "domain contains" read the
 *   postings of the search string's trigrams instead of every name.
 * - PostgreSQL: the `pg_trgm` extension and two GIN indexes, on `lower(name)` of live
 *   certificates and on `certificate_domains.domain`, which serve `LIKE '%…%'` directly. Creating
 *   the extension needs the CREATE privilege on the database (pg_trgm is a trusted extension) and
 *   the package that ships it; when it fails, the migration goes on without those two indexes
 *   (inside a savepoint, so nothing else is undone): substring searches then read every
 *   row, with the same answers. The store tries again at every start while they are missing
 *   and warns (open.ts `notices`, logged by serve.ts, listed by `/readyz`). Migration 0029 drops
 *   the one on `lower(name)`, which no driver or walk reads since 0023; from then on the start-up check
 *   expects the domain index only.
 * - `certificates_live_key_type` and `certificates_live_issuer`: the key type and issuer filters
 *   as index ranges.
 *
 * Cost on an existing install: one pass over the live rows (facts parsed in JavaScript), and the
 * index builds; at start-up, before the server listens.
 */
import { sql, type Kysely, type Migration, type RawBuilder } from 'kysely';
import type { StoreDialect } from '../dialect.ts';
import { nameRowsOf, searchDomainsText } from '../repositories/certificate-search-index.ts';

const BACKFILL_BATCH = 2000;

export function certificateSearchSchema(d: StoreDialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('certificate_names')
        .addColumn('tenant_id', d.idType, (c) => c.notNull())
        .addColumn('kind', 'integer', (c) => c.notNull())
        .addColumn('name_key', d.sortableTextType, (c) => c.notNull())
        .addColumn('certificate_no', d.idType, (c) => c.notNull())
        .addPrimaryKeyConstraint('certificate_names_pkey', ['certificate_no', 'kind', 'name_key'])
        .execute();
      if (d.substringIndex === 'fts5') {
        await sql`create virtual table certificate_search using fts5(name, domains, tokenize = 'trigram', content = '', contentless_delete = 1)`.execute(
          db,
        );
      }
      await backfillSearchIndexes(db, d);
      // After the backfill: one sorted build instead of a million b-tree inserts.
      await db.schema
        .createIndex('certificate_names_key')
        .on('certificate_names')
        .columns(['tenant_id', 'kind', 'name_key', 'certificate_no'])
        .execute();
      // Key type and issuer filters read their own ranges (live rows; covering on SQLite, which
      // needs every column the query names in a partial index, deleted_at included).
      const live = sql<boolean>`deleted_at is null`;
      await db.schema
        .createIndex('certificates_live_key_type')
        .on('certificates')
        .columns(['tenant_id', 'key_algorithm', 'key_bits', 'certificate_no', 'deleted_at'])
        .where(live)
        .execute();
      await db.schema
        .createIndex('certificates_live_issuer')
        .on('certificates')
        .columns(['tenant_id', 'ca_name', 'certificate_no', 'deleted_at'])
        .where(live)
        .execute();
      if (d.substringIndex === 'like') await createTrigramIndexes(db, MIGRATION_0013_TRIGRAM_INDEXES);
    },
  };
}

/** One pg_trgm GIN index: its name, and the statement that builds it if it is missing. */
export interface TrigramIndex {
  readonly name: string;
  readonly create: RawBuilder<unknown>;
}

/** On `lower(name)` of live certificates; dropped by migration 0029 (0023's trigram rows serve names). */
export const LIVE_NAME_TRIGRAM_INDEX: TrigramIndex = {
  name: 'certificates_live_name_trgm',
  create: sql`create index if not exists certificates_live_name_trgm on certificates using gin (lower(name) gin_trgm_ops) where deleted_at is null`,
};

/** On `certificate_domains.domain`: the "domain contains" driver. */
export const DOMAIN_TRIGRAM_INDEX: TrigramIndex = {
  name: 'certificate_domains_domain_trgm',
  create: sql`create index if not exists certificate_domains_domain_trgm on certificate_domains using gin (domain gin_trgm_ops)`,
};

/** What this migration builds, always both (later migrations change the set: open.ts). */
const MIGRATION_0013_TRIGRAM_INDEXES = [LIVE_NAME_TRIGRAM_INDEX, DOMAIN_TRIGRAM_INDEX];

/**
 * pg_trgm and the given GIN indexes; false, with nothing changed, when the extension cannot be
 * created (see the top). Idempotent: the store runs it again at every start while the indexes it
 * expects are missing (open.ts), so installing the extension's package or granting CREATE, then
 * restarting, builds them.
 */
export async function createTrigramIndexes(db: Kysely<unknown>, indexes: readonly TrigramIndex[]): Promise<boolean> {
  await sql`savepoint certificate_search_trgm`.execute(db);
  try {
    await sql`create extension if not exists pg_trgm`.execute(db);
  } catch {
    await sql`rollback to savepoint certificate_search_trgm`.execute(db);
    return false;
  }
  await sql`release savepoint certificate_search_trgm`.execute(db);
  for (const index of indexes) await index.create.execute(db);
  return true;
}

/** PostgreSQL: whether every given trigram index exists in the current schema (one catalog read). */
export async function trigramIndexesPresent(db: Kysely<unknown>, indexes: readonly TrigramIndex[]): Promise<boolean> {
  const { rows } = await sql<{ n: unknown }>`select count(*) as n from pg_indexes
    where schemaname = current_schema() and indexname in (${sql.join(indexes.map((i) => i.name))})`.execute(db);
  return Number(rows[0]?.n) === indexes.length;
}

/**
 * Fills the search indexes from the live certificate rows. Exported for bench/lib/seed.ts, which
 * bulk-inserts rows behind the repository's back.
 */
export async function backfillSearchIndexes(db: Kysely<unknown>, d: StoreDialect): Promise<void> {
  let after = 0;
  for (;;) {
    const { rows } = await sql<{
      certificate_no: number | string;
      tenant_id: number | string;
      name: string;
      facts: string;
    }>`select certificate_no, tenant_id, name, facts from certificates
       where deleted_at is null and certificate_no > ${after}
       order by certificate_no limit ${BACKFILL_BATCH}`.execute(db);
    if (rows.length === 0) return;
    const names = [];
    const search = [];
    for (const row of rows) {
      // Facts as every version wrote them; a row without names (hand-written, or a certificate
      // with none) gets no name rows.
      const facts = JSON.parse(row.facts) as { domains?: unknown; sans?: { ip?: unknown } };
      const domains = Array.isArray(facts.domains) ? facts.domains.filter((d) => typeof d === 'string') : [];
      const ip = Array.isArray(facts.sans?.ip) ? facts.sans.ip.filter((a) => typeof a === 'string') : [];
      const no = Number(row.certificate_no);
      names.push(...nameRowsOf(Number(row.tenant_id), no, { domains, sans: { dns: [], ip, email: [], uri: [] } }));
      search.push(sql`(${no}, ${row.name}, ${searchDomainsText({ domains })})`);
    }
    // Under both dialects' bound-parameter limits (4 per name row).
    for (let i = 0; i < names.length; i += 5000) {
      const chunk = names.slice(i, i + 5000);
      await sql`insert into certificate_names (tenant_id, kind, name_key, certificate_no) values ${sql.join(
        chunk.map((r) => sql`(${r.tenant_id}, ${r.kind}, ${r.name_key}, ${r.certificate_no})`),
      )}`.execute(db);
    }
    if (d.substringIndex === 'fts5')
      await sql`insert into certificate_search (rowid, name, domains) values ${sql.join(search)}`.execute(db);
    after = Number(rows[rows.length - 1]!.certificate_no);
  }
}

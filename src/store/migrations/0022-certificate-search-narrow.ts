/**
 * Migration 0022: narrow indexes for the certificate search's plans (issue 20;
 * repositories/certificate-search.ts says when each is read).
 *
 * - `certificates_live_search` (tenant_id, certificate_no, then every column a search filters or
 *   sorts on), both dialects, live rows only. The drive plan joins an index's matching
 *   certificate numbers to it instead of to the `certificates` rows: a row holds the PEM, the
 *   chain and the facts (about 5 KB in bench/search.ts, 527 MB for 110,000 certificates), so
 *   sorting a few thousand matches by the row read a page per match, where this index holds
 *   about 60 entries per page. The wide rows are read for the page's certificates only.
 * - PostgreSQL only: `certificates_live_name_no` (tenant_id, name, certificate_no). Walking the
 *   name order must yield certificate_no, the tie-break and the join key; SQLite's name index
 *   holds it as the rowid, PostgreSQL's `certificates_live_name` does not, so every walked entry
 *   was a heap fetch.
 *
 * Cost on an existing install: the index builds (one sorted pass each), at start-up.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { StoreDialect } from '../dialect.ts';

/** The columns a search filters or sorts on, after the key (tenant_id, certificate_no). */
export const SEARCH_INDEX_COLUMNS = [
  'name',
  'not_after',
  'created_at',
  'updated_at',
  'key_algorithm',
  'key_bits',
  'ca_name',
] as const;

export function certificateSearchNarrowSchema(d: StoreDialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      // SQLite reads a partial index as covering only when it holds every column the query
      // names, deleted_at included.
      await db.schema
        .createIndex('certificates_live_search')
        .on('certificates')
        .columns(['tenant_id', 'certificate_no', ...SEARCH_INDEX_COLUMNS, 'deleted_at'])
        .where(sql<boolean>`deleted_at is null`)
        .execute();
      if (d.label === 'PostgreSQL')
        await db.schema
          .createIndex('certificates_live_name_no')
          .on('certificates')
          .columns(['tenant_id', 'name', 'certificate_no'])
          .where(sql<boolean>`deleted_at is null`)
          .execute();
    },
    async down(db: Kysely<unknown>) {
      if (d.label === 'PostgreSQL') await db.schema.dropIndex('certificates_live_name_no').execute();
      await db.schema.dropIndex('certificates_live_search').execute();
    },
  };
}

/**
 * Migration 0029 (issue 20/23): drops PostgreSQL's pg_trgm GIN index on `lower(name)` of live
 * certificates (`certificates_live_name_trgm`, migration 0013), one index fewer for every import,
 * rename and deletion of a certificate to maintain.
 *
 * Why nothing needs it: since migration 0023, "name contains" is driven by
 * `certificate_name_grams` (repositories/certificate-search.ts), and its probes test
 * `lower(name) LIKE` on rows another filter found, or, in a walk, on an expression the index is
 * not on. The planner still chose it for such a probe behind an expiry-window drive (12 of 2,292
 * distinct statements at 100,000, EXPLAINed); without it those read each driven row's entry
 * instead, more buffers but less time (docs/performance.md, "Search"). The domain's trigram
 * index stays: it drives "domain contains".
 *
 * `if exists`: where pg_trgm could not be created, 0013 built neither index. After this migration
 * the store's start-up check (open.ts) expects and re-creates `TRIGRAM_INDEXES` below only, so the
 * dropped index does not come back. SQLite has no such index (FTS5 serves its substrings). Down
 * re-creates it as 0013 made it, when the extension is there.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { StoreDialect } from '../dialect.ts';
import { createTrigramIndexes, DOMAIN_TRIGRAM_INDEX, LIVE_NAME_TRIGRAM_INDEX } from './0013-certificate-search.ts';

/**
 * PostgreSQL's trigram indexes from this migration on: what open.ts checks for and builds at every
 * start (it runs after every migration is applied, so this is the set after the newest).
 */
export const TRIGRAM_INDEXES = [DOMAIN_TRIGRAM_INDEX];

export function dropNameTrigramIndexSchema(d: StoreDialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      if (d.substringIndex !== 'like') return;
      await sql`drop index if exists ${sql.ref(LIVE_NAME_TRIGRAM_INDEX.name)}`.execute(db);
    },
    async down(db: Kysely<unknown>) {
      if (d.substringIndex !== 'like') return;
      const { rows } = await sql`select 1 from pg_extension where extname = 'pg_trgm'`.execute(db);
      if (rows.length > 0) await createTrigramIndexes(db, [LIVE_NAME_TRIGRAM_INDEX]);
    },
  };
}

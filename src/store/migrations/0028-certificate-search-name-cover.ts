/**
 * Migration 0028 (issue 20, search): on PostgreSQL, the name order's walk index carries the
 * columns a walk's probes read, so a walk in name order reads that index alone.
 *
 * `certificates_live_name_cover` (tenant_id, name, certificate_no) INCLUDE (NAME_WALK_COLUMNS),
 * live rows, replaces migration 0022's `certificates_live_name_no` (the same key, nothing
 * included). A probe on a column that index lacked (a notAfter window, a key type, an issuer
 * sorted by name) made the walk look every walked entry up in `certificates_live_search` by
 * number, about three buffers an entry: "zone example.com + expires within 14 days, by name" at
 * 1,000,000 read 14,943 buffers (13 ms) to count its "more than N" over a window of 4,925 entries.
 * Walking this index the probe is a filter on the entry itself (index-only). Same key, so every
 * plan that read `certificates_live_name_no` reads this one the same way; one index replaced by
 * one, so an import writes no more entries, each a little wider (the included columns).
 *
 * SQLite: nothing. Its walk of the name order joins `certificates_live_search` (the repository's
 * `walk`) and stays within the target there (BENCHMARKS.md, "Search (issue 20)").
 *
 * Cost on an existing install: one sorted pass over the live rows, at start-up.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { StoreDialect } from '../dialect.ts';

/** The columns a walk's probe may read, carried by the name order's index (PostgreSQL). */
export const NAME_WALK_COLUMNS = ['not_after', 'key_algorithm', 'key_bits', 'ca_name'] as const;

export function certificateSearchNameCoverSchema(d: StoreDialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      if (d.label !== 'PostgreSQL') return;
      await sql`create index certificates_live_name_cover on certificates (tenant_id, name, certificate_no)
        include (${sql.join(NAME_WALK_COLUMNS.map((column) => sql.ref(column)))}) where deleted_at is null`.execute(db);
      await db.schema.dropIndex('certificates_live_name_no').execute();
    },
    async down(db: Kysely<unknown>) {
      if (d.label !== 'PostgreSQL') return;
      await db.schema
        .createIndex('certificates_live_name_no')
        .on('certificates')
        .columns(['tenant_id', 'name', 'certificate_no'])
        .where(sql<boolean>`deleted_at is null`)
        .execute();
      await db.schema.dropIndex('certificates_live_name_cover').execute();
    },
  };
}

/**
 * Migration 0023: `certificates_live_key_name` (tenant_id, key_algorithm, name, certificate_no,
 * key_bits, not_after; live rows), both dialects (issue 20; repositories/certificate-search.ts
 * says when it is read).
 *
 * A key type filter sorted by name was walked on the name index with the key type as a probe:
 * when the key type's certificates sort far from the start (every RSA certificate a `mail-*`
 * after the `pay-*` and `shop-*` ones, sorted descending), the walk passed a quarter of the tenant
 * before the page filled, and then drove the key type's 121,000 certificates at 1,000,000 (931 ms
 * on SQLite). Walking this index instead, the key type is a range and the page is its first
 * matches in name order; `key_bits` and `not_after` ride along so a key size and the validity
 * filter (expired, unexpired, expires within) are checked from the index alone.
 *
 * Cost on an existing install: one sorted pass over the live rows, at start-up.
 */
import { sql, type Kysely, type Migration } from 'kysely';

export function certificateSearchKeyNameSchema(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      // SQLite reads a partial index as covering only when it holds every column the query
      // names, deleted_at included.
      await db.schema
        .createIndex('certificates_live_key_name')
        .on('certificates')
        .columns(['tenant_id', 'key_algorithm', 'name', 'certificate_no', 'key_bits', 'not_after', 'deleted_at'])
        .where(sql<boolean>`deleted_at is null`)
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropIndex('certificates_live_key_name').execute();
    },
  };
}

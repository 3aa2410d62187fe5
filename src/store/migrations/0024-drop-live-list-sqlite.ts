/**
 * Migration 0024 (issue 23, imports): drops `certificates_live_list` on SQLite, one index fewer
 * for every insert, replace and deletion of a certificate to maintain.
 *
 * Why it is redundant there: migration 0022's `certificates_live_search` starts with the same
 * key, (tenant_id, certificate_no), and holds every other column of `certificates_live_list`
 * (not_after, name, deleted_at); certificate_no is unique, so the order of the columns after it
 * changes nothing a query can ask of the index. On a schema without it, SQLite walks
 * `certificates_live_search` as a covering index wherever it walked `certificates_live_list`:
 * checked with EXPLAIN QUERY PLAN (stable plans on) on each of the 631 distinct SELECTs on
 * `certificates` that the store, search, counters, histogram, NHN, NCP, ACM and console list
 * suites run; the 4 that used it (the NHN list's walk in number order, notAfter checked in the
 * index: certificate-list.ts) changed only that index's name, and no other plan changed. What it
 * costs: that walk reads wider entries (ten columns instead of five).
 *
 * PostgreSQL keeps it: its planner weighs indexes by statistics, and its plans were not checked
 * without it. Down re-creates it as 0003 made it.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { StoreDialect } from '../dialect.ts';

export function dropLiveListSqliteSchema(d: StoreDialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      if (d.label !== 'SQLite') return;
      await db.schema.dropIndex('certificates_live_list').execute();
    },
    async down(db: Kysely<unknown>) {
      if (d.label !== 'SQLite') return;
      await db.schema
        .createIndex('certificates_live_list')
        .on('certificates')
        .columns(['tenant_id', 'certificate_no', 'not_after', 'name', 'deleted_at'])
        .where(sql<boolean>`deleted_at is null`)
        .execute();
    },
  };
}

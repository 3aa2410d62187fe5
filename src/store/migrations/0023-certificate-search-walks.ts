/**
 * Migration 0023: what lets the search walk a filter's own entries in name order, instead of the
 * whole name index with the filter as a probe (issue 20; repositories/certificate-search.ts,
 * `walk`, says when each is read). Both dialects.
 *
 * - `certificates_live_key_name` (tenant_id, key_algorithm, name, certificate_no, key_bits,
 *   not_after; live rows). A key type sorted by name was walked on the name index with the key
 *   type as a probe: when the key type's certificates sort far from the start (every RSA
 *   certificate a `mail-*` after the `pay-*` and `shop-*` ones, sorted descending), the walk
 *   passed a quarter of the tenant before the page filled, then drove the key type's 121,000
 *   certificates at 1,000,000 (931 ms on SQLite). Walking this index, the key type is a range;
 *   `key_bits` and `not_after` ride along so a key size and the validity filter (expired,
 *   unexpired, expires within) are checked from the same entries.
 * - `certificate_name_grams` (tenant_id, gram_key, certificate_no): one row per distinct
 *   trigram of a live certificate's name, keyed by the trigram and then the name
 *   (certificate-search-index.ts `nameGramKey`), so one trigram's keys list the names holding
 *   it in name order. "Name contains shop" sorted by name walks the rarest of the text's
 *   trigrams there, the LIKE checked on the key: every `shop-*` sorting last, the name index was
 *   walked past seven eighths of the tenant (764 ms at 1,000,000 on SQLite). The repository
 *   writes these rows with the other search rows; this migration fills them for existing
 *   certificates. A table of its own, not a kind of `certificate_names`: ten rows a certificate
 *   there changed PostgreSQL's plans for the zone counts (a hash of the whole zone's names).
 *
 * Cost on an existing install: one sorted pass over the live rows for the index, and a read of
 * every live certificate's name with (name length - 2) rows written for each, at start-up.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { StoreDialect } from '../dialect.ts';
import { nameGramRowsOf } from '../repositories/certificate-search-index.ts';

const BACKFILL_BATCH = 2000;

export function certificateSearchWalksSchema(d: StoreDialect): Migration {
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
      // The primary key is the walk's order; SQLite keeps the rows in it (no rowid).
      await db.schema
        .createTable('certificate_name_grams')
        .addColumn('tenant_id', d.idType, (c) => c.notNull())
        .addColumn('gram_key', d.sortableTextType, (c) => c.notNull())
        .addColumn('certificate_no', d.idType, (c) => c.notNull())
        .addPrimaryKeyConstraint('certificate_name_grams_pkey', ['tenant_id', 'gram_key', 'certificate_no'])
        .$call((t) => (d.label === 'SQLite' ? t.modifyEnd(sql`without rowid`) : t))
        .execute();
      await backfillNameGrams(db);
      // After the backfill: one sorted build. Deletes and replaces find a certificate's rows here.
      await db.schema
        .createIndex('certificate_name_grams_no')
        .on('certificate_name_grams')
        .columns(['certificate_no'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('certificate_name_grams').execute();
      await db.schema.dropIndex('certificates_live_key_name').execute();
    },
  };
}

/** Writes the name trigram rows of every live certificate (none may exist yet). */
export async function backfillNameGrams(db: Kysely<unknown>): Promise<void> {
  let after = 0;
  for (;;) {
    const { rows } = await sql<{ certificate_no: number | string; tenant_id: number | string; name: string }>`
      select certificate_no, tenant_id, name from certificates
      where deleted_at is null and certificate_no > ${after} order by certificate_no limit ${BACKFILL_BATCH}`.execute(
      db,
    );
    if (rows.length === 0) return;
    const grams = rows.flatMap((row) => nameGramRowsOf(Number(row.tenant_id), Number(row.certificate_no), row.name));
    // Under both dialects' bound-parameter limits (3 per row).
    for (let i = 0; i < grams.length; i += 5000) {
      const chunk = grams.slice(i, i + 5000);
      await sql`insert into certificate_name_grams (tenant_id, gram_key, certificate_no) values ${sql.join(
        chunk.map((r) => sql`(${r.tenant_id}, ${r.gram_key}, ${r.certificate_no})`),
      )}`.execute(db);
    }
    after = Number(rows[rows.length - 1]!.certificate_no);
  }
}

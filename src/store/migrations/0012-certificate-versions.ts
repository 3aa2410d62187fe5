/**
 * Migration 0012: certificate versions and recoverable deletion (issue 17).
 *
 * - `certificates.version`: the number of the current version (1 at import, + 1 per replace).
 * - `certificates.purged_at`: when a deleted certificate stopped being recoverable (its key, file
 *   and versions dropped). A deleted row with `purged_at` null can be restored; the row itself
 *   stays either way (NCP recentChanges shows it; its number is never reused). Rows deleted
 *   before this migration had their key dropped at deletion, so they are marked purged here.
 * - `certificate_versions`: one row per replaced version: PEM, chain, facts, validity, the key
 *   re-sealed under AAD `certificate-version-key:<no>:<version>` (so a version's blob does not
 *   open as the current key, nor as another version's), when it was replaced and by whom. They
 *   go with the certificate row (cascade) and are dropped by purge and by the retention pass.
 * - Partial indexes on the recoverable rows (deleted, not purged): per tenant for the "recently
 *   deleted" list, and across tenants by deletion time for the retention pass; and the versions
 *   by replacement time for theirs. Each index holds only what the retention windows keep.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { StoreDialect } from '../dialect.ts';

export function certificateVersionsSchema(d: StoreDialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await sql`alter table certificates add column version integer not null default 1`.execute(db);
      await sql`alter table certificates add column purged_at bigint`.execute(db);
      await sql`update certificates set purged_at = deleted_at where deleted_at is not null`.execute(db);
      const recoverable = sql<boolean>`deleted_at is not null and purged_at is null`;
      await db.schema
        .createIndex('certificates_recoverable')
        .on('certificates')
        .columns(['tenant_id', 'deleted_at', 'certificate_no'])
        .where(recoverable)
        .execute();
      await db.schema
        .createIndex('certificates_recoverable_due')
        .on('certificates')
        .columns(['deleted_at', 'certificate_no'])
        .where(recoverable)
        .execute();

      await db.schema
        .createTable('certificate_versions')
        .addColumn('certificate_no', d.idType, (c) =>
          c.notNull().references('certificates.certificate_no').onDelete('cascade'),
        )
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('tenant_id', d.idType, (c) => c.notNull())
        .addColumn('origin', 'text', (c) => c.notNull())
        .addColumn('fingerprint_sha256', 'text', (c) => c.notNull())
        .addColumn('not_before', 'bigint', (c) => c.notNull())
        .addColumn('not_after', 'bigint', (c) => c.notNull())
        .addColumn('facts', 'text', (c) => c.notNull())
        .addColumn('certificate_pem', 'text', (c) => c.notNull())
        .addColumn('chain_pems', 'text', (c) => c.notNull())
        .addColumn('file_name', 'text')
        .addColumn('has_private_key', 'integer', (c) => c.notNull())
        .addColumn('key_data_key_id', d.idType, (c) => c.references('data_keys.id'))
        .addColumn('sealed_key', d.binaryType)
        .addColumn('current_since', 'bigint', (c) => c.notNull())
        .addColumn('replaced_at', 'bigint', (c) => c.notNull())
        .addColumn('replaced_by', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('certificate_versions_pkey', ['certificate_no', 'version'])
        .execute();
      await db.schema
        .createIndex('certificate_versions_replaced')
        .on('certificate_versions')
        .columns(['replaced_at', 'certificate_no', 'version'])
        .execute();
    },
  };
}

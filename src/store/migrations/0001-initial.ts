/**
 * Migration 0001: the initial schema. Migrations are append-only: never edit one that has shipped,
 * add the next file instead. They take `Kysely<unknown>` on purpose: a migration describes the schema
 * as it was at that step, not as schema.ts describes it today.
 *
 * Unique constraints and indexes carry explicit names: the repositories map PostgreSQL's
 * `err.constraint` to the input field that collided (errors.ts, `UniqueCandidate`).
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { StoreDialect } from '../dialect.ts';

export function initialSchema(d: StoreDialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('tenants')
        .addColumn('id', d.idType, (c) => d.autoId(c))
        .addColumn('name', d.sortableTextType, (c) => c.notNull())
        .addColumn('member_no', 'text', (c) => c.notNull())
        .addColumn('app_key', 'text', (c) => c.notNull())
        .addColumn('app_key_auth_enabled', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('tenants_name_key', ['name'])
        .addUniqueConstraint('tenants_member_no_key', ['member_no'])
        .addUniqueConstraint('tenants_app_key_key', ['app_key'])
        .execute();

      await db.schema
        .createTable('data_keys')
        .addColumn('id', d.idType, (c) => d.autoId(c))
        .addColumn('wrapped_key', d.binaryType, (c) => c.notNull())
        .addColumn('master_key_id', 'text', (c) => c.notNull())
        .addColumn('next_wrapped_key', d.binaryType)
        .addColumn('next_master_key_id', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('credentials')
        .addColumn('id', d.idType, (c) => d.autoId(c))
        .addColumn('tenant_id', d.idType, (c) => c.notNull().references('tenants.id'))
        .addColumn('access_key', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('secret_data_key_id', d.idType, (c) => c.notNull().references('data_keys.id'))
        .addColumn('secret_blob', d.binaryType, (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .addUniqueConstraint('credentials_access_key_key', ['access_key'])
        .execute();
      await db.schema.createIndex('credentials_tenant').on('credentials').columns(['tenant_id', 'id']).execute();

      await db.schema
        .createTable('certificates')
        .addColumn('certificate_no', d.idType, (c) => d.autoId(c))
        .addColumn('tenant_id', d.idType, (c) => c.notNull().references('tenants.id'))
        .addColumn('name', d.sortableTextType, (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('origin', 'text', (c) => c.notNull())
        .addColumn('common_name', 'text')
        .addColumn('ca_name', 'text', (c) => c.notNull())
        .addColumn('serial_number', 'text', (c) => c.notNull())
        .addColumn('key_algorithm', 'text', (c) => c.notNull())
        .addColumn('key_bits', 'integer', (c) => c.notNull())
        .addColumn('not_before', 'bigint', (c) => c.notNull())
        .addColumn('not_after', 'bigint', (c) => c.notNull())
        .addColumn('fingerprint_sha256', 'text', (c) => c.notNull())
        .addColumn('spki_sha256', 'text', (c) => c.notNull())
        .addColumn('facts', 'text', (c) => c.notNull())
        .addColumn('certificate_pem', 'text', (c) => c.notNull())
        .addColumn('chain_pems', 'text', (c) => c.notNull())
        .addColumn('file_name', 'text')
        .addColumn('has_private_key', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .addColumn('deleted_at', 'bigint')
        .execute();
      // Uniqueness among live rows only: a deleted certificate frees its name, certificate and key.
      // Created in this order on purpose: when one insert collides on several (the same
      // certificate under the same name), PostgreSQL reports the first index, and the duplicate
      // certificate is the more useful answer (ladder step 9 comes before step 10).
      const live = sql<boolean>`deleted_at is null`;
      await db.schema
        .createIndex('certificates_live_fingerprint')
        .unique()
        .on('certificates')
        .columns(['tenant_id', 'fingerprint_sha256'])
        .where(live)
        .execute();
      await db.schema
        .createIndex('certificates_live_spki')
        .unique()
        .on('certificates')
        .columns(['tenant_id', 'spki_sha256'])
        .where(live)
        .execute();
      // Also the name index for sorting live rows by name and for name-prefix range predicates
      // (`name >= 'ab' AND name < 'ac'`; byte-wise collation, see dialect.ts).
      await db.schema
        .createIndex('certificates_live_name')
        .unique()
        .on('certificates')
        .columns(['tenant_id', 'name'])
        .where(live)
        .execute();
      // List queries: default order, and the other sort keys and range filters. Each sort index
      // ends with certificate_no, the tie-break, so a page is read in index order without a sort
      // step. Lists of live rows use the partial ones; "changed between" (deleted rows included)
      // uses the updated_at one.
      await db.schema
        .createIndex('certificates_tenant_deleted_no')
        .on('certificates')
        .columns(['tenant_id', 'deleted_at', 'certificate_no'])
        .execute();
      await db.schema
        .createIndex('certificates_live_not_after')
        .on('certificates')
        .columns(['tenant_id', 'not_after', 'certificate_no'])
        .where(live)
        .execute();
      await db.schema
        .createIndex('certificates_live_created')
        .on('certificates')
        .columns(['tenant_id', 'created_at', 'certificate_no'])
        .where(live)
        .execute();
      await db.schema
        .createIndex('certificates_tenant_updated')
        .on('certificates')
        .columns(['tenant_id', 'updated_at', 'certificate_no'])
        .execute();

      await db.schema
        .createTable('certificate_keys')
        .addColumn('certificate_no', d.idType, (c) =>
          c.primaryKey().references('certificates.certificate_no').onDelete('cascade'),
        )
        .addColumn('data_key_id', d.idType, (c) => c.notNull().references('data_keys.id'))
        .addColumn('sealed_key', d.binaryType, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('certificate_files')
        .addColumn('certificate_no', d.idType, (c) =>
          c.primaryKey().references('certificates.certificate_no').onDelete('cascade'),
        )
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('data_key_id', d.idType, (c) => c.notNull().references('data_keys.id'))
        .addColumn('sealed_bytes', d.binaryType, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('certificate_domains')
        .addColumn('certificate_no', d.idType, (c) =>
          c.notNull().references('certificates.certificate_no').onDelete('cascade'),
        )
        .addColumn('tenant_id', d.idType, (c) => c.notNull())
        .addColumn('domain', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('certificate_domains_pkey', ['certificate_no', 'domain'])
        .execute();
      await db.schema
        .createIndex('certificate_domains_tenant_domain')
        .on('certificate_domains')
        .columns(['tenant_id', 'domain', 'certificate_no'])
        .execute();

      // No foreign key to tenants: the audit trail outlives what it describes.
      await db.schema
        .createTable('audit_events')
        .addColumn('id', d.idType, (c) => d.autoId(c))
        .addColumn('tenant_id', d.idType)
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('result', 'text', (c) => c.notNull())
        .addColumn('remote_address', 'text')
        .addColumn('detail', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('audit_events_tenant').on('audit_events').columns(['tenant_id', 'id']).execute();
      await db.schema.createIndex('audit_events_target').on('audit_events').columns(['target', 'id']).execute();
      await db.schema.createIndex('audit_events_action').on('audit_events').columns(['action', 'id']).execute();
    },

    async down(db: Kysely<unknown>) {
      for (const table of [
        'audit_events',
        'certificate_domains',
        'certificate_files',
        'certificate_keys',
        'certificates',
        'credentials',
        'data_keys',
        'tenants',
      ]) {
        await db.schema.dropTable(table).execute();
      }
    },
  };
}

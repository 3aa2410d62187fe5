/**
 * Migration 0009: what the ACM face needs that no other face has.
 *
 * - `certificates.arn_id`: the UUID of the certificate's ARN (`arn:aws:acm:<region>:<account>:
 *   certificate/<arn_id>`), for every certificate, whichever face imported it. Existing rows are
 *   backfilled here; new rows get one from the database itself (PostgreSQL: the column default
 *   `gen_random_uuid()`; SQLite: an AFTER INSERT trigger, since ALTER TABLE cannot add a column
 *   with an expression default), so the certificate repository's insert needs no change. Random
 *   (version 4) lower-case UUIDs; unique across the store (`certificates_arn_id`), never changed.
 * - `acm_tags`: a certificate's tags (key unique per certificate); they go with the row (cascade).
 * - `acm_account_configs`: per tenant, `DaysBeforeExpiry` of PutAccountConfiguration.
 * - `acm_paging_keys`: the HMAC key of ListCertificates NextTokens, sealed by the vault (one row).
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { StoreDialect } from '../dialect.ts';

export function acmSchema(d: StoreDialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      if (d.addColumnTakesExpressionDefault) {
        // A volatile default: every existing row gets its own value, and so does every new one.
        await sql`alter table certificates add column arn_id text not null default ${d.randomUuid}`.execute(db);
      } else {
        await sql`alter table certificates add column arn_id text`.execute(db);
        await sql`update certificates set arn_id = ${d.randomUuid}`.execute(db);
        await sql`create trigger certificates_arn_id after insert on certificates when new.arn_id is null begin update certificates set arn_id = ${d.randomUuid} where certificate_no = new.certificate_no; end`.execute(
          db,
        );
      }
      await db.schema.createIndex('certificates_arn_id').unique().on('certificates').column('arn_id').execute();

      await db.schema
        .createTable('acm_tags')
        .addColumn('certificate_no', d.idType, (c) =>
          c.notNull().references('certificates.certificate_no').onDelete('cascade'),
        )
        .addColumn('key', d.sortableTextType, (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('acm_tags_pkey', ['certificate_no', 'key'])
        .execute();

      await db.schema
        .createTable('acm_account_configs')
        .addColumn('tenant_id', d.idType, (c) => c.primaryKey().references('tenants.id'))
        .addColumn('days_before_expiry', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('acm_paging_keys')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('data_key_id', d.idType, (c) => c.notNull().references('data_keys.id'))
        .addColumn('sealed_key', d.binaryType, (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('acm_paging_keys').execute();
      await db.schema.dropTable('acm_account_configs').execute();
      await db.schema.dropTable('acm_tags').execute();
      await db.schema.dropIndex('certificates_arn_id').execute();
      if (!d.addColumnTakesExpressionDefault) await sql`drop trigger certificates_arn_id`.execute(db);
      await sql`alter table certificates drop column arn_id`.execute(db);
    },
  };
}

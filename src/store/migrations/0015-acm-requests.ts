/**
 * Migration 0015: ACM RequestCertificate and tags without a value.
 *
 * - `acm_requests`: one row per RequestCertificate: the ARN id printed at once, the issuance order
 *   and the certificate number it reserved (the certificate row does not exist until the CA
 *   delivers), and the IdempotencyToken (a repeat within an hour answers the same ARN).
 * - The certificate that lands with a requested number takes the request's ARN id, so the ARN
 *   printed by RequestCertificate is the certificate's for good: SQLite's `certificates_arn_id`
 *   trigger (migration 0009) now looks in `acm_requests` first; PostgreSQL gets a BEFORE INSERT
 *   trigger doing the same (the column default still serves every other insert). The certificate
 *   repository's insert is unchanged.
 * - `acm_tags.value` becomes nullable: ACM tags may have no value (migration 0009 declared it
 *   NOT NULL while the repository writes null for them). SQLite cannot drop NOT NULL in place,
 *   so the table is rebuilt.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { StoreDialect } from '../dialect.ts';

export function acmRequestsSchema(d: StoreDialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('acm_requests')
        .addColumn('arn_id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', d.idType, (c) => c.notNull().references('tenants.id'))
        .addColumn('certificate_no', d.idType, (c) => c.notNull())
        .addColumn('order_id', d.idType, (c) => c.notNull().references('issuance_orders.order_id'))
        .addColumn('idempotency_token', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('acm_requests_certificate')
        .unique()
        .on('acm_requests')
        .column('certificate_no')
        .execute();
      await db.schema
        .createIndex('acm_requests_token')
        .on('acm_requests')
        .columns(['tenant_id', 'idempotency_token', 'created_at'])
        .execute();

      if (d.addColumnTakesExpressionDefault) {
        await sql`create function certificates_requested_arn_id() returns trigger language plpgsql as $$
          declare requested text;
          begin
            select r.arn_id into requested from acm_requests r where r.certificate_no = new.certificate_no;
            if requested is not null then new.arn_id := requested; end if;
            return new;
          end $$`.execute(db);
        await sql`create trigger certificates_requested_arn_id before insert on certificates for each row execute function certificates_requested_arn_id()`.execute(
          db,
        );
        await sql`alter table acm_tags alter column value drop not null`.execute(db);
      } else {
        await sql`drop trigger certificates_arn_id`.execute(db);
        await sql`create trigger certificates_arn_id after insert on certificates when new.arn_id is null begin update certificates set arn_id = coalesce((select r.arn_id from acm_requests r where r.certificate_no = new.certificate_no), ${d.randomUuid}) where certificate_no = new.certificate_no; end`.execute(
          db,
        );
        await db.schema
          .createTable('acm_tags_0015')
          .addColumn('certificate_no', d.idType, (c) =>
            c.notNull().references('certificates.certificate_no').onDelete('cascade'),
          )
          .addColumn('key', d.sortableTextType, (c) => c.notNull())
          .addColumn('value', 'text')
          .addPrimaryKeyConstraint('acm_tags_pkey', ['certificate_no', 'key'])
          .execute();
        await sql`insert into acm_tags_0015 (certificate_no, key, value) select certificate_no, key, value from acm_tags`.execute(
          db,
        );
        await db.schema.dropTable('acm_tags').execute();
        await sql`alter table acm_tags_0015 rename to acm_tags`.execute(db);
      }
    },
  };
}

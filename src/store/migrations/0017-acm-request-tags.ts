/**
 * Migration 0017: requested ACM certificates are listed while pending, and carry tags.
 *
 * - `acm_requests.landed_at`: when the certificate with the request's reserved number was inserted
 *   (null while it has not been). ListCertificates lists the requests with `landed_at` null next to
 *   the certificates, from the partial index `acm_requests_pending` (tenant_id, created_at,
 *   certificate_no): the same keyset order as `certificates_live_created`, so one position serves
 *   both. Existing requests are backfilled: landed when their certificate row exists or their
 *   order delivered.
 * - `acm_request_tags`: the Tags of a RequestCertificate (and tags added while pending), keyed by
 *   the reserved certificate number; `acm_tags` cannot hold them, its rows reference the
 *   certificate row.
 * - When the certificate lands (the insert of the reserved number), in the inserting transaction:
 *   it takes the request's ARN id (as in 0015) and the request's `created_at` (ACM's CreatedAt is
 *   the request's time; and the listed item keeps its place in the (created_at, certificate_no)
 *   order when it goes from pending to issued, so pages never list it twice or miss it); the
 *   request gets `landed_at`; its tags move to `acm_tags`. SQLite: the AFTER INSERT triggers below;
 *   PostgreSQL: the BEFORE INSERT function of 0015 also sets `created_at`, and an AFTER INSERT
 *   trigger marks the request and moves the tags (acm_tags references the row, so after it exists).
 *   The certificate repository's insert is unchanged; inserts of other numbers only pay the probe
 *   of `acm_requests_certificate` they already paid.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { StoreDialect } from '../dialect.ts';

export function acmRequestTagsSchema(d: StoreDialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('acm_requests').addColumn('landed_at', 'bigint').execute();
      await sql`update acm_requests set landed_at = created_at
        where exists (select 1 from certificates c where c.certificate_no = acm_requests.certificate_no)
           or exists (select 1 from issuance_orders o where o.order_id = acm_requests.order_id
                        and (o.step = 'done' or (o.step = 'cleanup' and o.outcome = 'done')))`.execute(db);
      await db.schema
        .createIndex('acm_requests_pending')
        .on('acm_requests')
        .columns(['tenant_id', 'created_at', 'certificate_no'])
        .where(sql.raw<boolean>('landed_at is null'))
        .execute();

      await db.schema
        .createTable('acm_request_tags')
        .addColumn('certificate_no', d.idType, (c) =>
          c.notNull().references('acm_requests.certificate_no').onDelete('cascade'),
        )
        .addColumn('key', d.sortableTextType, (c) => c.notNull())
        .addColumn('value', 'text')
        .addPrimaryKeyConstraint('acm_request_tags_pkey', ['certificate_no', 'key'])
        .execute();

      if (d.addColumnTakesExpressionDefault) {
        await sql`create or replace function certificates_requested_arn_id() returns trigger language plpgsql as $$
          declare requested record;
          begin
            select r.arn_id, r.created_at into requested from acm_requests r where r.certificate_no = new.certificate_no;
            if found then
              new.arn_id := requested.arn_id;
              new.created_at := requested.created_at;
            end if;
            return new;
          end $$`.execute(db);
        await sql`create function certificates_requested_landed() returns trigger language plpgsql as $$
          begin
            update acm_requests set landed_at = new.updated_at
              where certificate_no = new.certificate_no and landed_at is null;
            if found then
              insert into acm_tags (certificate_no, key, value)
                select certificate_no, key, value from acm_request_tags where certificate_no = new.certificate_no;
              delete from acm_request_tags where certificate_no = new.certificate_no;
            end if;
            return null;
          end $$`.execute(db);
        await sql`create trigger certificates_requested_landed after insert on certificates for each row execute function certificates_requested_landed()`.execute(
          db,
        );
      } else {
        // 0015's trigger gave both kinds of insert their ARN id; now it serves the others only,
        // and a requested number's insert is the trigger below's.
        await sql`drop trigger certificates_arn_id`.execute(db);
        await sql`create trigger certificates_arn_id after insert on certificates
          when new.arn_id is null and not exists (select 1 from acm_requests r where r.certificate_no = new.certificate_no)
          begin update certificates set arn_id = ${d.randomUuid} where certificate_no = new.certificate_no; end`.execute(
          db,
        );
        await sql`create trigger certificates_requested_landed after insert on certificates
          when exists (select 1 from acm_requests r where r.certificate_no = new.certificate_no)
          begin
            update certificates set
              arn_id = (select r.arn_id from acm_requests r where r.certificate_no = new.certificate_no),
              created_at = (select r.created_at from acm_requests r where r.certificate_no = new.certificate_no)
              where certificate_no = new.certificate_no;
            update acm_requests set landed_at = new.updated_at
              where certificate_no = new.certificate_no and landed_at is null;
            insert into acm_tags (certificate_no, key, value)
              select certificate_no, key, value from acm_request_tags where certificate_no = new.certificate_no;
            delete from acm_request_tags where certificate_no = new.certificate_no;
          end`.execute(db);
      }
    },
  };
}

/**
 * Migration 0018: a certificate name is in at most one active `issue` order of a tenant (issue
 * 16; repositories/issuance.ts `createOrder`). Numbered 0018: 0017 is taken by another branch;
 * the names only have to sort in order.
 *
 * The DNS names of active orders were unique already (0008's `issuance_order_names`, across
 * tenants); the certificate's own name was checked by core before the insert only, so two
 * requests racing with one name and different domains both created orders (seen on PostgreSQL:
 * three of five rounds of two concurrent NCP requests), and the second failed much later, at
 * import. The partial unique index `issuance_orders_active_name` closes that race at the store.
 *
 * - Only `issue` orders: `renew`, `reissue` and `revoke` orders carry the name of the certificate
 *   they work on, which exists already (core refuses a new certificate of that name), and a
 *   revoke may run beside a renewal of the same certificate.
 * - Active steps only (0008's literal list, so both planners see the predicate): an order that
 *   ended frees the name, like its DNS names.
 * - Rows that would break the index (duplicates the race made before this migration) are settled
 *   first: the oldest active order of each (tenant, name) keeps it, the others end `failed` with
 *   a `last_error` saying why, and give back their DNS names and HTTP-01 tokens, as a final step
 *   does. Only one of them could have been stored anyway (the certificates' unique live name).
 */
import { sql, type Kysely, type Migration } from 'kysely';
import { ACTIVE_ORDER_STEPS_SQL } from './0008-issuance.ts';

export const ACTIVE_ISSUE_NAME_INDEX = 'issuance_orders_active_name';

const DUPLICATE_ERROR =
  'Ended by migration 0018: an older order for the same certificate name was still active, and a name is in one active order at a time.';

export function activeOrderCertificateNamesSchema(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      // Unqualified `step`: each use names the innermost table's column (o's, then k's).
      const active = sql.raw(ACTIVE_ORDER_STEPS_SQL);
      const losers = (
        await sql<{ order_id: number | string }>`
          select o.order_id from issuance_orders o
          where o.kind = 'issue' and ${active}
            and exists (
              select 1 from issuance_orders k
              where k.tenant_id = o.tenant_id and k.certificate_name = o.certificate_name
                and k.kind = 'issue' and ${active} and k.order_id < o.order_id
            )`.execute(db)
      ).rows.map((r) => Number(r.order_id));
      if (losers.length > 0) {
        const now = Date.now();
        const ids = sql.join(losers);
        await sql`
          update issuance_orders
          set step = 'failed', outcome = null, last_error = ${DUPLICATE_ERROR}, claimed_by = null,
              lease_until = null, next_attempt_at = null, updated_at = ${now}
          where order_id in (${ids})`.execute(db);
        await sql`delete from issuance_order_names where order_id in (${ids})`.execute(db);
        await sql`delete from issuance_http_tokens where order_id in (${ids})`.execute(db);
      }
      await db.schema
        .createIndex(ACTIVE_ISSUE_NAME_INDEX)
        .unique()
        .on('issuance_orders')
        .columns(['tenant_id', 'certificate_name'])
        .where(sql.raw<boolean>(`kind = 'issue' and ${ACTIVE_ORDER_STEPS_SQL}`))
        .execute();
    },

    async down(db: Kysely<unknown>) {
      await db.schema.dropIndex(ACTIVE_ISSUE_NAME_INDEX).execute();
    },
  };
}

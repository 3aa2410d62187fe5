/**
 * AcmRepository over Kysely (both dialects): ARN ids (`certificates.arn_id`, migration 0009), the
 * ListCertificates keyset page, tags, account configuration and the NextToken key.
 *
 * The page reads the partial index `certificates_live_created` (tenant_id, created_at,
 * certificate_no) in its own order from the keyset position, so a page costs the same at any
 * depth and a row imported or deleted meanwhile never shifts the rows after the position.
 */
import { sql, type Kysely } from 'kysely';
import type { AcmRepository, AcmRequest } from '../../core/ports.ts';
import type { StoreDialect } from '../dialect.ts';
import { queryTemplate } from '../query-template.ts';
import { CERTIFICATE_SUMMARY_COLUMNS, hasChainColumn, ms, summaryFromRow } from '../rows.ts';
import type { CertificateRow, Database } from '../schema.ts';
import { inTransaction } from '../transaction.ts';

interface AcmTables {
  certificates: CertificateRow & { arn_id: string };
  acm_tags: { certificate_no: number; key: string; value: string | null };
  acm_paging_keys: { id: number; data_key_id: number; sealed_key: Buffer };
  acm_requests: {
    arn_id: string;
    tenant_id: number;
    certificate_no: number;
    order_id: number;
    idempotency_token: string | null;
    created_at: number;
  };
}

const requestOf = (row: AcmTables['acm_requests']): AcmRequest => ({
  arnId: row.arn_id,
  tenantId: Number(row.tenant_id),
  certificateNo: Number(row.certificate_no),
  orderId: Number(row.order_id),
  idempotencyToken: row.idempotency_token,
  createdAt: new Date(Number(row.created_at)),
});
type Db = Kysely<Omit<Database, 'certificates'> & AcmTables>;

const byArnId = queryTemplate((db: Db, tenantId: number, arnId: string) =>
  db
    .selectFrom('certificates')
    .select('certificate_no')
    .where('arn_id', '=', arnId)
    .where('tenant_id', '=', tenantId)
    .where('deleted_at', 'is', null),
);

const tagsOf = queryTemplate((db: Db, certificateNo: number) =>
  db.selectFrom('acm_tags').select(['key', 'value']).where('certificate_no', '=', certificateNo).orderBy('key'),
);

/** The row lock slots.ts and certificate deletion take too: a no-op update of a live row. */
async function lockLive(trx: Db, tenantId: number, certificateNo: number): Promise<boolean> {
  const locked = await trx
    .updateTable('certificates')
    .set({ updated_at: sql<number>`updated_at` })
    .where('tenant_id', '=', tenantId)
    .where('certificate_no', '=', certificateNo)
    .where('deleted_at', 'is', null)
    .returning('certificate_no')
    .executeTakeFirst();
  return locked !== undefined;
}

export function acmRepository(base: Kysely<Database>, dialect: StoreDialect): AcmRepository {
  const db = base as unknown as Db;
  return {
    async arnIds(tenantId, certificateNos) {
      const out = new Map<number, string>();
      if (certificateNos.length === 0) return out;
      const rows = await db
        .selectFrom('certificates')
        .select(['certificate_no', 'arn_id'])
        .where('tenant_id', '=', tenantId)
        .where('certificate_no', 'in', [...new Set(certificateNos)])
        .execute();
      for (const row of rows) out.set(Number(row.certificate_no), row.arn_id);
      return out;
    },

    async certificateNoOf(tenantId, arnId) {
      const row = await byArnId.first(db, tenantId, arnId);
      return row ? Number(row.certificate_no) : null;
    },

    async list(query) {
      const { tenantId, order } = query;
      const cmp = order === 'asc' ? sql`>` : sql`<`;
      let q = db
        .selectFrom('certificates as c')
        .select([...CERTIFICATE_SUMMARY_COLUMNS.map((col) => `c.${col}` as const), 'c.arn_id', hasChainColumn('c')])
        .where('c.tenant_id', '=', tenantId)
        .where('c.deleted_at', 'is', null);
      if (query.validity === 'unexpired') q = q.where('c.not_after', '>', ms(query.asOf));
      if (query.validity === 'expired') q = q.where('c.not_after', '<=', ms(query.asOf));
      if (query.keyTypes !== null) {
        const types = query.keyTypes;
        if (types.length === 0) return [];
        q = q.where((eb) =>
          eb.or(types.map((t) => eb.and([eb('c.key_algorithm', '=', t.algorithm), eb('c.key_bits', '=', t.bits)]))),
        );
      }
      if (query.after) {
        q = q.where(
          sql<boolean>`(c.created_at, c.certificate_no) ${cmp} (${query.after.createdAt}, ${query.after.certificateNo})`,
        );
      }
      const rows = await q
        .orderBy('c.created_at', order)
        .orderBy('c.certificate_no', order)
        .limit(query.limit)
        .execute();
      return rows.map((row) => ({ summary: summaryFromRow(row), arnId: row.arn_id }));
    },

    async tags(_tenantId, certificateNo) {
      const rows = await tagsOf.all(db, certificateNo);
      return rows.map((row) => ({ key: row.key, value: row.value }));
    },

    async addTags(tenantId, certificateNo, tags, max) {
      return inTransaction(db, dialect, async (trx) => {
        if (!(await lockLive(trx, tenantId, certificateNo))) return 'not_found' as const;
        for (const tag of tags) {
          await trx
            .insertInto('acm_tags')
            .values({ certificate_no: certificateNo, key: tag.key, value: tag.value })
            .onConflict((oc) => oc.columns(['certificate_no', 'key']).doUpdateSet({ value: tag.value }))
            .execute();
        }
        const { n } = await trx
          .selectFrom('acm_tags')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('certificate_no', '=', certificateNo)
          .executeTakeFirstOrThrow();
        // Thrown so the transaction rolls back; caught below.
        if (Number(n) > max) throw new TooMany();
        return 'ok' as const;
      }).catch((error: unknown) => {
        if (error instanceof TooMany) return 'too_many' as const;
        throw error;
      });
    },

    async removeTags(tenantId, certificateNo, tags) {
      return inTransaction(db, dialect, async (trx) => {
        if (!(await lockLive(trx, tenantId, certificateNo))) return false;
        for (const tag of tags) {
          let del = trx.deleteFrom('acm_tags').where('certificate_no', '=', certificateNo).where('key', '=', tag.key);
          if (tag.value !== undefined)
            del = tag.value === null ? del.where('value', 'is', null) : del.where('value', '=', tag.value);
          await del.execute();
        }
        return true;
      });
    },

    async createRequest(request) {
      await db
        .insertInto('acm_requests')
        .values({
          arn_id: request.arnId,
          tenant_id: request.tenantId,
          certificate_no: request.certificateNo,
          order_id: request.orderId,
          idempotency_token: request.idempotencyToken,
          created_at: ms(request.createdAt),
        })
        .execute();
    },

    async requestByArnId(tenantId, arnId) {
      const row = await db
        .selectFrom('acm_requests')
        .selectAll()
        .where('arn_id', '=', arnId)
        .where('tenant_id', '=', tenantId)
        .executeTakeFirst();
      return row ? requestOf(row) : null;
    },

    async requestByToken(tenantId, token, since) {
      const row = await db
        .selectFrom('acm_requests')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('idempotency_token', '=', token)
        .where('created_at', '>=', ms(since))
        .orderBy('created_at', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row ? requestOf(row) : null;
    },

    async pagingKey(create) {
      const read = () => db.selectFrom('acm_paging_keys').selectAll().where('id', '=', 1).executeTakeFirst();
      let row = await read();
      if (!row) {
        const sealed = await create();
        await db
          .insertInto('acm_paging_keys')
          .values({ id: 1, data_key_id: sealed.dataKeyId, sealed_key: sealed.blob })
          .onConflict((oc) => oc.column('id').doNothing())
          .execute();
        row = await read();
        if (!row) throw new Error('acm_paging_keys: the key row vanished after insert');
      }
      return { dataKeyId: Number(row.data_key_id), blob: row.sealed_key };
    },
  };
}

class TooMany extends Error {}

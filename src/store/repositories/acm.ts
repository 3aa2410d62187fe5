/**
 * AcmRepository over Kysely (both dialects): ARN ids (`certificates.arn_id`, migration 0009), the
 * ListCertificates keyset page, tags, account configuration and the NextToken key.
 *
 * The page reads the partial index `certificates_live_created` (tenant_id, created_at,
 * certificate_no) in its own order from the keyset position, so a page costs the same at any
 * depth and a row imported or deleted meanwhile never shifts the rows after the position.
 * Requests not landed (migration 0017) are read the same way from `acm_requests_pending`, in the
 * same order, and the two short runs are merged: no sort of anything but the page's own rows.
 *
 * A request's certificate lands with the request's number and created_at, so the item keeps its
 * place; the landing moves it from one index to the other in one transaction. The requests are
 * read first and the certificates second: a statement sees everything committed before it
 * starts, so an item pending for the first read is, for the second, pending still or landed
 * (answered twice, once kept: the certificate), never neither. Every query is a template
 * (query-template.ts), one per shape.
 */
import { sql, type Kysely } from 'kysely';
import type { CertificateKeyKind } from '../../core/issuance/issuer.ts';
import type { OrderStep } from '../../core/issuance/ports.ts';
import type { AcmListed, AcmListQuery, AcmRepository, AcmRequest, AcmTag } from '../../core/ports.ts';
import type { StoreDialect } from '../dialect.ts';
import { checkedReads, type CheckedReads } from '../credential-check.ts';
import { columnKeys, queryTemplate, templateOf, type QueryTemplate, type RowValues } from '../query-template.ts';
import {
  factsInHand,
  hasChainColumn,
  ms,
  SUMMARY_ROW_COLUMNS,
  summaryColumns,
  summaryFromValues,
  type CertificateSummaryRow,
} from '../rows.ts';
import { pageKeyOf, readPage } from '../known-facts.ts';
import type { CertificateRow, Database } from '../schema.ts';
import { inTransaction } from '../transaction.ts';
import { fetchSize } from './certificate-list.ts';
import { inUseColumn } from './certificate-usage.ts';

interface AcmTables {
  certificates: CertificateRow;
  acm_tags: { certificate_no: number; key: string; value: string | null };
  acm_paging_keys: { id: number; data_key_id: number; sealed_key: Buffer };
  acm_requests: {
    arn_id: string;
    tenant_id: number;
    certificate_no: number;
    order_id: number;
    idempotency_token: string | null;
    created_at: number;
    landed_at: number | null;
  };
  acm_request_tags: { certificate_no: number; key: string; value: string | null };
  /** What the list reads of an order (repositories/issuance.ts owns the table). */
  issuance_orders: { order_id: number; names: string; key_kind: string; step: string; outcome: string | null };
}

const requestOf = (row: AcmTables['acm_requests']): AcmRequest => ({
  arnId: row.arn_id,
  tenantId: Number(row.tenant_id),
  certificateNo: Number(row.certificate_no),
  orderId: Number(row.order_id),
  idempotencyToken: row.idempotency_token,
  createdAt: new Date(Number(row.created_at)),
  landedAt: row.landed_at === null ? null : new Date(Number(row.landed_at)),
});
type Tables = Omit<Database, 'certificates'> & AcmTables;
type Db = Kysely<Tables>;

const byArnId = queryTemplate((db: Db, tenantId: number, arnId: string) =>
  db
    .selectFrom('certificates')
    .select('certificate_no')
    .where('arn_id', '=', arnId)
    .where('tenant_id', '=', tenantId)
    .where('deleted_at', 'is', null),
);

/** A number's tags are in one of the two tables at any moment (the landing moves them in one transaction). */
const tagsOf = queryTemplate((db: Db, certificateNo: number, requestNo: number) =>
  db
    .selectFrom('acm_tags')
    .select(['key', 'value'])
    .where('certificate_no', '=', certificateNo)
    .unionAll(db.selectFrom('acm_request_tags').select(['key', 'value']).where('certificate_no', '=', requestNo))
    .orderBy('key'),
);

/** One statement, so one snapshot: a request landing meanwhile is found as exactly one of the two. */
const taggable = queryTemplate(
  (db: Db, tenantId: number, arnId: string, requestTenantId: number, requestArnId: string) =>
    db
      .selectFrom('certificates')
      .select('certificate_no')
      .where('arn_id', '=', arnId)
      .where('tenant_id', '=', tenantId)
      .where('deleted_at', 'is', null)
      .unionAll(
        db
          .selectFrom('acm_requests')
          .select('certificate_no')
          .where('arn_id', '=', requestArnId)
          .where('tenant_id', '=', requestTenantId)
          .where('landed_at', 'is', null),
      ),
);

/** `coalesce(...)`: the order's step, or for cleanup its outcome once set (what the request has come to). */
const ENDED = sql<string>`coalesce(case when o.step = 'cleanup' then o.outcome end, o.step)`;

type CertificatePageRow = CertificateSummaryRow & { arn_id: string };
interface RequestPageRow {
  arn_id: string;
  certificate_no: number;
  created_at: number;
  names: string;
  key_kind: string;
  ended: string;
}

interface CertificateShape {
  order: 'asc' | 'desc';
  states: string;
  keyTypes: number | null;
  after: boolean;
  /** Each row's `inUseColumn` too (PostgreSQL: `dialect.mergesReads`). */
  inUse: boolean;
  /** With the `facts` column (known-facts.ts `readPage`: without it when every row's facts are held). */
  facts: boolean;
  /**
   * PostgreSQL (`inUse`): the page's rows are read with this literal limit, the page's limit
   * rounded up to a power of two (certificate-list.ts `fetchSize`), and the exact limit and
   * `in_use` are applied above them; null on SQLite (the limit is a parameter of the one select).
   * Why: with a parameter limit, PostgreSQL's generic plan costs 10 % of the tenant's rows and
   * never wins, so the statement was planned afresh on every run (0.5–0.7 ms of planning for
   * 0.6 ms of execution at 100,000); and `in_use` over an estimate of the tenant's rows was
   * planned as a hashed subplan, which reads every live edge slot item on every page. Over at
   * most `fetch` rows it is a probe of the (tenant_id, certificate_no) item index per row.
   */
  fetch: number | null;
}

/** The certificates' run of a page: the index in its order from the position, the states and key types checked on each row. */
function certificatePage(db: Db, shape: CertificateShape, v: unknown[]) {
  let i = 0;
  const next = () => v[i++];
  const cmp = shape.order === 'asc' ? sql`>` : sql`<`;
  let q = db
    .selectFrom('certificates as c')
    .select([...summaryColumns(shape.facts).map((col) => `c.${col}` as const), 'c.arn_id', hasChainColumn('c')])
    .where('c.tenant_id', '=', next() as number)
    .where('c.deleted_at', 'is', null);
  const states = new Set(shape.states.split(','));
  const revoked = states.has('revoked');
  const issued = states.has('issued');
  const expired = states.has('expired');
  // revoked wins over expired (domain status and ACM alike): the unrevoked rows split by notAfter.
  if (!revoked && issued && expired) q = q.where('c.revoked_at', 'is', null);
  else if (!revoked && issued) q = q.where('c.revoked_at', 'is', null).where('c.not_after', '>', next() as number);
  else if (!revoked && expired) q = q.where('c.revoked_at', 'is', null).where('c.not_after', '<=', next() as number);
  else if (revoked && !issued && !expired) q = q.where('c.revoked_at', 'is not', null);
  else if (revoked && issued && !expired) {
    const at = next() as number;
    q = q.where((eb) => eb.or([eb('c.revoked_at', 'is not', null), eb('c.not_after', '>', at)]));
  } else if (revoked && expired && !issued) {
    const at = next() as number;
    q = q.where((eb) => eb.or([eb('c.revoked_at', 'is not', null), eb('c.not_after', '<=', at)]));
  }
  if (shape.keyTypes !== null) {
    const pairs = Array.from({ length: shape.keyTypes }, () => [next(), next()] as const);
    q = q.where((eb) =>
      eb.or(
        pairs.map(([algorithm, bits]) =>
          eb.and([eb('c.key_algorithm', '=', algorithm as string), eb('c.key_bits', '=', bits as number)]),
        ),
      ),
    );
  }
  if (shape.after) {
    const createdAt = next();
    const certificateNo = next();
    q = q.where(sql<boolean>`(c.created_at, c.certificate_no) ${cmp} (${createdAt}, ${certificateNo})`);
  }
  const ordered = q.orderBy('c.created_at', shape.order).orderBy('c.certificate_no', shape.order);
  if (shape.fetch === null) return ordered.limit(next() as number);
  // The outer limit stops the walk below it at the page's exact size: no row past it is read.
  return db
    .selectFrom(ordered.limit(sql.lit(shape.fetch)).as('c'))
    .selectAll('c')
    .select(inUseColumn(db as unknown as Kysely<Database>, 'c'))
    .orderBy('c.created_at', shape.order)
    .orderBy('c.certificate_no', shape.order)
    .limit(next() as number);
}

interface RequestShape {
  order: 'asc' | 'desc';
  steps: number;
  keyKinds: number;
  after: boolean;
}

/** The requests' run of a page: `acm_requests_pending` in its order, each row's order by primary key. */
function requestPage(db: Db, shape: RequestShape, v: unknown[]) {
  let i = 0;
  const next = () => v[i++];
  const cmp = shape.order === 'asc' ? sql`>` : sql`<`;
  let q = db
    .selectFrom('acm_requests as r')
    .innerJoin('issuance_orders as o', 'o.order_id', 'r.order_id')
    .select(['r.arn_id', 'r.certificate_no', 'r.created_at', 'o.names', 'o.key_kind', ENDED.as('ended')])
    .where('r.tenant_id', '=', next() as number)
    .where('r.landed_at', 'is', null);
  const steps = Array.from({ length: shape.steps }, next);
  q = q.where(sql<boolean>`${ENDED} in (${sql.join(steps)})`);
  const kinds = Array.from({ length: shape.keyKinds }, next);
  q = q.where(sql<boolean>`o.key_kind in (${sql.join(kinds)})`);
  if (shape.after) {
    const createdAt = next();
    const certificateNo = next();
    q = q.where(sql<boolean>`(r.created_at, r.certificate_no) ${cmp} (${createdAt}, ${certificateNo})`);
  }
  return q
    .orderBy('r.created_at', shape.order)
    .orderBy('r.certificate_no', shape.order)
    .limit(next() as number);
}

/** Templates by shape: a few dozen combinations of order, filters and position at most. */
const certificateTemplates = new Map<string, QueryTemplate<Tables, unknown[], CertificatePageRow>>();
const requestTemplates = new Map<string, QueryTemplate<Tables, unknown[], RequestPageRow>>();

function cached<Shape, Row>(
  cache: Map<string, QueryTemplate<Tables, unknown[], Row>>,
  shape: Shape,
  arity: number,
  build: (db: Db, shape: Shape, values: unknown[]) => unknown,
): QueryTemplate<Tables, unknown[], Row> {
  const key = JSON.stringify(shape);
  let template = cache.get(key);
  if (!template) {
    template = templateOf<Tables, Row>(arity, (db, values) => build(db, shape, values) as never);
    cache.set(key, template);
  }
  return template;
}

async function listCertificates(
  db: Db,
  query: AcmListQuery,
  mergesReads: boolean,
  reads: CheckedReads,
): Promise<AcmListed[]> {
  const { tenantId, order } = query;
  if (query.certificates.length === 0 || (query.keyTypes !== null && query.keyTypes.length === 0)) return [];
  const states = [...new Set(query.certificates)].sort();
  const values: unknown[] = [tenantId];
  const all = states.length === 3;
  const onlyUnrevoked = !states.includes('revoked') && states.length === 2;
  const onlyRevoked = states.length === 1 && states[0] === 'revoked';
  if (!all && !onlyUnrevoked && !onlyRevoked) values.push(ms(query.asOf));
  if (query.keyTypes !== null) for (const t of query.keyTypes) values.push(t.algorithm, t.bits);
  if (query.after) values.push(query.after.createdAt, query.after.certificateNo);
  values.push(query.limit);
  const shape = (facts: boolean): CertificateShape => ({
    order,
    states: states.join(','),
    keyTypes: query.keyTypes === null ? null : query.keyTypes.length,
    after: query.after !== null,
    inUse: mergesReads,
    fetch: mergesReads ? fetchSize(query.limit) : null,
    facts,
  });
  // Its rows as arrays on PostgreSQL (query-template.ts `rowSet`): a page of up to 1000 rows.
  const { rows, columns } = await readPage(
    pageKeyOf('acm', query),
    (facts) => reads.rowSet(cached(certificateTemplates, shape(facts), values.length, certificatePage), db, values),
    (page) => factsInHand(page.rows as readonly RowValues[], columnKeys(PAGE_COLUMNS, page.columns)),
  );
  const at = columnKeys(PAGE_COLUMNS, columns);
  return (rows as readonly RowValues[]).map((row) => ({
    kind: 'certificate',
    summary: summaryFromValues(row, at),
    arnId: row[at.arn_id] as string,
    ...(mergesReads ? { inUse: Boolean(row[at.in_use]) } : {}),
  }));
}

/** What `listCertificates` reads of its rows (`in_use` only with `CertificateShape.inUse`). */
const PAGE_COLUMNS = [...SUMMARY_ROW_COLUMNS, 'arn_id', 'in_use'] as const;

async function listRequests(db: Db, query: AcmListQuery): Promise<AcmListed[]> {
  const requests = query.requests;
  if (requests === null || requests.steps.length === 0 || requests.keyKinds.length === 0) return [];
  const steps = [...new Set(requests.steps)].sort();
  const kinds = [...new Set(requests.keyKinds)].sort();
  const values: unknown[] = [query.tenantId, ...steps, ...kinds];
  if (query.after) values.push(query.after.createdAt, query.after.certificateNo);
  values.push(query.limit);
  const shape: RequestShape = {
    order: query.order,
    steps: steps.length,
    keyKinds: kinds.length,
    after: query.after !== null,
  };
  const rows = await cached(requestTemplates, shape, values.length, requestPage).all(db, ...values);
  return rows.map((row) => ({
    kind: 'requested',
    arnId: row.arn_id,
    certificateNo: Number(row.certificate_no),
    createdAt: new Date(Number(row.created_at)),
    names: JSON.parse(row.names) as string[],
    keyKind: row.key_kind as CertificateKeyKind,
    ended: row.ended as OrderStep,
  }));
}

const keyOf = (item: AcmListed): [number, number] =>
  item.kind === 'certificate'
    ? [item.summary.createdAt.getTime(), item.summary.certificateNo]
    : [item.createdAt.getTime(), item.certificateNo];

/** Two runs, each in `order`, merged into one of at most `limit`; an item in both is kept once, as the certificate. */
function merge(requests: AcmListed[], certificates: AcmListed[], order: 'asc' | 'desc', limit: number): AcmListed[] {
  if (requests.length === 0) return certificates.slice(0, limit);
  const sign = order === 'asc' ? 1 : -1;
  const out: AcmListed[] = [];
  let r = 0;
  let c = 0;
  while (out.length < limit && (r < requests.length || c < certificates.length)) {
    if (r >= requests.length) {
      out.push(certificates[c++]!);
      continue;
    }
    if (c >= certificates.length) {
      out.push(requests[r++]!);
      continue;
    }
    const [rt, rn] = keyOf(requests[r]!);
    const [ct, cn] = keyOf(certificates[c]!);
    const diff = rt !== ct ? rt - ct : rn - cn;
    if (diff === 0) {
      // The same item, landed between the two reads: the certificate.
      r++;
      out.push(certificates[c++]!);
    } else if (diff * sign < 0) out.push(requests[r++]!);
    else out.push(certificates[c++]!);
  }
  return out;
}

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

/** The lock of a request not landed: a no-op update of its row (the landing updates it too, so they queue). */
async function lockPending(trx: Db, tenantId: number, certificateNo: number): Promise<boolean> {
  const locked = await trx
    .updateTable('acm_requests')
    .set({ created_at: sql<number>`created_at` })
    .where('tenant_id', '=', tenantId)
    .where('certificate_no', '=', certificateNo)
    .where('landed_at', 'is', null)
    .returning('certificate_no')
    .executeTakeFirst();
  return locked !== undefined;
}

/**
 * Locks what this number's tags hang on and names their table: the live certificate's, else the
 * request's not landed. A request that lands while this waits for its row is no longer pending
 * once the lock is had; its certificate, committed by then, is looked for once more.
 */
async function lockTaggable(
  trx: Db,
  tenantId: number,
  certificateNo: number,
): Promise<'acm_tags' | 'acm_request_tags' | null> {
  if (await lockLive(trx, tenantId, certificateNo)) return 'acm_tags';
  if (await lockPending(trx, tenantId, certificateNo)) return 'acm_request_tags';
  if (await lockLive(trx, tenantId, certificateNo)) return 'acm_tags';
  return null;
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

    async list(query, confirm) {
      const reads = checkedReads(dialect, confirm);
      // Requests first: see the header.
      const requests = await listRequests(db, query);
      const certificates = await listCertificates(db, query, dialect.mergesReads, reads);
      await reads.settle(db);
      return merge(requests, certificates, query.order, query.limit);
    },

    async taggableNo(tenantId, arnId) {
      const row = await taggable.first(db, tenantId, arnId, tenantId, arnId);
      return row ? Number(row.certificate_no) : null;
    },

    async tags(_tenantId, certificateNo) {
      const rows = await tagsOf.all(db, certificateNo, certificateNo);
      return rows.map((row) => ({ key: row.key, value: row.value }));
    },

    async addTags(tenantId, certificateNo, tags, max) {
      return inTransaction(db, dialect, async (trx) => {
        const table = await lockTaggable(trx, tenantId, certificateNo);
        if (table === null) return 'not_found' as const;
        for (const tag of tags) {
          await trx
            .insertInto(table)
            .values({ certificate_no: certificateNo, key: tag.key, value: tag.value })
            .onConflict((oc) => oc.columns(['certificate_no', 'key']).doUpdateSet({ value: tag.value }))
            .execute();
        }
        const { n } = await trx
          .selectFrom(table)
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
        const table = await lockTaggable(trx, tenantId, certificateNo);
        if (table === null) return false;
        for (const tag of tags) {
          let del = trx.deleteFrom(table).where('certificate_no', '=', certificateNo).where('key', '=', tag.key);
          if (tag.value !== undefined)
            del = tag.value === null ? del.where('value', 'is', null) : del.where('value', '=', tag.value);
          await del.execute();
        }
        return true;
      });
    },

    async createRequest(request, tags) {
      await inTransaction(db, dialect, async (trx) => {
        await trx
          .insertInto('acm_requests')
          .values({
            arn_id: request.arnId,
            tenant_id: request.tenantId,
            certificate_no: request.certificateNo,
            order_id: request.orderId,
            idempotency_token: request.idempotencyToken,
            created_at: ms(request.createdAt),
            landed_at: null,
          })
          .execute();
        if (tags.length > 0)
          await trx
            .insertInto('acm_request_tags')
            .values(tags.map((t: AcmTag) => ({ certificate_no: request.certificateNo, key: t.key, value: t.value })))
            .execute();
      });
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

    async deleteRequest(tenantId, arnId) {
      return inTransaction(db, dialect, async (trx) => {
        const row = await trx
          .selectFrom('acm_requests')
          .select('certificate_no')
          .where('arn_id', '=', arnId)
          .where('tenant_id', '=', tenantId)
          .where('landed_at', 'is', null)
          .executeTakeFirst();
        if (!row) return false;
        await trx.deleteFrom('acm_request_tags').where('certificate_no', '=', row.certificate_no).execute();
        // Still not landed: a landing in between (its trigger sets landed_at) keeps the row.
        const gone = await trx
          .deleteFrom('acm_requests')
          .where('arn_id', '=', arnId)
          .where('tenant_id', '=', tenantId)
          .where('landed_at', 'is', null)
          .executeTakeFirst();
        return Number(gone.numDeletedRows) > 0;
      });
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

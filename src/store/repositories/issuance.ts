/**
 * IssuanceRepository over Kysely (both dialects), on the tables of migration 0008. The contract
 * is in core/issuance/ports.ts.
 *
 * Concurrency follows repositories/slots.ts: every worker write is ONE conditional UPDATE whose
 * WHERE clause states what must still hold (`claimed_by = ?`, an active step, the lease expired),
 * so on SQLite (one writer) and PostgreSQL (READ COMMITTED re-checks the WHERE clause on the
 * newest row version) two workers never both see their claim succeed. "Create once" rows
 * (accounts, secrets) are `INSERT … ON CONFLICT DO NOTHING` followed by a read: the first writer
 * wins and every process then uses its value.
 */
import { sql, type Kysely, type Generated, type Selectable } from 'kysely';
import type {
  AcmeAccountRow,
  FinalStep,
  IssuanceOrder,
  IssuedCertificateType,
  IssuanceRepository,
  OrderAuthorization,
  OrderKind,
  OrderStep,
  RenewalEntry,
  ValidationMethod,
} from '../../core/issuance/ports.ts';
import { certificateNameTaken, FINAL_STEPS, orderNameTaken } from '../../core/issuance/ports.ts';
import type { CertificateKeyKind, ProblemDocument, RevocationReason } from '../../core/issuance/issuer.ts';
import { AppError } from '../../domain/errors.ts';
import type { StoreDialect } from '../dialect.ts';
import { isUniqueViolation } from '../errors.ts';
import { ACTIVE_ORDER_STEPS_SQL } from '../migrations/0008-issuance.ts';
import { ACTIVE_ISSUE_NAME_INDEX } from '../migrations/0018-active-order-certificate-names.ts';
import { ms } from '../rows.ts';
import type { Database } from '../schema.ts';
import { inTransaction } from '../transaction.ts';

type AcmeAccountTable = {
  account_id: Generated<number>;
  directory_url: string;
  account_url: string | null;
  key_data_key_id: number;
  key_blob: Buffer;
  created_at: number;
  updated_at: number;
};

type IssuanceSecretTable = {
  name: string;
  data_key_id: number;
  blob: Buffer;
  created_at: number;
};

type IssuanceOrderTable = {
  order_id: Generated<number>;
  tenant_id: number;
  kind: string;
  certificate_name: string;
  certificate_no: number | null;
  names: string;
  key_kind: string;
  method: string;
  renewal: number;
  step: string;
  outcome: string | null;
  account_id: number | null;
  order_url: string | null;
  finalize_url: string | null;
  certificate_url: string | null;
  replaces: string | null;
  authorizations: string;
  key_data_key_id: number | null;
  key_blob: Buffer | null;
  certificate_pem: string | null;
  problem: string | null;
  last_error: string | null;
  attempts: number;
  next_attempt_at: number | null;
  awaiting_since: number | null;
  claimed_by: string | null;
  lease_until: number | null;
  created_at: number;
  updated_at: number;
  // Migration 0014.
  csr: string | null;
  revocation_reason: number | null;
  certificate_type: string | null;
};

type OrderNameTable = {
  name: string;
  order_id: number;
  tenant_id: number;
};

type HttpTokenTable = {
  token: string;
  order_id: number;
  key_authorization: string;
};

type IssuedCertificateTable = {
  tenant_id: number;
  certificate_no: number;
  certificate_name: string;
  names: string;
  key_kind: string;
  method: string;
  renewal: number;
  next_check_at: number;
  updated_at: number;
};

export type IssuanceTables = {
  acme_accounts: AcmeAccountTable;
  issuance_secrets: IssuanceSecretTable;
  issuance_orders: IssuanceOrderTable;
  issuance_order_names: OrderNameTable;
  issuance_http_tokens: HttpTokenTable;
  issued_certificates: IssuedCertificateTable;
};

type Db = Kysely<Database & IssuanceTables>;

/** Longest error text kept on an order (the log has the rest). */
const ERROR_MAX = 2000;
const active = sql.raw<boolean>(ACTIVE_ORDER_STEPS_SQL);
const num = (value: number | string | bigint): number => Number(value);
const optNum = (value: number | string | bigint | null): number | null => (value === null ? null : Number(value));
const optDate = (value: number | string | bigint | null): Date | null =>
  value === null ? null : new Date(Number(value));

function accountFromRow(row: Selectable<AcmeAccountTable>): AcmeAccountRow {
  return {
    accountId: num(row.account_id),
    directoryUrl: row.directory_url,
    accountUrl: row.account_url,
    sealedKey: { dataKeyId: num(row.key_data_key_id), blob: Buffer.from(row.key_blob) },
  };
}

export function orderFromRow(row: Selectable<IssuanceOrderTable>): IssuanceOrder {
  return {
    orderId: num(row.order_id),
    tenantId: num(row.tenant_id),
    kind: row.kind as OrderKind,
    certificateName: row.certificate_name,
    certificateNo: optNum(row.certificate_no),
    names: JSON.parse(row.names) as string[],
    keyKind: row.key_kind as CertificateKeyKind,
    method: row.method as ValidationMethod,
    renewal: num(row.renewal) === 1,
    step: row.step as OrderStep,
    outcome: row.outcome as FinalStep | null,
    accountId: optNum(row.account_id),
    orderUrl: row.order_url,
    finalizeUrl: row.finalize_url,
    certificateUrl: row.certificate_url,
    replaces: row.replaces,
    authorizations: JSON.parse(row.authorizations) as OrderAuthorization[],
    sealedKey:
      row.key_data_key_id === null || row.key_blob === null
        ? null
        : { dataKeyId: num(row.key_data_key_id), blob: Buffer.from(row.key_blob) },
    certificatePem: row.certificate_pem,
    problem: row.problem === null ? null : (JSON.parse(row.problem) as ProblemDocument),
    lastError: row.last_error,
    attempts: num(row.attempts),
    nextAttemptAt: optDate(row.next_attempt_at),
    awaitingSince: optDate(row.awaiting_since),
    csr: row.csr,
    revocationReason: row.revocation_reason === null ? null : (num(row.revocation_reason) as RevocationReason),
    certificateType: (row.certificate_type ?? 'NCP_FREE_DV_01') as IssuedCertificateType,
    createdAt: new Date(num(row.created_at)),
    updatedAt: new Date(num(row.updated_at)),
  };
}

function renewalFromRow(row: Selectable<IssuedCertificateTable>): RenewalEntry {
  return {
    tenantId: num(row.tenant_id),
    certificateNo: num(row.certificate_no),
    certificateName: row.certificate_name,
    names: JSON.parse(row.names) as string[],
    keyKind: row.key_kind as CertificateKeyKind,
    method: row.method as ValidationMethod,
    renewal: num(row.renewal) === 1,
    nextCheckAt: new Date(num(row.next_check_at)),
  };
}

/**
 * A live certificate, neither revoked nor being revoked, becomes revocation-requested (NCP -7);
 * `not_found` / `conflict` otherwise (nothing written: the caller's transaction rolls back).
 */
async function markRevocationRequested(trx: Db, tenantId: number, certificateNo: number | null, t: number) {
  if (certificateNo === null) throw new AppError('not_found', 'A revoke order names its certificate.');
  const current = await trx
    .selectFrom('certificates')
    .select(['revoked_at', 'revocation_requested_at'])
    .where('tenant_id', '=', tenantId)
    .where('certificate_no', '=', certificateNo)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  if (!current) throw new AppError('not_found', `No certificate number ${certificateNo}.`, { field: 'certificateNo' });
  const result = await trx
    .updateTable('certificates')
    .set({ revocation_requested_at: t, updated_at: t })
    .where('tenant_id', '=', tenantId)
    .where('certificate_no', '=', certificateNo)
    .where('deleted_at', 'is', null)
    .where('revoked_at', 'is', null)
    .where('revocation_requested_at', 'is', null)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) === 0)
    throw new AppError(
      'conflict',
      `Certificate ${certificateNo} is ${current.revoked_at === null ? 'being revoked' : 'revoked'} already.`,
      { field: 'certificateNo' },
    );
}

/** The end of a revoke order: revoked (NCP -5) once the CA confirmed, else back to what it was. */
async function endRevocation(trx: Db, tenantId: number, certificateNo: number, revoked: boolean, t: number) {
  await trx
    .updateTable('certificates')
    .set(revoked ? { revoked_at: t, updated_at: t } : { revocation_requested_at: null, updated_at: t })
    .where('tenant_id', '=', tenantId)
    .where('certificate_no', '=', certificateNo)
    .where('revoked_at', 'is', null)
    .execute();
}

export function issuanceRepository(base: Kysely<Database>, dialect: StoreDialect): IssuanceRepository {
  const db: Db = base.withTables<IssuanceTables>();

  const orderById = (q: Db, orderId: number) =>
    q.selectFrom('issuance_orders').selectAll().where('order_id', '=', orderId);

  return {
    async ensureAccount(directoryUrl, sealedKey, at) {
      await db
        .insertInto('acme_accounts')
        .values({
          directory_url: directoryUrl,
          account_url: null,
          key_data_key_id: sealedKey.dataKeyId,
          key_blob: sealedKey.blob,
          created_at: ms(at),
          updated_at: ms(at),
        })
        .onConflict((oc) => oc.column('directory_url').doNothing())
        .execute();
      const row = await db
        .selectFrom('acme_accounts')
        .selectAll()
        .where('directory_url', '=', directoryUrl)
        .executeTakeFirstOrThrow();
      return accountFromRow(row);
    },

    async getAccount(directoryUrl) {
      const row = await db
        .selectFrom('acme_accounts')
        .selectAll()
        .where('directory_url', '=', directoryUrl)
        .executeTakeFirst();
      return row ? accountFromRow(row) : null;
    },

    async setAccountUrl(accountId, accountUrl, at) {
      await db
        .updateTable('acme_accounts')
        .set({ account_url: accountUrl, updated_at: ms(at) })
        .where('account_id', '=', accountId)
        .execute();
    },

    async ensureSecret(name, sealed, at) {
      await db
        .insertInto('issuance_secrets')
        .values({ name, data_key_id: sealed.dataKeyId, blob: sealed.blob, created_at: ms(at) })
        .onConflict((oc) => oc.column('name').doNothing())
        .execute();
      const row = await db
        .selectFrom('issuance_secrets')
        .selectAll()
        .where('name', '=', name)
        .executeTakeFirstOrThrow();
      return { dataKeyId: num(row.data_key_id), blob: Buffer.from(row.blob) };
    },

    async getSecret(name) {
      const row = await db.selectFrom('issuance_secrets').selectAll().where('name', '=', name).executeTakeFirst();
      return row ? { dataKeyId: num(row.data_key_id), blob: Buffer.from(row.blob) } : null;
    },

    async createOrder(order, at) {
      const t = ms(at);
      try {
        return await inTransaction(db, dialect, async (trx) => {
          // The friendly refusal; the unique index closes the race between two processes.
          // A revoke order claims no names (ports.ts); it marks the certificate instead.
          const claimed = order.kind === 'revoke' ? [] : order.names;
          const held =
            claimed.length === 0
              ? undefined
              : await trx
                  .selectFrom('issuance_order_names')
                  .select('name')
                  .where('name', 'in', [...claimed])
                  .executeTakeFirst();
          if (held) throw orderNameTaken(held.name);
          if (order.kind === 'revoke') await markRevocationRequested(trx, order.tenantId, order.certificateNo, t);
          const certificateNo =
            order.kind === 'issue' && order.certificateNo === null
              ? await dialect.reservedIds.reserve(trx as Kysely<unknown>, 'certificates', 'certificate_no')
              : order.certificateNo;
          const row = await trx
            .insertInto('issuance_orders')
            .values({
              tenant_id: order.tenantId,
              kind: order.kind,
              certificate_name: order.certificateName,
              certificate_no: certificateNo,
              names: JSON.stringify(order.names),
              key_kind: order.keyKind,
              method: order.method,
              renewal: order.renewal ? 1 : 0,
              step: 'new',
              outcome: null,
              account_id: null,
              order_url: null,
              finalize_url: null,
              certificate_url: null,
              replaces: order.replaces,
              authorizations: '[]',
              key_data_key_id: null,
              key_blob: null,
              certificate_pem: null,
              problem: null,
              last_error: null,
              attempts: 0,
              next_attempt_at: null,
              awaiting_since: null,
              claimed_by: null,
              lease_until: null,
              created_at: t,
              updated_at: t,
              csr: order.csr ?? null,
              revocation_reason: order.revocationReason ?? null,
              certificate_type: order.certificateType ?? null,
            })
            .returningAll()
            .executeTakeFirstOrThrow();
          const orderId = num(row.order_id);
          if (claimed.length > 0)
            await trx
              .insertInto('issuance_order_names')
              .values(claimed.map((name) => ({ name, order_id: orderId, tenant_id: order.tenantId })))
              .execute();
          return orderFromRow(row);
        });
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        // A request that raced this one took a DNS name (0008) or the certificate name (0018).
        // PostgreSQL names the index; SQLite does not, so look for the holder, names first.
        const constraint = (error as { constraint?: unknown }).constraint;
        if (constraint !== ACTIVE_ISSUE_NAME_INDEX) {
          const held =
            order.kind === 'revoke'
              ? undefined
              : await db
                  .selectFrom('issuance_order_names')
                  .select('name')
                  .where('name', 'in', [...order.names])
                  .executeTakeFirst();
          if (held) throw orderNameTaken(held.name);
        }
        if (order.kind === 'issue') throw certificateNameTaken(order.certificateName);
        throw new AppError('already_exists', 'A name of this order is in another pending order.', { cause: error });
      }
    },

    async getOrder(tenantId, orderId) {
      const row = await orderById(db, orderId).where('tenant_id', '=', tenantId).executeTakeFirst();
      return row ? orderFromRow(row) : null;
    },

    async listOrders(tenantId, page) {
      const rows = await db
        .selectFrom('issuance_orders')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .$if(page.certificateNo !== undefined, (q) => q.where('certificate_no', '=', page.certificateNo!))
        .orderBy('order_id', 'desc')
        .limit(page.limit)
        .offset(page.offset)
        .execute();
      return rows.map(orderFromRow);
    },

    async latestOrderFor(tenantId, certificateNo) {
      const row = await db
        .selectFrom('issuance_orders')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('certificate_no', '=', certificateNo)
        .where('kind', '!=', 'revoke')
        .orderBy('order_id', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row ? orderFromRow(row) : null;
    },

    async ordersBefore(tenantId, certificateNo, before, limit) {
      const rows = await db
        .selectFrom('issuance_orders')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('certificate_no', '=', certificateNo)
        .where('order_id', '<', before)
        .orderBy('order_id', 'desc')
        .limit(limit)
        .execute();
      return rows.map(orderFromRow);
    },
    async activeOrderNamed(tenantId, certificateName) {
      const row = await db
        .selectFrom('issuance_orders')
        .select('order_id')
        .where('tenant_id', '=', tenantId)
        .where('certificate_name', '=', certificateName)
        .where(active)
        .limit(1)
        .executeTakeFirst();
      return row !== undefined;
    },

    async activeNames(names) {
      if (names.length === 0) return [];
      const rows = await db
        .selectFrom('issuance_order_names')
        .selectAll()
        .where('name', 'in', [...names])
        .execute();
      return rows.map((r) => ({ name: r.name, tenantId: num(r.tenant_id), orderId: num(r.order_id) }));
    },

    async due(now, limit) {
      const t = ms(now);
      const rows = await db
        .selectFrom('issuance_orders')
        .select('order_id')
        .where(active)
        .where((eb) => eb.or([eb('next_attempt_at', 'is', null), eb('next_attempt_at', '<=', t)]))
        .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', t)]))
        .orderBy('next_attempt_at')
        .orderBy('order_id')
        .limit(limit)
        .execute();
      return rows.map((r) => num(r.order_id));
    },

    async claim(orderId, workerId, now, leaseUntil) {
      const t = ms(now);
      // THE claim: one statement, atomic on both dialects (see the top of this file).
      const row = await db
        .updateTable('issuance_orders')
        .set({ claimed_by: workerId, lease_until: ms(leaseUntil) })
        .where('order_id', '=', orderId)
        .where(active)
        .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', t)]))
        .where((eb) => eb.or([eb('next_attempt_at', 'is', null), eb('next_attempt_at', '<=', t)]))
        .returningAll()
        .executeTakeFirst();
      return row ? orderFromRow(row) : null;
    },

    async renew(orderId, workerId, leaseUntil) {
      const result = await db
        .updateTable('issuance_orders')
        .set({ lease_until: ms(leaseUntil) })
        .where('order_id', '=', orderId)
        .where('claimed_by', '=', workerId)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    async advance(orderId, workerId, update, at) {
      const t = ms(at);
      const final = (FINAL_STEPS as readonly string[]).includes(update.step);
      const error = update.lastError;
      return inTransaction(db, dialect, async (trx) => {
        const result = await trx
          .updateTable('issuance_orders')
          .set({
            step: update.step,
            ...(update.outcome !== undefined ? { outcome: update.outcome } : {}),
            ...(update.accountId !== undefined ? { account_id: update.accountId } : {}),
            ...(update.orderUrl !== undefined ? { order_url: update.orderUrl } : {}),
            ...(update.finalizeUrl !== undefined ? { finalize_url: update.finalizeUrl } : {}),
            ...(update.certificateUrl !== undefined ? { certificate_url: update.certificateUrl } : {}),
            ...(update.certificateNo !== undefined ? { certificate_no: update.certificateNo } : {}),
            ...(update.authorizations !== undefined ? { authorizations: JSON.stringify(update.authorizations) } : {}),
            ...(update.sealedKey !== undefined
              ? { key_data_key_id: update.sealedKey.dataKeyId, key_blob: update.sealedKey.blob }
              : {}),
            ...(update.certificatePem !== undefined ? { certificate_pem: update.certificatePem } : {}),
            ...(update.problem !== undefined
              ? { problem: update.problem === null ? null : JSON.stringify(update.problem) }
              : {}),
            ...(error !== undefined
              ? {
                  last_error: error === null || error.length <= ERROR_MAX ? error : `${error.slice(0, ERROR_MAX - 1)}…`,
                }
              : {}),
            ...(update.awaitingSince !== undefined
              ? { awaiting_since: update.awaitingSince === null ? null : ms(update.awaitingSince) }
              : {}),
            attempts: update.attempts ?? 0,
            next_attempt_at: update.nextAttemptAt === null ? null : ms(update.nextAttemptAt),
            claimed_by: null,
            lease_until: null,
            updated_at: t,
          })
          .where('order_id', '=', orderId)
          .where('claimed_by', '=', workerId)
          .where(active)
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) === 0) return false;
        if (update.authorizations !== undefined) {
          await trx.deleteFrom('issuance_http_tokens').where('order_id', '=', orderId).execute();
          const tokens = update.authorizations.flatMap((a) =>
            a.token !== undefined && a.keyAuthorization !== undefined
              ? [{ token: a.token, order_id: orderId, key_authorization: a.keyAuthorization }]
              : [],
          );
          if (tokens.length > 0)
            await trx
              .insertInto('issuance_http_tokens')
              .values(tokens)
              .onConflict((oc) => oc.column('token').doNothing())
              .execute();
        }
        if (final) {
          await trx.deleteFrom('issuance_order_names').where('order_id', '=', orderId).execute();
          await trx.deleteFrom('issuance_http_tokens').where('order_id', '=', orderId).execute();
          const ended = await trx
            .selectFrom('issuance_orders')
            .select(['kind', 'tenant_id', 'certificate_no'])
            .where('order_id', '=', orderId)
            .executeTakeFirstOrThrow();
          if (ended.kind === 'revoke' && ended.certificate_no !== null)
            await endRevocation(trx, num(ended.tenant_id), num(ended.certificate_no), update.step === 'revoked', t);
        }
        return true;
      });
    },

    async release(orderId, workerId) {
      await db
        .updateTable('issuance_orders')
        .set({ claimed_by: null, lease_until: null })
        .where('order_id', '=', orderId)
        .where('claimed_by', '=', workerId)
        .execute();
    },

    async cancel(tenantId, orderId, expected, next, at) {
      const t = ms(at);
      return inTransaction(db, dialect, async (trx) => {
        // THE cancel: one conditional UPDATE against the row as core read it and no live lease,
        // so it and a worker's claim (or a write under an older claim) cannot both succeed.
        const result = await trx
          .updateTable('issuance_orders')
          .set({
            step: next.step,
            outcome: next.outcome,
            attempts: 0,
            next_attempt_at: null,
            claimed_by: null,
            lease_until: null,
            updated_at: t,
          })
          .where('order_id', '=', orderId)
          .where('tenant_id', '=', tenantId)
          .where('step', '=', expected.step)
          .where('updated_at', '=', ms(expected.updatedAt))
          .where('attempts', '=', expected.attempts)
          .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', t)]))
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) === 0) return false;
        await trx.deleteFrom('issuance_order_names').where('order_id', '=', orderId).execute();
        await trx.deleteFrom('issuance_http_tokens').where('order_id', '=', orderId).execute();
        return true;
      });
    },

    async upsertRenewal(entry, at) {
      const values = {
        tenant_id: entry.tenantId,
        certificate_no: entry.certificateNo,
        certificate_name: entry.certificateName,
        names: JSON.stringify(entry.names),
        key_kind: entry.keyKind,
        method: entry.method,
        renewal: entry.renewal ? 1 : 0,
        next_check_at: ms(entry.nextCheckAt),
        updated_at: ms(at),
      };
      await db
        .insertInto('issued_certificates')
        .values(values)
        .onConflict((oc) =>
          oc.columns(['tenant_id', 'certificate_no']).doUpdateSet({
            certificate_name: values.certificate_name,
            names: values.names,
            key_kind: values.key_kind,
            method: values.method,
            renewal: values.renewal,
            next_check_at: values.next_check_at,
            updated_at: values.updated_at,
          }),
        )
        .execute();
    },

    async getRenewal(tenantId, certificateNo) {
      const row = await db
        .selectFrom('issued_certificates')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('certificate_no', '=', certificateNo)
        .executeTakeFirst();
      return row ? renewalFromRow(row) : null;
    },

    async renewalsDue(now, limit) {
      const rows = await db
        .selectFrom('issued_certificates')
        .selectAll()
        .where(sql.raw<boolean>('renewal = 1'))
        .where('next_check_at', '<=', ms(now))
        .orderBy('next_check_at')
        .limit(limit)
        .execute();
      return rows.map(renewalFromRow);
    },

    async setRenewalCheck(tenantId, certificateNo, nextCheckAt) {
      await db
        .updateTable('issued_certificates')
        .set({ next_check_at: ms(nextCheckAt) })
        .where('tenant_id', '=', tenantId)
        .where('certificate_no', '=', certificateNo)
        .execute();
    },

    async setRenewal(tenantId, certificateNo, renewal, at) {
      const flag = renewal ? 1 : 0;
      return inTransaction(db, dialect, async (trx) => {
        const entry = await trx
          .updateTable('issued_certificates')
          .set({ renewal: flag, updated_at: ms(at) })
          .where('tenant_id', '=', tenantId)
          .where('certificate_no', '=', certificateNo)
          .executeTakeFirst();
        const orders = await trx
          .updateTable('issuance_orders')
          .set({ renewal: flag, updated_at: ms(at) })
          .where('tenant_id', '=', tenantId)
          .where('certificate_no', '=', certificateNo)
          .where(active)
          .executeTakeFirst();
        return Number(entry.numUpdatedRows) + Number(orders.numUpdatedRows) > 0;
      });
    },

    async http01Response(token) {
      const row = await db
        .selectFrom('issuance_http_tokens')
        .select('key_authorization')
        .where('token', '=', token)
        .executeTakeFirst();
      return row?.key_authorization ?? null;
    },
  };
}

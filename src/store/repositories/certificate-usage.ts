/**
 * CertificateUsageRepository over Kysely (both dialects), and the one definition of "in use" in
 * store/: a certificate is in use while an edge slot that is not DELETED holds it (an
 * edge_slot_items row whose slot's status is not DELETED). Everything that asks goes through here:
 * - `usersOf` (the port: core's delete check, NCP `usedInstanceNoList`, the console, the CLI);
 * - `heldBySlot`, the `usedByInstanceNo` filter of the certificate list (certificate-list.ts);
 * - `lockForDeletion`, the re-check under lock in `markDeleted` (certificates.ts);
 * - `lockForUse`, taken by the slot writes that make a slot hold a certificate (slots.ts).
 *
 * The race these locks close (test/core/delete-provision-race.test.ts): a delete and a provision
 * of one certificate, started together, must not both win, or a live slot would publish a deleted
 * certificate. Both lock the certificate row inside their write transaction before they decide:
 * - PostgreSQL (READ COMMITTED): a slot write takes `FOR SHARE` (slots using one certificate do
 *   not wait for each other), deletion `FOR UPDATE`, which waits for every share lock. A provision
 *   that committed first is seen by the deletion's next statement (a fresh snapshot); a provision
 *   that waits for the deletion re-reads the row once it commits, finds it deleted (`deleted_at`
 *   no longer matches) and is refused. Neither writes the row just to lock it.
 * - SQLite: `beginWrite` is `BEGIN IMMEDIATE`, one writer at a time, so both transactions already
 *   run one after the other and the plain reads decide (dialect `rowLocks` is false).
 */
import { sql, type Kysely } from 'kysely';
import type { CertificateUsageRepository } from '../../core/ports.ts';
import { AppError } from '../../domain/errors.ts';
import type { StoreDialect } from '../dialect.ts';
import { listTemplate, type ColumnKeys, type RowValues } from '../query-template.ts';
import type { Database } from '../schema.ts';
import type { SlotTables } from './slot-rows.ts';

type Db = Kysely<Database & SlotTables>;

/** Certificate numbers per `usersOf` query (well under both databases' bound-parameter limits). */
const IN_CHUNK = 500;

/** Slot items held by slots that are not DELETED: the definition of "in use". */
const heldItems = (db: Kysely<Database>) =>
  db
    .withTables<SlotTables>()
    .selectFrom('edge_slot_items as i')
    .innerJoin('edge_slots as s', 's.slot_id', 'i.slot_id')
    .where('s.status', '<>', 'DELETED');

/** The slots using each of a list of certificates, by slot id. */
const slotsUsing = listTemplate(1, (db: Kysely<Database>, [tenantId]: unknown[], certificateNos: unknown[]) =>
  heldItems(db)
    .select(['i.certificate_no', 'i.slot_id'])
    .where('i.tenant_id', '=', tenantId as number)
    .where('i.certificate_no', 'in', certificateNos as number[])
    .orderBy('i.slot_id'),
);

export async function usersOf(
  db: Kysely<Database>,
  tenantId: number,
  certificateNos: readonly number[],
): Promise<Map<number, number[]>> {
  const result = new Map<number, number[]>(certificateNos.map((no) => [no, []]));
  const distinct = [...new Set(certificateNos)];
  for (let i = 0; i < distinct.length; i += IN_CHUNK) {
    const rows = await slotsUsing.all(db, [tenantId], distinct.slice(i, i + IN_CHUNK));
    for (const row of rows) {
      const users = result.get(Number(row.certificate_no));
      // A slot holds a certificate once per region: KR_JP_GLOBAL could list it twice.
      if (users && !users.includes(Number(row.slot_id))) users.push(Number(row.slot_id));
    }
  }
  return result;
}

export function certificateUsageRepository(base: Kysely<Database>): CertificateUsageRepository {
  return { usersOf: (tenantId, certificateNos) => usersOf(base, tenantId, certificateNos) };
}

/**
 * PostgreSQL (`dialect.mergesReads`): `usersOf` of the row of `certificates` the enclosing query
 * is on, as a column of that query: the ids of the slots using it, ascending, each once (an
 * int8 array, empty when none). Through edge_slot_items_certificate (tenant_id,
 * certificate_no, slot_id), as `usersOf`.
 */
export function usersColumn(db: Kysely<Database>) {
  const ids = heldItems(db)
    .select('i.slot_id')
    .distinct()
    .whereRef('i.tenant_id', '=', 'certificates.tenant_id' as never)
    .whereRef('i.certificate_no', '=', 'certificates.certificate_no' as never)
    .orderBy('i.slot_id');
  return sql<Array<string | number>>`array(${ids})`.as('used_by');
}

/**
 * PostgreSQL (`dialect.mergesReads`): whether `usersOf` of the row of `table` (an alias of
 * `certificates` in the enclosing query) is not empty, as a boolean column `in_use`: a probe of
 * edge_slot_items_certificate per row. The subquery's `offset 0` keeps it that: without it
 * PostgreSQL may plan the EXISTS as a hashed subplan, which reads every held item of every
 * tenant (all live edge slots) once per statement, whatever the page's size (at 100,000: 1,000
 * slots, 3,000 buffers in a generic plan where the probes of a page of 101 read about 300).
 */
export function inUseColumn(db: Kysely<Database>, table: string) {
  const held = heldItems(db)
    .select(sql<number>`1`.as('one'))
    .whereRef('i.tenant_id', '=', sql.ref(`${table}.tenant_id`) as never)
    .whereRef('i.certificate_no', '=', sql.ref(`${table}.certificate_no`) as never)
    .offset(sql.lit(0));
  return sql<boolean>`exists (${held})`.as('in_use');
}

/** The `usersColumn` of each row, as `usersOf` answers. */
export function usersFromRows(
  rows: ReadonlyArray<{ certificate_no: unknown; used_by?: unknown }> | readonly RowValues[],
  keys: ColumnKeys<'certificate_no' | 'used_by'> = BY_NAME,
): Map<number, number[]> {
  return new Map(
    (rows as readonly RowValues[]).map((row) => [
      Number(row[keys.certificate_no]),
      ((row[keys.used_by] ?? []) as unknown[]).map((id) => Number(id)),
    ]),
  );
}
const BY_NAME = { certificate_no: 'certificate_no', used_by: 'used_by' } as const;

/**
 * The certificate numbers slot `slotId` holds while it is not DELETED, as a subquery for
 * `certificate_no in (…)`: the list's `usedByInstanceNo` filter. `slotId` and `tenantId` are
 * passed through as values (placeholders of a list template, query-template.ts).
 */
export function heldBySlot(db: Kysely<Database>, tenantId: unknown, slotId: unknown) {
  return heldItems(db)
    .select('i.certificate_no')
    .where('i.slot_id', '=', slotId as number)
    .where('i.tenant_id', '=', tenantId as number);
}

/**
 * Inside a slot write's transaction, before the slot holds `certificateNos`: share-locks their
 * rows (PostgreSQL) and checks they are still live; `not_found` otherwise (see the top of this
 * file). Reads only: the certificates table is not written.
 */
export async function lockForUse(
  trx: Db,
  dialect: StoreDialect,
  tenantId: number,
  certificateNos: readonly number[],
): Promise<void> {
  const wanted = [...new Set(certificateNos)];
  if (wanted.length === 0) return;
  let live = trx
    .selectFrom('certificates')
    .select('certificate_no')
    .where('tenant_id', '=', tenantId)
    .where('certificate_no', 'in', wanted)
    .where('deleted_at', 'is', null);
  if (dialect.rowLocks) live = live.forShare();
  const found = new Set((await live.execute()).map((row) => Number(row.certificate_no)));
  const missing = wanted.filter((no) => !found.has(no));
  if (missing.length > 0) {
    throw new AppError('not_found', `Certificate ${missing.join(', ')} no longer exists.`, {
      field: 'cmCertificateIds',
    });
  }
}

/**
 * Inside the deletion's transaction, before the row is marked deleted: locks the certificate row
 * exclusively (PostgreSQL) and answers who uses it, from a snapshot taken after the lock. Null
 * when the certificate is not live (missing, another tenant's, already deleted).
 */
export async function lockForDeletion(
  trx: Kysely<Database>,
  dialect: StoreDialect,
  tenantId: number,
  certificateNo: number,
): Promise<number[] | null> {
  let row = trx
    .selectFrom('certificates')
    .select('certificate_no')
    .where('tenant_id', '=', tenantId)
    .where('certificate_no', '=', certificateNo)
    .where('deleted_at', 'is', null);
  if (dialect.rowLocks) row = row.forUpdate();
  if (!(await row.executeTakeFirst())) return null;
  return (await usersOf(trx, tenantId, [certificateNo])).get(certificateNo) ?? [];
}

/**
 * SlotRepository and SlotLeaseRepository over Kysely (both dialects), one object implementing
 * both: the user's side and the worker's side write the same rows under the same rules. See
 * ports.ts for the contracts and domain/edge-slot.ts for the state machine.
 *
 * Concurrency, the same on SQLite and PostgreSQL:
 * - Every state change is ONE conditional UPDATE whose WHERE clause states what must still hold
 *   (`status IN (…)`, `claimed_by = ?`, `generation = ?`, `lease_until < now`). SQLite runs one
 *   writer at a time; PostgreSQL (READ COMMITTED) re-checks the WHERE clause on the newest row
 *   version after waiting for a concurrent writer's lock. Either way two workers can never both
 *   see their claim succeed, and a worker whose lease was taken over changes nothing.
 * - Status expressions are computed in SQL (`CASE WHEN status = 'READY' …`), never from a value
 *   read earlier, so a change racing the worker's READY → PUBLISHING keeps the right status.
 * - A write that makes a slot hold a certificate (`create`, `change` of kind 'certificate') first
 *   locks it and checks it is live (certificate-usage.ts `lockForUse`), which serialises it with
 *   the certificate's deletion.
 */
import { sql, type Kysely, type Selectable } from 'kysely';
import type { SlotChange, SlotCompletion, SlotLeaseRepository, SlotPage, SlotRepository } from '../../core/ports.ts';
import type { DeployTargetKind } from '../../domain/deploy-target.ts';
import type { CertificateSummary } from '../../domain/model.ts';
import { LIVE_STATUSES, PENDING_STATUSES, type EdgeSlot } from '../../domain/edge-slot.ts';
import type { StoreDialect } from '../dialect.ts';
import { checkedReads } from '../credential-check.ts';
import {
  CERTIFICATE_SUMMARY_COLUMNS,
  factsInHand,
  ms,
  SUMMARY_ROW_COLUMNS,
  summaryFromValues,
  type SummaryKeys,
} from '../rows.ts';
import { readPage } from '../known-facts.ts';
import type { Database } from '../schema.ts';
import { listTemplate, queryTemplate, type QueryTemplate, type RowValues } from '../query-template.ts';
import { inTransaction } from '../transaction.ts';
import { lockForUse } from './certificate-usage.ts';
import { liveSummaries } from './certificates.ts';
import { targetKindOf } from './targets.ts';
import { slotFromRow, type EdgeSlotItemRow, type EdgeSlotRow, type SlotTables } from './slot-rows.ts';

type Db = Kysely<Database & SlotTables>;

/** Longest error text kept on a slot (the log has the rest). */
const ERROR_MAX = 2000;

const live = [...LIVE_STATUSES];
const pending = [...PENDING_STATUSES];

/** The status a user change leaves: READY stays READY (not started yet), the rest republish. */
const afterChange = sql<string>`case when status = 'READY' then 'READY' else 'PUBLISHING' end`;

/** Columns every republish request sets: a new generation, due at once, no stale error. */
function republish(at: Date) {
  return {
    generation: sql<number>`generation + 1`,
    status: afterChange,
    attempts: 0,
    next_attempt_at: null,
    last_error: null,
    last_error_at: null,
    updated_at: ms(at),
  };
}

/** The predicate of the partial index edge_slots_tenant_listed (migration 0004), word for word. */
const notDeleted = sql<boolean>`status <> 'DELETED'`;

// The face's list page. `status <> 'DELETED'` is written as a literal, the very predicate of the
// partial index edge_slots_tenant_listed: as a parameter, neither planner can prove the index
// implies it, and SQLite reads every slot row to check the status.
const listed = (db: Kysely<Database & SlotTables>, tenantId: number) =>
  db.selectFrom('edge_slots').where('tenant_id', '=', tenantId).where(notDeleted);
// The total is the tenant's row of edge_slot_counts (migration 0006), kept by `create` and by
// `succeed` (DELETING → DELETED) in their transactions; no row means no slot yet.
const listedCount = queryTemplate((db: Kysely<Database & SlotTables>, tenantId: number) =>
  db.selectFrom('edge_slot_counts').select('listed as total').where('tenant_id', '=', tenantId),
);
const listedPage = queryTemplate((db: Kysely<Database & SlotTables>, tenantId: number, limit: number, offset: number) =>
  listed(db, tenantId).selectAll().orderBy('slot_id', 'desc').limit(limit).offset(offset),
);

/** The item and certificate columns of a merged list row, prefixed so they never meet the slot's. */
const SUMMARY_ALIASES = CERTIFICATE_SUMMARY_COLUMNS.map((column) => [column, `c_${column}`] as const);
/** The same, without `facts` (known-facts.ts `readPage`: the certificates' facts are held). */
const SUMMARY_ALIASES_WITHOUT_FACTS = SUMMARY_ALIASES.filter(([column]) => column !== 'facts');
/** Where a merged row's certificate summary columns are (its aliases): rows.ts `factsInHand`, `summaryFromValues`. */
const SUMMARY_KEYS = Object.fromEntries(SUMMARY_ROW_COLUMNS.map((column) => [column, `c_${column}`])) as SummaryKeys;

type MergedListRow = Selectable<EdgeSlotRow> & {
  total: number | string | null;
  target_kind: string | null;
  item_id: number | string | null;
  item_region: string | null;
  item_certificate_no: number | string | null;
  item_deployed_fingerprint: string | null;
} & Record<string, unknown>;

/**
 * PostgreSQL (`dialect.mergesReads`): the Edge list in one statement instead of five (slot
 * count, target, page, items, certificates). One row per item of each slot of the page (a slot
 * with no item gives one row with null item columns), each with the tenant's count and target
 * kind; an empty page gives one row of those two alone (the left join keeps it). The page is the
 * very query of `listedPage` (the partial index edge_slots_tenant_listed), its items come through
 * the unique (slot_id, region) index, and their certificates are read as `liveSummaries` reads
 * them (live, the tenant's): a deleted certificate leaves its item with null certificate columns.
 * One statement is one snapshot, so count, page and certificates agree as a transaction's would.
 *
 * The items and certificates are lateral subqueries fenced with `offset 0`, so the planner cannot
 * flatten them into plain joins: a prepared statement's generic plan does not know the page is
 * 15 rows, and with plain joins it merge-joined the whole certificates primary key (1,001 rows
 * read for a page of 15 at 100,000 certificates, 11 ms); fenced, each is a probe per row.
 *
 * The page's limit is a literal, `fetch` (the requested limit rounded up to a power of two; the
 * rows past it are dropped in `fromMergedRows`), one template each: with a parameter, the
 * generic plan is costed for 100 rows against a custom plan's 15, so PostgreSQL kept planning
 * the statement afresh on every request (0.5 ms of planning against 0.15 ms of execution).
 * With the literal both plans cost the same, and after five runs the generic one is kept.
 */
const mergedListTemplates = new Map<string, QueryTemplate<Database & SlotTables, unknown[], MergedListRow>>();
/** `facts`: with the certificates' facts column (known-facts.ts `readPage`). */
function mergedList(fetch: number, facts: boolean): QueryTemplate<Database & SlotTables, unknown[], MergedListRow> {
  const key = `${fetch}:${facts}`;
  let template = mergedListTemplates.get(key);
  if (!template) {
    template = mergedListOf(fetch, facts ? SUMMARY_ALIASES : SUMMARY_ALIASES_WITHOUT_FACTS);
    mergedListTemplates.set(key, template);
  }
  return template;
}
const mergedListOf = (fetch: number, aliases: typeof SUMMARY_ALIASES) =>
  queryTemplate(
    (db: Kysely<Database & SlotTables>, tenantId: number, offset: number) =>
      sql<MergedListRow>`select n.listed as total, t.kind as target_kind, p.* from (select ${tenantId}::bigint as tenant_id) as q
      left join edge_slot_counts as n on n.tenant_id = q.tenant_id
      left join deploy_targets as t on t.tenant_id = q.tenant_id
      left join lateral (
        select s.*, i.*
        from (${listed(db, sql.ref('q.tenant_id') as never)
          .selectAll()
          .orderBy('slot_id', 'desc')
          .limit(sql.lit(fetch))
          .offset(offset)}) as s
        left join lateral (
          select i.item_id, i.region as item_region, i.certificate_no as item_certificate_no,
            i.deployed_fingerprint as item_deployed_fingerprint, c.*
          from edge_slot_items as i
          left join lateral (
            select ${sql.join(aliases.map(([column, alias]) => sql`c.${sql.ref(column)} as ${sql.ref(alias)}`))},
              case when c.chain_pems = '[]' then 0 else 1 end as c_has_chain
            from certificates as c
            where c.certificate_no = i.certificate_no and c.tenant_id = q.tenant_id and c.deleted_at is null
            offset 0
          ) as c on true
          where i.slot_id = s.slot_id
          offset 0
        ) as i on true
      ) as p on true
      order by p.slot_id desc, p.item_id`,
  ) as QueryTemplate<Database & SlotTables, unknown[], MergedListRow>;

/** The power of two at or above `limit`: the few `fetch` sizes of `mergedList`. */
const fetchSize = (limit: number): number => 2 ** Math.ceil(Math.log2(Math.max(limit, 1)));

/** The merged rows of the first `limit` slots (the statement reads up to `fetch`). */
function rowsOfPage(rows: readonly MergedListRow[], limit: number): readonly MergedListRow[] {
  let slots = 0;
  let last: unknown = null;
  for (let i = 0; i < rows.length; i++) {
    const slotId = rows[i]!.slot_id;
    if (slotId === null || slotId === last) continue;
    // In slot order: every further row belongs to a slot past the page.
    if (slots === limit) return rows.slice(0, i);
    slots++;
    last = slotId;
  }
  return rows;
}

/** The merged rows of the first `limit` slots, as `list` answers them. */
function fromMergedRows(read: readonly MergedListRow[], limit: number): SlotPage {
  const rows = rowsOfPage(read, limit);
  const first = read[0];
  const slots = new Map<number, { row: MergedListRow; items: Array<Selectable<EdgeSlotItemRow>> }>();
  const certificates = new Map<number, CertificateSummary>();
  for (const row of rows) {
    if (row.slot_id === null) continue;
    const slotId = Number(row.slot_id);
    let slot = slots.get(slotId);
    if (!slot) slots.set(slotId, (slot = { row, items: [] }));
    if (row.item_id === null) continue;
    slot.items.push({
      item_id: Number(row.item_id),
      slot_id: slotId,
      tenant_id: row.tenant_id,
      region: row.item_region!,
      certificate_no: Number(row.item_certificate_no),
      deployed_fingerprint: row.item_deployed_fingerprint,
    });
    if (row.c_certificate_no === null) continue;
    certificates.set(Number(row.c_certificate_no), summaryFromValues(row as RowValues, SUMMARY_KEYS));
  }
  return {
    items: [...slots.values()].map(({ row, items }) => slotFromRow(row, items)),
    total: Number(first?.total ?? 0),
    certificates,
    targetKind: (first?.target_kind ?? null) as DeployTargetKind | null,
  };
}

/**
 * The predicate of the partial index edge_slots_due (migration 0004), word for word:
 * `status in ('READY', 'PUBLISHING', 'DELETING')`, built from PENDING_STATUSES as literals. With
 * the statuses as parameters neither planner can prove the index applies, and SQLite read every
 * slot row on each worker pass (2.5 ms at 100,000 slots, 99,900 of them RUNNING).
 */
const pendingLiteral = sql<boolean>`status in (${sql.join(pending.map((status) => sql.lit(status)))})`;

/**
 * The sweep's slots whose items are stale: each item's certificate has its key and a fingerprint
 * other than the one deployed. A certificate without its key (a reissue waiting for registerKey)
 * cannot be published: the slot keeps what it serves until the key's replace republishes it
 * (core/certificates.ts).
 *
 * Each item's certificate is read by its primary key in a correlated scalar subquery, which both
 * databases run once per item (PostgreSQL keeps it a SubPlan; it never turns one into a join).
 * Written as a join, PostgreSQL at 1,000,000 certificates chose a merge join on the
 * certificates' primary key and walked it from its start to the items' highest number: 1.1 s of a
 * backend on every sweep (each minute, and at each start) where the items held the 1,000
 * certificates imported last (bench/lib/seed.ts), against 4 ms this way.
 */
export function staleSlotsQuery(db: Kysely<Database & SlotTables>) {
  return db
    .selectFrom('edge_slot_items as i')
    .select('i.slot_id')
    .where((eb) =>
      eb(
        eb.fn.coalesce(
          eb
            .selectFrom('certificates as c')
            .select(
              sql<number>`case when i.deployed_fingerprint is null or i.deployed_fingerprint <> c.fingerprint_sha256 then 1 else 0 end`.as(
                'stale',
              ),
            )
            .whereRef('c.certificate_no', '=', 'i.certificate_no')
            .where('c.has_private_key', '=', 1),
          sql.lit(0),
        ),
        '=',
        1,
      ),
    );
}

/**
 * The worker's scan: due slots in the order of edge_slots_due (by due time, then id; slots never
 * tried have no due time and sort first on SQLite, last on PostgreSQL), so the scan stops after
 * `limit` rows instead of sorting every pending slot (8 ms with 50,000 due; 18 µs this way).
 */
export function dueSlotsQuery(db: Kysely<Database & SlotTables>, now: Date, limit: number) {
  const t = ms(now);
  return db
    .selectFrom('edge_slots')
    .select('slot_id')
    .where(pendingLiteral)
    .where((eb) => eb.or([eb('next_attempt_at', 'is', null), eb('next_attempt_at', '<=', t)]))
    .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', t)]))
    .orderBy('next_attempt_at')
    .orderBy('slot_id')
    .limit(limit);
}

/** Moves a tenant's count of listed slots by `delta`, inside the transaction of the change. */
async function adjustListed(trx: Kysely<Database & SlotTables>, tenantId: number, delta: 1 | -1): Promise<void> {
  await trx
    .insertInto('edge_slot_counts')
    .values({ tenant_id: tenantId, listed: delta })
    .onConflict((oc) =>
      oc.column('tenant_id').doUpdateSet({ listed: sql<number>`edge_slot_counts.listed + excluded.listed` }),
    )
    .execute();
}

/** The items of a list of slots. */
const itemsOfSlots = listTemplate(0, (db: Kysely<Database & SlotTables>, _fixed: unknown[], slotIds: unknown[]) =>
  db
    .selectFrom('edge_slot_items')
    .selectAll()
    .where('slot_id', 'in', slotIds as number[])
    .orderBy('item_id'),
);

export function slotRepository(base: Kysely<Database>, dialect: StoreDialect): SlotRepository & SlotLeaseRepository {
  const db: Db = base.withTables<SlotTables>();

  async function itemsOf(
    trx: Db,
    slotIds: readonly number[],
  ): Promise<Map<number, Array<Selectable<EdgeSlotItemRow>>>> {
    const bySlot = new Map<number, Array<Selectable<EdgeSlotItemRow>>>(slotIds.map((id) => [id, []]));
    if (slotIds.length === 0) return bySlot;
    const rows = await itemsOfSlots.all(trx, [], slotIds);
    for (const row of rows) bySlot.get(Number(row.slot_id))?.push(row);
    return bySlot;
  }

  async function withItems(trx: Db, rows: ReadonlyArray<Selectable<EdgeSlotRow>>): Promise<EdgeSlot[]> {
    const items = await itemsOf(
      trx,
      rows.map((r) => Number(r.slot_id)),
    );
    return rows.map((row) => slotFromRow(row, items.get(Number(row.slot_id)) ?? []));
  }

  async function one(trx: Db, row: Selectable<EdgeSlotRow> | undefined): Promise<EdgeSlot | null> {
    return row ? ((await withItems(trx, [row]))[0] ?? null) : null;
  }

  return {
    async create(slot, at) {
      return inTransaction(db, dialect, async (trx) => {
        await lockForUse(
          trx,
          dialect,
          slot.tenantId,
          slot.items.map((item) => item.certificateNo),
        );
        const row = await trx
          .insertInto('edge_slots')
          .values({
            tenant_id: slot.tenantId,
            service_region: slot.serviceRegion,
            tls_version: slot.tlsVersion,
            cipher_profile: slot.cipherProfile,
            status: 'READY',
            generation: 1,
            deployed_generation: 0,
            attempts: 0,
            last_error: null,
            last_error_at: null,
            next_attempt_at: null,
            claimed_by: null,
            lease_until: null,
            created_at: ms(at),
            provisioned_at: ms(at),
            updated_at: ms(at),
            deleted_at: null,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        await adjustListed(trx, slot.tenantId, 1);
        const slotId = Number(row.slot_id);
        const items = await trx
          .insertInto('edge_slot_items')
          .values(
            slot.items.map((item) => ({
              slot_id: slotId,
              tenant_id: slot.tenantId,
              region: item.region,
              certificate_no: item.certificateNo,
              deployed_fingerprint: null,
            })),
          )
          .returningAll()
          .execute();
        return slotFromRow(row, items);
      });
    },

    async get(tenantId, slotId) {
      const row = await db
        .selectFrom('edge_slots')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('slot_id', '=', slotId)
        .executeTakeFirst();
      return one(db, row);
    },

    async list(tenantId, page, confirm) {
      const reads = checkedReads(dialect, confirm);
      if (dialect.mergesReads && page.limit > 0 && page.offset >= 0) {
        const rows = await readPage(
          `slots:${tenantId}:${page.offset}:${page.limit}`,
          (facts) => reads.all(mergedList(fetchSize(page.limit), facts), db, [tenantId, page.offset]),
          (read) => factsInHand(rowsOfPage(read, page.limit) as unknown as readonly RowValues[], SUMMARY_KEYS),
        );
        await reads.settle(db);
        return fromMergedRows(rows, page.limit);
      }
      // SQLite: the reads apart (each a function call there); the target's beside the rest.
      const [slots, targetKind] = await Promise.all([
        (async () => {
          const total = Number((await listedCount.first(db, tenantId))?.total ?? 0);
          if (page.limit <= 0 || page.offset >= total) return { items: [], total };
          return { items: await withItems(db, await listedPage.all(db, tenantId, page.limit, page.offset)), total };
        })(),
        targetKindOf(db, tenantId),
      ]);
      const certificates = await liveSummaries(
        db,
        tenantId,
        slots.items.flatMap((slot) => slot.items.map((item) => item.certificateNo)),
      );
      await reads.settle(db);
      return { ...slots, certificates, targetKind };
    },

    async change(tenantId, slotId, change: SlotChange, at) {
      return inTransaction(db, dialect, async (trx) => {
        const common = {
          generation: sql<number>`generation + 1`,
          attempts: 0,
          next_attempt_at: null,
          last_error: null,
          last_error_at: null,
          updated_at: ms(at),
        };
        let update = trx
          .updateTable('edge_slots')
          .where('tenant_id', '=', tenantId)
          .where('slot_id', '=', slotId)
          .where('status', 'in', live);
        switch (change.kind) {
          case 'delete':
            update = update.set({ ...common, status: 'DELETING' });
            break;
          case 'tls':
            update = update.set({
              ...common,
              status: afterChange,
              tls_version: change.tlsVersion,
              cipher_profile: change.cipherProfile,
            });
            break;
          case 'certificate':
            update = update.set({ ...common, status: afterChange, provisioned_at: ms(at) });
            break;
          case 'remove-global':
            update = update.set({ ...common, status: afterChange });
            break;
        }
        const row = await update.returningAll().executeTakeFirst();
        if (!row) return null;
        if (change.kind === 'certificate') {
          await lockForUse(trx, dialect, tenantId, [change.certificateNo]);
          const moved = await trx
            .updateTable('edge_slot_items')
            .set({ certificate_no: change.certificateNo, deployed_fingerprint: null })
            .where('slot_id', '=', slotId)
            .where('region', '=', change.region)
            .executeTakeFirst();
          if (Number(moved.numUpdatedRows) === 0) {
            await trx
              .insertInto('edge_slot_items')
              .values({
                slot_id: slotId,
                tenant_id: tenantId,
                region: change.region,
                certificate_no: change.certificateNo,
                deployed_fingerprint: null,
              })
              .execute();
          }
        }
        if (change.kind === 'remove-global' && change.itemIds.length > 0) {
          await trx
            .deleteFrom('edge_slot_items')
            .where('slot_id', '=', slotId)
            .where('region', '=', 'GLOBAL')
            .where('item_id', 'in', [...change.itemIds])
            .execute();
        }
        return one(trx, row);
      });
    },

    async republishCertificate(tenantId, certificateNo, at) {
      const rows = await db
        .updateTable('edge_slots')
        .set(republish(at))
        .where('tenant_id', '=', tenantId)
        .where('status', 'in', live)
        .where(
          'slot_id',
          'in',
          db
            .selectFrom('edge_slot_items')
            .select('slot_id')
            .where('tenant_id', '=', tenantId)
            .where('certificate_no', '=', certificateNo),
        )
        .returning('slot_id')
        .execute();
      return rows.map((r) => Number(r.slot_id)).sort((a, b) => a - b);
    },

    async republishTenant(tenantId, at) {
      const rows = await db
        .updateTable('edge_slots')
        .set(republish(at))
        .where('tenant_id', '=', tenantId)
        .where('status', 'in', live)
        // Like republishStale: a slot holding a certificate without its key (a reissue waiting
        // for registerKey) cannot be published; the key's replace republishes it.
        .where(
          'slot_id',
          'not in',
          db
            .selectFrom('edge_slot_items as i')
            .innerJoin('certificates as c', 'c.certificate_no', 'i.certificate_no')
            .select('i.slot_id')
            .where('i.tenant_id', '=', tenantId)
            .where('c.has_private_key', '=', 0),
        )
        .returning('slot_id')
        .execute();
      return rows.map((r) => Number(r.slot_id)).sort((a, b) => a - b);
    },

    async republishStale(at) {
      const stale = staleSlotsQuery(db);
      const rows = await db
        .updateTable('edge_slots')
        .set(republish(at))
        .where('status', '=', 'RUNNING')
        .where('slot_id', 'in', stale)
        .returning('slot_id')
        .execute();
      return rows.map((r) => Number(r.slot_id)).sort((a, b) => a - b);
    },

    async countLive(tenantId) {
      return Number((await listedCount.first(db, tenantId))?.total ?? 0);
    },

    async due(now, limit) {
      const rows = await dueSlotsQuery(db, now, limit).execute();
      return rows.map((r) => Number(r.slot_id));
    },

    async claim(slotId, workerId, now, leaseUntil) {
      const t = ms(now);
      // THE claim: one statement, atomic on both dialects (see the top of this file).
      const row = await db
        .updateTable('edge_slots')
        .set({ claimed_by: workerId, lease_until: ms(leaseUntil) })
        .where('slot_id', '=', slotId)
        .where(pendingLiteral)
        .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', t)]))
        .where((eb) => eb.or([eb('next_attempt_at', 'is', null), eb('next_attempt_at', '<=', t)]))
        .returningAll()
        .executeTakeFirst();
      return one(db, row);
    },

    async renew(slotId, workerId, leaseUntil) {
      const result = await db
        .updateTable('edge_slots')
        .set({ lease_until: ms(leaseUntil) })
        .where('slot_id', '=', slotId)
        .where('claimed_by', '=', workerId)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    async markPublishing(slotId, workerId, at) {
      const result = await db
        .updateTable('edge_slots')
        .set({ status: 'PUBLISHING', updated_at: ms(at) })
        .where('slot_id', '=', slotId)
        .where('claimed_by', '=', workerId)
        .where('status', '=', 'READY')
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    async succeed(slotId, workerId, generation, published, at): Promise<SlotCompletion> {
      return inTransaction(db, dialect, async (trx) => {
        const t = ms(at);
        const done = await trx
          .updateTable('edge_slots')
          .set({
            status: sql<string>`case when status = 'DELETING' then 'DELETED' else 'RUNNING' end`,
            deleted_at: sql<number | null>`case when status = 'DELETING' then ${t} else deleted_at end`,
            deployed_generation: generation,
            attempts: 0,
            last_error: null,
            last_error_at: null,
            next_attempt_at: null,
            claimed_by: null,
            lease_until: null,
            updated_at: t,
          })
          .where('slot_id', '=', slotId)
          .where('claimed_by', '=', workerId)
          .where('generation', '=', generation)
          .where(pendingLiteral)
          .returning(['status', 'tenant_id'])
          .executeTakeFirst();
        if (done) {
          if (done.status === 'DELETED') await adjustListed(trx, Number(done.tenant_id), -1);
          for (const [itemId, fingerprint] of published.fingerprints) {
            await trx
              .updateTable('edge_slot_items')
              .set({ deployed_fingerprint: fingerprint })
              .where('slot_id', '=', slotId)
              .where('item_id', '=', itemId)
              .execute();
          }
          return 'done';
        }
        const released = await trx
          .updateTable('edge_slots')
          .set({ claimed_by: null, lease_until: null, deployed_generation: generation, updated_at: t })
          .where('slot_id', '=', slotId)
          .where('claimed_by', '=', workerId)
          .executeTakeFirst();
        return Number(released.numUpdatedRows) > 0 ? 'changed' : 'lost';
      });
    },

    async fail(slotId, workerId, generation, error, nextAttemptAt, at) {
      const t = ms(at);
      const recorded = await db
        .updateTable('edge_slots')
        .set({
          attempts: sql<number>`attempts + 1`,
          last_error: error.length > ERROR_MAX ? `${error.slice(0, ERROR_MAX - 1)}…` : error,
          last_error_at: t,
          next_attempt_at: ms(nextAttemptAt),
          claimed_by: null,
          lease_until: null,
          updated_at: t,
        })
        .where('slot_id', '=', slotId)
        .where('claimed_by', '=', workerId)
        .where('generation', '=', generation)
        .executeTakeFirst();
      if (Number(recorded.numUpdatedRows) > 0) return true;
      const released = await db
        .updateTable('edge_slots')
        .set({ claimed_by: null, lease_until: null })
        .where('slot_id', '=', slotId)
        .where('claimed_by', '=', workerId)
        .executeTakeFirst();
      return Number(released.numUpdatedRows) > 0;
    },

    async release(slotId, workerId) {
      await db
        .updateTable('edge_slots')
        .set({ claimed_by: null, lease_until: null })
        .where('slot_id', '=', slotId)
        .where('claimed_by', '=', workerId)
        .execute();
    },
  };
}

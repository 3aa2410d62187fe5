/**
 * NotificationRepository over Kysely (both dialects); tables of migration 0010. The contract is
 * core/notifications/ports.ts. Secrets arrive sealed by core and are never seen in clear here.
 *
 * Concurrency: the outbox's unique key (channel_id, event_key) decides which of several
 * processes queues an event (`ON CONFLICT DO NOTHING`; the others insert nothing). A delivery is
 * taken with ONE conditional UPDATE (pending, due, no live lease), and every later write is
 * conditional on `claimed_by = worker`, as for edge slots (slots.ts): two workers can never both
 * hold a delivery, and one whose lease was taken over records nothing.
 *
 * Counting deliveries by status (`countDeliveries`, /metrics) reads no finished row: `pending`
 * is a count over the partial index `notify_deliveries_due` (only pending rows are in it, so it
 * costs the backlog, not the outbox), and `sent` and `failed` are kept per tenant in
 * `notify_delivery_counts` (migration 0027) by the only two writes that change them, in their
 * own transaction: the attempt that finishes a delivery (+1) and the prune that deletes finished
 * ones (−1 each). Each change is one `INSERT … ON CONFLICT DO UPDATE SET n = n + excluded.n`,
 * atomic per row on both dialects, made after the delivery rows, count rows ascending by
 * (tenant, status) (the lock order); a write that rolls back takes its change with it. Queuing
 * (`enqueue`) and removing a channel's pending deliveries change no count, so they stay as they
 * were: single statements.
 */
import { sql, type Generated, type Kysely, type Selectable } from 'kysely';
import type { SealedSecret } from '../../core/ports.ts';
import type { Channel, ChannelConfig, EventPayload, EventType, Rule } from '../../core/notifications/model.ts';
import type {
  Delivery,
  DeliveryAttempt,
  DeliveryStatus,
  DueEntry,
  ExpiryTenant,
  NewDelivery,
  NotificationRepository,
  ScanCertificate,
  ScheduleEntry,
} from '../../core/notifications/ports.ts';
import type { StoreDialect } from '../dialect.ts';
import { rethrowUniqueViolation } from '../errors.ts';
import { factsFromJson, ms } from '../rows.ts';
import type { Database } from '../schema.ts';
import { inTransaction } from '../transaction.ts';

export interface NotifyChannelRow {
  id: Generated<number>;
  tenant_id: number;
  name: string;
  kind: string;
  config: string;
  secret_data_key_id: number | null;
  secret_blob: Buffer | null;
  created_at: number;
}

export interface NotifyRuleRow {
  id: Generated<number>;
  tenant_id: number;
  name: string;
  events: string;
  certificate_pattern: string | null;
  channel_ids: string;
  created_at: number;
}

export interface NotifySettingsRow {
  tenant_id: number;
  thresholds: string | null;
  scanned_until: number | null;
  updated_at: number;
}

export interface NotifyScheduleRow {
  tenant_id: number;
  certificate_no: number;
  fingerprint: string;
  due_at: number;
}

export interface NotifyDeliveryRow {
  id: Generated<number>;
  tenant_id: number;
  channel_id: number;
  event_key: string;
  event: string;
  payload: string;
  status: string;
  attempts: number;
  next_attempt_at: number;
  last_status_code: number | null;
  last_error: string | null;
  claimed_by: string | null;
  lease_until: number | null;
  keep_until: number;
  created_at: number;
  updated_at: number;
}

export interface NotifyAttemptRow {
  id: Generated<number>;
  tenant_id: number;
  delivery_id: number;
  channel_id: number;
  channel_name: string;
  event: string;
  event_key: string;
  outcome: string;
  status_code: number | null;
  error: string | null;
  next_attempt_at: number | null;
  at: number;
}

export interface NotifyDeliveryCountRow {
  tenant_id: number;
  status: string;
  n: number;
}

export type NotifyTables = {
  notify_channels: NotifyChannelRow;
  notify_rules: NotifyRuleRow;
  notify_settings: NotifySettingsRow;
  notify_schedule: NotifyScheduleRow;
  notify_deliveries: NotifyDeliveryRow;
  notify_attempts: NotifyAttemptRow;
  notify_delivery_counts: NotifyDeliveryCountRow;
};

type Db = Kysely<Database & NotifyTables>;

const date = (value: unknown): Date => new Date(Number(value));
const maybeDate = (value: unknown): Date | null => (value === null || value === undefined ? null : date(value));
const maybeNumber = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

function channelFromRow(row: Selectable<NotifyChannelRow>): Channel {
  return {
    id: Number(row.id),
    tenantId: Number(row.tenant_id),
    name: row.name,
    config: JSON.parse(row.config) as ChannelConfig,
    createdAt: date(row.created_at),
  };
}

function ruleFromRow(row: Selectable<NotifyRuleRow>): Rule {
  return {
    id: Number(row.id),
    tenantId: Number(row.tenant_id),
    name: row.name,
    events: JSON.parse(row.events) as EventType[],
    certificatePattern: row.certificate_pattern,
    channelIds: (JSON.parse(row.channel_ids) as number[]).map(Number),
    createdAt: date(row.created_at),
  };
}

function deliveryFromRow(row: Selectable<NotifyDeliveryRow>): Delivery {
  return {
    id: Number(row.id),
    tenantId: Number(row.tenant_id),
    channelId: Number(row.channel_id),
    eventKey: row.event_key,
    event: row.event as EventType,
    payload: JSON.parse(row.payload) as EventPayload,
    status: row.status as DeliveryStatus,
    attempts: Number(row.attempts),
    nextAttemptAt: date(row.next_attempt_at),
    lastStatusCode: maybeNumber(row.last_status_code),
    lastError: row.last_error,
    createdAt: date(row.created_at),
    updatedAt: date(row.updated_at),
  };
}

function attemptFromRow(row: Selectable<NotifyAttemptRow>): DeliveryAttempt {
  return {
    id: Number(row.id),
    deliveryId: Number(row.delivery_id),
    channelId: Number(row.channel_id),
    channelName: row.channel_name,
    event: row.event as EventType,
    eventKey: row.event_key,
    outcome: row.outcome as 'sent' | 'failed',
    statusCode: maybeNumber(row.status_code),
    error: row.error,
    nextAttemptAt: maybeDate(row.next_attempt_at),
    at: date(row.at),
  };
}

function scanFromRow(row: {
  certificate_no: unknown;
  fingerprint_sha256: string;
  not_before: unknown;
  not_after: unknown;
  deleted_at: unknown;
}): ScanCertificate {
  return {
    certificateNo: Number(row.certificate_no),
    fingerprint: row.fingerprint_sha256,
    notBefore: Number(row.not_before),
    notAfter: Number(row.not_after),
    deleted: row.deleted_at !== null && row.deleted_at !== undefined,
  };
}

function sealedOf(row: Selectable<NotifyChannelRow>): SealedSecret {
  if (row.secret_blob === null || row.secret_data_key_id === null)
    throw new Error(`Notification channel ${String(row.id)} has no sealed secrets.`);
  return { dataKeyId: Number(row.secret_data_key_id), blob: row.secret_blob };
}

/**
 * PostgreSQL: the expiry pass's two writes (recordScan, settleSchedule) commit without waiting for
 * their WAL flush (`synchronous_commit = off` for that one transaction; `set_config(…, true)` is
 * SET LOCAL inside the statement's own implicit transaction, so no extra round trip). On the
 * shared 2-CPU machine that wait was half of each write (about 4.6 ms of 9, and most of the
 * slowest passes: BENCHMARKS.md). Safe because both writes can be lost and redone: a crash can
 * drop only the last few hundred milliseconds of such commits, never part of one, and what it
 * drops the next pass derives again (the cursor is back where it was, so the scan reads the same
 * ranges; the rows are still due, so the same event keys are queued). Nothing outside the store
 * can have acted on a lost commit: the WAL is flushed in order, and the delivery worker's claim,
 * an ordinary commit made before anything is sent, flushes every commit before it.
 */
const asyncCommit = sql<string>`(select set_config('synchronous_commit', 'off', true))`;

/** The predicate of the partial index notify_deliveries_due, word for word (a literal, as slots.ts explains). */
const pendingLiteral = sql<boolean>`status = 'pending'`;
const IN_CHUNK = 500;

/** Moves a schedule row's due time (null: deletes it), only if it is still the version and due time read. */
async function moveScheduleRow(db: Db, entry: ScheduleEntry, nextDueAt: Date | null): Promise<void> {
  if (nextDueAt === null)
    await db
      .deleteFrom('notify_schedule')
      .where('tenant_id', '=', entry.tenantId)
      .where('certificate_no', '=', entry.certificateNo)
      .where('fingerprint', '=', entry.fingerprint)
      .where('due_at', '=', ms(entry.dueAt))
      .execute();
  else
    await db
      .updateTable('notify_schedule')
      .set({ due_at: ms(nextDueAt) })
      .where('tenant_id', '=', entry.tenantId)
      .where('certificate_no', '=', entry.certificateNo)
      .where('fingerprint', '=', entry.fingerprint)
      .where('due_at', '=', ms(entry.dueAt))
      .execute();
}

/** One change of `notify_delivery_counts`: `delta` finished deliveries of `tenantId` more (or fewer) in `status`. */
interface CountChange {
  tenantId: number;
  status: 'sent' | 'failed';
  delta: number;
}

/**
 * Applies changes to the kept counts of finished deliveries in the caller's transaction (see the
 * top of this file): summed per (tenant, status), those that cancel out dropped, in the lock order.
 */
async function adjustDeliveryCounts(trx: Db, changes: readonly CountChange[]): Promise<void> {
  const sums = new Map<string, CountChange>();
  for (const change of changes) {
    const key = `${change.tenantId}/${change.status}`;
    const sum = sums.get(key);
    if (sum) sum.delta += change.delta;
    else sums.set(key, { ...change });
  }
  const ordered = [...sums.values()]
    .filter((change) => change.delta !== 0)
    .sort((a, b) => a.tenantId - b.tenantId || a.status.localeCompare(b.status));
  for (const { tenantId, status, delta } of ordered)
    await trx
      .insertInto('notify_delivery_counts')
      .values({ tenant_id: tenantId, status, n: delta })
      .onConflict((oc) =>
        oc
          .columns(['tenant_id', 'status'])
          .doUpdateSet({ n: (eb) => eb('notify_delivery_counts.n', '+', eb.ref('excluded.n')) }),
      )
      .execute();
}

/** Inserts the deliveries whose (channel, event key) is new; the ids of those inserted. */
async function insertDeliveries(
  db: Db,
  tenantId: number,
  deliveries: readonly NewDelivery[],
  at: Date,
): Promise<number[]> {
  const ids: number[] = [];
  for (const delivery of deliveries) {
    const row = await db
      .insertInto('notify_deliveries')
      .values({
        tenant_id: tenantId,
        channel_id: delivery.channelId,
        event_key: delivery.eventKey,
        event: delivery.payload.type,
        payload: JSON.stringify(delivery.payload),
        status: 'pending',
        attempts: 0,
        next_attempt_at: ms(at),
        keep_until: ms(delivery.keepUntil),
        created_at: ms(at),
        updated_at: ms(at),
      })
      .onConflict((oc) => oc.columns(['channel_id', 'event_key']).doNothing())
      .returning('id')
      .executeTakeFirst();
    if (row) ids.push(Number(row.id));
  }
  return ids;
}

/** The cursor's compare-and-set (NotificationRepository.advanceScanCursor). */
async function advanceCursor(db: Db, tenantId: number, from: Date | null, to: Date, at: Date): Promise<boolean> {
  if (from === null) {
    // First pass: create the row, or set a cursor still unset.
    const inserted = await db
      .insertInto('notify_settings')
      .values({ tenant_id: tenantId, thresholds: null, scanned_until: ms(to), updated_at: ms(at) })
      .onConflict((oc) =>
        oc
          .column('tenant_id')
          .doUpdateSet({ scanned_until: ms(to), updated_at: ms(at) })
          .where('notify_settings.scanned_until', 'is', null),
      )
      .executeTakeFirst();
    return Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0;
  }
  const result = await db
    .updateTable('notify_settings')
    .set({ scanned_until: ms(to), updated_at: ms(at) })
    .where('tenant_id', '=', tenantId)
    .where('scanned_until', '=', ms(from))
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

export function notificationRepository(base: Kysely<Database>, dialect: StoreDialect): NotificationRepository {
  const db: Db = base.withTables<NotifyTables>();

  const channelName = (tenantId: number, name: string) => ({
    field: 'name',
    constraint: 'notify_channels_tenant_name',
    message: `A channel named ${name} already exists.`,
    conflicts: async () =>
      (await db
        .selectFrom('notify_channels')
        .select('id')
        .where('tenant_id', '=', tenantId)
        .where('name', '=', name)
        .executeTakeFirst()) !== undefined,
  });

  const repository: NotificationRepository = {
    async createChannel(tenantId, name, config, sealed, at) {
      try {
        const row = await db
          .insertInto('notify_channels')
          .values({
            tenant_id: tenantId,
            name,
            kind: config.kind,
            config: JSON.stringify(config),
            secret_data_key_id: sealed.dataKeyId,
            secret_blob: sealed.blob,
            created_at: ms(at),
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        return channelFromRow(row);
      } catch (error) {
        return rethrowUniqueViolation(error, [channelName(tenantId, name)]);
      }
    },

    async listChannels(tenantId) {
      const rows = await db
        .selectFrom('notify_channels')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .orderBy('name')
        .execute();
      return rows.map(channelFromRow);
    },

    async getChannel(tenantId, channelId) {
      const row = await db
        .selectFrom('notify_channels')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('id', '=', channelId)
        .executeTakeFirst();
      return row ? { channel: channelFromRow(row), sealedSecrets: sealedOf(row) } : null;
    },

    async getChannelByName(tenantId, name) {
      const row = await db
        .selectFrom('notify_channels')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('name', '=', name)
        .executeTakeFirst();
      return row ? { channel: channelFromRow(row), sealedSecrets: sealedOf(row) } : null;
    },

    async removeChannel(tenantId, channelId) {
      return inTransaction(db, dialect, async (trx) => {
        const removed = await trx
          .deleteFrom('notify_channels')
          .where('tenant_id', '=', tenantId)
          .where('id', '=', channelId)
          .executeTakeFirst();
        if (Number(removed.numDeletedRows) === 0) return false;
        await trx.deleteFrom('notify_deliveries').where('channel_id', '=', channelId).where(pendingLiteral).execute();
        // Rules lose the channel; a rule left without channels goes with it.
        for (const row of await trx
          .selectFrom('notify_rules')
          .selectAll()
          .where('tenant_id', '=', tenantId)
          .execute()) {
          const ids = (JSON.parse(row.channel_ids) as number[]).map(Number);
          if (!ids.includes(channelId)) continue;
          const rest = ids.filter((id) => id !== channelId);
          if (rest.length === 0) await trx.deleteFrom('notify_rules').where('id', '=', row.id).execute();
          else
            await trx
              .updateTable('notify_rules')
              .set({ channel_ids: JSON.stringify(rest) })
              .where('id', '=', row.id)
              .execute();
        }
        return true;
      });
    },

    async createRule(tenantId, rule, at) {
      try {
        const row = await db
          .insertInto('notify_rules')
          .values({
            tenant_id: tenantId,
            name: rule.name,
            events: JSON.stringify(rule.events),
            certificate_pattern: rule.certificatePattern,
            channel_ids: JSON.stringify(rule.channelIds),
            created_at: ms(at),
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        return ruleFromRow(row);
      } catch (error) {
        return rethrowUniqueViolation(error, [
          {
            field: 'name',
            constraint: 'notify_rules_tenant_name',
            message: `A rule named ${rule.name} already exists.`,
            conflicts: async () =>
              (await db
                .selectFrom('notify_rules')
                .select('id')
                .where('tenant_id', '=', tenantId)
                .where('name', '=', rule.name)
                .executeTakeFirst()) !== undefined,
          },
        ]);
      }
    },

    async listRules(tenantId) {
      const rows = await db
        .selectFrom('notify_rules')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .orderBy('name')
        .execute();
      return rows.map(ruleFromRow);
    },

    async removeRule(tenantId, name) {
      const result = await db
        .deleteFrom('notify_rules')
        .where('tenant_id', '=', tenantId)
        .where('name', '=', name)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    async getThresholds(tenantId) {
      const row = await db
        .selectFrom('notify_settings')
        .select('thresholds')
        .where('tenant_id', '=', tenantId)
        .executeTakeFirst();
      return row?.thresholds ? (JSON.parse(row.thresholds) as number[]) : null;
    },

    async setThresholds(tenantId, thresholds, at) {
      await inTransaction(db, dialect, async (trx) => {
        const values = {
          thresholds: thresholds ? JSON.stringify(thresholds) : null,
          scanned_until: null,
          updated_at: ms(at),
        };
        await trx
          .insertInto('notify_settings')
          .values({ tenant_id: tenantId, ...values })
          .onConflict((oc) => oc.column('tenant_id').doUpdateSet(values))
          .execute();
        await trx.deleteFrom('notify_schedule').where('tenant_id', '=', tenantId).execute();
      });
    },

    async expiryTenants() {
      // Every rule with its tenant's name and settings: one read; the few rules per tenant are
      // filtered here (the events are a JSON array).
      const rows = await db
        .selectFrom('notify_rules')
        .innerJoin('tenants', 'tenants.id', 'notify_rules.tenant_id')
        .leftJoin('notify_settings', 'notify_settings.tenant_id', 'notify_rules.tenant_id')
        .selectAll('notify_rules')
        .select([
          'tenants.name as tenant_name',
          'notify_settings.thresholds as thresholds',
          'notify_settings.scanned_until as scanned_until',
        ])
        .orderBy('notify_rules.tenant_id')
        .orderBy('notify_rules.name')
        .execute();
      const tenants = new Map<number, ExpiryTenant & { watching: boolean }>();
      for (const row of rows) {
        const tenantId = Number(row.tenant_id);
        let tenant = tenants.get(tenantId);
        if (!tenant)
          tenants.set(
            tenantId,
            (tenant = {
              tenantId,
              tenantName: row.tenant_name,
              thresholds: row.thresholds ? (JSON.parse(row.thresholds) as number[]) : null,
              scannedUntil: maybeDate(row.scanned_until),
              rules: [],
              watching: false,
            }),
          );
        const rule = ruleFromRow(row);
        tenant.rules.push(rule);
        if (rule.events.includes('certificate.expiring') || rule.events.includes('certificate.expired'))
          tenant.watching = true;
      }
      return [...tenants.values()].filter((t) => t.watching).map(({ watching: _, ...tenant }) => tenant);
    },

    async advanceScanCursor(tenantId, from, to, at) {
      return advanceCursor(db, tenantId, from, to, at);
    },

    async scanCertificates(tenantId, expiring, changed) {
      const columns = ['certificate_no', 'fingerprint_sha256', 'not_before', 'not_after', 'deleted_at'] as const;
      // Each arm is one range of its own index; UNION ALL keeps them apart (the tag says which).
      const inHorizon = db
        .selectFrom('certificates')
        .select(columns)
        .select(sql<number>`0`.as('changed'))
        .where('tenant_id', '=', tenantId)
        .where('deleted_at', 'is', null)
        .where('not_after', '>', expiring.after)
        .where('not_after', '<=', expiring.upTo);
      const rows = changed
        ? await inHorizon
            .unionAll(
              db
                .selectFrom('certificates')
                .select(columns)
                .select(sql<number>`1`.as('changed'))
                .where('tenant_id', '=', tenantId)
                .where('updated_at', '>=', changed.from)
                .where('updated_at', '<', changed.to),
            )
            .execute()
        : await inHorizon.execute();
      const found = { expiring: [] as ScanCertificate[], changed: [] as ScanCertificate[] };
      for (const row of rows) (Number(row.changed) === 1 ? found.changed : found.expiring).push(scanFromRow(row));
      return found;
    },

    async recordScan(tenantId, found, cursor, at) {
      if (dialect.arrayParameters && cursor.from !== null) {
        // One statement, one commit: the schedule writes in WITH clauses, the cursor's move last.
        const result = await sql<{ moved: number }>`
          with gone as (
            delete from notify_schedule
            where tenant_id = ${tenantId} and certificate_no = any(${found.unschedule.map(Number)}::bigint[])
          ), added as (
            insert into notify_schedule (tenant_id, certificate_no, fingerprint, due_at)
            select ${tenantId}, u.no, u.fingerprint, ${ms(found.dueAt)}::bigint
            from unnest(${found.schedule.map((e) => e.certificateNo)}::bigint[], ${found.schedule.map((e) => e.fingerprint)}::text[]) as u(no, fingerprint)
            on conflict (tenant_id, certificate_no) do update
              set fingerprint = excluded.fingerprint, due_at = excluded.due_at
              where notify_schedule.fingerprint <> excluded.fingerprint
          )
          update notify_settings set scanned_until = ${ms(cursor.to)}, updated_at = ${ms(at)}
          where tenant_id = ${tenantId} and scanned_until = ${ms(cursor.from)}
          returning ${asyncCommit}`.execute(db);
        return Number(result.numAffectedRows ?? 0) > 0;
      }
      for (let i = 0; i < found.unschedule.length; i += IN_CHUNK)
        await db
          .deleteFrom('notify_schedule')
          .where('tenant_id', '=', tenantId)
          .where('certificate_no', 'in', found.unschedule.slice(i, i + IN_CHUNK))
          .execute();
      for (let i = 0; i < found.schedule.length; i += IN_CHUNK)
        await db
          .insertInto('notify_schedule')
          .values(
            found.schedule.slice(i, i + IN_CHUNK).map((e) => ({
              tenant_id: tenantId,
              certificate_no: e.certificateNo,
              fingerprint: e.fingerprint,
              due_at: ms(found.dueAt),
            })),
          )
          .onConflict((oc) =>
            oc
              .columns(['tenant_id', 'certificate_no'])
              .doUpdateSet({ fingerprint: sql`excluded.fingerprint`, due_at: sql`excluded.due_at` })
              .whereRef('notify_schedule.fingerprint', '<>', 'excluded.fingerprint'),
          )
          .execute();
      return advanceCursor(db, tenantId, cursor.from, cursor.to, at);
    },

    async dueSchedule(now, limit) {
      // The due rows (index notify_schedule_due) with their live certificates (primary key):
      // one read for the pass, not one per row.
      const rows = await db
        .selectFrom('notify_schedule as s')
        .leftJoin('certificates as c', (join) =>
          join
            .onRef('c.tenant_id', '=', 's.tenant_id')
            .onRef('c.certificate_no', '=', 's.certificate_no')
            .on('c.deleted_at', 'is', null),
        )
        .select([
          's.tenant_id',
          's.certificate_no',
          's.fingerprint',
          's.due_at',
          'c.name',
          'c.facts',
          'c.not_before',
          'c.not_after',
          'c.fingerprint_sha256',
        ])
        .where('s.due_at', '<=', ms(now))
        .orderBy('s.due_at')
        .limit(limit)
        .execute();
      return rows.map((r): DueEntry => {
        const certificateNo = Number(r.certificate_no);
        return {
          tenantId: Number(r.tenant_id),
          certificateNo,
          fingerprint: r.fingerprint,
          dueAt: date(r.due_at),
          certificate:
            r.name === null || r.facts === null || r.fingerprint_sha256 === null
              ? null
              : {
                  name: r.name,
                  domains: factsFromJson(r.facts, r.fingerprint_sha256).domains,
                  notBefore: Number(r.not_before),
                  notAfter: Number(r.not_after),
                  fingerprint: r.fingerprint_sha256,
                },
        };
      });
    },

    async reschedule(entry, nextDueAt) {
      await moveScheduleRow(db, entry, nextDueAt);
    },

    async settleSchedule(items, at) {
      if (items.length === 0) return 0;
      if (dialect.arrayParameters) {
        // One statement: the deliveries (new event keys only), the moves and the deletions, each
        // row's column as one array (one SQL text whatever the count). Atomic, one commit.
        const deliveries = items.flatMap((item) => item.deliveries.map((d) => ({ tenantId: item.tenantId, d })));
        const moves = items.filter((item) => item.nextDueAt !== null);
        const drops = items.filter((item) => item.nextDueAt === null);
        const t = ms(at);
        const result = await sql<{ inserted: number | string }>`
          with inserted as (
            insert into notify_deliveries (tenant_id, channel_id, event_key, event, payload, status, attempts,
              next_attempt_at, keep_until, created_at, updated_at)
            select u.tenant_id, u.channel_id, u.event_key, u.event, u.payload, 'pending', 0,
              ${t}::bigint, u.keep_until, ${t}::bigint, ${t}::bigint
            from unnest(
              ${deliveries.map((x) => x.tenantId)}::bigint[], ${deliveries.map((x) => x.d.channelId)}::bigint[],
              ${deliveries.map((x) => x.d.eventKey)}::text[], ${deliveries.map((x) => x.d.payload.type)}::text[],
              ${deliveries.map((x) => JSON.stringify(x.d.payload))}::text[], ${deliveries.map((x) => ms(x.d.keepUntil))}::bigint[]
            ) as u(tenant_id, channel_id, event_key, event, payload, keep_until)
            on conflict (channel_id, event_key) do nothing
            returning 1
          ), moved as (
            update notify_schedule s set due_at = u.next_due_at
            from unnest(
              ${moves.map((m) => m.entry.tenantId)}::bigint[], ${moves.map((m) => m.entry.certificateNo)}::bigint[],
              ${moves.map((m) => m.entry.fingerprint)}::text[], ${moves.map((m) => ms(m.entry.dueAt))}::bigint[],
              ${moves.map((m) => ms(m.nextDueAt!))}::bigint[]
            ) as u(tenant_id, certificate_no, fingerprint, due_at, next_due_at)
            where s.tenant_id = u.tenant_id and s.certificate_no = u.certificate_no
              and s.fingerprint = u.fingerprint and s.due_at = u.due_at
          ), dropped as (
            delete from notify_schedule s
            using unnest(
              ${drops.map((m) => m.entry.tenantId)}::bigint[], ${drops.map((m) => m.entry.certificateNo)}::bigint[],
              ${drops.map((m) => m.entry.fingerprint)}::text[], ${drops.map((m) => ms(m.entry.dueAt))}::bigint[]
            ) as u(tenant_id, certificate_no, fingerprint, due_at)
            where s.tenant_id = u.tenant_id and s.certificate_no = u.certificate_no
              and s.fingerprint = u.fingerprint and s.due_at = u.due_at
          )
          select count(*) as inserted, ${asyncCommit} as commit_mode from inserted`.execute(db);
        return Number(result.rows[0]?.inserted ?? 0);
      }
      // SQLite: three statements, each one autocommit, each row's values as one JSON array
      // parameter read with json_each (one SQL text whatever the count, like the arrays above):
      // the deliveries, then the moves, then the deletions. Not one transaction: it would hold
      // the one writer lock across the awaits between them (SQLite has no other writer). In that order
      // a pass cut between them leaves its rows due, and the next pass queues nothing twice
      // (unique event keys) before it moves them. It was two autocommits a due row: each a WAL
      // append of the same few pages (bench/notify-scan.ts counts them).
      const t = ms(at);
      let inserted = 0;
      const deliveries = items.flatMap((item) =>
        item.deliveries.map((d) => [
          item.tenantId,
          d.channelId,
          d.eventKey,
          d.payload.type,
          JSON.stringify(d.payload),
          ms(d.keepUntil),
        ]),
      );
      const row = (item: (typeof items)[number]) => [
        item.entry.tenantId,
        item.entry.certificateNo,
        item.entry.fingerprint,
        ms(item.entry.dueAt),
      ];
      const moves = items.filter((item) => item.nextDueAt !== null).map((m) => [...row(m), ms(m.nextDueAt!)]);
      const drops = items.filter((item) => item.nextDueAt === null).map(row);
      if (deliveries.length > 0) {
        // `where true`: SQLite's parser needs it between INSERT … SELECT and ON CONFLICT.
        const result = await sql`
          insert into notify_deliveries (tenant_id, channel_id, event_key, event, payload, status, attempts,
            next_attempt_at, keep_until, created_at, updated_at)
          select u.value ->> 0, u.value ->> 1, u.value ->> 2, u.value ->> 3, u.value ->> 4, 'pending', 0,
            ${t}, u.value ->> 5, ${t}, ${t}
          from json_each(${JSON.stringify(deliveries)}) as u where true
          on conflict (channel_id, event_key) do nothing`.execute(db);
        inserted = Number(result.numAffectedRows ?? 0);
      }
      // Both probe the primary key once per array element (EXPLAIN QUERY PLAN: json_each, then
      // SEARCH notify_schedule USING INDEX sqlite_autoindex_notify_schedule_1). The unary `+`
      // keeps SQLite off notify_schedule_due, which it otherwise picks for `due_at = ?`: a scan
      // puts thousands of rows at one due time (all it schedules in a pass are due at once).
      if (moves.length > 0)
        await sql`
          update notify_schedule set due_at = u.value ->> 4
          from json_each(${JSON.stringify(moves)}) as u
          where notify_schedule.tenant_id = u.value ->> 0 and notify_schedule.certificate_no = u.value ->> 1
            and notify_schedule.fingerprint = u.value ->> 2 and +notify_schedule.due_at = u.value ->> 3`.execute(db);
      if (drops.length > 0)
        await sql`
          delete from notify_schedule
          where (tenant_id, certificate_no, fingerprint, +due_at) in (
            select u.value ->> 0, u.value ->> 1, u.value ->> 2, u.value ->> 3 from json_each(${JSON.stringify(drops)}) as u
          )`.execute(db);
      return inserted;
    },

    async enqueue(tenantId, deliveries, at) {
      return insertDeliveries(db, tenantId, deliveries, at);
    },

    async dueDeliveries(now, limit) {
      const t = ms(now);
      const rows = await db
        .selectFrom('notify_deliveries')
        .select('id')
        .where(pendingLiteral)
        .where('next_attempt_at', '<=', t)
        .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', t)]))
        .orderBy('next_attempt_at')
        .orderBy('id')
        .limit(limit)
        .execute();
      return rows.map((r) => Number(r.id));
    },

    async claimDelivery(id, workerId, now, leaseUntil) {
      const t = ms(now);
      // THE claim: one statement (see the top of this file).
      const row = await db
        .updateTable('notify_deliveries')
        .set({ claimed_by: workerId, lease_until: ms(leaseUntil) })
        .where('id', '=', id)
        .where(pendingLiteral)
        .where('next_attempt_at', '<=', t)
        .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', t)]))
        .returningAll()
        .executeTakeFirst();
      return row ? deliveryFromRow(row) : null;
    },

    async completeDelivery(id, workerId, attempt, at) {
      const status = attempt.outcome === 'sent' ? 'sent' : attempt.nextAttemptAt ? 'pending' : 'failed';
      return inTransaction(db, dialect, async (trx) => {
        const row = await trx
          .updateTable('notify_deliveries')
          .set({
            status,
            attempts: sql<number>`attempts + 1`,
            next_attempt_at: attempt.nextAttemptAt ? ms(attempt.nextAttemptAt) : ms(at),
            last_status_code: attempt.statusCode,
            last_error: attempt.error,
            claimed_by: null,
            lease_until: null,
            updated_at: ms(at),
          })
          .where('id', '=', id)
          .where('claimed_by', '=', workerId)
          // Always true of a claimed row (only a pending one is claimed, and this write releases
          // it); said here because a finished one is counted below, once.
          .where(pendingLiteral)
          .returning(['tenant_id', 'channel_id', 'event', 'event_key'])
          .executeTakeFirst();
        if (!row) return false;
        await trx
          .insertInto('notify_attempts')
          .values({
            tenant_id: row.tenant_id,
            delivery_id: id,
            channel_id: row.channel_id,
            channel_name: attempt.channelName,
            event: row.event,
            event_key: row.event_key,
            outcome: attempt.outcome,
            status_code: attempt.statusCode,
            error: attempt.error,
            next_attempt_at: attempt.nextAttemptAt ? ms(attempt.nextAttemptAt) : null,
            at: ms(at),
          })
          .execute();
        if (status !== 'pending')
          await adjustDeliveryCounts(trx, [{ tenantId: Number(row.tenant_id), status, delta: 1 }]);
        return true;
      });
    },

    async releaseDelivery(id, workerId) {
      await db
        .updateTable('notify_deliveries')
        .set({ claimed_by: null, lease_until: null })
        .where('id', '=', id)
        .where('claimed_by', '=', workerId)
        .execute();
    },

    async getDelivery(tenantId, id) {
      const row = await db
        .selectFrom('notify_deliveries')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .executeTakeFirst();
      return row ? deliveryFromRow(row) : null;
    },

    async listAttempts(tenantId, options) {
      let query = db.selectFrom('notify_attempts').selectAll().where('tenant_id', '=', tenantId);
      if (options.beforeId !== undefined) query = query.where('id', '<', options.beforeId);
      if (options.channelId !== undefined) query = query.where('channel_id', '=', options.channelId);
      const rows = await query.orderBy('id', 'desc').limit(options.limit).execute();
      return rows.map(attemptFromRow);
    },

    async channelHealth(tenantId) {
      const channels = await db.selectFrom('notify_channels').select('id').where('tenant_id', '=', tenantId).execute();
      const out = [];
      for (const { id } of channels) {
        const channelId = Number(id);
        const last = await db
          .selectFrom('notify_attempts')
          .select(['at', 'outcome'])
          .where('channel_id', '=', channelId)
          .orderBy('id', 'desc')
          .limit(1)
          .executeTakeFirst();
        const lastSent = await db
          .selectFrom('notify_attempts')
          .select('id')
          .where('channel_id', '=', channelId)
          .where('outcome', '=', 'sent')
          .orderBy('id', 'desc')
          .limit(1)
          .executeTakeFirst();
        const failures = await db
          .selectFrom('notify_attempts')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('channel_id', '=', channelId)
          .where('id', '>', lastSent ? Number(lastSent.id) : 0)
          .executeTakeFirstOrThrow();
        const pending = await db
          .selectFrom('notify_deliveries')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('channel_id', '=', channelId)
          .where(pendingLiteral)
          .executeTakeFirstOrThrow();
        out.push({
          channelId,
          lastAttemptAt: last ? date(last.at) : null,
          lastOutcome: last ? (last.outcome as 'sent' | 'failed') : null,
          failuresInARow: Number(failures.n),
          pending: Number(pending.n),
        });
      }
      return out;
    },

    async countDeliveries() {
      // One statement, so one snapshot: pending through the partial index, the finished ones
      // from their kept counts (top of this file); no finished delivery row is read.
      const finished = (status: 'sent' | 'failed') =>
        sql<number>`(select coalesce(sum(n), 0) from notify_delivery_counts where status = ${sql.lit(status)})`;
      const row = await db
        .selectNoFrom([
          sql<number>`(select count(*) from notify_deliveries where ${pendingLiteral})`.as('pending'),
          finished('sent').as('sent'),
          finished('failed').as('failed'),
        ])
        .executeTakeFirstOrThrow();
      return { pending: Number(row.pending), sent: Number(row.sent), failed: Number(row.failed) };
    },

    async prune(before, now) {
      const attempts = await db.deleteFrom('notify_attempts').where('at', '<', ms(before)).executeTakeFirst();
      // Most hourly prunes find no finished delivery past its keep time: those open no write
      // transaction (on SQLite one takes the database's write lock) and change no count.
      const finishedPastKeep = await db
        .selectFrom('notify_deliveries')
        .select('id')
        .where('keep_until', '<', ms(now))
        .where('status', '<>', 'pending')
        .limit(1)
        .executeTakeFirst();
      if (!finishedPastKeep) return Number(attempts.numDeletedRows);
      // The counts take what this DELETE removed (its rows' tenant and status), in its transaction.
      const deliveries = await inTransaction(db, dialect, async (trx) => {
        const removed = await trx
          .deleteFrom('notify_deliveries')
          .where('keep_until', '<', ms(now))
          .where('status', '<>', 'pending')
          .returning(['tenant_id', 'status'])
          .execute();
        await adjustDeliveryCounts(
          trx,
          removed.map((row) => ({
            tenantId: Number(row.tenant_id),
            status: row.status as 'sent' | 'failed',
            delta: -1,
          })),
        );
        return removed.length;
      });
      return Number(attempts.numDeletedRows) + deliveries;
    },
  };
  return repository;
}

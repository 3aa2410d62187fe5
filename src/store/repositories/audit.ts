/**
 * AuditRepository over Kysely: append-only, read newest first with keyset paging on id.
 *
 * Appends are group-committed. Every private-key read and every write appends an event, and a
 * commit of its own cost more than the rest of an NHN file download (bench/: about 110 of
 * 480 µs on SQLite, where each commit appends the table's and three indexes' pages to the WAL;
 * on PostgreSQL each commit waits for a WAL flush). So `append` queues the event, and the
 * events queued during one turn of the event loop (and while the previous group is being
 * written) are written together, in one transaction.
 *
 * Contract, unchanged by the grouping:
 * - `append` resolves only after its event is committed, and rejects if it could not be
 *   written: a caller that answers after `append` (a key read, a download) never answers
 *   unaudited.
 * - Events are written in the order `append` was called (ids ascending in that order).
 * - One event's failure is that event's alone: a group that fails is written again one event
 *   at a time, so each caller gets its own outcome.
 * - `drain()` waits until every event appended so far is written (the store's `close`).
 * - Appends run on the root instance, never inside a caller's transaction, so waiting for the
 *   group can never wait on the caller itself.
 *
 * One exception to the grouping, `writeWithin`: the success events of writes that have a store
 * transaction of their own (single imports, CertificateRepository.insert's `audit`: the events of
 * a group of them, store/write-group.ts) are written in that transaction, chained the same way
 * (head compare-and-set before the rows' insert), so the writes and their events commit together
 * with one commit instead of two (the second commit's WAL append was the largest single cost of
 * an import: docs/performance.md). Its contract:
 * - an event is committed exactly when its write is: a write that rolls back (refused by a
 *   unique index, a fault) leaves no event, and its caller records the failure through `append`;
 * - it takes its place in its chain when its transaction commits, not when it was built: events
 *   still queued for a group then follow it (they are of other, concurrent requests: a caller
 *   that waits for its `append` before writing never sees its event overtaken);
 * - the chain stays one sequence in id order: the head row is updated before the row is
 *   inserted, so on PostgreSQL a concurrent writer of the chain waits on the head's row lock
 *   until this transaction commits, and only then takes its id.
 * - Every event joins its chain (domain/audit-chain.ts): in the group's transaction each chain's
 *   head moves by compare-and-set (`update ... where head_hash = <the head we chained onto>`), so
 *   two processes appending to one chain serialise on the head row (PostgreSQL's row lock; SQLite
 *   has one writer) and the loser re-reads the head and chains again. The head each chain had
 *   after this process's last commit is cached, so a group costs one UPDATE per chain it touches,
 *   plus one SELECT when another process moved the head in between. On PostgreSQL the UPDATE and
 *   the chain's INSERT are one statement (`chainStep`), and a group of one chain is that
 *   statement alone, without begin and commit.
 */
import { sql, type Insertable, type Kysely } from 'kysely';
import type { AuditRepository, NewAuditEvent } from '../../core/ports.ts';
import {
  chainHash,
  chainKey,
  genesisHash,
  type ChainedFields,
  type StoredChainEvent,
} from '../../domain/audit-chain.ts';
import type { StoreDialect } from '../dialect.ts';
import { templateOf, type QueryTemplate } from '../query-template.ts';
import { auditEventFromRow, ms } from '../rows.ts';
import type { AuditEventRow, Database } from '../schema.ts';
import { inTransaction } from '../transaction.ts';

/** Upper bound on one read, whatever the caller asks. */
const AUDIT_PAGE_MAX = 1000;

/**
 * Rows one insert statement writes, largest first: a group is cut into these sizes, so the SQL
 * texts (and prepared statements) stay four whatever the group's size.
 */
export const AUDIT_INSERT_SIZES = [64, 16, 4, 1] as const;

const COLUMNS = [
  'tenant_id',
  'actor',
  'action',
  'target',
  'result',
  'remote_address',
  'detail',
  'at',
  'prev_hash',
  'hash',
] as const;
type AuditInsert = Insertable<AuditEventRow>;

const insertTemplates = new Map<number, QueryTemplate<Database, unknown[], unknown>>(
  AUDIT_INSERT_SIZES.map((rows) => [
    rows,
    templateOf<Database, unknown>(rows * COLUMNS.length, (db, values) =>
      db
        .insertInto('audit_events')
        .values(
          Array.from(
            { length: rows },
            (_, row) =>
              Object.fromEntries(
                COLUMNS.map((column, c) => [column, values[row * COLUMNS.length + c]]),
              ) as unknown as AuditInsert,
          ),
        ),
    ),
  ]),
);

/**
 * A chain head's compare-and-set: moves the head of chain `key` from `prev` to `head`; one row
 * back when it moved, none when another writer moved it first. A template (compiled once): it
 * runs once per single import, where Kysely's build and compile of it cost more than SQLite's
 * own work on the one-row table.
 */
const moveHead = templateOf<Database, { chain_key: string }>(3, (db, [head, key, prev]) =>
  db
    .updateTable('audit_chain_heads')
    .set({ head_hash: head as string })
    .where('chain_key', '=', key as string)
    .where('head_hash', '=', prev as string)
    .returning('chain_key'),
);

/** The PostgreSQL type of each column, for `chainStep`'s arrays. */
const COLUMN_TYPES = {
  tenant_id: 'bigint',
  actor: 'text',
  action: 'text',
  target: 'text',
  result: 'text',
  remote_address: 'text',
  detail: 'text',
  at: 'bigint',
  prev_hash: 'text',
  hash: 'text',
} as const satisfies Record<(typeof COLUMNS)[number], string>;

/**
 * PostgreSQL (`dialect.arrayParameters`): one chain's step, the head's compare-and-set and the
 * insert of its events, as one statement. The insert reads the update's result (`exists`, run
 * once before any row), so the head is locked and moved before the first event takes its id,
 * as with two statements, and nothing is inserted when the head had moved (the caller then
 * chains again). The events come as one array per column: one SQL text for any number of them.
 * Returns one row per event inserted.
 */
const chainStep = templateOf<Database, { id: unknown }>(3 + COLUMNS.length, (_db, values) => {
  const [head, key, prev, ...columns] = values;
  return sql<{ id: unknown }>`with moved as (
      update audit_chain_heads set head_hash = ${head} where chain_key = ${key} and head_hash = ${prev} returning 1
    )
    insert into audit_events (${sql.join(COLUMNS.map((column) => sql.ref(column)))})
    select * from unnest(${sql.join(COLUMNS.map((column, c) => sql`${columns[c]}::${sql.raw(COLUMN_TYPES[column])}[]`))})
    where exists (select from moved)
    returning id`;
});

/**
 * PostgreSQL `text` cannot hold U+0000, and an event that cannot be written fails the request it
 * audits. Requests with control characters are refused at the server's boundary
 * (server/control-characters.ts), but an event must never be lost to one that got through some
 * other way: NUL is recorded as U+FFFD, on both stores alike. `detail` is JSON, which escapes it.
 */
function storable<T extends string | null>(text: T): T {
  return (text === null ? text : text.replaceAll('\u0000', '\uFFFD')) as T;
}

/** The event's fields as they will be stored, which are what its hash covers. */
function storedFields(event: NewAuditEvent): ChainedFields {
  return {
    tenantId: event.tenantId,
    actor: storable(event.actor),
    action: storable(event.action),
    target: storable(event.target),
    result: storable(event.result),
    remoteAddress: storable(event.remoteAddress),
    detailJson: JSON.stringify(event.detail),
    atMs: ms(event.at),
  };
}

function rowOf(fields: ChainedFields, prevHash: string, hash: string): unknown[] {
  return [
    fields.tenantId,
    fields.actor,
    fields.action,
    fields.target,
    fields.result,
    fields.remoteAddress,
    fields.detailJson,
    fields.atMs,
    prevHash,
    hash,
  ];
}

/** Attempts to move one chain's head before giving up (each failed attempt means another writer moved it). */
const HEAD_ATTEMPTS = 20;

/** Writes `rows` (each `rowOf`) with as few statements as AUDIT_INSERT_SIZES allow. */
async function insertRows(db: Kysely<Database>, rows: readonly unknown[][]): Promise<void> {
  let next = 0;
  for (const size of AUDIT_INSERT_SIZES) {
    while (rows.length - next >= size) {
      await insertTemplates.get(size)!.all(db, ...rows.slice(next, next + size).flat());
      next += size;
    }
  }
}

interface Pending {
  fields: ChainedFields;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export interface GroupedAuditRepository extends AuditRepository {
  /** Resolves when every event appended so far has been written (or has failed). */
  drain(): Promise<void>;
}

/**
 * Writes one event inside its caller's write transaction (`trx`), chained as `append` chains it
 * (see the module's comment for the contract). Returns what to call once that transaction has
 * committed (it updates the cached chain head; not calling it after a rollback is the point).
 */
export type AuditWriter = (trx: Kysely<Database>, events: readonly NewAuditEvent[]) => Promise<() => void>;

export function auditRepository(
  db: Kysely<Database>,
  dialect: StoreDialect,
): GroupedAuditRepository & { writeWithin: AuditWriter } {
  let queue: Pending[] = [];
  let scheduled = false;
  /** The group being written, if any. */
  let writing: Promise<void> | null = null;
  /**
   * chain_key → head hash as of this process's last write to that chain, committed or, for
   * `writeWithin`, still in its transaction (a hint, checked on use by the compare-and-set).
   */
  const heads = new Map<string, string>();

  const readHead = async (trx: Kysely<Database>, key: string, tenantId: number | null): Promise<string> => {
    const row = await trx
      .selectFrom('audit_chain_heads')
      .select('head_hash')
      .where('chain_key', '=', key)
      .executeTakeFirst();
    if (row) return row.head_hash;
    await trx
      .insertInto('audit_chain_heads')
      .values({ chain_key: key, head_hash: genesisHash(tenantId) })
      .onConflict((c) => c.doNothing())
      .execute();
    const created = await trx
      .selectFrom('audit_chain_heads')
      .select('head_hash')
      .where('chain_key', '=', key)
      .executeTakeFirstOrThrow();
    return created.head_hash;
  };

  /**
   * Inside the group's transaction: chains every event onto its chain's head, moves each head, and
   * returns the rows to insert (group order) and the new heads (to cache once committed).
   */
  const chainGroup = async (
    trx: Kysely<Database>,
    group: readonly ChainedFields[],
  ): Promise<{ rows: unknown[][]; moved: Map<string, string> }> => {
    const byChain = new Map<string, number[]>();
    group.forEach((fields, index) => {
      const key = chainKey(fields.tenantId);
      const members = byChain.get(key);
      if (members) members.push(index);
      else byChain.set(key, [index]);
    });
    const rows: unknown[][] = new Array<unknown[]>(group.length);
    const moved = new Map<string, string>();
    for (const [key, members] of byChain) {
      const tenantId = group[members[0]!]!.tenantId;
      let prev = heads.get(key) ?? (await readHead(trx, key, tenantId));
      for (let attempt = 1; ; attempt++) {
        let head = prev;
        for (const index of members) {
          const fields = group[index]!;
          const hash = chainHash(head, fields);
          rows[index] = rowOf(fields, head, hash);
          head = hash;
        }
        if ((await moveHead.all(trx, head, key, prev)).length === 1) {
          moved.set(key, head);
          break;
        }
        // Another writer moved the head since we read it: chain onto the one it left.
        heads.delete(key);
        if (attempt === HEAD_ATTEMPTS) throw new Error(`audit chain ${key}: its head kept moving`);
        prev = await readHead(trx, key, tenantId);
      }
    }
    return { rows, moved };
  };

  /**
   * PostgreSQL (`dialect.arrayParameters`): chains one chain's events (in order) onto its head and
   * writes them with `chainStep`, one statement an attempt; returns the chain's new head (to
   * cache once committed). On the root instance that statement is a transaction of its own,
   * which is all a group of one chain needs: no begin, no commit.
   */
  const writeChain = async (trx: Kysely<Database>, key: string, members: readonly ChainedFields[]): Promise<string> => {
    const tenantId = members[0]!.tenantId;
    let prev = heads.get(key) ?? (await readHead(trx, key, tenantId));
    for (let attempt = 1; ; attempt++) {
      let head = prev;
      const columns = COLUMNS.map((): unknown[] => []);
      for (const fields of members) {
        const hash = chainHash(head, fields);
        rowOf(fields, head, hash).forEach((value, c) => columns[c]!.push(value));
        head = hash;
      }
      const inserted = await chainStep.all(trx, head, key, prev, ...columns);
      if (inserted.length === members.length) return head;
      // Nothing was written: another writer moved the head since we read it.
      heads.delete(key);
      if (attempt === HEAD_ATTEMPTS) throw new Error(`audit chain ${key}: its head kept moving`);
      prev = await readHead(trx, key, tenantId);
    }
  };

  /** The group's events in one chain (PostgreSQL: `writeChain` on its own), else null. */
  const oneChain = (group: readonly Pending[]): string | null => {
    if (!dialect.arrayParameters) return null;
    const key = chainKey(group[0]!.fields.tenantId);
    return group.every((pending) => chainKey(pending.fields.tenantId) === key) ? key : null;
  };

  const writeGroup = async (group: Pending[]): Promise<void> => {
    let moved: Map<string, string>;
    const fields = group.map((pending) => pending.fields);
    const chain = oneChain(group);
    try {
      moved =
        chain !== null
          ? new Map([[chain, await writeChain(db, chain, fields)]])
          : await inTransaction(db, dialect, async (trx) => {
              const chained = await chainGroup(trx, fields);
              await insertRows(trx, chained.rows);
              return chained.moved;
            });
    } catch (error) {
      for (const pending of group) heads.delete(chainKey(pending.fields.tenantId));
      if (group.length === 1) {
        group[0]!.reject(error);
        return;
      }
      // Find whose event it was: each is written (and answered) on its own.
      for (const pending of group) await writeGroup([pending]);
      return;
    }
    for (const [key, head] of moved) heads.set(key, head);
    for (const pending of group) pending.resolve();
  };

  const schedule = (): void => {
    if (scheduled || writing || queue.length === 0) return;
    scheduled = true;
    // setImmediate: after this turn's I/O callbacks, so every request of the turn joins the group.
    setImmediate(() => {
      scheduled = false;
      const group = queue;
      queue = [];
      writing = writeGroup(group).finally(() => {
        writing = null;
        schedule();
      });
    });
  };

  return {
    async writeWithin(trx, events) {
      const fields = events.map(storedFields);
      let moved: Map<string, string>;
      if (dialect.arrayParameters) {
        // One `chainStep` per chain, its events in the order given.
        const byChain = Map.groupBy(fields, (event) => chainKey(event.tenantId));
        moved = new Map();
        for (const [key, members] of byChain) moved.set(key, await writeChain(trx, key, members));
      } else {
        const chained = await chainGroup(trx, fields);
        await insertRows(trx, chained.rows);
        moved = chained.moved;
      }
      // The hint now, not only once committed: the next write of a group commit
      // (store/write-group.ts) chains onto this event in the same transaction. Should this one
      // roll back, the hint is wrong, and the next compare-and-set misses and reads the head.
      for (const [key, head] of moved) heads.set(key, head);
      return () => {
        for (const [key, head] of moved) heads.set(key, head);
      };
    },
    append(event) {
      return new Promise<void>((resolve, reject) => {
        queue.push({ fields: storedFields(event), resolve, reject });
        schedule();
      });
    },
    async drain() {
      while (scheduled || writing || queue.length > 0) {
        if (writing) await writing;
        else await new Promise<void>((resolve) => setImmediate(resolve));
      }
    },
    /** `tenantId: null` reads every tenant's events (the operator's view). */
    async list(query) {
      const limit = Math.min(Math.max(Math.trunc(query.limit), 0), AUDIT_PAGE_MAX);
      if (limit === 0) return [];
      let select = db.selectFrom('audit_events').selectAll().orderBy('id', 'desc').limit(limit);
      if (query.tenantId !== null) select = select.where('tenant_id', '=', query.tenantId);
      if (query.target !== undefined) select = select.where('target', '=', query.target);
      if (query.action !== undefined) select = select.where('action', '=', query.action);
      if (query.beforeId !== undefined) select = select.where('id', '<', query.beforeId);
      return (await select.execute()).map(auditEventFromRow);
    },
    async chainHeads() {
      const rows = await db.selectFrom('audit_chain_heads').selectAll().orderBy('chain_key').execute();
      return rows.map((row) => ({
        tenantId: row.chain_key === chainKey(null) ? null : Number(row.chain_key),
        headHash: row.head_hash,
      }));
    },
    async chainEvents(tenantId, afterId, limit) {
      let select = db
        .selectFrom('audit_events')
        .selectAll()
        .where('id', '>', afterId)
        .orderBy('id')
        .limit(Math.min(Math.max(Math.trunc(limit), 1), AUDIT_PAGE_MAX));
      select = tenantId === null ? select.where('tenant_id', 'is', null) : select.where('tenant_id', '=', tenantId);
      return (await select.execute()).map((row): StoredChainEvent => ({
        id: Number(row.id),
        tenantId: row.tenant_id === null ? null : Number(row.tenant_id),
        actor: row.actor,
        action: row.action,
        target: row.target,
        result: row.result,
        remoteAddress: row.remote_address,
        detailJson: row.detail,
        atMs: Number(row.at),
        prevHash: row.prev_hash ?? '',
        hash: row.hash ?? '',
      }));
    },
  };
}

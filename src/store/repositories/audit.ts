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
 * - Appends run on the root instance, never inside a caller's transaction (the store has no
 *   transaction-bound audit), so waiting for the group can never wait on the caller itself.
 */
import type { Insertable, Kysely } from 'kysely';
import type { AuditRepository, NewAuditEvent } from '../../core/ports.ts';
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

const COLUMNS = ['tenant_id', 'actor', 'action', 'target', 'result', 'remote_address', 'detail', 'at'] as const;
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
 * PostgreSQL `text` cannot hold U+0000, and an event that cannot be written fails the request it
 * audits. Requests with control characters are refused at the server's boundary
 * (server/control-characters.ts), but an event must never be lost to one that got through some
 * other way: NUL is recorded as U+FFFD, on both stores alike. `detail` is JSON, which escapes it.
 */
function storable<T extends string | null>(text: T): T {
  return (text === null ? text : text.replaceAll('\u0000', '\uFFFD')) as T;
}

function rowOf(event: NewAuditEvent): unknown[] {
  return [
    event.tenantId,
    storable(event.actor),
    storable(event.action),
    storable(event.target),
    storable(event.result),
    storable(event.remoteAddress),
    JSON.stringify(event.detail),
    ms(event.at),
  ];
}

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
  row: unknown[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

export interface GroupedAuditRepository extends AuditRepository {
  /** Resolves when every event appended so far has been written (or has failed). */
  drain(): Promise<void>;
}

export function auditRepository(db: Kysely<Database>, dialect: StoreDialect): GroupedAuditRepository {
  let queue: Pending[] = [];
  let scheduled = false;
  /** The group being written, if any. */
  let writing: Promise<void> | null = null;

  const writeAlone = async (pending: Pending): Promise<void> => {
    try {
      await insertRows(db, [pending.row]);
      pending.resolve();
    } catch (error) {
      pending.reject(error);
    }
  };

  const writeGroup = async (group: Pending[]): Promise<void> => {
    if (group.length === 1) return writeAlone(group[0]!);
    try {
      await inTransaction(db, dialect, (trx) =>
        insertRows(
          trx,
          group.map((pending) => pending.row),
        ),
      );
    } catch {
      // Find whose event it was: each is written (and answered) on its own.
      for (const pending of group) await writeAlone(pending);
      return;
    }
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
    append(event) {
      return new Promise<void>((resolve, reject) => {
        queue.push({ row: rowOf(event), resolve, reject });
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
  };
}

/**
 * Group commit of single writes: the writes that wait while a write transaction is open run
 * together in the next transaction, each in a savepoint of its own, and commit together (issue 23).
 * SQLite (part 3): at 1,000,000 certificates the commit's pages, not its statements, are an
 * import's largest cost; pages that every import changes, such as the counters, the number block,
 * the audit chain head, the right edge of the ascending indexes and FTS5's segment, are then
 * written once for the group instead of once per import. PostgreSQL (part 1): every import of a
 * tenant updates the tenant's counters row and audit chain head and holds their row locks until
 * its commit's WAL flush, so separate transactions of one tenant commit one at a time, an fsync
 * each (sampled at 100,000: 77 % of the active backends' time waiting for that lock,
 * docs/performance.md); grouped, one fsync serves the group.
 *
 * Contract of `run(scope, work)`, the same as `inTransaction`'s (transaction.ts) for its caller:
 * - `work` runs every statement through the `trx` it is given and opens no transaction of its
 *   own; works run one at a time, never interleaved;
 * - all or nothing per work: a work that throws is rolled back to its savepoint (its rows, and
 *   nothing of the other works of its group) and `run` rejects with its error once the group has
 *   ended (committed or rolled back), not before: a work refused by a unique index for a row that
 *   an earlier work of its group wrote (two uploads of one new name) then finds that row with its
 *   next read from any connection, as it would had the two committed apart;
 * - `run` resolves only after the commit that made its work durable as the store's commits are
 *   (SQLite: WAL, synchronous=NORMAL; PostgreSQL: the WAL flushed), so a caller answers only for
 *   committed writes; if the commit (or anything after a work's savepoint, outside every work)
 *   fails, the whole group rolls back and every work of it that had succeeded rejects with that
 *   error: a kill -9 at any point leaves whole works or nothing of them, never part of one.
 * - what a work does after its statements and before its promise settles (caches of committed
 *   state, such as the audit chain head of repositories/audit.ts `writeWithin`) belongs after
 *   `run` resolves, as after `inTransaction`.
 * - `scope` names whose shared rows the work locks (a tenant's counters and chain head). Where
 *   writers take row locks (`dialect.rowLocks`: PostgreSQL, several processes), a group holds
 *   works of one scope only and groups of different scopes run at once, each on its own pooled
 *   connection: a group of two tenants would lock their rows in its members' order, and another
 *   process's group in the opposite order (a deadlock). SQLite has one writer: one queue.
 *
 * - a work that PostgreSQL chose as a deadlock's victim (SQLSTATE 40P01) is run once more, in
 *   the next group, instead of rejecting: two processes' groups can each hold a row (a unique
 *   index entry) the other's next member inserts, when they import the same certificates in
 *   crossed order. Its savepoint is rolled back, which ends the deadlock; its group commits, and
 *   the other side goes on. Run again after that commit, the work sees the other side's rows as
 *   any later write would (an already-stored certificate: the store's unique refusal), where a
 *   single transaction per work would never have met the deadlock at all.
 *
 * The group is whoever is queued (in the scope) when the transaction starts, and whoever is
 * queued by the time the previous work of the group is done, up to MAX_GROUP works. A group
 * starts at the end of the event-loop turn in which its first work was queued (setImmediate),
 * never later: on SQLite a write runs to its commit without yielding to the loop (better-sqlite3
 * is synchronous), and each HTTP request is handled in a callback of its own, so without that
 * turn no other request's write could join it. The requests read in one turn share a group; no
 * work waits for a group to fill beyond that turn (a write after an idle moment commits alone,
 * one turn later), and a burst of concurrent writes shares commits.
 */
import { sql, type Kysely } from 'kysely';
import type { StoreDialect } from './dialect.ts';

/**
 * Works in one group at most: bounds the time a group holds its connection (on SQLite the one
 * connection: about 0.5 ms of SQL and JavaScript a certificate, 8 ms, during which other
 * requests' reads wait), while what a group shares is already written once per 16 instead of
 * once per write.
 */
export const MAX_GROUP = 16;

export interface WriteGroup<DB, T> {
  run(scope: string, work: (trx: Kysely<DB>) => Promise<T>): Promise<T>;
}

/**
 * Statements a group runs once for all its works, after the last one and before its commit,
 * with the values of the works that succeeded (in order; never none): what the works would
 * otherwise each write to the same rows. Its failure fails the group, as the commit's would.
 */
export type GroupFinish<DB, T> = (trx: Kysely<DB>, values: readonly T[]) => Promise<void>;

interface Member<DB, T> {
  work: (trx: Kysely<DB>) => Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
  /** Already run once and chosen as a deadlock's victim: the next failure rejects. */
  rerun?: true;
}

/** PostgreSQL's SQLSTATE for a transaction chosen as a deadlock's victim; SQLite has none. */
const DEADLOCK_VICTIM = '40P01';

const isDeadlockVictim = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && (error as { code?: unknown }).code === DEADLOCK_VICTIM;

export function groupedWrites<DB, T>(
  db: Kysely<DB>,
  dialect: StoreDialect,
  finish: GroupFinish<DB, T> | null = null,
): WriteGroup<DB, T> {
  /** The queued works by scope (one queue, keyed '', without row locks); a queue is gone when drained. */
  const queues = new Map<string, Array<Member<DB, T>>>();

  const commitGroup = (queue: Array<Member<DB, T>>) =>
    db.connection().execute(async (trx) => {
      await dialect.beginWrite.execute(trx);
      const done: Array<{ member: Member<DB, T>; value: T }> = [];
      // Deadlock victims, queued again once this group has ended (its locks are what they met).
      const rerun: Array<Member<DB, T>> = [];
      // Works that failed, rejected once this group has ended (the contract above).
      const failed: Array<{ member: Member<DB, T>; error: unknown }> = [];
      const settleFailed = (member: Member<DB, T>, error: unknown): void => {
        if (isDeadlockVictim(error) && !member.rerun) {
          member.rerun = true;
          rerun.push(member);
        } else failed.push({ member, error });
      };
      const rejectFailed = (): void => {
        for (const { member, error } of failed) member.reject(error);
      };
      try {
        let first = true;
        while (done.length < MAX_GROUP && queue.length > 0) {
          const member = queue.shift()!;
          // The group's first work needs no savepoint: nothing else is in the transaction yet, so
          // its failure rolls back the transaction, and the next group starts afresh.
          if (!first) await sql`savepoint group_member`.execute(trx);
          let outcome: { value: T } | { error: unknown };
          try {
            outcome = { value: await member.work(trx) };
          } catch (error) {
            outcome = { error };
          }
          if ('error' in outcome) {
            try {
              if (first) await sql`rollback`.execute(trx);
              else {
                // If the database rolled the whole transaction back (SQLite: a full disk, an I/O
                // error; a lost connection), this throws and the group fails below; the member
                // still gets its own error.
                await sql`rollback to group_member`.execute(trx);
              }
            } finally {
              settleFailed(member, outcome.error);
            }
            // Nothing left in the transaction: the next group starts afresh.
            if (first) {
              rejectFailed();
              queue.unshift(...rerun);
              return;
            }
            continue;
          }
          // Its savepoint is left open (commit ends it): a release would be a round trip of its
          // own on PostgreSQL, and the next member's savepoint of the same name hides this one.
          done.push({ member, value: outcome.value });
          first = false;
        }
        if (finish)
          await finish(
            trx,
            done.map(({ value }) => value),
          );
        await sql`commit`.execute(trx);
      } catch (error) {
        await sql`rollback`.execute(trx).catch(() => undefined);
        for (const { member } of done) member.reject(error);
        rejectFailed();
        queue.unshift(...rerun);
        return;
      }
      for (const { member, value } of done) member.resolve(value);
      rejectFailed();
      queue.unshift(...rerun);
    });

  const drain = async (key: string, queue: Array<Member<DB, T>>) => {
    while (queue.length > 0) {
      try {
        await commitGroup(queue);
      } catch (error) {
        // The transaction did not start (the write lock still held by another process after the
        // busy timeout, no connection, a closed store): the first queued work fails with that
        // error, as its own transaction would have, and the next ones try again, each once.
        queue.shift()?.reject(error);
      }
    }
    queues.delete(key);
  };

  return {
    run(scope: string, work: (trx: Kysely<DB>) => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const key = dialect.rowLocks ? scope : '';
        const member: Member<DB, T> = { work, resolve, reject };
        const queue = queues.get(key);
        if (queue) queue.push(member);
        else {
          const started = [member];
          queues.set(key, started);
          // At the end of this turn, so that the writes of the other requests read in the same
          // turn (each in its own callback) join the group.
          setImmediate(() => void drain(key, started));
        }
      });
    },
  };
}

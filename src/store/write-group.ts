/**
 * Group commit of single writes on SQLite: the writes that wait for the one connection while a
 * write transaction is open run together in the next transaction, each in a savepoint of its own,
 * and commit together (issue 23 part 3: at 1,000,000 certificates the commit's pages, not its
 * statements, are an import's largest SQLite cost; pages that every import changes, such as the
 * counters, the number block, the audit chain head, the right edge of the ascending indexes and
 * FTS5's segment, are then written once for the group instead of once per import).
 *
 * Contract of `run(work)`, the same as `inTransaction`'s (transaction.ts) for its caller:
 * - `work` runs every statement through the `trx` it is given and opens no transaction of its
 *   own; works run one at a time, never interleaved;
 * - all or nothing per work: a work that throws is rolled back to its savepoint (its rows, and
 *   nothing of the other works of its group) and `run` rejects with its error;
 * - `run` resolves only after the commit that made its work durable as SQLite's commits are
 *   (WAL, synchronous=NORMAL), so a caller answers only for committed writes; if the commit (or
 *   anything after a work's savepoint, outside every work) fails, the whole group rolls back and
 *   every work of it that had succeeded rejects with that error: a kill -9 at any point leaves
 *   whole works or nothing of them, never part of one.
 * - what a work does after its statements and before its promise settles (caches of committed
 *   state, such as the audit chain head of repositories/audit.ts `writeWithin`) belongs after
 *   `run` resolves, as after `inTransaction`.
 *
 * The group is whoever is queued when the transaction starts, and whoever is queued by the time
 * the previous work of the group is done, up to MAX_GROUP works: no work waits for a group to
 * fill (the first write after an idle moment commits alone, as before), and a burst of
 * concurrent writes shares commits. PostgreSQL is not grouped (each write keeps its own
 * transaction on its own pooled connection; `groupedWrites` is SQLite's only).
 */
import { sql, type Kysely } from 'kysely';
import type { StoreDialect } from './dialect.ts';
import { inTransaction } from './transaction.ts';

/**
 * Works in one group at most: bounds the time a group holds the one connection (about 0.5 ms of
 * SQL and JavaScript a certificate: 8 ms, during which other requests' reads wait), while the
 * pages shared by a group are already written once per 16 instead of once per write.
 */
export const MAX_GROUP = 16;

export interface WriteGroup<DB> {
  run<T>(work: (trx: Kysely<DB>) => Promise<T>): Promise<T>;
}

interface Member<DB> {
  work: (trx: Kysely<DB>) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** A write group on SQLite; on PostgreSQL, `inTransaction` per work. */
export function groupedWrites<DB>(db: Kysely<DB>, dialect: StoreDialect): WriteGroup<DB> {
  if (dialect.label !== 'SQLite') return { run: (work) => inTransaction(db, dialect, work) };
  const queue: Member<DB>[] = [];
  let draining = false;

  const commitGroup = () =>
    db.connection().execute(async (trx) => {
      await dialect.beginWrite.execute(trx);
      const done: Array<{ member: Member<DB>; value: unknown }> = [];
      try {
        let first = true;
        while (done.length < MAX_GROUP && queue.length > 0) {
          const member = queue.shift()!;
          // The group's first work needs no savepoint: nothing else is in the transaction yet, so
          // its failure rolls back the transaction, and the next group starts afresh.
          if (!first) await sql`savepoint group_member`.execute(trx);
          let outcome: { value: unknown } | { error: unknown };
          try {
            outcome = { value: await member.work(trx) };
          } catch (error) {
            outcome = { error };
          }
          if ('error' in outcome) {
            try {
              if (first) await sql`rollback`.execute(trx);
              else {
                // If SQLite itself rolled the whole transaction back (a full disk, an I/O error),
                // this throws and the group fails below; the member still gets its own error.
                await sql`rollback to group_member`.execute(trx);
                await sql`release group_member`.execute(trx);
              }
            } finally {
              member.reject(outcome.error);
            }
            if (first) return;
            continue;
          }
          done.push({ member, value: outcome.value });
          if (!first) await sql`release group_member`.execute(trx);
          first = false;
        }
        await sql`commit`.execute(trx);
      } catch (error) {
        await sql`rollback`.execute(trx).catch(() => undefined);
        for (const { member } of done) member.reject(error);
        return;
      }
      for (const { member, value } of done) member.resolve(value);
    });

  const drain = async () => {
    while (queue.length > 0) {
      try {
        await commitGroup();
      } catch (error) {
        // The transaction did not start (the write lock still held by another process after the
        // busy timeout, a closed store): the first queued work fails with that error, as its own
        // transaction would have, and the next ones try again, each once.
        queue.shift()?.reject(error);
      }
    }
    draining = false;
  };

  return {
    run<T>(work: (trx: Kysely<DB>) => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
        if (!draining) {
          draining = true;
          void drain();
        }
      });
    },
  };
}

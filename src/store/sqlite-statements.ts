/**
 * better-sqlite3 as Kysely's `SqliteDatabase`, with prepared statements kept and reused.
 *
 * Kysely's SQLite driver calls `prepare(sql)` for every query. Preparing (parsing and planning
 * the SQL) costs 20–150 µs here, several times what running a point lookup costs, and it was a
 * quarter of the server's CPU under load (bench/). The store's SQL text is made of a few hundred
 * shapes (values travel as parameters), so a statement per distinct text, kept in a bounded
 * least-recently-used map, removes almost all of it.
 *
 * Safe because:
 * - Kysely's SQLite driver runs one query at a time on the one connection (its mutex), and a
 *   better-sqlite3 statement is finished when `all()`/`run()` returns; nothing here streams
 *   (`iterate`), which would keep a statement busy.
 * - SQLite re-prepares a statement by itself when the schema changes under it (a migration in
 *   another process), so a kept statement never runs an outdated plan against a new schema.
 * - The bound is on distinct texts: `in (?, ?, …)` lists of many lengths cannot grow it forever.
 *
 * Direct reads share a read transaction per event-loop turn. Outside a transaction SQLite takes
 * and drops its locks around every statement (two `fcntl` calls and an `fstat`, about 5 µs,
 * where a point lookup itself costs 1–3 µs), and a request makes 3–5 reads. So the first direct
 * read of a turn opens a read transaction (`BEGIN`, deferred: it takes only the read lock), the
 * turn's later direct reads run inside it, and it is committed
 * - before any statement that is not read-only goes through Kysely (`prepare` ends it first), so
 *   Kysely's own transactions and writes never run inside it, and the reads after a write see
 *   it: a request always reads its own writes, and a write never waits on it (Kysely's
 *   read-only statements outside a transaction join it, as the direct reads do);
 * - at the end of the turn (`setImmediate`), so a commit by another process (the CLI) is seen
 *   from the next turn on, as when the read had raced that commit, and the WAL checkpoint is
 *   never held back for longer than a turn.
 */
import type Database from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

/** Distinct SQL texts kept prepared. The store uses far fewer; the rest are `in (…)` lengths. */
export const STATEMENT_CACHE_SIZE = 500;

export interface CachingSqliteDatabase extends SqliteDatabase {
  /** Statements currently kept (for tests). */
  readonly cachedStatements: number;
  /**
   * Runs a read statement now and returns its rows, or null when a transaction other than this
   * turn's read transaction is open on the connection (its rows may be uncommitted: the caller
   * must wait its turn through Kysely) or the statement writes. Safe without Kysely's mutex
   * because better-sqlite3 runs it to the end synchronously: no other query can interleave
   * (query-template.ts `DirectReader`).
   */
  readOutsideTransaction(sql: string, parameters: readonly unknown[]): unknown[] | null;
}

export function withStatementCache(database: Database.Database, size = STATEMENT_CACHE_SIZE): CachingSqliteDatabase {
  // A Map iterates in insertion order: re-inserting on use makes the first key the least recent.
  const statements = new Map<string, Database.Statement>();
  /** Whether the open transaction on the connection is this turn's read transaction. */
  let readBatch = false;
  const endReadBatch = (): void => {
    if (!readBatch) return;
    readBatch = false;
    if (database.open && database.inTransaction) prepare('commit').run();
  };
  const prepare = (sql: string): Database.Statement => {
    let statement = statements.get(sql);
    if (statement) {
      statements.delete(sql);
    } else {
      statement = database.prepare(sql);
      if (statements.size >= size) statements.delete(statements.keys().next().value!);
    }
    statements.set(sql, statement);
    return statement;
  };
  return {
    prepare(sql: string) {
      const statement = prepare(sql);
      // Kysely runs the statement right after preparing it. A read joins the turn's read
      // transaction; anything else ends it first: a write, a write with `returning` (a reader,
      // not read-only), `begin`/`commit` (read-only to SQLite, but not readers).
      if (!(statement.reader && statement.readonly)) endReadBatch();
      return statement as unknown as SqliteStatement;
    },
    readOutsideTransaction(sql, parameters) {
      // Another transaction (Kysely's) is open: its rows may be uncommitted.
      if (database.inTransaction && !readBatch) return null;
      const statement = prepare(sql);
      // `reader` alone is not enough: an insert with `returning` reads too.
      if (!statement.reader || !statement.readonly) return null;
      if (!readBatch) {
        prepare('begin').run();
        readBatch = true;
        setImmediate(endReadBatch);
      }
      return statement.all(...parameters);
    },
    close(): void {
      endReadBatch();
      statements.clear();
      database.close();
    },
    get cachedStatements() {
      return statements.size;
    },
  };
}

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
 */
import type Database from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

/** Distinct SQL texts kept prepared. The store uses far fewer; the rest are `in (…)` lengths. */
export const STATEMENT_CACHE_SIZE = 500;

export interface CachingSqliteDatabase extends SqliteDatabase {
  /** Statements currently kept (for tests). */
  readonly cachedStatements: number;
  /**
   * Runs a read statement now and returns its rows, or null when a transaction is open on the
   * connection (its rows may be uncommitted: the caller must wait its turn through Kysely) or
   * the statement writes. Safe without Kysely's mutex because better-sqlite3 runs it to the
   * end synchronously: no other query can interleave (query-template.ts `DirectReader`).
   */
  readOutsideTransaction(sql: string, parameters: readonly unknown[]): unknown[] | null;
}

export function withStatementCache(database: Database.Database, size = STATEMENT_CACHE_SIZE): CachingSqliteDatabase {
  // A Map iterates in insertion order: re-inserting on use makes the first key the least recent.
  const statements = new Map<string, Database.Statement>();
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
    prepare: (sql: string) => prepare(sql) as unknown as SqliteStatement,
    readOutsideTransaction(sql, parameters) {
      if (database.inTransaction) return null;
      const statement = prepare(sql);
      return statement.reader ? statement.all(...parameters) : null;
    },
    close(): void {
      statements.clear();
      database.close();
    },
    get cachedStatements() {
      return statements.size;
    },
  };
}

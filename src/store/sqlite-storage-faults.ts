/**
 * SQLite's storage faults (a full or failing disk: errors.ts `isStorageFault`) as the store's
 * `unavailable`, on every statement Kysely runs and every direct read (sqlite-fast-paths.ts).
 *
 * - A statement that fails so throws `AppError('unavailable')` (errors.ts `storageFault`, the driver
 *   error as its cause) and tells `availability` (availability.ts); any other error is unchanged.
 * - A write that commits (a `commit`, or a write outside a transaction) tells `availability` the
 *   store works again. Reads do not: they keep working on a full disk.
 * - `rollback` with no transaction open does nothing. On SQLITE_FULL or an I/O error SQLite may
 *   roll the transaction back by itself; Kysely's rollback after the failure would then fail
 *   ("no transaction is active") and hide the storage fault behind an internal error.
 *
 * Nothing is half-written: a failed statement is undone by SQLite, and a transaction that fails is
 * rolled back whole (by SQLite or by Kysely's rollback).
 */
import type Database from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';
import type { AvailabilityWatch } from './availability.ts';
import { isStorageFault, storageFault } from './errors.ts';
import type { DirectReader } from './sqlite-fast-paths.ts';

const NOTHING_TO_ROLL_BACK: SqliteStatement = {
  reader: false,
  all: () => [],
  run: () => ({ changes: 0, lastInsertRowid: 0 }),
  iterate: () => [][Symbol.iterator](),
};

export interface StorageFaults {
  /** What `SqliteDialect` gets instead of `inner` (the statement cache, or better-sqlite3 itself). */
  database(inner: SqliteDatabase): SqliteDatabase;
  /** A direct reader with the same mapping. */
  reader(read: DirectReader): DirectReader;
}

/** The mapping for the connection `raw` (asked whether a transaction is open). */
export function storageFaults(raw: Database.Database, availability: AvailabilityWatch): StorageFaults {
  const mapped = (error: unknown): unknown => {
    if (!isStorageFault(error)) return error;
    availability.failed(error);
    return storageFault(error);
  };
  const guard = <T>(run: () => T): T => {
    try {
      return run();
    } catch (error) {
      throw mapped(error);
    }
  };
  return {
    database: (inner) => ({
      close: () => inner.close(),
      prepare(sql: string): SqliteStatement {
        if (sql === 'rollback' && !raw.inTransaction) return NOTHING_TO_ROLL_BACK;
        const statement = guard(() => inner.prepare(sql));
        // `commit` is read-only to SQLite; it is the write that proves the disk takes writes again.
        const writes = sql === 'commit' || !(statement as unknown as Database.Statement).readonly;
        return {
          reader: statement.reader,
          all(parameters) {
            const rows = guard(() => statement.all(parameters));
            if (writes && !raw.inTransaction) availability.succeeded();
            return rows;
          },
          run(parameters) {
            const result = guard(() => statement.run(parameters));
            if (writes && !raw.inTransaction) availability.succeeded();
            return result;
          },
          iterate: (parameters) => guard(() => statement.iterate(parameters)),
        };
      },
    }),
    reader: (read) => (sql, parameters) => guard(() => read(sql, parameters)),
  };
}

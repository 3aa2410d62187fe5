/**
 * The SQLite fast paths, every one of them, and the one switch that turns them all off.
 *
 * The store has one way to write a query: Kysely (a query builder, or a `sql` template), run by
 * Kysely. On SQLite, the fast paths below make that same query cheaper to run; none changes what
 * it answers. With the switch off, SQLite runs exactly as Kysely's own `SqliteDialect` on
 * better-sqlite3: every query built, compiled, prepared and run by Kysely, each read in SQLite's
 * implicit transaction of its own. What each fast path buys, measured with the A/B command
 * (`npm run bench:fast-paths`), is in docs/performance.md.
 *
 * 1. Prepared statements kept per SQL text (`withStatementCache`). Kysely's SQLite driver calls
 *    `prepare(sql)` for every query; preparing (parsing and planning) costs 20–150 µs here,
 *    several times what running a point lookup costs. The store's SQL text is made of a few
 *    hundred shapes (values travel as parameters), so a statement per distinct text, kept in a
 *    bounded least-recently-used map, removes almost all of it.
 * 2. One read transaction per event-loop turn (also `withStatementCache`). Outside a transaction
 *    SQLite takes and drops its locks around every statement (two `fcntl` calls and an `fstat`,
 *    about 5 µs, where a point lookup itself costs 1–3 µs), and a request makes 3–5 reads.
 * 3. Direct reads (`readOutsideTransaction`, reached through query-template.ts): a query
 *    template's read runs on better-sqlite3 itself, synchronously, instead of through Kysely's
 *    executor (its connection mutex, promise chain and result transform, about 18 µs a query).
 * 4. Query templates compiled once (query-template.ts): Kysely builds an operation tree and
 *    compiles it to SQL on every call (10–20 µs a query); a template is built and compiled once
 *    per dialect and then runs with new values. Also on PostgreSQL, where the switch does not
 *    reach (there the templates always compile once: postgres-statements.ts keys its named
 *    statements on the same SQL text, and the switch is about SQLite).
 *
 * The switch: `openStore({ sqliteFastPaths: false })` (connect.ts), or, for maintainers, the
 * environment variable `CERTKEEPER_SQLITE_FAST_PATHS=off` (`on`, empty or unset: on; any other
 * value is refused at start, so a typo never measures the wrong thing). The option wins over the
 * variable. It exists to A/B the fast paths and to prove them: every store and API suite passes
 * in both settings (test/helpers/db.ts says how to run them with it off).
 *
 * Not behind the switch, on purpose (docs/performance.md says why for each): the stable-plans
 * extension (connect.ts; a planner setting, off whenever it was not built), the WAL checkpointer
 * (sqlite-checkpointer.ts; where checkpoints run, not how a query does), the audit group commit
 * (repositories/audit.ts; both dialects, and part of that repository's contract).
 *
 * Statement cache (1) and read transaction (2), safe because:
 * - Kysely's SQLite driver runs one query at a time on the one connection (its mutex), and a
 *   better-sqlite3 statement is finished when `all()`/`run()` returns; nothing here streams
 *   (`iterate`), which would keep a statement busy.
 * - SQLite re-prepares a statement by itself when the schema changes under it (a migration in
 *   another process), so a kept statement never runs an outdated plan against a new schema.
 * - The bound is on distinct texts: `in (?, ?, …)` lists of many lengths cannot grow it forever.
 * - The first direct read of a turn opens a read transaction (`BEGIN`, deferred: it takes only
 *   the read lock), the turn's later direct reads run inside it, and it is committed
 *   - before any statement that is not read-only goes through Kysely (`prepare` ends it first),
 *     so Kysely's own transactions and writes never run inside it, and the reads after a write
 *     see it: a request always reads its own writes, and a write never waits on it (Kysely's
 *     read-only statements outside a transaction join it, as the direct reads do);
 *   - at the end of the turn (`setImmediate`), so a commit by another process (the CLI) is seen
 *     from the next turn on, as when the read had raced that commit, and the WAL checkpoint is
 *     never held back for longer than a turn.
 *
 * Direct reads (3), safe because the reader answers only when no transaction other than the
 * turn's read transaction is open on the connection: it never sees another request's uncommitted
 * rows, and inside a transaction the query takes Kysely's path and waits its turn as any other.
 *
 * This module is also the one place that reaches Kysely's `@internal` `getExecutor()`: to find
 * an instance's direct reader (kept per root executor, which `withTables()` views share and a
 * transaction does not) and its dialect (the executor's adapter, shared by every instance made
 * from one `Kysely`, transactions included).
 */
import type Database from 'better-sqlite3';
import type { Kysely, SqliteDatabase, SqliteStatement } from 'kysely';

/** The maintainers' switch (see the header). */
export const SQLITE_FAST_PATHS_ENV = 'CERTKEEPER_SQLITE_FAST_PATHS';

/**
 * Whether the SQLite fast paths are on: `option` when given, else the environment variable
 * (`on`, empty or unset: on; `off`: off). Throws on any other value of the variable.
 */
export function sqliteFastPathsEnabled(option: boolean | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  if (option !== undefined) return option;
  const value = env[SQLITE_FAST_PATHS_ENV];
  if (value === undefined || value === '' || value === 'on') return true;
  if (value === 'off') return false;
  throw new Error(`${SQLITE_FAST_PATHS_ENV} must be "on" or "off", not ${JSON.stringify(value)}.`);
}

/**
 * Runs a read now, synchronously, and returns its rows; or null when it cannot (a transaction
 * is open on the connection, or the statement is not a read), and the caller goes through Kysely.
 */
export type DirectReader = (sql: string, parameters: readonly unknown[]) => unknown[] | null;

/** Direct readers by root executor (never a transaction's). */
const directReaders = new WeakMap<object, DirectReader>();
/** Adapters of the instances whose fast paths are off: their templates are built on every call. */
const switchedOff = new WeakSet<object>();

export interface SqliteFastPaths {
  /** What `SqliteDialect` gets: the statement cache, or better-sqlite3 itself when off. */
  readonly database: SqliteDatabase;
  /** Registers the store's root Kysely instance, made on `database`, for direct reads (or marks it off). */
  attach(db: Kysely<never>): void;
}

/**
 * The fast paths for one SQLite connection, on or off. `wrapReader` wraps the direct reader (the
 * store's error mapping, sqlite-storage-faults.ts), as the caller wraps `database` for Kysely.
 */
export function sqliteFastPaths(
  database: Database.Database,
  enabled: boolean,
  wrapReader: (read: DirectReader) => DirectReader = (read) => read,
): SqliteFastPaths {
  if (!enabled)
    return {
      database: database as unknown as SqliteDatabase,
      attach: (db) => void switchedOff.add(db.getExecutor().adapter),
    };
  const cached = withStatementCache(database);
  const read = wrapReader(cached.readOutsideTransaction);
  return { database: cached, attach: (db) => void directReaders.set(db.getExecutor(), read) };
}

/** How a query template runs on `db`: null for the ordinary Kysely path (built every call). */
export interface TemplateRoute {
  /** One key per dialect (the adapter's class): a template's compiled SQL is kept per key. */
  readonly dialect: object;
  /** Runs a read directly, when `db` is a root instance whose store has direct reads. */
  readonly read: DirectReader | undefined;
}

export function templateRoute(db: Kysely<never>): TemplateRoute | null {
  const executor = db.getExecutor();
  if (switchedOff.has(executor.adapter)) return null;
  return { dialect: executor.adapter.constructor, read: directReaders.get(executor) };
}

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
   * (`DirectReader`).
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

/**
 * Opens the database: SQLite `<dataDir>/certkeeper.db` by default, PostgreSQL when a
 * `DATABASE_URL` is given. This file and dialect.ts are the only places that know which one.
 *
 * SQLite settings, so the server and the CLI can share the file: WAL (readers do not block the
 * writer), `busy_timeout` (a second writer waits instead of failing), `foreign_keys=ON` (off by
 * default in SQLite), `synchronous=NORMAL` (durable at checkpoints; safe with WAL), a 16 MB page
 * cache (`PAGE_CACHE_KIB`), and stable query plans when the extension was built
 * (`STABLE_PLANS_EXTENSION`).
 * One store per SQLite file per process: better-sqlite3 is synchronous, so a second connection in
 * the same process waiting on `busy_timeout` would block the event loop that the first one needs
 * to finish its transaction. Separate processes (server + CLI) are fine.
 * PostgreSQL: a `pg` Pool whose BIGINT (int8) columns parse to JS numbers, since ids and epoch
 * milliseconds stay far below 2^53 (checked, never silently rounded).
 * Both reuse prepared statements: sqlite-fast-paths.ts and postgres-statements.ts say how. On
 * SQLite those are among the fast paths that `sqliteFastPaths: false` (or
 * `CERTKEEPER_SQLITE_FAST_PATHS=off`) turns off, all at once (sqlite-fast-paths.ts).
 */
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type pg from 'pg';
import { postgresDialect, sqliteDialect, type StoreDialect } from './dialect.ts';
import { StoreStartupError } from './errors.ts';
import { isAppError } from '../domain/errors.ts';
import type { Database as Tables } from './schema.ts';
import { withPreparedStatements } from './postgres-statements.ts';
import { AvailabilityWatch } from './availability.ts';
import { openStatementPipeline } from './postgres-pipeline.ts';
import { storageFaults } from './sqlite-storage-faults.ts';
import { startCheckpointer, WAL_AUTOCHECKPOINT_FALLBACK_PAGES, type Checkpointer } from './sqlite-checkpointer.ts';
import { sqliteFastPaths, sqliteFastPathsEnabled } from './sqlite-fast-paths.ts';

export const SQLITE_FILE = 'certkeeper.db';
const BUSY_TIMEOUT_MS = 5000;
/**
 * SQLite's page cache, in KiB (a negative `cache_size`): 16 MB, better-sqlite3's build default,
 * set here so another build cannot change it. A larger cache measured 10–20% faster on random
 * lookups at 10,000 certificates (64 MB), but every MB of it is resident, and the server must stay
 * under 300 MB while serving a million certificates (with 32 MB, and twice the facts cache of
 * rows.ts, it peaked at 319 MB; bench/).
 */
const PAGE_CACHE_KIB = 16 * 1024;
const POOL_SIZE = 10;
/** How long a request waits for a new PostgreSQL connection (or a free one in a full pool). */
export const CONNECT_TIMEOUT_MS = 5_000;

export interface Connection {
  db: Kysely<Tables>;
  dialect: StoreDialect;
  /** Where the data is, for messages: the file path or the URL without its password. */
  location: string;
  /**
   * SQLite: whether the stable-plans extension is loaded (STABLE_PLANS_EXTENSION); without it,
   * joins and list pages are planned again on every run. Null for PostgreSQL.
   */
  stablePlans: boolean | null;
  /** SQLite: whether the fast paths run (sqlite-fast-paths.ts). Null for PostgreSQL. */
  sqliteFastPaths: boolean | null;
  /**
   * SQLite: starts checkpointing the WAL on a worker thread instead of in commits
   * (sqlite-checkpointer.ts), for a long-running server; null for PostgreSQL.
   */
  startCheckpointer: ((onError: (message: string) => void) => Checkpointer) | null;
  /** Hears every statement that failed for the store being unavailable, and the recovery (availability.ts). */
  availability: AvailabilityWatch;
}

/**
 * Where scripts/build-sqlite-extension.mjs builds native/sqlite-stable-plans.c (at npm install).
 * The C file says what it does and why.
 */
export const STABLE_PLANS_EXTENSION = join(
  import.meta.dirname,
  '..',
  '..',
  'node_modules',
  '.cache',
  'certkeeper',
  `sqlite-stable-plans.${process.platform === 'darwin' ? 'dylib' : 'so'}`,
);

/** Loads the extension when it was built, and checks that it took effect. Never throws. */
function loadStablePlans(database: Database.Database, extension: string): boolean {
  if (!existsSync(extension)) return false;
  try {
    // better-sqlite3 takes the entry point as a second argument; its type declarations omit it.
    (database.loadExtension as (file: string, entryPoint: string) => Database.Database)(
      extension,
      'sqlite3_sqlitestableplans_init',
    );
    return (database.prepare('select certkeeper_stable_plans() as stable').get() as { stable: number }).stable === 1;
  } catch {
    return false;
  }
}

export interface ConnectOptions {
  dataDir: string;
  databaseUrl?: string;
  /** The SQLite stable-plans extension to load (tests point it elsewhere). */
  sqliteExtension?: string;
  /**
   * SQLite: whether the fast paths run (sqlite-fast-paths.ts); unset: the environment variable
   * CERTKEEPER_SQLITE_FAST_PATHS decides (on unless `off`). Ignored by PostgreSQL.
   */
  sqliteFastPaths?: boolean;
}

export async function connect(options: ConnectOptions): Promise<Connection> {
  // The data directory holds the master key file (and the SQLite database): owner only.
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  return options.databaseUrl
    ? await connectPostgres(options.databaseUrl)
    : connectSqlite(
        join(options.dataDir, SQLITE_FILE),
        options.sqliteExtension ?? STABLE_PLANS_EXTENSION,
        fastPathsSetting(options.sqliteFastPaths),
      );
}

/** The switch, with a bad environment value refused as a start-up error that says what to set. */
function fastPathsSetting(option: boolean | undefined): boolean {
  try {
    return sqliteFastPathsEnabled(option);
  } catch (error) {
    throw new StoreStartupError((error as Error).message, { cause: error });
  }
}

/**
 * The database file is created 0600 before SQLite opens it, and SQLite creates `-wal` and `-shm`
 * with the database file's mode, so all three are owner only (they hold wrapped keys and sealed
 * secrets). Files of an older store made 0644 are narrowed here.
 */
function ownerOnly(file: string): void {
  closeSync(openSync(file, 'a', 0o600));
  for (const path of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(path)) chmodSync(path, 0o600);
}

function connectSqlite(file: string, extension: string, fastPathsOn: boolean): Connection {
  let database: Database.Database;
  try {
    ownerOnly(file);
    database = new Database(file);
    database.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    database.pragma('journal_mode = WAL');
    database.pragma('foreign_keys = ON');
    database.pragma('synchronous = NORMAL');
    database.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
  } catch (error) {
    throw new StoreStartupError(
      `Cannot open the SQLite database ${file} (${errorCode(error)}). Check that CERTKEEPER_DATA_DIR points to a writable directory.`,
      { cause: error },
    );
  }
  const stablePlans = loadStablePlans(database, extension);
  const availability = new AvailabilityWatch();
  const faults = storageFaults(database, availability);
  const fastPaths = sqliteFastPaths(database, fastPathsOn, faults.reader);
  const db = new Kysely<Tables>({ dialect: new SqliteDialect({ database: faults.database(fastPaths.database) }) });
  fastPaths.attach(db as unknown as Kysely<never>);
  return {
    db,
    dialect: sqliteDialect,
    location: file,
    stablePlans,
    sqliteFastPaths: fastPathsOn,
    availability,
    startCheckpointer(onError) {
      database.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_FALLBACK_PAGES}`);
      return startCheckpointer(file, onError);
    },
  };
}

function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new RangeError(`BIGINT value ${text} does not fit a JS number.`);
  return value;
}

async function connectPostgres(url: string): Promise<Connection> {
  // Loaded here, not at the top: a SQLite store never needs the driver (about 40 ms of start-up).
  const { default: driver } = await import('pg');
  const types: pg.CustomTypesConfig = {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
      oid === driver.types.builtins.INT8 && format !== 'binary'
        ? parseInt8
        : driver.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
  };
  const pool = new driver.Pool({
    connectionString: url,
    max: POOL_SIZE,
    types,
    // An unreachable server (packets dropped, not refused) would otherwise hold a request for the
    // OS's TCP connect timeout (minutes); the request gets the store's `unavailable` instead.
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  });
  // An idle client losing its connection emits 'error' on the pool; unhandled, that would end the
  // process. The pool drops that client and the next query opens a new connection.
  pool.on('error', () => undefined);
  // And a client whose connection ends while it is neither idle nor checked out through
  // withPreparedStatements (being created, or between release and the pool's idle listener) emits
  // 'error' with nobody listening, which ends the process: seen in CI as PostgreSQL shut down under
  // load (57P01). Every client hears its errors for its whole life; its next query fails with a
  // connection error (the store's `unavailable`) and the pool drops it.
  pool.on('connect', (client) => client.on('error', () => undefined));
  const availability = new AvailabilityWatch();
  // Single statements outside transactions share a few pipelined connections (postgres-pipeline.ts).
  const pipeline = await openStatementPipeline(url, parseInt8, CONNECT_TIMEOUT_MS);
  return {
    db: new Kysely<Tables>({
      dialect: new PostgresDialect({ pool: withPreparedStatements(pool, availability, pipeline) }),
    }),
    dialect: postgresDialect,
    location: redactUrl(url),
    stablePlans: null,
    sqliteFastPaths: null,
    startCheckpointer: null,
    availability,
  };
}

/** The URL without its password (or the whole URL replaced when it does not parse). */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'DATABASE_URL (unparseable)';
  }
}

export function errorCode(error: unknown): string {
  // The store's `unavailable` (postgres-faults.ts) names the driver's code in its cause.
  if (isAppError(error) && error.cause !== undefined) return errorCode(error.cause);
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : 'error';
}

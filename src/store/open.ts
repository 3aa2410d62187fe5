/**
 * The store's entry point: the only module of store/ that the composition root (src/app/) needs.
 *
 * ```ts
 * const store = await openStore({ dataDir, databaseUrl: env.DATABASE_URL, masterKey: env.CERTKEEPER_MASTER_KEY });
 * // … createCore(store, clock) …
 * await store.close();
 * ```
 *
 * API:
 * - `openStore(options): Promise<StoreHandle>`: connects (SQLite `<dataDir>/certkeeper.db`
 *   unless `databaseUrl` is given), applies pending migrations, settles the master key (creating
 *   `<dataDir>/master.key` only on a store without encrypted data) and unwraps the data keys. All
 *   of it is safe when several processes start at once on one database. Refusals (wrong or
 *   missing master key, unreachable database) throw `StoreStartupError`, whose message says what
 *   to do and holds no secret.
 * - `StoreHandle` is core's `Store` plus operator actions:
 *   `migrate()` (idempotent; returns the names it applied), `rotateMasterKey(newKeyBase64?, options?)`
 *   (see rotate-master-key.ts; returns `{ rewrapped, instructions }`), `rotateDataKey()`.
 * - `migrateStore(options)`: migrations only, no master key involved (`certkeeper migrate`).
 */
import type { AvailabilityListener } from './availability.ts';
import { sql, type Kysely } from 'kysely';
import { systemClock, type Clock, type Store } from '../core/ports.ts';
import type { IssuanceRepository } from '../core/issuance/ports.ts';
import { isAppError } from '../domain/errors.ts';
import { connect, errorCode, type Connection, type ConnectOptions } from './connect.ts';
import type { Checkpointer } from './sqlite-checkpointer.ts';
import { StoreStartupError } from './errors.ts';
import type { Database } from './schema.ts';
import { parseMasterKey } from './master-key.ts';
import { createTrigramIndexes, trigramIndexesPresent } from './migrations/0013-certificate-search.ts';
import { TRIGRAM_INDEXES } from './migrations/0029-drop-name-trigram-index.ts';
import { applyMigrations } from './migrations/index.ts';
import { acmRepository } from './repositories/acm.ts';
import { auditRepository } from './repositories/audit.ts';
import { certificateStatsRepository } from './repositories/certificate-stats.ts';
import { certificateUsageRepository } from './repositories/certificate-usage.ts';
import { certificateRepository, type CertificateWriteHooks } from './repositories/certificates.ts';
import { certificateVersionRepository } from './repositories/certificate-versions.ts';
import { credentialRepository } from './repositories/credentials.ts';
import { issuanceRepository } from './repositories/issuance.ts';
import { slotRepository } from './repositories/slots.ts';
import { deployTargetRepository } from './repositories/targets.ts';
import { notificationRepository } from './repositories/notifications.ts';
import { tenantRepository } from './repositories/tenants.ts';
import { tokenRepository } from './repositories/tokens.ts';
import { sessionRepository } from './repositories/sessions.ts';
import { rotateMasterKey, type RotateMasterKeyOptions, type RotateMasterKeyResult } from './rotate-master-key.ts';
import { inTransaction } from './transaction.ts';
import { bootstrapVault } from './vault-bootstrap.ts';
import { openVault } from './vault.ts';

export { StoreStartupError } from './errors.ts';
export type { RotateMasterKeyOptions, RotateMasterKeyResult } from './rotate-master-key.ts';

export interface OpenStoreOptions {
  /** `CERTKEEPER_DATA_DIR`: holds the SQLite file and the master key file; created 0700 if missing. */
  dataDir: string;
  /** `DATABASE_URL` (`postgres://…`); unset or empty means SQLite. */
  databaseUrl?: string;
  /** `CERTKEEPER_MASTER_KEY` (base64 of 32 bytes); unset means the key file. */
  masterKey?: string;
  /** Time of store-internal records (data keys). Repository writes take their time from the caller. */
  clock?: Clock;
  /** Fault injection, for tests only. */
  hooks?: CertificateWriteHooks;
  /**
   * SQLite: whether the fast paths run (sqlite-fast-paths.ts); unset: the environment variable
   * CERTKEEPER_SQLITE_FAST_PATHS decides (on unless `off`). For A/B measurements and tests.
   */
  sqliteFastPaths?: boolean;
}

export interface StoreHandle extends Store {
  /** `SQLite` or `PostgreSQL`, for logs. */
  readonly dialect: string;
  /** Where the data is (file path, or URL without password), for logs. */
  readonly location: string;
  /** SQLite: whether query plans are stable (connect.ts `stablePlans`); null for PostgreSQL. */
  readonly stablePlans: boolean | null;
  /** SQLite: whether the fast paths run (connect.ts `sqliteFastPaths`); null for PostgreSQL. */
  readonly sqliteFastPaths: boolean | null;
  /** What works, but slower than it should, found at start: for one warning each, and `/readyz`. */
  readonly notices: readonly StoreNotice[];
  /** ACME accounts, issuance orders and renewal entries (migration 0008; core/issuance/ports.ts). */
  readonly issuance: IssuanceRepository;
  migrate(): Promise<string[]>;
  rotateMasterKey(newKeyBase64?: string, options?: RotateMasterKeyOptions): Promise<RotateMasterKeyResult>;
  /** Starts sealing new secrets under a fresh data key; returns its id. */
  rotateDataKey(): Promise<number>;
  /**
   * SQLite: from now on, checkpoint the WAL on a worker thread (sqlite-checkpointer.ts), until
   * close. For the server, once it is ready (so the worker's start-up is not on the way to
   * /readyz). `onError` hears of a worker that died or checkpoints that fail. No-op on
   * PostgreSQL and when already started.
   */
  startBackgroundCheckpoints(onError: (message: string) => void): void;
  /**
   * Hears the store becoming unavailable (PostgreSQL unreachable, the SQLite disk full or failing)
   * and available again: once each per outage, not per request (availability.ts). The server logs
   * it; one listener (a later call replaces it).
   */
  onAvailabilityChange(listener: AvailabilityListener): void;
}

export interface StoreNotice {
  /** Stable: `pg_trgm_missing`. */
  readonly code: string;
  /** What is slower, and how to fix it, for the operator. */
  readonly message: string;
}

export const PG_TRGM_MISSING: StoreNotice = {
  code: 'pg_trgm_missing',
  message:
    'PostgreSQL\'s pg_trgm extension could not be created, so certificate searches by "domain contains" ' +
    'read every domain of the tenant (seconds at a million) instead of a trigram index; every other search, ' +
    '"name contains" included (its trigram table needs no extension), is unaffected. ' +
    'To enable it: install the PostgreSQL contrib package that ships pg_trgm ' +
    "and give certkeeper's database user CREATE on the database (or run CREATE EXTENSION pg_trgm in it as a " +
    'superuser), then restart certkeeper: it builds the index at start (docs/performance.md, "Search").',
};

/**
 * PostgreSQL: the trigram indexes the schema has after the newest migration (0013 built two, 0029
 * dropped the name's: `TRIGRAM_INDEXES`), created now if they are missing and the extension can
 * be had (an operator fixed it since), else the notice that says so. Runs after every migration
 * is applied, so a dropped index is never re-created. SQLite: none.
 */
async function searchIndexNotices(trx: Kysely<Database>, dialect: Connection['dialect']): Promise<StoreNotice[]> {
  if (dialect.substringIndex !== 'like') return [];
  const db = trx as unknown as Kysely<unknown>;
  if (await trigramIndexesPresent(db, TRIGRAM_INDEXES)) return [];
  return (await createTrigramIndexes(db, TRIGRAM_INDEXES)) ? [] : [PG_TRGM_MISSING];
}

export async function openStore(options: OpenStoreOptions): Promise<StoreHandle> {
  const clock = options.clock ?? systemClock;
  // A malformed key is refused before the database is touched.
  if (options.masterKey !== undefined) parseMasterKey(options.masterKey);
  const connection = await connect(connectOptions(options));
  const { db, dialect } = connection;
  try {
    const { masters, notices } = await startupStep(connection, () =>
      inTransaction(
        db,
        dialect,
        async (trx) => {
          await applyMigrations(trx, dialect);
          const notices = await searchIndexNotices(trx, dialect);
          const masters = await bootstrapVault(
            trx,
            { dataDir: options.dataDir, masterKey: options.masterKey },
            clock.now(),
          );
          return { masters, notices };
        },
        { exclusive: true },
      ),
    );
    const vault = await openVault(db, masters, (work) => inTransaction(db, dialect, work));
    const keyConfig = { dataDir: options.dataDir, masterKey: options.masterKey };
    const slots = slotRepository(db, dialect);
    const audit = auditRepository(db, dialect);
    let checkpointer: Checkpointer | null = null;
    return {
      dialect: dialect.label,
      location: connection.location,
      stablePlans: connection.stablePlans,
      sqliteFastPaths: connection.sqliteFastPaths,
      notices,
      tenants: tenantRepository(db),
      credentials: credentialRepository(db),
      certificates: certificateRepository(db, dialect, vault, options.hooks, audit.writeWithin),
      certificateVersions: certificateVersionRepository(db, vault),
      usage: certificateUsageRepository(db),
      audit,
      tokens: tokenRepository(db, dialect),
      slots,
      slotLeases: slots,
      targets: deployTargetRepository(db),
      notifications: notificationRepository(db, dialect),
      sessions: sessionRepository(db, dialect),
      certificateStats: certificateStatsRepository(db),
      issuance: issuanceRepository(db, dialect),
      acm: acmRepository(db, dialect),
      vault: {
        seal: (plaintext, context) => vault.seal(plaintext, context),
        open: (sealed, context) => vault.open(sealed, context),
      },
      async ping() {
        await sql`select 1`.execute(db);
      },
      async close() {
        // Events appended before close are written before the connection goes; the checkpointer
        // goes last, so its connection's close checkpoints everything and removes the WAL.
        await audit.drain();
        await db.destroy();
        await checkpointer?.stop();
      },
      migrate: () => inTransaction(db, dialect, (trx) => applyMigrations(trx, dialect), { exclusive: true }),
      rotateMasterKey: (newKeyBase64, rotateOptions) =>
        rotateMasterKey({ db, dialect, vault, config: keyConfig }, newKeyBase64, rotateOptions),
      rotateDataKey: () => vault.rotateDataKey(clock.now()),
      startBackgroundCheckpoints(onError) {
        if (!checkpointer && connection.startCheckpointer) checkpointer = connection.startCheckpointer(onError);
      },
      onAvailabilityChange: (listener) => connection.availability.listen(listener),
    };
  } catch (error) {
    await db.destroy().catch(() => undefined);
    throw error;
  }
}

/** Applies pending migrations and closes; needs no master key. Returns the names applied. */
export async function migrateStore(options: ConnectOptions): Promise<string[]> {
  const connection = await connect(connectOptions(options));
  try {
    return await startupStep(connection, () =>
      inTransaction(connection.db, connection.dialect, (trx) => applyMigrations(trx, connection.dialect), {
        exclusive: true,
      }),
    );
  } finally {
    await connection.db.destroy();
  }
}

function connectOptions(options: ConnectOptions): ConnectOptions {
  return options.databaseUrl
    ? { dataDir: options.dataDir, databaseUrl: options.databaseUrl }
    : {
        dataDir: options.dataDir,
        ...(options.sqliteFastPaths !== undefined ? { sqliteFastPaths: options.sqliteFastPaths } : {}),
      };
}

/** Runs the first database work of a start, turning "cannot reach the database" into an actionable refusal. */
async function startupStep<T>(connection: Connection, work: () => Promise<T>): Promise<T> {
  try {
    await sql`select 1`.execute(connection.db);
  } catch (error) {
    throw new StoreStartupError(
      `Cannot reach the ${connection.dialect.label} database at ${connection.location} (${errorCode(error)}). Check DATABASE_URL (unset it to use SQLite in CERTKEEPER_DATA_DIR) and that the database is running.`,
      { cause: error },
    );
  }
  try {
    return await work();
  } catch (error) {
    if (error instanceof StoreStartupError || isAppError(error)) throw error;
    throw new StoreStartupError(
      `Preparing the ${connection.dialect.label} database at ${connection.location} failed (${errorCode(error)}): ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}

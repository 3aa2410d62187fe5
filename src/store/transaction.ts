/**
 * The one way store/ opens a transaction, on both dialects: one pooled connection, the dialect's
 * `beginWrite`, optionally its store-wide lock, then `work`, then commit (rollback on any error).
 *
 * Contract for `work`: it runs every statement through the `trx` it is given (never through the
 * outer `db`: on SQLite that would wait forever for the single connection this transaction holds)
 * and does not open a transaction of its own.
 *
 * Kysely's own `db.transaction()` is not used because the migrator needs a connection-bound,
 * non-Transaction Kysely inside the store-wide lock, and one code path for both is simpler.
 */
import { sql, type Kysely } from 'kysely';
import type { StoreDialect } from './dialect.ts';

export interface TransactionOptions {
  /** Also take the store-wide lock: one such transaction at a time across every process. */
  exclusive?: boolean;
}

export function inTransaction<DB, T>(
  db: Kysely<DB>,
  dialect: StoreDialect,
  work: (trx: Kysely<DB>) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  return db.connection().execute(async (trx) => {
    await dialect.beginWrite.execute(trx);
    try {
      if (options.exclusive && dialect.storeLock) await dialect.storeLock.execute(trx);
      const result = await work(trx);
      await sql`commit`.execute(trx);
      return result;
    } catch (error) {
      // The original error is what matters; a failed rollback (connection gone) adds nothing.
      await sql`rollback`.execute(trx).catch(() => undefined);
      throw error;
    }
  });
}

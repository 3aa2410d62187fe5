/**
 * Multi-row inserts for a batch of rows of one table (the bulk import's key, file, domain and
 * search rows: repositories/certificates.ts `insertMany`). One statement per row costs the same
 * build, compile and executor round as a statement of many rows (10–40 µs a statement here), so
 * a batch's rows go in statements of BATCH_INSERT_SIZES rows, largest first: the SQL texts (and
 * the prepared statements kept for them) stay four whatever the batch's size, and a statement's
 * parameters stay far below either store's limit.
 */
import type { Insertable, Kysely } from 'kysely';
import type { Database } from './schema.ts';

/** Rows per statement, largest first. */
export const BATCH_INSERT_SIZES = [64, 16, 4, 1] as const;

/** Cuts `rows` into runs of BATCH_INSERT_SIZES, in order. */
export function batches<T>(rows: readonly T[]): T[][] {
  const runs: T[][] = [];
  let next = 0;
  for (const size of BATCH_INSERT_SIZES)
    while (rows.length - next >= size) {
      runs.push(rows.slice(next, next + size));
      next += size;
    }
  return runs;
}

/** Inserts `rows` into `table` in order, BATCH_INSERT_SIZES rows a statement; inside the caller's transaction. */
export async function insertBatched<T extends keyof Database & string>(
  trx: Kysely<Database>,
  table: T,
  rows: ReadonlyArray<Insertable<Database[T]>>,
): Promise<void> {
  for (const run of batches(rows))
    await trx
      .insertInto(table)
      .values(run as never)
      .execute();
}

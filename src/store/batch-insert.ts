/**
 * Multi-row inserts for a batch of rows of one table (the bulk import's key, file, domain and
 * search rows: repositories/certificates.ts `insertMany`). One statement per row costs the same
 * build, compile and executor round as a statement of many rows (10–40 µs a statement here), so
 * a batch's rows go in statements of BATCH_INSERT_SIZES rows, largest first: the SQL texts (and
 * the prepared statements kept for them) stay four whatever the batch's size, and a statement's
 * parameters stay far below either store's limit. Each statement is a query template
 * (query-template.ts), one per table, column list and size, so Kysely builds and compiles it
 * once. A single certificate's rows (a single import's key, domain and name rows: a few) go in
 * one statement of exactly their number when they are at most EXACT_INSERT_MAX, so its texts
 * stay at most 4 + EXACT_INSERT_MAX per table and column list.
 */
import type { Insertable, Kysely } from 'kysely';
import { templateOf, type QueryTemplate } from './query-template.ts';
import type { Database } from './schema.ts';

/** Rows per statement, largest first. */
export const BATCH_INSERT_SIZES = [64, 16, 4, 1] as const;

/** Up to this many rows, `insertBatched` writes them in one statement of exactly that many. */
export const EXACT_INSERT_MAX = 16;

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

/** Insert templates by table, column list and rows (a few tables, two column lists at most, 4 + EXACT_INSERT_MAX sizes). */
const templates = new Map<string, QueryTemplate<Database, unknown[], unknown>>();

function insertTemplate(table: keyof Database & string, columns: readonly string[], size: number) {
  const key = `${table}\u0000${columns.join(',')}\u0000${size}`;
  let template = templates.get(key);
  if (!template) {
    template = templateOf<Database, unknown>(size * columns.length, (db, values) =>
      db
        .insertInto(table)
        .values(
          Array.from({ length: size }, (_, row) =>
            Object.fromEntries(columns.map((column, c) => [column, values[row * columns.length + c]])),
          ) as never,
        ),
    );
    templates.set(key, template);
  }
  return template;
}

/**
 * Inserts `rows` into `table` in order, BATCH_INSERT_SIZES rows a statement; inside the caller's
 * transaction. Every row must have the same keys, in the same order (the first row's are used).
 */
export async function insertBatched<T extends keyof Database & string>(
  trx: Kysely<Database>,
  table: T,
  rows: ReadonlyArray<Insertable<Database[T]>>,
): Promise<void> {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]!);
  for (const run of rows.length <= EXACT_INSERT_MAX ? [rows] : batches(rows))
    await insertTemplate(table, columns, run.length).all(
      trx,
      ...run.flatMap((row) => columns.map((column) => (row as Record<string, unknown>)[column])),
    );
}

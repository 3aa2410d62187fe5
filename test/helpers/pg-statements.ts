/**
 * Counts the statements the pg driver sends (every `Client.query`, pool clients included), as
 * bench/lib/server-probe.ts does in the server: the store tests of merged PostgreSQL reads prove
 * "one statement" with it. Not for concurrent use: it patches pg's prototype while `work` runs.
 */
import pg from 'pg';

/** Counts pg statements while `work` runs. */
export async function statementsDuring<T>(work: () => Promise<T>): Promise<{ result: T; statements: number }> {
  const original = pg.Client.prototype.query;
  let statements = 0;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    statements++;
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof original;
  try {
    return { result: await work(), statements };
  } finally {
    pg.Client.prototype.query = original;
  }
}

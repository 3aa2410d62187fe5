/**
 * Counts the statements the pg driver sends (every `Client.query`, pool clients included), as
 * bench/lib/server-probe.ts does in the server: the store tests of merged PostgreSQL reads prove
 * "one statement" with it. Not for concurrent use: it patches pg's prototype while `work` runs.
 */
import pg from 'pg';

/** A statement as the store sent it: its text and values (statements sent as a query config). */
export interface SentStatement {
  text: string;
  values: unknown[];
}

/** Counts pg statements while `work` runs, and keeps those sent as a query config (`sent`). */
export async function statementsDuring<T>(
  work: () => Promise<T>,
): Promise<{ result: T; statements: number; sent: SentStatement[] }> {
  const original = pg.Client.prototype.query;
  let statements = 0;
  const sent: SentStatement[] = [];
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    statements++;
    const config = args[0] as { text?: unknown; values?: unknown[] } | null;
    if (config !== null && typeof config === 'object' && typeof config.text === 'string')
      sent.push({ text: config.text, values: [...(config.values ?? [])] });
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof original;
  try {
    return { result: await work(), statements, sent };
  } finally {
    pg.Client.prototype.query = original;
  }
}

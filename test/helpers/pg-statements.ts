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
  /** Whether its rows were asked for as arrays (pg's `rowMode: 'array'`). */
  arrays?: boolean;
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
    const config = args[0] as { text?: unknown; values?: unknown[]; rowMode?: unknown } | null;
    if (config !== null && typeof config === 'object' && typeof config.text === 'string')
      sent.push({ text: config.text, values: [...(config.values ?? [])], arrays: config.rowMode === 'array' });
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof original;
  try {
    return { result: await work(), statements, sent };
  } finally {
    pg.Client.prototype.query = original;
  }
}

/**
 * The store's very statement prepared as `name` on a connection of the test's own and run 7
 * times; its `[generic, custom]` plan counts from `pg_prepared_statements`. PostgreSQL plans runs
 * 1–5 custom and keeps the generic plan after that only if it costs no more than they did, so
 * `[2, 5]` means the statement keeps a generic plan.
 */
export async function planCountsOverSevenRuns(
  client: pg.Client,
  name: string,
  { text, values, arrays }: SentStatement,
): Promise<[generic: number, custom: number]> {
  for (let i = 0; i < 7; i++) await client.query({ name, text, values, ...(arrays ? { rowMode: 'array' } : {}) });
  const { rows } = await client.query<{ generic_plans: string; custom_plans: string }>(
    'select generic_plans, custom_plans from pg_prepared_statements where name = $1',
    [name],
  );
  if (rows.length !== 1) throw new Error(`no prepared statement named ${name}`);
  return [Number(rows[0]!.generic_plans), Number(rows[0]!.custom_plans)];
}

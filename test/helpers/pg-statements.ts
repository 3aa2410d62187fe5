/**
 * Counts the statements the store sends to PostgreSQL (its statement channel: every statement on
 * a `pg` client or on the pipeline), as bench/lib/server-probe.ts does in the server: the store
 * tests of merged PostgreSQL reads prove "one statement" with it. Not for concurrent use: it
 * counts whatever the process sends while `work` runs.
 */
import type pg from 'pg';
import { STATEMENT_CHANNEL, type SentStatement } from '../../src/store/postgres-statements.ts';

export type { SentStatement };

/** Counts the store's statements while `work` runs, and keeps each one's text and values (`sent`). */
export async function statementsDuring<T>(
  work: () => Promise<T>,
): Promise<{ result: T; statements: number; sent: SentStatement[] }> {
  const sent: SentStatement[] = [];
  const start = (context: SentStatement): void => {
    sent.push({ ...context, values: [...context.values] });
  };
  STATEMENT_CHANNEL.start.subscribe(start as (message: unknown) => void);
  try {
    return { result: await work(), statements: sent.length, sent };
  } finally {
    STATEMENT_CHANNEL.start.unsubscribe(start as (message: unknown) => void);
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

/**
 * The store's single statements outside a transaction, pipelined over a few connections of
 * postgres.js (the `postgres` package); transactions stay on the `pg` pool (connect.ts,
 * postgres-statements.ts decides which statement goes where).
 *
 * Why: `pg` runs one statement at a time per connection. Every statement of a request then
 * wakes an idle backend and waits for its answer, and `pg` parses each answer's row description
 * anew. postgres.js queues the statements of concurrent requests on a busy connection and sends
 * them in one write, and keeps each prepared statement's description. Measured here (two CPUs,
 * `select $1::int` from 32 concurrent loops): `pg` over 10 connections 40–53 µs of Node CPU a
 * statement; postgres.js over 3 connections 6.8 µs, and the backends' CPU fell with it
 * (docs/performance.md, "Single statements pipelined").
 *
 * Contract:
 * - Only single data statements outside a transaction come here. A statement pipelined behind
 *   others commits on its own (each carries its own Sync), as with `pg`; nothing session-bound
 *   (advisory locks, `set`) is sent outside a transaction by the store.
 * - Named exactly when `pg` would name it (`prepare`): a statement planned on each run
 *   (postgres-statements.ts PLANNED_EACH_RUN) is sent unnamed.
 * - Answers as `pg` does for the store: int8 as a JS number (RangeError past 2^53, as
 *   connect.ts's parser for `pg`) and an int8 array's elements as text (pg's own parser), rows
 *   as objects or as arrays with their column names, and
 *   errors with `pg`'s field names (`constraint`, `table`, `column`, `detail`), which
 *   store/errors.ts reads. Parameters are written for the types PostgreSQL asks for.
 * - Connection failures reject with postgres.js's codes (`CONNECTION_CLOSED`, `CONNECT_TIMEOUT`,
 *   …) or the socket's (`ECONNREFUSED`), which postgres-faults.ts counts as the store being
 *   unavailable. The query text and values are never made enumerable on an error, so a logged
 *   `{ err }` carries neither.
 */
import type postgres from 'postgres';

/** Connections the pipeline opens at most. Few: each carries many statements at once. */
export const PIPELINE_CONNECTIONS = 4;

/** What `pg` answers for a statement, as the store reads it (Kysely's PostgresQueryResult). */
export interface PipelinedResult {
  command: string;
  rowCount: number;
  rows: unknown[];
  /** The column names in select order, for rows read as arrays. */
  columns: readonly string[];
}

export interface StatementPipeline {
  run(text: string, values: unknown[], options: { prepare: boolean; asArrays: boolean }): Promise<PipelinedResult>;
  end(): Promise<void>;
}

/** pg's names for the error fields the store reads, from postgres.js's. */
const PG_FIELD_NAMES = [
  ['constraint_name', 'constraint'],
  ['table_name', 'table'],
  ['column_name', 'column'],
  ['schema_name', 'schema'],
  ['data_type_name', 'dataType'],
] as const;

function asPgError(error: unknown): unknown {
  if (typeof error !== 'object' || error === null) return error;
  const fields = error as Record<string, unknown>;
  for (const [from, to] of PG_FIELD_NAMES)
    if (fields[from] !== undefined && fields[to] === undefined) fields[to] = fields[from];
  return error;
}

const INT8 = 20;
const INT8_ARRAY = 1016;

/** A one-dimensional int8 array's text (`{1,2,NULL}`) as pg answers it: its elements as text. */
const int8ArrayAsText = (text: string): Array<string | null> =>
  text === '{}'
    ? []
    : text
        .slice(1, -1)
        .split(',')
        .map((element) => (element === 'NULL' ? null : element));

export async function openStatementPipeline(
  url: string,
  parseInt8: (text: string) => number,
  connectTimeoutMs: number,
): Promise<StatementPipeline> {
  // Loaded here, as `pg` is (connect.ts): a SQLite store never needs it.
  const { default: connect } = await import('postgres');
  const sql: postgres.Sql = connect(url, {
    max: PIPELINE_CONNECTIONS,
    connect_timeout: connectTimeoutMs / 1000,
    // Notices are PostgreSQL's informational messages; the store sends nothing that raises one
    // a reader needs, and postgres.js would print them on stdout.
    onnotice: false,
    connection: { application_name: 'certkeeper' },
    types: {
      int8: { to: INT8, from: [INT8], serialize: (value: unknown) => String(value), parse: parseInt8 },
      // pg answers an int8 array's elements as text (only its scalars go through parseInt8).
      int8Array: { from: [INT8_ARRAY], parse: int8ArrayAsText },
    } as never,
  });
  return {
    async run(text, values, { prepare, asArrays }) {
      const query = sql.unsafe(text, values as never[], { prepare });
      let result: postgres.RowList<postgres.Row[]> | postgres.RowList<postgres.Row[][]>;
      try {
        result = asArrays ? await query.values() : await query;
      } catch (error) {
        throw asPgError(error);
      }
      return {
        command: result.command,
        rowCount: result.count ?? 0,
        rows: result,
        columns: result.columns?.map((column) => column.name) ?? [],
      };
    },
    end: () => sql.end({ timeout: 5 }),
  };
}

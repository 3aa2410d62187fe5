/**
 * A `pg` pool as Kysely's `PostgresPool`, whose clients run the store's queries as named
 * prepared statements.
 *
 * Kysely sends every query unnamed, so PostgreSQL parses and plans it each time; for the store's
 * point lookups and page reads, planning cost more than executing (0.2–5 ms against 0.1–0.3 ms in
 * EXPLAIN ANALYZE here). A named statement is parsed once per connection, and after a few runs
 * PostgreSQL may keep a generic plan and skip planning altogether (`plan_cache_mode = auto`).
 *
 * - The name is a hash of the SQL text, so one text is one statement on every connection, and
 *   `pg` prepares it on a connection the first time that connection runs it.
 * - Only single data statements are named (SELECT, INSERT, UPDATE, DELETE, WITH; no `;`), with at
 *   most MAX_NAMED_PARAMETERS parameters: transaction control, DDL and migrations pass through
 *   as before, and long `in (…)` lists (one text per length) do not pile up statements on the
 *   server.
 * - Values are still bound parameters; nothing about the query's meaning changes.
 * - A table whose columns change under a prepared `select *` fails that statement on this
 *   connection ("cached plan must not change result type"); certkeeper changes tables only in
 *   migrations, which run before a process serves, and every process of a deployment runs the
 *   same version.
 * - With a statement pipeline (postgres-pipeline.ts), a connection Kysely checks out is a `pg`
 *   client only once it begins a transaction: the single data statements before that (every
 *   read and write outside a transaction) run on the pipeline, named as above. Kysely checks a
 *   connection out per statement outside transactions, so nothing takes a `pg` client then.
 * - Every statement is published on STATEMENT_CHANNEL (its text, values, whether pipelined), for
 *   the tests and benchmarks that count a request's statements.
 * - Connection failures (refused, ended under a query) become `AppError('unavailable')`:
 *   postgres-faults.ts says which. Each is told to `availability` (availability.ts), and so is
 *   each statement that succeeds: the outage is logged once, when it starts and when it ends.
 */
import { createHash } from 'node:crypto';
import { tracingChannel } from 'node:diagnostics_channel';
import {
  RawNode,
  type KyselyPlugin,
  type PostgresCursor,
  type PostgresPool,
  type PostgresPoolClient,
  type PostgresQueryResult,
} from 'kysely';
import type pg from 'pg';
import type { AppError } from '../domain/errors.ts';
import type { AvailabilityWatch } from './availability.ts';
import { isConnectionFailureCode, storeUnavailable } from './postgres-faults.ts';
import type { StatementPipeline } from './postgres-pipeline.ts';

/** Statements with more parameters than this are sent unnamed (see above). */
export const MAX_NAMED_PARAMETERS = 64;

const DATA_STATEMENT = /^\s*(select|insert|update|delete|with)\b/i;

/**
 * A statement whose text starts with this is sent unnamed, so PostgreSQL plans it with its values
 * on every run. For statements whose good plan depends on the values, not only on their types:
 * after five runs of a named statement PostgreSQL may keep a generic plan, and the search's
 * (repositories/certificate-search.ts: index ranges, windows and LIMITs sized per request) then
 * took 1.1-1.9 s a page at 1,000,000 certificates where its custom plans took 26-144 ms through
 * HTTP on the same loaded machine (BENCHMARKS.md, "Search under load"). `plannedEachRun` marks
 * every statement of a Kysely instance.
 */
export const PLANNED_EACH_RUN = '/* planned each run */ ';

/** Kysely plugin: every raw SQL statement run through it starts with PLANNED_EACH_RUN. */
export const plannedEachRun: KyselyPlugin = {
  transformQuery: ({ node }) =>
    RawNode.is(node)
      ? RawNode.create(
          [PLANNED_EACH_RUN + (node.sqlFragments[0] ?? ''), ...node.sqlFragments.slice(1)],
          node.parameters,
        )
      : node,
  transformResult: async ({ result }) => result,
};

/**
 * A statement whose text starts with this is answered with each row as an array of its values
 * in select order (pg's `rowMode: 'array'`) instead of an object, and `columnsOf(rows)` gives
 * their names. Why: pg builds a row object by a spread of an empty row and a store per column,
 * and in a process that reads many column lists both are V8's megamorphic paths: about 1 M
 * instructions for a page of 100 rows of 21 columns, a fifth of reading it
 * (docs/performance.md, s13-pgpage). query-template.ts `rowSet` marks its texts so; the text
 * stays a comment and valid SQL elsewhere (SQLite runs it as it is, answering objects).
 */
export const ROWS_AS_ARRAYS = '/* rows as arrays */ ';

/** What STATEMENT_CHANNEL publishes for each statement the store sends to PostgreSQL. */
export interface SentStatement {
  text: string;
  values: unknown[];
  /** Whether its rows were asked for as arrays (ROWS_AS_ARRAYS). */
  arrays: boolean;
  /** Whether it ran on the statement pipeline rather than a `pg` client. */
  pipelined: boolean;
}

/**
 * A `node:diagnostics_channel` tracing channel: `start` as each statement is sent, `asyncEnd` or
 * `error` when it is answered, with a SentStatement as the context. Free when nobody listens.
 */
export const STATEMENT_CHANNEL = tracingChannel<unknown, SentStatement & object>('certkeeper:store:statement');

/** Column names by marked text: one array per text, so callers may key derived data on it. */
const arrayColumns = new Map<string, readonly string[]>();
const columnsOfRows = new WeakMap<object, readonly string[]>();

/** The column names of rows answered as arrays (ROWS_AS_ARRAYS); undefined for rows that are objects. */
export const columnsOf = (rows: object): readonly string[] | undefined => columnsOfRows.get(rows);

/** The statement under a text's markers (PLANNED_EACH_RUN, ROWS_AS_ARRAYS). */
function unmarked(sql: string): string {
  if (sql.startsWith(PLANNED_EACH_RUN)) return sql.slice(PLANNED_EACH_RUN.length);
  return sql.startsWith(ROWS_AS_ARRAYS) ? sql.slice(ROWS_AS_ARRAYS.length) : sql;
}

/** A single data statement (no `;`): what may be named, and what may run on the pipeline. */
function isSingleDataStatement(sql: string): boolean {
  const statement = unmarked(sql);
  return !statement.includes(';') && DATA_STATEMENT.test(statement);
}

/** The prepared statement name of `sql`, or null when it is sent unnamed. */
export function statementName(sql: string, parameterCount: number): string | null {
  if (sql.startsWith(PLANNED_EACH_RUN) || parameterCount > MAX_NAMED_PARAMETERS || !isSingleDataStatement(sql))
    return null;
  return `ck_${createHash('sha256').update(sql).digest('base64url').slice(0, 32)}`;
}

/** Marks `rows` with their column names (`named`, read only when the text's are not kept yet). */
function keepColumns(sql: string, rows: object, count: number, named: () => readonly string[]): void {
  let columns = arrayColumns.get(sql);
  if (columns === undefined || columns.length !== count) {
    columns = named();
    // Bounded as `names` below: the marked texts are a few dozen.
    if (arrayColumns.size < 5000) arrayColumns.set(sql, columns);
  }
  columnsOfRows.set(rows, columns);
}

/** `send()` traced on STATEMENT_CHANNEL when anyone listens. */
function traced<T>(text: string, values: unknown[], pipelined: boolean, send: () => Promise<T>): Promise<T> {
  if (!STATEMENT_CHANNEL.hasSubscribers) return send();
  const context: SentStatement = { text, values, arrays: text.startsWith(ROWS_AS_ARRAYS), pipelined };
  return STATEMENT_CHANNEL.tracePromise(send, context);
}

export function withPreparedStatements(
  pool: pg.Pool,
  availability?: AvailabilityWatch,
  pipeline?: StatementPipeline,
): PostgresPool {
  const unavailable = (error: unknown): AppError => {
    availability?.failed(error);
    return storeUnavailable(error);
  };
  const succeeded =
    (startedIn: number) =>
    <T>(result: T): T => {
      availability?.succeeded(startedIn);
      return result;
    };
  // Names by SQL text, so the hash is computed once per text (a few hundred texts; the bound only
  // stops an unexpected stream of distinct texts from growing it).
  const names = new Map<string, string | null>();
  const nameOf = (sql: string, parameterCount: number): string | null => {
    if (parameterCount > MAX_NAMED_PARAMETERS) return null;
    let name = names.get(sql);
    if (name === undefined) {
      name = statementName(sql, parameterCount);
      if (names.size < 5000) names.set(sql, name);
    }
    return name;
  };
  // Whether each text may run on the pipeline, bounded as `names`.
  const singles = new Map<string, boolean>();
  const isSingle = (sql: string): boolean => {
    let single = singles.get(sql);
    if (single === undefined) {
      single = isSingleDataStatement(sql);
      if (singles.size < 5000) singles.set(sql, single);
    }
    return single;
  };
  const checkout = async (): Promise<PostgresPoolClient> => {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      // Not even a connection (refused, timed out, the server starting or stopping): nothing ran.
      throw unavailable(error);
    }
    // While checked out, the pool does not listen for the client's 'error' (it does while the
    // client is idle); unheard, a connection ending under a query would end the process. Heard
    // here, it marks the client broken: its queries' failures are the store being unavailable,
    // and it leaves the pool on release.
    let broken = false;
    const onError = (): void => {
      broken = true;
    };
    client.on('error', onError);
    const failed = (error: unknown): never => {
      throw broken || isConnectionFailureCode(error) ? unavailable(error) : error;
    };
    function query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>;
    function query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
    function query<R>(
      first: string | PostgresCursor<R>,
      parameters?: ReadonlyArray<unknown>,
    ): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
      if (typeof first !== 'string') return client.query(first as never) as unknown as PostgresCursor<R>;
      const values = [...(parameters ?? [])];
      return traced(first, values, false, () => onClient<R>(first, values));
    }
    function onClient<R>(first: string, values: unknown[]): Promise<PostgresQueryResult<R>> {
      const name = nameOf(first, values.length);
      const config: pg.QueryConfig = name === null ? { text: first, values } : { name, text: first, values };
      const answered = succeeded(availability?.epoch ?? 0);
      const asArrays = first.startsWith(ROWS_AS_ARRAYS);
      // pg's callback form, not its promise: a result pg hands to the promise it makes survives
      // V8's young-generation collections (measured: over half the bytes of a list statement's
      // rows promoted to the old generation, against almost none through the callback), so the
      // server paid a major collection's marking and sweeping for every row it read.
      // docs/performance.md, "s13-pgsmall".
      return new Promise<pg.QueryResult>((resolve, reject) => {
        const done = (error: Error | null, result: pg.QueryResult): void => {
          if (error) reject(error);
          else resolve(result);
        };
        if (asArrays) client.query({ ...config, rowMode: 'array' }, done);
        else client.query(config, done);
      }).then((result) => {
        if (asArrays) keepColumns(first, result.rows, result.fields.length, () => result.fields.map((f) => f.name));
        return answered(result as unknown as PostgresQueryResult<R>);
      }, failed);
    }
    return {
      query,
      release: () => {
        client.removeListener('error', onError);
        client.release(broken);
      },
    };
  };

  /** A single statement on the pipeline: named as on a `pg` client, answered as `pg` answers. */
  const pipelined = <R>(pipe: StatementPipeline, text: string, values: unknown[]): Promise<PostgresQueryResult<R>> => {
    const answered = succeeded(availability?.epoch ?? 0);
    const asArrays = text.startsWith(ROWS_AS_ARRAYS);
    return traced(text, values, true, () =>
      pipe.run(text, values, { prepare: nameOf(text, values.length) !== null, asArrays }).then(
        (result) => {
          if (asArrays) keepColumns(text, result.rows, result.columns.length, () => result.columns);
          return answered({
            command: result.command,
            rowCount: result.rowCount,
            rows: result.rows as R[],
          } as PostgresQueryResult<R>);
        },
        (error: unknown) => {
          throw isConnectionFailureCode(error) ? unavailable(error) : error;
        },
      ),
    );
  };

  /**
   * A connection as Kysely sees it, with a pipeline: the statements run on the pipeline until one
   * is not a single data statement (a transaction's `begin`); from then on, and for the rest of
   * the checkout, on a `pg` client taken from the pool at that moment.
   */
  const pipelinedUntilTransaction = (pipe: StatementPipeline): PostgresPoolClient => {
    let held: Promise<PostgresPoolClient> | undefined;
    function query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>;
    function query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
    function query<R>(
      first: string | PostgresCursor<R>,
      parameters?: ReadonlyArray<unknown>,
    ): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
      // Kysely passes a cursor only to a dialect configured with one, which the store's is not.
      if (typeof first !== 'string') throw new Error('The store streams no query through a cursor.');
      if (held === undefined && isSingle(first)) return pipelined(pipe, first, [...(parameters ?? [])]);
      held ??= checkout();
      return held.then((client) => client.query<R>(first, parameters ?? []));
    }
    return {
      query,
      release: () => {
        // A checkout that failed has nothing to give back; its statement was told so.
        held?.then((client) => client.release()).catch(() => undefined);
      },
    };
  };

  return {
    connect: pipeline ? async () => pipelinedUntilTransaction(pipeline) : checkout,
    end: async () => {
      await pipeline?.end();
      await pool.end();
    },
  };
}

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
 * - Connection failures (refused, ended under a query) become `AppError('unavailable')`:
 *   postgres-faults.ts says which. Each is told to `availability` (availability.ts), and so is
 *   each statement that succeeds: the outage is logged once, when it starts and when it ends.
 */
import { createHash } from 'node:crypto';
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

/** The prepared statement name of `sql`, or null when it is sent unnamed. */
export function statementName(sql: string, parameterCount: number): string | null {
  if (sql.startsWith(PLANNED_EACH_RUN)) return null;
  if (parameterCount > MAX_NAMED_PARAMETERS || sql.includes(';') || !DATA_STATEMENT.test(sql)) return null;
  return `ck_${createHash('sha256').update(sql).digest('base64url').slice(0, 32)}`;
}

export function withPreparedStatements(pool: pg.Pool, availability?: AvailabilityWatch): PostgresPool {
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
  return {
    async connect(): Promise<PostgresPoolClient> {
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
        const name = nameOf(first, values.length);
        const config: pg.QueryConfig = name === null ? { text: first, values } : { name, text: first, values };
        return (client.query(config) as unknown as Promise<PostgresQueryResult<R>>).then(
          succeeded(availability?.epoch ?? 0),
          failed,
        );
      }
      return {
        query,
        release: () => {
          client.removeListener('error', onError);
          client.release(broken);
        },
      };
    },
    end: () => pool.end(),
  };
}

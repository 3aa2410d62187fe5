/**
 * Queries built and compiled once, then run with new values: the lookups every request makes.
 *
 * Kysely builds an operation tree and compiles it to SQL text on every call: 10–20 µs a query on
 * this machine, with 3–5 queries a request (bench/, docs/ARCHITECTURE.md "Performance"). A
 * template is built once, with placeholders where its values go; compiling it records which
 * parameter each placeholder became. Running it fills the values in and sends the same SQL text,
 * which the prepared-statement caches (sqlite-statements.ts, postgres-statements.ts) then find.
 *
 * Contract:
 * - `build` receives one placeholder per value and must pass each to the builder as a plain
 *   value (`where(column, '=', value)`, `values({...})`, `${value}` in `sql`), so that it
 *   becomes exactly one parameter. Building checks this and throws otherwise: a placeholder
 *   dropped or used twice is a bug here, never a silently wrong query. An `in (…)` list (whose
 *   length varies) cannot be a value either: Kysely writes `in ?` for a placeholder, which both
 *   databases refuse as a syntax error on first use.
 * - The template is compiled on first use for each dialect (keyed by the instance's dialect
 *   adapter class), so one template serves SQLite and PostgreSQL stores in the same process, and
 *   any instance of a dialect, a transaction's included.
 * - Values are passed to the driver as they are: the same conversions as an ordinary query.
 */
import { CompiledQuery, type Compilable, type Kysely } from 'kysely';

class Placeholder {
  readonly index: number;
  constructor(index: number) {
    this.index = index;
  }
}

export interface QueryTemplate<DB, Values extends unknown[], Row> {
  /** Every row. */
  all(db: Kysely<DB>, ...values: Values): Promise<Row[]>;
  /** The first row, or undefined. */
  first(db: Kysely<DB>, ...values: Values): Promise<Row | undefined>;
}

/** Where each parameter comes from: a value's index, or a constant the builder added. */
type Source = { value: number } | { constant: unknown };

/** `build(db, ...values)` returns the query; its arity (after `db`) is the number of values. */
export function queryTemplate<DB, Values extends unknown[], Row>(build: (db: Kysely<DB>, ...values: Values) => Compilable<Row>): QueryTemplate<DB, Values, Row> {
  const compiledFor = new Map<unknown, { sql: string; sources: Source[] }>();

  const compile = (db: Kysely<DB>): { sql: string; sources: Source[] } => {
    const arity = build.length - 1;
    const placeholders = Array.from({ length: arity }, (_, index) => new Placeholder(index));
    const query = build(db, ...(placeholders as unknown as Values)).compile();
    const seen = new Array<number>(arity).fill(0);
    const sources = query.parameters.map((parameter): Source => {
      if (!(parameter instanceof Placeholder)) return { constant: parameter };
      seen[parameter.index] = (seen[parameter.index] ?? 0) + 1;
      return { value: parameter.index };
    });
    const misused = seen.findIndex((count) => count !== 1);
    if (misused !== -1) throw new Error(`Query template value ${misused} became ${seen[misused]} parameters (must be exactly 1): ${query.sql}`);
    return { sql: query.sql, sources };
  };

  const run = async (db: Kysely<DB>, values: Values): Promise<Row[]> => {
    const dialect = db.getExecutor().adapter.constructor;
    let compiled = compiledFor.get(dialect);
    if (!compiled) {
      compiled = compile(db);
      compiledFor.set(dialect, compiled);
    }
    const parameters = compiled.sources.map((source) => ('value' in source ? values[source.value] : source.constant));
    return (await db.executeQuery<Row>(CompiledQuery.raw(compiled.sql, parameters))).rows;
  };

  return {
    all: (db, ...values) => run(db, values),
    first: async (db, ...values) => (await run(db, values))[0],
  };
}

/**
 * Queries built and compiled once, then run with new values: the lookups every request makes.
 *
 * A template is an ordinary Kysely query (a builder, or a `sql` template) written as a function
 * of its values; what it answers is what that query answers, built afresh. Building it once is
 * a fast path (sqlite-fast-paths.ts, item 4): Kysely builds an operation tree and compiles it to
 * SQL text on every call, 10–20 µs a query here, with 3–5 queries a request. A template is built
 * once, with placeholders where its values go; compiling it records which parameter each
 * placeholder became. Running it fills the values in and sends the same SQL text, which the
 * prepared-statement caches (sqlite-fast-paths.ts, postgres-statements.ts) then find. On a
 * SQLite store whose fast paths are off, the query is built and run by Kysely on every call.
 *
 * Contract:
 * - `build` receives one placeholder per value and must pass each to the builder as a plain
 *   value (`where(column, '=', value)`, `values({...})`, `${value}` in `sql`), so that it
 *   becomes exactly one parameter. Building checks this and throws otherwise: a placeholder
 *   dropped or used twice is a bug here, never a silently wrong query. An `in (…)` list (whose
 *   length varies) cannot be a value either (Kysely writes `in ?` for a placeholder): building
 *   refuses it too; `listTemplate` is for such queries. The check runs on first use whether or
 *   not the fast paths are on.
 * - The template is compiled on first use for each dialect, so one template serves SQLite and
 *   PostgreSQL stores in the same process, and any instance of a dialect, a transaction's
 *   included.
 * - Values are passed to the driver as they are: the same conversions as an ordinary query.
 * - On SQLite, a template's read may run directly on better-sqlite3 (sqlite-fast-paths.ts, item
 *   3): only when no transaction is open on the connection, so it never sees another request's
 *   uncommitted rows; otherwise the query takes Kysely's path and waits its turn as any other.
 */
import { CompiledQuery, type Compilable, type Kysely, type RawBuilder } from 'kysely';
import { templateRoute } from './sqlite-fast-paths.ts';
import { columnsOf, ROWS_AS_ARRAYS } from './postgres-statements.ts';

/** A query builder, or a `sql` template (which compiles against an instance). */
type Buildable<Row> = Compilable<Row> | RawBuilder<Row>;

class Placeholder {
  readonly index: number;
  constructor(index: number) {
    this.index = index;
  }
}

/**
 * A read's rows in the form the driver answers cheapest: objects by column name (`columns`
 * null: SQLite, or a store whose fast paths are off), or arrays of the values in select order
 * (PostgreSQL: postgres-statements.ts ROWS_AS_ARRAYS), `columns` then naming them. For a
 * template, `columns` is the same array on every run, so readers may key what they derive
 * from it (`columnKeys`).
 */
export interface RowSet<Row> {
  rows: ReadonlyArray<Row> | ReadonlyArray<readonly unknown[]>;
  columns: readonly string[] | null;
}

/** Where each of `names` is in a row of a RowSet: its name (objects) or its position (arrays). */
export type ColumnKeys<Name extends string> = Readonly<Record<Name, string | number>>;

/** One row of a RowSet, read by ColumnKeys. */
export type RowValues = Readonly<Record<string | number, unknown>>;

const byName = new Map<readonly string[], ColumnKeys<string>>();
const byPosition = new WeakMap<readonly string[], Map<readonly string[], ColumnKeys<string>>>();

/**
 * The keys of `names` in rows of `columns` (a RowSet's): `row[keys.facts]` reads the column
 * `facts` from either form. A name the rows lack reads undefined in both forms (its key is the
 * name itself, which no array has). Kept per (columns, names) array pair: pass constant arrays.
 */
export function columnKeys<Name extends string>(
  names: readonly Name[],
  columns: readonly string[] | null,
): ColumnKeys<Name> {
  const build = (position: (name: Name) => string | number): ColumnKeys<Name> =>
    Object.fromEntries(names.map((name) => [name, position(name)])) as ColumnKeys<Name>;
  if (columns === null) {
    let keys = byName.get(names);
    if (!keys) byName.set(names, (keys = build((name) => name)));
    return keys as ColumnKeys<Name>;
  }
  let forColumns = byPosition.get(columns);
  if (!forColumns) byPosition.set(columns, (forColumns = new Map()));
  let keys = forColumns.get(names);
  if (!keys) {
    keys = build((name) => {
      const at = columns.indexOf(name);
      return at === -1 ? name : at;
    });
    forColumns.set(names, keys);
  }
  return keys as ColumnKeys<Name>;
}

export interface QueryTemplate<DB, Values extends unknown[], Row> {
  /** Every row. */
  all(db: Kysely<DB>, ...values: Values): Promise<Row[]>;
  /**
   * Every row, as RowSet: arrays on PostgreSQL (read them with `columnKeys`), objects
   * elsewhere. For the reads of many rows, where pg's row objects cost most.
   */
  rowSet(db: Kysely<DB>, ...values: Values): Promise<RowSet<Row>>;
  /** The first row, or undefined. */
  first(db: Kysely<DB>, ...values: Values): Promise<Row | undefined>;
  /**
   * This query inside another: `wrap(inner, extra)` receives this query (built with its
   * placeholders) and `extraArity` placeholders of its own, which come first among the
   * values of the template it returns (`[...extra, ...values]`). One template per `wrap`
   * function, kept with this one.
   */
  around<Wrapped>(
    extraArity: number,
    wrap: (inner: Buildable<Row>, extra: unknown[]) => Buildable<Wrapped>,
  ): QueryTemplate<DB, unknown[], Wrapped>;
}

/** Where each parameter comes from: a value's index, or a constant the builder added. */
type Source = { value: number } | { constant: unknown };

interface Compiled {
  sql: string;
  sources: Source[];
}

/** `sql` marked so that PostgreSQL answers its rows as arrays (a comment elsewhere). */
const asArrays = (compiled: Compiled): Compiled => ({ ...compiled, sql: ROWS_AS_ARRAYS + compiled.sql });

/**
 * A template of `arity` values: `build(db, values)` receives that many placeholders. For
 * queries whose shape varies (list filters), keep one template per shape.
 */
export function templateOf<DB, Row>(
  arity: number,
  build: (db: Kysely<DB>, values: unknown[]) => Buildable<Row>,
): QueryTemplate<DB, unknown[], Row> {
  const compiledFor = new Map<unknown, Compiled>();
  const compiledAsArraysFor = new Map<unknown, Compiled>();
  /** Whether `build` passed the placeholder check (for runs with the fast paths off). */
  let checked = false;

  const compile = (db: Kysely<DB>): Compiled => {
    const placeholders = Array.from({ length: arity }, (_, index) => new Placeholder(index));
    // A builder's compile() takes no argument; a `sql` template's takes the instance.
    const query = (build(db, placeholders) as RawBuilder<Row>).compile(db);
    const seen = new Array<number>(arity).fill(0);
    const sources = query.parameters.map((parameter): Source => {
      if (!(parameter instanceof Placeholder)) return { constant: parameter };
      seen[parameter.index] = (seen[parameter.index] ?? 0) + 1;
      return { value: parameter.index };
    });
    const misused = seen.findIndex((count) => count !== 1);
    if (misused !== -1)
      throw new Error(
        `Query template value ${misused} became ${seen[misused]} parameters (must be exactly 1): ${query.sql}`,
      );
    // A placeholder given as an `in` list compiles to `in ?` (`in $1`), which neither database
    // accepts; refused here, so it fails the same way whether or not the template is compiled once.
    if (/\bin\s+(\?|\$\d+)/i.test(query.sql))
      throw new Error(`Query template has an \`in\` list as a value (use listTemplate): ${query.sql}`);
    return { sql: query.sql, sources };
  };

  const run = async (db: Kysely<DB>, values: unknown[], arrays = false): Promise<Row[]> => {
    if (values.length !== arity) throw new Error(`Query template takes ${arity} values, got ${values.length}.`);
    const route = templateRoute(db as unknown as Kysely<never>);
    if (!route) {
      // Fast paths off: the query as written, built, compiled and run by Kysely on every call.
      // Its build is still checked once, so a misused placeholder fails in both settings alike.
      if (!checked) {
        compile(db);
        checked = true;
      }
      return (await db.executeQuery<Row>((build(db, values) as RawBuilder<Row>).compile(db))).rows;
    }
    const cache = arrays ? compiledAsArraysFor : compiledFor;
    let compiled = cache.get(route.dialect);
    if (!compiled) {
      compiled = arrays ? asArrays(compile(db)) : compile(db);
      cache.set(route.dialect, compiled);
    }
    const parameters = compiled.sources.map((source) => ('value' in source ? values[source.value] : source.constant));
    const direct = route.read?.(compiled.sql, parameters);
    if (direct) return direct as Row[];
    return (await db.executeQuery<Row>(CompiledQuery.raw(compiled.sql, parameters))).rows;
  };

  const wrapped = new Map<unknown, QueryTemplate<DB, unknown[], unknown>>();
  return {
    all: (db, ...values) => run(db, values),
    rowSet: async (db, ...values) => {
      const rows = await run(db, values, true);
      return { rows, columns: columnsOf(rows) ?? null };
    },
    first: async (db, ...values) => (await run(db, values))[0],
    around<Wrapped>(extraArity: number, wrap: (inner: Buildable<Row>, extra: unknown[]) => Buildable<Wrapped>) {
      let template = wrapped.get(wrap) as QueryTemplate<DB, unknown[], Wrapped> | undefined;
      if (!template) {
        template = templateOf<DB, Wrapped>(extraArity + arity, (db, values) =>
          wrap(build(db, values.slice(extraArity)), values.slice(0, extraArity)),
        );
        wrapped.set(wrap, template as QueryTemplate<DB, unknown[], unknown>);
      }
      return template;
    },
  };
}

/** `build(db, ...values)` returns the query; its arity (after `db`) is the number of values. */
export function queryTemplate<DB, Values extends unknown[], Row>(
  build: (db: Kysely<DB>, ...values: Values) => Buildable<Row>,
): QueryTemplate<DB, Values, Row> {
  return templateOf<DB, Row>(build.length - 1, (db, values) => build(db, ...(values as Values))) as QueryTemplate<
    DB,
    Values,
    Row
  >;
}

/** Longest `in (…)` list given its own template; longer lists are built as plain queries. */
export const LIST_TEMPLATE_MAX = 100;

export interface ListTemplate<DB, Row> {
  all(db: Kysely<DB>, fixed: readonly unknown[], list: readonly unknown[]): Promise<Row[]>;
}

/**
 * A query with `fixedArity` values and one `in (…)` list: a template per list length up to
 * LIST_TEMPLATE_MAX (the lengths callers use are few: page sizes, one), a plain query beyond,
 * so neither the templates nor the statement caches grow with every length. `build` receives
 * the fixed values and the list (placeholders when building a template). The list must be an
 * `in` term of the where clause's conjunction: an empty list matches nothing, and is answered
 * without a query (`in ()` is an error on PostgreSQL).
 */
export function listTemplate<DB, Row>(
  fixedArity: number,
  build: (db: Kysely<DB>, fixed: unknown[], list: unknown[]) => Compilable<Row>,
): ListTemplate<DB, Row> {
  const byLength = new Map<number, QueryTemplate<DB, unknown[], Row>>();
  return {
    async all(db, fixed, list) {
      if (fixed.length !== fixedArity)
        throw new Error(`List template takes ${fixedArity} fixed values, got ${fixed.length}.`);
      if (list.length === 0) return [];
      if (list.length > LIST_TEMPLATE_MAX) return (await db.executeQuery(build(db, [...fixed], [...list]))).rows;
      let template = byLength.get(list.length);
      if (!template) {
        template = templateOf<DB, Row>(fixedArity + list.length, (d, values) =>
          build(d, values.slice(0, fixedArity), values.slice(fixedArity)),
        );
        byLength.set(list.length, template);
      }
      return template.all(db, ...fixed, ...list);
    },
  };
}

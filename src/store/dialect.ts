/**
 * Everything that differs between SQLite and PostgreSQL, as capability flags (the Kysely
 * `DialectAdapter` idea). Code elsewhere in store/ asks for a capability and never branches on
 * which database it talks to; the `label` is for messages only.
 *
 * What does NOT differ, on purpose, so no flag is needed:
 * - instants are BIGINT epoch milliseconds on both (sorts and range-filters identically, no time
 *   zone or text-format questions);
 * - JSON documents (certificate facts, chain, audit detail) are TEXT on both: the store writes and
 *   reads them whole and never queries inside them;
 * - booleans are INTEGER 0/1 on both (better-sqlite3 cannot bind JS booleans);
 * - `RETURNING`, `ON CONFLICT`, partial indexes and `FILTER (WHERE …)` exist on both.
 */
import {
  sql,
  type ColumnDataType,
  type ColumnDefinitionBuilder,
  type Expression,
  type Kysely,
  type RawBuilder,
} from 'kysely';

/** A column type: a name Kysely knows, or raw SQL (Kysely's own `DataTypeExpression`, which it does not export). */
export type DataTypeExpression = ColumnDataType | Expression<unknown>;

export interface StoreDialect {
  /** For messages and test names only. Never branch on it: add a capability instead. */
  readonly label: 'SQLite' | 'PostgreSQL';
  /** Column type for byte strings (sealed secrets, uploaded files). */
  readonly binaryType: DataTypeExpression;
  /** Column type for an auto-assigned id (see `autoId`). */
  readonly idType: DataTypeExpression;
  /**
   * Makes the column an auto-assigned primary key that is never handed out twice, not even after
   * the row holding the highest value is deleted: SQLite `INTEGER PRIMARY KEY AUTOINCREMENT`
   * (sqlite_sequence), PostgreSQL `GENERATED ALWAYS AS IDENTITY` (a sequence).
   */
  autoId(column: ColumnDefinitionBuilder): ColumnDefinitionBuilder;
  /**
   * Column type for names that are sorted and range-filtered: byte-wise comparison on both, so
   * `ORDER BY name` agrees across dialects and a b-tree index serves `name >= a AND name < b`.
   * SQLite's default BINARY collation already is byte-wise; PostgreSQL needs `COLLATE "C"`
   * (with a C.UTF-8 or ICU default collation it would sort differently and skip the index).
   */
  readonly sortableTextType: DataTypeExpression;
  /**
   * Opens a write transaction. SQLite: `BEGIN IMMEDIATE` takes the write lock up front, so a
   * read-then-write transaction waits on `busy_timeout` instead of failing with SQLITE_BUSY when
   * another process (the CLI next to the server) writes; it also excludes every other writer, so
   * SQLite needs no extra store-wide lock.
   */
  readonly beginWrite: RawBuilder<unknown>;
  /**
   * Taken right after `beginWrite` by work that must run in one process at a time across the
   * whole database (migrations, vault bootstrap, master-key rotation). PostgreSQL: a transaction
   * advisory lock, released at commit or rollback. Null when `beginWrite` already excludes
   * every other writer.
   */
  readonly storeLock: RawBuilder<unknown> | null;
  /**
   * `SELECT … FOR SHARE` / `FOR UPDATE` lock the rows read until commit (PostgreSQL). False on
   * SQLite, which has no row locks and needs none: `beginWrite` already excludes every other
   * writer, so a write transaction's reads cannot be invalidated before it commits.
   */
  readonly rowLocks: boolean;
  /**
   * Whether a statement may take a whole column of rows as one array parameter (`unnest($1::bigint[],
   * …)`) and modify several tables through `WITH` clauses: PostgreSQL. Batched writes then cost
   * one round trip and one commit, and keep one SQL text (one prepared statement) whatever the
   * number of rows. SQLite: no; its statements are calls into the library, not round trips.
   */
  readonly arrayParameters: boolean;
  /**
   * Whether a request's reads are worth merging into one statement. PostgreSQL: yes, each
   * statement is a round trip that wakes a backend (bench/pg-round-trips.ts counts them). SQLite:
   * no, a statement is a function call, and a merged one would only constrain its plans.
   */
  readonly mergesReads: boolean;
  /**
   * Whether an UPDATE or DELETE leaves the old row version (and its index entries) behind until
   * VACUUM removes it (PostgreSQL's MVCC), so a table whose rows move often needs autovacuum
   * settings of its own (migration 0021). SQLite rewrites the b-tree in place: nothing to tune.
   */
  readonly keepsDeadRowVersions: boolean;
  /** SQL for a random version 4 UUID, lower-case text (migration 0009's ARN ids). */
  readonly randomUuid: RawBuilder<string>;
  /**
   * Whether `ALTER TABLE … ADD COLUMN` may take an expression default, evaluated per existing and
   * future row (PostgreSQL). SQLite may not: it backfills and fills new rows with a trigger.
   */
  readonly addColumnTakesExpressionDefault: boolean;
  /**
   * Numbers handed out before their row exists (an issuance order reserves its certificate's
   * number when it is created; the certificate row is inserted with it when the CA delivers).
   * `reserve` takes the next value of the column's own `autoId` sequence, so neither a later
   * automatic insert nor another reservation ever gets that number; it must run inside a write
   * transaction (`beginWrite`). A reservation whose row never lands leaves a gap, as a rolled-back
   * insert already could. `allowExplicit` is the DDL that lets an insert give the column a value
   * (migration 0011); null when the dialect already allows it.
   */
  /**
   * How "contains" searches on names find their candidates (migration 0013): `fts5`, a SQLite
   * FTS5 table with the trigram tokenizer (`certificate_search`, rowid = certificate_no, live
   * certificates only) queried with MATCH; `like`, a plain `LIKE` that PostgreSQL serves for
   * domains from a pg_trgm GIN index (or, when the extension could not be created, by reading every
   * row: same answers, slower; open.ts reports it) and for names from `certificate_name_grams`.
   */
  readonly substringIndex: 'fts5' | 'like';
  readonly reservedIds: {
    reserve(trx: Kysely<unknown>, table: string, column: string): Promise<number>;
    allowExplicit(table: string, column: string): RawBuilder<unknown> | null;
  };
}

export const sqliteDialect: StoreDialect = Object.freeze({
  label: 'SQLite',
  binaryType: 'blob',
  idType: 'integer',
  autoId: (column: ColumnDefinitionBuilder) => column.primaryKey().autoIncrement(),
  sortableTextType: 'text',
  beginWrite: sql`begin immediate`,
  storeLock: null,
  rowLocks: false,
  arrayParameters: false,
  mergesReads: false,
  keepsDeadRowVersions: false,
  randomUuid: sql<string>`lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))`,
  addColumnTakesExpressionDefault: false,
  substringIndex: 'fts5',
  reservedIds: {
    // AUTOINCREMENT gives a new row max(sqlite_sequence.seq, max(rowid)) + 1 and records what it
    // gave in sqlite_sequence, so raising `seq` is a reservation (an explicit insert below `seq`
    // leaves it alone). The row of `table` exists only after its first insert: create it first.
    // max() over the column is a defence against a `seq` behind the table (one index probe).
    async reserve(trx: Kysely<unknown>, table: string, column: string): Promise<number> {
      await sql`insert into sqlite_sequence (name, seq) select ${table}, 0
                where not exists (select 1 from sqlite_sequence where name = ${table})`.execute(trx);
      const { rows } = await sql<{ seq: number | bigint }>`update sqlite_sequence
          set seq = max(seq, (select coalesce(max(${sql.ref(column)}), 0) from ${sql.table(table)})) + 1
          where name = ${table} returning seq`.execute(trx);
      return Number(rows[0]!.seq);
    },
    allowExplicit: () => null,
  },
});

/** Arbitrary constant naming certkeeper's store-wide advisory lock (advisory locks are per database). */
const STORE_LOCK_KEY = '6066285512843722001';

export const postgresDialect: StoreDialect = Object.freeze({
  label: 'PostgreSQL',
  binaryType: 'bytea',
  idType: 'bigint',
  autoId: (column: ColumnDefinitionBuilder) => column.primaryKey().generatedAlwaysAsIdentity(),
  sortableTextType: sql`text collate "C"`,
  beginWrite: sql`begin`,
  storeLock: sql`select pg_advisory_xact_lock(${STORE_LOCK_KEY}::bigint)`,
  rowLocks: true,
  arrayParameters: true,
  mergesReads: true,
  keepsDeadRowVersions: true,
  randomUuid: sql<string>`gen_random_uuid()::text`,
  addColumnTakesExpressionDefault: true,
  substringIndex: 'like',
  reservedIds: {
    // nextval of the identity's sequence: never handed out again, whatever the transaction does.
    async reserve(trx: Kysely<unknown>, table: string, column: string): Promise<number> {
      const { rows } = await sql<{
        id: string | number;
      }>`select nextval(pg_get_serial_sequence(${table}, ${column})) as id`.execute(trx);
      return Number(rows[0]!.id);
    },
    // GENERATED ALWAYS refuses a given value; BY DEFAULT takes it and still draws from the
    // sequence otherwise, so the reserved numbers (drawn from that sequence) never collide.
    allowExplicit: (table: string, column: string) =>
      sql`alter table ${sql.table(table)} alter column ${sql.ref(column)} set generated by default`,
  },
});

/**
 * Contract: the PostgreSQL pool wrapper (src/store/postgres-statements.ts) names single data
 * statements by their text, so each is prepared once per connection and reused; everything else
 * (transaction control, DDL, several statements, long `in` lists) goes unnamed; answers,
 * errors and transactions behave as with plain queries.
 *
 * With the statement pipeline (src/store/postgres-pipeline.ts): single statements outside a
 * transaction run there and answer exactly as through `pg` (the same statements on a `pg`-only
 * instance are the expected answers), fail with pg's error fields, share a few connections, and
 * a connection the server ends is the store being unavailable, never the process ending.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { GCProfiler } from 'node:v8';
import { isAppError } from '../../src/domain/errors.ts';
import { openStatementPipeline, PIPELINE_CONNECTIONS } from '../../src/store/postgres-pipeline.ts';
import {
  columnsOf,
  MAX_NAMED_PARAMETERS,
  PLANNED_EACH_RUN,
  ROWS_AS_ARRAYS,
  statementName,
  withPreparedStatements,
} from '../../src/store/postgres-statements.ts';
import { freshPostgres, postgresSkip, type TestLocation } from '../helpers/db.ts';
import { statementsDuring } from '../helpers/pg-statements.ts';

interface Tables {
  items: { id: number; name: string };
}

describe('statementName', () => {
  it('names single data statements by their text, and nothing else', () => {
    const a = statementName('select * from items where id = $1', 1);
    assert.match(a ?? '', /^ck_[A-Za-z0-9_-]{32}$/);
    assert.equal(statementName('select * from items where id = $1', 1), a, 'same text, same name');
    assert.notEqual(statementName('select * from items where id = $2', 1), a);
    for (const text of [
      'insert into items values ($1)',
      '  UPDATE items set a = 1',
      'delete from items',
      'with x as (select 1) select * from x',
    ]) {
      assert.ok(statementName(text, 0), text);
    }
    for (const text of [
      'begin',
      'commit',
      'rollback',
      'savepoint s1',
      'create table t (a int)',
      'select 1; select 2',
      'selected',
    ]) {
      assert.equal(statementName(text, 0), null, text);
    }
    assert.equal(statementName('select 1', MAX_NAMED_PARAMETERS + 1), null);
    assert.equal(statementName(`${PLANNED_EACH_RUN}select * from items where id = $1`, 1), null, 'marked');
    const asArrays = statementName(`${ROWS_AS_ARRAYS}select * from items where id = $1`, 1);
    assert.ok(asArrays, 'rows as arrays: still named');
    assert.notEqual(asArrays, a, 'its own statement, apart from the rows-as-objects text');
    assert.equal(statementName(`${ROWS_AS_ARRAYS}begin`, 0), null);
  });
});

describe('PostgreSQL prepared statements', { skip: postgresSkip }, () => {
  let location: TestLocation;
  let pool: pg.Pool;
  let db: Kysely<Tables>;

  before(async () => {
    location = await freshPostgres();
    // One connection, so the statements prepared on it are the ones pg_prepared_statements lists.
    pool = new pg.Pool({ connectionString: location.databaseUrl!, max: 1 });
    hearClientErrors(pool);
    db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool: withPreparedStatements(pool) }) });
    await db.schema
      .createTable('items')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .execute();
  });

  after(async () => {
    await db?.destroy();
    await location?.cleanup();
  });

  const prepared = async (): Promise<string[]> =>
    (
      await sql<{
        statement: string;
      }>`select statement from pg_prepared_statements where name like 'ck\\_%' order by statement`.execute(db)
    ).rows.map((r) => r.statement);

  it('prepares each text once and answers like a plain query: reads, writes, returning, transactions', async () => {
    for (let i = 1; i <= 10; i++) {
      const row = await db
        .insertInto('items')
        .values({ id: i, name: `n${i}` })
        .returningAll()
        .executeTakeFirstOrThrow();
      assert.deepEqual(row, { id: i, name: `n${i}` });
    }
    for (let i = 1; i <= 10; i++) {
      assert.deepEqual(await db.selectFrom('items').selectAll().where('id', '=', i).executeTakeFirst(), {
        id: i,
        name: `n${i}`,
      });
    }
    const texts = await prepared();
    assert.equal(texts.filter((t) => t.startsWith('insert into "items"')).length, 1, texts.join('\n'));
    assert.equal(texts.filter((t) => t.startsWith('select * from "items"')).length, 1, texts.join('\n'));

    const updated = await db.updateTable('items').set({ name: 'x' }).where('id', '>', 5).executeTakeFirst();
    assert.equal(updated.numUpdatedRows, 5n);
    await assert.rejects(
      db.transaction().execute(async (trx) => {
        await trx.deleteFrom('items').execute();
        throw new Error('roll back');
      }),
      /roll back/,
    );
    const { n } = await db
      .selectFrom('items')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    assert.equal(Number(n), 10);
  });

  it('a failing prepared statement fails like a plain one, and the connection goes on', async () => {
    await assert.rejects(
      db.insertInto('items').values({ id: 1, name: 'again' }).execute(),
      (error: unknown) => (error as { code?: string }).code === '23505',
    );
    await assert.rejects(
      db.insertInto('items').values({ id: 1, name: 'again' }).execute(),
      (error: unknown) => (error as { code?: string }).code === '23505',
    );
    assert.equal(
      (await db.selectFrom('items').select('name').where('id', '=', 1).executeTakeFirstOrThrow()).name,
      'n1',
    );
  });

  it('long in-lists go unnamed, so they do not pile up on the server', async () => {
    const before = (await prepared()).length;
    const ids = Array.from({ length: MAX_NAMED_PARAMETERS + 1 }, (_, i) => i + 1);
    const rows = await db.selectFrom('items').select('id').where('id', 'in', ids).orderBy('id').execute();
    assert.equal(rows.length, 10);
    assert.equal((await prepared()).length, before);
  });

  it("leaves a statement's rows to the young generation once they are used", async () => {
    // Rows read one statement at a time and dropped: a young-generation collection (scavenge)
    // should find at most the rows in hand, so the old generation grows by far less than what
    // was read. Through pg's promise form most of every result survived the scavenges and was
    // promoted: 0.68 bytes of old generation per byte of text read here (13.6 of 20 MB), against
    // 0.04-0.05 through its callback form (docs/performance.md, "s13-pgsmall").
    const read = async (i: number): Promise<number> => {
      const { rows } = await sql<{
        a: string;
      }>`select repeat('x', 1000) || ${i}::text as a from generate_series(1, 10)`.execute(db);
      return rows.reduce((sum, row) => sum + row.a.length, 0);
    };
    for (let i = 0; i < 200; i++) await read(i);
    const profiler = new GCProfiler();
    profiler.start();
    let textBytes = 0;
    for (let i = 0; i < 2000; i++) textBytes += await read(i);
    const { statistics } = profiler.stop();
    const oldSpace = (side: { heapSpaceStatistics: Array<{ spaceName: string; spaceUsedSize: number }> }): number =>
      side.heapSpaceStatistics.find((space) => space.spaceName === 'old_space')?.spaceUsedSize ?? 0;
    const scavenges = statistics.filter((gc) => gc.gcType === 'Scavenge');
    const promoted = scavenges.reduce((sum, gc) => sum + Math.max(0, oldSpace(gc.afterGC) - oldSpace(gc.beforeGC)), 0);
    assert.ok(scavenges.length >= 3, `only ${scavenges.length} scavenges: too little read to tell`);
    assert.ok(
      promoted < textBytes * 0.25,
      `${promoted} bytes promoted by ${scavenges.length} scavenges for ${textBytes} bytes of text read`,
    );
  });
});

/**
 * As the store's own pool does (connect.ts): a client whose connection the server ends (this
 * file's pg_terminate_backend, the database dropped with force at the end) reports it on the pool
 * or on the client, and unheard that error ends the test process (seen once in CI). The next
 * query through such a client fails and the pool drops it.
 */
function hearClientErrors(pool: pg.Pool): void {
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
}

describe('PostgreSQL statement pipeline', { skip: postgresSkip }, () => {
  let location: TestLocation;
  let pool: pg.Pool;
  let db: Kysely<PipelineTables>;
  /** The same database through `pg` alone: what every answer of the pipeline must equal. */
  let plainPool: pg.Pool;
  let plain: Kysely<PipelineTables>;

  before(async () => {
    location = await freshPostgres();
    const url = location.databaseUrl!;
    const parseInt8 = (text: string): number => {
      const value = Number(text);
      if (!Number.isSafeInteger(value)) throw new RangeError(`BIGINT value ${text} does not fit a JS number.`);
      return value;
    };
    const types: pg.CustomTypesConfig = {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === pg.types.builtins.INT8 && format !== 'binary'
          ? parseInt8
          : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
    };
    pool = new pg.Pool({ connectionString: url, max: 2, types });
    hearClientErrors(pool);
    db = new Kysely({
      dialect: new PostgresDialect({
        pool: withPreparedStatements(pool, undefined, await openStatementPipeline(url, parseInt8, 5_000)),
      }),
    });
    plainPool = new pg.Pool({ connectionString: url, max: 1, types });
    hearClientErrors(plainPool);
    plain = new Kysely({ dialect: new PostgresDialect({ pool: withPreparedStatements(plainPool) }) });
    await sql`create table things (
      id bigint primary key, name text not null unique, big bigint, flag boolean, meta json, ids bigint[], n integer
    )`.execute(plain);
  });

  after(async () => {
    await db?.destroy();
    await plain?.destroy();
    await location?.cleanup();
  });

  it('runs single statements outside a transaction on the pipeline, and a transaction on a pg client', async () => {
    const { sent } = await statementsDuring(async () => {
      await db
        .insertInto('things')
        .values({ id: 1, name: 'one', big: 2 ** 40, flag: true, n: 7 })
        .execute();
      await db.selectFrom('things').selectAll().execute();
      await db.updateTable('things').set({ n: 8 }).where('id', '=', 1).execute();
    });
    assert.deepEqual(
      sent.map((s) => s.pipelined),
      [true, true, true],
    );
    assert.equal(pool.totalCount, 0, 'no pg client taken for single statements');

    const inTransaction = await statementsDuring(() =>
      db
        .transaction()
        .execute(async (trx) => {
          await trx.insertInto('things').values({ id: 2, name: 'two' }).execute();
          throw new Error('roll back');
        })
        .catch(() => undefined),
    );
    assert.deepEqual(
      inTransaction.sent.map((s) => [s.text.split(' ')[0], s.pipelined]),
      [
        ['begin', false],
        ['insert', false],
        ['rollback', false],
      ],
    );
    assert.equal(await db.selectFrom('things').select('id').where('id', '=', 2).executeTakeFirst(), undefined);
    assert.equal(pool.idleCount, pool.totalCount, 'the transaction gave its client back');
  });

  it('answers every statement as pg does: int8 as numbers, arrays, booleans, json, nulls, rows as arrays', async () => {
    await db
      .insertInto('things')
      .values([
        {
          id: 10,
          name: 'ten',
          big: Number.MAX_SAFE_INTEGER,
          flag: false,
          meta: JSON.stringify({ a: [1, 'x'] }),
          ids: [1, 2 ** 50],
          n: null,
        },
        { id: 11, name: "o'neil\u00e9", big: null, flag: null, meta: null, ids: [], n: -3 },
      ])
      .execute();
    const statements = [
      sql`select * from things order by id`,
      sql`select count(*) as n, sum(big) as total from things`,
      sql`select id, ids from things where id = any(${[10, 11]}::bigint[]) order by id`,
      sql`select name from things where name like ${'o%'}`,
      sql.raw(`${ROWS_AS_ARRAYS}select id, name, flag from things order by id`),
      sql.raw(`${PLANNED_EACH_RUN}select id from things where id > 0 order by id`),
      sql`with t as (select id, n, meta from things where id = ${10}) select * from t`,
    ];
    for (const statement of statements) {
      const piped = await statement.execute(db);
      const expected = await statement.execute(plain);
      assert.deepEqual(piped.rows.slice(), expected.rows.slice(), statement.compile(plain).sql);
      assert.deepEqual(columnsOf(piped.rows), columnsOf(expected.rows));
    }
    const asArrays = await sql
      .raw(`${ROWS_AS_ARRAYS}select id, name from things where id >= 10 order by id`)
      .execute(db);
    assert.deepEqual(columnsOf(asArrays.rows), ['id', 'name']);
    assert.deepEqual(asArrays.rows[0], [10, 'ten']);
    await assert.rejects(sql`select ${'9007199254740993'}::bigint as x`.execute(db), RangeError);
  });

  it('fails a statement as pg does: the SQLSTATE and the constraint named', async () => {
    const failure = async (on: Kysely<PipelineTables>) =>
      on
        .insertInto('things')
        .values({ id: 99, name: 'ten' })
        .execute()
        .then(
          () => assert.fail('a duplicate name was written'),
          (error: unknown) => error as { code?: string; constraint?: string; table?: string },
        );
    const piped = await failure(db);
    const expected = await failure(plain);
    assert.deepEqual(
      { code: piped.code, constraint: piped.constraint, table: piped.table },
      { code: expected.code, constraint: expected.constraint, table: expected.table },
    );
    assert.equal(piped.code, '23505');
    assert.ok(piped.constraint, 'the constraint is named');
    assert.equal(Object.keys(piped).includes('parameters'), false, 'the values are not enumerable on the error');
  });

  it(`carries concurrent statements on at most ${PIPELINE_CONNECTIONS} connections`, async () => {
    const reads = await Promise.all(
      Array.from({ length: 64 }, (_, i) => sql<{ x: number }>`select ${i}::int as x, pg_sleep(0.002)`.execute(db)),
    );
    assert.deepEqual(
      reads.map((r) => r.rows[0]!.x),
      Array.from({ length: 64 }, (_, i) => i),
    );
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity
      where datname = current_database() and application_name = 'certkeeper'`.execute(plain);
    assert.ok(rows[0]!.n >= 1 && rows[0]!.n <= PIPELINE_CONNECTIONS, `${rows[0]!.n} pipeline connections`);
  });

  it('a pipeline connection ended by the server: unavailable or answered, never a crash; the next ones answer', async () => {
    await sql`select 1`.execute(db);
    await sql`select pg_terminate_backend(pid) from pg_stat_activity
      where datname = current_database() and application_name = 'certkeeper'`.execute(plain);
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, () =>
        sql`select 1 as one`.execute(db).then(
          () => 'answered',
          (error: unknown) => (isAppError(error) ? error.code : String(error)),
        ),
      ),
    );
    for (const outcome of outcomes) assert.ok(['answered', 'unavailable'].includes(outcome), outcome);
    let answered = false;
    for (let i = 0; i < 50 && !answered; i++) {
      answered = await sql`select 1 as one`.execute(db).then(
        () => true,
        () => false,
      );
      if (!answered) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(answered, 'the pipeline reconnected');
  });

  it('a server that is not there: the store is unavailable', async () => {
    const nowhere = 'postgres://postgres@127.0.0.1:9/none';
    const deadPool = new pg.Pool({ connectionString: nowhere, max: 1 });
    const dead = new Kysely<PipelineTables>({
      dialect: new PostgresDialect({
        pool: withPreparedStatements(deadPool, undefined, await openStatementPipeline(nowhere, Number, 2_000)),
      }),
    });
    try {
      await assert.rejects(
        sql`select 1`.execute(dead),
        (error: unknown) => isAppError(error) && error.code === 'unavailable',
      );
    } finally {
      await dead.destroy();
    }
  });
});

interface PipelineTables {
  things: {
    id: number;
    name: string;
    big: number | null;
    flag: boolean | null;
    meta: string | null;
    ids: number[] | null;
    n: number | null;
  };
}

/**
 * Contract: the PostgreSQL pool wrapper (src/store/postgres-statements.ts) names single data
 * statements by their text, so each is prepared once per connection and reused; everything else
 * (transaction control, DDL, several statements, long `in` lists) goes unnamed; answers,
 * errors and transactions behave as with plain queries.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { GCProfiler } from 'node:v8';
import {
  MAX_NAMED_PARAMETERS,
  PLANNED_EACH_RUN,
  ROWS_AS_ARRAYS,
  statementName,
  withPreparedStatements,
} from '../../src/store/postgres-statements.ts';
import { freshPostgres, postgresSkip, type TestLocation } from '../helpers/db.ts';

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

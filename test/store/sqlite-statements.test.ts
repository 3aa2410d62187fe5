/**
 * Contract: the SQLite statement cache (src/store/sqlite-statements.ts) reuses one prepared
 * statement per SQL text, stays within its bound, gives the same answers as preparing every time,
 * keeps working when another connection changes the schema under a kept statement, and reads
 * directly (without Kysely) only when no transaction is open.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { withStatementCache } from '../../src/store/sqlite-statements.ts';

interface Tables {
  items: { id: number; name: string };
}

async function withFile(work: (file: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'certkeeper-stmt-'));
  try {
    await work(join(dir, 'db.sqlite'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('SQLite statement cache', () => {
  it('prepares each SQL text once and reuses the statement', () => {
    const raw = new Database(':memory:');
    let prepared = 0;
    const counting = new Proxy(raw, {
      get(target, property, receiver) {
        if (property === 'prepare') {
          return (text: string) => {
            prepared += 1;
            return target.prepare(text);
          };
        }
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const cache = withStatementCache(counting);
    const first = cache.prepare('select 1 as one');
    const second = cache.prepare('select 1 as one');
    assert.equal(first, second);
    assert.equal(prepared, 1);
    cache.prepare('select 2 as two');
    assert.equal(prepared, 2);
    assert.equal(cache.cachedStatements, 2);
    cache.close();
    assert.equal(cache.cachedStatements, 0);
    assert.throws(() => raw.prepare('select 1'), /not open/);
  });

  it('keeps at most `size` statements and drops the least recently used', () => {
    const raw = new Database(':memory:');
    const cache = withStatementCache(raw, 3);
    const a = cache.prepare('select 1');
    cache.prepare('select 2');
    cache.prepare('select 3');
    assert.equal(cache.prepare('select 1'), a, 'a use makes it recent');
    cache.prepare('select 4'); // evicts `select 2`, the least recent
    assert.equal(cache.cachedStatements, 3);
    assert.equal(cache.prepare('select 1'), a, 'the recent one stayed');
    for (let i = 0; i < 100; i++) cache.prepare(`select ${i} + 1`);
    assert.equal(cache.cachedStatements, 3);
    cache.close();
  });

  it('reads outside a transaction directly, and refuses inside one and for writes', () => {
    const raw = new Database(':memory:');
    const cache = withStatementCache(raw);
    raw.exec("create table items (id integer primary key, name text not null); insert into items values (1, 'one')");
    assert.deepEqual(cache.readOutsideTransaction('select name from items where id = ?', [1]), [{ name: 'one' }]);
    assert.deepEqual(cache.readOutsideTransaction('select name from items where id = ?', [2]), []);
    assert.equal(cache.readOutsideTransaction("insert into items values (2, 'two')", []), null, 'a write is not run');
    assert.equal(
      cache.readOutsideTransaction("insert into items values (2, 'two') returning id", []),
      null,
      'nor a write that returns rows',
    );
    assert.equal((raw.prepare('select count(*) as n from items').get() as { n: number }).n, 1);
    // Another transaction, as Kysely opens it (through `prepare`, which ends the turn's reads).
    cache.prepare('begin').run([]);
    cache.prepare("insert into items values (3, 'uncommitted')").run([]);
    assert.equal(
      cache.readOutsideTransaction('select name from items where id = ?', [3]),
      null,
      'never reads inside an open transaction',
    );
    cache.prepare('rollback').run([]);
    assert.deepEqual(cache.readOutsideTransaction('select name from items where id = ?', [3]), []);
    cache.close();
  });

  it("runs one turn's reads in one read transaction, ended by the next statement that is not a read, or the turn's end", async () => {
    await withFile(async (file) => {
      const raw = new Database(file);
      raw.pragma('journal_mode = WAL');
      raw.exec("create table items (id integer primary key, name text not null); insert into items values (1, 'one')");
      const cache = withStatementCache(raw);
      const other = new Database(file);
      const count = (): unknown =>
        (cache.readOutsideTransaction('select count(*) as n from items', []) as Array<{ n: number }>)[0]!.n;
      try {
        assert.equal(count(), 1);
        assert.equal(raw.inTransaction, true, 'the read transaction stays open for the turn');
        // Another process commits: this turn's reads keep their snapshot, so a request's reads agree with each other.
        other.prepare("insert into items values (2, 'two')").run([]);
        assert.equal(count(), 1);
        // The turn ends: the read transaction is committed, the next read sees the commit.
        await new Promise<void>((resolve) => setImmediate(resolve));
        assert.equal(raw.inTransaction, false);
        assert.equal(count(), 2);
        // A statement through Kysely's path ends it first: a write never runs inside it, and the
        // reads after it see it.
        const insert = cache.prepare("insert into items values (3, 'three')");
        assert.equal(raw.inTransaction, false);
        insert.run([]);
        assert.equal(count(), 3);
        // A read through Kysely's path joins the turn's read transaction.
        assert.equal(count(), 3);
        other.prepare("insert into items values (10, 'ten')").run();
        assert.deepEqual(
          cache.prepare('select count(*) as n from items').all([])[0],
          { n: 3 },
          "a Kysely read in the turn shares the turn's snapshot",
        );
        assert.equal(raw.inTransaction, true);
        // A write with `returning` is a reader, but not read-only: it ends the read transaction.
        assert.deepEqual(cache.prepare("insert into items values (11, 'eleven') returning id").all([]), [{ id: 11 }]);
        assert.equal(raw.inTransaction, false, 'the insert with returning committed on its own');
        other.prepare('delete from items where id in (10, 11)').run();
        cache.prepare('begin immediate').run([]);
        cache.prepare("insert into items values (4, 'four')").run([]);
        cache.prepare('commit').run([]);
        assert.equal(count(), 4);
        // While a read transaction is open, another connection can still write; a checkpoint waits only for the turn.
        other.prepare("insert into items values (5, 'five')").run();
        await new Promise<void>((resolve) => setImmediate(resolve));
        assert.equal(count(), 5);
        cache.close();
        assert.equal(raw.open, false);
      } finally {
        other.close();
        if (raw.open) raw.close();
      }
    });
  });

  it('answers like a fresh statement through Kysely: reads, writes, parameters, transactions', async () => {
    const db = new Kysely<Tables>({
      dialect: new SqliteDialect({ database: withStatementCache(new Database(':memory:')) }),
    });
    try {
      await db.schema
        .createTable('items')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .execute();
      for (let i = 1; i <= 20; i++) {
        const result = await db
          .insertInto('items')
          .values({ id: i, name: `n${i}` })
          .executeTakeFirst();
        assert.equal(result.insertId, BigInt(i));
      }
      for (let i = 1; i <= 20; i++) {
        const row = await db.selectFrom('items').selectAll().where('id', '=', i).executeTakeFirstOrThrow();
        assert.deepEqual(row, { id: i, name: `n${i}` });
      }
      const updated = await db.updateTable('items').set({ name: 'x' }).where('id', '>', 15).executeTakeFirst();
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
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      assert.equal(n, 20);
    } finally {
      await db.destroy();
    }
  });

  it('a kept statement sees a column another connection added (SQLite re-prepares on schema change)', async () => {
    await withFile(async (file) => {
      const db = new Kysely<Tables>({
        dialect: new SqliteDialect({ database: withStatementCache(new Database(file)) }),
      });
      const other = new Database(file);
      try {
        await db.schema
          .createTable('items')
          .addColumn('id', 'integer', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull())
          .execute();
        await db.insertInto('items').values({ id: 1, name: 'a' }).execute();
        const before = await sql<Record<string, unknown>>`select * from items where id = ${1}`.execute(db);
        assert.deepEqual(before.rows, [{ id: 1, name: 'a' }]);
        other.exec(`alter table items add column extra text not null default 'e'`);
        const after = await sql<Record<string, unknown>>`select * from items where id = ${1}`.execute(db);
        assert.deepEqual(after.rows, [{ id: 1, name: 'a', extra: 'e' }]);
      } finally {
        other.close();
        await db.destroy();
      }
    });
  });
});

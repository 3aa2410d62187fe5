/**
 * Contract: the SQLite fast paths (src/store/sqlite-fast-paths.ts). The statement cache reuses
 * one prepared statement per SQL text, stays within its bound, gives the same answers as
 * preparing every time, keeps working when another connection changes the schema under a kept
 * statement, and reads directly (without Kysely) only when no transaction is open. The switch
 * turns every fast path off (Kysely prepares each query, templates are built on every call, no
 * read transaction is left open), the option wins over the environment variable, and a value of
 * the variable other than on/off is refused.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { connect } from '../../src/store/connect.ts';
import { StoreStartupError } from '../../src/store/errors.ts';
import { queryTemplate } from '../../src/store/query-template.ts';
import {
  SQLITE_FAST_PATHS_ENV,
  sqliteFastPathsEnabled,
  withStatementCache,
} from '../../src/store/sqlite-fast-paths.ts';

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

describe('the fast-path switch', () => {
  it('reads the option first, then CERTKEEPER_SQLITE_FAST_PATHS (on, empty or unset: on), and refuses other values', () => {
    assert.equal(SQLITE_FAST_PATHS_ENV, 'CERTKEEPER_SQLITE_FAST_PATHS');
    assert.equal(sqliteFastPathsEnabled(undefined, {}), true);
    assert.equal(sqliteFastPathsEnabled(undefined, { [SQLITE_FAST_PATHS_ENV]: '' }), true);
    assert.equal(sqliteFastPathsEnabled(undefined, { [SQLITE_FAST_PATHS_ENV]: 'on' }), true);
    assert.equal(sqliteFastPathsEnabled(undefined, { [SQLITE_FAST_PATHS_ENV]: 'off' }), false);
    assert.equal(sqliteFastPathsEnabled(true, { [SQLITE_FAST_PATHS_ENV]: 'off' }), true);
    assert.equal(sqliteFastPathsEnabled(false, {}), false);
    for (const bad of ['OFF', 'false', '0', 'no', ' off'])
      assert.throws(() => sqliteFastPathsEnabled(undefined, { [SQLITE_FAST_PATHS_ENV]: bad }), /must be "on" or "off"/);
  });

  it('a bad value of the variable stops connect with a start-up error, before the database is opened', async () => {
    await withFile(async (file) => {
      const saved = process.env[SQLITE_FAST_PATHS_ENV];
      process.env[SQLITE_FAST_PATHS_ENV] = 'of';
      try {
        await assert.rejects(connect({ dataDir: join(file, '..') }), (error: unknown) => {
          assert.ok(error instanceof StoreStartupError);
          assert.match(error.message, /CERTKEEPER_SQLITE_FAST_PATHS must be "on" or "off", not "of"/);
          return true;
        });
      } finally {
        if (saved === undefined) delete process.env[SQLITE_FAST_PATHS_ENV];
        else process.env[SQLITE_FAST_PATHS_ENV] = saved;
      }
    });
  });

  for (const on of [true, false]) {
    it(`${on ? 'on' : 'off'}: ${on ? 'a template is compiled once, prepared once, and its reads share a read transaction' : 'a template is built, compiled and prepared by Kysely on every call, and no read transaction stays open'}`, async () => {
      await withFile(async (file) => {
        const connection = await connect({ dataDir: join(file, '..'), sqliteFastPaths: on });
        const db = connection.db as unknown as Kysely<Tables>;
        let builds = 0;
        const byId = queryTemplate((d: Kysely<Tables>, id: number) => {
          builds += 1;
          return d.selectFrom('items').select('name').where('id', '=', id);
        });
        const prepare = Database.prototype.prepare;
        let prepared = 0;
        try {
          assert.equal(connection.sqliteFastPaths, on);
          await sql`create table items (id integer primary key, name text not null)`.execute(db);
          await db
            .insertInto('items')
            .values([
              { id: 1, name: 'one' },
              { id: 2, name: 'two' },
            ])
            .execute();
          const other = new Database(join(file, '..', 'certkeeper.db'));
          const rename = other.prepare('update items set name = ? where id = ?');
          Database.prototype.prepare = function (this: Database.Database, source: string) {
            prepared += 1;
            return prepare.call(this, source);
          } as typeof prepare;
          try {
            assert.deepEqual(await byId.all(db, 1), [{ name: 'one' }]);
            // Another connection commits between two reads of one turn: with the read transaction
            // (on), the turn keeps its snapshot; without it (off), each read sees the latest commit.
            rename.run('TWO', 2);
            assert.deepEqual(await byId.all(db, 2), [{ name: on ? 'two' : 'TWO' }]);
            assert.deepEqual(await byId.all(db, 1), [{ name: 'one' }]);
          } finally {
            other.close();
          }
          await new Promise<void>((resolve) => setImmediate(resolve));
          assert.deepEqual(await byId.all(db, 2), [{ name: 'TWO' }], 'the next turn sees the commit either way');
          // On: one build, and the template's text prepared once (plus begin/commit of the turns'
          // read transactions, prepared once each). Off: a build and a prepare per call (and one
          // more build, with placeholders, that checks the template once).
          assert.equal(builds, on ? 1 : 5);
          assert.equal(prepared, on ? 3 : 4);
        } finally {
          Database.prototype.prepare = prepare;
          await connection.db.destroy();
        }
      });
    });
  }
});

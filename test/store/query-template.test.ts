/**
 * Contract: a query template (src/store/query-template.ts) compiled once answers exactly what the
 * same query built afresh answers, for any values, constants included, inside a transaction too,
 * on both dialects; a read never sees another request's uncommitted rows (SQLite's direct
 * reads); a build that would not map each value to exactly one parameter is refused. `rowSet`
 * answers the same rows, as arrays on PostgreSQL (pg's row objects cost most on long pages),
 * read back through `columnKeys` to the same values.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql, type Kysely } from 'kysely';
import { connect, type Connection } from '../../src/store/connect.ts';
import {
  columnKeys,
  LIST_TEMPLATE_MAX,
  listTemplate,
  queryTemplate,
  type RowValues,
} from '../../src/store/query-template.ts';
import { inTransaction } from '../../src/store/transaction.ts';
import { storeTargets, type TestLocation } from '../helpers/db.ts';

interface Tables {
  items: { id: number; owner: number; name: string; state: string };
}

const rowsOf = (items: Tables['items'][]) =>
  items.map((item) => ({ ...item, id: Number(item.id), owner: Number(item.owner) }));

// Two values, and a constant ('DELETED') the builder adds as a parameter between them. One
// template for every store below: SQLite and PostgreSQL share it in this process, as the
// repositories' module-level templates do, so each dialect must get its own SQL text.
const fresh = (d: Kysely<Tables>, owner: number, after: number) =>
  d
    .selectFrom('items')
    .selectAll()
    .where('owner', '=', owner)
    .where('state', '<>', 'DELETED')
    .where('id', '>', after)
    .orderBy('id');
const template = queryTemplate(fresh);

for (const target of storeTargets) {
  describe(`query templates (${target.name})`, { skip: target.skip }, () => {
    let location: TestLocation;
    let connection: Connection;
    let db: Kysely<Tables>;

    before(async () => {
      location = await target.fresh();
      connection = await connect(location.options());
      db = connection.db as unknown as Kysely<Tables>;
      await sql`create table items (id integer primary key, owner integer not null, name text not null, state text not null)`.execute(
        db,
      );
      const rows = [];
      for (let id = 1; id <= 40; id++)
        rows.push({ id, owner: id % 4, name: `item-${id}`, state: id % 3 === 0 ? 'DELETED' : 'LIVE' });
      await db.insertInto('items').values(rows).execute();
    });
    after(async () => {
      await connection?.db.destroy();
      await location?.cleanup();
    });

    it('answers what the query built afresh answers, for every value', async () => {
      for (let owner = 0; owner < 5; owner++) {
        for (const after of [0, 7, 20, 39, 40]) {
          const expected = rowsOf(await fresh(db, owner, after).execute());
          assert.deepEqual(rowsOf(await template.all(db, owner, after)), expected, `owner ${owner} after ${after}`);
          assert.deepEqual(
            (await template.first(db, owner, after)) && rowsOf([(await template.first(db, owner, after))!]),
            expected.length ? [expected[0]] : undefined,
          );
        }
      }
      assert.ok((await template.all(db, 1, 0)).length > 0, 'the comparison is not between empty results');
    });

    it('rowSet: the same rows, as arrays on PostgreSQL, read by columnKeys', async () => {
      const names = ['id', 'owner', 'name', 'state', 'absent'] as const;
      for (const [owner, after] of [
        [1, 0],
        [2, 7],
        [3, 40],
      ] as const) {
        const expected = rowsOf(await template.all(db, owner, after));
        const set = await template.rowSet(db, owner, after);
        if (target.name === 'postgres') {
          assert.deepEqual(set.columns, ['id', 'owner', 'name', 'state']);
          for (const row of set.rows) assert.ok(Array.isArray(row), 'a row as an array');
          assert.equal((await template.rowSet(db, owner, after)).columns, set.columns, 'one columns array per text');
        } else assert.equal(set.columns, null);
        const at = columnKeys(names, set.columns);
        const read = (set.rows as readonly RowValues[]).map((row) => ({
          id: Number(row[at.id]),
          owner: Number(row[at.owner]),
          name: row[at.name],
          state: row[at.state],
        }));
        assert.deepEqual(read, expected, `owner ${owner} after ${after}`);
        for (const row of set.rows as readonly RowValues[])
          assert.equal(row[at.absent], undefined, 'a column not read');
      }
      assert.ok((await template.all(db, 1, 0)).length > 0, 'the comparison is not between empty results');
    });

    it('runs inside a transaction and sees its uncommitted rows', async () => {
      await inTransaction(db, connection.dialect, async (trx) => {
        await trx.insertInto('items').values({ id: 100, owner: 9, name: 'in-tx', state: 'LIVE' }).execute();
        assert.deepEqual(rowsOf(await template.all(trx, 9, 0)), [{ id: 100, owner: 9, name: 'in-tx', state: 'LIVE' }]);
      });
    });

    it("never sees another request's uncommitted rows: a read while a transaction is open waits or reads the committed state", async () => {
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let released = false;
      let inserted!: () => void;
      const didInsert = new Promise<void>((resolve) => (inserted = resolve));
      const writer = inTransaction(db, connection.dialect, async (trx) => {
        await trx.insertInto('items').values({ id: 200, owner: 7, name: 'pending', state: 'LIVE' }).execute();
        inserted();
        await held;
      });
      await didInsert; // the row is written, uncommitted; the transaction stays open until release()
      const read = template.all(db, 7, 0).then((rows) => ({ rows: rowsOf(rows), afterRelease: released }));
      await new Promise((resolve) => setTimeout(resolve, 20));
      released = true;
      release();
      await writer;
      const { rows, afterRelease } = await read;
      // Before release() the row cannot have been committed, so a read that finished then must
      // not hold it. SQLite: the read waits for the connection (it finishes after the release)
      // and sees the committed row. PostgreSQL: it runs on another connection and sees the
      // state before or after the commit, depending on when it ran.
      assert.ok(rows.length === 0 || afterRelease, `read ${JSON.stringify(rows)} while the transaction was open`);
      if (connection.dialect.label === 'SQLite')
        assert.ok(afterRelease, 'on SQLite the read waits for the open transaction');
      assert.deepEqual(rowsOf(await template.all(db, 7, 0)), [{ id: 200, owner: 7, name: 'pending', state: 'LIVE' }]);
    });

    it('list templates: one per `in` length up to the bound, a plain query beyond and for none', async () => {
      const byIds = listTemplate(1, (d: Kysely<Tables>, [owner]: unknown[], ids: unknown[]) =>
        d
          .selectFrom('items')
          .selectAll()
          .where('owner', '=', owner as number)
          .where('id', 'in', ids as number[])
          .orderBy('id'),
      );
      const plain = (owner: number, ids: number[]) =>
        ids.length === 0
          ? []
          : db
              .selectFrom('items')
              .selectAll()
              .where('owner', '=', owner)
              .where('id', 'in', ids)
              .orderBy('id')
              .execute();
      for (const ids of [
        [1],
        [5, 9, 13],
        [13, 5, 9],
        [2, 3],
        [],
        Array.from({ length: LIST_TEMPLATE_MAX + 5 }, (_, i) => i + 1),
      ]) {
        for (const owner of [1, 2]) {
          assert.deepEqual(
            rowsOf(await byIds.all(db, [owner], ids)),
            rowsOf(await plain(owner, ids)),
            `owner ${owner}, ${ids.length} ids`,
          );
        }
      }
      assert.ok((await byIds.all(db, [1], [5, 9, 13])).length === 3);
    });

    it('passes hostile text as a value, never as SQL', async () => {
      const byName = queryTemplate((d: Kysely<Tables>, name: string) =>
        d.selectFrom('items').select('id').where('name', '=', name),
      );
      assert.equal(await byName.first(db, "x' or '1'='1"), undefined);
      assert.equal(Number((await byName.first(db, 'item-5'))?.id), 5);
    });

    it('refuses a value that does not become exactly one parameter, and an `in` list', async () => {
      const dropped = queryTemplate((d: Kysely<Tables>, _owner: number) => d.selectFrom('items').selectAll());
      await assert.rejects(dropped.all(db, 1), /value 0 became 0 parameters/);
      const twice = queryTemplate((d: Kysely<Tables>, owner: number) =>
        d.selectFrom('items').selectAll().where('owner', '=', owner).where('id', '<>', owner),
      );
      await assert.rejects(twice.all(db, 1), /value 0 became 2 parameters/);
      // An `in` list cannot be a template value: Kysely writes `in ?` / `in $1` for the
      // placeholder, which neither database accepts; building refuses it, fast paths on or off.
      const inList = queryTemplate((d: Kysely<Tables>, ids: number[]) =>
        d.selectFrom('items').selectAll().where('id', 'in', ids),
      );
      await assert.rejects(inList.all(db, [1, 2]), /has an `in` list as a value \(use listTemplate\)/);
    });
  });
}

/**
 * Contract: a SQLite connection (src/store/connect.ts) runs with the settings the server and the
 * CLI rely on to share the file: WAL, a busy timeout, foreign keys, synchronous=NORMAL, and the
 * 32 MB page cache.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { connect } from '../../src/store/connect.ts';
import { freshSqlite } from '../helpers/db.ts';

describe('SQLite connection settings', () => {
  it('WAL, busy timeout, foreign keys, synchronous NORMAL, 32 MB page cache', async () => {
    const location = await freshSqlite();
    const { db } = await connect(location.options());
    try {
      const pragma = async (name: string): Promise<unknown> => Object.values((await sql.raw(`pragma ${name}`).execute(db)).rows[0] as object)[0];
      assert.equal(await pragma('journal_mode'), 'wal');
      assert.equal(await pragma('busy_timeout'), 5000);
      assert.equal(await pragma('foreign_keys'), 1);
      assert.equal(await pragma('synchronous'), 1, 'NORMAL');
      assert.equal(await pragma('cache_size'), -32 * 1024);
    } finally {
      await db.destroy();
      await location.cleanup();
    }
  });
});

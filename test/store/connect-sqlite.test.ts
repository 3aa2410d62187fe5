/**
 * Contract: a SQLite connection (src/store/connect.ts) runs with the settings the server and the
 * CLI rely on to share the file: WAL, a busy timeout, foreign keys, synchronous=NORMAL, the
 * 16 MB page cache, and stable query plans when the extension was built (at npm install: under
 * CI=true it must have been); without the extension, or with a broken one, it still connects.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { connect, STABLE_PLANS_EXTENSION } from '../../src/store/connect.ts';
import { freshSqlite } from '../helpers/db.ts';

describe('SQLite connection settings', () => {
  it('WAL, busy timeout, foreign keys, synchronous NORMAL, 16 MB page cache', async () => {
    const location = await freshSqlite();
    const { db } = await connect(location.options());
    try {
      const pragma = async (name: string): Promise<unknown> =>
        Object.values((await sql.raw(`pragma ${name}`).execute(db)).rows[0] as object)[0];
      assert.equal(await pragma('journal_mode'), 'wal');
      assert.equal(await pragma('busy_timeout'), 5000);
      assert.equal(await pragma('foreign_keys'), 1);
      assert.equal(await pragma('synchronous'), 1, 'NORMAL');
      assert.equal(await pragma('cache_size'), -16 * 1024);
    } finally {
      await db.destroy();
      await location.cleanup();
    }
  });

  const built = existsSync(STABLE_PLANS_EXTENSION);
  const skip =
    built || process.env.CI === 'true'
      ? false
      : `the stable-plans extension is not built (${STABLE_PLANS_EXTENSION}); npm run build:sqlite-extension`;

  it('loads the stable-plans extension built at npm install', { skip }, async () => {
    assert.ok(
      built,
      `CI=true: ${STABLE_PLANS_EXTENSION} must have been built by npm install (scripts/build-sqlite-extension.mjs)`,
    );
    const location = await freshSqlite();
    const { db, stablePlans } = await connect(location.options());
    try {
      assert.equal(stablePlans, true);
      const { rows } = await sql<{ on: number }>`select certkeeper_stable_plans() as "on"`.execute(db);
      assert.equal(rows[0]?.on, 1);
    } finally {
      await db.destroy();
      await location.cleanup();
    }
  });

  it('connects without the extension, or with a file that is not one, and says so', async () => {
    const location = await freshSqlite();
    const broken = join(location.dataDir, 'not-an-extension.so');
    await writeFile(broken, 'not a shared object');
    try {
      for (const extension of [join(location.dataDir, 'missing.so'), broken]) {
        const { db, stablePlans } = await connect({ ...location.options(), sqliteExtension: extension });
        try {
          assert.equal(stablePlans, false, extension);
          const { rows } = await sql<{ n: number }>`select 1 as n`.execute(db);
          assert.equal(rows[0]?.n, 1);
        } finally {
          await db.destroy();
        }
      }
    } finally {
      await location.cleanup();
    }
  });
});

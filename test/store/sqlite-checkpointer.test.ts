/**
 * Contract: the WAL checkpoint worker (src/store/sqlite-checkpointer.ts) copies committed WAL
 * frames into the database file off the event loop, stops with a last checkpoint, reports a
 * worker that cannot work instead of throwing, and the serving store uses it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startCheckpointer } from '../../src/store/sqlite-checkpointer.ts';
import { SQLITE_FILE } from '../../src/store/connect.ts';
import { openStore } from '../../src/store/open.ts';
import { makeTenant, testMasterKey } from '../helpers/db.ts';

async function withDir(work: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'certkeeper-ckpt-'));
  try {
    await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('SQLite WAL checkpoint worker', () => {
  it('copies committed WAL frames into the database file while the writer goes on', async () => {
    await withDir(async (dir) => {
      const file = join(dir, 'db.sqlite');
      const writer = new Database(file);
      writer.pragma('journal_mode = WAL');
      writer.pragma('wal_autocheckpoint = 0'); // only the worker checkpoints
      writer.exec('create table t (id integer primary key, v text not null)');
      const insert = writer.prepare('insert into t (v) values (?)');
      writer.transaction(() => {
        for (let i = 0; i < 2000; i++) insert.run('x'.repeat(1000));
      })();
      const before = statSync(file).size;
      assert.ok(statSync(`${file}-wal`).size > 2_000_000, 'the rows are in the WAL');
      assert.ok(before < 100_000, `the database file has not grown yet (${before} bytes)`);
      const errors: string[] = [];
      const checkpointer = startCheckpointer(file, (message) => errors.push(message), 20);
      try {
        await until(() => statSync(file).size > 2_000_000, 'the database file to hold the rows');
        assert.ok((await checkpointer.checkpoints()) >= 1);
        // The writer is never blocked by it.
        writer.transaction(() => {
          for (let i = 0; i < 100; i++) insert.run('y');
        })();
        assert.equal((writer.prepare('select count(*) as n from t').get() as { n: number }).n, 2100);
      } finally {
        await checkpointer.stop();
        writer.close();
      }
      assert.deepEqual(errors, []);
    });
  });

  it('runs a last checkpoint on stop, and stop never throws, twice or after the worker is gone', async () => {
    await withDir(async (dir) => {
      const file = join(dir, 'db.sqlite');
      const writer = new Database(file);
      writer.pragma('journal_mode = WAL');
      writer.pragma('wal_autocheckpoint = 0');
      writer.exec('create table t (v text)');
      // An interval far longer than the test: only stop() can have checkpointed.
      const checkpointer = startCheckpointer(file, () => undefined, 3_600_000);
      await checkpointer.checkpoints(); // the worker is up
      writer.prepare('insert into t values (?)').run('z'.repeat(200_000));
      const before = statSync(file).size;
      await checkpointer.stop();
      assert.ok(statSync(file).size > before + 100_000, 'stop checkpointed the row into the file');
      await checkpointer.stop();
      assert.equal(await checkpointer.checkpoints(), 0);
      writer.close();
    });
  });

  it('reports a worker that cannot open the database instead of throwing', async () => {
    await withDir(async (dir) => {
      const errors: string[] = [];
      const checkpointer = startCheckpointer(join(dir, 'missing', 'db.sqlite'), (message) => errors.push(message), 20);
      await until(() => errors.length > 0, 'the error report');
      assert.match(errors[0]!, /WAL checkpoint worker stopped/);
      assert.doesNotMatch(errors[0]!, /missing/, 'no path or message text from the error');
      await checkpointer.stop();
    });
  });

  it('serves a store once started: commits stay in the WAL until the worker copies them, and close leaves no WAL behind', async () => {
    await withDir(async (dir) => {
      const errors: string[] = [];
      const store = await openStore({ dataDir: dir, masterKey: testMasterKey() });
      const file = join(dir, SQLITE_FILE);
      const tenant = await makeTenant(store);
      store.startBackgroundCheckpoints((message) => errors.push(message));
      store.startBackgroundCheckpoints((message) => errors.push(`second: ${message}`)); // once only
      const before = statSync(file).size;
      // About 1.5 MB of events: under SQLite's own 1,000-page threshold, so only the worker copies them.
      const detail = { text: 'x'.repeat(1500) };
      await Promise.all(
        Array.from({ length: 1000 }, (_, i) =>
          store.audit.append({
            tenantId: tenant.id,
            actor: 'cli',
            action: 'test.fill',
            target: `fill:${i}`,
            result: 'success',
            remoteAddress: null,
            detail,
            at: new Date(),
          }),
        ),
      );
      await until(() => statSync(file).size > before + 1_000_000, 'the worker to copy the WAL into the file');
      await store.close();
      assert.equal(existsSync(`${file}-wal`), false);
      const reader = new Database(file, { readonly: true });
      assert.equal(
        (reader.prepare('select name from tenants where id = ?').get(tenant.id) as { name: string }).name,
        tenant.name,
      );
      assert.equal(
        (reader.prepare("select count(*) as n from audit_events where action = 'test.fill'").get() as { n: number }).n,
        1000,
      );
      reader.close();
      assert.deepEqual(errors, []);
    });
  });
});

/**
 * Issue 22: the SQLite files (`certkeeper.db`, `-wal`, `-shm`) are created 0600, and an older
 * store's 0644 files are narrowed when it is opened.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { openApp } from '../../src/app/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { SQLITE_FILE } from '../../src/store/connect.ts';
import { NOW } from '../api/console/helpers.ts';
import { TestClock } from '../helpers/app.ts';
import { freshSqlite, testMasterKey } from '../helpers/db.ts';

describe('SQLite data files are owner only', () => {
  it('certkeeper.db, -wal and -shm are created 0600, and older 0644 files are narrowed', async () => {
    const location = await freshSqlite();
    const config = loadConfig({
      CERTKEEPER_DATA_DIR: location.dataDir,
      CERTKEEPER_PORT: '0',
      CERTKEEPER_LOG_LEVEL: 'silent',
      CERTKEEPER_MASTER_KEY: testMasterKey(),
    });
    const files = [SQLITE_FILE, `${SQLITE_FILE}-wal`, `${SQLITE_FILE}-shm`].map((f) => join(location.dataDir, f));
    const modes = () => files.map((f) => (statSync(f).mode & 0o777).toString(8));
    const previous = process.umask(0o022);
    try {
      let app = await openApp(config, { clock: new TestClock(NOW) });
      await app.core.tenants.create('modes');
      assert.deepEqual(modes(), ['600', '600', '600']);
      await app.close();

      for (const file of files.slice(0, 1)) chmodSync(file, 0o644);
      app = await openApp(config, { clock: new TestClock(NOW) });
      await app.core.tenants.create('modes-again');
      assert.deepEqual(modes(), ['600', '600', '600']);
      await app.close();
    } finally {
      process.umask(previous);
      await location.cleanup();
    }
  });
});

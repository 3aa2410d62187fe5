/**
 * Contract of migration 0021: on PostgreSQL, `notify_schedule` is vacuumed after a fixed number
 * of dead row versions (scale factor 0), not after 20 % of the table; the setting is on the table
 * itself, so it holds whatever the server's defaults are. SQLite has nothing to set.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openStore, type StoreHandle } from '../../src/store/open.ts';
import { NOTIFY_SCHEDULE_VACUUM_THRESHOLD } from '../../src/store/migrations/0021-notify-schedule-autovacuum.ts';
import { postgresSkip, rawQuery, storeTargets, testMasterKey, type TestLocation } from '../helpers/db.ts';

describe('notify_schedule autovacuum settings (postgres)', { skip: postgresSkip }, () => {
  let location: TestLocation;
  let store: StoreHandle;
  before(async () => {
    location = await storeTargets[1]!.fresh();
    store = await openStore(location.options({ masterKey: testMasterKey() }));
  });
  after(async () => {
    await store?.close();
    await location?.cleanup();
  });

  it('vacuums notify_schedule after a fixed count of dead rows', async () => {
    const rows = await rawQuery(location, `select reloptions from pg_class where relname = 'notify_schedule'`);
    assert.deepEqual([...(rows[0]!.reloptions as string[])].sort(), [
      'autovacuum_vacuum_scale_factor=0',
      `autovacuum_vacuum_threshold=${NOTIFY_SCHEDULE_VACUUM_THRESHOLD}`,
    ]);
  });
});

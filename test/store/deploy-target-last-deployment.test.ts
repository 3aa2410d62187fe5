/**
 * Contract: the tenant's deploy target keeps the worker's last publish or removal (migration
 * 0020), per tenant, whatever else the server did since; setting the target again clears it, and
 * a tenant without a target records nothing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openStore, type StoreHandle } from '../../src/store/open.ts';
import { makeTenant, storeTargets, testMasterKey, type TestLocation } from '../helpers/db.ts';

for (const target of storeTargets) {
  describe(`deploy target's last deployment (${target.name})`, { skip: target.skip }, () => {
    let location: TestLocation;
    let store: StoreHandle;
    before(async () => {
      location = await target.fresh();
      store = await openStore(location.options({ masterKey: testMasterKey() }));
    });
    after(async () => {
      await store?.close();
      await location?.cleanup();
    });

    it('is kept per tenant, the newest wins, and a new target starts with none', async () => {
      const [a, b, none] = [await makeTenant(store), await makeTenant(store), await makeTenant(store)];
      const spec = { kind: 'directory' as const, path: '/srv/certs', reloadCommand: null, reloadTimeoutMs: 10_000 };
      await store.targets.set(a.id, spec, null, new Date('2026-12-01T00:00:00Z'));
      await store.targets.set(b.id, spec, null, new Date('2026-12-01T00:00:00Z'));
      assert.equal((await store.targets.get(a.id))?.lastDeployment, null);

      const first = { slotId: 7, action: 'publish' as const, result: 'success' as const, at: new Date(1_000) };
      const second = { slotId: 8, action: 'remove' as const, result: 'failure' as const, at: new Date(2_000) };
      await store.targets.recordDeployment(a.id, first);
      await store.targets.recordDeployment(a.id, second);
      await store.targets.recordDeployment(b.id, first);
      await store.targets.recordDeployment(none.id, first);
      assert.deepEqual((await store.targets.get(a.id))?.lastDeployment, second);
      assert.deepEqual((await store.targets.get(b.id))?.lastDeployment, first);
      assert.equal(await store.targets.get(none.id), null, 'no target: nothing recorded, no row made');

      await store.targets.set(a.id, { ...spec, path: '/srv/other' }, null, new Date('2026-12-02T00:00:00Z'));
      assert.equal((await store.targets.get(a.id))?.lastDeployment, null);
    });
  });
}

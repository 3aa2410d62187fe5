/**
 * An audit event is never lost to a NUL (issue 22: PostgreSQL's `text` cannot hold U+0000, and a
 * failed append fails the request it audits). The repository records NUL as U+FFFD in its text
 * columns, alike on both stores; `detail` is JSON, which escapes it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openStore, type StoreHandle } from '../../src/store/open.ts';
import { makeTenant, storeTargets, type TestLocation } from '../helpers/db.ts';

for (const target of storeTargets) {
  describe(`${target.name}: audit events with a NUL`, { skip: target.skip }, () => {
    let location: TestLocation;
    let store: StoreHandle;
    let tenantId: number;
    before(async () => {
      location = await target.fresh();
      store = await openStore(location.options());
      tenantId = (await makeTenant(store)).id;
    });
    after(async () => {
      await store?.close();
      await location?.cleanup();
    });

    it('are written, NUL recorded as U+FFFD, the detail as given', async () => {
      await store.audit.append({
        tenantId,
        actor: 'ak\u0000x',
        action: 'certificate.import',
        target: 'certificate-name:\u0000www',
        result: 'failure',
        remoteAddress: '192.0.2.7\u0000',
        detail: { name: 'a\u0000b' },
        at: new Date('2026-11-02T03:04:05.678Z'),
      });
      const [event] = await store.audit.list({ tenantId, limit: 1 });
      assert.ok(event);
      assert.equal(event.actor, 'ak\uFFFDx');
      assert.equal(event.target, 'certificate-name:\uFFFDwww');
      assert.equal(event.remoteAddress, '192.0.2.7\uFFFD');
      assert.deepEqual(event.detail, { name: 'a\u0000b' });
    });
  });
}

/**
 * Core credentials against a real store: secrets open for verification, the opened-secret cache
 * never outlives a revocation (made by this core or by another one on the same store, as the CLI
 * in another process would).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createCore, type Core } from '../../src/core/core.ts';
import { openStore, type StoreHandle } from '../../src/store/open.ts';
import { TestClock } from '../helpers/app.ts';
import { storeTargets, testMasterKey, type TestLocation } from '../helpers/db.ts';

const hmac = (key: Parameters<typeof createHmac>[1], text: string): string =>
  createHmac('sha256', key).update(text).digest('base64');

for (const target of storeTargets) {
  describe(`core credentials on ${target.name}`, { skip: target.skip }, () => {
    let location: TestLocation;
    let store: StoreHandle;
    let core: Core;
    let other: Core;
    let tenantId: number;

    before(async () => {
      location = await target.fresh();
      store = await openStore(location.options({ masterKey: testMasterKey() }));
      core = createCore(store, new TestClock());
      other = createCore(store, new TestClock());
      tenantId = (await core.tenants.create('creds')).id;
    });

    after(async () => {
      await store.close();
      await location.cleanup();
    });

    it('opens the secret, and its signing key signs like the secret text', async () => {
      const created = await core.credentials.createForTenant(tenantId, 'ADMIN');
      const first = await core.credentials.lookupForVerification(created.credential.accessKey);
      assert.ok(first);
      assert.equal(first.secretKey, created.secretKey);
      assert.equal(hmac(first.signingKey, 'GET /x\n1\nAK'), hmac(created.secretKey, 'GET /x\n1\nAK'));
      const second = await core.credentials.lookupForVerification(created.credential.accessKey);
      assert.equal(second?.signingKey, first.signingKey, 'the second lookup reuses the opened key');
      assert.equal(await core.credentials.lookupForVerification('NO-SUCH-KEY'), null);
      assert.equal(await core.credentials.lookupForVerification(''), null);
    });

    it('a revocation by another core (another process) takes effect on the next lookup', async () => {
      const created = await core.credentials.createForTenant(tenantId, 'VIEWER');
      const accessKey = created.credential.accessKey;
      assert.ok(await core.credentials.lookupForVerification(accessKey));
      assert.ok(await core.credentials.verifySecret(accessKey, created.secretKey));
      await other.credentials.revoke(null, accessKey);
      assert.equal(await core.credentials.lookupForVerification(accessKey), null);
      assert.equal(await core.credentials.verifySecret(accessKey, created.secretKey), null);
    });
  });
}

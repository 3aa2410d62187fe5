/**
 * Migration 0015 on both stores: a certificate inserted with a requested certificate number takes
 * the request's ARN id (SQLite's trigger, PostgreSQL's BEFORE INSERT trigger), every other insert
 * still gets a fresh one; requests are found by ARN id and by IdempotencyToken within a window;
 * a tag may have no value.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { openStore, type StoreHandle } from '../../src/store/open.ts';
import { makeTenant, newCertificate, storeTargets, testMasterKey, type TestLocation } from '../helpers/db.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

for (const target of storeTargets) {
  describe(`ACM requests and tags in the store (${target.name})`, { skip: target.skip }, () => {
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

    it('gives the landed certificate the request ARN id, and finds requests', async () => {
      const tenant = await makeTenant(store);
      const at = new Date('2026-12-01T00:00:00Z');
      const order = await store.issuance.createOrder(
        {
          tenantId: tenant.id,
          kind: 'issue',
          certificateName: 'acm-requested',
          certificateNo: null,
          names: [`req-${randomUUID().slice(0, 8)}.example.test`],
          keyKind: 'ec-p256',
          method: 'dns-01',
          renewal: true,
          replaces: null,
        },
        at,
      );
      assert.ok(order.certificateNo !== null);
      const arnId = randomUUID();
      await store.acm.createRequest({
        arnId,
        tenantId: tenant.id,
        certificateNo: order.certificateNo,
        orderId: order.orderId,
        idempotencyToken: 'tok_1',
        createdAt: at,
      });
      assert.deepEqual(await store.acm.requestByArnId(tenant.id, arnId), {
        arnId,
        tenantId: tenant.id,
        certificateNo: order.certificateNo,
        orderId: order.orderId,
        idempotencyToken: 'tok_1',
        createdAt: at,
      });
      const other = await makeTenant(store);
      assert.equal(await store.acm.requestByArnId(other.id, arnId), null, "another tenant's request is not found");
      assert.equal((await store.acm.requestByToken(tenant.id, 'tok_1', at))?.arnId, arnId);
      assert.equal(await store.acm.requestByToken(tenant.id, 'tok_1', new Date(at.getTime() + 1)), null);
      assert.equal(await store.acm.requestByToken(other.id, 'tok_1', at), null);

      // Another certificate first: a fresh ARN id of its own.
      const plain = await store.certificates.insert(newCertificate(tenant.id), at);
      const landed = await store.certificates.insert(
        newCertificate(tenant.id, { certificateNo: order.certificateNo, origin: 'acme' }),
        at,
      );
      assert.equal(landed.certificateNo, order.certificateNo);
      const ids = await store.acm.arnIds(tenant.id, [plain.certificateNo, landed.certificateNo]);
      assert.equal(ids.get(landed.certificateNo), arnId);
      assert.match(ids.get(plain.certificateNo)!, UUID);
      assert.notEqual(ids.get(plain.certificateNo), arnId);
      assert.equal(await store.acm.certificateNoOf(tenant.id, arnId), landed.certificateNo);
    });

    it('keeps a tag without a value', async () => {
      const tenant = await makeTenant(store);
      const certificate = await store.certificates.insert(newCertificate(tenant.id), new Date());
      assert.equal(
        await store.acm.addTags(
          tenant.id,
          certificate.certificateNo,
          [
            { key: 'bare', value: null },
            { key: 'k', value: '' },
          ],
          50,
        ),
        'ok',
      );
      assert.deepEqual(await store.acm.tags(tenant.id, certificate.certificateNo), [
        { key: 'bare', value: null },
        { key: 'k', value: '' },
      ]);
      assert.equal(
        await store.acm.removeTags(tenant.id, certificate.certificateNo, [{ key: 'bare', value: null }]),
        true,
      );
      assert.deepEqual(await store.acm.tags(tenant.id, certificate.certificateNo), [{ key: 'k', value: '' }]);
    });
  });
}

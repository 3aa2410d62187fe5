/**
 * Migration 0015 on both stores: a certificate inserted with a requested certificate number takes
 * the request's ARN id (SQLite's trigger, PostgreSQL's BEFORE INSERT trigger), every other insert
 * still gets a fresh one; requests are found by ARN id and by IdempotencyToken within a window;
 * a tag may have no value. Migration 0017: requests not landed are listed beside certificates in
 * one keyset order, filtered by what their order came to and their key kind; a landing keeps the
 * item's place (created_at) and moves the request's tags to the certificate; tags of a request
 * are read, added and removed while it is pending.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { openStore, type StoreHandle } from '../../src/store/open.ts';
import type { AcmListed, AcmListQuery } from '../../src/core/ports.ts';
import type { CertificateKeyKind } from '../../src/core/issuance/issuer.ts';
import { ORDER_STEPS, type OrderUpdate } from '../../src/core/issuance/ports.ts';
import { makeTenant, newCertificate, rawQuery, storeTargets, testMasterKey, type TestLocation } from '../helpers/db.ts';

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
      await store.acm.createRequest(
        {
          arnId,
          tenantId: tenant.id,
          certificateNo: order.certificateNo,
          orderId: order.orderId,
          idempotencyToken: 'tok_1',
          createdAt: at,
          landedAt: null,
        },
        [],
      );
      assert.deepEqual(await store.acm.requestByArnId(tenant.id, arnId), {
        arnId,
        tenantId: tenant.id,
        certificateNo: order.certificateNo,
        orderId: order.orderId,
        idempotencyToken: 'tok_1',
        createdAt: at,
        landedAt: null,
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

    /** An order and its request, created at `at`; answers the request's ARN id and reserved number. */
    async function request(
      tenantId: number,
      at: Date,
      options: { keyKind?: CertificateKeyKind; tags?: Array<{ key: string; value: string | null }> } = {},
    ): Promise<{ arnId: string; certificateNo: number; orderId: number }> {
      const order = await store.issuance.createOrder(
        {
          tenantId,
          kind: 'issue',
          certificateName: `acm-${randomUUID().slice(0, 8)}`,
          certificateNo: null,
          names: [`req-${randomUUID().slice(0, 8)}.example.test`],
          keyKind: options.keyKind ?? 'rsa-2048',
          method: 'dns-01',
          renewal: true,
          replaces: null,
        },
        at,
      );
      const arnId = randomUUID();
      await store.acm.createRequest(
        {
          arnId,
          tenantId,
          certificateNo: order.certificateNo!,
          orderId: order.orderId,
          idempotencyToken: null,
          createdAt: at,
          landedAt: null,
        },
        options.tags ?? [],
      );
      return { arnId, certificateNo: order.certificateNo!, orderId: order.orderId };
    }

    /** Moves an order as the worker would: claimed, then advanced. */
    async function endOrder(orderId: number, update: OrderUpdate): Promise<void> {
      const now = new Date();
      assert.ok(await store.issuance.claim(orderId, 'test', now, new Date(now.getTime() + 60_000)));
      await store.issuance.advance(orderId, 'test', update, now);
    }

    const RUNNING = ORDER_STEPS.filter(
      (s) => !['done', 'failed', 'validation_failed', 'validation_expired', 'revoked'].includes(s),
    );
    const everything = (tenantId: number, over: Partial<AcmListQuery> = {}): AcmListQuery => ({
      tenantId,
      asOf: new Date('2026-12-02T00:00:00Z'),
      certificates: ['issued', 'expired', 'revoked'],
      keyTypes: null,
      requests: { steps: [...ORDER_STEPS], keyKinds: ['rsa-2048', 'ec-p256', 'ec-p384'] },
      order: 'asc',
      after: null,
      limit: 100,
      ...over,
    });
    const idOf = (item: AcmListed) => item.arnId;

    it('lists requests not landed beside certificates, in one keyset order, filtered', async () => {
      const tenant = await makeTenant(store);
      const t = (minute: number) => new Date(Date.UTC(2026, 11, 1, 0, minute));
      const c1 = await store.certificates.insert(newCertificate(tenant.id), t(1));
      const r2 = await request(tenant.id, t(2));
      const c3 = await store.certificates.insert(newCertificate(tenant.id), t(3));
      const r4 = await request(tenant.id, t(4), { keyKind: 'ec-p384' });
      const r5 = await request(tenant.id, t(5));
      await endOrder(r5.orderId, { step: 'validation_expired', nextAttemptAt: null });
      const r6 = await request(tenant.id, t(6));
      await endOrder(r6.orderId, { step: 'cleanup', outcome: 'failed', nextAttemptAt: null });
      const a1 = c1.certificateNo;
      const a3 = c3.certificateNo;
      const ids = await store.acm.arnIds(tenant.id, [a1, a3]);
      const [id1, id3] = [ids.get(a1)!, ids.get(a3)!];

      const all = await store.acm.list(everything(tenant.id));
      assert.deepEqual(all.map(idOf), [id1, r2.arnId, id3, r4.arnId, r5.arnId, r6.arnId]);
      const requested = all.filter((i) => i.kind === 'requested');
      assert.deepEqual(
        requested.map((i) => [i.keyKind, i.ended, i.createdAt.getTime()]),
        [
          ['rsa-2048', 'new', t(2).getTime()],
          ['ec-p384', 'new', t(4).getTime()],
          ['rsa-2048', 'validation_expired', t(5).getTime()],
          ['rsa-2048', 'failed', t(6).getTime()],
        ],
      );
      const desc = await store.acm.list(everything(tenant.id, { order: 'desc' }));
      assert.deepEqual(desc.map(idOf), all.map(idOf).reverse());

      // Keyset: strictly after a request's position, and after a certificate's; limits hold.
      const afterR2 = await store.acm.list(
        everything(tenant.id, { after: { createdAt: t(2).getTime(), certificateNo: r2.certificateNo }, limit: 2 }),
      );
      assert.deepEqual(afterR2.map(idOf), [id3, r4.arnId]);
      const beforeC3 = await store.acm.list(
        everything(tenant.id, { order: 'desc', after: { createdAt: t(3).getTime(), certificateNo: a3 } }),
      );
      assert.deepEqual(beforeC3.map(idOf), [r2.arnId, id1]);

      // Filters: what the order came to, key kinds; no requests at all; no certificates at all.
      const running = await store.acm.list(
        everything(tenant.id, { requests: { steps: RUNNING, keyKinds: ['rsa-2048'] } }),
      );
      assert.deepEqual(running.map(idOf), [id1, r2.arnId, id3]);
      const timedOut = await store.acm.list(
        everything(tenant.id, {
          certificates: [],
          requests: { steps: ['validation_expired'], keyKinds: ['rsa-2048'] },
        }),
      );
      assert.deepEqual(timedOut.map(idOf), [r5.arnId]);
      const failed = await store.acm.list(
        everything(tenant.id, {
          certificates: [],
          requests: { steps: ['failed', 'validation_failed'], keyKinds: ['rsa-2048'] },
        }),
      );
      assert.deepEqual(failed.map(idOf), [r6.arnId]);
      const certificatesOnly = await store.acm.list(everything(tenant.id, { requests: null }));
      assert.deepEqual(certificatesOnly.map(idOf), [id1, id3]);
      const other = await makeTenant(store);
      assert.deepEqual(await store.acm.list(everything(other.id)), [], "another tenant's requests are not listed");
    });

    it('a landing keeps the place, takes the ARN id, the time and the tags; tags while pending', async () => {
      const tenant = await makeTenant(store);
      const t = (minute: number) => new Date(Date.UTC(2026, 11, 1, 1, minute));
      const before = await store.certificates.insert(newCertificate(tenant.id), t(1));
      const req = await request(tenant.id, t(2), {
        tags: [
          { key: 'env', value: 'prod' },
          { key: 'bare', value: null },
        ],
      });
      const later = await store.certificates.insert(newCertificate(tenant.id), t(3));
      const other = await makeTenant(store);

      assert.equal(await store.acm.taggableNo(tenant.id, req.arnId), req.certificateNo);
      assert.equal(await store.acm.taggableNo(other.id, req.arnId), null);
      assert.equal(await store.acm.certificateNoOf(tenant.id, req.arnId), null, 'not a certificate yet');
      assert.deepEqual(await store.acm.tags(tenant.id, req.certificateNo), [
        { key: 'bare', value: null },
        { key: 'env', value: 'prod' },
      ]);
      assert.equal(await store.acm.addTags(tenant.id, req.certificateNo, [{ key: 'team', value: 'a' }], 50), 'ok');
      assert.equal(await store.acm.addTags(tenant.id, req.certificateNo, [{ key: 'x', value: 'y' }], 3), 'too_many');
      assert.equal(await store.acm.removeTags(tenant.id, req.certificateNo, [{ key: 'bare' }]), true);
      assert.equal(await store.acm.addTags(other.id, req.certificateNo, [{ key: 'x', value: 'y' }], 50), 'not_found');

      const listedBefore = await store.acm.list(everything(tenant.id));
      const landed = await store.certificates.insert(
        newCertificate(tenant.id, { certificateNo: req.certificateNo, origin: 'acme' }),
        t(30),
      );
      assert.equal(landed.certificateNo, req.certificateNo);
      const listedAfter = await store.acm.list(everything(tenant.id));
      assert.deepEqual(listedAfter.map(idOf), listedBefore.map(idOf), 'the same items in the same order');
      assert.deepEqual(
        listedAfter.map((i) => i.kind),
        ['certificate', 'certificate', 'certificate'],
      );
      const item = listedAfter[1]!;
      assert.ok(item.kind === 'certificate');
      assert.equal(item.summary.createdAt.getTime(), t(2).getTime(), "the request's time is the certificate's");
      assert.equal(item.summary.certificateNo, req.certificateNo);
      assert.equal((await store.acm.requestByArnId(tenant.id, req.arnId))?.landedAt?.getTime(), t(30).getTime());
      assert.equal(await store.acm.certificateNoOf(tenant.id, req.arnId), req.certificateNo);
      assert.equal(await store.acm.taggableNo(tenant.id, req.arnId), req.certificateNo);
      assert.deepEqual(await store.acm.tags(tenant.id, req.certificateNo), [
        { key: 'env', value: 'prod' },
        { key: 'team', value: 'a' },
      ]);
      assert.deepEqual(
        await rawQuery(location, `select key from acm_request_tags where certificate_no = ${req.certificateNo}`),
        [],
      );
      // The certificate's tags now: the certificate's rules (still 50 at most).
      assert.equal(await store.acm.addTags(tenant.id, req.certificateNo, [{ key: 'x', value: 'y' }], 3), 'ok');
      assert.deepEqual(
        [before, later].map((c) => c.certificateNo).every((n) => n !== req.certificateNo),
        true,
      );
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

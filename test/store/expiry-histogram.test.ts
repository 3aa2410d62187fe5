/**
 * The days-to-expiry histogram behind /metrics, computed in SQL, agrees with the reference
 * implementation over the same notAfter values, on every store; deleted certificates and other
 * tenants are left out when asked.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EXPIRY_BUCKETS_DAYS, expiryHistogramOf } from '../../src/server/index.ts';
import { openStore, type StoreHandle } from '../../src/store/open.ts';
import { makeTenant, newCertificate, storeTargets, testMasterKey, type TestLocation } from '../helpers/db.ts';

const DAY = 86_400_000;
const asOf = new Date(Date.UTC(2026, 5, 1));
const offsetsDays = [-30, -1, 0, 0.5, 6.9, 7, 13, 29.5, 45, 89, 120, 200, 400, 1000];

for (const target of storeTargets) {
  describe(`expiryHistogram on ${target.name}`, { skip: target.skip }, () => {
    let location: TestLocation;
    let store: StoreHandle;
    let tenantA: number;
    let tenantB: number;

    before(async () => {
      location = await target.fresh();
      store = await openStore(location.options({ masterKey: testMasterKey() }));
      tenantA = (await makeTenant(store)).id;
      tenantB = (await makeTenant(store)).id;
      for (const offset of offsetsDays) {
        const notAfter = new Date(asOf.getTime() + offset * DAY);
        await store.certificates.insert(
          newCertificate(tenantA, { facts: { notBefore: new Date(notAfter.getTime() - 400 * DAY), notAfter } }),
          asOf,
        );
      }
      const other = await store.certificates.insert(
        newCertificate(tenantB, { facts: { notAfter: new Date(asOf.getTime() + 3 * DAY) } }),
        asOf,
      );
      const gone = await store.certificates.insert(
        newCertificate(tenantB, { facts: { notAfter: new Date(asOf.getTime() + 5 * DAY) } }),
        asOf,
      );
      await store.certificates.markDeleted(tenantB, gone.certificateNo, asOf);
      assert.ok(other.certificateNo > 0);
    });

    after(async () => {
      await store.close();
      await location.cleanup();
    });

    it('matches the reference for one tenant', async () => {
      const expected = expiryHistogramOf(
        offsetsDays.map((d) => new Date(asOf.getTime() + d * DAY)),
        asOf,
        EXPIRY_BUCKETS_DAYS,
      );
      const actual = await store.certificates.expiryHistogram(tenantA, asOf, EXPIRY_BUCKETS_DAYS);
      assert.deepEqual(actual.cumulativeCounts, expected.cumulativeCounts);
      assert.equal(actual.count, offsetsDays.length);
      assert.ok(Math.abs(actual.sumDays - expected.sumDays) < 1e-6, `${actual.sumDays} vs ${expected.sumDays}`);
    });

    it('counts every tenant with null, and never deleted certificates', async () => {
      const all = await store.certificates.expiryHistogram(null, asOf, [0, 7]);
      // tenant A: -30, -1, 0 are <= 0; plus 0.5, 6.9, 7 <= 7; tenant B adds its live 3-day one.
      assert.deepEqual(all.cumulativeCounts, [3, 7]);
      assert.equal(all.count, offsetsDays.length + 1);
    });
  });
}

/**
 * The dashboard's expiry windows on every store: CertificateStatsRepository.countNotAfterBetween
 * agrees with a brute-force count for windows that start and end anywhere in a UTC day (the
 * counters hold whole days; the partial days are counted from the index), deletions included.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openStore, type StoreHandle } from '../../../src/store/open.ts';
import { makeTenant, newCertificate, storeTargets, testMasterKey, type TestLocation } from '../../helpers/db.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const BASE = Date.UTC(2026, 5, 10, 0, 0, 0);

for (const target of storeTargets) {
  describe(`certificate stats on ${target.name}`, { skip: target.skip }, () => {
    let location: TestLocation;
    let store: StoreHandle;
    let tenantId: number;
    const notAfters: number[] = [];

    before(async () => {
      location = await target.fresh();
      store = await openStore(location.options({ masterKey: testMasterKey() }));
      tenantId = (await makeTenant(store)).id;
      const other = (await makeTenant(store)).id;
      // Expiries spread over ten days at odd hours, plus exact day boundaries.
      for (let i = 0; i < 60; i++) {
        const at = BASE + Math.floor(i / 6) * DAY + ((i * 7) % 24) * HOUR + (i % 3) * 1000;
        notAfters.push(at);
        await store.certificates.insert(
          newCertificate(tenantId, { facts: { notAfter: new Date(at) } }),
          new Date(BASE - DAY),
        );
      }
      for (const at of [BASE + 3 * DAY, BASE + 4 * DAY]) {
        notAfters.push(at);
        await store.certificates.insert(
          newCertificate(tenantId, { facts: { notAfter: new Date(at) } }),
          new Date(BASE - DAY),
        );
      }
      await store.certificates.insert(
        newCertificate(other, { facts: { notAfter: new Date(BASE + 2 * DAY) } }),
        new Date(BASE - DAY),
      );
      // A deleted one does not count.
      const gone = await store.certificates.insert(
        newCertificate(tenantId, { facts: { notAfter: new Date(BASE + 2 * DAY) } }),
        new Date(BASE - DAY),
      );
      await store.certificates.markDeleted(tenantId, gone.certificateNo, new Date(BASE - DAY / 2));
    });
    after(async () => {
      await store?.close();
      await location?.cleanup();
    });

    it('matches a brute-force count for windows starting and ending at any time of day', async () => {
      const windows: Array<{ from: Date; to: Date }> = [];
      for (const startHour of [0, 1, 6.5, 12, 23.99]) {
        for (const lengthDays of [0, 0.25, 1, 3, 7, 30]) {
          const from = BASE + DAY + startHour * HOUR;
          windows.push({ from: new Date(from), to: new Date(from + lengthDays * DAY) });
        }
      }
      windows.push({ from: new Date(BASE + 3 * DAY), to: new Date(BASE + 4 * DAY) });
      const counts = await store.certificateStats.countNotAfterBetween(tenantId, windows);
      const expected = windows.map(
        ({ from, to }) => notAfters.filter((t) => t >= from.getTime() && t < to.getTime()).length,
      );
      assert.deepEqual(counts, expected);
      assert.deepEqual(await store.certificateStats.countNotAfterBetween(tenantId, []), []);
    });
  });
}

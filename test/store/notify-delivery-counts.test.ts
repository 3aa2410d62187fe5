/**
 * Contract of the delivery counts (`countDeliveries`, for /metrics; migration 0027 and
 * repositories/notifications.ts): after a seeded random walk of enqueues (some of them repeats,
 * which insert nothing), claims, attempts that send, fail for a retry or give up, lost claims and
 * prunes at moving instants, over two tenants, every count equals a brute-force GROUP BY over the
 * outbox, on SQLite and PostgreSQL; and the migration's backfill rebuilds the same counts from
 * the rows. `CERTKEEPER_TEST_SEED=<n>` replays a run.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { EventPayload } from '../../src/core/notifications/model.ts';
import { connect } from '../../src/store/connect.ts';
import { backfillNotifyDeliveryCounts } from '../../src/store/migrations/0027-notify-delivery-counts.ts';
import { openStore, type StoreHandle } from '../../src/store/open.ts';
import { rawQuery, storeTargets, testMasterKey, type TestLocation } from '../helpers/db.ts';

const SEED = Number(process.env.CERTKEEPER_TEST_SEED ?? 20261206);
const STEPS = 240;
const DAY = 86_400_000;
const START = Date.parse('2027-03-01T00:00:00Z');

async function bruteForce(location: TestLocation): Promise<Record<string, number>> {
  const counts: Record<string, number> = { pending: 0, sent: 0, failed: 0 };
  for (const row of await rawQuery(location, 'select status, count(*) as n from notify_deliveries group by status'))
    counts[String(row.status)] = Number(row.n);
  return counts;
}

for (const target of storeTargets) {
  describe(`notification delivery counts (${target.name})`, { skip: target.skip }, () => {
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

    it(`equal a brute-force count after random enqueues, attempts and prunes (seed ${SEED})`, async () => {
      let seed = SEED >>> 0;
      const int = (n: number): number => {
        seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
        return Math.floor((seed / 4294967296) * n);
      };
      let now = START;
      let keys = 0;
      let checks = 0;
      const payload = { id: 'e', type: 'certificate.expiring' } as EventPayload;
      for (let step = 0; step < STEPS; step++) {
        const op = int(10);
        const at = new Date(now);
        if (op < 3) {
          const tenantId = 1 + int(2);
          const deliveries = Array.from({ length: 1 + int(4) }, () => ({
            channelId: 1 + int(3),
            // Sometimes a key already queued: the outbox keeps one row, and nothing is counted twice.
            eventKey: `k${int(4) === 0 && keys > 0 ? int(keys) : keys++}`,
            payload,
            keepUntil: new Date(now + (1 + int(10)) * DAY),
          }));
          await store.notifications.enqueue(tenantId, deliveries, at);
        } else if (op < 8) {
          for (const id of await store.notifications.dueDeliveries(at, 1 + int(4))) {
            const claim = await store.notifications.claimDelivery(id, 'w', at, new Date(now + 60_000));
            if (!claim) continue;
            const fate = int(4);
            if (fate === 3) {
              await store.notifications.releaseDelivery(id, 'w');
              continue;
            }
            const attempt = {
              outcome: fate === 0 ? ('sent' as const) : ('failed' as const),
              statusCode: null,
              error: fate === 0 ? null : 'down',
              nextAttemptAt: fate === 1 ? new Date(now + 60_000) : null,
              channelName: 'c',
            };
            assert.equal(await store.notifications.completeDelivery(id, 'w', attempt, at), true);
            // The claim is gone: a second report of the same attempt records and counts nothing.
            assert.equal(await store.notifications.completeDelivery(id, 'w', attempt, at), false);
          }
        } else if (op === 8) {
          await store.notifications.prune(at, at);
        } else {
          now += int(3) * DAY + int(DAY);
        }
        if (step % 8 === 7 || step === STEPS - 1) {
          assert.deepEqual(await store.notifications.countDeliveries(), await bruteForce(location), `step ${step}`);
          checks++;
        }
      }
      const final = await bruteForce(location);
      assert.ok(final.sent! > 0 && final.failed! > 0 && final.pending! > 0, JSON.stringify(final));
      assert.ok(checks >= STEPS / 8);

      // The migration's backfill gives the same counts from the rows alone.
      const { db } = await connect(location.options());
      try {
        await db.deleteFrom('notify_delivery_counts' as never).execute();
        assert.deepEqual(await store.notifications.countDeliveries(), { ...final, sent: 0, failed: 0 });
        await backfillNotifyDeliveryCounts(db as never);
      } finally {
        await db.destroy();
      }
      assert.deepEqual(await store.notifications.countDeliveries(), final);
    });
  });
}

/**
 * Withdrawing a certificate request (core/issuance/cancel.ts through the issuance service and the
 * repository's compare-and-set `cancel`), on both stores, with the worker's side played by the
 * repository calls the worker makes (claim, advance):
 *
 * - each state answers the rule: pending → cleanup with outcome `cancelled` (names free at once),
 *   failed → `cancelled` keeping what it came to, validated/finalizing/storing → `conflict`,
 *   delivered / cancelled / not an `issue` order → `not_found`; a VIEWER may not; each attempt is
 *   audited, and a refusal writes nothing to the order;
 * - an order a worker holds is refused (`conflict`) and the worker's own write then goes through;
 * - a cancel racing a worker's claim, many rounds: exactly one coherent outcome each time (either
 *   the cancel won and the worker can only claim the cleanup, or the worker holds it at its step
 *   and the cancel was refused), never both.
 * The worker's own cleanup of a cancelled order (TXT values removed, `cancelled`) runs against
 * Pebble and BIND9 in test/api/acm/delete-request.test.ts.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createAuditService } from '../../src/core/audit.ts';
import { cliActor, type Actor } from '../../src/core/actor.ts';
import { createCore } from '../../src/core/core.ts';
import type { IssuanceOrder, OrderAuthorization, OrderUpdate } from '../../src/core/issuance/ports.ts';
import { createIssuanceService, type IssuanceService } from '../../src/core/issuance/service.ts';
import { systemClock } from '../../src/core/ports.ts';
import { DEFAULT_NOTIFICATION_SETTINGS } from '../../src/core/notifications/service.ts';
import { openStore, type StoreHandle } from '../../src/store/open.ts';
import { storeTargets, testMasterKey, type TestLocation } from '../helpers/db.ts';

const LEASE_MS = 60_000;

for (const target of storeTargets) {
  describe(`cancelling a certificate request (${target.name})`, { skip: target.skip }, () => {
    let location: TestLocation;
    let store: StoreHandle;
    let service: IssuanceService;
    let core: ReturnType<typeof createCore>;
    let actor: Actor;

    before(async () => {
      location = await target.fresh();
      store = await openStore(location.options({ masterKey: testMasterKey() }));
      core = createCore(store, systemClock, DEFAULT_NOTIFICATION_SETTINGS);
      const tenant = await core.tenants.create(`t-${randomUUID().slice(0, 8)}`);
      actor = cliActor(tenant.id);
      service = createIssuanceService({
        store,
        issuance: store.issuance,
        audit: createAuditService(store, systemClock),
        clock: systemClock,
        settings: { dcvZone: 'dcv.certkeeper.test', http01: false },
      });
    });
    after(async () => {
      await store?.close();
      await location?.cleanup();
    });

    const request = async (): Promise<IssuanceOrder> =>
      service.request(actor, {
        name: `req-${randomUUID().slice(0, 8)}`,
        domains: [`c-${randomUUID().slice(0, 8)}.example.test`],
      });
    /** What a worker does for one step: claim, then write the step's result. */
    const step = async (order: IssuanceOrder, update: OrderUpdate): Promise<IssuanceOrder> => {
      const now = new Date();
      const claimed = await store.issuance.claim(order.orderId, 'w-test', now, new Date(now.getTime() + LEASE_MS));
      assert.ok(claimed, `order ${order.orderId} at ${order.step} could be claimed`);
      assert.ok(await store.issuance.advance(order.orderId, 'w-test', update, new Date()));
      return (await store.issuance.getOrder(actor.tenantId, order.orderId))!;
    };
    const read = async (orderId: number) => (await store.issuance.getOrder(actor.tenantId, orderId))!;
    const authorizations = (status: string): OrderAuthorization[] => [
      { url: 'https://ca.test/authz/1', domain: 'x.example.test', wildcard: false, status },
    ];

    it('cancels a pending request: cleanup with outcome cancelled, names free at once, audited', async () => {
      const order = await request();
      const awaiting = await step(order, {
        step: 'awaiting_cname',
        authorizations: authorizations('pending'),
        nextAttemptAt: new Date(Date.now() + 300_000),
      });
      const cancelled = await service.cancel(actor, awaiting.orderId);
      assert.deepEqual([cancelled.step, cancelled.outcome], ['cleanup', 'cancelled']);
      const row = await read(order.orderId);
      assert.deepEqual([row.step, row.outcome, row.nextAttemptAt], ['cleanup', 'cancelled', null]);
      assert.deepEqual(await store.issuance.activeNames(order.names), [], 'its names are free for a new request');
      assert.deepEqual(await store.issuance.due(new Date(), 100), [order.orderId], 'due at once for its cleanup');
      // The worker's cleanup ends it `cancelled`.
      const ended = await step(row, { step: 'cancelled', nextAttemptAt: null });
      assert.equal(ended.step, 'cancelled');
      await assert.rejects(service.cancel(actor, order.orderId), { code: 'not_found' });
      const events = await core.audit.list(actor, { target: `certificate-order:${order.orderId}`, limit: 10 });
      assert.deepEqual(events.map((e) => [e.action, e.result]).sort(), [
        ['certificate.request.cancel', 'failure'],
        ['certificate.request.cancel', 'success'],
      ]);
    });

    it('answers each state by the rule and writes nothing when it refuses', async () => {
      // Polling with a name not validated yet: still cancellable.
      const polling = await step(await request(), {
        step: 'polling',
        authorizations: authorizations('pending'),
        nextAttemptAt: null,
      });
      assert.equal((await service.cancel(actor, polling.orderId)).step, 'cleanup');

      // Every name validated (finalize may follow at once), finalizing, storing, landing: conflict.
      const validated = await step(await request(), {
        step: 'polling',
        authorizations: authorizations('valid'),
        nextAttemptAt: null,
      });
      const finalizing = await step(await request(), { step: 'finalizing', nextAttemptAt: null });
      const storing = await step(await request(), { step: 'storing', nextAttemptAt: null });
      const landing = await step(await request(), { step: 'cleanup', outcome: 'done', nextAttemptAt: null });
      for (const order of [validated, finalizing, storing, landing]) {
        await assert.rejects(service.cancel(actor, order.orderId), { code: 'conflict', message: /is issuing it/ });
        assert.deepEqual(await read(order.orderId), order, `${order.step}: nothing written`);
      }

      // Failed: cancelled at once, keeping what it came to.
      const expired = await step(await request(), {
        step: 'validation_expired',
        lastError: 'no CNAME',
        nextAttemptAt: null,
      });
      await service.cancel(actor, expired.orderId);
      const row = await read(expired.orderId);
      assert.deepEqual([row.step, row.outcome, row.lastError], ['cancelled', 'validation_expired', 'no CNAME']);
      assert.deepEqual(await store.issuance.due(new Date(), 1000).then((ids) => ids.includes(row.orderId)), false);

      // Delivered, or not a request: nothing to withdraw.
      const done = await step(await request(), { step: 'done', nextAttemptAt: null });
      await assert.rejects(service.cancel(actor, done.orderId), { code: 'not_found' });
      await assert.rejects(service.cancel(actor, 987_654), { code: 'not_found' });

      // A VIEWER may not; nothing written.
      const pending = await request();
      await assert.rejects(service.cancel({ ...actor, role: 'VIEWER' }, pending.orderId), {
        code: 'permission_denied',
      });
      assert.deepEqual(await read(pending.orderId), pending);
    });

    it('refuses an order a worker holds; the worker’s write then goes through', async () => {
      const order = await request();
      const now = new Date();
      assert.ok(await store.issuance.claim(order.orderId, 'w-busy', now, new Date(now.getTime() + LEASE_MS)));
      await assert.rejects(service.cancel(actor, order.orderId), { code: 'conflict', message: /being worked on/ });
      assert.ok(
        await store.issuance.advance(order.orderId, 'w-busy', { step: 'account', nextAttemptAt: null }, new Date()),
      );
      assert.equal((await read(order.orderId)).step, 'account');
      // Released: cancellable now, and the old claim can write nothing more.
      assert.equal((await service.cancel(actor, order.orderId)).step, 'cleanup');
      assert.equal(
        await store.issuance.advance(order.orderId, 'w-busy', { step: 'ordered', nextAttemptAt: null }, new Date()),
        false,
      );
      assert.deepEqual(
        [(await read(order.orderId)).step, (await read(order.orderId)).outcome],
        ['cleanup', 'cancelled'],
      );
    });

    it('a cancel racing a worker’s claim ends in one coherent state, every round', async () => {
      const outcomes = { cancelled: 0, claimed: 0 };
      for (let round = 0; round < 25; round++) {
        const order = await request();
        const now = new Date();
        // The claim starts with the cancel or 1-4 ms after it: before its read, between its read
        // and its write, or after it (which one wins varies by store and round).
        const [claimed, cancel] = await Promise.all([
          (round % 2 === 0 ? Promise.resolve() : sleep(1 + (round % 4))).then(() =>
            store.issuance.claim(order.orderId, `w-race-${round}`, now, new Date(now.getTime() + LEASE_MS)),
          ),
          service.cancel(actor, order.orderId).then(
            (o) => o,
            (error: unknown) => error as Error & { code?: string },
          ),
        ]);
        const row = await read(order.orderId);
        if ('orderId' in cancel) {
          outcomes.cancelled += 1;
          assert.deepEqual([row.step, row.outcome], ['cleanup', 'cancelled']);
          // The worker claimed nothing, or the cleanup (never the step the cancel replaced).
          if (claimed) assert.deepEqual([claimed.step, claimed.outcome], ['cleanup', 'cancelled']);
        } else {
          outcomes.claimed += 1;
          assert.equal(cancel.code, 'conflict', String(cancel));
          assert.ok(claimed, 'the cancel lost to the claim');
          assert.deepEqual([claimed.step, row.step, row.outcome], ['new', 'new', null]);
          await store.issuance.release(order.orderId, `w-race-${round}`);
        }
        assert.ok(!(await store.issuance.activeNames(order.names)).some((n) => n.orderId !== order.orderId));
      }
      assert.equal(outcomes.cancelled + outcomes.claimed, 25);
    });
  });
}

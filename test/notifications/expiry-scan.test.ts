/**
 * The expiry pass against a brute-force computation, on both stores: random certificates (6-day
 * to 397-day lifetimes, so both the day thresholds and the fraction rule for short lifetimes are
 * exercised), random thresholds, passes at random intervals (a minute to four days), some
 * certificates imported and deleted along the way. The notices queued must be exactly those a
 * brute force over every certificate at every pass time says: at each pass, a certificate that
 * is live and has crossed a threshold gets the notice of the smallest threshold crossed, an
 * expired one the expiry notice, each once.
 *
 * Then exactly-once across processes: two stores on one database (two connection pools, as two
 * processes would have) with a worker each, running their passes at the same moments; every
 * notice reaches the receiver once.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openStore } from '../../src/store/open.ts';
import { createCore } from '../../src/core/core.ts';
import { createNotificationWorker } from '../../src/core/notifications/worker.ts';
import { createNotificationSender } from '../../src/notifiers/index.ts';
import { DEFAULT_NOTIFICATION_SETTINGS } from '../../src/core/notifications/service.ts';
import { rawQuery, storeTargets } from '../helpers/db.ts';
import { DAY, notifyWorld, receiver, START, type NotifyWorld, type Receiver } from './setup.ts';

/** A deterministic generator (mulberry32), so a failure can be replayed from the seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Model {
  no: number;
  fingerprint: string;
  notBefore: number;
  notAfter: number;
  /** Live from this pass index on, until `deletedAt` (pass index) if set. */
  from: number;
  deletedAt: number | null;
}

/** The notice of one certificate at one instant, computed from the definition (not the code under test). */
function bruteForceKey(c: Model, thresholds: number[], at: number): string | null {
  if (at >= c.notAfter) return `certificate.expired:${c.no}:${c.fingerprint}`;
  const lifetime = c.notAfter - c.notBefore;
  let smallest: number | null = null;
  for (const t of thresholds) {
    const effective = lifetime < 60 * DAY ? (t * lifetime) / 60 : t * DAY;
    if (c.notAfter - effective <= at && (smallest === null || t < smallest)) smallest = t;
  }
  return smallest === null ? null : `certificate.expiring:${c.no}:${c.fingerprint}:${smallest}`;
}

const LIFETIMES = [6, 10, 30, 47, 59, 60, 90, 200, 397];

for (const target of storeTargets) {
  describe(`expiry pass vs brute force (${target.name})`, { skip: target.skip }, () => {
    let world: NotifyWorld;
    let hook: Receiver;

    before(async () => {
      world = await notifyWorld(target);
      hook = await receiver();
    });
    after(async () => {
      await hook.close();
      await world.close();
    });

    it('queues exactly the notices the brute force finds', async () => {
      const seed = 20261205;
      const rnd = random(seed);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!;
      const thresholds = [30, 14, 7, 3, 1].filter(() => rnd() < 0.7);
      if (thresholds.length === 0) thresholds.push(10);
      await world.core.notifications.setThresholds(world.admin, thresholds);
      await world.core.notifications.addChannel(world.admin, { kind: 'webhook', name: 'hook', url: hook.url });
      await world.core.notifications.addRule(world.admin, {
        name: 'all',
        events: ['certificate.expiring', 'certificate.expired'],
        channels: ['hook'],
      });
      const t0 = START.getTime();
      const passes: number[] = [t0];
      while (passes.at(-1)! < t0 + 140 * DAY) passes.push(passes.at(-1)! + Math.floor(60_000 + rnd() * 4 * DAY));
      const certificates: Model[] = [];
      const add = async (passIndex: number) => {
        const at = passes[passIndex]!;
        const lifetime = pick(LIFETIMES) * DAY;
        const notAfter = at + Math.floor(rnd() * Math.min(lifetime, 120 * DAY)) + 60_000;
        const notBefore = notAfter - lifetime;
        const no = await world.certificate(notBefore, notAfter);
        const stored = await world.store.certificates.get(world.tenantId, no);
        certificates.push({
          no,
          fingerprint: stored!.facts.fingerprintSha256,
          notBefore,
          notAfter,
          from: passIndex,
          deletedAt: null,
        });
      };
      for (let i = 0; i < 150; i++) await add(0);
      // Kept for the whole run, so the table holds every notice ever queued (pruning is tested elsewhere).
      const worker = world.worker({ concurrency: 64, retentionMs: 1000 * DAY });
      for (let p = 0; p < passes.length; p++) {
        world.clock.set(new Date(passes[p]!));
        if (p > 0) {
          for (let k = Math.floor(rnd() * 4); k > 0; k--) await add(p);
          if (rnd() < 0.5) {
            const live = certificates.filter((c) => c.deletedAt === null && c.notAfter > passes[p]!);
            const victim = live.length > 0 ? pick(live) : null;
            if (victim) {
              await world.store.certificates.markDeleted(world.tenantId, victim.no, world.clock.now());
              victim.deletedAt = p;
            }
          }
        }
        let pass = await worker.runOnce();
        while (pass.sent > 0 || (pass.expiry?.due ?? 0) >= 500) pass = await worker.runOnce();
      }
      const expected = new Set<string>();
      for (const c of certificates)
        for (let p = c.from; p < passes.length && (c.deletedAt === null || p < c.deletedAt); p++) {
          const key = bruteForceKey(c, thresholds, passes[p]!);
          if (key) expected.add(key);
        }
      const rows = await rawQuery(world.location, 'select event_key from notify_deliveries');
      const queued = rows.map((r) => String(r.event_key));
      assert.equal(new Set(queued).size, queued.length, 'no key twice');
      const missing = [...expected].filter((k) => !queued.includes(k));
      const extra = queued.filter((k) => !expected.has(k));
      assert.deepEqual(
        { missing, extra },
        { missing: [], extra: [] },
        `seed ${seed}, thresholds ${thresholds.join(',')}, ${queued.length} queued, ${expected.size} expected, ${certificates.length} certificates, ${passes.length} passes`,
      );
      assert.ok(expected.size > 200, `a meaningful sample (${expected.size} notices)`);
      const received = hook.received.map((r) => String(r.json.id));
      assert.deepEqual([...received].sort(), [...queued].sort(), 'each notice received once');
      // The schedule's moves and deletions took effect (a notice key alone would not show a row
      // left behind: its next pass queues nothing new): after the last pass, nothing is due, and
      // only live certificates not yet expired have a row.
      const last = passes.at(-1)!;
      const waiting = (await rawQuery(world.location, 'select certificate_no, due_at from notify_schedule')).map(
        (r) => ({ no: Number(r.certificate_no), dueAt: Number(r.due_at) }),
      );
      assert.deepEqual(
        waiting.filter((w) => w.dueAt <= last),
        [],
        'no schedule row left due',
      );
      const live = new Set(certificates.filter((c) => c.deletedAt === null && c.notAfter > last).map((c) => c.no));
      assert.deepEqual(
        waiting.filter((w) => !live.has(w.no)),
        [],
        'no schedule row for a deleted or expired certificate',
      );
      assert.ok(waiting.length > 0, 'some certificates still scheduled');
    });
  });

  describe(`exactly once with two processes on one database (${target.name})`, { skip: target.skip }, () => {
    let world: NotifyWorld;
    let hook: Receiver;

    before(async () => {
      world = await notifyWorld(target);
      hook = await receiver();
      hook.delayMs = 20; // both workers busy at once
    });
    after(async () => {
      await hook.close();
      await world.close();
    });

    it('sends every notice once although both pass at the same moments', async () => {
      await world.core.notifications.addChannel(world.admin, { kind: 'webhook', name: 'hook', url: hook.url });
      await world.core.notifications.addChannel(world.admin, { kind: 'slack', name: 'chat', url: hook.url });
      await world.core.notifications.addRule(world.admin, {
        name: 'all',
        events: ['certificate.expiring', 'certificate.expired'],
        channels: ['hook', 'chat'],
      });
      const t0 = START.getTime();
      for (let i = 0; i < 40; i++) await world.certificate(t0 - 80 * DAY, t0 + (i % 20) * DAY + 3_600_000);
      // The second process: its own store (connection pool), core and worker, same clock.
      const second = await openStore(world.location.options({ masterKey: world.masterKey }));
      try {
        const sender = createNotificationSender({ clock: world.clock, allowPrivateAddresses: true });
        createCore(second, world.clock, { ...DEFAULT_NOTIFICATION_SETTINGS, sender });
        const a = world.worker({ workerId: 'process-a', concurrency: 4 });
        const b = createNotificationWorker({
          store: second,
          clock: world.clock,
          sender,
          publicBaseUrl: 'https://b.example',
          scanEveryMs: 0,
          workerId: 'process-b',
          concurrency: 4,
        });
        for (let step = 0; step < 25; step++) {
          for (let round = 0; round < 4; round++) await Promise.all([a.runOnce(), b.runOnce()]);
          world.clock.advance(DAY);
        }
      } finally {
        await second.close();
      }
      const rows = await rawQuery(world.location, 'select event_key, channel_id, status from notify_deliveries');
      assert.ok(rows.length >= 40 * 2 * 3, `${rows.length} deliveries`);
      assert.ok(rows.every((r) => r.status === 'sent'));
      const webhookIds = hook.received.filter((r) => r.json.type !== undefined).map((r) => String(r.json.id));
      const slackTexts = hook.received.filter((r) => r.json.text !== undefined).length;
      assert.equal(new Set(webhookIds).size, webhookIds.length, 'no webhook notice twice');
      assert.equal(webhookIds.length + slackTexts, rows.length, 'every delivery received once');
      const by = await rawQuery(world.location, 'select count(*) as n from notify_attempts');
      assert.equal(Number(by[0]!.n), rows.length, 'one attempt per delivery');
    });
  });

  describe(`a pass with nothing new (${target.name})`, { skip: target.skip }, () => {
    let world: NotifyWorld;
    let hook: Receiver;

    before(async () => {
      world = await notifyWorld(target);
      hook = await receiver();
    });
    after(async () => {
      await hook.close();
      await world.close();
    });

    it('writes nothing, and the next pass still finds what came since', async () => {
      await world.core.notifications.addChannel(world.admin, { kind: 'webhook', name: 'hook', url: hook.url });
      await world.core.notifications.addRule(world.admin, {
        name: 'all',
        events: ['certificate.expiring', 'certificate.expired'],
        channels: ['hook'],
      });
      const t0 = START.getTime();
      const cursor = async () =>
        (await rawQuery(world.location, 'select scanned_until, updated_at from notify_settings')).map((r) => ({
          scannedUntil: Number(r.scanned_until),
          updatedAt: Number(r.updated_at),
        }));
      const far = await world.certificate(t0 - 200 * DAY, t0 + 100 * DAY); // enters the 30-day horizon on day 70
      const worker = world.worker();
      await worker.runOnce(); // the first pass sets the cursor
      assert.deepEqual(await cursor(), [{ scannedUntil: t0, updatedAt: t0 }]);

      world.clock.advance(3_600_000);
      const pass = await worker.runOnce();
      assert.deepEqual(pass.expiry, { tenants: 1, scheduled: 0, due: 0, queued: 0 });
      assert.deepEqual(await cursor(), [{ scannedUntil: t0, updatedAt: t0 }], 'found nothing: the cursor stays');

      // Both ranges still start at the cursor: an import since, and a certificate entering the horizon.
      world.clock.advance(3_600_000);
      const near = await world.certificate(t0 - 80 * DAY, t0 + 5 * DAY);
      world.clock.set(new Date(t0 + 71 * DAY));
      let next = await worker.runOnce();
      while (next.sent > 0) next = await worker.runOnce();
      assert.deepEqual(await cursor(), [{ scannedUntil: t0 + 71 * DAY, updatedAt: t0 + 71 * DAY }]);
      const keys = (await rawQuery(world.location, 'select event_key from notify_deliveries'))
        .map((r) => String(r.event_key).replace(/:[0-9a-f]{64}/, ''))
        .sort();
      assert.deepEqual(keys, [`certificate.expired:${near}`, `certificate.expiring:${far}:30`]);
    });
  });
}

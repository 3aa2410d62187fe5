/**
 * Notifications on both stores: channels and rules with their bad input refused (nothing
 * written), expiry notices over a signed webhook end to end (one per threshold, then expired),
 * Slack's body, retries with backoff and the delivery log, a slow channel cut off without
 * holding up another, a claim left by a crashed worker retried after its lease, and secrets
 * sealed (not in the database in clear).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isAppErrorWithCode } from '../../src/domain/errors.ts';
import { countRows, rawQuery, storeTargets } from '../helpers/db.ts';
import {
  BASE,
  DAY,
  expectedSignature,
  notifyWorld,
  receiver,
  START,
  type NotifyWorld,
  type Receiver,
} from './setup.ts';

const T0 = START.getTime();

for (const target of storeTargets) {
  describe(`notifications (${target.name})`, { skip: target.skip }, () => {
    let world: NotifyWorld;
    let hook: Receiver;
    let slack: Receiver;

    before(async () => {
      world = await notifyWorld(target);
      hook = await receiver();
      slack = await receiver();
    });
    after(async () => {
      await hook.close();
      await slack.close();
      await world.close();
    });

    it('refuses bad input with invalid_argument and writes nothing', async () => {
      const strict = await notifyWorld(target, {
        allowPrivateAddresses: false,
        location: world.location,
        masterKey: world.masterKey,
      });
      const n = strict.core.notifications;
      const a = world.admin;
      const refusals: Array<[string, () => Promise<unknown>]> = [
        ['not a URL', () => n.addChannel(a, { kind: 'webhook', name: 'x', url: 'not a url' })],
        ['ftp URL', () => n.addChannel(a, { kind: 'webhook', name: 'x', url: 'ftp://example.com/' })],
        ['user in URL', () => n.addChannel(a, { kind: 'webhook', name: 'x', url: 'https://u:p@example.com/' })],
        ['loopback', () => n.addChannel(a, { kind: 'webhook', name: 'x', url: 'http://127.0.0.1:9/hook' })],
        ['localhost', () => n.addChannel(a, { kind: 'slack', name: 'x', url: 'https://localhost/hook' })],
        ['metadata', () => n.addChannel(a, { kind: 'webhook', name: 'x', url: 'http://169.254.169.254/latest' })],
        ['IPv6 loopback', () => n.addChannel(a, { kind: 'webhook', name: 'x', url: 'http://[::1]/' })],
        ['mapped loopback', () => n.addChannel(a, { kind: 'webhook', name: 'x', url: 'http://[::ffff:127.0.0.1]/' })],
        ['link-local v6', () => n.addChannel(a, { kind: 'webhook', name: 'x', url: 'http://[fe80::1]/' })],
        ['bad name', () => n.addChannel(a, { kind: 'webhook', name: '-x y', url: 'https://example.com/' })],
        ['bad kind', () => n.addChannel(a, { kind: 'pager', name: 'x', url: 'https://example.com/' } as never)],
        [
          'bad e-mail',
          () =>
            n.addChannel(a, {
              kind: 'email',
              name: 'x',
              host: 'smtp.example.com',
              from: 'ops@example.com',
              to: 'not-an-address',
            }),
        ],
        [
          'header injection',
          () =>
            n.addChannel(a, {
              kind: 'email',
              name: 'x',
              host: 'smtp.example.com',
              from: 'ops@example.com\r\nBcc: x@y.z',
              to: 'a@example.com',
            }),
        ],
        [
          'SMTP loopback',
          () =>
            n.addChannel(a, {
              kind: 'email',
              name: 'x',
              host: '127.0.0.1',
              from: 'a@example.com',
              to: 'b@example.com',
            }),
        ],
        [
          'SMTP port',
          () =>
            n.addChannel(a, {
              kind: 'email',
              name: 'x',
              host: 'smtp.example.com',
              port: 70000,
              from: 'a@example.com',
              to: 'b@example.com',
            }),
        ],
        [
          'password alone',
          () =>
            n.addChannel(a, {
              kind: 'email',
              name: 'x',
              host: 'smtp.example.com',
              password: 'p',
              from: 'a@example.com',
              to: 'b@example.com',
            }),
        ],
        ['unknown event', () => n.addRule(a, { name: 'r', events: ['certificate.exploded'], channels: ['x'] })],
        ['no events', () => n.addRule(a, { name: 'r', events: [], channels: ['x'] })],
        ['unknown channel', () => n.addRule(a, { name: 'r', events: ['certificate.expired'], channels: ['nope'] })],
        [
          'bad pattern',
          () =>
            n.addRule(a, { name: 'r', events: ['certificate.expired'], certificatePattern: 'a b', channels: ['x'] }),
        ],
        ['threshold 0', () => n.setThresholds(a, [30, 0])],
        ['threshold 366', () => n.setThresholds(a, [366])],
        ['threshold 1.5', () => n.setThresholds(a, [1.5])],
        ['no thresholds', () => n.setThresholds(a, [])],
        ['threshold text', () => n.setThresholds(a, '30,x')],
      ];
      for (const [what, call] of refusals) {
        await assert.rejects(call(), (e: unknown) => isAppErrorWithCode(e, 'invalid_argument'), what);
      }
      for (const table of ['notify_channels', 'notify_rules', 'notify_settings', 'notify_deliveries'])
        assert.equal(await countRows(world.location, table), 0, `${table} stays empty`);
      await strict.store.close();
    });

    it('a VIEWER may read but not change channels', async () => {
      const viewer = { ...world.admin, role: 'VIEWER' as const };
      await assert.rejects(
        world.core.notifications.addChannel(viewer, { kind: 'webhook', name: 'v', url: hook.url }),
        (e: unknown) => isAppErrorWithCode(e, 'permission_denied'),
      );
      assert.deepEqual(await world.core.notifications.listChannels(viewer), []);
    });

    let secret = '';

    it('sends each expiry notice once over a signed webhook, then the expiry', async () => {
      const n = world.core.notifications;
      const added = await n.addChannel(world.admin, { kind: 'webhook', name: 'ops-hook', url: hook.url });
      assert.ok(added.secret && added.secret.length >= 32);
      secret = added.secret;
      await assert.rejects(
        n.addChannel(world.admin, { kind: 'webhook', name: 'ops-hook', url: hook.url }),
        (e: unknown) => isAppErrorWithCode(e, 'already_exists'),
      );
      await n.addChannel(world.admin, { kind: 'slack', name: 'chat', url: slack.url });
      await n.addRule(world.admin, {
        name: 'expiry',
        events: ['certificate.expiring', 'certificate.expired'],
        channels: ['ops-hook'],
      });
      await n.addRule(world.admin, {
        name: 'shop-chat',
        events: 'certificate.expiring',
        certificatePattern: '*.shop.example',
        channels: 'chat',
      });
      // 90-day certificate with 10 days left: the 14-day notice, not the 30-day one.
      const no = await world.certificate(T0 - 80 * DAY, T0 + 10 * DAY, 'web', ['www.shop.example', 'shop.example']);
      // Far from expiry: nothing.
      await world.certificate(T0 - 10 * DAY, T0 + 200 * DAY, 'far');
      const worker = world.worker();
      await worker.runOnce();
      await worker.runOnce();
      assert.equal(hook.received.length, 1);
      const first = hook.received[0]!;
      assert.equal(first.headers['x-certkeeper-signature'], expectedSignature(secret, first.headers, first.body));
      assert.equal(first.headers['x-certkeeper-event'], 'certificate.expiring');
      assert.equal(first.json.type, 'certificate.expiring');
      assert.equal(first.json.thresholdDays, 14);
      assert.equal(first.json.test, false);
      assert.equal(first.json.link, `${BASE}/console/#/certificates/${no}`);
      assert.deepEqual(first.json.tenant, { id: world.tenantId, name: 'acme' });
      const certificate = first.json.certificate as Record<string, unknown>;
      assert.equal(certificate.certificateNo, no);
      assert.equal(certificate.name, 'web');
      assert.deepEqual(certificate.domains, ['www.shop.example', 'shop.example']);
      assert.equal(certificate.notAfter, new Date(T0 + 10 * DAY).toISOString());
      assert.equal(certificate.daysLeft, 10);
      // The Slack rule matched by domain pattern.
      assert.equal(slack.received.length, 1);
      assert.match(String(slack.received[0]!.json.text), /expires in 10 days/);
      assert.match(String(slack.received[0]!.json.text), new RegExp(`/console/#/certificates/${no}`));

      world.clock.advance(4 * DAY); // 6 days left: the 7-day notice
      await worker.runOnce();
      world.clock.advance(2 * DAY + 1); // just under 4 days: nothing new
      await worker.runOnce();
      assert.deepEqual(
        hook.received.map((r) => r.json.thresholdDays),
        [14, 7],
      );
      world.clock.advance(10 * DAY); // past the 3 and 1 day thresholds and expired: only the expiry
      await worker.runOnce();
      await worker.runOnce();
      assert.deepEqual(
        hook.received.map((r) => r.json.type),
        ['certificate.expiring', 'certificate.expiring', 'certificate.expired'],
      );
      for (const r of hook.received)
        assert.equal(r.headers['x-certkeeper-signature'], expectedSignature(secret, r.headers, r.body));
      const log = await n.log(world.admin);
      assert.equal(log.filter((l) => l.outcome === 'sent').length, 5);
      assert.equal(await countRows(world.location, 'notify_schedule'), 0, 'the expired certificate left the schedule');
    });

    it('retries a failing channel with backoff and logs every attempt', async () => {
      hook.received.length = 0;
      hook.status = 503;
      const no = await world.certificate(
        world.clock.now().getTime() - 80 * DAY,
        world.clock.now().getTime() + 2 * DAY,
        'retry',
      );
      const worker = world.worker();
      await worker.runOnce();
      assert.equal(hook.received.length, 1);
      await worker.runOnce(); // not due yet
      assert.equal(hook.received.length, 1);
      world.clock.advance(10_000);
      hook.status = 200;
      await worker.runOnce();
      assert.equal(hook.received.length, 2);
      assert.equal(hook.received[0]!.json.id, hook.received[1]!.json.id, 'a retry carries the same event id');
      assert.equal(
        hook.received[0]!.headers['x-certkeeper-delivery'],
        hook.received[1]!.headers['x-certkeeper-delivery'],
      );
      const log = (await world.core.notifications.log(world.admin, { channel: 'ops-hook' })).slice(0, 2);
      assert.equal(log[0]!.outcome, 'sent');
      assert.equal(log[0]!.statusCode, 200);
      assert.equal(log[1]!.outcome, 'failed');
      assert.equal(log[1]!.statusCode, 503);
      assert.match(log[1]!.error ?? '', /HTTP 503: receiver says no/);
      assert.equal(log[1]!.nextAttemptAt?.getTime(), log[1]!.at.getTime() + 10_000);
      assert.match(log[1]!.eventKey, new RegExp(`^certificate\\.expiring:${no}:[0-9a-f]{64}:3$`));
      const [channel] = (await world.core.notifications.listChannels(world.admin)).filter((c) => c.name === 'ops-hook');
      assert.equal(channel!.health.lastOutcome, 'sent');
      assert.equal(channel!.health.failuresInARow, 0);
    });

    it('cuts a slow channel off at its timeout without holding up another', async () => {
      const slow = await receiver();
      slow.delayMs = 5_000;
      try {
        const n = world.core.notifications;
        await n.addChannel(world.admin, { kind: 'webhook', name: 'slow', url: slow.url });
        await n.addRule(world.admin, {
          name: 'slow-too',
          events: ['deployment.failed'],
          channels: ['slow', 'ops-hook'],
        });
        hook.received.length = 0;
        await n.emit(world.tenantId, 'edge-slot:1:1', {
          type: 'deployment.failed',
          certificate: null,
          failures: 1,
          deployment: {
            kind: 'edge-slot',
            slotId: 1,
            generation: 1,
            operation: 'publish',
            target: { kind: 'webhook', host: 'deploy.example' },
            failedAt: 'deploy-target',
          },
          summary: 'Edge slot 1 could not be deployed.',
          error: 'boom',
        });
        const worker = world.worker({ timeoutMs: 300 });
        const started = Date.now();
        const pass = await worker.runOnce();
        assert.ok(Date.now() - started < 3_000, 'the pass ended at the timeout, not the slow answer');
        assert.equal(pass.sent, 1);
        assert.equal(pass.failed, 1);
        assert.equal(hook.received.length, 1);
        const [line] = await n.log(world.admin, { channel: 'slow', limit: 1 });
        assert.match(line!.error ?? '', /no answer within 0.3 s/);
        assert.ok(line!.nextAttemptAt);
        const health = (await n.listChannels(world.admin)).find((c) => c.name === 'slow')!.health;
        assert.equal(health.failuresInARow, 1);
        assert.equal(health.pending, 1);
        await n.removeChannel(world.admin, 'slow');
        assert.deepEqual(
          (await n.listRules(world.admin)).find((r) => r.name === 'slow-too')?.channelIds.length,
          1,
          'the rule lost the removed channel',
        );
      } finally {
        await slow.close();
      }
    });

    it('retries a delivery whose claimant died, after its lease', async () => {
      hook.received.length = 0;
      await world.core.notifications.emit(world.tenantId, 'edge-slot:2:1', {
        type: 'deployment.failed',
        certificate: null,
        summary: 'Edge slot 2 could not be deployed.',
      });
      const [id] = await world.store.notifications.dueDeliveries(world.clock.now(), 10);
      // A worker claims it and "crashes" (never completes).
      const now = world.clock.now();
      assert.ok(await world.store.notifications.claimDelivery(id!, 'dead', now, new Date(now.getTime() + 60_000)));
      const worker = world.worker();
      await worker.runOnce();
      assert.equal(hook.received.length, 0, 'held by the lease');
      world.clock.advance(60_001);
      await worker.runOnce();
      assert.equal(hook.received.length, 1, 'retried after the lease');
      await worker.runOnce();
      assert.equal(hook.received.length, 1, 'and only once');
    });

    it('test send delivers a sample at once and reports the outcome', async () => {
      hook.received.length = 0;
      const result = await world.core.notifications.test(world.admin, 'ops-hook');
      assert.equal(result.outcome.kind, 'sent');
      assert.equal(hook.received.length, 1);
      assert.equal(hook.received[0]!.json.test, true);
      hook.status = 500;
      const failed = await world.core.notifications.test(world.admin, 'ops-hook');
      assert.equal(failed.outcome.kind, 'failed');
      hook.status = 204;
      await assert.rejects(world.core.notifications.test(world.admin, 'missing'), (e: unknown) =>
        isAppErrorWithCode(e, 'not_found'),
      );
    });

    it('keeps the delivery log for the retention time (CERTKEEPER_NOTIFY_LOG_DAYS), then prunes it', async () => {
      const n = world.core.notifications;
      const retentionMs = 7 * DAY;
      const ids = (lines: { id: number }[]) => new Set(lines.map((line) => line.id));
      const old = await n.log(world.admin, { limit: 500 });
      assert.ok(old.length > 0);
      // Advance until the newest line is 6 days old: older lines go, the rest stay.
      const newest = Math.max(...old.map((line) => line.at.getTime()));
      world.clock.set(new Date(newest + 6 * DAY));
      await world.worker({ retentionMs }).runOnce();
      const cut = world.clock.now().getTime() - retentionMs;
      const kept = ids(await n.log(world.admin, { limit: 500 }));
      for (const line of old)
        assert.equal(kept.has(line.id), line.at.getTime() >= cut, `line ${line.id} at ${line.at.toISOString()}`);
      world.clock.advance(2 * DAY);
      const pass = await world.worker({ retentionMs }).runOnce();
      assert.ok(pass.pruned > 0);
      const left = ids(await n.log(world.admin, { limit: 500 }));
      assert.ok(
        old.every((line) => !left.has(line.id)),
        'every line older than the retention time is gone',
      );
    });

    it('keeps channel secrets sealed', async () => {
      const rows = await rawQuery(world.location, 'select config, secret_blob from notify_channels');
      for (const row of rows) {
        assert.ok(!String(row.config).includes(secret));
        assert.ok(
          !Buffer.from(row.secret_blob as Uint8Array)
            .toString('latin1')
            .includes(secret),
        );
      }
      const slackRow = rows.find((r) => String(r.config).includes('"slack"'));
      assert.ok(!String(slackRow!.config).includes('/hook'), 'the Slack URL (a secret) is not stored in clear');
    });
  });
}

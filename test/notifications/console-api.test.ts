/**
 * The console's notification API (/console/api/notifications…) on a real server: an ADMIN adds
 * a webhook channel (secret in the 201 once, never in a later answer), a rule, thresholds, test
 * sends to a loopback receiver (the operator switch is on for this server) and reads the log; a
 * VIEWER reads but every change is 403; bad input is 400 with the field and writes nothing;
 * state changes need the CSRF token like every console write.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, TestClock, type TestApp } from '../helpers/app.ts';
import { loggedIn, type ConsoleClient } from '../api/console/helpers.ts';
import { expectedSignature, receiver, type Receiver } from './setup.ts';

describe('console notifications API', () => {
  let app: TestApp;
  let admin: ConsoleClient;
  let viewer: ConsoleClient;
  let hook: Receiver;

  before(async () => {
    app = await startTestApp({
      clock: new TestClock(new Date('2027-03-01T00:00:00Z')),
      env: { CERTKEEPER_NOTIFY_ALLOW_PRIVATE: '1', CERTKEEPER_PUBLIC_URL: 'https://certs.example.test/' },
    });
    admin = await loggedIn(app, app.main.admin);
    viewer = await loggedIn(app, app.main.viewer);
    hook = await receiver();
  });
  after(async () => {
    await hook.close();
    await app?.close();
  });

  it('manages channels and rules, test-sends and shows the log', async () => {
    const created = await admin.request('POST', '/console/api/notifications/channels', {
      kind: 'webhook',
      name: 'ops',
      url: hook.url,
    });
    assert.equal(created.status, 201, created.text);
    const secret = created.body.secret as string;
    assert.ok(secret.length >= 32);
    const rule = await admin.request('POST', '/console/api/notifications/rules', {
      name: 'expiry',
      events: ['certificate.expiring', 'certificate.expired'],
      channels: ['ops'],
    });
    assert.equal(rule.status, 201, rule.text);
    const thresholds = await admin.request('PUT', '/console/api/notifications/thresholds', { days: [21, 7, 1] });
    assert.deepEqual(thresholds.body, { days: [21, 7, 1] });

    const test = await admin.request('POST', '/console/api/notifications/channels/ops/test');
    assert.equal(test.status, 200, test.text);
    assert.equal(test.body.outcome.kind, 'sent');
    const got = hook.received.at(-1)!;
    assert.equal(got.headers['x-certkeeper-signature'], expectedSignature(secret, got.headers, got.body));
    assert.equal(got.json.link, 'https://certs.example.test/console/#/certificates/0');

    const all = await viewer.request('GET', '/console/api/notifications');
    assert.equal(all.status, 200);
    assert.equal(all.body.channels[0].name, 'ops');
    assert.equal(all.body.channels[0].health.lastOutcome, 'sent');
    assert.deepEqual(all.body.rules[0].events, ['certificate.expiring', 'certificate.expired']);
    assert.deepEqual(all.body.thresholds, { days: [21, 7, 1], custom: true });
    assert.ok(!all.text.includes(secret), 'the secret is never shown again');
    const log = await viewer.request('GET', '/console/api/notifications/log?limit=5');
    assert.equal(log.body.items.length, 1);
    assert.equal(log.body.items[0].outcome, 'sent');

    hook.status = 503;
    assert.equal(
      (await admin.request('POST', '/console/api/notifications/channels/ops/test')).body.outcome.kind,
      'failed',
    );
    hook.status = 204;
    const metrics = await (await fetch(`${app.baseUrl}/metrics`)).text();
    assert.match(metrics, /^certkeeper_notification_deliveries\{status="sent"\} 1$/m);
    assert.match(
      metrics,
      /^certkeeper_notification_deliveries\{status="pending"\} 1$/m,
      'the failed test send waits for its retry',
    );
    assert.match(metrics, /^certkeeper_notification_deliveries\{status="failed"\} 0$/m);
  });

  it('refuses a VIEWER every change (403) and bad input (400 with the field), writing nothing', async () => {
    for (const [method, path, body] of [
      ['POST', '/console/api/notifications/channels', { kind: 'webhook', name: 'v', url: hook.url }],
      ['POST', '/console/api/notifications/rules', { name: 'v', events: ['certificate.expired'], channels: ['ops'] }],
      ['PUT', '/console/api/notifications/thresholds', { days: null }],
      ['POST', '/console/api/notifications/channels/ops/test', undefined],
      ['DELETE', '/console/api/notifications/channels/ops', undefined],
    ] as const) {
      const response = await viewer.request(method, path, body);
      assert.equal(response.status, 403, `${method} ${path}`);
    }
    const bad = [
      [{ kind: 'webhook', name: 'x', url: 'javascript:alert(1)' }, 'url'],
      [{ kind: 'email', name: 'x', host: 'smtp.example.com', from: 'nope', to: ['a@example.com'] }, 'from'],
      [{ kind: 'sms', name: 'x' }, 'kind'],
    ] as const;
    for (const [body, field] of bad) {
      const response = await admin.request('POST', '/console/api/notifications/channels', body);
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.equal(response.body.error.field, field);
    }
    const badRule = await admin.request('POST', '/console/api/notifications/rules', {
      name: 'r',
      events: ['cert.whatever'],
      channels: ['ops'],
    });
    assert.equal(badRule.status, 400);
    assert.equal(badRule.body.error.field, 'events');
    const badDays = await admin.request('PUT', '/console/api/notifications/thresholds', { days: [400] });
    assert.equal(badDays.status, 400);
    const all = await admin.request('GET', '/console/api/notifications');
    assert.deepEqual(
      all.body.channels.map((c: { name: string }) => c.name),
      ['ops'],
    );
    assert.deepEqual(
      all.body.rules.map((r: { name: string }) => r.name),
      ['expiry'],
    );
    assert.deepEqual(all.body.thresholds.days, [21, 7, 1]);
  });

  it('needs the CSRF token for changes', async () => {
    const response = await fetch(`${app.baseUrl}/console/api/notifications/channels/ops`, {
      method: 'DELETE',
      headers: { cookie: admin.session!.cookie, origin: app.baseUrl },
    });
    assert.equal(response.status, 403);
    const removed = await admin.request('DELETE', '/console/api/notifications/channels/ops');
    assert.equal(removed.status, 204);
  });
});

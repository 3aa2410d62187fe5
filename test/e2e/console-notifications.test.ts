/**
 * The console's notifications page in a real browser against the real server and store (issue
 * 18): an ADMIN adds a webhook channel to a receiver on loopback (the operator switch is on for
 * this server) and sees its signing secret once, adds a rule, test-sends (the receiver checks the
 * signature with that secret), sees a failing test send say why, the delivery log, and each
 * channel's health on the notifications page and on the dashboard. Screenshots go to
 * test-results/console/ (notifications-*).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { startTestApp, WallClock, type TestApp } from '../helpers/app.ts';
import { expectedSignature, receiver, type Receiver } from '../notifications/setup.ts';
import { browserSkip, launch, logIn, screenshot, type Browser } from './console-browser.ts';

const skip = await browserSkip();
if (skip) console.log(`# console notifications browser tests skipped: ${skip}`);

describe('console notifications page, in a browser', { skip }, () => {
  let app: TestApp;
  let browser: Browser;
  let page: Page;
  let hook: Receiver;
  let secret = '';

  before(async () => {
    app = await startTestApp({
      clock: new WallClock(),
      env: { CERTKEEPER_NOTIFY_ALLOW_PRIVATE: '1', CERTKEEPER_PUBLIC_URL: 'https://certs.example.test/' },
    });
    hook = await receiver();
    browser = await launch();
    page = browser.page;
    await logIn(page, app.main.admin, `${app.baseUrl}/console/`);
    await h1('Dashboard').waitFor();
  });

  after(async () => {
    await browser?.close();
    await hook?.close();
    await app?.close();
  });

  const h1 = (name: string | RegExp) => page.getByRole('heading', { level: 1, name });
  /** The page loaded afresh (a goto to the hash the page is on already would not reload it). */
  const open = async () => {
    await page.goto(`${app.baseUrl}/console/#/notifications`);
    await page.reload();
    await h1('Notifications').waitFor();
  };
  const newChannel = () => page.getByRole('region', { name: 'New channel' });
  const channelRow = (name: string) =>
    page
      .getByRole('table', { name: 'Channels' })
      .getByRole('row')
      .filter({ has: page.getByRole('rowheader', { name }) });

  it('adds a webhook channel and shows its signing secret once', async () => {
    await open();
    await page.getByText('No channels yet.').waitFor();
    // A URL that is not http(s): the field says so and nothing is added.
    await newChannel().getByLabel('Name').fill('ops');
    await newChannel().getByLabel('URL').fill('ftp://hooks.example.test/x');
    await newChannel().getByRole('button', { name: 'Add channel' }).click();
    await page.getByText('The URL must be https:// or http://.').first().waitFor();
    assert.equal(await page.getByRole('table', { name: 'Channels' }).count(), 0, 'nothing was added');

    await newChannel().getByLabel('URL').fill(hook.url);
    await newChannel().getByRole('button', { name: 'Add channel' }).click();
    const dialog = page.getByRole('dialog', { name: 'Signing secret of ops' });
    await dialog.waitFor();
    secret = await dialog.getByLabel('Signing secret').inputValue();
    assert.match(secret, /^[A-Za-z0-9_-]{32,}$/);
    await screenshot(page, 'notifications-secret-once');
    await dialog.getByRole('button', { name: 'I have stored the secret' }).click();
    await channelRow('ops').waitFor();
    assert.match(await channelRow('ops').innerText(), /webhook/);
    assert.ok(!(await page.content()).includes(secret), 'the secret is not shown again');
    await page.reload();
    await channelRow('ops').waitFor();
    assert.ok(!(await page.content()).includes(secret), 'nor after a reload');
  });

  it('adds a rule that sends the expiry events to the channel', async () => {
    await open();
    const form = page.getByRole('region', { name: 'New rule' });
    await form.getByLabel('Name', { exact: true }).fill('expiry');
    await form.getByLabel('Events').selectOption(['certificate.expiring', 'certificate.expired', 'renewal.failed']);
    await form.getByLabel('Channels').selectOption(['ops']);
    await form.getByRole('button', { name: 'Add rule' }).click();
    const row = page
      .getByRole('table', { name: 'Rules' })
      .getByRole('row')
      .filter({ has: page.getByRole('rowheader', { name: 'expiry' }) });
    await row.waitFor();
    const text = await row.innerText();
    assert.match(text, /certificate\.expiring, certificate\.expired, renewal\.failed/);
    assert.match(text, /ops/);
    const rules = await app.app.core.notifications.listRules(app.main.actor);
    assert.deepEqual(
      rules.map((r) => [r.name, r.events]),
      [['expiry', ['certificate.expiring', 'certificate.expired', 'renewal.failed']]],
    );
  });

  it('test send shows the outcome: sent with the status, then a failure with its reason', async () => {
    await open();
    await page.getByRole('button', { name: 'Send a test notification on ops' }).click();
    await page.getByRole('status').filter({ hasText: 'Test notification sent on ops (204).' }).waitFor();
    assert.equal(hook.received.length, 1);
    const got = hook.received[0]!;
    assert.equal(got.json.test, true);
    assert.equal(got.headers['x-certkeeper-signature'], expectedSignature(secret, got.headers, got.body));

    hook.status = 503;
    await page.getByRole('button', { name: 'Send a test notification on ops' }).click();
    await page
      // A failure is an alert, with the receiver's answer.
      .getByRole('alert')
      .filter({ hasText: /The test notification on ops failed: .*503/ })
      .waitFor();
    hook.status = 204;
    await screenshot(page, 'notifications-test-failed');
  });

  it('shows the delivery log and the channel health, here and on the dashboard', async () => {
    await open();
    const log = page.getByRole('table', { name: 'Delivery log' });
    await log.waitFor().catch(async (e: unknown) => {
      throw new Error(`${String(e)}\n${await page.locator('main').innerText()}`);
    });
    const rows = log.getByRole('row');
    assert.equal(await rows.count(), 3, 'a header and two attempts');
    const newest = await rows.nth(1).innerText();
    assert.match(newest, /ops/);
    assert.match(newest, /failed/);
    assert.match(newest, /503/);
    assert.doesNotMatch(newest, /\t—\t[^\t]*$/, 'a failed attempt shows its next retry');
    assert.match(await rows.nth(2).innerText(), /sent[\s\S]*204/);

    const health = await channelRow('ops').innerText();
    assert.match(health, /failed [A-Z][a-z]{2} \d{1,2}, \d{4}/, 'last delivery: the failed test send, with its time');
    const failures = channelRow('ops').locator('td[data-label="Failures in a row"]');
    assert.equal(await failures.innerText(), '1');
    await screenshot(page, 'notifications-log');

    // The tenant has no certificate yet: the dashboard is the "import your first" one, and still
    // shows the channels' health (a channel can fail before any certificate exists).
    await page.goto(`${app.baseUrl}/console/#/`);
    await h1('Dashboard').waitFor();
    await page.getByRole('heading', { name: 'No certificates yet' }).waitFor();
    const card = page.getByRole('table', { name: 'Notification channels' });
    await card.waitFor().catch(async (e: unknown) => {
      await screenshot(page, 'notifications-dashboard-failed');
      throw new Error(`${String(e)}\n${await page.locator('main').innerText()}`);
    });
    const row = card.getByRole('row').filter({ hasText: 'ops (webhook)' });
    assert.match(await row.innerText(), /failed [A-Z][a-z]{2} \d{1,2}, \d{4}/);
    assert.equal(await row.locator('td[data-label="Failures in a row"]').innerText(), '1');
    await screenshot(page, 'notifications-dashboard');
    assert.deepEqual(browser.problems, []);
  });
});

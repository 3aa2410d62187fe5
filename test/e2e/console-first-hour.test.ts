/**
 * The console's "first hour" (issue 21), in a real browser against the real server and store: what
 * got in a new user's way while browsing many certificates. Each test names the item it holds.
 * Screenshots go to test-results/console/ (first-hour-*).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { startTestApp, WallClock, type TestApp } from '../helpers/app.ts';
import { mintIntermediate, mintLeaf, mintRoot, P256 } from '../helpers/pki.ts';
import {
  browserSkip,
  headingFocused,
  launch,
  logIn,
  screenshot,
  SCREENSHOTS,
  type Browser,
} from './console-browser.ts';

const DAY = 86_400_000;
const CERTIFICATES = 24;

const skip = await browserSkip();
if (skip) console.log(`# console end-to-end tests skipped: ${skip}`);

describe('console, the first hour', { skip }, () => {
  let app: TestApp;
  let browser: Browser;
  let page: Page;

  before(async () => {
    app = await startTestApp({ clock: new WallClock() });
    const now = Date.now();
    const window = { notBefore: new Date(now - 30 * DAY), notAfter: new Date(now + 3 * 365 * DAY) };
    const root = await mintRoot({ cn: 'First Hour Root', ...window });
    const ca = await mintIntermediate(root, { cn: 'First Hour CA', ...window });
    for (let i = 0; i < CERTIFICATES; i++) {
      // Long domain lists press on the table's width: the short columns must still not wrap.
      const host = `service-${String(i).padStart(2, '0')}.a-rather-long-department-name.example.com`;
      const leaf = await mintLeaf(ca, {
        cn: host,
        sans: { dns: [host, `www.${host}`, `api.${host}`, `static.${host}`] },
        key: P256,
        freshKey: true,
        notBefore: window.notBefore,
        notAfter: new Date(now + (i + 2) * 30 * DAY),
      });
      await app.app.core.certificates.import(
        app.main.actor,
        { name: `svc-${String(i).padStart(2, '0')}`, certificate: leaf.pem, chain: ca.pem + root.pem },
        { origin: 'cli', policy: { requireKey: false, allowEd25519: false, nameRule: null } },
      );
    }
    browser = await launch();
    page = browser.page;
    await logIn(page, app.main.admin, `${app.baseUrl}/console/`);
    await h1('Dashboard').waitFor();
  });

  after(async () => {
    await browser?.close();
    await app?.close();
  });

  const url = (path = '') => `${app.baseUrl}/console/${path}`;
  const h1 = (name: string | RegExp) => page.getByRole('heading', { level: 1, name });
  /** Evaluates a JavaScript expression in the page (a string: the project's TypeScript has no DOM types). */
  const inPage = <T>(expression: string): Promise<T> => page.evaluate(expression) as Promise<T>;

  it('a page past the end says so and leads back to the last page', async () => {
    await page.goto(url('#/certificates?page=99&pageSize=10'));
    await h1('Certificates').waitFor();
    await page.getByText('There is no page 99: 24 certificates fill 3 pages of 10.').waitFor();
    const text = await page.locator('main').innerText();
    assert.doesNotMatch(text, /Showing/, 'no "Showing 981–980"');
    assert.doesNotMatch(text, /No certificates yet/);
    await screenshot(page, 'first-hour-past-the-end');
    await page.getByRole('link', { name: 'Go to the last page (3)' }).click();
    await page.getByText('Showing 21–24 of 24 certificates.').waitFor();
    assert.match(page.url(), /page=3/);
  });

  it('after Next the focus stays on the pager; the last page hands it to "Page n of m"', async () => {
    await page.goto(url('#/certificates?pageSize=10'));
    await page.getByText('Showing 1–10 of 24 certificates.').waitFor();
    await headingFocused(page); // a fresh visit focuses the heading
    await page.getByRole('link', { name: 'Next page' }).focus();
    await page.keyboard.press('Enter');
    await page.getByText('Showing 11–20 of 24 certificates.').waitFor();
    assert.equal(await inPage(`document.activeElement.getAttribute('aria-label')`), 'Next page');
    await page.keyboard.press('Enter');
    await page.getByText('Showing 21–24 of 24 certificates.').waitFor();
    assert.equal(await inPage('document.activeElement.textContent'), 'Page 3 of 3');
    // Shift+Tab from there reaches Previous at once, not the filters at the top.
    await page.keyboard.press('Shift+Tab');
    assert.equal(await inPage(`document.activeElement.getAttribute('aria-label')`), 'Previous page');
  });

  it('jumps to a page by number, keeping the focus in the page field', async () => {
    await page.goto(url('#/certificates?pageSize=10'));
    await page.getByText('Showing 1–10 of 24 certificates.').waitFor();
    const jump = page.getByLabel('Page number, 1 to 3');
    await jump.fill('2');
    await jump.press('Enter');
    await page.getByText('Showing 11–20 of 24 certificates.').waitFor();
    assert.equal(await inPage(`document.activeElement.getAttribute('name')`), 'page');
    // Beyond the last page: the last page, not an empty one.
    await page.getByLabel('Page number, 1 to 3').fill('40');
    await page.getByLabel('Page number, 1 to 3').press('Enter');
    await page.getByText('Showing 21–24 of 24 certificates.').waitFor();
  });

  it('short columns do not wrap while Domains takes the width', async () => {
    for (const width of [1280, 900]) {
      await page.setViewportSize({ width, height: 860 });
      await page.goto(url('#/certificates?pageSize=10'));
      await page.getByText('Showing 1–10 of 24 certificates.').waitFor();
      // Each short value is one line box: a wrapped "EC P-256" or "in 397 days" has two.
      const broken = await inPage<string[]>(`[...document.querySelectorAll('td.nowrap')].flatMap((td) =>
        [...td.childNodes].filter((n) => (n.textContent ?? '').trim() !== '').filter((n) => {
          const range = document.createRange();
          range.selectNodeContents(n);
          return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size > 1;
        }).map((n) => td.dataset.label + ': ' + n.textContent))`);
      assert.deepEqual(broken, [], `at ${width} px`);
      const widths = await inPage<
        Record<string, number>
      >(`Object.fromEntries([...document.querySelectorAll('tbody tr:first-child > *')]
        .map((cell) => [cell.dataset.label, cell.getBoundingClientRect().width]))`);
      for (const label of ['Status', 'Expires', 'Key', 'Registered'])
        assert.ok((widths.Domains ?? 0) > (widths[label] ?? 0), `Domains wider than ${label} at ${width} px`);
      await screenshot(page, `first-hour-list-${width}`);
    }
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  it('counts calendar days in the viewer’s time zone, with the time of day under two days', async () => {
    const formatExpiry = (notAfter: string, now: string) =>
      inPage<string>(
        `import('/console/static/js/format.js').then((m) => m.formatExpiry(${JSON.stringify(notAfter)}, new Date(${JSON.stringify(now)})))`,
      );
    await page.goto(url('#/'));
    await h1('Dashboard').waitFor();
    // The browser runs in UTC (console-browser.ts). On Dec 5 a certificate ending Dec 6 is not "today".
    assert.equal(await formatExpiry('2026-12-06T09:00:00Z', '2026-12-05T10:00:00Z'), 'expires tomorrow at 9:00 AM');
    assert.equal(await formatExpiry('2026-12-05T22:30:00Z', '2026-12-05T10:00:00Z'), 'expires today at 10:30 PM');
    assert.equal(await formatExpiry('2026-12-07T01:00:00Z', '2026-12-05T23:00:00Z'), 'in 2 days, at 1:00 AM');
    assert.equal(await formatExpiry('2027-01-06T00:00:00Z', '2026-12-05T23:59:00Z'), 'in 32 days');
    assert.equal(await formatExpiry('2026-12-04T23:00:00Z', '2026-12-05T01:00:00Z'), 'expired yesterday at 11:00 PM');
    assert.equal(await formatExpiry('2026-12-01T12:00:00Z', '2026-12-05T01:00:00Z'), 'expired 4 days ago');
    // In Seoul (UTC+9) 14:00 UTC on Dec 5 is 23:00 on Dec 5: the same instants, another calendar.
    const seoul = await launch({ timezoneId: 'Asia/Seoul' });
    try {
      await seoul.page.goto(url());
      const inSeoul = (notAfter: string, now: string) =>
        seoul.page.evaluate(
          `import('/console/static/js/format.js').then((m) => m.formatExpiry(${JSON.stringify(notAfter)}, new Date(${JSON.stringify(now)})))`,
        ) as Promise<string>;
      assert.equal(await inSeoul('2026-12-05T16:00:00Z', '2026-12-05T14:00:00Z'), 'expires tomorrow at 1:00 AM');
      assert.equal(await inSeoul('2026-12-05T14:30:00Z', '2026-12-05T14:00:00Z'), 'expires today at 11:30 PM');
      assert.deepEqual(seoul.problems, []);
    } finally {
      await seoul.close();
    }
  });

  it('on a phone the filters collapse and rows are compact', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(url('#/certificates'));
    await page.getByText('Showing 1–24 of 24 certificates.').waitFor();
    assert.equal(await page.getByLabel('Search', { exact: true }).isVisible(), false, 'the filters start closed');
    const first = await inPage<number>(`document.querySelector('tbody tr').getBoundingClientRect().top`);
    assert.ok(first < 844 / 2, `the first row starts in the upper half of the first screen (at ${first} px)`);
    const height = await inPage<number>(`document.querySelector('tbody tr').getBoundingClientRect().height`);
    await screenshot(page, 'first-hour-list-phone');
    await page.screenshot({ path: `${SCREENSHOTS}/first-hour-list-phone-first-screen.png` });
    assert.ok(height < 240, `a row is ${height} px high`);
    await page.getByText('Search and filters').click();
    await page.getByLabel('Search', { exact: true }).fill('svc-1');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.getByText('Showing 1–10 of 10 certificates.').waitFor();
    // A search in use keeps them open, so the user sees what filters the list.
    assert.equal(await page.getByLabel('Search', { exact: true }).isVisible(), true);
    await screenshot(page, 'first-hour-list-phone-search');
    await page.setViewportSize({ width: 1280, height: 860 });
    await page.goto(url('#/certificates'));
    assert.equal(await page.getByLabel('Search', { exact: true }).isVisible(), true, 'open on a wide screen');
  });

  it('recent changes group repeats, name the actor and link the targets', async () => {
    await page.goto(url('#/'));
    await h1('Dashboard').waitFor();
    const recent = page.locator('section[aria-labelledby=recent] li');
    // 24 imports by the command line in a row: one entry (the dashboard reads the last 15).
    assert.equal(await recent.count(), 1);
    const entry = recent.first();
    assert.match(
      await entry.innerText(),
      /Certificate imported[\s\S]*×15[\s\S]*by the command line · certificate svc-23, certificate svc-22, certificate svc-21 and 12 more/,
    );
    await screenshot(page, 'first-hour-recent');
    await entry.getByRole('link', { name: 'certificate svc-23' }).click();
    await page.getByText('Showing 1–1 of 1 certificate.').waitFor();
    // An ADMIN's own change names its key's description and role.
    await page.getByRole('link', { name: 'svc-23', exact: true }).click();
    await h1('svc-23').waitFor();
    await page.goto(url('#/credentials'));
    await h1('Access keys').waitFor();
    await page.getByLabel('Description').fill('deploy robot');
    await page.getByRole('button', { name: 'Create access key' }).click();
    await page.getByRole('button', { name: 'I have stored the secret key' }).click();
    // The dialog resolves on its `close` event (a later task) and the page then shows its list
    // again (navigate('/credentials')): that could land after the goto below and win over it. Wait
    // for the dialog to go and the list's heading to take the focus, as the re-render ends.
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    await headingFocused(page);
    await page.goto(url('#/'));
    await h1('Dashboard').waitFor();
    await page.getByText(`by test admin (ADMIN, ${app.main.admin.accessKey}) · access key`).waitFor();
  });

  it('an empty tenant’s dashboard offers to import the first certificate', async () => {
    const empty = await app.addTenant('empty');
    await page.getByRole('button', { name: 'Log out' }).click();
    await logIn(page, empty.admin);
    await h1('Dashboard').waitFor();
    await screenshot(page, 'first-hour-empty-dashboard');
    await page.getByRole('link', { name: 'Import your first certificate' }).click();
    await h1('Import a certificate').waitFor();
  });

  it('met no Content-Security-Policy violation and no script error on the way', () => {
    assert.deepEqual(browser.problems, []);
  });
});

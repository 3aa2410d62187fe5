/**
 * The console end to end, in a real browser (Debian's chromium via playwright-core), against the
 * real server, store and provisioning worker: log in, import (a refusal shown next to its field,
 * then a success), find it in the list, open it, download it and compare the bytes, publish it to
 * an edge slot, fail to delete it while in use, remove the slot, delete it, create a VIEWER key and
 * check that the VIEWER sees no write controls and is refused by the server anyway.
 * Screenshots of each main page go to test-results/console/ (desktop, and a phone for the list).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { generateKeyPairSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { createAuditService } from '../../src/core/audit.ts';
import { createProvisioningWorker, type ProvisioningWorker } from '../../src/core/deploy/worker.ts';
import { createDeployers } from '../../src/deployers/index.ts';
import { CIPHER_PROFILES, TLS_VERSIONS } from '../../src/domain/edge-slot.ts';
import { startTestApp, WallClock, type TestApp } from '../helpers/app.ts';
import { mintPems, type Pems } from '../api/console/helpers.ts';
import { browserSkip, headingFocused, launch, logIn, screenshot, type Browser } from './console-browser.ts';

const skip = await browserSkip();
if (skip) console.log(`# console end-to-end tests skipped: ${skip}`);

describe('console in a browser', { skip }, () => {
  let app: TestApp;
  let browser: Browser;
  let page: Page;
  let worker: ProvisioningWorker;
  let work: string;
  let pems: Pems;
  let other: Pems;
  let certificateNo = 0;
  let slotId = 0;
  let viewerKey = { accessKey: '', secretKey: '' };

  before(async () => {
    app = await startTestApp({ clock: new WallClock() });
    work = await mkdtemp(join(tmpdir(), 'certkeeper-e2e-'));
    await app.app.core.targets.set(app.main.actor, { kind: 'directory', path: join(work, 'edge') });
    worker = createProvisioningWorker({
      store: app.app.store,
      clock: app.clock,
      audit: createAuditService(app.app.store, app.clock),
      pollMs: 200,
      deployers: createDeployers({ clock: app.clock }),
      changes: (listener) => app.app.core.provisioning.onChange(listener),
    });
    worker.start();
    pems = await mintPems(
      { cn: 'shop.example.com', sans: { dns: ['shop.example.com', 'www.shop.example.com'] } },
      new Date(),
    );
    other = await mintPems({ cn: 'blog.example.com', sans: { dns: ['blog.example.com'] } }, new Date());
    // A second certificate, so the list and the VIEWER have something besides the one imported here.
    await app.app.core.certificates.import(
      app.main.actor,
      { name: 'blog', certificate: other.certificate, privateKey: other.privateKey, chain: other.chain },
      { origin: 'cli', policy: { requireKey: false, allowEd25519: false, nameRule: null } },
    );
    await writeFile(join(work, 'chain.pem'), pems.chain);
    browser = await launch();
    page = browser.page;
  });

  after(async () => {
    await browser?.close();
    await worker?.stop();
    await app?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const url = (path = '') => `${app.baseUrl}/console/${path}`;
  const h1 = (name: string | RegExp) => page.getByRole('heading', { level: 1, name });

  async function download(click: () => Promise<void>): Promise<{ name: string; text: string }> {
    const [file] = await Promise.all([page.waitForEvent('download'), click()]);
    const path = join(work, `download-${Date.now()}-${file.suggestedFilename()}`);
    await file.saveAs(path);
    return { name: file.suggestedFilename(), text: await readFile(path, 'utf8') };
  }

  /**
   * Evaluates a JavaScript expression in the page. A string, not a function: the project's
   * TypeScript has no DOM types, and this code runs in the browser, not in Node.
   */
  const inPage = <T>(expression: string): Promise<T> => page.evaluate(expression) as Promise<T>;
  const focused = (what: 'name' | 'tag' | 'text') =>
    inPage<string | null>(
      what === 'name'
        ? `document.activeElement?.getAttribute('name')`
        : what === 'tag'
          ? 'document.activeElement?.tagName'
          : 'document.activeElement?.textContent',
    );

  /** The values a select offers, sorted. */
  const optionValues = async (name: string) =>
    (
      await inPage<string[]>(`[...document.querySelectorAll('select[name=${name}] option')].map((o) => o.value)`)
    ).sort();

  /** Every visible form control has an accessible name. */
  const unlabelledControls = () =>
    inPage<
      string[]
    >(`[...document.querySelectorAll('input:not([type=hidden]):not([aria-hidden=true]), select, textarea')]
      .filter((el) => el.labels?.length === 0 && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
      .map((el) => el.outerHTML.slice(0, 80))`);

  it('shows the login page, refuses a wrong secret in words, and logs in', async () => {
    await page.goto(url());
    await h1('Log in to the console').waitFor();
    assert.equal(await focused('name'), 'accessKey', 'focus starts on the access key');
    await screenshot(page, 'login');
    await logIn(page, { accessKey: app.main.admin.accessKey, secretKey: 'wrong' });
    await page.getByRole('alert').filter({ hasText: 'wrong' }).waitFor();
    await logIn(page, app.main.admin);
    await h1('Dashboard').waitFor();
    await headingFocused(page); // focus moves to the new page heading
    const cookies = await browser.context.cookies();
    const session = cookies.find((c) => c.name === 'ck_console');
    assert.ok(session, 'session cookie set');
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
    assert.equal(await inPage<string>('document.cookie'), '', 'scripts cannot read the session cookie');
    await screenshot(page, 'dashboard');
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot(page, 'dashboard-phone');
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  it('import: a full chain pasted as the certificate is refused next to the certificate field', async () => {
    await page.getByRole('link', { name: 'Import' }).click();
    await h1('Import a certificate').waitFor();
    assert.deepEqual(await unlabelledControls(), []);
    await page.getByLabel('Name', { exact: true }).fill('shop');
    await page.getByLabel('Certificate', { exact: true }).fill(pems.certificate + pems.chain);
    await page.getByLabel('Private key', { exact: true }).fill(pems.privateKey);
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    const error = page.locator('[data-field=certificate] .field-error');
    await error.waitFor();
    assert.match(await error.innerText(), /looks like a full chain was pasted/);
    assert.equal(await page.getByLabel('Certificate', { exact: true }).getAttribute('aria-invalid'), 'true');
    assert.equal(await focused('name'), 'certificate', 'focus goes to the field to fix');
    await screenshot(page, 'import-error');
  });

  it('import: every field at fault is flagged at once (a bad name beside a key mismatch)', async () => {
    const otherKey = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    await page.getByLabel('Name', { exact: true }).fill('bad name!');
    await page.getByLabel('Certificate', { exact: true }).fill(pems.certificate);
    await page.getByLabel('Private key', { exact: true }).fill(otherKey);
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    const keyError = page.locator('[data-field=privateKey] .field-error');
    const nameError = page.locator('[data-field=name] .field-error');
    await keyError.waitFor();
    await nameError.waitFor();
    assert.match(await keyError.innerText(), /does not belong to this certificate/);
    assert.match(await nameError.innerText(), /name is not allowed/);
    assert.equal(await page.getByLabel('Name', { exact: true }).getAttribute('aria-invalid'), 'true');
    await page.getByText('(and 1 more field below)').waitFor();
    await screenshot(page, 'import-every-error');
    // Back to the good values the next step uses.
    await page.getByLabel('Name', { exact: true }).fill('shop');
    await page.getByLabel('Private key', { exact: true }).fill(pems.privateKey);
  });

  it('import: checks, then imports with the chain picked from a file', async () => {
    await page.getByLabel('Certificate', { exact: true }).fill(pems.certificate);
    await page.locator('input[data-picker=chain]').setInputFiles(join(work, 'chain.pem'));
    await page.waitForFunction(`document.querySelector('textarea[name=chain]').value.includes('BEGIN CERTIFICATE')`);
    await page.getByRole('button', { name: 'Check' }).click();
    await page.getByText('Everything checks out').waitFor();
    await screenshot(page, 'import-checked');
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await h1('shop').waitFor();
    certificateNo = Number(/#\/certificates\/(\d+)/.exec(page.url())?.[1]);
    assert.ok(certificateNo > 0);
  });

  it('finds it with the search box (name, a host it covers, a zone), sorts by a heading; reads on a phone too', async () => {
    await page.getByRole('link', { name: 'Certificates', exact: true }).click();
    await h1('Certificates').waitFor();
    const box = page.getByLabel('Search', { exact: true });
    const search = async (text: string) => {
      await box.fill(text);
      await page.getByRole('button', { name: 'Search', exact: true }).click();
    };
    await search('sho');
    await page.getByText('Showing 1–1 of 1 certificate.').waitFor();
    // A host the certificate covers (its SAN), in capitals: the host is compared case-insensitively.
    await search('WWW.shop.example.com');
    await page.getByText('Showing 1–1 of 1 certificate.').waitFor();
    assert.match(page.url(), /q=WWW\.shop\.example\.com/, 'the search is in the URL');
    await search('*.example.com');
    await page.getByText('Showing 1–2 of 2 certificates.').waitFor();
    // A heading sorts by its column; again, the other way round.
    await page.getByRole('link', { name: 'Name: sort ascending' }).click();
    await page.locator('th[aria-sort=ascending]').getByText('Name').waitFor();
    assert.deepEqual(await inPage<string[]>(`[...document.querySelectorAll('tbody th a')].map((a) => a.textContent)`), [
      'blog',
      'shop',
    ]);
    await page.getByRole('link', { name: 'Name: sort descending' }).click();
    await page.locator('th[aria-sort=descending]').getByText('Name').waitFor();
    assert.deepEqual(await inPage<string[]>(`[...document.querySelectorAll('tbody th a')].map((a) => a.textContent)`), [
      'shop',
      'blog',
    ]);
    assert.match(page.url(), /sort=name/);
    assert.match(page.url(), /order=desc/);
    // Too short to search for: said in words, not an empty list.
    await search('sh');
    await page.getByText(/at least 3 characters/).waitFor();
    await page.getByRole('link', { name: 'Clear' }).click();
    await page.getByText('Showing 1–2 of 2 certificates.').waitFor();
    // The dashboard's "within N days" card opens the list filtered to that window, with its count.
    await page.goto(url('#/'));
    await h1('Dashboard').waitFor();
    const card = page.getByRole('link', { name: /Within 90 days/ });
    const count = Number(await card.locator('.stat-value').textContent());
    await card.click();
    await h1('Certificates').waitFor();
    assert.match(page.url(), /expiresWithin=90/);
    await page.getByText(`Showing 1–${count} of ${count} certificate${count === 1 ? '' : 's'}.`).waitFor();
    assert.equal(await page.locator('select[name=expiresWithin]').inputValue(), '90');
    await page.getByRole('link', { name: 'Clear' }).click();
    await page.getByText('Showing 1–2 of 2 certificates.').waitFor();
    assert.deepEqual(await unlabelledControls(), []);
    await screenshot(page, 'list');
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot(page, 'list-phone');
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  it('opens it and shows the facts, the chain tree and the history', async () => {
    await page.getByRole('link', { name: 'shop', exact: true }).click();
    await h1('shop').waitFor();
    const chain = page.locator('.chain-tree');
    assert.deepEqual(await chain.locator('.chain-role').allInnerTexts(), [
      'ROOT CA',
      'INTERMEDIATE CA',
      'THIS CERTIFICATE',
    ]);
    await page.getByText('SHA-256 fingerprint').waitFor();
    await page.getByText('Certificate imported').waitFor();
    await page.getByText(/^Imported through Console on /).waitFor();
    await screenshot(page, 'detail');
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot(page, 'detail-phone');
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  it('downloads the certificate, the full bundle, and (after a confirmation) the private key, byte for byte', async () => {
    const cert = await download(() => page.getByRole('link', { name: 'Download certificate', exact: true }).click());
    assert.equal(cert.name, 'shop.crt.pem');
    assert.equal(cert.text, pems.certificate);
    const full = await download(() => page.getByRole('link', { name: 'Download full chain' }).click());
    assert.equal(full.text, pems.certificate + pems.intermediate.pem, 'the self-signed root is left out');
    await page.getByRole('button', { name: 'Download private key…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Download the private key?' });
    await dialog.waitFor();
    assert.equal(await focused('text'), 'Cancel', 'the safe choice has the focus');
    await screenshot(page, 'key-confirm');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    assert.equal(await focused('text'), 'Download private key…', 'focus returns to the opener');
    await page.getByRole('button', { name: 'Download private key…' }).click();
    const key = await download(() =>
      page.getByRole('dialog').getByRole('button', { name: 'Download private key', exact: true }).click(),
    );
    assert.equal(key.name, 'shop.key.pem');
    assert.equal(key.text, pems.privateKey);
    await page.getByText('recorded in the audit log').first().waitFor();
    const events = await app.app.core.audit.list(app.main.actor, {
      target: `certificate:${certificateNo}`,
      action: 'certificate.key.read',
      limit: 5,
    });
    assert.deepEqual(
      events.map((e) => [e.actor, e.result]),
      [[app.main.admin.accessKey, 'success']],
    );
  });

  it('publishes it to an edge slot and shows the slot running', async () => {
    await page.getByRole('link', { name: 'Publish to an edge slot…' }).click();
    await h1('Edge slots').waitFor();
    // The tenant's deployment target, shown with its path (set by the operator, not here).
    const targetCard = page.getByRole('region', { name: 'Deployment target' });
    await targetCard.getByText(join(work, 'edge'), { exact: true }).waitFor();
    await targetCard.getByText('certkeeper target set').waitFor();
    assert.equal(await page.getByLabel('Certificate', { exact: true }).inputValue(), 'shop');
    // The picker: typing part of the name offers the certificates that match, from the list API.
    const picker = page.getByLabel('Certificate', { exact: true });
    await picker.fill('');
    await picker.pressSequentially('ho');
    const listId = await picker.getAttribute('list');
    assert.ok(listId, 'the field has a list of suggestions');
    const offered = page.locator(`datalist[id="${listId}"] option[value="shop"]`);
    await offered.waitFor({ state: 'attached' });
    assert.match(
      String(await offered.getAttribute('label')),
      new RegExp(`^#${certificateNo} · shop\\.example\\.com · until `),
    );
    await picker.fill('shop');
    // web/js/pages/edge.js keeps the browser's copy of these choices: it offers what the domain takes.
    assert.deepEqual(await optionValues('tlsVersion'), [...TLS_VERSIONS].sort());
    assert.deepEqual(await optionValues('cipherProfile'), [...CIPHER_PROFILES].sort());
    await page.getByRole('button', { name: 'Provision' }).click();
    await h1(/^Edge slot \d+$/).waitFor();
    slotId = Number(/#\/edge\/(\d+)/.exec(page.url())?.[1]);
    await page.locator('.slot-running').waitFor({ timeout: 20_000 });
    await page.getByText('Up to date', { exact: true }).waitFor();
    // The directory with its path, as the deployer lays it out; no "change 2" jargon.
    await page.getByText(`${join(work, 'edge')}/${slotId}/`, { exact: true }).waitFor();
    await page.getByText(`${join(work, 'edge')}/by-name/shop/`, { exact: true }).waitFor();
    assert.doesNotMatch(await page.locator('main').innerText(), /\(change \d+\)/);
    await page.getByText('Not applied by this tenant’s deployment target').waitFor();
    await screenshot(page, 'edge-slot');
    await page.getByRole('link', { name: '← All edge slots' }).click();
    await h1('Edge slots').waitFor();
    await page.locator('.slot-running').first().waitFor();
    await screenshot(page, 'edge-list');
  });

  it('refuses to delete the certificate while it is in use, and says why', async () => {
    await page.goto(url(`#/certificates/${certificateNo}`));
    await h1('shop').waitFor();
    await page.getByRole('button', { name: 'Delete…' }).click();
    await page.getByRole('dialog', { name: 'Delete certificate shop?' }).waitFor();
    await page.getByRole('button', { name: 'Delete shop' }).click();
    const alert = page.getByRole('alert').filter({ hasText: 'in use' });
    await alert.waitFor();
    await screenshot(page, 'delete-refused');
  });

  it('removes the slot, then deletes the certificate', async () => {
    await page.getByRole('link', { name: /^Edge slot \d+$/ }).click();
    await h1(/^Edge slot \d+$/).waitFor();
    await page.getByRole('button', { name: 'Delete slot…' }).click();
    await page.getByRole('button', { name: /^Delete slot \d+$/ }).click();
    await page.locator('.slot-deleted').waitFor({ timeout: 20_000 });
    await page.goto(url(`#/certificates/${certificateNo}`));
    await h1('shop').waitFor();
    await page.getByRole('button', { name: 'Delete…' }).click();
    await page.getByRole('button', { name: 'Delete shop' }).click();
    await h1('Certificates').waitFor();
    await page.getByText('Showing 1–1 of 1 certificate.').waitFor();
    assert.equal(await page.getByRole('link', { name: 'shop', exact: true }).count(), 0);
  });

  it('creates a VIEWER access key; the secret is shown once with copy buttons', async () => {
    await page.getByRole('link', { name: 'Access keys' }).click();
    await h1('Access keys').waitFor();
    await page.getByLabel('Description').fill('e2e viewer');
    await page.getByRole('button', { name: 'Create access key' }).click();
    const dialog = page.getByRole('dialog', { name: 'Access key created' });
    await dialog.waitFor();
    viewerKey = {
      accessKey: await dialog.getByLabel('Access key', { exact: true }).inputValue(),
      secretKey: await dialog.getByLabel('Secret key', { exact: true }).inputValue(),
    };
    assert.match(viewerKey.secretKey, /^[A-Za-z0-9]{40}$/);
    assert.equal(await dialog.getByRole('button', { name: /^Copy/ }).count(), 2);
    await screenshot(page, 'credential-created');
    await dialog.getByRole('button', { name: 'I have stored the secret key' }).click();
    await page.getByRole('cell', { name: 'e2e viewer' }).waitFor();
    await screenshot(page, 'credentials');
  });

  it('a VIEWER sees no write controls, and the server refuses its writes anyway', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByText('You have logged out.').waitFor();
    await logIn(page, viewerKey);
    await h1('Dashboard').waitFor();
    const nav = page.getByRole('navigation', { name: 'Main' });
    assert.equal(await nav.getByRole('link', { name: 'Import' }).count(), 0);
    assert.equal(await nav.getByRole('link', { name: 'Access keys' }).count(), 0);
    await page.getByRole('link', { name: 'Certificates', exact: true }).click();
    await page.getByRole('link', { name: 'blog', exact: true }).click();
    await h1('blog').waitFor();
    for (const name of ['Delete…', 'Download private key…'])
      assert.equal(await page.getByRole('button', { name }).count(), 0, name);
    assert.equal(await page.getByRole('link', { name: 'Publish to an edge slot…' }).count(), 0);
    await screenshot(page, 'viewer-detail');
    const refused = await inPage<{ status: number; body: { error: { code: string } } }>(`(async () => {
      const session = await (await fetch('/console/api/session')).json();
      const response = await fetch('/console/api/certificates/validate', { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrfToken }, body: JSON.stringify({ name: 'x', certificate: 'x' }) });
      return { status: response.status, body: await response.json() };
    })()`);
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, 'permission_denied');
    await page.goto(url('#/import'));
    await h1('Not available').waitFor();
    // Without the write forms the pages show nothing in their place (a null once read "null").
    await page.goto(url('#/edge'));
    await h1('Edge slots').waitFor();
    await page.getByRole('heading', { name: 'Slots', exact: true }).waitFor();
    assert.doesNotMatch(await page.locator('main').innerText(), /\bnull\b/);
    await page.goto(url(`#/edge/${slotId}`));
    await h1(`Edge slot ${slotId}`).waitFor();
    assert.doesNotMatch(await page.locator('main').innerText(), /\bnull\b/);
  });

  it('a missing certificate or slot says "Not found" and leads back to its list', async () => {
    await page.goto(url('#/certificates/999999'));
    await h1('Not found').waitFor();
    await headingFocused(page); // focus on the heading, as on every page
    assert.equal(await page.title(), 'Not found · certkeeper');
    assert.match(await page.locator('main').innerText(), /certificate/i, "the server's words");
    assert.equal(await page.getByRole('button', { name: 'Try again' }).count(), 0, 'nothing to retry');
    await screenshot(page, 'not-found');
    await page.getByRole('link', { name: 'Go to the certificate list' }).click();
    await h1('Certificates').waitFor();
    await page.goto(url('#/edge/999999'));
    await h1('Not found').waitFor();
    await page.getByRole('link', { name: 'Go to the edge slots' }).click();
    await h1('Edge slots').waitFor();
  });

  it('a page that cannot be shown says why, offers to try again and a way back', async () => {
    // A failure that is not a 404 (the server's internal error, answered here by the test).
    await page.route('**/console/api/dashboard', (route) =>
      route.fulfill({
        status: 500,
        contentType: 'application/json',
        body: '{"error":{"code":"internal","message":"Boom."}}',
      }),
    );
    await page.goto(url('#/'));
    await h1('Something went wrong').waitFor();
    await headingFocused(page); // focus on the heading, as on every page
    assert.equal(await page.title(), 'Something went wrong · certkeeper');
    const alert = page.getByRole('alert');
    assert.match(await alert.innerText(), /Boom\./, "the server's words");
    await screenshot(page, 'load-failed');
    await alert.getByRole('button', { name: 'Try again' }).click();
    await h1('Something went wrong').waitFor();
    await page.unroute('**/console/api/dashboard');
    await alert.getByRole('button', { name: 'Try again' }).click();
    await h1('Dashboard').waitFor();
  });

  it('met no Content-Security-Policy violation and no script error on the way', () => {
    assert.deepEqual(browser.problems, []);
  });
});

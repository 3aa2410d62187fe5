/**
 * Replace, versions and recovery in the console (issue 17), in a real browser against the real
 * server and store: the Replace form (the import form, its errors next to the same fields, the
 * key left out when unchanged), the versions list with the download of an old version and of its
 * key (audited), delete, "Recently deleted" with Restore, a restore refused while another
 * certificate holds the name, and Purge. Screenshots go to test-results/console/ (versions-*).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { startTestApp, WallClock, type TestApp } from '../helpers/app.ts';
import { mintIntermediate, mintLeaf, mintRoot, mintSelfSignedLeaf, P384, type Issued } from '../helpers/pki.ts';
import { browserSkip, launch, logIn, screenshot, type Browser } from './console-browser.ts';

const DAY = 86_400_000;

const skip = await browserSkip();
if (skip) console.log(`# console end-to-end tests skipped: ${skip}`);

describe('console: replace, versions and recently deleted', { skip }, () => {
  let app: TestApp;
  let browser: Browser;
  let page: Page;
  let first: Issued;
  let renewed: Issued;
  let chain: string;
  let no: number;

  before(async () => {
    app = await startTestApp({ clock: new WallClock() });
    const now = Date.now();
    const window = { notBefore: new Date(now - 30 * DAY), notAfter: new Date(now + 3 * 365 * DAY) };
    const root = await mintRoot({ cn: 'Versions Root', ...window });
    const ca = await mintIntermediate(root, { cn: 'Versions CA', ...window });
    chain = ca.pem + root.pem;
    // Both on the pooled P-384 key: a renewal with the same key.
    const leaf = { cn: 'www.example.com', key: P384, notBefore: window.notBefore };
    first = await mintLeaf(ca, { ...leaf, notAfter: new Date(now + 20 * DAY) });
    renewed = await mintLeaf(ca, { ...leaf, notAfter: new Date(now + 90 * DAY) });
    const created = await app.app.core.certificates.import(
      app.main.actor,
      { name: 'www', certificate: first.pem, privateKey: first.keyPem, chain },
      { origin: 'cli', policy: { requireKey: false, allowEd25519: false, nameRule: null } },
    );
    no = created.certificateNo;
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

  it('replaces in place from the certificate page, with the import form and its errors', async () => {
    await page.goto(url(`#/certificates/${no}`));
    await h1('www').waitFor();
    await page.getByText('Never replaced. Replacing it keeps this version here.').waitFor();
    await page.getByRole('link', { name: 'Replace…' }).click();
    await h1('Replace www').waitFor();
    assert.equal(await page.getByLabel('Name').inputValue(), 'www');
    assert.equal(await page.getByLabel('Name').getAttribute('readonly'), '');

    // A refusal lands next to the field, as on import.
    await page.getByLabel('Certificate', { exact: true }).fill('hello');
    await page.getByRole('button', { name: 'Replace', exact: true }).click();
    await page.getByRole('link', { name: /Fix the certificate field/ }).waitFor();
    assert.equal(await app.app.core.certificates.versions(app.main.actor, no).then((v) => v.currentVersion), 1);

    await page.getByLabel('Certificate', { exact: true }).fill(renewed.pem);
    await page.getByLabel('Chain (intermediate CA certificates)').fill(chain);
    await page.getByRole('button', { name: 'Replace', exact: true }).click();
    await h1('www').waitFor();
    await page.getByRole('link', { name: 'Download version 1' }).waitFor();
    await screenshot(page, 'versions-certificate-page');
    const current = await app.app.core.certificates.export(app.main.actor, no, { includeKey: true });
    assert.equal(current.certificatePem, renewed.pem);
    assert.equal(current.privateKeyPem?.trim(), first.keyPem.trim(), 'the unchanged key was kept');
  });

  it('downloads an old version and, after a confirmation, its key (audited)', async () => {
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Download version 1' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), 'www.v1.fullchain.pem');
    // The full chain as servers should send it: the self-signed root left out.
    const intermediate = chain.slice(
      0,
      chain.indexOf('-----END CERTIFICATE-----\n') + '-----END CERTIFICATE-----\n'.length,
    );
    assert.equal(await readFile((await download.path())!, 'utf8'), first.pem + intermediate);

    await page.getByRole('button', { name: 'Private key of version 1…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('(version 1)').waitFor();
    const [key] = await Promise.all([
      page.waitForEvent('download'),
      dialog.getByRole('button', { name: 'Download private key' }).click(),
    ]);
    assert.equal((await readFile((await key.path())!, 'utf8')).trim(), first.keyPem.trim());
    const reads = await app.app.core.audit.list(app.main.actor, { action: 'certificate.key.read', limit: 5 });
    assert.equal(reads[0]?.detail.version, 1);
    assert.equal(reads[0]?.actor, app.main.admin.accessKey);
    // The history says which version's key was read.
    await page.reload();
    await h1('www').waitFor();
    await page.getByText('Private key of version 1 downloaded').first().waitFor();
    await page.getByText('Certificate replaced').first().waitFor();
  });

  it('deletes, lists it under Recently deleted and restores it', async () => {
    await page.getByRole('button', { name: 'Delete…' }).click();
    await page.getByRole('dialog').getByText('It can be restored from Recently deleted').waitFor();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete www' }).click();
    await h1('Certificates').waitFor();
    await page.getByRole('link', { name: 'Recently deleted' }).click();
    await h1('Recently deleted').waitFor();
    await page.getByRole('button', { name: 'Restore www' }).click();
    await h1('www').waitFor();
    assert.equal((await app.app.core.certificates.get(app.main.actor, no)).name, 'www');
  });

  it('a restore refused while another certificate holds the name says so; purge empties the list', async () => {
    await app.app.core.certificates.delete(app.main.actor, no);
    const other = await mintSelfSignedLeaf({ cn: 'other.example.com', freshKey: true });
    await app.app.core.certificates.import(
      app.main.actor,
      { name: 'www', certificate: other.pem },
      { origin: 'cli', policy: { requireKey: false, allowEd25519: false, nameRule: null } },
    );
    await page.goto(url('#/deleted'));
    await h1('Recently deleted').waitFor();
    await page.getByRole('button', { name: 'Restore www' }).click();
    await page.getByText(/now has the name 'www'/).waitFor();
    await screenshot(page, 'versions-restore-refused');
    await page.getByRole('button', { name: 'Purge www…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Purge www' }).click();
    await page.getByText('No recently deleted certificates.').waitFor();
    assert.deepEqual(browser.problems, []);
  });
});
